"""What the encoders refuse, and that they say why.

Numeric categories are served; a value that is none of them is an error
naming the column when handle_unknown='error'. String categories, NaN
categories, and drop combined with infrequent categories are refused at
load time.
"""
import json

import numpy as np
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from test_compose_columns import dump, eval_file

CODES = np.array([[0, 1], [10, 2], [20, 1], [0, 2], [10, 1]] * 4)


def test_unknown_category_error_names_column(tmp_path):
    enc = OneHotEncoder(sparse_output=False).fit(CODES)
    p = eval_file(dump(tmp_path, enc), [[0, 1], [10, 7]])
    assert p.returncode != 0
    assert "column 1" in p.stderr and "found 7" in p.stderr
    assert "handle_unknown='error'" in p.stderr


def test_unknown_category_ordinal_error(tmp_path):
    enc = OrdinalEncoder().fit(CODES.astype(float))
    p = eval_file(dump(tmp_path, enc), [[5, 1]])
    assert p.returncode != 0
    assert "OrdinalEncoder" in p.stderr and "column 0" in p.stderr


def test_nan_input_is_unknown(tmp_path):
    """null arrives as NaN, which is no fitted category: as scikit-learn."""
    enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-3).fit(CODES)
    p = eval_file(dump(tmp_path, enc), [[None, 1]])
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)["transform"]
    assert got == enc.transform(np.array([[np.nan, 1]])).tolist() == [[-3.0, 0.0]]


def test_string_categories_refused(tmp_path):
    enc = OneHotEncoder().fit(np.array([["a"], ["b"]], dtype=object))
    p = eval_file(dump(tmp_path, enc), [[0]])
    assert p.returncode != 0
    assert "string categories are not supported yet" in p.stderr


def test_drop_with_infrequent_categories_refused(tmp_path):
    X = np.array([[0]] * 10 + [[1]] * 10 + [[2]])
    enc = OneHotEncoder(min_frequency=2, drop="first", sparse_output=False).fit(X)
    p = eval_file(dump(tmp_path, enc), [[0]])
    assert p.returncode != 0
    assert "drop together with infrequent categories is not supported yet" in p.stderr


def test_nan_category_refused(tmp_path):
    enc = OrdinalEncoder().fit(np.array([[0.0], [np.nan], [1.0]]))
    p = eval_file(dump(tmp_path, enc), [[0]])
    assert p.returncode != 0
    assert "missing-value categories are not supported" in p.stderr
