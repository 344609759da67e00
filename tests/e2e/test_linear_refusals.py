"""Linear models whose fitted state is inconsistent are refused at load
time, with a message that names the attribute, what was expected and what
was found. Each case fits a real estimator with Debian's scikit-learn,
breaks one attribute, pickles it and runs `predictd check`."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import Lasso, LinearRegression, Ridge, RidgeClassifier, SGDClassifier
from sklearn.svm import LinearSVC

from conftest import assert_refused


def _diabetes():
    return load_diabetes(return_X_y=True)


def _iris():
    return load_iris(return_X_y=True)


def ridge_intercept_too_long():
    X, y = _diabetes()
    m = Ridge().fit(X, np.column_stack([y, y]))
    m.intercept_ = np.zeros(3)
    return m, ["intercept_ has 3 values for 2 coef_ rows"]


def sgd_unknown_loss():
    X, y = _iris()
    m = SGDClassifier(loss="hinge", random_state=0).fit(X, y)
    m.loss = "bogus"
    return m, ["SGDClassifier.loss", "'bogus'"]


def linearsvc_infinite_coef():
    X, y = _iris()
    m = LinearSVC(max_iter=5000, random_state=0).fit(X, y)
    m.coef_[1, 2] = np.inf
    return m, ["LinearSVC.coef_", "not a finite number"]


def linreg_feature_count_mismatch():
    X, y = _diabetes()
    m = LinearRegression().fit(X, y)
    m.n_features_in_ = 7
    return m, ["n_features_in_ is 7", "10 features"]


def lasso_coef_not_array():
    X, y = _diabetes()
    m = Lasso().fit(X, y)
    m.coef_ = m.coef_.tolist()
    return m, ["Lasso.coef_", "expected a numpy array", "list"]


def ridgeclf_multilabel():
    X, y = _iris()
    Y = np.column_stack([y == 0, y == 1, y > 0]).astype(int)
    return RidgeClassifier().fit(X, Y), ["multilabel"]


def linearsvc_rows_for_classes():
    X, y = _iris()
    m = LinearSVC(max_iter=5000, random_state=0).fit(X, y)
    m.coef_ = m.coef_[:2]
    m.intercept_ = m.intercept_[:2]
    return m, ["2 rows for 3 classes"]


CASES = [ridge_intercept_too_long, sgd_unknown_loss, linearsvc_infinite_coef,
         linreg_feature_count_mismatch, lasso_coef_not_array, ridgeclf_multilabel,
         linearsvc_rows_for_classes]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_linear_broken_state_refused_with_reason(case, tmp_path):
    model, words = case()
    assert_refused(model, words, tmp_path)
