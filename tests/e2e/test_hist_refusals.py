"""What the hist family refuses, and that it says what it refused.

A HistGradientBoosting file controls every index the predictor follows:
children, features, bitset rows, and which features are categorical. Each
is checked at load time so that a hostile file is refused rather than
walked outside its arrays. Files are made here with the installed
scikit-learn and then edited the way an attacker would."""
import json
import subprocess

import numpy as np
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import (HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor)

from conftest import BIN
from test_tree_refusals import dump


def eval_file(path, width):
    return subprocess.run([BIN, "eval", str(path)],
                          input=json.dumps({"instances": [[0.0] * width]}),
                          capture_output=True, text=True, timeout=60)


def regressor():
    X, y = load_diabetes(return_X_y=True)
    return HistGradientBoostingRegressor(max_iter=2, max_leaf_nodes=4,
                                         random_state=0).fit(X, y)


def categorical():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randint(0, 5, 300), rng.normal(size=300)]).astype(float)
    y = X[:, 0] % 2 + X[:, 1]
    return HistGradientBoostingRegressor(max_iter=2, max_leaf_nodes=4,
                                         categorical_features=[0],
                                         random_state=0).fit(X, y)


def first_split(nodes):
    return int(np.flatnonzero(~nodes["is_leaf"].astype(bool))[0])


def test_hgb_served_untouched(tmp_path):
    p = eval_file(dump(tmp_path, regressor()), 10)
    assert p.returncode == 0, p.stderr


def test_hgb_child_pointing_back_refused(tmp_path):
    m = regressor()
    nodes = m._predictors[1][0].nodes
    i = first_split(nodes)
    nodes["left"][i] = i
    p = eval_file(dump(tmp_path, m), 10)
    assert p.returncode != 0
    assert "predictor 1, node %d: children" % i in p.stderr


def test_hgb_feature_outside_x_refused(tmp_path):
    m = regressor()
    nodes = m._predictors[0][0].nodes
    nodes["feature_idx"][first_split(nodes)] = 10
    p = eval_file(dump(tmp_path, m), 10)
    assert p.returncode != 0
    assert "feature 10 outside" in p.stderr


def test_hgb_nan_leaf_refused(tmp_path):
    m = regressor()
    nodes = m._predictors[0][0].nodes
    nodes["value"][int(np.flatnonzero(nodes["is_leaf"])[0])] = np.nan
    p = eval_file(dump(tmp_path, m), 10)
    assert p.returncode != 0
    assert "leaf value is not finite" in p.stderr


def categorical_nodes_refused(tmp_path, field, value, want):
    """Sets field to value in every categorical split; must be refused."""
    m = categorical()
    for it in m._predictors:
        for pred in it:
            n = pred.nodes
            n[field][n["is_categorical"].astype(bool)] = value
    p = eval_file(dump(tmp_path, m), 2)
    assert p.returncode != 0
    assert want in p.stderr


def test_hgb_categorical_split_on_numerical_feature_refused(tmp_path):
    categorical_nodes_refused(tmp_path, "feature_idx", 1, "is not categorical")


def test_hgb_bitset_row_outside_refused(tmp_path):
    categorical_nodes_refused(tmp_path, "bitset_idx", 7, "bitset 7 outside")


def test_hgb_category_out_of_byte_range_refused(tmp_path):
    m = categorical()
    m._bin_mapper.bin_thresholds_[0] = np.array([0.0, 1.0, 256.0])
    p = eval_file(dump(tmp_path, m), 2)
    assert p.returncode != 0
    assert "not an integer in [0, 255]" in p.stderr


def test_hgb_classifier_loss_on_regressor_refused(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = HistGradientBoostingClassifier(max_iter=1, random_state=0).fit(X, y)
    m = regressor()
    m._loss = clf._loss
    p = eval_file(dump(tmp_path, m), 10)
    assert p.returncode != 0
    assert "loss does not belong" in p.stderr


def test_hgb_predictor_rows_of_wrong_width_refused(tmp_path):
    X, y = load_iris(return_X_y=True)
    m = HistGradientBoostingClassifier(max_iter=2, random_state=0).fit(X, y)
    m._predictors[1] = m._predictors[1][:2]
    p = eval_file(dump(tmp_path, m), 4)
    assert p.returncode != 0
    assert "_predictors[1]: expected a list of 3" in p.stderr
