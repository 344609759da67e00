"""What ColumnTransformer refuses, and that it says what it refused.

The composer is served from its fitted transformers_ only: a part that
runs Python code (FunctionTransformer with a func), sparse output, column
specifiers that do not fit the input, and a part that cannot be served
are refused with the part named.
"""
import collections
import json
import pickle
import subprocess

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from conftest import BIN
from test_matrix import same_numbers


def eval_file(path, rows=None):
    rows = rows if rows is not None else [[0.5] * 4]
    return subprocess.run([BIN, "eval", str(path)], input=json.dumps({"instances": rows}),
                          capture_output=True, text=True, timeout=60)


def dump(tmp_path, model):
    path = tmp_path / "model.pkl"
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return path


def _fitted(**kw):
    X, y = load_iris(return_X_y=True)
    ct = ColumnTransformer([("std", StandardScaler(), [0, 1])], remainder="passthrough", **kw)
    return ct.fit(X, y)


def test_column_transformer_matches_sklearn(tmp_path):
    ct = _fitted()
    rows = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.0, 5.0, 2.0]]
    p = eval_file(dump(tmp_path, ct), rows)
    assert p.returncode == 0, p.stderr
    got = np.array(json.loads(p.stdout)["transform"])
    np.testing.assert_allclose(got, ct.transform(np.array(rows)), rtol=1e-12)


def test_function_transformer_alone_refused_runs_python(tmp_path):
    ft = FunctionTransformer().fit(np.ones((3, 2)))
    p = eval_file(dump(tmp_path, ft), [[0.5, 0.5]])
    assert p.returncode != 0
    assert "runs Python code" in p.stderr


def test_function_transformer_with_func_part_refused(tmp_path):
    X, y = load_iris(return_X_y=True)
    ct = ColumnTransformer([("f", FunctionTransformer(np.log1p), [0])]).fit(X, y)
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode != 0
    assert "numpy" in p.stderr and "refused" in p.stderr


def test_sparse_output_refused(tmp_path):
    ct = _fitted()
    ct.sparse_output_ = True
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode != 0
    assert "sparse" in p.stderr


def test_column_out_of_range_names_part(tmp_path):
    ct = _fitted()
    ct.transformers_[0] = ("std", ct.transformers_[0][1], [0, 9])
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode != 0
    assert "'std'" in p.stderr and "column 9 out of range" in p.stderr


def test_unknown_column_name_refused(tmp_path):
    ct = _fitted()
    ct.transformers_[0] = ("std", ct.transformers_[0][1], ["nope", "x"])
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode != 0
    assert "'nope'" in p.stderr


def test_predictor_as_part_refused(tmp_path):
    X, y = load_iris(return_X_y=True)
    ct = _fitted()
    ct.transformers_[0] = ("std", LogisticRegression(max_iter=500).fit(X[:, :2], y), [0, 1])
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode != 0
    assert "(LogisticRegression) expected to be a transformer" in p.stderr


def test_mask_of_wrong_length_refused(tmp_path):
    ct = _fitted()
    ct.transformers_[0] = ("std", ct.transformers_[0][1], [True, False])
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode != 0
    assert "boolean mask of 2 entries, expected 4" in p.stderr


