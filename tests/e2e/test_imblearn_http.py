"""imbalanced-learn's Pipeline over HTTP. Its samplers resample at fit time
only: at predict and transform time imbalanced-learn skips them, and so does
predictd, serving the other steps as in a scikit-learn Pipeline. The oracle
is imbalanced-learn itself (Debian's python3-imblearn); without it the
module skips. The real-world churn pipeline of ../shared (SMOTE,
RandomUnderSampler, gradient boosting, written by scikit-learn 1.3) is
checked against imbalanced-learn loading the same file."""
import os
import pickle
import warnings

import numpy as np
import pytest

from conftest import SHARED, Server, run_check, save_model

imblearn = pytest.importorskip(
    "imblearn", reason="python3-imblearn is not installed (scripts/install-deps.sh): "
    "imbalanced-learn is the oracle for its Pipeline")

from imblearn.over_sampling import SMOTE, RandomOverSampler  # noqa: E402
from imblearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from imblearn.under_sampling import RandomUnderSampler  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_redundant=0,
                           weights=[0.85, 0.15], random_state=0)
ROWS = X[::17]
CHURN = os.path.join(SHARED, "corpus", "realworld", "AhmedRamadan74__churn-bank__pipeline.pkl")


def v2_inputs(rows):
    return [{"name": "x", "datatype": "FP64", "shape": [len(rows), rows.shape[1]],
             "data": rows.tolist()}]


def test_sampler_pipeline_served_as_imblearn_predicts(tmp_path):
    m = Pipeline([("scale", StandardScaler()), ("smote", SMOTE(random_state=0)),
                  ("under", RandomUnderSampler(random_state=0)),
                  ("clf", LogisticRegression())]).fit(X, y)
    path = save_model(m, tmp_path)
    p = run_check(path)
    assert p.returncode == 0, p.stderr
    with Server(path) as srv:
        status, body = srv.request("POST", "/predict", {"instances": ROWS.tolist()})
        assert status == 200, body
        assert body["predictions"] == m.predict(ROWS).tolist(), body
        np.testing.assert_allclose(body["probabilities"], m.predict_proba(ROWS),
                                   rtol=1e-12, atol=1e-15)
        status, body = srv.request("POST", "/v2/models/model/infer",
                                   {"inputs": v2_inputs(ROWS),
                                    "outputs": [{"name": "decision_function"}]})
        assert status == 200, body
        np.testing.assert_allclose(body["outputs"][0]["data"], m.decision_function(ROWS),
                                   rtol=1e-12, atol=1e-15)


def test_sampler_pipeline_that_only_transforms(tmp_path):
    m = make_pipeline(StandardScaler(), RandomOverSampler(random_state=0),
                      PCA(n_components=2)).fit(X, y)
    want = m.transform(ROWS)
    with Server(save_model(m, tmp_path)) as srv:
        status, body = srv.request("POST", "/predict", {"instances": ROWS.tolist()})
        assert status == 200, body
        np.testing.assert_allclose(body["predictions"], want, rtol=1e-9, atol=1e-12)
        status, body = srv.request("POST", "/v2/models/model/infer", {"inputs": v2_inputs(ROWS)})
        assert status == 200, body
        assert body["outputs"][0]["name"] == "transform", body
        np.testing.assert_allclose(np.reshape(body["outputs"][0]["data"], want.shape), want,
                                   rtol=1e-9, atol=1e-12)


def test_sampler_as_last_step_is_refused(tmp_path):
    m = make_pipeline(StandardScaler(), SMOTE(random_state=0)).fit(X, y)
    p = run_check(save_model(m, tmp_path))
    assert p.returncode == 1, p.stdout
    assert "the last step is SMOTE, a sampler, which has no predict or transform" in p.stderr, \
        p.stderr


def test_sampler_in_a_scikit_learn_pipeline_is_refused(tmp_path):
    """scikit-learn's own Pipeline never skips a sampler (it cannot even fit
    one): a file that has one there is not served."""
    from sklearn.pipeline import Pipeline as SkPipeline
    m = SkPipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    smote = SMOTE(random_state=0)
    smote.fit_resample(X, y)
    m.steps.insert(1, ("smote", smote))
    p = run_check(save_model(m, tmp_path))
    assert p.returncode == 1, p.stdout
    assert "Pipeline step 'smote': SMOTE cannot be served on its own" in p.stderr, p.stderr


def test_function_sampler_is_refused_naming_imbalanced_learn(tmp_path):
    from imblearn import FunctionSampler
    m = make_pipeline(FunctionSampler(), LogisticRegression()).fit(X, y)
    p = run_check(save_model(m, tmp_path))
    assert p.returncode == 1, p.stdout
    assert "refused global imblearn.base.FunctionSampler" in p.stderr, p.stderr
    assert "an imbalanced-learn object that predictd does not serve" in p.stderr, p.stderr


