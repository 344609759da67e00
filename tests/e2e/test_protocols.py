"""The Open Inference Protocol (KServe V2) and KServe V1 endpoints, with several
models served by one process (issue 4).

One server holds at once: a classifier with string labels ('species'), a
regressor ('diabetes'), a Pipeline fitted on a DataFrame with named columns
('frame'), a DataFrame pipeline with a string column ('people'), the SVC of
KServe's scikit-learn example ('sklearn-v2-iris') and, from a Triton-style
--model-dir, a two-feature model in two versions ('pair').
Every number and label a test expects comes from scikit-learn on the same rows.

The request bodies are the published examples of the protocols, reproduced
as test data (not code):

- KServe, "Open Inference Protocol / Predict Protocol - Version 2"
  (https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md):
  endpoints, the health/metadata/infer JSON objects, the "id": "42" request
  with "outputs": [{"name": ...}], flat or nested tensor data, errors as
  {"error": "..."}.
- KServe, "Deploy Scikit-learn models with InferenceService" (V2)
  (https://kserve.github.io/website/latest/modelserving/v1beta1/sklearn/v2/):
  iris-input-v2.json, the 2-row 4-feature iris request (FP32 there; FP64 in
  the issue), answered by an output named "predict" of shape [2], INT64.
- KServe, "Data Plane (V1)"
  (https://kserve.github.io/website/master/modelserving/data_plane/v1_protocol/)
  and "First InferenceService"
  (https://kserve.github.io/website/latest/get_started/first_isvc/):
  GET /v1/models -> {"models": [...]}, GET /v1/models/NAME ->
  {"name", "ready"}, POST /v1/models/NAME:predict {"instances": [[6.8, 2.8,
  4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]} -> {"predictions": [...]}, "inputs" as
  an alias of "instances".
- MLServer, "Scikit-Learn runtime"
  (https://docs.seldon.ai/mlserver/runtimes/sklearn): the request of INT32
  shape [2, 2] data [1, 2, 3, 4] with "outputs": [{"name": "predict_proba"}].
- MLServer, "Content Types (and Codecs)"
  (https://docs.seldon.ai/mlserver/user-guide/content-type): a DataFrame
  sent as one input per column, "parameters": {"content_type": "pd"}, shape
  [rows] each, BYTES and INT32 columns: its "First Name"/"Age" request is
  sent verbatim.
- KServe's OpenAPI description of the V2 REST protocol
  (https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/rest_predict_v2.yaml),
  its component schemas transcribed to tests/e2e/data/kserve_v2_rest_schemas.json:
  every JSON answer under /v2 in this module, and every infer request it
  sends that should succeed, is validated against them with the jsonschema
  library (python3-jsonschema).
- Triton, "Model Repository Extension"
  (https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md):
  POST v2/repository/index -> [{"name", "version", "state", "reason"}],
  which GET /v2/models returns too.
"""
import hashlib
import json
import os
import subprocess
import time

import joblib
import jsonschema
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn import svm
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from conftest import BIN, LISTEN_RE, Server, module_server, save_model

ATOL = 1e-12
RTOL = 1e-9

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                       "kserve_v2_rest_schemas.json")) as _f:
    KSERVE_SCHEMAS = json.load(_f)

