#!/usr/bin/python3
"""Writes models/iris_rf.pkl, the demo model the README's quick start serves.

It is the seed project's workflow verbatim: a random forest fitted on the whole
iris data set and saved with pickle.dump at the default protocol. Run it with
Debian's interpreter (/usr/bin/python3), which has scikit-learn:

    /usr/bin/python3 scripts/make_demo_model.py [OUTPUT]

OUTPUT defaults to models/iris_rf.pkl under the repository. The output is
deterministic for a given scikit-learn/numpy/Python (random_state is fixed).
"""
import os
import pickle
import sys

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "models", "iris_rf.pkl")


def main(argv):
    if len(argv) > 2:
        sys.stderr.write("usage: make_demo_model.py [OUTPUT]\n")
        return 2
    out = argv[1] if len(argv) == 2 else DEFAULT_OUT
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)

    iris = load_iris()
    model = RandomForestClassifier(n_estimators=50, random_state=42)
    model.fit(iris.data, iris.target)

    # Write to a temporary name first so a failed run never leaves half a file.
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(model, f)
    os.replace(tmp, out)
    print("wrote %s (%d bytes)" % (out, os.path.getsize(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
