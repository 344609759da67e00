"""What TransformedTargetRegressor refuses, and that it says why.

Only the inverse of the target transformers predictd knows is served
(StandardScaler, MinMaxScaler, none); a func/inverse_func pair is Python
code and is refused without being called.
"""
import json

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.preprocessing import RobustScaler, StandardScaler

from test_compose_columns import dump, eval_file


def _xy():
    return load_diabetes(return_X_y=True)


def test_target_standard_scaler_matches_sklearn(tmp_path):
    X, y = _xy()
    ttr = TransformedTargetRegressor(Ridge(), transformer=StandardScaler()).fit(X, y)
    p = eval_file(dump(tmp_path, ttr), X[:4].tolist())
    assert p.returncode == 0, p.stderr
    got = np.array(json.loads(p.stdout)["predict"], dtype=float).ravel()
    np.testing.assert_allclose(got, ttr.predict(X[:4]), rtol=1e-12)


def test_func_target_refused(tmp_path):
    X, y = _xy()
    ttr = TransformedTargetRegressor(Ridge(), func=np.log1p, inverse_func=np.expm1,
                                     check_inverse=False).fit(X, y)
    p = eval_file(dump(tmp_path, ttr), X[:1].tolist())
    assert p.returncode != 0
    assert "refused" in p.stderr and "numpy" in p.stderr


def test_func_target_refused_even_when_func_is_inert(tmp_path):
    """A func the reader can load (a string set by hand) is still refused, saying why."""
    X, y = _xy()
    ttr = TransformedTargetRegressor(Ridge()).fit(X, y)
    ttr.func = "log"
    p = eval_file(dump(tmp_path, ttr), X[:1].tolist())
    assert p.returncode != 0
    assert "Python code" in p.stderr


def test_other_target_transformer_refused(tmp_path):
    X, y = _xy()
    ttr = TransformedTargetRegressor(Ridge(), transformer=RobustScaler()).fit(X, y)
    p = eval_file(dump(tmp_path, ttr), X[:1].tolist())
    assert p.returncode != 0
    assert "expected StandardScaler, MinMaxScaler or no transformer" in p.stderr
    assert "RobustScaler" in p.stderr


def test_target_width_mismatch_refused(tmp_path):
    X, y = _xy()
    ttr = TransformedTargetRegressor(Ridge(), transformer=StandardScaler()).fit(X, y)
    ttr.transformer_.mean_ = np.array([1.0, 2.0])
    ttr.transformer_.scale_ = np.array([1.0, 2.0])
    p = eval_file(dump(tmp_path, ttr), X[:1].tolist())
    assert p.returncode != 0
    assert "2 columns but the regressor predicts 1 outputs" in p.stderr
