"""Hyper-parameter searches saved as they are: GridSearchCV,
RandomizedSearchCV and the successive-halving searches serve their
best_estimator_, compared with the search's own predict; the scorer,
metric functions, cv splitter and parameter grids in the file are inert
data (never called); refit=False is refused with that reason.

A RandomizedSearchCV drawing from scipy.stats distributions keeps them in
the file: frozen distribution objects and, for discrete ones, a bound
method pickled as REDUCE(builtins.getattr, (distribution, '_entropy')).
Those are inert too, and getattr is accepted there and nowhere else
(tests/fixtures/matrix/cases_search.py has these searches from each
scikit-learn version)."""
import json
import os
import sys

import numpy as np
import pytest
from scipy.stats import loguniform, poisson, randint, uniform
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import make_scorer, f1_score
from sklearn.model_selection import (GridSearchCV, HalvingGridSearchCV,
                                     HalvingRandomSearchCV, RandomizedSearchCV,
                                     StratifiedKFold)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from conftest import FIXTURES, Server, run_check, save_model

sys.path.insert(0, FIXTURES)
import pickle_asm as pa  # noqa: E402

Xc, yc = load_breast_cancer(return_X_y=True)
Xr, yr = load_diabetes(return_X_y=True)


def searches():
    tree = DecisionTreeClassifier(random_state=0)
    return {
        "grid_range_f1": GridSearchCV(tree, {"max_depth": range(1, 5)},
                                      scoring=make_scorer(f1_score), cv=3),
        "grid_accuracy_kfold": GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
            {"logisticregression__C": [0.1, 1.0]}, scoring="accuracy",
            cv=StratifiedKFold(3)),
        "random_lists": RandomizedSearchCV(tree, {"max_depth": [1, 2, 3, 4, 5],
                                                  "min_samples_leaf": range(1, 5)},
                                           n_iter=4, cv=3, random_state=0),
        "random_scipy": RandomizedSearchCV(
            tree, {"max_depth": randint(1, 6), "min_samples_split": poisson(3, loc=2),
                   "ccp_alpha": uniform(0, 0.01),
                   "min_weight_fraction_leaf": loguniform(1e-4, 1e-2)},
            n_iter=4, cv=3, random_state=0),
        "halving_grid": HalvingGridSearchCV(tree, {"max_depth": [2, 3, 4]}, cv=3,
                                            random_state=0),
        "halving_random_roc": HalvingRandomSearchCV(
            LogisticRegression(max_iter=2000), {"C": [0.01, 0.1, 1.0, 2.0]}, cv=3,
            scoring="roc_auc", random_state=0),
    }


@pytest.mark.parametrize("name", list(searches()))
def test_search_serves_best_estimator(tmp_path, name):
    s = searches()[name].fit(Xc, yc)
    rows = Xc[::37]
    path = save_model(s, tmp_path)
    p = run_check(path)
    assert p.returncode == 0, p.stderr
    assert type(s).__name__ in p.stdout and "best_params" in p.stdout, p.stdout
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows.tolist()})
    assert status == 200, body
    assert body["predictions"] == s.predict(rows).tolist()
    np.testing.assert_allclose(body["probabilities"], s.predict_proba(rows),
                               rtol=1e-9, atol=1e-12)


def test_search_regressor_metadata(tmp_path):
    s = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]},
                     scoring="neg_mean_squared_error", cv=3).fit(Xr, yr)
    path = save_model(s, tmp_path)
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": Xr[:5].tolist()})
        assert status == 200, body
        np.testing.assert_allclose(body["predictions"], s.predict(Xr[:5]), rtol=1e-12)
        status, meta = srv.request("GET", "/v2/models/model")
    assert status == 200
    assert meta["parameters"]["search"] == "GridSearchCV"
    assert json.loads(meta["parameters"]["best_params"]) == s.best_params_


def test_search_without_refit_refused(tmp_path):
    s = GridSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=3,
                     refit=False).fit(Xc, yc)
    p = run_check(save_model(s, tmp_path))
    assert p.returncode == 1, p.stdout
    assert "refit=False" in p.stderr and "GridSearchCV" in p.stderr, p.stderr


