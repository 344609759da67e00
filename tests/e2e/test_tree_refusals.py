"""What the tree family refuses, and that it says what it refused.

Gradient boosting is served only with the init estimators scikit-learn
makes by default (a DummyRegressor, DummyClassifier(strategy='prior') or
'zero'), and from 1.4 only with the exact loss / Cython twin / link
triple each loss class holds. The Cython and link objects are data; a
file that pairs them differently is refused by name rather than served
with the wrong link.
"""
import json
import os
import pickle
import struct
import subprocess

import pytest

from sklearn.datasets import load_diabetes, load_iris
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.tree import DecisionTreeRegressor

from conftest import BIN


def eval_file(path):
    return subprocess.run([BIN, "eval", str(path)],
                          input=json.dumps({"instances": [[0.0] * 4]}),
                          capture_output=True, text=True, timeout=60)


def dump(tmp_path, model):
    path = tmp_path / "model.pkl"
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return path


def test_gb_custom_init_estimator_refused_by_name(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    m = GradientBoostingRegressor(n_estimators=2, max_depth=1,
                                  init=DecisionTreeRegressor(max_depth=1)).fit(X, y)
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "custom init estimator (DecisionTreeRegressor)" in p.stderr


def test_gb_dummy_most_frequent_init_refused_by_strategy(tmp_path):
    X, y = load_iris(return_X_y=True)
    m = GradientBoostingClassifier(n_estimators=2, max_depth=1,
                                   init=DummyClassifier(strategy="most_frequent")).fit(X, y)
    p = eval_file(dump(tmp_path, m))
    assert p.returncode != 0
    assert "strategy most_frequent" in p.stderr


# --- hand-written protocol 2 pickles of a 1.4-style loss ----------------

def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def ustr(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def gb_with_loss(loss_cls, cy_fn, cy_arg_cls, link_cls):
    """GradientBoostingRegressor whose _loss is loss_cls with closs =
    cy_fn(cy_arg_cls, 1, ()) and link = link_cls(); nothing else."""
    closs = (glob("sklearn._loss._loss", cy_fn) + b"(" + glob("sklearn._loss._loss", cy_arg_cls)
             + b"K\x01)t" + b"R")
    link = glob("sklearn._loss.link", link_cls) + b")\x81"
    loss = (glob("sklearn._loss.loss", loss_cls) + b")\x81}" + ustr("closs") + closs + b"s"
            + ustr("link") + link + b"s" + b"b")
    return (b"\x80\x02" + glob("sklearn.ensemble._gb", "GradientBoostingRegressor") + b")\x81}"
            + ustr("_sklearn_version") + ustr("1.4.2") + b"s"
            + ustr("_loss") + loss + b"s" + b"b.")


def refused(tmp_path, data, message):
    path = tmp_path / "hand.pkl"
    path.write_bytes(data)
    p = eval_file(path)
    return p.returncode != 0 and message in p.stderr


@pytest.mark.parametrize("loss,twin_fn,twin_cls,link,message", [
    ("HuberLoss", "__pyx_unpickle_CyHuberLoss", "CyPinballLoss", "IdentityLink",
     "closs: expected the CyHuberLoss that HuberLoss holds"),
    ("HuberLoss", "__pyx_unpickle_CyHuberLoss", "CyHuberLoss", "LogitLink",
     "link: expected IdentityLink for HuberLoss, found LogitLink"),
    ("HalfBinomialLoss", "__pyx_unpickle_CyHalfBinomialLoss", "CyHalfBinomialLoss", "LogitLink",
     "loss HalfBinomialLoss does not belong to it"),
], ids=["another_cython_twin", "another_link", "classifier_loss_in_regressor"])
def test_gb_loss_mismatched_parts_refused(tmp_path, loss, twin_fn, twin_cls, link, message):
    assert refused(tmp_path, gb_with_loss(loss, twin_fn, twin_cls, link), message)


def test_gb_well_formed_loss_gets_past_the_loss_check(tmp_path):
    # the right triple fails later, on what the file lacks: the refusals
    # above come from the loss check
    assert refused(tmp_path, gb_with_loss("HuberLoss", "__pyx_unpickle_CyHuberLoss",
                                          "CyHuberLoss", "IdentityLink"),
                   "has no learning_rate")
