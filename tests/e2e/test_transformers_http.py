"""A file whose estimator only transforms (a scaler, PCA, an encoder, a
ColumnTransformer, a Pipeline of them) is served: /predict answers the
transformed rows ({"prediction": [...]} for one row, {"predictions":
[[...], ...]} for a batch), V1 answers {"predictions": rows}, and V2 infer
answers `transform` by default; every value is compared with
scikit-learn's transform of the same rows."""
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from conftest import Server, run_check, save_model

X, y = load_iris(return_X_y=True)
ROWS = X[::29]


def transformers():
    frame = pd.DataFrame({"city": ["a", "b", "c", "a"] * 10, "n": np.arange(40.0)})
    return {
        "standard_scaler": (StandardScaler().fit(X), ROWS.tolist(), ROWS),
        "minmax_pca": (make_pipeline(MinMaxScaler(), PCA(n_components=2)).fit(X),
                       ROWS.tolist(), ROWS),
        "truncated_svd": (TruncatedSVD(n_components=3, random_state=0).fit(X),
                          ROWS.tolist(), ROWS),
        "imputer_scaler": (make_pipeline(SimpleImputer(), StandardScaler()).fit(X),
                           ROWS.tolist(), ROWS),
        "column_transformer": (
            ColumnTransformer([("oh", OneHotEncoder(), ["city"]),
                               ("sc", StandardScaler(), ["n"])]).fit(frame),
            frame.iloc[:5].to_dict("records"), frame.iloc[:5]),
    }


@pytest.mark.parametrize("name", list(transformers()))
def test_transformer_served_on_every_protocol(tmp_path, name):
    t, rows, Xs = transformers()[name]
    want = np.asarray(t.transform(Xs), dtype=float)
    path = save_model(t, tmp_path)
    p = run_check(path)
    assert p.returncode == 0, p.stderr
    assert "outputs:         transform (%d columns" % want.shape[1] in p.stdout, p.stdout
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows})
        assert status == 200, body
        np.testing.assert_allclose(body["predictions"], want, rtol=1e-12, atol=1e-12)
        status, body = srv.request("POST", "/predict", {"features": rows[0]})
        assert status == 200, body
        np.testing.assert_allclose(body["prediction"], want[0], rtol=1e-12, atol=1e-12)
        status, body = srv.request("POST", "/v1/models/model:predict", {"instances": rows})
        assert status == 200, body
        np.testing.assert_allclose(body["predictions"], want, rtol=1e-12, atol=1e-12)
        status, meta = srv.request("GET", "/v2/models/model")
        assert status == 200, meta
        assert [o["name"] for o in meta["outputs"]] == ["transform"], meta
        if isinstance(rows[0], dict):
            inputs = [{"name": c, "datatype": "BYTES" if c == "city" else "FP64",
                       "shape": [len(rows)], "data": [r[c] for r in rows]}
                      for c in ("city", "n")]
        else:
            inputs = [{"name": "x", "datatype": "FP64", "shape": [len(rows), 4],
                       "data": rows}]
        status, body = srv.request("POST", "/v2/models/model/infer", {"inputs": inputs})
        assert status == 200, body
        (out,) = body["outputs"]
        assert out["name"] == "transform" and out["shape"] == list(want.shape), out
        np.testing.assert_allclose(np.reshape(out["data"], want.shape), want,
                                   rtol=1e-12, atol=1e-12)
        status, body = srv.request("POST", "/v2/models/model/infer",
                                   {"inputs": inputs, "outputs": [{"name": "predict"}]})
        assert status == 400 and "transform" in body["error"], body