# --- builtins.getattr: over a scipy distribution's own method only -------
SEARCH = ("sklearn.model_selection._search", "RandomizedSearchCV")
RANDINT = ("scipy.stats._discrete_distns", "randint_gen")


def getattr_of(obj, name):
    return pa.global_ref("builtins", "getattr") + pa.tup(obj, name) + pa.REDUCE


def search_holding(dist):
    """A RandomizedSearchCV over a minimal LogisticRegression whose
    param_distributions holds dist (a fragment)."""
    return pa.stream(pa.new_object(*SEARCH, pa.dict_of([
        (pa.text("param_distributions"), pa.dict_of([(pa.text("C"), dist)])),
        (pa.text("best_estimator_"), pa.logreg()),
        (pa.text("refit"), pa.NEWTRUE),
    ])))


def discrete_dist(method=pa.text("_entropy"), of=None):
    """rv_discrete_frozen(randint_gen) whose vecentropy is
    numpy.vectorize(getattr(OF, METHOD)); OF is the distribution itself
    unless given, as scipy writes it."""
    dist = pa.global_ref(*RANDINT) + pa.EMPTY_TUPLE + pa.NEWOBJ + pa.put(1)
    vec = pa.new_object("numpy", "vectorize", pa.dict_of([
        (pa.text("pyfunc"), getattr_of(of if of is not None else pa.get(1), method)),
        (pa.text("otypes"), pa.NONE)]))
    dist += pa.dict_of([(pa.text("vecentropy"), vec), (pa.text("a"), pa.int32(0))]) + pa.BUILD
    return pa.new_object("scipy.stats._distn_infrastructure", "rv_discrete_frozen",
                         pa.dict_of([(pa.text("args"), pa.tup(pa.int32(1), pa.int32(5))),
                                     (pa.text("dist"), dist)]))


def write(tmp_path, data):
    path = os.path.join(str(tmp_path), "search.pkl")
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_search_with_scipy_distribution_as_scipy_writes_it(tmp_path):
    p = run_check(write(tmp_path, search_holding(discrete_dist())))
    assert p.returncode == 0, p.stderr
    assert "RandomizedSearchCV" in p.stdout and "LogisticRegression" in p.stdout, p.stdout


@pytest.mark.parametrize("dist,said", [
    (discrete_dist(method=pa.text("__class__")),
     "reads the attribute '__class__' of a scipy.stats distribution, not one scipy pickles"),
    (discrete_dist(method=pa.text("rvs")), "the attribute 'rvs'"),
    (discrete_dist(method=pa.int32(3)), "the attribute name is a int"),
    (discrete_dist(of=pa.new_object("sklearn.model_selection._split", "KFold",
                                    pa.EMPTY_DICT)),
     "an attribute of a sklearn.model_selection._split.KFold object"),
    (discrete_dist(of=pa.global_ref("sklearn.metrics._classification", "accuracy_score")),
     "an attribute of sklearn.metrics._classification.accuracy_score"),
    (discrete_dist(of=pa.text("os")), "an attribute of a str"),
    (pa.remember(2, pa.global_ref(*RANDINT) + pa.EMPTY_TUPLE + pa.NEWOBJ)
     + getattr_of(pa.get(2), pa.text("_entropy")) + pa.EMPTY_DICT + pa.BUILD,
     "BUILD on the result of builtins.getattr"),
    (pa.remember(2, pa.global_ref(*RANDINT) + pa.EMPTY_TUPLE + pa.NEWOBJ)
     + pa.global_ref("builtins", "getattr") + pa.tup(pa.text("a")) + pa.REDUCE,
     "called with 1 arguments"),
    # named before any distribution: refused where it is named
    (getattr_of(pa.global_ref(*RANDINT) + pa.EMPTY_TUPLE + pa.NEWOBJ, pa.text("_entropy")),
     "accepted only inside a scipy.stats distribution"),
])
def test_getattr_elsewhere_refused(tmp_path, dist, said):
    p = run_check(write(tmp_path, search_holding(dist)))
    assert p.returncode == 1, p.stdout
    assert "builtins.getattr" in p.stderr and said in p.stderr, p.stderr
