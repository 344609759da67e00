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


def test_outlier_predict_labels_are_ints_over_predict(tmp_path):
    """/predict answers an outlier detector's -1 and 1 as JSON ints, as
    scikit-learn's predict returns them (not -1.0 and 1.0)."""
    import json as _json
    import numpy as np
    from sklearn.ensemble import IsolationForest
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import OneClassSVM
    from conftest import Server, save_model
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    rows = np.vstack([X[:5], [[8.0, 8.0, 8.0]]])
    for m in (IsolationForest(n_estimators=20, random_state=0).fit(X),
              make_pipeline(StandardScaler(), OneClassSVM(nu=0.1)).fit(X)):
        want = m.predict(rows).tolist()
        assert -1 in want and 1 in want
        with Server(save_model(m, tmp_path)) as srv:
            status, raw = srv.request("POST", "/predict", {"instances": rows.tolist()},
                                      raw=True)
            assert status == 200, raw
            got = _json.loads(raw)["predictions"]
            assert got == want and all(type(v) is int for v in got), raw
            status, raw = srv.request("POST", "/predict", {"features": rows[-1].tolist()},
                                      raw=True)
            assert status == 200 and _json.loads(raw)["prediction"] == want[-1], raw
            assert b"-1.0" not in raw, raw
