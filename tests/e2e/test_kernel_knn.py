"""Nearest neighbours beyond the matrix: a row whose k-th place is a tie
between samples that disagree is refused (scikit-learn's pick there
depends on its search structure), a tie that agrees is answered as
scikit-learn answers it, and configurations predictd does not compute are
refused at load time with the reason."""
import json
import pickle
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from conftest import BIN, run_check


def _save(m, tmp_path):
    path = str(tmp_path / "model.pkl")
    with open(path, "wb") as f:
        pickle.dump(m, f)
    return path


def _eval(path, rows):
    return subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows}),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
def test_knn_disagreeing_boundary_tie_refused(algorithm, tmp_path):
    X = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]])
    m = KNeighborsClassifier(n_neighbors=1, algorithm=algorithm).fit(X, ["a", "b", "c"])
    p = _eval(_save(m, tmp_path), [[4.0, 4.0], [1.0, 0.0]])
    assert p.returncode != 0, p.stdout
    assert "row 1" in p.stderr and "equally far" in p.stderr, p.stderr
    assert "the 1st and 2nd nearest" in p.stderr, p.stderr


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_knn_agreeing_boundary_tie_answered(weights, tmp_path):
    # the 2nd place ties between the two samples at 3.0, which agree
    X = np.array([[0.0], [3.0], [3.0], [10.0]])
    y = np.array([1.0, 3.0, 3.0, 7.0])
    m = KNeighborsRegressor(n_neighbors=2, weights=weights).fit(X, y)
    rows = [[1.0], [0.5], [0.2]]
    p = _eval(_save(m, tmp_path), rows)
    assert p.returncode == 0, p.stderr
    assert np.allclose(json.loads(p.stdout)["predict"], m.predict(np.array(rows)),
                       rtol=1e-9, atol=1e-12)


def _iris():
    return load_iris(return_X_y=True)


def knn_minkowski_p3():
    X, y = _iris()
    return KNeighborsClassifier(p=3, algorithm="brute").fit(X, y), ["p other than 1 or 2"]


def knn_minkowski_tree_metric():
    X, y = _iris()
    return KNeighborsClassifier(p=3, algorithm="kd_tree").fit(X, y), [
        "MinkowskiDistance", "not supported"]


def knn_chebyshev():
    X, y = _iris()
    return KNeighborsRegressor(metric="chebyshev", algorithm="brute").fit(X, y), [
        "effective_metric_", "'chebyshev'"]


def knn_multioutput_outputs_disagree():
    """classes_ lists two outputs, _y holds one column."""
    X, y = _iris()
    m = KNeighborsClassifier().fit(X, np.column_stack([y, y % 2]))
    m._y = m._y[:, :1].copy()
    return m, ["classes_ and _y for the same 2 or more outputs", "found 2 and 1"]


def knn_too_many_neighbors():
    X, y = _iris()
    m = KNeighborsClassifier().fit(X, y)
    m.n_neighbors = 1000
    return m, ["n_neighbors 1000"]


def knn_label_out_of_range():
    X, y = _iris()
    m = KNeighborsClassifier().fit(X, y)
    m._y = m._y.copy()
    m._y[3] = 9
    return m, ["KNeighborsClassifier._y[3, 0]", "below 3"]


CASES = [knn_minkowski_p3, knn_minkowski_tree_metric, knn_chebyshev, knn_multioutput_outputs_disagree,
         knn_too_many_neighbors, knn_label_out_of_range]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_knn_unsupported_state_refused_with_reason(case, tmp_path):
    model, words = case()
    p = run_check(_save(model, tmp_path))
    assert p.returncode != 0, p.stdout
    for w in words:
        assert w in p.stderr, (w, p.stderr)