# Triton's $repository_index_response (extension_model_repository.md); the
# KServe OpenAPI description has no index.
TRITON_INDEX = {"type": "array", "items": {
    "type": "object", "required": ["name", "state", "reason"],
    "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                   "state": {"type": "string"}, "reason": {"type": "string"}}}}


def conforms(instance, component):
    """Validates instance against a KServe component schema (or a schema)."""
    schema = component if isinstance(component, dict) else \
        dict(KSERVE_SCHEMAS, **{"$ref": "#/components/schemas/" + component})
    jsonschema.Draft7Validator(schema).validate(instance)


def schema_of(method, path, status):
    """The published schema of the answer to method path, or None."""
    if path == "/v2":
        return "metadata_server_response" if status == 200 else "metadata_server_error_response"
    if path in ("/v2/models", "/v2/repository/index") and status == 200:
        return TRITON_INDEX
    if path.startswith("/v2/models/"):
        rest = path[len("/v2/models/"):].split("/")
        if rest[-1] == "infer" and method == "POST":
            return "inference_response" if status == 200 else "inference_error_response"
        if len(rest) in (1, 3) and method == "GET":
            return "metadata_model_response" if status == 200 \
                else "metadata_model_error_response"
    return None


VALIDATED = []


@pytest.fixture(autouse=True)
def validate_v2_answers(monkeypatch):
    """Every answer under /v2 in this module meets the published schema."""
    plain = Server.request

    def request(self, method, path, body=None, headers=None, raw=False):
        status, answer = plain(self, method, path, body, headers, raw)
        schema = None if raw else schema_of(method, path, status)
        if schema is not None:
            conforms(answer, schema)
            if status != 200:
                assert set(answer) == {"error"}, answer
            # null elements (missing values) are predictd's extension: the
            # published tensor_data has no null
            if path.endswith("/infer") and status == 200 and isinstance(body, dict) \
                    and "null" not in json.dumps(body.get("inputs")):
                conforms(body, "inference_request")
            VALIDATED.append(path)
        return status, answer

    monkeypatch.setattr(Server, "request", request)

# iris-input-v2.json of KServe's scikit-learn V2 example (and the V1 first
# InferenceService's "instances").
KSERVE_IRIS_ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("protocols")
    iris = load_iris()
    X, y = iris.data, iris.target
    m = {}
    species = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        X, iris.target_names[y])
    m["species"] = (species, save_model(species, d, "species.pkl"))
    Xd, yd = load_diabetes(return_X_y=True)
    diabetes = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(Xd, yd)
    m["diabetes"] = (diabetes, save_model(diabetes, d, "diabetes.pkl"))
    frame_X = load_iris(as_frame=True).data.rename(
        columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame = Pipeline([("scale", StandardScaler()),
                      ("clf", LogisticRegression(max_iter=1000))]).fit(frame_X, y)
    m["frame"] = (frame, save_model(frame, d, "frame.pkl"))
    # KServe's example model: svm.SVC(gamma='scale') on iris, joblib.dump
    svc = svm.SVC(gamma="scale").fit(X, y)
    os.makedirs(d / "repo" / "sklearn-v2-iris" / "1")
    joblib.dump(svc, str(d / "repo" / "sklearn-v2-iris" / "1" / "model.joblib"))
    m["sklearn-v2-iris"] = (svc, str(d / "repo" / "sklearn-v2-iris" / "1" / "model.joblib"))
    # two versions of a two-feature model in the repository
    pair1 = LogisticRegression(max_iter=1000).fit(X[:, :2], y)
    pair2 = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[:, :2], y)
    os.makedirs(d / "repo" / "pair" / "1")
    os.makedirs(d / "repo" / "pair" / "2")
    save_model(pair1, d / "repo" / "pair" / "1", "model.pkl")
    joblib.dump(pair2, str(d / "repo" / "pair" / "2" / "model.joblib"))
    m["pair/1"] = (pair1, str(d / "repo" / "pair" / "1" / "model.pkl"))
    m["pair/2"] = (pair2, str(d / "repo" / "pair" / "2" / "model.joblib"))
    # MLServer's DataFrame example: a string column and an integer one
    rng = np.random.RandomState(0)
    people_X = pd.DataFrame({
        "First Name": rng.choice(["Joanne", "Michael", "Ana", "Kofi", "Mei"], 200),
        "Age": rng.randint(16, 80, 200)})
    people_y = np.where(people_X["Age"] + 10 * (people_X["First Name"] == "Mei") > 40,
                        "senior", "junior")
    people = Pipeline([
        ("ct", ColumnTransformer([("name", OneHotEncoder(handle_unknown="ignore"), ["First Name"]),
                                  ("age", StandardScaler(), ["Age"])])),
        ("clf", LogisticRegression(max_iter=1000))]).fit(people_X, people_y)
    m["people"] = (people, save_model(people, d, "people.pkl"))
    m["_dir"] = str(d)
    m["_frame_X"] = frame_X
    return m


@pytest.fixture(scope="module")
def server(models, request):
    return module_server(request, "species=" + models["species"][1],
               "--model", "diabetes=" + models["diabetes"][1],
               "--model", models["frame"][1],          # named after the file
               "--model", "people=" + models["people"][1],
               "--model-dir", os.path.join(models["_dir"], "repo"),
               "--default-model", "species")


def error_of(status, body, expected_status):
    """The body of an error: exactly {"error": "<message>"}."""
    assert status == expected_status, (status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"], str) and body["error"], body
    return body["error"]


def output(body, name):
    outs = [o for o in body["outputs"] if o["name"] == name]
    assert len(outs) == 1, body
    return outs[0]


def rows_of(out):
    """An output's data in its shape, as numpy."""
    return np.array(out["data"], dtype=object if out["datatype"] == "BYTES" else float) \
        .reshape(out["shape"])


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------- the schemas --
def test_published_schemas_validate_and_can_refuse(server):
    """The validator is live: a real answer passes, broken ones do not."""
    req = {"id": "42", "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64",
                                   "data": KSERVE_IRIS_ROWS}]}
    n = len(VALIDATED)
    status, body = server.request("POST", "/v2/models/species/infer", req)
    assert status == 200 and len(VALIDATED) == n + 1, body
    with pytest.raises(jsonschema.ValidationError):
        conforms({k: v for k, v in body.items() if k != "outputs"}, "inference_response")
    with pytest.raises(jsonschema.ValidationError):
        conforms(dict(body, outputs=[dict(body["outputs"][0], shape=["2"])]),
                 "inference_response")
    with pytest.raises(jsonschema.ValidationError):
        conforms({"name": "m", "inputs": []}, "metadata_model_response")  # no platform
    with pytest.raises(jsonschema.ValidationError):
        conforms([{"name": "m", "version": 1, "state": "READY", "reason": ""}], TRITON_INDEX)


# ------------------------------------------------------------------ health --
def test_v2_health_live_and_ready(server):
    assert server.request("GET", "/v2/health/live") == (200, {"live": True})
    assert server.request("GET", "/v2/health/ready") == (200, {"ready": True})


def test_v2_server_metadata(server):
    status, body = server.request("GET", "/v2")
    assert status == 200, body
    assert body["name"] == "predictd"
    p = subprocess.run([BIN, "--version"], capture_output=True, text=True)
    assert body["version"] == p.stdout.split()[-1]
    assert body["extensions"] == []


def test_v2_model_ready_every_model_and_version(server):
    for name in ("species", "diabetes", "frame", "sklearn-v2-iris", "pair", "people"):
        assert server.request("GET", "/v2/models/%s/ready" % name) == \
            (200, {"name": name, "ready": True})
    assert server.request("GET", "/v2/models/pair/versions/1/ready")[0] == 200


# ------------------------------------------------------ repository index --
def test_v2_models_index_lists_every_model_and_version(server):
    status, body = server.request("GET", "/v2/models")
    assert status == 200, body
    expected = [{"name": n, "version": v, "state": "READY", "reason": ""}
                for n, v in [("diabetes", "1"), ("frame", "1"), ("pair", "1"), ("pair", "2"),
                             ("people", "1"), ("sklearn-v2-iris", "1"), ("species", "1")]]
    assert body == expected
    # Triton's POST v2/repository/index answers the same, with or without a body
    assert server.request("POST", "/v2/repository/index", {}) == (200, expected)
    assert server.request("POST", "/v2/repository/index", {"ready": True}) == (200, expected)


# ---------------------------------------------------------- model metadata --
def test_v2_metadata_string_label_classifier(server, models):
    model, path = models["species"]
    status, body = server.request("GET", "/v2/models/species")
    assert status == 200, body
    assert body["name"] == "species" and body["versions"] == ["1"]
    assert body["platform"] == "sklearn"
    assert body["inputs"] == [{"name": "input-0", "datatype": "FP64",
                               "shape": [-1, model.n_features_in_]}]
    assert body["outputs"] == [
        {"name": "predict", "datatype": "BYTES", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(model.classes_)]}]
    p = body["parameters"]
    assert p["classes"] == model.classes_.tolist()
    assert p["sklearn_version"] == sklearn.__version__
    assert p["sha256"] == sha256_of(path)
    assert p["n_features"] == model.n_features_in_
    assert "feature_names" not in p


