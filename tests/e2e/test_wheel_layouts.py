"""Files as scikit-learn 1.5-1.7's pip wheels write them.

Those wheels are built with meson, which gives the Cython loss classes
`__module__ == '_loss'`: a GradientBoosting, HistGradientBoosting or SGD
file names `_loss.CyHalfBinomialLoss`, `_loss.__pyx_unpickle_...` where
every Debian build writes `sklearn._loss._loss.*` (../shared/FORMATS.md,
scikit-learn issue #30062). No Debian release ships those wheels, so the
1.4 and 1.9 matrix fixtures that name the loss module are rewritten here
opcode by opcode into that spelling (nothing else changes: the same
objects, the same arrays) and must give the outputs the writing version
recorded for the original. The real-world corpus holds genuine wheel files
of a few kinds (tests/e2e/test_realworld.py); this covers every loss and
estimator the matrix has.
"""
import glob
import io
import json
import os
import pickletools
import struct

import pytest

from conftest import FIXTURES
from test_matrix import run_eval, same_labels, same_numbers

MATRIX = os.path.join(FIXTURES, "matrix")
DEBIAN = "sklearn._loss._loss"
WHEEL = "_loss"


def wheel_spelling(data):
    """The pickle with the loss module spelled as the meson wheels spell
    it. FRAME opcodes are dropped (framing is optional, and lengths change);
    every other opcode is copied byte for byte."""
    out = io.BytesIO()
    ops = list(pickletools.genops(data))
    renamed = 0
    for k, (op, arg, pos) in enumerate(ops):
        end = ops[k + 1][2] if k + 1 < len(ops) else len(data)
        if op.name == "FRAME":
            continue
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE") and arg == DEBIAN:
            b = WHEEL.encode()
            out.write(b"\x8c" + bytes([len(b)]) + b)
            renamed += 1
        elif op.name == "GLOBAL" and arg.split(" ", 1)[0] == DEBIAN:
            out.write(b"c" + WHEEL.encode() + b"\n" + arg.split(" ", 1)[1].encode() + b"\n")
            renamed += 1
        else:
            out.write(data[pos:end])
    return out.getvalue(), renamed


def _cases():
    out = []
    for version in ("1.4.2", "1.9.0"):
        for pkl in sorted(glob.glob(os.path.join(MATRIX, version, "*.pkl"))):
            with open(pkl, "rb") as f:
                if DEBIAN.encode() in f.read():
                    out.append(pytest.param(pkl, id="%s-%s" % (version, os.path.basename(pkl)[:-4])))
    return out


CASES = _cases()


def test_there_are_loss_files_to_rewrite():
    assert len(CASES) >= 40, len(CASES)


@pytest.mark.parametrize("pkl", CASES)
def test_wheel_spelling_agrees(pkl, tmp_path):
    with open(pkl, "rb") as f:
        data = f.read()
    rewritten, renamed = wheel_spelling(data)
    assert renamed >= 1 and DEBIAN.encode() not in rewritten
    path = str(tmp_path / os.path.basename(pkl))
    with open(path, "wb") as f:
        f.write(rewritten)
    with open(pkl[:-4] + ".json") as f:
        rec = json.load(f)
    got = run_eval(path, rec["X"])
    for method, want in rec["outputs"].items():
        assert method in got, method
        if method == "predict" and rec["kind"] == "classifier":
            assert same_labels(got[method], want), method
        else:
            assert same_numbers(got[method], want), method


@pytest.mark.parametrize("solver", ["lbfgs", "liblinear"])
def test_logistic_multi_class_deprecated_of_1_5_is_auto(solver, tmp_path):
    """scikit-learn 1.5-1.7 store multi_class='deprecated' when it was not
    given, and then behave as 'auto' (multinomial for lbfgs with 3
    classes, one-vs-rest for liblinear). 1.2 writes 'auto'; the same fitted
    model with the 1.5 value must answer as the installed scikit-learn
    answers for 'auto'."""
    import pickle

    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    lr = LogisticRegression(solver=solver, max_iter=2000).fit(X, y)
    rows = X[::9]
    want_label, want_proba = lr.predict(rows).tolist(), lr.predict_proba(rows)
    lr.multi_class = "deprecated"
    path = tmp_path / "lr.pkl"
    path.write_bytes(pickle.dumps(lr, protocol=4))
    assert b"deprecated" in path.read_bytes()
    got = run_eval(str(path), rows.tolist())
    assert got["predict"] == want_label
    assert same_numbers(got["predict_proba"], want_proba)
    # the other rule gives other numbers for these coefficients, so the
    # agreement above says which rule was applied
    lr.multi_class = "ovr" if solver == "lbfgs" else "multinomial"
    path.write_bytes(pickle.dumps(lr, protocol=4))
    assert not same_numbers(run_eval(str(path), rows.tolist())["predict_proba"], want_proba)
