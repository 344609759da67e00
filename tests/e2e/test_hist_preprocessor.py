"""HistGradientBoosting's _preprocessor (1.4+), and functools.partial:
accepted only as scikit-learn's own wrapper, in its own place; refused, by
name, everywhere else.

From 1.4 a HistGradientBoosting model with categorical features keeps a
_preprocessor whose numerical part is FunctionTransformer(functools.partial(
sklearn.utils.validation.check_array, dtype=[numpy.float64],
force_all_finite=False)) (ensure_all_finite from 1.6). predictd loads that,
never calls it, and refuses every other partial: over another function,
with other arguments, without its state, referenced twice, as bare data, or
the exact wrapper anywhere but in that place. Files are the committed 1.4
and 1.9 fixtures, edited byte by byte where the change must sit inside the
preprocessor, or models pickled here with a partial put somewhere else.
Where the stream itself gives the partial away, the reason points at the
opcode that names functools.partial, as the hostile-corpus tests ask."""
import functools
import os
import pickle
import pickletools
import subprocess

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_array

from conftest import BIN, FIXTURES
import pickle_inspect

VERSIONS = ["1.4.2", "1.9.0"]
FINITE = {"1.4.2": b"force_all_finite", "1.9.0": b"ensure_all_finite"}


def real(version):
    with open(os.path.join(FIXTURES, "matrix", version, "hgb_reg_categorical.pkl"), "rb") as f:
        return f.read()


def check(tmp_path, data):
    path = tmp_path / "model.pkl"
    path.write_bytes(data)
    return subprocess.run([BIN, "check", str(path)], capture_output=True, text=True,
                          timeout=60)


def partial_offsets(data):
    """Where the stream names functools.partial (opcode start, end)."""
    found = [(g.pos, g.end) for g in pickle_inspect.scan(data).globals
             if g.name == "functools.partial"]
    assert found, "no functools.partial in the stream"
    return found


def assert_refused_at_partial(p, data, *words):
    assert p.returncode == 1, p.stdout
    assert "refused global functools.partial" in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)
    first = int(p.stderr.split("byte offset ", 1)[1].split(":", 1)[0])
    assert any(lo <= first <= hi for lo, hi in partial_offsets(data)), p.stderr


def without_frames(data):
    """The same stream with its FRAME opcodes dropped (they are advisory),
    so that edits may change lengths."""
    out, last = [], 0
    for op, arg, pos in pickletools.genops(data):
        if op.name == "FRAME":
            out.append(data[last:pos])
            last = pos + 9
    out.append(data[last:])
    return b"".join(out)


def swap_text(data, old, new):
    """Replaces the one SHORT_BINUNICODE old with new."""
    a = b"\x8c" + bytes([len(old)]) + old
    assert data.count(a) == 1, (old, data.count(a))
    return data.replace(a, b"\x8c" + bytes([len(new)]) + new)


def first_op_after(data, name, after):
    for op, arg, pos in pickletools.genops(data):
        if op.name == name and pos > after:
            return pos
    raise AssertionError("no %s after %d" % (name, after))


@pytest.mark.parametrize("version", VERSIONS)
def test_partial_served_in_its_place(tmp_path, version):
    p = check(tmp_path, real(version))
    assert p.returncode == 0, p.stderr
    assert "HistGradientBoostingRegressor" in p.stdout


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("module,name,said", [
    (b"sklearn.linear_model._logistic", b"LogisticRegression",
     "it wraps sklearn.linear_model._logistic.LogisticRegression"),
    # a global the reader refuses anyway: the partial is still named first
    (b"posix", b"system", "posix.system"),
])
def test_partial_over_another_function_refused(tmp_path, version, module, name, said):
    data = without_frames(real(version))
    data = swap_text(data, b"sklearn.utils.validation", module)
    data = swap_text(data, b"check_array", name)
    p = check(tmp_path, data)
    assert_refused_at_partial(p, data, said)


@pytest.mark.parametrize("version", VERSIONS)
def test_partial_with_finite_check_on_refused(tmp_path, version):
    data = real(version)
    key = b"\x8c" + bytes([len(FINITE[version])]) + FINITE[version] + b"\x94\x89"
    assert data.count(key) == 1
    data = data.replace(key, key[:-1] + b"\x88")  # False -> True, same length
    p = check(tmp_path, data)
    assert_refused_at_partial(p, data, "binds %s to something other than False"
                              % FINITE[version].decode())


