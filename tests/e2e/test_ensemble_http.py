"""Ensembles served over HTTP: a soft VotingClassifier with string labels
and a StackingRegressor, fitted here by Debian's scikit-learn, pickled,
served by the real binary; /predict must give the live estimator's
labels and values for every row, in order."""
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import StackingRegressor, VotingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from conftest import Server


def serve(tmp_path_factory, model):
    path = str(tmp_path_factory.mktemp("ens") / "model.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return Server(path)


@pytest.fixture(scope="module")
def voting(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    labels = load_iris().target_names[y]
    model = VotingClassifier([("lr", LogisticRegression(max_iter=1000)),
                              ("dt", DecisionTreeClassifier(max_depth=2))],
                             voting="soft", weights=[1, 3]).fit(X, labels)
    s = serve(tmp_path_factory, model)
    yield s, model, X[::7]
    s.stop()


@pytest.fixture(scope="module")
def stacking(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    model = StackingRegressor([("ridge", Ridge()),
                               ("dt", DecisionTreeRegressor(max_depth=3))],
                              final_estimator=Ridge(alpha=2.0), cv=3,
                              passthrough=True).fit(X, y)
    s = serve(tmp_path_factory, model)
    yield s, model, X[::11]
    s.stop()


def test_voting_batch_labels_match_sklearn_in_order(voting):
    server, model, rows = voting
    status, body = server.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == model.predict(rows).tolist()


def test_stacking_regressor_rows_match_sklearn(stacking):
    server, model, rows = stacking
    for row in rows:
        status, body = server.request("POST", "/predict", {"features": row.tolist()})
        assert status == 200, body
        assert np.isclose(body["prediction"], model.predict(row[None, :])[0],
                          rtol=1e-9, atol=1e-12), (row, body)
