"""`predictd bench`: the JSON it prints has the documented keys and sane
values, and it refuses input it cannot time (wrong dtype, wrong width,
not a .npy, bad flags). Timing values are never checked against a figure."""
import json
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from conftest import BIN, save_model

KEYS = {"sha256", "rows", "features", "batch", "threads", "repeat", "best_us_per_row",
        "median_us_per_row", "load_ms", "peak_rss_kb"}


def bench(*args):
    return subprocess.run([BIN, "bench", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def model_and_rows(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    X, y = load_iris(return_X_y=True)
    path = save_model(RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), str(d))
    good = d / "x.npy"
    np.save(good, X[:37])
    return path, d, good


def test_bench_batch_threads_prints_json(model_and_rows):
    path, _, good = model_and_rows
    r = bench(path, "--input", str(good), "--batch", "10", "--threads", "2", "--repeat", "3")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == KEYS
    assert (out["rows"], out["features"], out["batch"], out["threads"], out["repeat"]) == \
        (37, 4, 10, 2, 3)
    assert 0 < out["best_us_per_row"] <= out["median_us_per_row"]
    assert out["load_ms"] > 0 and out["peak_rss_kb"] > 0


def test_bench_fortran_order_and_default_batch(model_and_rows):
    path, d, _ = model_and_rows
    f = d / "f.npy"
    np.save(f, np.asfortranarray(load_iris().data[:20]))
    r = bench(path, "--input", str(f), "--repeat", "1")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rows"] == 20 and out["batch"] == 20 and out["threads"] == 1


@pytest.mark.parametrize("make,words", [
    (lambda d: np.save(d / "a.npy", np.zeros((3, 4), np.float32)), "'<f4'"),
    (lambda d: np.save(d / "a.npy", np.zeros((3, 5))), "expects 4 features"),
    (lambda d: np.save(d / "a.npy", np.zeros(4)), "2-D shape"),
    (lambda d: np.save(d / "a.npy", np.zeros((0, 4))), "at least one row"),
    (lambda d: (d / "a.npy").write_bytes(b"not numpy at all"), "magic"),
    (lambda d: (d / "a.npy").write_bytes(_truncated()), "ends before"),
])
def test_bench_refuses_bad_input(model_and_rows, tmp_path, make, words):
    path, _, _ = model_and_rows
    make(tmp_path)
    r = bench(path, "--input", str(tmp_path / "a.npy"))
    assert r.returncode == 1
    assert words in r.stderr and r.stdout == ""


def _truncated():
    import io
    b = io.BytesIO()
    np.save(b, np.zeros((10, 4)))
    return b.getvalue()[:-8]


@pytest.mark.parametrize("args", [[], ["--batch", "0"], ["--threads", "x"], ["--bogus"]])
def test_bench_refuses_bad_flags(model_and_rows, args):
    path, _, good = model_and_rows
    r = bench(path, "--input", str(good), *args) if args != [] else bench(path)
    assert r.returncode == 2 and r.stdout == ""