@pytest.mark.parametrize("version", VERSIONS)
def test_partial_with_another_keyword_refused(tmp_path, version):
    data = swap_text(without_frames(real(version)), FINITE[version], b"copy")
    p = check(tmp_path, data)
    assert_refused_at_partial(p, data, "binds a keyword copy")


@pytest.mark.parametrize("version", VERSIONS)
def test_partial_without_its_state_refused(tmp_path, version):
    """The partial's BUILD turned into POP: a partial(check_array) that
    binds nothing, in the right place."""
    data = bytearray(real(version))
    at = first_op_after(bytes(data), "BUILD", partial_offsets(bytes(data))[0][0])
    data[at:at + 1] = b"0"
    p = check(tmp_path, bytes(data))
    assert p.returncode == 1
    assert "refused global functools.partial: it binds no keywords" in p.stderr, p.stderr
    assert "_preprocessor.transformers_" in p.stderr or "_preprocessor.transformers" in p.stderr


# --- the exact wrapper, somewhere else --------------------------------------

def sklearn_partial():
    return functools.partial(check_array, dtype=[np.float64], force_all_finite=False)


def plain_hgb():
    X, y = load_diabetes(return_X_y=True)
    return HistGradientBoostingRegressor(max_iter=2, random_state=0).fit(X, y)


def check_model(tmp_path, obj):
    data = pickle.dumps(obj, protocol=4)
    return check(tmp_path, data), data


def test_exact_partial_as_another_attribute_refused(tmp_path):
    m = plain_hgb()
    m.validate = sklearn_partial()
    p, data = check_model(tmp_path, m)
    assert_refused_at_partial(p, data, "is not there")


def test_exact_partial_in_a_column_transformer_refused(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    ct = ColumnTransformer([("num", FunctionTransformer(sklearn_partial()), [0, 1])])
    pipe = Pipeline([("ct", ct), ("lr", LogisticRegression())]).fit(X, y > y.mean())
    p, _ = check_model(tmp_path, pipe)
    assert p.returncode == 1
    assert "functools.partial" in p.stderr, p.stderr


def test_exact_partial_in_the_metadata_wrapper_refused(tmp_path):
    p, data = check_model(tmp_path, {"model": plain_hgb(), "check": sklearn_partial()})
    assert p.returncode == 1
    assert "functools.partial" in p.stderr, p.stderr


def test_exact_partial_as_the_model_refused(tmp_path):
    p, _ = check_model(tmp_path, sklearn_partial())
    assert p.returncode == 1
    assert "functools.partial" in p.stderr, p.stderr


def test_partial_referenced_twice_refused(tmp_path):
    m = plain_hgb()
    f = sklearn_partial()
    m.validate = [f, f]  # the pickler writes the second as a memo GET
    p, data = check_model(tmp_path, m)
    assert_refused_at_partial(p, data, "referenced a second time")


def test_bare_partial_class_refused(tmp_path):
    m = plain_hgb()
    m.validate = functools.partial
    p, data = check_model(tmp_path, m)
    assert_refused_at_partial(p, data, "uses it other than to wrap")


def test_partial_with_positional_arguments_refused(tmp_path):
    m = plain_hgb()
    m.validate = functools.partial(check_array, [[1.0]], dtype=[np.float64],
                                   force_all_finite=False)
    p, data = check_model(tmp_path, m)
    assert_refused_at_partial(p, data, "binds positional arguments")


def test_partial_with_attributes_refused(tmp_path):
    m = plain_hgb()
    m.validate = sklearn_partial()
    m.validate.note = "x"
    p, data = check_model(tmp_path, m)
    assert_refused_at_partial(p, data, "carries attributes of its own")


def test_partial_over_a_builtin_refused(tmp_path):
    m = plain_hgb()
    m.validate = functools.partial(eval, "1")
    p, data = check_model(tmp_path, m)
    assert_refused_at_partial(p, data, "eval")


# --- what the preprocessor may hold ----------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_encoder_keeping_unknown_categories_refused(tmp_path, version):
    data = swap_text(without_frames(real(version)), b"use_encoded_value", b"error")
    p = check(tmp_path, data)
    assert p.returncode == 1
    assert "unknown and missing values encoded as NaN" in p.stderr, p.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_preprocessor_with_another_part_refused(tmp_path, version):
    data = swap_text(real(version), b"numerical", b"numerics!")  # same length
    p = check(tmp_path, data)
    assert p.returncode == 1
    assert "expected the parts 'encoder', 'numerical'" in p.stderr, p.stderr
