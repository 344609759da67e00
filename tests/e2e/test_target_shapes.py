"""Regressors fitted on y of shape (n, 1) (issue 3): scikit-learn's predict
keeps the column for some (LinearRegression, Ridge, KNeighborsRegressor,
TransformedTargetRegressor, a Pipeline ending in one) and ravels it for
others. /predict answers in the same shape: [v] for one row and [[v], ...]
for a batch where scikit-learn keeps the column, v and [v, ...] where it
does not. (The matrix, cases_io.py, checks eval's shapes for every
version.)"""
import pickle

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from conftest import Server, run_check

ESTIMATORS = {
    "linreg": LinearRegression,
    "ridge": Ridge,
    "knn": KNeighborsRegressor,
    "ttr": lambda: TransformedTargetRegressor(regressor=Ridge(), transformer=StandardScaler()),
    "pipeline": lambda: make_pipeline(StandardScaler(), Ridge()),
    "lasso": lambda: Lasso(alpha=0.01),
    "tree": lambda: DecisionTreeRegressor(max_depth=3, random_state=0),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_y_column_keeps_scikit_learns_shape_over_http(name, tmp_path):
    X, y = load_diabetes(return_X_y=True)
    model = ESTIMATORS[name]().fit(X, y[:, None])
    path = tmp_path / (name + ".pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    rows = X[::40] + 0.001
    want = model.predict(rows)
    with Server(str(path)) as s:
        status, body = s.request("POST", "/predict", {"instances": rows.tolist()})
        assert status == 200, body
        got = np.asarray(body["predictions"])
        assert got.shape == want.shape, (got.shape, want.shape)
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12)
        status, body = s.request("POST", "/predict", {"features": rows[0].tolist()})
        assert status == 200, body
        one = np.asarray(body["prediction"])
        assert one.shape == want[0].shape, (one.shape, want[0].shape)
        assert np.allclose(one, want[0], rtol=1e-9, atol=1e-12)


def test_y_column_check_says_so(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    path = tmp_path / "ridge.pkl"
    with open(path, "wb") as f:
        pickle.dump(Ridge().fit(X, y[:, None]), f)
    p = run_check(str(path))
    assert p.returncode == 0, p.stderr
    assert "outputs:         prediction (1 number in a list: fitted on y of shape (n, 1))" \
        in p.stdout, p.stdout
