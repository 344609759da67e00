"""Hyper-parameter searches saved as they are: GridSearchCV,
RandomizedSearchCV and the successive-halving searches serve their
best_estimator_, compared with the search's own predict; the scorer,
metric functions, cv splitter and parameter grids in the file are inert
data (never called); refit=False is refused with that reason."""
import json

import numpy as np
import pytest
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

from conftest import Server, run_check, save_model

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
