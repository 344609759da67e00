"""Seed parity: the real predictd serves every model the seed project (and a
few harder shapes) produced, in every container users write, and answers
exactly what scikit-learn answers.

tests/fixtures/make_seed_models.py generates the files once per session into
a temporary directory, with scikit-learn's answers beside each file. Every
file gets:
  <name>_parity  one server; POST /predict for each row and once as a batch;
                 labels identical (type included), probabilities within 1e-12
                 of scikit-learn, which also re-loads the file here and
                 predicts live;
  <name>_check   `predictd check FILE` exits 0 and names the estimators,
                 n_features, the recorded scikit-learn version and the file's
                 SHA-256 (and the metadata wrapper's values where present).

Run with Debian's interpreter: /usr/bin/python3 -m pytest tests/e2e/test_seed_parity.py
"""
import gzip
import hashlib
import importlib.util
import json
import math
import os
import pickle
import re
import subprocess
import sys
import zlib

import joblib
import numpy as np
import pytest

from conftest import BIN, FIXTURES, run_check

PROBA_ATOL = 1e-12
MAX_REPORTED = 8  # mismatches listed in a failure message

GENERATOR = os.path.join(FIXTURES, "make_seed_models.py")


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_seed_models", GENERATOR)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Names are known at collection time without training anything.
NAMES = _load_generator().fixture_names()


