"""IsolationForest parity (issue 3, hist family) over the fixtures that
tests/fixtures/hist/make_iforest.py wrote with scikit-learn 1.2, 1.4 and
1.9: predictd's `eval` must give the same predict (1 / -1) and
decision_function (numbers within 1e-9 relative or 1e-12 absolute).
score_samples is decision_function + offset_, which predictd does not
serve on its own yet.

Also: NaN rows are refused in files from before 1.9 (scikit-learn refused
them too; 1.9 files route them by missing_go_to_left and are compared), and
a file whose member trees point outside X is refused at load time."""
import glob
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import BIN, FIXTURES

HIST = os.path.join(FIXTURES, "hist")


def cases():
    return sorted(glob.glob(os.path.join(HIST, "*.*.*", "*.json")))


def run_eval(model_path, X):
    return subprocess.run([BIN, "eval", model_path], input=json.dumps({"instances": X}),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", cases(), ids=lambda p: os.path.relpath(p, HIST))
def test_iforest_fixture_matches_sklearn(path):
    with open(path) as f:
        rec = json.load(f)
    p = run_eval(path[:-5] + ".pkl", rec["X"])
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["predict"] == [float(v) for v in rec["outputs"]["predict"]]
    g = np.array(got["decision_function"], dtype=float).ravel()
    w = np.array(rec["outputs"]["decision_function"], dtype=float)
    assert g.shape == w.shape
    assert np.allclose(g, w, rtol=1e-9, atol=1e-12)


def test_iforest_cases_cover_three_versions():
    versions = {os.path.basename(os.path.dirname(p)) for p in cases()}
    assert {"1.2.1", "1.4.2", "1.9.0"} <= versions


def test_iforest_nan_row_is_refused():
    path = os.path.join(HIST, "1.2.1", "iforest_iris.pkl")
    p = run_eval(path, [[None, 1.0, 2.0, 3.0]])
    assert p.returncode != 0
    assert "NaN" in p.stderr


def test_iforest_feature_outside_x_is_refused(tmp_path):
    import pickle
    with open(os.path.join(HIST, "1.2.1", "iforest_diabetes_subfeatures.pkl"), "rb") as f:
        m = pickle.load(f)
    m.estimators_features_[1][0] = 99
    bad = tmp_path / "bad.pkl"
    with open(bad, "wb") as f:
        pickle.dump(m, f)
    p = run_eval(str(bad), [[0.0] * 10])
    assert p.returncode != 0
    assert "feature 99" in p.stderr