def test_v2_metadata_regressor(server, models):
    model, path = models["diabetes"]
    status, body = server.request("GET", "/v2/models/diabetes/versions/1")
    assert status == 200, body
    assert body["inputs"] == [{"name": "input-0", "datatype": "FP64",
                               "shape": [-1, model.n_features_in_]}]
    assert body["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1]}]
    assert "classes" not in body["parameters"]
    assert body["parameters"]["sha256"] == sha256_of(path)


def test_v2_metadata_named_columns(server, models):
    model, path = models["frame"]
    status, body = server.request("GET", "/v2/models/frame")
    assert status == 200, body
    names = model.feature_names_in_.tolist()
    assert body["inputs"] == [{"name": n, "datatype": "FP64", "shape": [-1]} for n in names]
    assert [o["name"] for o in body["outputs"]] == \
        ["predict", "predict_proba", "decision_function"]
    assert body["outputs"][0]["datatype"] == "INT64"
    assert body["outputs"][2]["shape"] == [-1, len(model.classes_)]
    assert body["parameters"]["feature_names"] == names
    assert body["parameters"]["classes"] == model.classes_.tolist()


def test_v2_metadata_versions_of_a_repository_model(server, models):
    status, body = server.request("GET", "/v2/models/pair")
    assert status == 200, body
    assert body["versions"] == ["1", "2"]
    assert body["parameters"]["version"] == "2"  # the highest answers
    assert body["parameters"]["sha256"] == sha256_of(models["pair/2"][1])
    status, body = server.request("GET", "/v2/models/pair/versions/1")
    assert status == 200 and body["parameters"]["version"] == "1", body
    assert body["parameters"]["sha256"] == sha256_of(models["pair/1"][1])


# ------------------------------------------------------------------- infer --
def test_v2_infer_kserve_iris_example_fp32(server, models):
    """iris-input-v2.json as published (FP32, nested), on the SVC it documents."""
    model = models["sklearn-v2-iris"][0]
    req = {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32",
                       "data": KSERVE_IRIS_ROWS}]}
    status, body = server.request("POST", "/v2/models/sklearn-v2-iris/infer", req)
    assert status == 200, body
    assert body["model_name"] == "sklearn-v2-iris" and body["model_version"] == "1"
    assert "id" not in body
    # FP32 elements reach the model as a float32 array would hold them
    X = np.array(KSERVE_IRIS_ROWS, dtype=np.float32).astype(np.float64)
    assert body["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [2],
                                "data": model.predict(X).tolist()}]


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_v2_infer_2_row_4_feature_fp64_iris(server, models, layout):
    model = models["species"][0]
    data = KSERVE_IRIS_ROWS if layout == "nested" else sum(KSERVE_IRIS_ROWS, [])
    req = {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": data}]}
    status, body = server.request("POST", "/v2/models/species/infer", req)
    assert status == 200, body
    X = np.array(KSERVE_IRIS_ROWS)
    pred = output(body, "predict")
    assert pred == {"name": "predict", "datatype": "BYTES", "shape": [2],
                    "data": model.predict(X).tolist()}
    proba = output(body, "predict_proba")
    assert proba["datatype"] == "FP64" and proba["shape"] == [2, 3]
    assert np.allclose(rows_of(proba), model.predict_proba(X), rtol=0, atol=ATOL)
    assert [o["name"] for o in body["outputs"]] == ["predict", "predict_proba"]


def test_v2_infer_id_echoed_and_outputs_chosen(server, models):
    """The specification's example: "id": "42" and "outputs": [{"name": ...}]."""
    model = models["species"][0]
    X = load_iris().data[::10]
    req = {"id": "42",
           "inputs": [{"name": "input0", "shape": list(X.shape), "datatype": "FP64",
                       "data": X.ravel().tolist()}],
           "outputs": [{"name": "predict_proba"}]}
    status, body = server.request("POST", "/v2/models/species/infer", req)
    assert status == 200, body
    assert body["id"] == "42"
    assert [o["name"] for o in body["outputs"]] == ["predict_proba"]
    assert np.allclose(rows_of(body["outputs"][0]), model.predict_proba(X), rtol=0, atol=ATOL)


def test_v2_infer_mlserver_int32_predict_proba_example(server, models):
    """MLServer's runtime example, INT32 [2, 2] [1, 2, 3, 4], on both versions."""
    req = {"inputs": [{"name": "my-input", "datatype": "INT32", "shape": [2, 2],
                       "data": [1, 2, 3, 4]}],
           "outputs": [{"name": "predict_proba"}]}
    X = np.array([[1, 2], [3, 4]], dtype=np.int32)
    for url, key, version in [("/v2/models/pair/infer", "pair/2", "2"),
                              ("/v2/models/pair/versions/2/infer", "pair/2", "2"),
                              ("/v2/models/pair/versions/1/infer", "pair/1", "1")]:
        status, body = server.request("POST", url, req)
        assert status == 200, (url, body)
        assert body["model_version"] == version
        out = output(body, "predict_proba")
        assert out["shape"] == [2, 3]
        assert np.allclose(rows_of(out), models[key][0].predict_proba(X), rtol=0, atol=ATOL)


def test_v2_infer_regressor(server, models):
    model = models["diabetes"][0]
    X = load_diabetes().data[::7]
    req = {"inputs": [{"name": "input-0", "shape": list(X.shape), "datatype": "FP64",
                       "data": X.tolist()}]}
    status, body = server.request("POST", "/v2/models/diabetes/infer", req)
    assert status == 200, body
    out = output(body, "predict")
    assert out["datatype"] == "FP64" and out["shape"] == [len(X)]
    assert np.allclose(out["data"], model.predict(X), rtol=RTOL, atol=ATOL)
    assert [o["name"] for o in body["outputs"]] == ["predict"]


def test_v2_infer_fp32_rounds_like_a_float32_array(server, models):
    """An FP32 tensor is what numpy.float32 holds: the answer is scikit-learn's
    on X.astype(float32), which differs from its answer on the float64 rows."""
    model, frame_X = models["frame"][0], models["_frame_X"]
    rows = frame_X.iloc[::30]
    req = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP32",
                       "data": rows.to_numpy().ravel().tolist()}],
           "outputs": [{"name": "decision_function"}]}
    status, body = server.request("POST", "/v2/models/frame/infer", req)
    assert status == 200, body
    got = rows_of(output(body, "decision_function"))
    rows32 = rows.astype(np.float32).astype(np.float64)
    assert np.allclose(got, model.decision_function(rows32), rtol=RTOL, atol=ATOL)
    assert not np.allclose(got, model.decision_function(rows), rtol=RTOL, atol=ATOL)