@pytest.fixture(scope="session")
def seed_models(tmp_path_factory):
    """Runs the generator into a fresh directory; returns (dir, {name: entry})."""
    outdir = str(tmp_path_factory.mktemp("seed_models"))
    proc = subprocess.run([sys.executable, GENERATOR, outdir],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, "make_seed_models.py failed:\n%s%s" % (proc.stdout, proc.stderr)
    with open(os.path.join(outdir, "manifest.json")) as f:
        manifest = json.load(f)
    return outdir, {e["name"]: e for e in manifest["files"]}


@pytest.fixture
def predictd_binary():
    if not os.access(BIN, os.X_OK):
        pytest.fail("predictd binary not found at %s: build it (meson setup build && "
                    "ninja -C build) or set PREDICTD_BIN" % BIN)
    return BIN


def _fixture(seed_models, name):
    outdir, entries = seed_models
    entry = entries[name]
    with open(os.path.join(outdir, entry["expected"])) as f:
        expected = json.load(f)
    return os.path.join(outdir, entry["file"]), entry, expected


def _load_trusted(path, entry):
    """Our own generated file: loading it with Python is safe here."""
    if entry["format"] == "joblib":
        obj = joblib.load(path)
    else:
        with open(path, "rb") as f:
            obj = pickle.load(f)
    if isinstance(obj, dict):
        return obj["model"], obj
    return obj, None


def _same_label(got, want):
    # JSON keeps the type: int labels must come back as ints (not 1.0, not
    # "1"), string labels as strings. bool is not an acceptable int here.
    return type(got) is type(want) and got == want


def _proba_problem(got, want):
    """None if got matches want within PROBA_ATOL, else a short reason."""
    if not isinstance(got, list):
        return "probabilities is %r, expected a list" % (type(got).__name__,)
    if len(got) != len(want):
        return "%d probabilities, expected %d" % (len(got), len(want))
    for j, (g, w) in enumerate(zip(got, want)):
        if isinstance(g, bool) or not isinstance(g, (int, float)):
            return "probabilities[%d] is %r, not a number" % (j, g)
        if not math.isfinite(g) or abs(g - w) > PROBA_ATOL:
            return "probabilities[%d] = %r, expected %r (diff %.3g)" % (j, g, w, abs(g - w))
    return None


def _fail_if(problems, what):
    if problems:
        shown = "\n  ".join(problems[:MAX_REPORTED])
        more = "" if len(problems) <= MAX_REPORTED else "\n  ... and %d more" % (
            len(problems) - MAX_REPORTED)
        pytest.fail("%s: %d mismatches\n  %s%s" % (what, len(problems), shown, more))


@pytest.mark.parametrize("name", NAMES, ids=[n + "_parity" for n in NAMES])
def test_parity(name, seed_models, predictd_binary, server_factory):
    path, entry, expected = _fixture(seed_models, name)
    rows = expected["X"]
    want_labels = expected["prediction"]
    want_proba = expected["probabilities"]
    assert len(rows) == entry["n_rows"] and len(want_labels) == len(rows)

    # scikit-learn, live, on the very file the server reads: the JSON must
    # be what it answers now (same library, so bit-identical).
    model, _ = _load_trusted(path, entry)
    X = np.array(rows, dtype=np.float64)
    live_labels = [v.item() if isinstance(v, np.generic) else v for v in model.predict(X).tolist()]
    live_proba = model.predict_proba(X).tolist() if want_proba is not None else None
    assert [type(v) for v in live_labels] == [type(v) for v in want_labels]
    assert live_labels == want_labels, "scikit-learn disagrees with the generated JSON"
    assert live_proba == want_proba, "scikit-learn disagrees with the generated JSON"
    assert [v.item() if isinstance(v, np.generic) else v
            for v in model.classes_.tolist()] == expected["classes"]

    server = server_factory(path, drain_output=True)
    problems = []

    # One request per row.
    for i, row in enumerate(rows):
        status, body = server.request("POST", "/predict", {"features": row})
        if status != 200 or not isinstance(body, dict):
            problems.append("row %d: HTTP %s %r" % (i, status, body))
            if len(problems) >= MAX_REPORTED:
                break  # the server is plainly broken for this file; stop early
            continue
        if "prediction" not in body:
            problems.append("row %d: no 'prediction' in %r" % (i, body))
            continue
        if not _same_label(body["prediction"], live_labels[i]):
            problems.append("row %d %r: prediction %r (%s), expected %r (%s)" % (
                i, row, body["prediction"], type(body["prediction"]).__name__,
                live_labels[i], type(live_labels[i]).__name__))
        if live_proba is not None:
            why = _proba_problem(body.get("probabilities"), live_proba[i])
            if why:
                problems.append("row %d %r: %s" % (i, row, why))

    # All rows in one batch.
    status, body = server.request("POST", "/predict", {"instances": rows})
    if status != 200 or not isinstance(body, dict):
        problems.append("batch: HTTP %s %r" % (status, body))
    elif not isinstance(body.get("predictions"), list) or len(body["predictions"]) != len(rows):
        problems.append("batch: 'predictions' is not a list of %d: %r" % (
            len(rows), str(body)[:300]))
    else:
        for i, got in enumerate(body["predictions"]):
            if not _same_label(got, live_labels[i]):
                problems.append("batch row %d: prediction %r (%s), expected %r (%s)" % (
                    i, got, type(got).__name__, live_labels[i], type(live_labels[i]).__name__))
        if live_proba is not None:
            probas = body.get("probabilities")
            if not isinstance(probas, list) or len(probas) != len(rows):
                problems.append("batch: 'probabilities' is not a list of %d rows" % len(rows))
            else:
                for i, got in enumerate(probas):
                    why = _proba_problem(got, live_proba[i])
                    if why:
                        problems.append("batch row %d: %s" % (i, why))

    _fail_if(problems, "%s (%s)" % (name, entry["file"]))
    assert server.proc.poll() is None, "predictd exited during the test"


def _recorded_sklearn_versions(path):
    """The _sklearn_version values the estimators' states carry in the file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    elif data[:1] == b"\x78":
        data = zlib.decompress(data)
    found = re.findall(rb"_sklearn_version[\s\S]{1,16}?(\d+\.\d+(?:\.\d+)?(?:\.?(?:post|rc|dev)\d+)?)",
                       data)
    assert found, "no _sklearn_version in %s" % path
    return {v.decode() for v in found}


def _numbers(text):
    return [float(m) for m in re.findall(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]


@pytest.mark.parametrize("name", NAMES, ids=[n + "_check" for n in NAMES])
def test_check(name, seed_models, predictd_binary):
    path, entry, _ = _fixture(seed_models, name)
    model, wrapper = _load_trusted(path, entry)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == entry["sha256"]

    proc = run_check(path)
    out = proc.stdout
    context = "predictd check %s exited %s\nstdout:\n%s\nstderr:\n%s" % (
        entry["file"], proc.returncode, out, proc.stderr)
    assert proc.returncode == 0, context

    for cls in entry["estimators"]:
        assert cls in out, "estimator %s not named\n%s" % (cls, context)
    n = entry["n_features"]
    assert n == model.n_features_in_
    assert re.search(r"n_features\w*\s*[:=]?\s*%d\b" % n, out), \
        "n_features %d not shown\n%s" % (n, context)
    # The version that saved the file (1.2.1 with Debian bookworm's sklearn);
    # unpickling drops it from the estimator, so read it from the bytes.
    recorded = _recorded_sklearn_versions(path)
    assert len(recorded) == 1, "file records sklearn versions %r" % (recorded,)
    recorded = recorded.pop()
    assert recorded in out, "recorded sklearn version %s not shown\n%s" % (recorded, context)
    assert digest in out.lower(), "SHA-256 %s not shown\n%s" % (digest, context)

    if wrapper is not None:
        assert re.search(r"\bversion\b[^\n]*\b1\.0\b", out), \
            "wrapper version 1.0 not shown\n%s" % context
        acc = float(wrapper["accuracy"])
        acc_lines = [l for l in out.splitlines() if "accuracy" in l]
        assert acc_lines, "wrapper accuracy not shown\n%s" % context
        nums = _numbers("\n".join(acc_lines))
        assert any(abs(x - acc) <= 1e-6 or abs(x - 100 * acc) <= 1e-4 for x in nums), \
            "wrapper accuracy %r not shown\n%s" % (acc, context)
        assert "features" in out, "wrapper features not shown\n%s" % context
        first = str(wrapper["features"][0])
        assert first in out, "wrapper feature %r not shown\n%s" % (first, context)


def test_manifest_lists_every_fixture(seed_models):
    """The generator wrote what the tests were parametrized over."""
    outdir, entries = seed_models
    assert list(entries) == NAMES
    for name, e in entries.items():
        assert os.path.isfile(os.path.join(outdir, e["file"])), name
        assert os.path.isfile(os.path.join(outdir, e["expected"])), name
        assert e["model"] and e["n_rows"] > 0
    # Threshold edge rows really are present where promised.
    assert entries["extra_iris_dtree"]["n_edge_rows"] > 0
    assert entries["extra_iris_rf_edges"]["n_edge_rows"] > 0
