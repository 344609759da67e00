"""Hostile inputs aimed at string columns (review of issue 3's code).

Each file is a model scikit-learn fitted here, with one attribute then
changed to what no scikit-learn writes: string categories with a NUL
inside a 'U' array, numbers out of order after a string feature,
duplicated strings, mixed kinds, parts that read one column as strings
and as numbers. Each must be refused by `predictd check` with exit 1 and
a reason (a crash is exit -11, which a bare `returncode != 0` would let
pass). The HTTP side: a NUL in a request string (cJSON ends its strings
at the first NUL, so "a\\u0000b" would be read as "a") and a string cell
of 16 MiB."""
import os
import pickle
import subprocess

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from conftest import FIXTURES, Server, run_check

X2 = np.array([["a", 1.0], ["b", 2.0], ["a", 3.0], ["b", 5.0]], dtype=object)
Y = [1.0, 2.0, 3.0, 4.0]


def check_refused(tmp_path, model, *words, data=None):
    path = os.path.join(str(tmp_path), "model.pkl")
    with open(path, "wb") as f:
        f.write(data if data is not None else pickle.dumps(model))
    p = run_check(path)
    assert p.returncode == 1 and "cannot load" in p.stderr, (p.returncode, p.stdout, p.stderr)
    for w in words:
        assert w in p.stderr, (w, p.stderr)
    return p


def encoder_pipeline(encoder):
    return make_pipeline(encoder, LinearRegression()).fit(X2, Y)


@pytest.mark.parametrize("cls", [OneHotEncoder, OrdinalEncoder])
def test_unsorted_numbers_after_a_string_feature_refused(tmp_path, cls):
    """The string feature's sort set the create function's return code to
    0, so a later feature's refusal returned success with no model: a
    segfault before the fix."""
    m = encoder_pipeline(cls())
    m.steps[0][1].categories_[1] = np.array([3.0, 1.0, 2.0, 5.0])
    check_refused(tmp_path, m, "feature 1: expected finite categories in increasing order")


@pytest.mark.parametrize("kind", ["U", "O"])
def test_category_with_a_nul_inside_refused(tmp_path, kind):
    """'a\\0b' in a 'U' array was read up to its NUL, as 'a': a request
    "a" then matched a category scikit-learn would call unknown."""
    m = encoder_pipeline(OneHotEncoder())
    m.steps[0][1].categories_[0] = np.array(["a\x00b", "c"], dtype=kind if kind == "O" else None)
    assert m.steps[0][1].categories_[0].dtype.kind == kind
    check_refused(tmp_path, m, "categories_[0][0]", "NUL character")


def test_u_category_that_is_not_unicode_refused(tmp_path):
    m = encoder_pipeline(OneHotEncoder())
    cells = np.array(["ab", "cd"]).view(np.uint32).copy()
    cells[0] = 0xD800  # a lone surrogate
    m.steps[0][1].categories_[0] = cells.view("<U2")
    check_refused(tmp_path, m, "categories_[0][0] is not valid text")


def test_class_label_with_a_nul_inside_refused(tmp_path):
    """classes_ 'U' labels had the same truncation: 'a\\0b' and 'a' were
    two classes both answered as "a"."""
    m = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], ["a", "b", "a", "b"])
    m.classes_ = np.array(["a\x00b", "a"])
    check_refused(tmp_path, m, "classes_[0] is not valid text", "NUL character")


@pytest.mark.parametrize("cats,words", [
    (np.array(["a", "a"], dtype=object), ["a category is listed twice"]),
    (np.array(["a", 1.0], dtype=object), ["expected all strings or all numbers"]),
    (np.array([np.nan, "a"], dtype=object), ["only as the last category"]),
    (np.array([None, "a"], dtype=object), ["only as the last category"]),
    (np.array(["a", b"b"], dtype=object), ["expected a number or a string, found bytes"]),
])
def test_bad_string_categories_refused(tmp_path, cats, words):
    m = encoder_pipeline(OrdinalEncoder())
    m.steps[0][1].categories_[0] = cats
    check_refused(tmp_path, m, *words)


