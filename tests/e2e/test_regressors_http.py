"""A linear regressor served over HTTP: Ridge fitted here on diabetes by
Debian's scikit-learn, pickled, served by the real binary, and every number
of /predict compared with the live estimator's predict.

Contract: one row {"features": [...]} -> {"prediction": v} (a list of
values with several targets); a batch {"instances": [[...], ...]} ->
{"predictions": [...]}, one entry per row in order.
"""
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from conftest import Server


def close(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.all(np.isclose(got, want, rtol=1e-9,
                                                              atol=1e-12)))


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    # training rows, and rows far outside the training range
    rows = np.vstack([X[::37], X[3] * 1e4, X[5] * -1e-7])
    return X, y, rows


def serve(tmp_path_factory, model):
    path = str(tmp_path_factory.mktemp("ridge") / "ridge.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return Server(path)


@pytest.fixture(scope="module")
def one_target(tmp_path_factory, diabetes):
    X, y, _ = diabetes
    model = Ridge(alpha=0.3).fit(X, y)
    s = serve(tmp_path_factory, model)
    yield s, model
    s.stop()


@pytest.fixture(scope="module")
def two_targets(tmp_path_factory, diabetes):
    X, y, _ = diabetes
    model = Ridge(alpha=0.3).fit(X, np.column_stack([y, np.sqrt(y)]))
    s = serve(tmp_path_factory, model)
    yield s, model
    s.stop()


def test_ridge_single_row_matches_sklearn(one_target, diabetes):
    server, model = one_target
    for row in diabetes[2]:
        status, body = server.request("POST", "/predict", {"features": row.tolist()})
        assert status == 200, body
        assert close(body["prediction"], model.predict(row[None, :])[0]), (row, body)


def test_ridge_batch_matches_sklearn_in_order(one_target, diabetes):
    server, model = one_target
    rows = diabetes[2]
    status, body = server.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert close(body["predictions"], model.predict(rows))


def test_ridge_two_targets_single_and_batch_match_sklearn(two_targets, diabetes):
    server, model = two_targets
    rows = diabetes[2]
    status, body = server.request("POST", "/predict", {"features": rows[0].tolist()})
    assert status == 200, body
    assert close(body["prediction"], model.predict(rows[:1])[0])
    status, body = server.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert close(body["predictions"], model.predict(rows))


def test_ridge_wrong_feature_count_is_400_naming_both(one_target):
    server, _ = one_target
    status, body = server.request("POST", "/predict", {"features": [0.1, 0.2, 0.3]})
    assert status == 400
    assert "10" in body["error"] and "3" in body["error"], body
