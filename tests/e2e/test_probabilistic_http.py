"""Probabilistic models served over HTTP: a binary MLPClassifier with string
labels (one logistic output unit, so predict_proba is [1 - p, p]) and a
GaussianNB, fitted here by Debian's scikit-learn, pickled, served by the
real binary and compared with the live estimator row by row and in batch.
"""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier

from conftest import Server

warnings.filterwarnings("ignore")


def close(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.all(np.isclose(got, want, rtol=1e-9,
                                                              atol=1e-12)))


def serve(tmp_path_factory, model):
    path = str(tmp_path_factory.mktemp("prob") / "model.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return Server(path)


@pytest.fixture(scope="module")
def breast():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = np.array(["malignant", "benign"])[y]
    return X, labels, np.vstack([X[::29], X[4] * 50.0, X[7] * -50.0])


@pytest.fixture(scope="module")
def mlp(tmp_path_factory, breast):
    X, y, _ = breast
    model = MLPClassifier(hidden_layer_sizes=(9,), max_iter=30, random_state=1).fit(X, y)
    s = serve(tmp_path_factory, model)
    yield s, model
    s.stop()


@pytest.fixture(scope="module")
def gnb(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    model = GaussianNB().fit(X, y)
    s = serve(tmp_path_factory, model)
    yield s, model, np.vstack([X[::13], X[0] * 4.0])
    s.stop()


def test_mlp_binary_single_rows_match_sklearn(mlp, breast):
    server, model = mlp
    for row in breast[2]:
        status, body = server.request("POST", "/predict", {"features": row.tolist()})
        assert status == 200, body
        assert body["prediction"] == model.predict(row[None, :])[0], (row, body)
        assert close(body["probabilities"], model.predict_proba(row[None, :])[0]), body


def test_mlp_binary_batch_matches_sklearn_in_order(mlp, breast):
    server, model = mlp
    rows = breast[2]
    status, body = server.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == model.predict(rows).tolist()
    assert close(body["probabilities"], model.predict_proba(rows))


def test_gnb_batch_matches_sklearn(gnb):
    server, model, rows = gnb
    status, body = server.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == model.predict(rows).tolist()
    assert close(body["probabilities"], model.predict_proba(rows))
