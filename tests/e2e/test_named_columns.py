"""Models fitted on a pandas DataFrame carry feature_names_in_; /predict then
also takes rows as objects of named columns (issue 3). Answers are compared
with scikit-learn given the same DataFrame rows."""
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from conftest import module_server, save_model


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    iris = load_iris(as_frame=True)
    X = iris.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    model = Pipeline([("scale", StandardScaler()),
                      ("clf", LogisticRegression(max_iter=1000))]).fit(X, iris.target)
    path = save_model(model, tmp_path_factory.mktemp("named"), "iris_frame.pkl")
    return model, X, path


@pytest.fixture(scope="module")
def server(named, request):
    return module_server(request, named[2])


def test_named_columns_single_row_agrees(named, server):
    model, X, _ = named
    row = X.iloc[[60]]
    status, body = server.request("POST", "/predict", {"features": row.iloc[0].to_dict()})
    assert status == 200, body
    assert body["prediction"] == int(model.predict(row)[0])
    assert np.allclose(body["probabilities"], model.predict_proba(row)[0], rtol=0, atol=1e-12)


def test_named_columns_batch_in_any_key_order_agrees(named, server):
    model, X, _ = named
    rows = X.iloc[::15]
    instances = [dict(reversed(list(r.items()))) for r in rows.to_dict("records")]
    status, body = server.request("POST", "/predict", {"instances": instances})
    assert status == 200, body
    assert body["predictions"] == model.predict(rows).tolist()
    assert np.allclose(body["probabilities"], model.predict_proba(rows), rtol=0, atol=1e-12)


def test_named_columns_missing_unknown_and_wrong_type_name_the_column(named, server):
    _, X, _ = named
    row = X.iloc[0].to_dict()
    missing = dict(row)
    del missing["petal_width"]
    status, body = server.request("POST", "/predict", {"features": missing})
    assert status == 400 and "missing column 'petal_width'" in body["error"], body
    extra = dict(row, colour=1.0)
    status, body = server.request("POST", "/predict", {"features": extra})
    assert status == 400 and "unknown column 'colour'" in body["error"], body
    wrong = dict(row, sepal_length="long")
    status, body = server.request("POST", "/predict", {"features": wrong})
    assert status == 400 and "['sepal_length']" in body["error"] and "string" in body["error"], body


def test_check_lists_the_column_names(named):
    from conftest import run_check
    p = run_check(named[2])
    assert p.returncode == 0, p.stderr
    assert "features:        sepal_length, sepal_width, petal_length, petal_width" in p.stdout


def test_unnamed_model_refuses_object_rows(tmp_path):
    from conftest import Server
    X, y = load_iris(return_X_y=True)
    path = tmp_path / "plain.pkl"
    with open(path, "wb") as f:
        pickle.dump(LogisticRegression(max_iter=1000).fit(X, y), f)
    with Server(str(path)) as s:
        status, body = s.request("POST", "/predict", {"features": {"a": 1.0}})
    assert status == 400 and "no column names" in body["error"], body


def test_many_named_columns_agree(tmp_path):
    """A row object of 50,000 named columns, keys in reverse order, is read
    right, and a repeated or unknown key is still named. (It used to cost
    seconds of CPU per row: a lookup along cJSON's key list per column.
    How long it takes now is a benchmark, bench/wide_columns.py, not a
    test.)"""
    import json
    from sklearn.linear_model import LinearRegression
    from conftest import Server
    nf = 50000
    cols = ["c%05d" % j for j in range(nf)]
    X = pd.DataFrame(np.random.RandomState(0).rand(3, nf), columns=cols)
    m = LinearRegression().fit(X, [1.0, 2.0, 3.0])
    path = tmp_path / "wide.pkl"
    with open(path, "wb") as f:
        pickle.dump(m, f)
    row = {c: 0.5 for c in reversed(cols)}
    with Server(str(path), "--max-body-bytes", str(4 << 20)) as s:
        status, body = s.request("POST", "/predict", {"features": row})
        assert status == 200, body
        assert np.isclose(body["prediction"], m.predict(pd.DataFrame([row])[cols])[0],
                          rtol=1e-12)
        twice = json.dumps({"features": row})[:-2] + ', "c00007": 1.0}}'
        status, body = s.request("POST", "/predict", twice.encode())
        assert status == 400 and "given more than once" in body["error"], body
        row["c00000x"] = 1.0
        status, body = s.request("POST", "/predict", {"features": row})
        assert status == 400 and "unknown column 'c00000x'" in body["error"], body


@pytest.mark.parametrize("key", [b"\xff\xfe", ("x" * 99 + "\u00e9").encode()])
def test_unknown_column_error_is_valid_utf8(named, server, key):
    """The unknown key is quoted in the error: bytes that are not UTF-8,
    or a name cut at 100 bytes inside a character, made the JSON body
    invalid UTF-8."""
    import json
    _, X, _ = named
    row = json.dumps({"features": X.iloc[0].to_dict()}).encode()
    body = row[:-2] + b', "' + key + b'": 1.0}}'
    status, raw = server.request("POST", "/predict", body, raw=True)
    assert status == 400, raw
    reply = json.loads(raw.decode("utf-8"))  # strict: raises on invalid UTF-8
    assert "unknown column '" in reply["error"], reply