def test_v2_infer_int64_tensor(server, models):
    model = models["species"][0]
    X = np.array([[5, 3, 1, 0], [6, 3, 5, 2], [7, 3, 6, 2]], dtype=np.int64)
    req = {"inputs": [{"name": "x", "shape": [3, 4], "datatype": "INT64", "data": X.tolist()}],
           "outputs": [{"name": "predict"}]}
    status, body = server.request("POST", "/v2/models/species/infer", req)
    assert status == 200, body
    assert output(body, "predict")["data"] == model.predict(X).tolist()


def test_v2_infer_named_columns_as_mlserver_pandas_request(server, models):
    """A DataFrame as MLServer's "pd" content type sends it: one input per
    column, shape [rows], mixed datatypes, in any order."""
    model, frame_X = models["frame"][0], models["_frame_X"]
    rows = frame_X.iloc[::25]
    cols = list(reversed(frame_X.columns))
    inputs = []
    for i, c in enumerate(cols):
        if i == 0:
            inputs.append({"name": c, "datatype": "INT32", "shape": [len(rows)],
                           "data": [int(v) for v in rows[c].round()]})
        else:
            inputs.append({"name": c, "datatype": "FP64", "shape": [len(rows)],
                           "data": rows[c].tolist()})
    sent = rows.copy()
    sent[cols[0]] = sent[cols[0]].round()
    req = {"parameters": {"content_type": "pd"}, "inputs": inputs,
           "outputs": [{"name": "predict"}, {"name": "predict_proba"},
                       {"name": "decision_function"}]}
    status, body = server.request("POST", "/v2/models/frame/infer", req)
    assert status == 200, body
    assert output(body, "predict")["data"] == model.predict(sent).tolist()
    assert np.allclose(rows_of(output(body, "predict_proba")), model.predict_proba(sent),
                       rtol=0, atol=ATOL)
    dec = output(body, "decision_function")
    assert dec["shape"] == [len(rows), 3]
    assert np.allclose(rows_of(dec), model.decision_function(sent), rtol=RTOL, atol=ATOL)


# MLServer's "Content Types (and Codecs)" example, verbatim.
MLSERVER_PD_REQUEST = {
    "parameters": {"content_type": "pd"},
    "inputs": [
        {"name": "First Name", "datatype": "BYTES", "parameters": {"content_type": "str"},
         "shape": [2], "data": ["Joanne", "Michael"]},
        {"name": "Age", "datatype": "INT32", "shape": [2], "data": [34, 22]},
    ],
}


def test_v2_metadata_string_column_is_bytes(server, models):
    status, body = server.request("GET", "/v2/models/people")
    assert status == 200, body
    assert body["inputs"] == [{"name": "First Name", "datatype": "BYTES", "shape": [-1]},
                              {"name": "Age", "datatype": "FP64", "shape": [-1]}]
    assert body["outputs"][0] == {"name": "predict", "datatype": "BYTES", "shape": [-1]}
    assert body["parameters"]["classes"] == models["people"][0].classes_.tolist()


def test_v2_infer_mlserver_dataframe_example_with_strings(server, models):
    model = models["people"][0]
    status, body = server.request("POST", "/v2/models/people/infer", MLSERVER_PD_REQUEST)
    assert status == 200, body
    X = pd.DataFrame({"First Name": ["Joanne", "Michael"], "Age": [34, 22]})
    assert output(body, "predict")["data"] == model.predict(X).tolist()
    assert np.allclose(rows_of(output(body, "predict_proba")), model.predict_proba(X),
                       rtol=0, atol=ATOL)
    # a name the encoder never saw (handle_unknown='ignore'), columns reversed
    req = {"inputs": [{"name": "Age", "datatype": "FP64", "shape": [3], "data": [61, 18, 44]},
                      {"name": "First Name", "datatype": "BYTES", "shape": [3],
                       "data": ["Mei", "Zo\u00e9", "Ana"]}]}
    status, body = server.request("POST", "/v2/models/people/infer", req)
    assert status == 200, body
    X = pd.DataFrame({"First Name": ["Mei", "Zo\u00e9", "Ana"], "Age": [61, 18, 44]})
    assert output(body, "predict")["data"] == model.predict(X).tolist()
    # null in a string column is a missing category, as None in the DataFrame
    req["inputs"][1]["data"] = [None, "Kofi", "Ana"]
    status, body = server.request("POST", "/v2/models/people/infer", req)
    assert status == 200, body
    X = pd.DataFrame({"First Name": [None, "Kofi", "Ana"], "Age": [61, 18, 44]})
    assert output(body, "predict")["data"] == model.predict(X).tolist()


def test_v2_infer_string_column_errors_400(server):
    req = json.loads(json.dumps(MLSERVER_PD_REQUEST))
    req["inputs"][0]["data"] = ["Joanne", 7]
    msg = infer_error(server, req, 400, model="people")
    assert "input 'First Name'[1]" in msg and "expected a string or null (datatype BYTES)" in msg, msg
    req["inputs"][0].update(datatype="FP64", data=[1.0, 2.0])
    msg = infer_error(server, req, 400, model="people")
    assert "input 'First Name'[0]" in msg and "expected a string (a category)" in msg, msg
    req = json.loads(json.dumps(MLSERVER_PD_REQUEST))
    req["inputs"][1].update(datatype="BYTES", data=["34", "22"])
    msg = infer_error(server, req, 400, model="people")
    assert "input 'Age'[0]" in msg and "expected a number, got a string" in msg, msg


def test_v2_infer_nul_in_a_bytes_element_is_400(server):
    """cJSON ends strings at a NUL: "Ana\u0000x" must not be read as "Ana"."""
    req = json.loads(json.dumps(MLSERVER_PD_REQUEST))
    req["inputs"][0]["data"] = ["Ana\u0000x", "Kofi"]
    msg = infer_error(server, req, 400, model="people")
    assert "NUL character" in msg, msg


def test_v2_infer_named_columns_also_take_one_matrix(server, models):
    model, frame_X = models["frame"][0], models["_frame_X"]
    rows = frame_X.iloc[::40]
    req = {"inputs": [{"name": "input-0", "shape": list(rows.shape), "datatype": "FP64",
                       "data": rows.to_numpy().tolist()}]}
    status, body = server.request("POST", "/v2/models/frame/infer", req)
    assert status == 200, body
    assert output(body, "predict")["data"] == model.predict(rows).tolist()


