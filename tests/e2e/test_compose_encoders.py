"""What the encoders refuse, and that they say why.

A value that is none of the categories is an error naming the column
when handle_unknown='error' (numbers and strings never match each other);
a NaN category matches null; drop combined with infrequent categories
drops a column counted after grouping, as scikit-learn does. Parity over string categories is in the matrix
(tests/fixtures/matrix/cases_strings.py).
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


def test_number_in_string_column_is_unknown(tmp_path):
    """A number is none of a string feature's categories, even when it
    equals a string's internal code."""
    enc = OneHotEncoder().fit(np.array([["a"], ["b"]], dtype=object))
    p = eval_file(dump(tmp_path, enc), [[0]])
    assert p.returncode != 0
    assert "found the number 0" in p.stderr and "column 0" in p.stderr


def test_unknown_string_error_names_column(tmp_path):
    enc = OrdinalEncoder().fit(np.array([["a", "x"], ["b", "y"]], dtype=object))
    p = eval_file(dump(tmp_path, enc), [["a", "x"], ["b", "z"]])
    assert p.returncode != 0
    assert "row 1, column 1" in p.stderr and "an unknown string" in p.stderr


def test_drop_with_infrequent_categories_agrees(tmp_path):
    """Category 0 is rare, so drop='first' drops category 1 (grouped code
    0); the second feature is one infrequent group, dropped entirely."""
    col = [0] + [1] * 10 + [2] * 10 + [3]
    X = np.column_stack([col, np.arange(len(col))])  # every value of the second is rare
    enc = OneHotEncoder(min_frequency=2, drop="first", sparse_output=False,
                        handle_unknown="infrequent_if_exist").fit(X[:, [0]])
    enc2 = OneHotEncoder(min_frequency=2, drop="first", sparse_output=False,
                         handle_unknown="infrequent_if_exist").fit(X)
    rows = [[0, 5], [1, 6], [2, 7], [3, 8], [9, 99]]
    for e, r in ((enc, [x[:1] for x in rows]), (enc2, rows)):
        p = eval_file(dump(tmp_path, e), r)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["transform"] == e.transform(np.array(r)).tolist()


def test_nan_category_matches_null(tmp_path):
    """NaN seen in fit is a category; null (NaN) finds it, and the ordinal
    encoder writes encoded_missing_value for it, as scikit-learn does."""
    enc = OrdinalEncoder(encoded_missing_value=-7).fit(np.array([[0.0], [np.nan], [1.0]]))
    p = eval_file(dump(tmp_path, enc), [[None], [1], [0]])
    assert p.returncode == 0, p.stderr
    want = enc.transform(np.array([[np.nan], [1.0], [0.0]])).tolist()
    assert json.loads(p.stdout)["transform"] == want


def test_imputer_with_another_marker_refuses_nan(tmp_path):
    """scikit-learn refuses NaN input when missing_values is not NaN."""
    import pytest
    from sklearn.impute import SimpleImputer
    imp = SimpleImputer(missing_values="", strategy="most_frequent").fit(
        np.array([["a"], [""], ["a"], ["b"]], dtype=object))
    with pytest.raises(ValueError):
        imp.transform(np.array([[np.nan]], dtype=object))
    p = eval_file(dump(tmp_path, imp), [["b"], [None]])
    assert p.returncode != 0
    assert "row 1, column 0" in p.stderr and "marker is not NaN" in p.stderr, p.stderr


def test_none_category_grouped_as_infrequent_agrees(tmp_path):
    """Python's None (not NaN) as a rare category of an object column is
    grouped with the other infrequent ones; no JSON value is None, so rows
    hold strings, an unknown one and null (NaN, unknown here too)."""
    col = np.array(["a"] * 6 + ["b"] * 5 + [None, "c"], dtype=object)[:, None]
    enc = OneHotEncoder(min_frequency=2, drop="first", sparse_output=False,
                        handle_unknown="infrequent_if_exist").fit(col)
    assert enc.infrequent_categories_[0].tolist() == ["c", None]
    rows = [["a"], ["b"], ["c"], ["zz"], [None]]
    p = eval_file(dump(tmp_path, enc), rows)
    assert p.returncode == 0, p.stderr
    want = enc.transform(np.array([["a"], ["b"], ["c"], ["zz"], [np.nan]], dtype=object))
    assert json.loads(p.stdout)["transform"] == want.tolist()
