"""Deadlines a client cannot stretch: --receive-timeout bounds the time
to send a whole request however the bytes trickle in (the idle --timeout
is reset by each one), and --request-timeout bounds the time a request
waits for and runs on a compute thread. scikit-learn's predict is the
oracle for every answer checked."""
import http.client
import json
import socket
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from conftest import Server, save_model


@pytest.fixture(scope="module")
def iris_lr(tmp_path_factory):
    X, y = load_iris(return_X_y=True)
    m = LogisticRegression(max_iter=1000).fit(X, y)
    return m, save_model(m, tmp_path_factory.mktemp("deadlines"))


@pytest.fixture(scope="module")
def slow_knn(tmp_path_factory):
    """Brute-force neighbours over 200,000 points: a 10,000-row batch runs
    for seconds (about 4 s here), far longer than a 1 s request timeout."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200000, 4))
    y = (X[:, 0] > 0).astype(int)
    m = KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(X, y)
    return m, save_model(m, tmp_path_factory.mktemp("deadlines"), "knn.pkl")


def post(port, path, body, timeout=60):
    """(status, headers, parsed body) over a fresh connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read())
    finally:
        c.close()


def trickle(port, head, drip, every=0.5, limit=20.0):
    """Sends head, then one byte of drip every `every` s (cycling) until the
    server cuts the connection; returns the seconds from the end of head to
    the cut, or None if it was not cut within limit."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(head)
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < limit:
            try:
                s.sendall(drip[i % len(drip):i % len(drip) + 1])
            except OSError:
                return time.monotonic() - t0
            i += 1
            # a cut shows as EOF (or a reset) on the reading side
            s.settimeout(every)
            try:
                if s.recv(4096) == b"":
                    return time.monotonic() - t0
            except socket.timeout:
                pass
            except OSError:
                return time.monotonic() - t0
        return None
    finally:
        s.close()


def test_trickled_headers_are_cut_at_the_receive_deadline(iris_lr):
    model, path = iris_lr
    X, _ = load_iris(return_X_y=True)
    want = model.predict(X[:5]).tolist()
    # the idle timeout (30 s) alone would never cut a byte every 0.5 s
    with Server(path, "--receive-timeout", "2", "--timeout", "30", drain_output=True) as s:
        answers, stop = [], threading.Event()

        def normal():
            while not stop.is_set():
                st, _, body = post(s.port, "/predict", {"instances": X[:5].tolist()})
                answers.append(st == 200 and body["predictions"] == want)
                time.sleep(0.2)

        t = threading.Thread(target=normal, daemon=True)
        t.start()
        try:
            cut = trickle(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"abcdefgh")
        finally:
            stop.set()
            t.join(timeout=30)
        assert cut is not None, "a trickling client was never cut off"
        # not before the deadline; the sweep runs four times a second
        assert 2.0 <= cut < 6.0, cut
        assert len(answers) > 5 and all(answers), answers
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                "--receive-timeout 2 s" in line for line in s.stderr_lines):
            time.sleep(0.05)
        assert any("did not send a whole request in time" in line
                   for line in s.stderr_lines), s.stderr_lines


def test_trickled_request_line_is_cut_after_idle_plus_receive(iris_lr):
    _, path = iris_lr
    with Server(path, "--receive-timeout", "1", "--timeout", "2") as s:
        cut = trickle(s.port, b"G", b"ET /healthz?" + b"a" * 100)
        assert cut is not None, "a trickled request line was never cut off"
        assert 3.0 - 0.5 <= cut < 7.0, cut  # 2 s idle + 1 s, less the first byte's wait


def test_slow_body_within_deadline_and_idle_keepalive_are_served(iris_lr):
    model, path = iris_lr
    X, _ = load_iris(return_X_y=True)
    with Server(path, "--receive-timeout", "2", "--timeout", "30") as s:
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        try:
            for k in range(2):
                body = json.dumps({"instances": X[k:k + 3].tolist()}).encode()
                c.putrequest("POST", "/predict")
                c.putheader("Content-Type", "application/json")
                c.putheader("Content-Length", str(len(body)))
                c.endheaders()
                third = len(body) // 3
                for part in (body[:third], body[third:2 * third], body[2 * third:]):
                    c.send(part)
                    time.sleep(0.4)  # 1.2 s in all: inside the 2 s deadline
                r = c.getresponse()
                got = json.loads(r.read())
                assert r.status == 200, got
                assert got["predictions"] == model.predict(X[k:k + 3]).tolist()
                # idle on a kept-alive connection past the receive deadline:
                # the idle timeout governs that wait, not the deadline
                time.sleep(3.0)
        finally:
            c.close()


def test_request_timeout_answers_503_504_and_the_pool_recovers(slow_knn):
    model, path = slow_knn
    rng = np.random.default_rng(5)
    batch = rng.uniform(-2, 2, size=(10000, 4)).round(3).tolist()
    rows = rng.uniform(-2, 2, size=(3, 4)).round(3)
    want = model.predict(rows).tolist()
    with Server(path, "--threads", "1", "--request-timeout", "1", drain_output=True) as s:
        out = []

        def big():
            t = time.monotonic()
            st, hdrs, body = post(s.port, "/predict", {"instances": batch})
            out.append((st, hdrs.get("Retry-After"), body, time.monotonic() - t))

        ts = []
        for _ in range(3):  # one computing, two waiting for the one thread
            ts.append(threading.Thread(target=big, daemon=True))
            ts[-1].start()
            time.sleep(0.1)
        for t in ts:
            t.join(timeout=60)
        assert len(out) == 3, out
        statuses = sorted(o[0] for o in out)
        assert statuses == [503, 503, 504], [(o[0], o[2]) for o in out]
        for st, retry, body, took in out:
            assert "--request-timeout" in body["error"], body
            assert retry == ("1" if st == 503 else None), (st, retry)
        # health is answered meanwhile, and the pool is not wedged: a small
        # request is computed (correctly) once the dropped batch is over
        assert s.request("GET", "/healthz")[0] == 200
        deadline, got = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            st, _, body = post(s.port, "/predict", {"instances": rows.tolist()})
            assert st in (200, 503), (st, body)
            if st == 200:
                got = body["predictions"]
                break
            time.sleep(0.2)
        assert got == want, got
