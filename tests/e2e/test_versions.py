"""Files from every scikit-learn version a user is likely to have (issue 3,
"Versions").

- Models fitted on a DataFrame and saved by 1.2, 1.4 and 1.9 (the matrix
  fixtures) take rows of named columns over HTTP and answer what that
  version of scikit-learn recorded.
- Files older than 1.0: tests/fixtures/matrix/0.23.2/ (bullseye's
  scikit-learn) go through test_matrix.py like every version. Here: the
  same kind of files pickled under the public module paths of scikit-learn
  before 0.22 agree with scikit-learn too, and what predictd refuses in
  them says which version wrote the file and what is missing
  (tests/fixtures/legacy/, written by make_legacy.py).
"""
import glob
import json
import os

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from conftest import FIXTURES, Server, run_check
from test_matrix import check_record

MATRIX = os.path.join(FIXTURES, "matrix")
LEGACY = os.path.join(FIXTURES, "legacy")

# matrix cases fitted on a DataFrame, and where their column names come from
NAMED_CASES = {
    "pipeline_ct_names_ridge_diabetes": lambda: list(load_diabetes().feature_names),
    "logreg_frame_iris": lambda: list(load_iris().feature_names),
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
        status1, body1 = s.request("POST", "/predict", {"features": rows[0]})
    assert status1 == 200, body1
    if rec["kind"] == "classifier":
        assert body["predictions"] == want and body1["prediction"] == want[0]
        assert np.allclose(body["probabilities"], rec["outputs"]["predict_proba"],
                           rtol=1e-9, atol=1e-12)
    else:
        assert np.allclose(body["predictions"], want, rtol=1e-9, atol=1e-12)
        assert np.allclose(body1["prediction"], want[0], rtol=1e-9, atol=1e-12)


def test_old_files_are_in_the_matrix():
    old = glob.glob(os.path.join(MATRIX, "0.*", "*.json"))
    assert len(old) >= 100, len(old)


def public_path_cases():
    return sorted(glob.glob(os.path.join(LEGACY, "*", "public", "*.json")))


def test_public_path_cases_exist():
    assert len(public_path_cases()) >= 30


@pytest.mark.parametrize("json_path", public_path_cases(),
                         ids=lambda p: os.path.basename(p)[:-5])
def test_pre_022_module_paths_agree(json_path):
    check_record(json_path)


@pytest.mark.parametrize("name", ["hgb_iris", "hgb_iris_p2"])
def test_old_hist_gradient_boosting_agrees(name):
    """0.23's HistGradientBoosting (loss_ of _hist_gradient_boosting.loss,
    nodes without categorical fields), at pickle protocols 4 and 2."""
    check_record(os.path.join(LEGACY, "0.23.2", name + ".json"))


def test_old_file_refused_at_load_names_its_version_and_the_gap():
    path = os.path.join(LEGACY, "0.23.2", "dbscan_iris.pkl")
    p = run_check(path)
    assert p.returncode == 1, p.stdout
    # what is missing: the class predictd does not serve
    assert "refused global sklearn.cluster._dbscan.DBSCAN" in p.stderr, p.stderr
    assert "written by scikit-learn 0.23.2" in p.stderr, p.stderr
    s = Server(path, wait_ready=False)
    try:
        assert s.proc.wait(timeout=30) == 1
        s.stop()
        err = "".join(s.stderr_lines)
        assert "written by scikit-learn 0.23.2" in err, err
    finally:
        s.stop()


def test_current_file_refusal_names_no_old_version(tmp_path):
    from sklearn.cluster import DBSCAN
    import pickle
    X, _ = load_iris(return_X_y=True)
    path = tmp_path / "dbscan.pkl"
    with open(path, "wb") as f:
        pickle.dump(DBSCAN(eps=0.5).fit(X), f)
    p = run_check(str(path))
    assert p.returncode == 1 and "DBSCAN" in p.stderr, p.stderr
    assert "written by scikit-learn" not in p.stderr, p.stderr


def test_old_brute_knn_refuses_a_row_on_a_training_sample():
    """0.23's brute-force euclidean distance to a training sample is BLAS
    rounding residue, and so is the distance weight built on it: predictd
    refuses that row rather than guess, and serves rows away from samples
    (the matrix fixture holds only those)."""
    path = os.path.join(MATRIX, "0.23.2", "knn_iris_distance_brute_euclidean.pkl")
    with open(path[:-4] + ".json") as f:
        rec = json.load(f)
    X, _ = load_iris(return_X_y=True)
    with Server(path) as s:
        status, body = s.request("POST", "/predict", {"instances": rec["X"][:3]})
        assert status == 200, body
        assert body["predictions"] == rec["outputs"]["predict"][:3]
        status, body = s.request("POST", "/predict", {"features": X[10].tolist()})
        assert status == 400, body
        assert "training sample" in body["error"] and "before 1.0" in body["error"], body
