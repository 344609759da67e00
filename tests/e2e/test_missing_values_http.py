"""null in a /predict row is a missing value (NaN) for models fitted to take
one (HistGradientBoosting, a Pipeline that starts with a NaN SimpleImputer),
and a 400 naming the column for every other model (issue 3). Answers are
compared with scikit-learn given np.nan in the same places."""
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from conftest import Server


def iris_with_holes():
    X, y = load_iris(return_X_y=True)
    X = X.copy()
    rng = np.random.RandomState(0)
    X[rng.rand(*X.shape) < 0.15] = np.nan
    return X, y


def as_json_rows(X):
    return [[None if np.isnan(v) else float(v) for v in row] for row in X]


MODELS = {
    "hgb": lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
    "imputer_pipeline": lambda: Pipeline([("impute", SimpleImputer(strategy="median")),
                                          ("clf", LogisticRegression(max_iter=1000))]),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_null_is_missing_value_and_agrees(kind, tmp_path):
    X, y = iris_with_holes()
    model = MODELS[kind]().fit(X, y)
    path = tmp_path / (kind + ".pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    rows = X[::6]
    assert np.isnan(rows).any()
    with Server(str(path)) as s:
        status, body = s.request("POST", "/predict", {"instances": as_json_rows(rows)})
        assert status == 200, body
        assert body["predictions"] == model.predict(rows).tolist()
        assert np.allclose(body["probabilities"], model.predict_proba(rows), rtol=1e-9, atol=1e-12)
        status, body = s.request("POST", "/predict", {"features": [None, None, None, None]})
        assert status == 200, body
        assert body["prediction"] == model.predict(np.full((1, 4), np.nan))[0]


def test_null_refused_with_column_by_models_without_missing_values(tmp_path):
    X, y = load_iris(return_X_y=True)
    path = tmp_path / "plain.pkl"
    with open(path, "wb") as f:
        pickle.dump(LogisticRegression(max_iter=1000).fit(X, y), f)
    with Server(str(path)) as s:
        status, body = s.request("POST", "/predict", {"features": [5.1, None, 1.4, 0.2]})
    assert status == 400, body
    assert "[1]" in body["error"] and "missing value" in body["error"], body
