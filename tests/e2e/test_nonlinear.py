"""PowerTransformer, QuantileTransformer and SplineTransformer: what they
refuse, as scikit-learn refuses it, and that they are served over HTTP.

Parity over many rows, versions and parameters is in the matrix
(tests/fixtures/matrix/cases_nonlinear.py); here each refusal is checked
against scikit-learn raising on the same rows, and the server's answers
against its transform.
"""
import json
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, SplineTransformer

from conftest import BIN, Server, run_check, save_model

X, y = load_iris(return_X_y=True)


def eval_rows(path, rows):
    return subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows}),
                          capture_output=True, text=True, timeout=60)


def sklearn_raises(est, rows):
    with pytest.raises(ValueError) as e:
        est.transform(np.array(rows, dtype=float))
    return str(e.value)


@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_boxcox_refuses_non_positive_like_sklearn(tmp_path, bad):
    pt = PowerTransformer(method="box-cox").fit(X)
    rows = [X[0].tolist(), [X[1, 0], X[1, 1], bad, X[1, 3]]]
    assert "strictly positive" in sklearn_raises(pt, rows)
    p = eval_rows(save_model(pt, tmp_path), rows)
    assert p.returncode != 0, p.stdout
    assert "row 1, column 2" in p.stderr and "strictly positive" in p.stderr, p.stderr
    with Server(save_model(pt, tmp_path, "served.pkl")) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows})
        assert status == 400 and "strictly positive" in body["error"], body


def test_boxcox_missing_value_stays_nan(tmp_path):
    """scikit-learn's check is np.nanmin(X) <= 0: NaN passes, and comes out NaN."""
    pt = PowerTransformer(method="box-cox").fit(X)
    rows = [[X[0, 0], np.nan, X[0, 2], X[0, 3]]]
    want = pt.transform(np.array(rows))
    p = eval_rows(save_model(pt, tmp_path), [[X[0, 0], None, X[0, 2], X[0, 3]]])
    assert p.returncode == 0, p.stderr
    got = np.array(json.loads(p.stdout)["transform"], dtype=float)
    assert np.isnan(want[0, 1]) and np.isnan(got[0, 1])
    np.testing.assert_allclose(got[0, [0, 2, 3]], want[0, [0, 2, 3]], rtol=1e-9)


def test_spline_error_extrapolation_refuses_outside_knots(tmp_path):
    st = SplineTransformer(n_knots=4, extrapolation="error").fit(X)
    rows = [X[0].tolist(), [X[1, 0], X[:, 1].max() + 1.0, X[1, 2], X[1, 3]]]
    assert "beyond the limits of the knots" in sklearn_raises(st, rows)
    p = eval_rows(save_model(st, tmp_path), rows)
    assert p.returncode != 0, p.stdout
    assert "row 1, column 1" in p.stderr and "beyond the limits of the knots" in p.stderr


def test_spline_constant_degree0_above_range_refused_like_sklearn(tmp_path):
    st = SplineTransformer(n_knots=4, degree=0, extrapolation="constant").fit(X)
    rows = [(X.max(axis=0) + 1.0).tolist()]
    sklearn_raises(st, rows)  # numpy cannot place f_max[-0:] into no column
    p = eval_rows(save_model(st, tmp_path), rows)
    assert p.returncode != 0 and "degree 0" in p.stderr, p.stderr


def test_spline_sparse_output_refused_by_name(tmp_path):
    st = SplineTransformer(n_knots=4).fit(X)
    # as a file from scikit-learn >= 1.3, which has the parameter, holds it
    st.sparse_output = True
    p = run_check(save_model(st, tmp_path))
    assert p.returncode != 0
    assert "sparse_output=True" in p.stderr, p.stderr


@pytest.mark.parametrize("make", [
    lambda: QuantileTransformer(n_quantiles=40, output_distribution="normal"),
    lambda: make_pipeline(PowerTransformer(), LogisticRegression(max_iter=2000)),
    lambda: SplineTransformer(n_knots=5, extrapolation="periodic"),
], ids=["quantile_bare", "power_pipeline", "spline_bare"])
def test_served_over_http(tmp_path, make):
    est = make().fit(X, y)
    rows = np.vstack([X[::30], X.max(axis=0) * 1.2])
    with Server(save_model(est, tmp_path)) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows.tolist()})
        assert status == 200, body
        if hasattr(est, "predict"):
            assert body["predictions"] == est.predict(rows).tolist()
        else:
            np.testing.assert_allclose(body["predictions"], est.transform(rows),
                                       rtol=1e-9, atol=1e-12)
