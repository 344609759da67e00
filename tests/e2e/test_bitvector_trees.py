"""Gradient boosting through the bit-vector traversal (model/quickscorer.c,
used when every tree has at most 64 leaves; model/treelanes.c, eight rows
at a time, when at most 32), through complete trees (model/shallow.c, for
rows one by one when no tree is deeper than 5) and through the walk (a
tree with more than 64 leaves): decision_function is scikit-learn's bit
for bit, and predict the same, on rows that sit exactly on the trees'
thresholds (as float32, and one float32 step either side), where a wrong
comparison would show, and for every count of rows a block can end
with."""
import json
import subprocess

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

from conftest import BIN, save_model


def run_eval(path, X):
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in X]  # NaN as null
    p = subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows}),
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


@pytest.fixture(scope="module")
def deep_narrow(tmp_path_factory):
    """Trees 7 deep with at most 24 leaves: eight rows at a time by bit
    vectors, single rows by quickscorer.c (too deep to store complete)."""
    X, y = make_classification(800, 7, n_informative=5, n_classes=3, random_state=5)
    m = GradientBoostingClassifier(n_estimators=20, max_depth=7, max_leaf_nodes=24,
                                   random_state=0).fit(X, y)
    assert max(e.tree_.max_depth for e in np.ravel(m.estimators_)) > 5
    assert max_leaves(m) <= 32
    rows = np.vstack([threshold_rows(m, X), X[:50]])
    return m, save_model(m, str(tmp_path_factory.mktemp("deep"))), rows


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 9, 10, 11, 16, 17, 259, 1000])
def test_every_block_tail(deep_narrow, n):
    m, path, rows = deep_narrow
    part = rows[:n]
    got = run_eval(path, part)
    assert np.array_equal(np.array(got["decision_function"]), m.decision_function(part))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_shallow_every_count(tmp_path, n):
    """Depth 3: every count of rows, a block of eight or fewer, or rows one
    by one through complete trees."""
    X, y = make_classification(500, 9, n_informative=6, n_classes=4, random_state=6)
    m = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(X, y)
    rows = threshold_rows(m, X)
    got = run_eval(save_model(m, str(tmp_path)), rows[:n])
    assert np.array_equal(np.array(got["decision_function"]), m.decision_function(rows[:n]))


def hgb_threshold_rows(model, X):
    """Rows of X with one feature set to a numerical split's threshold, one
    float64 step either side, or NaN."""
    rng = np.random.RandomState(0)
    rows = []
    for predictors in model._predictors[:20]:
        for p in predictors:
            for node in p.nodes[~p.nodes["is_leaf"].astype(bool)]:
                f, thr = int(node["feature_idx"]), float(node["num_threshold"])
                for v in (thr, np.nextafter(thr, -np.inf), np.nextafter(thr, np.inf), np.nan):
                    if np.isinf(v):  # a split of missing from present values has +inf
                        continue
                    row = X[rng.randint(len(X))].copy()
                    row[f] = v
                    rows.append(row)
    # at most 3,000: predictd eval reads a bounded body
    rows = np.array(rows)
    return rows[rng.permutation(len(rows))[:3000]]


@pytest.mark.parametrize("leaves,bitvector", [(31, True), (64, True), (100, False)])
def test_hist_gradient_boosting_on_thresholds_and_nan(tmp_path, leaves, bitvector):
    """Trained with missing values, so nodes send NaN both ways."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    X, y = make_classification(3000, 6, n_informative=4, n_classes=3, random_state=4)
    X[np.random.RandomState(1).rand(*X.shape) < 0.1] = np.nan
    m = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=leaves, min_samples_leaf=2,
                                       early_stopping=False, random_state=0).fit(X, y)
    most = max(p.get_n_leaf_nodes() for ps in m._predictors for p in ps)
    assert (most <= 64) == bitvector, most
    sends = {bool(n["missing_go_to_left"]) for ps in m._predictors for p in ps
             for n in p.nodes[~p.nodes["is_leaf"].astype(bool)]}
    assert sends == {True, False}
    rows = np.vstack([hgb_threshold_rows(m, X), X[:50]])
    got = run_eval(save_model(m, str(tmp_path)), rows)
    assert np.array_equal(np.array(got["decision_function"]), m.decision_function(rows))
    assert got["predict"] == m.predict(rows).tolist()
