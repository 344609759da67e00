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
    ("imblearn.over_sampling._smote.base", "SMOTE", ["an imbalanced-learn object"]),
    ("__main__", "MyTransformer", ["needs code from the project that saved it",
                                  "'__main__'", "never runs"]),
    ("src.features.build", "clean_text", ["needs code from the project", "'src'"]),
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
