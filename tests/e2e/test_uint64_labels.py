"""Classifiers whose classes_ are uint64 (values above 2^63 too): labels
served exactly as scikit-learn predicts them, by eval, /predict and V2."""
import json
import pickle
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from conftest import BIN, save_model

LABELS = np.array([7, 2 ** 63 + 5, 2 ** 64 - 1], dtype=np.uint64)


def _models():
    X, y = load_iris(return_X_y=True)
    yu = LABELS[y]
    return X, {
        "tree": DecisionTreeClassifier(random_state=0).fit(X, yu),
        "forest": RandomForestClassifier(n_estimators=5, random_state=0).fit(X, yu),
        "logreg": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, yu),
        "knn": KNeighborsClassifier().fit(X, yu),
        "vote": VotingClassifier([("t", DecisionTreeClassifier(random_state=0)),
                                  ("l", LogisticRegression(max_iter=1000))]).fit(X, yu),
    }


@pytest.mark.parametrize("name", ["tree", "forest", "logreg", "knn", "vote"])
def test_uint64_labels_eval_and_http(name, tmp_path, server_factory):
    X, models = _models()
    m = models[name]
    assert m.classes_.dtype == np.uint64
    rows = X[::10]
    want = [int(v) for v in m.predict(rows)]
    assert max(want) > 2 ** 63  # the labels int64 cannot hold are exercised
    path = save_model(m, tmp_path, name + ".pkl")
    p = subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows.tolist()}),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["predict"] == want
    s = server_factory(path)
    status, body = s.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == want
    tensor = {"name": "x", "shape": list(rows.shape), "datatype": "FP64",
              "data": rows.ravel().tolist()}
    status, body = s.request("POST", "/v2/models/" + name + "/infer", {"inputs": [tensor]})
    assert status == 200, body
    out = [o for o in body["outputs"] if o["name"] == "predict"][0]
    assert out["datatype"] == "UINT64" and out["data"] == want
    s.stop()
