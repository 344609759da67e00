"""String-valued columns over HTTP (issue 3): a DataFrame pipeline with
string categorical columns, a number column and a string column it drops,
served by the real binary; every answer is compared with scikit-learn on
the same rows. Errors say which column and what was expected. Parity over
many encoder settings and all three scikit-learn versions is in the
matrix (tests/fixtures/matrix/cases_strings.py)."""
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from conftest import module_server, save_model


def _frame(n=300, seed=1):
    rng = np.random.RandomState(seed)
    city = rng.choice(["Lyon", "Paris", "Nantes", "S\u00e3o Paulo"], n).astype(object)
    city[rng.rand(n) < 0.1] = np.nan
    plan = rng.choice(["free", "pro", "team"], n)
    spend = rng.gamma(2.0, 30.0, n)
    note = rng.choice(["x", "y"], n)
    y = np.where((plan == "pro") & (spend > 50), "churn", np.where(spend > 90, "upsell", "stay"))
    return pd.DataFrame({"city": city, "plan": plan, "spend": spend, "note": note}), y


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    X, y = _frame()
    ct = ColumnTransformer([
        ("city", Pipeline([("imp", SimpleImputer(strategy="constant", fill_value="none")),
                           ("oh", OneHotEncoder(handle_unknown="ignore"))]), ["city"]),
        ("plan", OrdinalEncoder(), ["plan"]),  # handle_unknown='error'
        ("num", StandardScaler(), ["spend"])], remainder="drop")
    m = Pipeline([("ct", ct), ("clf", LogisticRegression(max_iter=2000))]).fit(X, y)
    path = save_model(m, tmp_path_factory.mktemp("strings"), "churn.pkl")
    return m, X, path


@pytest.fixture(scope="module")
def server(model, request):
    return module_server(request, model[2])


def _records(df):
    """DataFrame rows as JSON objects: NaN becomes null."""
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")]


def test_string_rows_agree_with_sklearn(model, server):
    m, X, _ = model
    rows = X.iloc[::7]
    extra = pd.DataFrame({"city": ["Berlin", np.nan], "plan": ["team", "free"],
                          "spend": [1e4, 0.0], "note": ["never seen", "y"]})
    rows = pd.concat([rows, extra], ignore_index=True)
    status, body = server.request("POST", "/predict", {"instances": _records(rows)})
    assert status == 200, body
    assert body["predictions"] == m.predict(rows).tolist()
    assert np.allclose(body["probabilities"], m.predict_proba(rows), rtol=1e-9, atol=1e-12)


def test_string_rows_as_arrays_agree(model, server):
    m, X, _ = model
    rows = X.iloc[[0, 1, 2]]
    arrays = [[r[c] for c in X.columns] for r in _records(rows)]
    status, body = server.request("POST", "/predict", {"instances": arrays})
    assert status == 200, body
    assert body["predictions"] == m.predict(rows).tolist()


def test_dropped_column_takes_anything(model, server):
    m, X, _ = model
    row = _records(X.iloc[[3]])[0]
    for v in (12.5, None, "text"):
        status, body = server.request("POST", "/predict", {"features": dict(row, note=v)})
        assert status == 200, (v, body)
        assert body["prediction"] == m.predict(X.iloc[[3]])[0]


def test_number_in_string_column_names_it(model, server):
    row = _records(model[1].iloc[[0]])[0]
    status, body = server.request("POST", "/predict", {"features": dict(row, plan=3)})
    assert status == 400
    assert "['plan']" in body["error"] and "expected a string" in body["error"], body


def test_string_in_number_column_names_it(model, server):
    row = _records(model[1].iloc[[0]])[0]
    status, body = server.request("POST", "/predict", {"features": dict(row, spend="12")})
    assert status == 400
    assert "['spend']" in body["error"] and "expected a number" in body["error"], body


def test_unknown_string_with_handle_unknown_error_is_400(model, server):
    m, X, _ = model
    row = _records(X.iloc[[0]])[0]
    with pytest.raises(ValueError):  # scikit-learn refuses it too
        m.predict(pd.DataFrame([dict(row, plan="enterprise")]))
    status, body = server.request("POST", "/predict", {"features": dict(row, plan="enterprise")})
    assert status == 400, body
    assert body["error"].startswith("column 'plan': "), body
    assert "unknown string" in body["error"] and "handle_unknown='error'" in body["error"], body


def test_null_in_string_column_is_missing(model, server):
    """null is NaN, which the imputer fills, as scikit-learn fills np.nan."""
    m, X, _ = model
    row = dict(_records(X.iloc[[5]])[0], city=None)
    frame = pd.DataFrame([dict(row, city=np.nan)])
    status, body = server.request("POST", "/predict", {"features": row})
    assert status == 200, body
    assert body["prediction"] == m.predict(frame)[0]
    assert np.allclose(body["probabilities"], m.predict_proba(frame)[0], rtol=1e-9, atol=1e-12)
