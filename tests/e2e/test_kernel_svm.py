"""SVMs beyond the matrix: those whose fitted state is broken or
unsupported, refused at load time with the reason. (Parity, OneClassSVM's
score_samples included, is the matrix's job.)"""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.svm import SVC, SVR, OneClassSVM

from conftest import assert_refused


def _iris():
    return load_iris(return_X_y=True)


def svc_precomputed():
    X, y = _iris()
    return SVC(kernel="precomputed").fit(X @ X.T, y), ["SVC.kernel", "'precomputed'"]


def svc_sparse_fit():
    X, y = _iris()
    return SVC().fit(sp.csr_matrix(X), y), ["sparse"]


def svc_n_support_wrong_sum():
    X, y = _iris()
    m = SVC().fit(X, y)
    m._n_support = m._n_support.copy()
    m._n_support[0] += 1
    return m, ["SVC._n_support", "summing to the 60 support vectors, found 61"]


def svc_dual_coef_shape():
    X, y = _iris()
    m = SVC().fit(X, y)
    m._dual_coef_ = m._dual_coef_[:1]
    return m, ["SVC._dual_coef_", "expected 2 x"]


def svr_infinite_support_vector():
    X, y = _iris()
    m = SVR().fit(X, y)
    m.support_vectors_[0, 1] = np.inf
    return m, ["SVR.support_vectors_", "not a finite number"]


def svc_probability_pairs_short():
    X, y = _iris()
    m = SVC(probability=True, random_state=0).fit(X, y)
    m._probA = m._probA[:2]
    return m, ["Platt parameters"]


def svc_poly_degree_huge():
    X, y = _iris()
    m = SVC(kernel="poly", degree=2).fit(X, y)
    m.degree = 10 ** 6
    return m, ["SVC.degree"]


def ocsvm_offset_two_values():
    X, _ = _iris()
    m = OneClassSVM().fit(X)
    m.offset_ = np.array([1.0, 2.0])
    return m, ["OneClassSVM.offset_", "expected 1 value, found 2"]


def ocsvm_offset_infinite():
    X, _ = _iris()
    m = OneClassSVM().fit(X)
    m.offset_ = np.array([np.inf])
    return m, ["OneClassSVM.offset_"]


def svc_break_ties_with_ovo():
    X, y = _iris()
    return SVC(break_ties=True, decision_function_shape="ovo").fit(X, y), [
        "break_ties must be False"]


CASES = [svc_break_ties_with_ovo, svc_precomputed, svc_sparse_fit, svc_n_support_wrong_sum, svc_dual_coef_shape,
         svr_infinite_support_vector, svc_probability_pairs_short, svc_poly_degree_huge,
         ocsvm_offset_two_values, ocsvm_offset_infinite]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_svm_broken_state_refused_with_reason(case, tmp_path):
    model, words = case()
    assert_refused(model, words, tmp_path)
