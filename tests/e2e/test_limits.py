"""Files built to make the loader do unbounded work through shared
references are refused or summarised quickly, never walked to exhaustion.

Both files are made here with pickle.dump of ordinary Python objects whose
repeated parts pickle as memo references: small on disk, huge if expanded.
"""
import pickle
import time

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from conftest import run_check


def test_forest_of_one_tree_repeated_refused_quickly(tmp_path):
    X, y = load_iris(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=1, max_depth=2, random_state=0).fit(X, y)
    tree = rf.estimators_[0]
    # 2000 extra attributes make every visit of the tree scan a large dict
    for i in range(2000):
        setattr(tree, "junk_%d" % i, i)
    rf.estimators_ = [tree] * 200000
    rf.n_estimators = len(rf.estimators_)
    path = tmp_path / "amplified_forest.pkl"
    with open(path, "wb") as f:
        pickle.dump(rf, f, protocol=4)
    assert path.stat().st_size < 2_000_000
    t0 = time.monotonic()
    p = run_check(str(path), timeout=60)
    elapsed = time.monotonic() - t0
    assert p.returncode == 1, p.stdout + p.stderr
    assert "too large" in p.stderr, p.stderr
    assert elapsed < 30, "took %.1f s" % elapsed


def test_metadata_bomb_summarised(tmp_path):
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    bomb = [0] * 10
    for _ in range(12):          # 10**13 leaves if expanded
        bomb = [bomb] * 10
    path = tmp_path / "meta_bomb.pkl"
    with open(path, "wb") as f:
        pickle.dump({"model": model, "version": "1.0", "notes": bomb}, f)
    t0 = time.monotonic()
    p = run_check(str(path), timeout=60)
    assert p.returncode == 0, p.stderr
    assert 'notes = "(too large to show)"' in p.stdout, p.stdout
    assert 'version = "1.0"' in p.stdout, p.stdout
    assert time.monotonic() - t0 < 30
