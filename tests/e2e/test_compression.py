"""joblib's bz2, xz, lzma and lz4 containers (compress=('bz2', N), ...)
are read through libbz2, liblzma and liblz4 and served like any other
file, compared with scikit-learn; truncated or corrupt streams are refused
with a reason, and a stream that expands past the limit is refused by the
limit."""
import bz2
import json
import lzma

import lz4.frame

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from conftest import BIN, Server, run_check

X, y = load_iris(return_X_y=True)
MODEL = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)


@pytest.mark.parametrize("method,level", [("xz", 3), ("lzma", 3), ("xz", 9), ("lzma", 9),
                                          ("bz2", 3), ("bz2", 9), ("lz4", 3), ("lz4", 9)])
def test_xz_and_lzma_joblib_files_agree(tmp_path, method, level):
    path = tmp_path / "model.joblib"
    joblib.dump(MODEL, path, compress=(method, level))
    p = run_check(str(path))
    assert p.returncode == 0, p.stderr
    assert "%s-compressed" % method in p.stdout, p.stdout
    rows = X[::7]
    with Server(str(path)) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == MODEL.predict(rows).tolist()
    np.testing.assert_allclose(body["probabilities"], MODEL.predict_proba(rows),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method", ["xz", "lzma", "bz2", "lz4"])
def test_truncated_and_corrupt_streams_refused(tmp_path, method):
    path = tmp_path / "model.joblib"
    joblib.dump(MODEL, path, compress=(method, 3))
    data = path.read_bytes()
    cut = tmp_path / "cut.joblib"
    cut.write_bytes(data[: len(data) // 2])
    p = run_check(str(cut))
    assert p.returncode == 1, p.stdout
    assert method + "-compressed data is" in p.stderr, p.stderr
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(bytes(flipped))
    p = run_check(str(bad))
    assert p.returncode == 1, p.stdout
    assert "cannot load" in p.stderr, p.stderr


def _compressor(kind):
    if kind == "bz2":
        return bz2.BZ2Compressor(1)
    if kind == "lz4":
        return lz4.frame.LZ4FrameCompressor()
    return lzma.LZMACompressor(format=lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE,
                               preset=1)


@pytest.mark.parametrize("kind", ["xz", "lzma", "bz2", "lz4"])
def test_expanding_stream_stopped_by_the_limit(tmp_path, kind):
    """2 GiB + 16 MiB of zeros (past the 2 GiB stream limit) compress to a
    few MiB; the reader stops at the stream limit instead of allocating it
    all."""
    comp = _compressor(kind)
    head = comp.begin() if kind == "lz4" else b""
    chunk = b"\0" * (1 << 24)
    parts = [head] + [comp.compress(chunk) for _ in range(129)]
    parts.append(comp.flush())
    path = tmp_path / "bomb.joblib"
    path.write_bytes(b"".join(parts))
    p = run_check(str(path), timeout=120)
    assert p.returncode == 1, p.stdout
    assert "larger than the limit" in p.stderr, p.stderr
