"""Parity over the estimator x version matrix (issue 3).

Every fixture is a model file saved by some scikit-learn version, its input
rows and the outputs that version produced (tests/fixtures/matrix/make_matrix.py).
predictd's `eval` runs the same rows through the same loader and model core
as the server and must agree: labels identical, numbers within 1e-9 relative
or 1e-12 absolute.

Two sources of fixtures:
- committed ones, tests/fixtures/matrix/<sklearn version>/, one folder per
  version that wrote them (1.2 from bookworm, 1.4 from trixie, 1.9 from sid);
- live ones, made at test time by the installed scikit-learn.

With PREDICTD_MATRIX_REPORT=FILE each result is appended to FILE as a JSON
line {estimator, method, version, passed}; tests/matrix_table.py turns that
into the README's support table.
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import BIN, FIXTURES, HARNESS_ENV

MATRIX = os.path.join(FIXTURES, "matrix")
REPORT = HARNESS_ENV.get("PREDICTD_MATRIX_REPORT")


def committed_cases():
    return sorted(glob.glob(os.path.join(MATRIX, "*.*.*", "*.json")))


@pytest.fixture(scope="session")
def live_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("matrix")
    subprocess.run(["/usr/bin/python3", os.path.join(MATRIX, "make_matrix.py"), str(out)],
                   check=True, capture_output=True, timeout=600)
    (version,) = os.listdir(out)
    return os.path.join(out, version)


def live_names():
    sys.path.insert(0, MATRIX)
    try:
        import make_matrix
        return [c["name"] for c in make_matrix.load_cases()]
    finally:
        sys.path.pop(0)


def run_eval(model_path, X):
    p = subprocess.run([BIN, "eval", model_path], input=json.dumps({"instances": X}),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def same_numbers(got, want, row_atol=None):
    try:
        g = np.array(got, dtype=float)
        w = np.array(want, dtype=float)
    except ValueError:
        # a ragged list: one matrix per output of a multi-output classifier
        return (isinstance(got, list) and isinstance(want, list) and len(got) == len(want)
                and all(same_numbers(a, b) for a, b in zip(got, want)))
    if g.shape != w.shape:
        return False
    atol = 1e-12
    if row_atol is not None:
        # rows where scikit-learn's own number is BLAS rounding (see
        # blas_atol in make_matrix.py): within the bound of that rounding
        atol = np.maximum(np.array(row_atol, dtype=float).reshape((-1,) + (1,) * (g.ndim - 1)),
                          1e-12)
    return bool(np.all(np.isclose(g, w, rtol=1e-9, atol=atol) | (np.isnan(g) & np.isnan(w))))


def same_labels(got, want):
    """Equal, and of the same JSON types all the way down (1 == True and
    1 == 1.0 in Python, but not as labels)."""
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same_labels(a, b) for a, b in zip(got, want)))
    return type(got) is type(want) and got == want


def check_record(json_path):
    with open(json_path) as f:
        rec = json.load(f)
    got = run_eval(json_path[:-5] + ".pkl", rec["X"])
    failures = []
    for method, want in rec["outputs"].items():
        ok = method in got
        if ok and method == "predict" and rec["kind"] == "classifier":
            ok = same_labels(got[method], want)
        elif ok:
            ok = same_numbers(got[method], want, rec.get("blas_atol", {}).get(method))
        if REPORT:
            with open(REPORT, "a") as f:
                f.write(json.dumps({"estimator": rec["estimator"], "method": method,
                                    "version": rec["sklearn_version"], "passed": ok,
                                    "case": rec["name"]}) + "\n")
        if not ok:
            failures.append(method)
    assert not failures, "%s (sklearn %s): %s differ from scikit-learn" % (
        rec["name"], rec["sklearn_version"], ", ".join(failures))


@pytest.mark.parametrize("json_path", committed_cases(),
                         ids=lambda p: "%s-%s" % (os.path.basename(os.path.dirname(p)),
                                                  os.path.basename(p)[:-5])
                         if isinstance(p, str) else None)
def test_matrix_committed_fixture_agrees(json_path):
    check_record(json_path)


@pytest.mark.parametrize("name", live_names())
def test_matrix_live_agrees(name, live_dir):
    path = os.path.join(live_dir, name + ".json")
    if not os.path.exists(path):
        pytest.skip("the installed scikit-learn cannot build %s" % name)
    check_record(path)