def test_v2_infer_column_shape_rows_by_one(server, models):
    model, frame_X = models["frame"][0], models["_frame_X"]
    rows = frame_X.iloc[[3, 77]]
    req = {"inputs": [{"name": c, "shape": [2, 1], "datatype": "FP64",
                       "data": [[v] for v in rows[c]]} for c in frame_X.columns]}
    status, body = server.request("POST", "/v2/models/frame/infer", req)
    assert status == 200, body
    assert output(body, "predict")["data"] == model.predict(rows).tolist()


# ------------------------------------------------------------------- /v1 --
def test_v1_list_and_model_ready(server):
    assert server.request("GET", "/v1/models") == \
        (200, {"models": ["diabetes", "frame", "pair", "people", "sklearn-v2-iris", "species"]})
    assert server.request("GET", "/v1/models/species") == (200, {"name": "species", "ready": True})


def test_v1_predict_kserve_first_isvc_example(server, models):
    model = models["sklearn-v2-iris"][0]
    status, body = server.request("POST", "/v1/models/sklearn-v2-iris:predict",
                                  {"instances": KSERVE_IRIS_ROWS})
    assert status == 200, body
    assert body == {"predictions": model.predict(np.array(KSERVE_IRIS_ROWS)).tolist()}


@pytest.mark.parametrize("key", ["instances", "inputs"])
def test_v1_predict_string_labels_and_alias(server, models, key):
    model = models["species"][0]
    X = load_iris().data[::12]
    status, body = server.request("POST", "/v1/models/species:predict", {key: X.tolist()})
    assert status == 200, body
    assert body == {"predictions": model.predict(X).tolist()}


def test_v1_predict_regressor_and_named_rows(server, models):
    model = models["diabetes"][0]
    X = load_diabetes().data[:4]
    status, body = server.request("POST", "/v1/models/diabetes:predict", {"instances": X.tolist()})
    assert status == 200, body
    assert np.allclose(body["predictions"], model.predict(X), rtol=RTOL, atol=ATOL)
    model, frame_X = models["frame"][0], models["_frame_X"]
    rows = frame_X.iloc[::50]
    status, body = server.request("POST", "/v1/models/frame:predict",
                                  {"instances": rows.to_dict("records")})
    assert status == 200, body
    assert body == {"predictions": model.predict(rows).tolist()}


def test_v1_predict_version_path(server, models):
    X = np.array([[5.0, 3.0], [6.5, 2.8]])
    status, body = server.request("POST", "/v1/models/pair/versions/1:predict",
                                  {"instances": X.tolist()})
    assert status == 200, body
    assert body == {"predictions": models["pair/1"][0].predict(X).tolist()}


# ---------------------------------------------------------------- /predict --
def test_predict_answers_with_the_default_model(server, models):
    model = models["species"][0]
    X = np.array(KSERVE_IRIS_ROWS)
    status, body = server.request("POST", "/predict", {"instances": X.tolist()})
    assert status == 200, body
    assert body["predictions"] == model.predict(X).tolist()
    assert np.allclose(body["probabilities"], model.predict_proba(X), rtol=0, atol=ATOL)


# ------------------------------------------------------------------ errors --
GOOD = {"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": KSERVE_IRIS_ROWS}


def infer_error(server, body, status, model="species"):
    return error_of(*server.request("POST", "/v2/models/%s/infer" % model, body), status)


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2/models/nope"), ("GET", "/v2/models/nope/ready"),
    ("POST", "/v2/models/nope/infer"), ("GET", "/v1/models/nope"),
    ("POST", "/v1/models/nope:predict"), ("GET", "/v2/models/species/versions/9"),
    ("POST", "/v2/models/species/versions/9/infer"),
])
def test_unknown_model_or_version_404(server, method, path):
    body = {"inputs": [GOOD]} if method == "POST" else None
    msg = error_of(*server.request(method, path, body), 404)
    assert ("no model named 'nope'" in msg and "species" in msg) or \
        "has no version '9' (versions: 1)" in msg, msg


