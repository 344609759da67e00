"""IsolationForest refusals (issue 3, hist family). Parity of predict,
decision_function and score_samples with scikit-learn 1.2, 1.4 and 1.9 is
checked by the matrix (tests/fixtures/matrix/cases_outliers.py); here:

- NaN rows are refused in files from before 1.9, as scikit-learn refused
  them (1.9 files route them by missing_go_to_left and are in the matrix);
- a file whose member trees point outside X is refused at load time."""
import json
import os
import pickle
import subprocess

from conftest import BIN, FIXTURES

MATRIX_12 = os.path.join(FIXTURES, "matrix", "1.2.1")


def run_eval(model_path, X):
    return subprocess.run([BIN, "eval", model_path], input=json.dumps({"instances": X}),
                          capture_output=True, text=True, timeout=120)


def test_iforest_nan_row_is_refused():
    p = run_eval(os.path.join(MATRIX_12, "iforest_iris.pkl"), [[None, 1.0, 2.0, 3.0]])
    assert p.returncode != 0
    assert "NaN" in p.stderr


def test_iforest_feature_outside_x_is_refused(tmp_path):
    with open(os.path.join(MATRIX_12, "iforest_diabetes_subfeatures.pkl"), "rb") as f:
        m = pickle.load(f)
    m.estimators_features_[1][0] = 99
    bad = tmp_path / "bad.pkl"
    with open(bad, "wb") as f:
        pickle.dump(m, f)
    p = run_eval(str(bad), [[0.0] * 10])
    assert p.returncode != 0
    assert "feature 99" in p.stderr
