"""Real model files that other people published, against scikit-learn.

../shared/corpus/realworld/ holds files taken unchanged from public
repositories, a MANIFEST.tsv and, per file, FILE.expected.json with
scikit-learn's own outputs on probe rows (made by the oracle the manifest
names: see the README there). For each file:

- with an expected.json: predictd serves it, and every method recorded
  there agrees with scikit-learn over HTTP (labels identical, numbers within
  1e-9 relative or 1e-12 absolute, `null` = NaN): predict and predict_proba
  through /predict, decision_function, transform and score_samples through
  V2 infer;
- with a `must_name` in the manifest: `predictd check` refuses it (exit 1)
  and the reason contains that word.

The corpus is not part of this repository; without ../shared the module
skips with a message.
"""
import csv
import json
import math
import os
import re

import numpy as np
import pytest

from conftest import HARNESS_ENV, SHARED, Server, run_check

CORPUS = os.path.join(SHARED, "corpus", "realworld")
MANIFEST = os.path.join(CORPUS, "MANIFEST.tsv")

if not os.path.exists(MANIFEST):
    pytest.skip("../shared/corpus/realworld is absent (a clone without ../shared): "
                "the real-world files are not checked", allow_module_level=True)

with open(MANIFEST, newline="") as f:
    ROWS = list(csv.DictReader(f, delimiter="\t"))

# Manifest classes predictd does not serve yet (issue 8 items still open):
# their files must still be refused, and the test says so; strict, so a
# class that starts to agree fails here until it is taken off this list.
NOT_YET = {
    "TfidfVectorizer": "text vectorizers are not served yet (issue 8: 'text: later')",
}

EXPECTED = [r for r in ROWS if os.path.exists(os.path.join(CORPUS, r["file"] + ".expected.json"))]


def _param(r):
    reason = NOT_YET.get(r["class"])
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(r, id=r["file"], marks=marks)
# Files the manifest lists as refused that predictd now serves, with the
# test that checks them against their oracle (the corpus has no
# expected.json for them); each must load.
SERVED_NOW = {
    "AhmedRamadan74__churn-bank__pipeline.pkl":
        "imblearn Pipeline (issue 8): test_imblearn_http.py checks it against imbalanced-learn",
}
REFUSED = [r for r in ROWS if r["must_name"].strip() and r["file"] not in SERVED_NOW]
V2_METHODS = ("decision_function", "transform", "score_samples")


def _nan(v):
    if isinstance(v, list):
        return [_nan(x) for x in v]
    return math.nan if v is None else v


def _agree(got, want):
    """Labels identical; numbers within 1e-9 relative or 1e-12 absolute."""
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            _agree(g, w) for g, w in zip(got, want))
    if isinstance(want, (str, bool)) or want is None:
        return got == want and type(got) is type(want)
    if isinstance(want, int) and not isinstance(want, bool):
        # a label: the same integer, printed as an integer
        return isinstance(got, int) and not isinstance(got, bool) and got == want
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    if math.isnan(want):
        return math.isnan(got)
    return bool(np.isclose(got, want, rtol=1e-9, atol=1e-12))


def _v2_inputs(meta, rows, named):
    """V2 tensors for rows, following the model's metadata."""
    inputs = meta["inputs"]
    n = len(rows)
    if named and len(inputs) > 1:
        out = []
        for inp in inputs:
            col = [r[inp["name"]] for r in rows]
            out.append({"name": inp["name"], "datatype": inp["datatype"],
                        "shape": [n], "data": col})
        return out
    inp = inputs[0]
    if named:
        names = meta["parameters"]["feature_names"]
        data = [[r[c] for c in names] for r in rows]
    else:
        data = rows
    return [{"name": inp["name"], "datatype": inp["datatype"],
             "shape": [n, len(data[0]) if data else 0], "data": data}]


REPORT = HARNESS_ENV.get("PREDICTD_MATRIX_REPORT")


def _report_agreement(path, entry):
    """Credits every estimator class named in the file's structure (as
    `predictd check` describes it) with the version that wrote the file,
    for the README support table's real-world column
    (tests/matrix_table.py)."""
    if not REPORT:
        return
    p = run_check(path)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("estimator:")), "")
    names = sorted(set(re.findall(r"\b([A-Z][A-Za-z0-9]+)\[?", line.split(":", 1)[-1])))
    with open(REPORT, "a") as f:
        for n in names:
            f.write(json.dumps({"source": "realworld", "estimator": n,
                                "version": entry["written_by"], "passed": True,
                                "case": entry["file"]}) + "\n")


@pytest.mark.parametrize("entry", [_param(r) for r in EXPECTED])
def test_realworld_agrees(entry):
    path = os.path.join(CORPUS, entry["file"])
    _check_agrees(path, entry)
    _report_agreement(path, entry)


def _check_agrees(path, entry):
    with open(path + ".expected.json") as f:
        exp = json.load(f)
    rows = exp["rows"]
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows})
        if "predict" in exp:
            assert status == 200, body
            assert _agree(body.get("predictions"), exp["predict"]), \
                (body.get("predictions"), exp["predict"])
            if "predict_proba" in exp:
                assert _agree(body.get("probabilities"), _nan(exp["predict_proba"])), \
                    (body.get("probabilities"), exp["predict_proba"])
        wanted = [m for m in V2_METHODS if m in exp]
        if not wanted:
            return
        name = entry["file"].rsplit(".", 1)[0]
        # the model is named after the file (without its extension)
        status, models = srv.request("GET", "/v1/models")
        assert status == 200, models
        name = models["models"][0]
        status, meta = srv.request("GET", "/v2/models/%s" % name)
        assert status == 200, meta
        req = {"inputs": _v2_inputs(meta, rows, exp.get("named", False)),
               "outputs": [{"name": m} for m in wanted]}
        status, body = srv.request("POST", "/v2/models/%s/infer" % name, req)
        assert status == 200, body
        got = {o["name"]: o for o in body["outputs"]}
        for m in wanted:
            want = np.asarray(_nan(exp[m]), dtype=float)
            g = np.asarray(_nan(got[m]["data"]), dtype=float)
            assert g.size == want.size, (m, got[m]["shape"], want.shape)
            assert np.all(np.isclose(g, want.ravel(), rtol=1e-9, atol=1e-12, equal_nan=True)), \
                (m, g[:8], want.ravel()[:8])


@pytest.mark.parametrize("entry", REFUSED, ids=[r["file"] for r in REFUSED])
def test_realworld_refused_naming(entry):
    p = run_check(os.path.join(CORPUS, entry["file"]))
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert entry["must_name"] in p.stderr, (entry["must_name"], p.stderr)


@pytest.mark.parametrize("name", sorted(SERVED_NOW))
def test_realworld_served_now_loads(name):
    p = run_check(os.path.join(CORPUS, name))
    assert p.returncode == 0, (SERVED_NOW[name], p.stderr)