@pytest.mark.parametrize("inp,words", [
    (dict(GOOD, shape=[2, 3], data=[1, 2, 3, 4, 5, 6]), ["[rows, 4]", "[2, 3]"]),
    (dict(GOOD, shape=[8], data=sum(KSERVE_IRIS_ROWS, [])), ["[rows, 4]", "[8]"]),
    (dict(GOOD, shape=[3, 4]), ["does not match shape [3, 4]", "12 elements"]),
    (dict(GOOD, data=[[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5]]), ["does not match shape"]),
    (dict(GOOD, shape=[2, -4]), ["\"shape\"[1]"]),
    (dict(GOOD, shape="2x4"), ["\"shape\""]),
    (dict(GOOD, datatype="FP16"), ["datatype 'FP16'", "FP64"]),
    (dict(GOOD, datatype="BOOL"), ["datatype 'BOOL'"]),
    ({k: v for k, v in GOOD.items() if k != "datatype"}, ["\"datatype\""]),
    ({k: v for k, v in GOOD.items() if k != "data"}, ["no \"data\""]),
    (dict(GOOD, data=[[6.8, "x", 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]), ["[0][1]", "a string"]),
    (dict(GOOD, datatype="INT32"), ["[0][0]", "whole number", "INT32", "6.7999"]),
    (dict(GOOD, datatype="INT8", data=[[1, 2, 3, 400], [1, 2, 3, 4]]), ["[0][3]", "400"]),
    (dict(GOOD, datatype="BYTES", data=[["6.8", "2.8", "4.8", "1.4"]] * 2), ["[0][0]", "string"]),
    (dict(GOOD, datatype="BYTES"), ["[0][0]", "expected a string or null (datatype BYTES)"]),
])
def test_v2_infer_bad_tensor_400(server, inp, words):
    msg = infer_error(server, {"inputs": [inp]}, 400)
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("outputs,words", [
    ([{"name": "nope"}], ["unknown output 'nope'", "predict, predict_proba"]),
    ([{"name": "transform"}], ["unknown output 'transform'"]),
    ([{"name": "predict"}, {"name": "predict"}], ["asked for twice"]),
    ([], ["\"outputs\""]),
    ([{"nom": "predict"}], ["\"outputs\"[0]"]),
])
def test_v2_infer_bad_output_name_400(server, outputs, words):
    msg = infer_error(server, {"inputs": [GOOD], "outputs": outputs}, 400)
    for w in words:
        assert w in msg, (w, msg)


def test_v2_infer_regressor_has_no_predict_proba_400(server):
    X = load_diabetes().data[:1]
    body = {"inputs": [{"name": "x", "shape": [1, 10], "datatype": "FP64", "data": X.tolist()}],
            "outputs": [{"name": "predict_proba"}]}
    msg = infer_error(server, body, 400, model="diabetes")
    assert "unknown output 'predict_proba' (this model has predict)" in msg, msg


@pytest.mark.parametrize("body,words", [
    ({}, ["\"inputs\"", "nothing"]),
    ({"inputs": []}, ["\"inputs\"", "empty"]),
    ({"inputs": GOOD}, ["\"inputs\"", "an object"]),
    ({"inputs": [GOOD], "id": 42}, ["\"id\"", "a number"]),
    ({"inputs": [GOOD], "parameters": [1]}, ["\"parameters\""]),
    ({"inputs": [GOOD, GOOD]}, ["got 2 input tensors"]),
    ({"inputs": [1]}, ["\"inputs\"[0]"]),
])
def test_v2_infer_bad_request_400(server, body, words):
    msg = infer_error(server, body, 400)
    for w in words:
        assert w in msg, (w, msg)


def test_v2_infer_invalid_json_400(server):
    status, body = server.request("POST", "/v2/models/species/infer", b'{"inputs": [')
    assert "not valid JSON" in error_of(status, body, 400)


def _columns(frame_X, rows=2):
    return [{"name": c, "shape": [rows], "datatype": "FP64",
             "data": frame_X[c].iloc[:rows].tolist()} for c in frame_X.columns]


def test_v2_infer_named_column_errors_400(server, models):
    frame_X = models["_frame_X"]
    cols = _columns(frame_X)
    msg = infer_error(server, {"inputs": cols[1:]}, 400, model="frame")
    assert "missing input 'sepal_length'" in msg, msg
    msg = infer_error(server, {"inputs": cols + [dict(cols[0], name="colour")]}, 400,
                      model="frame")
    assert "input 'colour' is not a column" in msg and "'petal_width'" in msg, msg
    msg = infer_error(server, {"inputs": cols + [cols[0]]}, 400, model="frame")
    assert "given twice" in msg, msg
    short = dict(cols[2], shape=[1], data=cols[2]["data"][:1])
    msg = infer_error(server, {"inputs": cols[:2] + [short] + cols[3:]}, 400, model="frame")
    assert "has 1 rows" in msg and "same rows" in msg, msg
    wide = dict(cols[0], shape=[1, 2])
    msg = infer_error(server, {"inputs": [wide] + cols[1:]}, 400, model="frame")
    assert "[rows] or [rows, 1]" in msg, msg
    # a string where the model reads numbers is refused, naming the input
    words = dict(cols[3], datatype="BYTES", data=["wide", "narrow"])
    msg = infer_error(server, {"inputs": cols[:3] + [words]}, 400, model="frame")
    assert "input 'petal_width'[0]" in msg and "string" in msg, msg


def test_v2_infer_too_many_rows_413(server_factory, models):
    s = server_factory(models["species"][1], "--max-batch-rows", "3")
    X = load_iris().data[:4]
    body = {"inputs": [{"name": "x", "shape": [4, 4], "datatype": "FP64",
                        "data": X.tolist()}]}
    msg = error_of(*s.request("POST", "/v2/models/species/infer", body), 413)
    assert "over the limit" in msg, msg
    body["inputs"][0].update(shape=[3, 4], data=X[:3].tolist())
    assert s.request("POST", "/v2/models/species/infer", body)[0] == 200


def test_v2_infer_binary_extension_refused_400(server):
    data = json.dumps({"inputs": [GOOD]}).encode()
    status, body = server.request("POST", "/v2/models/species/infer", data,
                                  headers={"Inference-Header-Content-Length": str(len(data))})
    assert "binary tensor data" in error_of(status, body, 400)


@pytest.mark.parametrize("method,path", [
    ("GET", "/v2/models/species/infer"), ("POST", "/v2/health/ready"),
    ("POST", "/v2/models/species"), ("GET", "/v1/models/species:predict"),
    ("POST", "/v2/models"), ("GET", "/v2/repository/index"),
])
def test_wrong_method_405(server, method, path):
    body = {"inputs": [GOOD]} if method == "POST" else None
    error_of(*server.request(method, path, body), 405)


@pytest.mark.parametrize("path", ["/v2/", "/v2/models/", "/v2/models/species/versions",
                                  "/v2/models/species/explain", "/v1/models/species:explain",
                                  "/v2/models/species/versions/1/infer/x"])
def test_unknown_protocol_path_404(server, path):
    error_of(*server.request("GET", path), 404)


@pytest.mark.parametrize("body,words", [
    ({"instances": [[1, 2, 3]]}, ["\"instances\"[0]", "expected 4 features, got 3"]),
    ({}, ["\"instances\" or \"inputs\""]),
    ({"instances": [], "inputs": []}, ["both"]),
    ({"inputs": {"a": [1]}}, ["\"inputs\"", "an array of rows"]),
])
def test_v1_predict_errors_400(server, body, words):
    msg = error_of(*server.request("POST", "/v1/models/species:predict", body), 400)
    for w in words:
        assert w in msg, (w, msg)


# ---------------------------------------------------- start-up and loading --
def test_predict_without_a_default_model_404(server_factory, models):
    s = server_factory("a=" + models["species"][1], "--model", "b=" + models["diabetes"][1])
    msg = error_of(*s.request("POST", "/predict", {"features": KSERVE_IRIS_ROWS[0]}), 404)
    assert "--default-model" in msg and "/v2/models/NAME/infer" in msg, msg
    assert s.request("GET", "/v2/models/a/ready")[0] == 200


def test_model_named_after_its_file_and_single_default(server_factory, models):
    s = server_factory(models["species"][1])
    status, body = s.request("GET", "/v2/models")
    assert status == 200 and [m["name"] for m in body] == ["species"], body
    X = np.array(KSERVE_IRIS_ROWS)
    status, body = s.request("POST", "/predict", {"instances": X.tolist()})
    assert status == 200 and body["predictions"] == models["species"][0].predict(X).tolist()


def test_models_from_the_environment(models):
    env = dict(os.environ, PREDICTD_MODEL="s=%s,%s" % (models["species"][1], models["diabetes"][1]),
               PREDICTD_DEFAULT_MODEL="diabetes")
    p = subprocess.Popen([BIN, "--host", "127.0.0.1", "--port", "0"], env=env,
                         stderr=subprocess.PIPE, text=True)
    try:
        port = None
        lines = []
        while port is None:
            line = p.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
            m = LISTEN_RE.search(line)
            if m:
                port = int(m.group(2))
        s = Server.__new__(Server)
        s.url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 30
        while s.request("GET", "/v2/health/ready")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [m["name"] for m in s.request("GET", "/v2/models")[1]] == ["diabetes", "s"]
        X = load_diabetes().data[:2]
        status, body = s.request("POST", "/predict", {"instances": X.tolist()})
        assert status == 200, body
        assert np.allclose(body["predictions"], models["diabetes"][0].predict(X),
                           rtol=RTOL, atol=ATOL)
    finally:
        p.terminate()
        p.wait(timeout=10)


def run_startup(args, timeout=30):
    return subprocess.run([BIN, "--host", "127.0.0.1", "--port", "0"] + args,
                          capture_output=True, text=True, timeout=timeout)


def test_a_model_that_fails_to_load_stops_startup_with_its_name(models, tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x04not a pickle")
    p = run_startup(["--model", "good=" + models["species"][1], "--model", "broken=%s" % bad])
    assert p.returncode == 1, p.stderr
    assert "cannot load %s: " % bad in p.stderr, p.stderr
    assert "model 'broken' version 1 did not load" in p.stderr, p.stderr


@pytest.mark.parametrize("case", ["duplicate", "no-version", "both-files", "empty-version",
                                  "unknown-default", "clash", "empty-dir"])
def test_bad_model_sets_stop_startup(models, tmp_path, case):
    species = models["species"][1]
    repo = tmp_path / "repo"
    repo.mkdir()
    args = []
    if case == "duplicate":
        args = ["--model", "m=" + species, "--model", "m=" + models["diabetes"][1]]
        words = ["two models are named 'm'"]
    elif case == "no-version":
        (repo / "iris" / "latest").mkdir(parents=True)
        args, words = ["--model-dir", str(repo)], ["model 'iris' has no version"]
    elif case == "both-files":
        (repo / "iris" / "3").mkdir(parents=True)
        (repo / "iris" / "3" / "model.pkl").write_bytes(open(species, "rb").read())
        (repo / "iris" / "3" / "model.joblib").write_bytes(open(species, "rb").read())
        args, words = ["--model-dir", str(repo)], ["both model.pkl and model.joblib"]
    elif case == "empty-version":
        (repo / "iris" / "1").mkdir(parents=True)
        args, words = ["--model-dir", str(repo)], ["version 1", "found neither"]
    elif case == "unknown-default":
        args = ["--model", species, "--default-model", "nope"]
        words = ["--default-model: no model is named 'nope'"]
    elif case == "clash":
        (repo / "species" / "1").mkdir(parents=True)
        (repo / "species" / "1" / "model.pkl").write_bytes(open(species, "rb").read())
        args = ["--model", species, "--model-dir", str(repo)]
        words = ["'species' is given by --model", "--model-dir"]
    else:
        args, words = ["--model-dir", str(repo)], ["holds no model"]
    p = run_startup(args)
    assert p.returncode in (1, 2), p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)


def test_ready_only_when_every_model_loaded(tmp_path, models):
    """The second model is a FIFO: the first answers while the second loads,
    and the server says ready once both have."""
    fifo = str(tmp_path / "slow.pkl")
    os.mkfifo(fifo)
    s = Server("fast=" + models["diabetes"][1], "--model", "slow=" + fifo,
               wait_ready=False, timeout=15, drain_output=True)
    try:
        deadline = time.monotonic() + 15
        while s.request("GET", "/v2/models/fast/ready")[0] != 200:
            assert time.monotonic() < deadline, "".join(s.stderr_lines)
            time.sleep(0.02)
        assert s.request("GET", "/v2/health/ready") == (503, {"ready": False})
        assert s.request("GET", "/readyz")[0] == 503
        assert s.request("GET", "/v2/health/live") == (200, {"live": True})
        assert s.request("GET", "/v2/models/slow/ready") == (503, {"name": "slow", "ready": False})
        status, body = s.request("GET", "/v2/models")
        assert status == 200 and [(m["name"], m["state"]) for m in body] == \
            [("fast", "READY"), ("slow", "LOADING")], body
        assert s.request("POST", "/v2/repository/index", {"ready": True})[1] == [body[0]]
        error_of(*s.request("POST", "/v2/models/slow/infer", {"inputs": [GOOD]}), 503)
        fd = os.open(fifo, os.O_WRONLY)
        with open(models["species"][1], "rb") as f:
            os.write(fd, f.read())
        os.close(fd)
        while s.request("GET", "/v2/health/ready")[0] != 200:
            assert time.monotonic() < deadline + 30, "".join(s.stderr_lines)
            time.sleep(0.05)
        assert s.request("GET", "/v2/models/slow/ready")[0] == 200
    finally:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        s.stop()


# ------------------------------------- decision_function, score_samples, transform --
def test_v2_other_methods_as_outputs(server_factory, tmp_path):
    """transform (a soft VotingClassifier) and score_samples with
    decision_function (an IsolationForest) are outputs too."""
    from sklearn.ensemble import IsolationForest, VotingClassifier
    from sklearn.naive_bayes import GaussianNB
    X, y = load_iris(return_X_y=True)
    vote = VotingClassifier([("lr", LogisticRegression(max_iter=1000)), ("nb", GaussianNB())],
                            voting="soft").fit(X, y)
    iforest = IsolationForest(n_estimators=20, random_state=0).fit(X)
    s = server_factory("vote=" + save_model(vote, tmp_path, "vote.pkl"),
                       "--model", "iforest=" + save_model(iforest, tmp_path, "iforest.pkl"))
    rows = X[::16]
    tensor = {"name": "x", "shape": list(rows.shape), "datatype": "FP64", "data": rows.tolist()}

    status, body = s.request("GET", "/v2/models/vote")
    assert status == 200, body
    assert {"name": "transform", "datatype": "FP64", "shape": [-1, 6]} in body["outputs"]
    status, body = s.request("POST", "/v2/models/vote/infer",
                             {"inputs": [tensor], "outputs": [{"name": "transform"}]})
    assert status == 200, body
    out = output(body, "transform")
    assert out["shape"] == list(vote.transform(rows).shape)
    assert np.allclose(rows_of(out), vote.transform(rows), rtol=RTOL, atol=ATOL)

    status, body = s.request("GET", "/v2/models/iforest")
    assert status == 200, body
    assert [o["name"] for o in body["outputs"]] == \
        ["predict", "decision_function", "score_samples"]
    assert body["outputs"][0] == {"name": "predict", "datatype": "INT64", "shape": [-1]}
    status, body = s.request("POST", "/v2/models/iforest/infer",
                             {"inputs": [tensor], "outputs": [{"name": "score_samples"},
                                                              {"name": "decision_function"},
                                                              {"name": "predict"}]})
    assert status == 200, body
    score = output(body, "score_samples")
    assert score["shape"] == [len(rows)]
    assert np.allclose(score["data"], iforest.score_samples(rows), rtol=RTOL, atol=ATOL)
    assert np.allclose(output(body, "decision_function")["data"],
                       iforest.decision_function(rows), rtol=RTOL, atol=ATOL)
    # -1 and 1 are integers in scikit-learn, and INT64 here
    assert body["outputs"][2] == {"name": "predict", "datatype": "INT64", "shape": [len(rows)],
                                  "data": iforest.predict(rows).tolist()}


# ---------------------------------------------------------------- survival --
def test_v2_infer_mutated_requests_never_crash(server):
    """Published requests with random parts replaced, removed or added: each
    gets 200, 400 or 413 with a JSON body, and the server lives on."""
    import random
    rng = random.Random(4)
    bases = [{"id": "1", "inputs": [dict(GOOD)], "outputs": [{"name": "predict"}]},
             MLSERVER_PD_REQUEST]
    values = [None, True, 0, -1, 1e308, 2 ** 64, 1.5, "", "x" * 300, [], {}, [[]], [1, [2]],
              "FP64", "BYTES", "INT8", [2, 4], [-1], [0], [1e20, 4]]

    def mutate(o):
        if isinstance(o, dict) and o:
            k = rng.choice(sorted(o))
        elif isinstance(o, list) and o:
            k = rng.randrange(len(o))
        else:
            return
        r = rng.random()
        if r < 0.3:
            o[k] = json.loads(json.dumps(rng.choice(values)))
        elif r < 0.4:
            del o[k]
        else:
            mutate(o[k])

    seen = set()
    for _ in range(400):
        body = json.loads(json.dumps(rng.choice(bases)))
        for _ in range(rng.randint(1, 3)):
            mutate(body)
        model = rng.choice(["species", "people", "frame", "diabetes", "pair"])
        status, answer = server.request("POST", "/v2/models/%s/infer" % model, body)
        assert status in (200, 400, 413), (status, answer, body)
        assert isinstance(answer, dict) and (status == 200) == ("error" not in answer), answer
        seen.add(status)
    assert seen >= {200, 400}
    assert server.proc.poll() is None


def test_v2_and_v1_multi_target_regressor(server_factory, tmp_path):
    from sklearn.linear_model import LinearRegression
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, np.sqrt(y), X[:, 0] * 3])
    model = LinearRegression().fit(X, Y)
    s = server_factory("multi=" + save_model(model, tmp_path, "multi.pkl"))
    status, body = s.request("GET", "/v2/models/multi")
    assert status == 200, body
    assert body["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1, 3]}]
    rows = X[:5]
    req = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                       "data": rows.tolist()}]}
    status, body = s.request("POST", "/v2/models/multi/infer", req)
    assert status == 200, body
    out = output(body, "predict")
    assert out["shape"] == [5, 3]
    assert np.allclose(rows_of(out), model.predict(rows), rtol=RTOL, atol=ATOL)
    status, body = s.request("POST", "/v1/models/multi:predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert np.allclose(body["predictions"], model.predict(rows), rtol=RTOL, atol=ATOL)


def test_v2_regressor_fitted_on_a_column_answers_rows_by_one(server_factory, tmp_path):
    """y of shape (n, 1): scikit-learn predicts shape (rows, 1), so does V2."""
    from sklearn.linear_model import Ridge
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y.reshape(-1, 1))
    s = server_factory("col=" + save_model(model, tmp_path, "col.pkl"))
    status, body = s.request("GET", "/v2/models/col")
    assert status == 200, body
    assert body["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1, 1]}]
    rows = X[:3]
    req = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                       "data": rows.tolist()}]}
    status, body = s.request("POST", "/v2/models/col/infer", req)
    assert status == 200, body
    out = output(body, "predict")
    assert out["shape"] == list(model.predict(rows).shape)
    assert np.allclose(rows_of(out), model.predict(rows), rtol=RTOL, atol=ATOL)


