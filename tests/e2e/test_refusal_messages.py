"""Refusals a user understands: another framework's model is named as
such, a global from the user's own project says that the file needs code
predictd never runs, a dangerous global keeps the allowlist reason, and a
file that is not a pickle says so and shows its first bytes. Every refusal
still names the exact global and its byte offset."""
import pytest

from conftest import run_check


def _global_pickle(module, name):
    # protocol 2: GLOBAL module name, EMPTY_TUPLE, NEWOBJ, STOP
    return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)\x81."


@pytest.mark.parametrize("module,name,words", [
    ("xgboost.sklearn", "XGBClassifier", ["an XGBoost model, not scikit-learn"]),
    ("lightgbm.sklearn", "LGBMClassifier", ["a LightGBM model, not scikit-learn"]),
    ("catboost.core", "CatBoostClassifier", ["a CatBoost model"]),
    ("keras.src.models.sequential", "Sequential", ["a Keras model"]),
    ("imblearn.ensemble._forest", "BalancedRandomForestClassifier",
     ["an imbalanced-learn object that predictd does not serve"]),
    ("__main__", "MyTransformer", ["needs code from the project that saved it",
                                  "'__main__'", "never runs"]),
    ("src.features.build", "clean_text", ["needs code from the project", "'src'"]),
    ("sklearn.cluster._dbscan", "DBSCAN", ["DBSCAN has no predict or transform",
                                           "nothing to serve"]),
    ("sklearn.cluster._agglomerative", "AgglomerativeClustering",
     ["AgglomerativeClustering has no predict or transform"]),
    ("sklearn.manifold._t_sne", "TSNE", ["TSNE has no transform for new rows"]),
    ("sklearn.feature_extraction.text", "TfidfVectorizer",
     ["text vectorizers", "not served yet"]),
    ("sklearn.decomposition._nmf", "NMF",
     ["this scikit-learn class is not supported by predictd"]),
    ("posix", "system", ["not on the allowlist"]),
    ("builtins", "eval", ["not on the allowlist"]),
])
def test_refused_global_explained(tmp_path, module, name, words):
    path = tmp_path / "model.pkl"
    path.write_bytes(_global_pickle(module, name))
    p = run_check(str(path))
    assert p.returncode == 1, p.stdout
    assert "byte offset 2: refused global %s.%s: " % (module, name) in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)


@pytest.mark.parametrize("data,shown", [
    (b'{"model": "x"}\n', '7b 22 6d 6f'),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 16, "89 48 44 46"),
    (b"\xef\xbf\xbd\x04\x95", "ef bf bd 04 95"),
])
def test_not_a_pickle_shows_first_bytes(tmp_path, data, shown):
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    p = run_check(str(path))
    assert p.returncode == 1, p.stdout
    assert "not a pickle or joblib file" in p.stderr, p.stderr
    assert shown in p.stderr, p.stderr


def _log1p_pipeline():
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    X, y = load_iris(return_X_y=True)
    return make_pipeline(FunctionTransformer(func=np.log1p), StandardScaler(),
                         LogisticRegression(max_iter=500)).fit(X, y)


@pytest.mark.parametrize("protocol", [0, 2, 4, "joblib"])
def test_unsupported_part_names_its_estimator_and_step(tmp_path, protocol):
    """A supported estimator with an unsupported part: the refusal names the
    step, the estimator and the attribute that holds the part, then the
    exact global, at every pickle protocol and through joblib."""
    import pickle

    import joblib
    m = _log1p_pipeline()
    path = str(tmp_path / "model.pkl")
    if protocol == "joblib":
        joblib.dump(m, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(m, f, protocol=protocol)
    p = run_check(path)
    assert p.returncode == 1, p.stdout
    assert ("Pipeline step 'functiontransformer': FunctionTransformer(func=numpy.log1p) "
            "is not supported: refused global numpy.core._multiarray_umath.log1p: "
            "not on the allowlist") in p.stderr, p.stderr


def test_unsupported_part_in_a_column_transformer(tmp_path):
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from conftest import save_model
    X, y = load_iris(return_X_y=True)
    ct = ColumnTransformer([("logs", FunctionTransformer(np.log1p), [0, 1]),
                            ("scaled", StandardScaler(), [2, 3])])
    p = run_check(save_model(make_pipeline(ct, LogisticRegression(max_iter=500)).fit(X, y),
                             tmp_path))
    assert p.returncode == 1, p.stdout
    assert ("Pipeline step 'columntransformer': ColumnTransformer step 'logs': "
            "FunctionTransformer(func=numpy.log1p) is not supported") in p.stderr, p.stderr


@pytest.mark.parametrize("protocol", [0, 4])
def test_unsupported_class_names_its_step(tmp_path, protocol):
    import pickle
    import warnings

    from sklearn.datasets import load_iris
    from sklearn.decomposition import NMF
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NMF's convergence says nothing here
        m = make_pipeline(NMF(n_components=2, max_iter=20), LogisticRegression()).fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(m, protocol=protocol))
    p = run_check(str(path))
    assert p.returncode == 1, p.stdout
    assert ("Pipeline step 'nmf': refused global sklearn.decomposition._nmf.NMF: this "
            "scikit-learn class is not supported by predictd") in p.stderr, p.stderr


def user_log(x):
    """A function of the user's own project, as a FunctionTransformer's func."""
    return x


def test_user_function_in_a_supported_estimator(tmp_path):
    """A function from the user's own code (this test module) inside a
    FunctionTransformer: both the part and the reason are named."""
    import pickle

    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    X, _ = load_iris(return_X_y=True)
    m = make_pipeline(FunctionTransformer(func=user_log), StandardScaler()).fit(X)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(m))
    p = run_check(str(path))
    assert p.returncode == 1, p.stdout
    assert ("Pipeline step 'functiontransformer': FunctionTransformer(func=%s.user_log) is "
            "not supported: refused global %s.user_log: the file needs code from the project "
            "that saved it" % (__name__, __name__)) in p.stderr, p.stderr
