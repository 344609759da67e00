"""Gradient boosting through the bit-vector traversal (model/quickscorer.c,
used when every tree has at most 64 leaves) and through the walk (a tree
with more): decision_function is scikit-learn's bit for bit, and predict
the same, on rows that sit exactly on the trees' thresholds (as float32,
and one float32 step either side), where a wrong comparison would show."""
import json
import subprocess

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

from conftest import BIN, save_model


def run_eval(path, X):
    p = subprocess.run([BIN, "eval", path], input=json.dumps({"instances": X.tolist()}),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def threshold_rows(model, X):
    """Rows of X with one feature set to a split's threshold as float32, or
    to the float32 just below or above it."""
    rng = np.random.RandomState(0)
    rows = []
    for est in np.ravel(model.estimators_)[:40]:
        t = est.tree_
        for node in np.flatnonzero(t.children_left >= 0):
            f, thr = t.feature[node], np.float32(t.threshold[node])
            for v in (thr, np.nextafter(thr, np.float32(-np.inf)),
                      np.nextafter(thr, np.float32(np.inf))):
                row = X[rng.randint(len(X))].copy()
                row[f] = float(v)
                rows.append(row)
    return np.array(rows)


def max_leaves(model):
    return max(e.tree_.n_leaves for e in np.ravel(model.estimators_))


@pytest.mark.parametrize("depth,bitvector", [(3, True), (5, True), (8, False)])
def test_classifier_on_thresholds(tmp_path, depth, bitvector):
    X, y = make_classification(600, 8, n_informative=5, n_classes=3, random_state=1)
    m = GradientBoostingClassifier(n_estimators=30, max_depth=depth, random_state=0).fit(X, y)
    assert (max_leaves(m) <= 64) == bitvector
    rows = np.vstack([threshold_rows(m, X), X[:50]])
    got = run_eval(save_model(m, str(tmp_path)), rows)
    assert np.array_equal(np.array(got["decision_function"]), m.decision_function(rows))
    assert got["predict"] == m.predict(rows).tolist()


@pytest.mark.parametrize("depth", [4, 8])
def test_regressor_on_thresholds(tmp_path, depth):
    X, y = make_regression(500, 6, noise=5.0, random_state=2)
    m = GradientBoostingRegressor(n_estimators=25, max_depth=depth, random_state=0).fit(X, y)
    rows = np.vstack([threshold_rows(m, X), X[:50]])
    got = run_eval(save_model(m, str(tmp_path)), rows)
    assert np.array_equal(np.array(got["predict"]), m.predict(rows))


def test_binary_classifier_single_rows(tmp_path):
    """One row per request: the bit vectors serve single rows too."""
    X, y = make_classification(400, 5, random_state=3)
    m = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0).fit(X, y)
    path = save_model(m, str(tmp_path))
    rows = threshold_rows(m, X)[:30]
    for row in rows:
        got = run_eval(path, row[None, :])
        assert got["decision_function"] == m.decision_function(row[None, :]).tolist()