def test_drop_index_past_string_categories_refused(tmp_path):
    m = encoder_pipeline(OneHotEncoder(drop="first"))
    m.steps[0][1].drop_idx_ = np.array([5, 0], dtype=object)
    check_refused(tmp_path, m, "feature 0 drops column 5 of 2")


@pytest.mark.parametrize("col", [0, 1])
def test_column_read_as_strings_and_numbers_refused(tmp_path, col):
    """A ColumnTransformer inside a ColumnTransformer reads column 0 as
    strings and column 1 as numbers; an outer part made to read one of
    them the other way."""
    X3 = np.array([["a", 1.0, "x"], ["b", 2.0, "y"], ["a", 3.0, "x"], ["b", 5.0, "y"]],
                  dtype=object)
    inner = ColumnTransformer([("oh", OneHotEncoder(), [0]), ("sc", StandardScaler(), [1])])
    other = StandardScaler() if col == 0 else OrdinalEncoder()
    outer = ColumnTransformer([("in", inner, [0, 1]), ("o", other, [1] if col == 0 else [2])])
    m = make_pipeline(outer, LinearRegression()).fit(X3, Y)
    name, tr, _ = m.steps[0][1].transformers_[1]
    m.steps[0][1].transformers_[1] = (name, tr, [col])
    check_refused(tmp_path, m, "column %d is read as strings by one part and as numbers" % col)


@pytest.mark.parametrize("strings_first", [False, True])
def test_voting_members_reading_a_column_both_ways_refused(tmp_path, strings_first):
    """One member reads the columns as numbers (no kinds of its own), the
    other through an encoder of strings. Before the fix the ensemble took
    the string member's kinds whichever came first, and the numeric
    member computed on string cells (a 400 blaming an overflow)."""
    X = np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 3.0], [2.0, 5.0]])
    ests = [("lr", LinearRegression()),
            ("enc", make_pipeline(OrdinalEncoder(), LinearRegression()))]
    v = VotingRegressor(ests[::-1] if strings_first else ests).fit(X, Y)
    enc = [e for e in v.estimators_ if hasattr(e, "steps")][0].steps[0][1]
    enc.categories_ = [np.array(["a", "b"], dtype=object),
                       np.array(["c", "d", "e", "f"], dtype=object)]
    check_refused(tmp_path, v, "VotingRegressor: column 0 is read as strings by one member "
                  "and as numbers by another")


@pytest.mark.parametrize("mapping,words", [
    (np.array([0, 1, 99]), "category 2 maps to 99, expected 0 to 2"),
    (np.array([0, 1, -1]), "category 2 maps to -1, expected 0 to 2"),
    (np.array([0, 1]), "expected None or 3 ints"),
    (np.array(["a", "b", "c"], dtype=object), "expected None or 3 ints"),
])
def test_infrequent_mapping_out_of_range_with_strings_refused(tmp_path, mapping, words):
    X = np.array([["a", 1.0]] * 5 + [["b", 2.0]] * 5 + [["c", 3.0]], dtype=object)
    m = make_pipeline(OneHotEncoder(min_frequency=2, handle_unknown="infrequent_if_exist"),
                      LinearRegression()).fit(X, np.arange(11.0))
    m.steps[0][1]._default_to_infrequent_mappings[0] = mapping
    check_refused(tmp_path, m, words)


def test_imputed_strings_into_a_numeric_step_refused(tmp_path):
    m = make_pipeline(SimpleImputer(strategy="most_frequent"), LinearRegression())
    m.fit([[1.0], [2.0]], [1.0, 2.0])
    m.steps[0][1].statistics_ = np.array(["a"], dtype=object)
    check_refused(tmp_path, m, "step 'linearregression' reads column 0 as numbers but the "
                  "step before it gives strings")


HGB_STRINGS = os.path.join(FIXTURES, "matrix", "1.9.0", "str_hgb_regressor_from_dtype.pkl")


@pytest.mark.parametrize("old,new,words", [
    # '\u7ea2' rewritten to 'red', which the column also has: two codes for
    # one string
    (b"\x8c\x03" + "\u7ea2".encode(), b"\x8c\x03red", "input 0: a category is listed twice"),
    # 'red' rewritten to the int 1 (BININT, as many bytes)
    (b"\x8c\x03red", b"J\x01\x00\x00\x00", "'color' (index 0) mixes strings and numbers"),
])
def test_hgb_bad_string_categories_refused(tmp_path, old, new, words):
    """scikit-learn 1.9's HistGradientBoosting with string categories in
    its _preprocessor, one category rewritten in place (same length, so
    the stream's frames still hold)."""
    with open(HGB_STRINGS, "rb") as f:
        data = f.read()
    assert data.count(old) == 1
    check_refused(tmp_path, None, words, data=data.replace(old, new))


