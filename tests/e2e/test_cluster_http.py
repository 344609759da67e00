"""KMeans and MiniBatchKMeans over HTTP: /predict and V1 answer the nearest
centre (ints, as scikit-learn's predict returns them), V2 infer answers
`predict` by default and `transform` (the distance to every centre) when
asked for by name; the same inside a Pipeline, as its last step and as a
transforming step before a classifier. Every value is scikit-learn's own
for the same rows."""
import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import Server, run_check, save_model

X, y = load_iris(return_X_y=True)
ROWS = X[::13]


def models():
    return {
        "kmeans": KMeans(n_clusters=3, n_init=3, random_state=0).fit(X),
        "minibatch": MiniBatchKMeans(n_clusters=4, n_init=3, random_state=0).fit(X),
        "scaler_kmeans": make_pipeline(
            StandardScaler(), KMeans(n_clusters=4, n_init=3, random_state=0)).fit(X),
    }


def v2_inputs(rows):
    return [{"name": "x", "datatype": "FP64", "shape": [len(rows), 4],
             "data": rows.tolist()}]


@pytest.mark.parametrize("name", list(models()))
def test_kmeans_serves_predict_by_default_and_transform_on_v2(tmp_path, name):
    m = models()[name]
    labels = m.predict(ROWS).tolist()
    dist = m.transform(ROWS)
    path = save_model(m, tmp_path)
    p = run_check(path)
    assert p.returncode == 0, p.stderr
    assert "transform (V2, %d columns)" % dist.shape[1] in p.stdout, p.stdout
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": ROWS.tolist()})
        assert status == 200, body
        assert body["predictions"] == labels, body
        assert all(type(v) is int for v in body["predictions"]), body
        assert "probabilities" not in body, body
        status, body = srv.request("POST", "/v1/models/model:predict",
                                   {"instances": ROWS.tolist()})
        assert status == 200 and body["predictions"] == labels, body
        status, meta = srv.request("GET", "/v2/models/model")
        assert status == 200, meta
        assert [o["name"] for o in meta["outputs"]] == ["predict", "transform"], meta
        status, body = srv.request("POST", "/v2/models/model/infer",
                                   {"inputs": v2_inputs(ROWS)})
        assert status == 200, body
        assert [o["name"] for o in body["outputs"]] == ["predict"], body
        assert body["outputs"][0]["data"] == labels, body
        status, body = srv.request("POST", "/v2/models/model/infer",
                                   {"inputs": v2_inputs(ROWS),
                                    "outputs": [{"name": "transform"}]})
        assert status == 200, body
        (out,) = body["outputs"]
        assert out["shape"] == list(dist.shape), out
        np.testing.assert_allclose(np.reshape(out["data"], dist.shape), dist,
                                   rtol=1e-12, atol=1e-12)
        status, body = srv.request("POST", "/v2/models/model/infer",
                                   {"inputs": v2_inputs(ROWS),
                                    "outputs": [{"name": "predict_proba"}]})
        assert status == 400 and "transform" in body["error"], body


def test_kmeans_distances_feed_a_classifier(tmp_path):
    m = make_pipeline(StandardScaler(), KMeans(n_clusters=5, n_init=3, random_state=0),
                      LogisticRegression(max_iter=2000)).fit(X, y)
    path = save_model(m, tmp_path)
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": ROWS.tolist()})
        assert status == 200, body
        assert body["predictions"] == m.predict(ROWS).tolist(), body
        np.testing.assert_allclose(body["probabilities"], m.predict_proba(ROWS),
                                   rtol=1e-9, atol=1e-12)


def test_kmeans_fitted_on_float32_is_refused(tmp_path):
    m = KMeans(n_clusters=2, n_init=2, random_state=0).fit(X.astype(np.float32))
    p = run_check(save_model(m, tmp_path))
    assert p.returncode == 1, p.stdout
    assert "KMeans.cluster_centers_" in p.stderr and "float32" in p.stderr, p.stderr
