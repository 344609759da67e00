"""Models reload without a restart: SIGHUP (and --poll-interval) re-read
every source, the repository extension loads and unloads by name, a file
that fails to load leaves the old version serving, and requests in flight
during a swap all get an answer from one version or the other.
scikit-learn's predict is the oracle for both versions' answers."""
import http.client
import json
import os
import pickle
import shutil
import signal
import threading

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from conftest import BIN, Server, wait_for


def call(port, method, path, body=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        payload = r.read()
        return r.status, json.loads(payload) if payload else None
    finally:
        c.close()


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Two fitted models whose answers differ on ROWS, as pickle bytes."""
    X, y = load_iris(return_X_y=True)
    a = LogisticRegression(C=0.01, max_iter=1000).fit(X, y)
    b = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    rows = X[a.predict(X) != b.predict(X)][:6]
    assert len(rows) >= 3
    d = tmp_path_factory.mktemp("versions")
    out = []
    for name, m in (("a", a), ("b", b)):
        p = d / (name + ".pkl")
        with open(p, "wb") as f:
            pickle.dump(m, f)
        out.append((p.read_bytes(), m.predict(rows).tolist()))
    return rows.tolist(), out


def put(path, data):
    """Replaces path atomically (a new inode, a new mtime)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def model_dir_server(repo, *args):
    """A server of the repository repo plus one --model file, "fixed"
    (Server always passes a --model). fixed lives beside repo, not in it:
    a model file at the top of --model-dir is the one-file layout."""
    fixed = str(repo) + "-fixed.pkl"
    if not os.path.exists(fixed):
        X, y = load_iris(return_X_y=True)
        with open(fixed, "wb") as f:
            pickle.dump(LogisticRegression(max_iter=1000).fit(X, y), f)
    return Server("fixed=" + fixed, "--model-dir", str(repo), *args, drain_output=True)


def test_twenty_reloads_under_load(versions, tmp_path):
    rows, ((a_bytes, a_ans), (b_bytes, b_ans)) = versions
    f = str(tmp_path / "m" / "1" / "model.pkl")
    put(f, a_bytes)
    # access lines go to a file: stderr keeps only the reload messages,
    # which the client flood would otherwise push out of stderr_lines
    s = model_dir_server(tmp_path, "--access-log", str(tmp_path / "access.log"))
    try:
        answers, failures = [], []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    st, body = call(s.port, "POST", "/v1/models/m:predict", {"instances": rows})
                    if st != 200:
                        failures.append((st, body))
                    else:
                        answers.append(body["predictions"])
                except Exception as e:
                    failures.append(repr(e))

        workers = [threading.Thread(target=load, daemon=True) for _ in range(3)]
        for w in workers:
            w.start()
        switched = 0
        try:
            for i in range(20):
                data, want = (b_bytes, b_ans) if i % 2 == 0 else (a_bytes, a_ans)
                put(f, data)
                s.proc.send_signal(signal.SIGHUP)
                if wait_for(lambda: (call(s.port, "POST", "/v1/models/m:predict",
                                          {"instances": rows})[1] or {}).get("predictions")
                            == want):
                    switched += 1
        finally:
            stop.set()
        for w in workers:
            w.join(timeout=60)
        # the server writes each reload's line before the new file serves,
        # but the thread that reads its stderr may not have it yet
        replaced = "replaced model 'm' version 1"
        wait_for(lambda: "".join(s.stderr_lines).count(replaced) >= 20)
        log = "".join(s.stderr_lines)
        assert not failures, (failures[:5], log)
        assert switched == 20, log
        assert answers and all(a in (a_ans, b_ans) for a in answers)
        assert any(a == a_ans for a in answers) and any(a == b_ans for a in answers)
        assert log.count(replaced) == 20, log
    finally:
        s.stop()


def test_versions_appear_and_go_and_a_bad_file_keeps_the_old(versions, tmp_path):
    rows, ((a_bytes, a_ans), (b_bytes, b_ans)) = versions
    put(str(tmp_path / "m" / "1" / "model.pkl"), a_bytes)
    s = model_dir_server(tmp_path)
    try:
        def index():
            return call(s.port, "POST", "/v2/repository/index", {})[1]

        put(str(tmp_path / "m" / "2" / "model.pkl"), b_bytes)
        put(str(tmp_path / "n" / "1" / "model.pkl"), a_bytes)
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(index()) == 4), index()
        assert all(e["state"] == "READY" for e in index()), index()
        assert call(s.port, "POST", "/v1/models/m:predict",
                    {"instances": rows})[1]["predictions"] == b_ans  # the highest
        assert call(s.port, "POST", "/v1/models/m/versions/1:predict",
                    {"instances": rows})[1]["predictions"] == a_ans

        shutil.rmtree(tmp_path / "n")
        put(str(tmp_path / "m" / "2" / "model.pkl"), b"not a pickle at all")
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: len(index()) == 3), index()
        assert wait_for(lambda: [e for e in index() if e["version"] == "2" and e["reason"]])
        v2 = [e for e in index() if e["version"] == "2"][0]
        assert v2["state"] == "READY" and "reload failed" in v2["reason"], v2
        assert call(s.port, "POST", "/v1/models/m/versions/2:predict",
                    {"instances": rows})[1]["predictions"] == b_ans
        assert call(s.port, "GET", "/v2/models/n")[0] == 404
        assert "cannot load" in "".join(s.stderr_lines)
    finally:
        s.stop()


def test_repository_load_and_unload(versions, tmp_path):
    rows, ((a_bytes, a_ans), _) = versions
    put(str(tmp_path / "m" / "1" / "model.pkl"), a_bytes)
    s = model_dir_server(tmp_path)
    try:
        assert call(s.port, "POST", "/v2/repository/models/m/unload") == (200, {})
        assert call(s.port, "GET", "/v2/models/m")[0] == 404
        st, body = call(s.port, "POST", "/v2/repository/models/nope/load")
        assert st == 404 and "nope" in body["error"], body
        assert call(s.port, "POST", "/v2/repository/models/m/load") == (200, {})
        assert call(s.port, "POST", "/v1/models/m:predict",
                    {"instances": rows})[1]["predictions"] == a_ans
        assert call(s.port, "GET", "/v2/repository/models/m/load")[0] == 405
    finally:
        s.stop()


def test_poll_interval_reloads_without_a_signal(versions, tmp_path):
    rows, ((a_bytes, a_ans), (b_bytes, b_ans)) = versions
    f = str(tmp_path / "m" / "1" / "model.pkl")
    put(f, a_bytes)
    s = model_dir_server(tmp_path, "--poll-interval", "1")
    try:
        put(f, b_bytes)
        assert wait_for(lambda: call(s.port, "POST", "/v1/models/m:predict",
                                     {"instances": rows})[1]["predictions"] == b_ans)
    finally:
        s.stop()