def test_many_columns_by_name_agree(tmp_path):
    """A part naming 100,000 columns by name (in reverse order) loads and
    transforms as scikit-learn does. (It used to cost about 10 s at load:
    a walk along feature_names_in_ per name. How long it takes now is a
    benchmark, bench/wide_columns.py, not a test.)"""
    import pandas as pd
    nf = 100000
    cols = ["c%06d" % j for j in range(nf)]
    X = pd.DataFrame(np.random.RandomState(0).rand(2, nf), columns=cols)
    ct = ColumnTransformer([("p", "passthrough", cols[::-1][:nf // 2]),
                            ("s", StandardScaler(), cols[nf // 2 - 3:nf // 2 + 3])]).fit(X)
    path = dump(tmp_path, ct)
    p = eval_file(path, X.values.tolist())
    assert p.returncode == 0, p.stderr[-2000:]
    np.testing.assert_allclose(np.array(json.loads(p.stdout)["transform"]), ct.transform(X),
                               rtol=1e-12)


def test_stepped_and_reversed_slices_match_sklearn(tmp_path):
    X, y = load_iris(return_X_y=True)
    rows = [[5.1, 3.5, 1.4, 0.2], [7.0, 3.0, 5.0, 2.0], [6.3, 2.5, 4.9, 1.5]]
    fitted = 0
    for spec in (slice(0, 4, 2), slice(1, None, 2), slice(None, None, -1),
                 slice(-1, 0, -2), slice(3, -5, -1)):
        try:
            ct = ColumnTransformer([("std", StandardScaler(), spec)],
                                   remainder="passthrough").fit(X, y)
        except ValueError:
            continue  # a slice this scikit-learn refuses to fit with
        fitted += 1
        p = eval_file(dump(tmp_path, ct), rows)
        assert p.returncode == 0, (spec, p.stderr)
        got = np.array(json.loads(p.stdout)["transform"])
        np.testing.assert_allclose(got, ct.transform(np.array(rows)), rtol=1e-12,
                                   err_msg=str(spec))
    assert fitted >= 2


def test_slice_step_zero_refused(tmp_path):
    ct = _fitted()
    name, trans, _ = ct.transformers_[0]
    ct.transformers_[0] = (name, trans, slice(0, 4, 0))
    p = eval_file(dump(tmp_path, ct))
    assert p.returncode == 1, p.stdout
    assert "slice step of 0" in p.stderr, p.stderr


class _RemainderColsList(collections.UserList):
    """The shape of scikit-learn 1.5-1.6's class of that name (a list of
    the remainder's columns plus three attributes about a future warning),
    pickled the way it pickles there: __newobj__ and its __dict__ as state.
    1.2 cannot write it, so the test installs this class under 1.5's module
    and name while it pickles; the fitted numbers are the installed
    scikit-learn's, which is the oracle."""

    def __init__(self, data):
        super().__init__(data)
        self.future_dtype = "str"
        self.warning_was_emitted = False
        self.warning_enabled = True


def dump_with_remainder_cols_list(tmp_path, model, ct):
    import sklearn.compose._column_transformer as module
    name, trans, cols = ct.transformers_[-1]
    assert name == "remainder"
    _RemainderColsList.__module__ = module.__name__
    setattr(module, "_RemainderColsList", _RemainderColsList)
    ct.transformers_[-1] = (name, trans, _RemainderColsList(list(cols)))
    try:
        data = pickle.dumps(model, protocol=4)
    finally:
        ct.transformers_[-1] = (name, trans, cols)
        delattr(module, "_RemainderColsList")
    assert b"_RemainderColsList" in data and b"future_dtype" in data
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("remainder", ["passthrough", "scaler"])
def test_remainder_cols_list_of_1_5_agrees(tmp_path, remainder):
    X, y = load_iris(return_X_y=True)
    rem = StandardScaler() if remainder == "scaler" else "passthrough"
    ct = ColumnTransformer([("std", StandardScaler(), [0])], remainder=rem)
    model = make_pipeline(ct, LogisticRegression(max_iter=1000)).fit(X, y)
    rows = X[::7].tolist()
    p = eval_file(dump_with_remainder_cols_list(tmp_path, model, ct), rows)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["predict"] == model.predict(np.array(rows)).tolist()
    assert same_numbers(got["predict_proba"], model.predict_proba(np.array(rows)))
    # and exactly what the same model gives in 1.2's own layout
    plain = tmp_path / "plain"
    plain.mkdir()
    q = eval_file(dump(plain, model), rows)
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout) == got


def test_remainder_cols_list_without_data_refused(tmp_path):
    X, y = load_iris(return_X_y=True)
    ct = ColumnTransformer([("std", StandardScaler(), [0])], remainder="passthrough").fit(X, y)
    path = dump_with_remainder_cols_list(tmp_path, ct, ct)
    data = path.read_bytes().replace(b"\x8c\x04data", b"\x8c\x04dat_")
    assert data != path.read_bytes()
    path.write_bytes(data)
    p = eval_file(path)
    assert p.returncode != 0
    assert "expected _RemainderColsList to hold a list under 'data'" in p.stderr, p.stderr
