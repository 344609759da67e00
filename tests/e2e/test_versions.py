"""Files from every scikit-learn version a user is likely to have (issue 3,
"Versions").

- Models fitted on a DataFrame and saved by 1.2, 1.4 and 1.9 (the matrix
  fixtures) take rows of named columns over HTTP and answer what that
  version of scikit-learn recorded.
"""
import glob
import json
import os

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

from conftest import FIXTURES, Server, run_check

MATRIX = os.path.join(FIXTURES, "matrix")

# matrix cases fitted on a DataFrame, and where their column names come from
NAMED_CASES = {
    "pipeline_ct_names_ridge_diabetes": lambda: list(load_diabetes().feature_names),
}


def named_fixtures():
    return sorted(p for name in NAMED_CASES
                  for p in glob.glob(os.path.join(MATRIX, "*.*.*", name + ".json")))


def test_named_fixtures_cover_three_versions():
    versions = {os.path.basename(os.path.dirname(p)) for p in named_fixtures()}
    assert len(versions) >= 3, versions


@pytest.mark.parametrize("json_path", named_fixtures(),
                         ids=lambda p: "%s-%s" % (os.path.basename(os.path.dirname(p)),
                                                  os.path.basename(p)[:-5]))
def test_named_columns_from_each_version_agree_over_http(json_path):
    with open(json_path) as f:
        rec = json.load(f)
    names = NAMED_CASES[rec["name"]]()
    pkl = json_path[:-5] + ".pkl"
    p = run_check(pkl)
    assert p.returncode == 0, p.stderr
    assert "features:        " + ", ".join(names) in p.stdout
    want = rec["outputs"]["predict"]
    # keys in reverse order: the server must place them by name
    rows = [dict(reversed(list(zip(names, x)))) for x in rec["X"]]
    with Server(pkl) as s:
        status, body = s.request("POST", "/predict", {"instances": rows})
        assert status == 200, body
        assert np.allclose(body["predictions"], want, rtol=1e-9, atol=1e-12)
        status, body = s.request("POST", "/predict", {"features": rows[0]})
        assert status == 200, body
        assert np.allclose(body["prediction"], want[0], rtol=1e-9, atol=1e-12)
