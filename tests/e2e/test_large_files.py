"""Files past the 8 MiB slab threshold, whose big arrays predictd reads
where joblib put them (no copy when aligned) and copies once into
huge-page memory: the answers must still be scikit-learn's. (Forests and
KNN have theirs in test_trust.py and test_kernel_knn.py.)"""
import json
import subprocess

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier

from conftest import BIN


def _eval(path, rows):
    return subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows}),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", ["logistic", "sgd", "linear"])
def test_large_linear_model_answers_as_scikit_learn(kind, tmp_path):
    rng = np.random.default_rng(5)
    nf = 60000
    X = rng.standard_normal((60, nf))
    if kind == "logistic":
        m = LogisticRegression(max_iter=50).fit(X, rng.integers(0, 20, 60))
    elif kind == "sgd":
        m = SGDClassifier(max_iter=5, tol=None, random_state=0).fit(X, rng.integers(0, 20, 60))
    else:
        m = LinearRegression().fit(X, rng.standard_normal((60, 20)))
    path = tmp_path / "big.joblib"
    joblib.dump(m, path)
    assert path.stat().st_size > 8 << 20, path.stat().st_size
    rows = rng.standard_normal((10, nf))
    p = _eval(str(path), rows.tolist())
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    # sums of 60,000 products: the reference BLAS adds them in predictd's
    # order, OpenBLAS (a pristine Debian's numpy) in its own, so values are
    # held to 1e-9 and the classes (far from ties on these data) exactly
    if kind == "linear":
        assert np.allclose(got["predict"], m.predict(rows), rtol=1e-9, atol=1e-9)
    else:
        assert got["predict"] == m.predict(rows).tolist()
    if kind == "logistic":
        assert np.allclose(got["predict_proba"], m.predict_proba(rows), rtol=1e-9, atol=1e-12)