def test_balanced_forest_is_refused_naming_imbalanced_learn(tmp_path):
    from imblearn.ensemble import BalancedRandomForestClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # future-default warnings of imblearn 0.10
        m = BalancedRandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    p = run_check(save_model(m, tmp_path))
    assert p.returncode == 1, p.stdout
    assert "an imbalanced-learn object that predictd does not serve" in p.stderr, p.stderr


# --- the published churn pipeline ------------------------------------------

# The only modules the churn file names (pickletools); anything else stops
# the load here, so that the oracle never runs what a file names.
CHURN_MODULES = ("sklearn.", "numpy", "imblearn.", "pandas.core.indexes.base", "collections",
                 "builtins")


class ChurnUnpickler(pickle.Unpickler):
    """scikit-learn 1.2 and imbalanced-learn 0.10 reading a file of 1.3:
    trees drop the missing_go_to_left node field of 1.3 (read only for a
    missing value, which gradient boosting of 1.3 did not support and the
    rows here do not hold; 1.3 left it uninitialised in these trees), and
    the metric of SMOTE's unused KDTree is 1.2's EuclideanDistance."""

    def find_class(self, module, name):
        if not module.startswith(CHURN_MODULES) or (module == "builtins" and name != "slice"):
            raise pickle.UnpicklingError("unexpected global %s.%s" % (module, name))
        if (module, name) == ("sklearn.tree._tree", "Tree"):
            return _tree13()
        if (module, name) == ("sklearn.metrics._dist_metrics", "EuclideanDistance64"):
            name = "EuclideanDistance"
        return super().find_class(module, name)


def _tree13():
    from sklearn.tree import _tree

    class Tree13(_tree.Tree):
        def __setstate__(self, d):
            nodes = d["nodes"]
            if "missing_go_to_left" in nodes.dtype.names:
                old = np.zeros(nodes.shape, dtype=_tree.NODE_DTYPE)
                for f in _tree.NODE_DTYPE.names:
                    old[f] = nodes[f]
                d = dict(d, nodes=old)
            super().__setstate__(d)
    return Tree13


@pytest.mark.skipif(not os.path.exists(CHURN),
                    reason="../shared/corpus/realworld is absent (a clone without ../shared)")
def test_published_churn_pipeline_agrees_with_imbalanced_learn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "unpickle estimator from version 1.3.0"
        with open(CHURN, "rb") as f:
            m = ChurnUnpickler(f).load()
    ct = m.steps[0][1]
    names = list(m.feature_names_in_)
    # rows around the file's own statistics: the scaler's mean and scale,
    # every category of the encoder in turn
    rng = np.random.RandomState(0)
    enc, enc_cols = ct.transformers_[0][1], list(ct.transformers_[0][2])
    sc, sc_cols = ct.transformers_[1][1], list(ct.transformers_[1][2])
    rows = []
    for i in range(40):
        r = {c: float(mu + s * rng.standard_normal())
             for c, mu, s in zip(sc_cols, sc.mean_, sc.scale_)}
        for c, cats in zip(enc_cols, enc.categories_):
            r[c] = str(cats[i % len(cats)])
        rows.append({c: r[c] for c in names})
    import pandas as pd
    frame = pd.DataFrame(rows, columns=names)
    want = m.predict(frame).tolist()
    assert 0 < sum(want) < len(want), want  # both classes: the rows probe the model
    proba = m.predict_proba(frame)
    with Server(CHURN) as srv:
        status, body = srv.request("POST", "/predict", {"instances": rows})
        assert status == 200, body
        assert body["predictions"] == want, (body["predictions"], want)
        np.testing.assert_allclose(body["probabilities"], proba, rtol=1e-9, atol=1e-12)


def test_ordered_dict_is_only_a_dict(tmp_path):
    """collections.OrderedDict is allowed for sampling_strategy_, and only as
    pickle writes a dict subclass: called with no arguments, its items
    following. Made with NEWOBJ and given a state by BUILD, it is refused."""
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x02ccollections\nOrderedDict\n)\x81}X\x03\x00\x00\x00cmdK\x01sb.")
    p = run_check(str(path))
    assert p.returncode == 1, p.stdout
    assert "byte offset 28: NEWOBJ needs an allowed class, found collections.OrderedDict" \
        in p.stderr, p.stderr
    path.write_bytes(b"\x80\x02ccollections\nOrderedDict\nK\x01\x85R.")
    p = run_check(str(path))
    assert p.returncode == 1, p.stdout
    assert "collections.OrderedDict(): expected no arguments" in p.stderr, p.stderr
