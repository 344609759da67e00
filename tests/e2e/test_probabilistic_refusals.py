"""Naive Bayes models and perceptrons whose fitted state is inconsistent are
refused at load time, with a message that names the attribute, what was
expected and what was found. Each case fits a real estimator with Debian's
scikit-learn, breaks one part, pickles it and runs `predictd check`."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier, MLPRegressor

from conftest import assert_refused, run_check

warnings.filterwarnings("ignore")


def _iris():
    return load_iris(return_X_y=True)


def _mlp(cls=MLPClassifier, y=None, **kw):
    X, y0 = _iris()
    return cls(hidden_layer_sizes=(5, 4), max_iter=5, random_state=0, **kw).fit(
        X, y0 if y is None else y)


def gnb_nan_var():
    m = GaussianNB().fit(*_iris())
    m.var_[2, 1] = np.nan
    return m, ["GaussianNB.var_", "not a finite number"]


def gnb_theta_rows():
    m = GaussianNB().fit(*_iris())
    m.theta_ = m.theta_[:2]
    return m, ["GaussianNB.theta_", "expected 3 rows", "found 2 x 4"]


def gnb_prior_missing():
    m = GaussianNB().fit(*_iris())
    del m.class_prior_
    return m, ["GaussianNB has no class_prior_"]


def mnb_feature_count_mismatch():
    m = MultinomialNB().fit(*_iris())
    m.n_features_in_ = 5
    return m, ["n_features_in_ is 5", "4 features"]


def bnb_binarize_str():
    m = BernoulliNB().fit(*_iris())
    m.binarize = "high"
    return m, ["BernoulliNB.binarize", "expected a number or None", "str"]


def bnb_class_log_prior_short():
    m = BernoulliNB().fit(*_iris())
    m.class_log_prior_ = m.class_log_prior_[:1]
    return m, ["BernoulliNB.class_log_prior_", "expected 3 values", "found 1"]


def mlp_inf_weight():
    m = _mlp()
    m.coefs_[1][0, 0] = np.inf
    return m, ["MLPClassifier.coefs_[1]", "not a finite number"]


def mlp_shapes_do_not_chain():
    m = _mlp()
    m.coefs_[1] = m.coefs_[1][:3]
    return m, ["coefs_[1] is 3 x 4", "expected 5 inputs"]


def mlp_layer_count():
    m = _mlp()
    m.n_layers_ = 7
    return m, ["n_layers_ 7", "3 coefs_"]


def mlp_unknown_activation():
    m = _mlp()
    m.activation = "swish"
    return m, ["MLPClassifier.activation", "'swish'"]


def mlp_hidden_softmax():
    m = _mlp()
    m.activation = "softmax"
    return m, ["hidden activation", "found hidden softmax"]


def mlp_binary_with_softmax():
    m = _mlp(y=(_iris()[1] > 0).astype(int))
    m.out_activation_ = "softmax"
    return m, ["binary classifier", "logistic", "output softmax, 1 output units for 2 classes"]


def mlp_coefs_not_list():
    m = _mlp()
    m.coefs_ = tuple(m.coefs_)
    return m, ["expected coefs_ and intercepts_ to be lists", "tuple"]


def mlp_multilabel():
    y = _iris()[1]
    Y = np.column_stack([y == 0, y == 1, y > 0]).astype(int)
    return _mlp(y=Y), ["multilabel"]


def mlpreg_softmax_output():
    X, y = _iris()
    m = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, y)
    m.out_activation_ = "softmax"
    return m, ["MLPRegressor", "identity or exp", "output softmax"]


CASES = [gnb_nan_var, gnb_theta_rows, gnb_prior_missing, mnb_feature_count_mismatch,
         bnb_binarize_str, bnb_class_log_prior_short, mlp_inf_weight,
         mlp_shapes_do_not_chain, mlp_layer_count, mlp_unknown_activation,
         mlp_hidden_softmax, mlp_binary_with_softmax, mlp_coefs_not_list, mlp_multilabel,
         mlpreg_softmax_output]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_probabilistic_broken_state_refused_with_reason(case, tmp_path):
    model, words = case()
    assert_refused(model, words, tmp_path)


def test_probabilistic_intact_models_load(tmp_path):
    """The cases above fail because of what they break, not before."""
    X, y = _iris()
    for i, m in enumerate([GaussianNB().fit(X, y), BernoulliNB().fit(X, y), _mlp(),
                           _mlp(MLPRegressor, y=X[:, 0])]):
        path = str(tmp_path / ("ok%d.pkl" % i))
        with open(path, "wb") as f:
            pickle.dump(m, f)
        p = run_check(path)
        assert p.returncode == 0, p.stderr


def test_gnb_sigma_from_before_1_0_is_read(tmp_path):
    """Files saved before 1.0 name the variances sigma_; they predict as
    var_ does."""
    import json
    import subprocess
    from conftest import BIN
    X, y = _iris()
    m = GaussianNB().fit(X, y)
    m.sigma_ = m.__dict__.pop("var_")
    m._sklearn_version = "0.24.2"
    path = str(tmp_path / "old.pkl")
    with open(path, "wb") as f:
        pickle.dump(m, f)
    rows = X[::10]
    p = subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows.tolist()}),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    m.var_ = m.sigma_
    assert got["predict"] == m.predict(rows).tolist()
    assert np.allclose(got["predict_proba"], m.predict_proba(rows), rtol=1e-9, atol=1e-12)
