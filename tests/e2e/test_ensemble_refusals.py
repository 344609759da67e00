"""What the ensemble family refuses, and that it says what it refused.

Ensembles are served from their fitted parts only; a file whose parts
disagree with each other (weights for other members, a bagging member
reading a feature X does not have, a calibrator that does not clip, a
stack method scikit-learn never records) is refused with the reason, and
a member that cannot be served is named with the path to it.
"""
import json
import pickle
import subprocess

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import (BaggingClassifier, GradientBoostingRegressor, StackingClassifier,
                              VotingClassifier, VotingRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from conftest import BIN


def eval_file(path, width=4):
    return subprocess.run([BIN, "eval", str(path)],
                          input=json.dumps({"instances": [[0.5] * width]}),
                          capture_output=True, text=True, timeout=60)


def dump(tmp_path, model):
    path = tmp_path / "model.pkl"
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return path


def _iris():
    return load_iris(return_X_y=True)


def _voting():
    X, y = _iris()
    return VotingClassifier([("lr", LogisticRegression(max_iter=500)),
                             ("dt", DecisionTreeClassifier(max_depth=2))]).fit(X, y)


def test_voting_served_before_mutation(tmp_path):
    p = eval_file(dump(tmp_path, _voting()))
    assert p.returncode == 0, p.stderr
    assert "transform" in json.loads(p.stdout)


def test_voting_weights_for_other_members_refused(tmp_path):
    m = _voting()
    m.weights = [1.0, 2.0, 3.0]
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "expected 2 weights, found 3" in p.stderr


def test_voting_unservable_member_named_with_its_path(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    gb = GradientBoostingRegressor(n_estimators=2, max_depth=1,
                                   init=DecisionTreeRegressor(max_depth=1))
    m = VotingRegressor([("ridge", Ridge()), ("gb", gb)]).fit(X, y)
    p = eval_file(dump(tmp_path, m), width=10)
    assert p.returncode != 0
    assert "VotingRegressor.estimators_[1]" in p.stderr
    assert "custom init estimator" in p.stderr


def test_stacking_unknown_stack_method_refused_by_name(tmp_path):
    X, y = _iris()
    m = StackingClassifier([("dt", DecisionTreeClassifier(max_depth=2))], cv=3).fit(X, y)
    m.stack_method_ = ["predict_log_proba"]
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "found predict_log_proba" in p.stderr


def test_isotonic_calibrator_that_does_not_clip_refused(tmp_path):
    X, y = _iris()
    m = CalibratedClassifierCV(DecisionTreeClassifier(max_depth=2), method="isotonic",
                               cv=2).fit(X, y)
    m.calibrated_classifiers_[0].calibrators[0].out_of_bounds = "nan"
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "expected 'clip'" in p.stderr and "found nan" in p.stderr


def test_bagging_feature_out_of_range_refused(tmp_path):
    X, y = _iris()
    m = BaggingClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=2,
                          random_state=0).fit(X, y)
    m.estimators_features_[1] = np.array([0, 1, 2, 9])
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "estimators_features_[1] names feature 9 of 4" in p.stderr


def test_bagging_refit_count_mismatch_refused(tmp_path):
    X, y = _iris()
    m = BaggingClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=2,
                          random_state=0).fit(X, y)
    m.n_estimators = 5
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "expected n_estimators (5) fitted members" in p.stderr


def test_soft_voting_unflattened_transform_not_offered(tmp_path):
    """flatten_transform=False makes transform 3-D, which predictd does
    not return: predict and predict_proba only."""
    X, y = _iris()
    m = VotingClassifier([("lr", LogisticRegression(max_iter=500)),
                          ("dt", DecisionTreeClassifier(max_depth=2))],
                         voting="soft", flatten_transform=False).fit(X, y)
    p = eval_file(dump(tmp_path, m))
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert "transform" not in got
    assert np.allclose(got["predict_proba"], m.predict_proba([[0.5] * 4]), rtol=1e-12)
