"""Small iris models written the ways real users save them, for the e2e tests.

Generated at test time with Debian's scikit-learn (/usr/bin/python3), so the
files always match the oracle that checks the server's answers.
"""
import os
import pickle

import joblib
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression


def iris():
    """(X, y) of the iris data set."""
    return load_iris(return_X_y=True)


def fit_logreg():
    X, y = iris()
    return LogisticRegression(max_iter=1000).fit(X, y)


def fit_forest(n_estimators=3):
    X, y = iris()
    return RandomForestClassifier(n_estimators=n_estimators, random_state=0).fit(X, y)


def write_pickle(model, path, protocol):
    with open(path, "wb") as f:
        pickle.dump(model, f, protocol=protocol)
    return path


def write_joblib(model, path):
    joblib.dump(model, path)
    return path


def write_variants(directory):
    """Writes LogisticRegression and a 3-tree RandomForest as pickle protocols
    2, 4 and 5 and as (uncompressed) joblib. Returns {name: path}."""
    os.makedirs(directory, exist_ok=True)
    out = {}
    for tag, model in (("logreg", fit_logreg()), ("forest", fit_forest(3))):
        for proto in (2, 4, 5):
            name = "%s_p%d" % (tag, proto)
            out[name] = write_pickle(model, os.path.join(directory, name + ".pkl"), proto)
        name = "%s_joblib" % tag
        out[name] = write_joblib(model, os.path.join(directory, name + ".joblib"))
    return out
