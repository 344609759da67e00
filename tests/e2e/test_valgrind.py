"""The server's threads under valgrind: the registry (SIGHUP reloads, a
file that fails to load, the repository extension's unload and load),
the compute pool (answers, --request-timeout giving up on queued and
running jobs), the receive deadline cutting a trickling client, and the
drain on SIGTERM, with no memory error and no definite leak. Skipped when
valgrind is not installed. scikit-learn's predict is the oracle."""
import pickle
import shutil
import signal
import socket
import stat
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

import conftest
from conftest import Server
from test_reload import put, wait_for

VALGRIND = shutil.which("valgrind")


@pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed")
@pytest.mark.skipif(conftest.SANITIZED, reason="a sanitizer build does not run under valgrind")
def test_registry_pool_and_drain_are_clean_under_valgrind(tmp_path, monkeypatch):
    X, y = load_iris(return_X_y=True)
    a = LogisticRegression(C=0.01, max_iter=1000).fit(X, y)
    b = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    rows = X[a.predict(X) != b.predict(X)][:4]
    rng = np.random.default_rng(0)
    P = rng.normal(size=(5000, 4))
    slow = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(P, P[:, 0] > 0)
    batch = rng.normal(size=(2000, 4)).round(3).tolist()
    repo = tmp_path / "repo"
    put(str(repo / "m" / "1" / "model.pkl"), pickle.dumps(a))
    slow_path = str(tmp_path / "slow.pkl")
    with open(slow_path, "wb") as f:
        pickle.dump(slow, f)

    log = str(tmp_path / "valgrind.log")
    wrapper = tmp_path / "predictd-valgrind"
    wrapper.write_text("#!/bin/sh\nexec %s --error-exitcode=99 --leak-check=full "
                       "--errors-for-leak-kinds=definite --log-file=%s %s \"$@\"\n"
                       % (VALGRIND, log, conftest.BIN))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(conftest, "BIN", str(wrapper))

    s = Server("slow=" + slow_path, "--model-dir", str(repo), "--threads", "1",
               "--request-timeout", "1", "--receive-timeout", "2", "--timeout", "30",
               timeout=120, drain_output=True)
    try:
        def infer(name, version=None, data=rows):
            path = "/v2/models/%s%s/infer" % (name, "/versions/%s" % version if version else "")
            body = {"inputs": [{"name": "input-0", "shape": [len(data), 4],
                                "datatype": "FP64", "data": np.asarray(data).ravel().tolist()}]}
            st, got = s.request("POST", path, body)
            return st, got["outputs"][0]["data"] if st == 200 else got

        assert infer("m") == (200, a.predict(rows).tolist())
        # a new version, then a broken file: the old one goes on serving
        put(str(repo / "m" / "2" / "model.pkl"), pickle.dumps(b))
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: infer("m", 2)[0] == 200, 60)
        assert infer("m") == (200, b.predict(rows).tolist())
        put(str(repo / "m" / "2" / "model.pkl"), b"\x80\x04not a pickle")
        s.proc.send_signal(signal.SIGHUP)

        def failed():
            st, idx = s.request("POST", "/v2/repository/index", {})
            return any(e.get("reason") for e in idx)
        assert wait_for(failed, 60)
        assert infer("m") == (200, b.predict(rows).tolist())
        # the repository extension
        assert s.request("POST", "/v2/repository/models/m/unload", {})[0] == 200
        assert infer("m")[0] == 404
        put(str(repo / "m" / "2" / "model.pkl"), pickle.dumps(b))
        assert s.request("POST", "/v2/repository/models/m/load", {})[0] == 200
        assert infer("m") == (200, b.predict(rows).tolist())

        # the pool: one batch runs past the request timeout, one waits past it
        out = []

        def big():
            out.append(infer("slow", data=batch)[0])
        ts = [threading.Thread(target=big, daemon=True) for _ in range(2)]
        for t in ts:
            t.start()
            time.sleep(0.2)
        for t in ts:
            t.join(timeout=120)
        assert len(out) == 2 and set(out) <= {200, 503, 504}, out
        print("slow batches under valgrind:", out)

        # a trickling client is cut at the receive deadline
        c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        cut = False
        for _ in range(60):
            try:
                c.sendall(b"a")
                c.settimeout(0.5)
                if c.recv(100) == b"":
                    cut = True
                    break
            except socket.timeout:
                continue
            except OSError:
                cut = True
                break
        c.close()
        assert cut

        s.proc.send_signal(signal.SIGTERM)
        code = s.proc.wait(timeout=300)
    finally:
        s.stop()
    with open(log) as f:
        report = f.read()
    assert code == 0, report[-3000:]
    assert "ERROR SUMMARY: 0 errors" in report, report[-3000:]
