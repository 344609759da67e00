#!/usr/bin/python3
"""Writes models/repo/, the model repository the README's protocol examples
serve, laid out as Triton's (NAME/VERSION/model.pkl or model.joblib):

    species/1/model.pkl       RandomForestClassifier on iris, string labels
    diabetes/1/model.joblib   Ridge on the diabetes data (a regressor)
    iris_frame/1/model.pkl    StandardScaler + LogisticRegression fitted on a
                              DataFrame (named columns)
    iris_frame/2/model.pkl    the same with C=0.1
    people/1/model.pkl        a DataFrame pipeline with a string column
                              ("First Name", one-hot encoded) and "Age"

Run it with Debian's interpreter (/usr/bin/python3), which has scikit-learn:

    /usr/bin/python3 scripts/make_demo_repository.py [DIR]

DIR defaults to models/repo under the repository. The files are
deterministic for a given scikit-learn/numpy/Python.
"""
import os
import pickle
import sys

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "models", "repo")


def put(out, name, version, model, use_joblib=False):
    d = os.path.join(out, name, str(version))
    os.makedirs(d, exist_ok=True)
    if use_joblib:
        joblib.dump(model, os.path.join(d, "model.joblib"))
    else:
        with open(os.path.join(d, "model.pkl"), "wb") as f:
            pickle.dump(model, f)


def main(argv):
    if len(argv) > 2:
        sys.stderr.write("usage: make_demo_repository.py [DIR]\n")
        return 2
    out = argv[1] if len(argv) == 2 else DEFAULT_OUT
    iris = load_iris()
    put(out, "species", 1, RandomForestClassifier(n_estimators=50, random_state=42)
        .fit(iris.data, iris.target_names[iris.target]))
    Xd, yd = load_diabetes(return_X_y=True)
    put(out, "diabetes", 1, Ridge(alpha=1.0).fit(Xd, yd), use_joblib=True)
    frame = load_iris(as_frame=True).data.rename(
        columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    for version, c in ((1, 1.0), (2, 0.1)):
        put(out, "iris_frame", version,
            Pipeline([("scale", StandardScaler()),
                      ("clf", LogisticRegression(C=c, max_iter=1000))]).fit(frame, iris.target))
    rng = np.random.RandomState(0)
    people = pd.DataFrame({
        "First Name": rng.choice(["Joanne", "Michael", "Ana", "Kofi", "Mei"], 200),
        "Age": rng.randint(16, 80, 200)})
    group = np.where(people["Age"] + 10 * (people["First Name"] == "Mei") > 40,
                     "senior", "junior")
    put(out, "people", 1, Pipeline([
        ("ct", ColumnTransformer([("name", OneHotEncoder(handle_unknown="ignore"), ["First Name"]),
                                  ("age", StandardScaler(), ["Age"])])),
        ("clf", LogisticRegression(max_iter=1000))]).fit(people, group))
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