# ------------------------------------------------------------------ HTTP --
@pytest.fixture(scope="module")
def string_server(tmp_path_factory):
    m = encoder_pipeline(OneHotEncoder(handle_unknown="error"))
    path = tmp_path_factory.mktemp("hostile_strings") / "ohe.pkl"
    with open(path, "wb") as f:
        pickle.dump(m, f)
    s = Server(str(path), "--max-body-bytes", str(20 << 20))
    yield m, s
    s.stop()


@pytest.mark.parametrize("body", [
    b'{"features": ["a\\u0000b", 1.0]}',
    b'{"features": ["a\x00b", 1.0]}',
    b'{"instances": [["b", 1.0], ["a\\u0000", 2.0]]}',
])
def test_request_string_with_nul_refused(string_server, body):
    m, s = string_server
    with pytest.raises(ValueError):  # scikit-learn: an unknown category
        m.predict(np.array([["a\x00b", 1.0]], dtype=object))
    status, reply = s.request("POST", "/predict", body)
    assert status == 400, reply
    assert "NUL character" in reply["error"], reply


def test_escaped_backslash_before_u0000_is_text(string_server):
    """'\\\\u0000' is a backslash then 'u0000': no NUL, an unknown string."""
    _, s = string_server
    status, reply = s.request("POST", "/predict", b'{"features": ["a\\\\u0000", 1.0]}')
    assert status == 400 and "unknown string" in reply["error"], reply


def test_request_string_of_16_mib(string_server):
    m, s = string_server
    big = "a" * (16 << 20)
    with pytest.raises(ValueError):
        m.predict(np.array([[big, 1.0]], dtype=object))
    status, reply = s.request("POST", "/predict", {"features": [big, 1.0]})
    assert status == 400 and "unknown string" in reply["error"], reply
    assert len(reply["error"]) < 1000
    status, reply = s.request("POST", "/predict", {"features": ["a", 1.0]})
    assert status == 200 and reply["prediction"] == m.predict(
        np.array([["a", 1.0]], dtype=object))[0]


@pytest.mark.parametrize("row,words", [
    ([1.0, 1.0], '"features"[0]: expected a string (a category), got a number'),
    (["a", "1.0"], '"features"[1]: expected a number, got a string'),
    ([True, 1.0], '"features"[0]: expected a string (a category), got a boolean'),
])
def test_number_string_mismatch_refused(string_server, row, words):
    _, s = string_server
    status, reply = s.request("POST", "/predict", {"features": row})
    assert status == 400 and words in reply["error"], reply


@pytest.mark.parametrize("strings", [True, False])
def test_one_large_categories_array_referenced_many_times_refused(tmp_path, strings):
    """A ColumnTransformer of encoders that all reference one memo'd
    categories_ list of 2^20 cells: each reference was read again (and,
    for strings, interned and sorted again): 200 references to strings
    took 26 s and 1 GB from a 10 MB file before the memory charge stopped
    it, 100 to numbers 15 s and 1.6 GB, and loaded. Cells now count
    against a budget of 2^23, so the ninth reference is refused."""
    X = np.array([["a"] * 9, ["b"] * 9], dtype=object)
    ct = ColumnTransformer([("e%d" % j, OrdinalEncoder(), [j]) for j in range(9)])
    m = make_pipeline(ct, LinearRegression()).fit(X, [1.0, 2.0])
    enc = m.steps[0][1].transformers_[0][1]
    enc.categories_ = [np.array(["%07d" % i for i in range(1 << 20)], dtype=object)
                       if strings else np.arange(1 << 20, dtype=float)]
    c = m.steps[0][1]
    c.transformers_ = [(n, enc, cols) for (n, _, cols) in c.transformers_]
    check_refused(tmp_path, m, "part 'e8'", "more than 8388608 category or statistic cells")