def test_v2_and_v1_multi_output_classifier(server_factory, tmp_path):
    """A 2-D y: predict is [rows, outputs]; predict_proba, a list of one
    matrix per output in scikit-learn, is those matrices side by side."""
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)
    Y = np.c_[names[y], np.where(X[:, 1] > 3.0, "wide", "narrow")]
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, Y)
    s = server_factory("multi=" + save_model(model, tmp_path, "multi.pkl"))
    status, body = s.request("GET", "/v2/models/multi")
    assert status == 200, body
    assert body["outputs"] == [{"name": "predict", "datatype": "BYTES", "shape": [-1, 2]},
                               {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 5]}]
    assert body["parameters"]["classes"] == [c.tolist() for c in model.classes_]
    rows = X[::11] + 0.05
    req = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                       "data": rows.tolist()}]}
    status, body = s.request("POST", "/v2/models/multi/infer", req)
    assert status == 200, body
    pred = output(body, "predict")
    assert pred["shape"] == [len(rows), 2]
    assert rows_of(pred).tolist() == model.predict(rows).tolist()
    proba = output(body, "predict_proba")
    assert np.allclose(rows_of(proba), np.hstack(model.predict_proba(rows)), rtol=0, atol=ATOL)
    status, body = s.request("POST", "/v1/models/multi:predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body == {"predictions": model.predict(rows).tolist()}
