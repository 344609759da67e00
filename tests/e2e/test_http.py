"""HTTP edge of predictd: status codes, JSON error bodies, limits, readiness,
and survival under malformed traffic. Runs the real binary on loopback with
an iris LogisticRegression fitted here by Debian's scikit-learn.

Contract relied on (nothing else is assumed):
- GET /healthz -> 200 as soon as the socket is bound; GET /readyz -> 200 once
  the model is loaded, 503 (JSON body) before.
- POST /predict {"features": [...]} or {"instances": [[...], ...]}.
- Every error response is JSON {"error": "<non-empty string>"} with a JSON
  Content-Type: malformed JSON, a missing "features"/"instances", a wrong
  feature count (message names expected 4 and got N), a non-numeric value
  (message names its index), empty "instances" -> 400; body over
  --max-body-bytes -> 413; unknown path -> 404; wrong method -> 405;
  headers past about 15 KiB -> 431 (libmicrohttpd's own HTML answer: it
  refuses them before predictd sees the request).
- A /predict request that arrives before the model is loaded -> 503.

The shape of a successful /predict body is not fixed by the contract:
predictions are compared to scikit-learn when the body has one of
PREDICTION_KEYS, otherwise only status 200 and the absence of "error" count.
"""
import errno
import http.client
import json
import os
import pickle
import random
import re
import socket
import time

import numpy as np
import pytest

from conftest import Server
import iris_models

HOST = "127.0.0.1"
N_FEATURES = 4
GOOD_ROW = [5.1, 3.5, 1.4, 0.2]          # iris[0], setosa
OTHER_ROW = [6.7, 3.0, 5.2, 2.3]         # iris[145], virginica
PREDICTION_KEYS = ("predictions", "prediction", "labels", "label", "classes", "outputs")


# ------------------------------------------------------------------ helpers --
@pytest.fixture(scope="session")
def iris_model(tmp_path_factory):
    """(path, fitted model) of a pickled iris LogisticRegression."""
    model = iris_models.fit_logreg()
    path = str(tmp_path_factory.mktemp("http-model") / "iris_logreg.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return path, model


@pytest.fixture(scope="module")
def server(iris_model):
    s = Server(iris_model[0], drain_output=True)
    yield s
    s.stop()


def call(port, method, path, body=None, headers=None, timeout=15):
    """One request on a fresh connection: (status, {header: value}, bytes)."""
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def json_error(status, headers, body, expected_status):
    """Asserts an error response and returns its message."""
    shown = body[:300]
    assert status == expected_status, "expected %d, got %d: %r" % (expected_status, status, shown)
    assert "json" in headers.get("content-type", ""), \
        "error Content-Type %r, body %r" % (headers.get("content-type"), shown)
    try:
        doc = json.loads(body)
    except ValueError:
        pytest.fail("error body is not JSON: %r" % shown)
    assert isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"].strip(), \
        "error body lacks a non-empty \"error\" string: %r" % shown
    return doc["error"]


def predictions_of(doc):
    """The list of labels in a /predict answer, or None if the shape is unknown."""
    if not isinstance(doc, dict):
        return None
    for k in PREDICTION_KEYS:
        if k in doc:
            return np.asarray(doc[k]).ravel().tolist()
    return None


def assert_predicts(port, model, rows, body):
    status, headers, raw = call(port, "POST", "/predict", body)
    assert status == 200, (status, raw[:300])
    doc = json.loads(raw)
    assert isinstance(doc, dict) and "error" not in doc, doc
    got = predictions_of(doc)
    if got is not None:
        assert got == model.predict(np.asarray(rows)).tolist(), doc
    return doc


def raw_send(port, data, slow_from=None, delay=0.0, read=True, timeout=10):
    """Writes bytes on a raw socket and returns what the server answered
    before closing or going quiet (b"" if nothing). With slow_from, the bytes
    from that offset on are sent one at a time, `delay` seconds apart."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        if slow_from is None:
            s.sendall(data)
        else:
            s.sendall(data[:slow_from])
            for i in range(slow_from, len(data)):
                time.sleep(delay)
                s.sendall(data[i:i + 1])
        if not read:
            return b""
        out = b""
        s.settimeout(timeout)
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except OSError as e:
                if e.errno in (errno.ECONNRESET, errno.EPIPE):
                    break
                raise
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out and _complete(out):
                break
        return out
    finally:
        s.close()


def _complete(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return m is not None and len(body) >= int(m.group(1))


def _status_of(resp):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp)
    return int(m.group(1)) if m else None


def request_bytes(body, content_length=None, path="/predict", extra=b""):
    cl = len(body) if content_length is None else content_length
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n" + extra +
            b"Content-Length: " + str(cl).encode() + b"\r\n\r\n" + body)


# -------------------------------------------------------------- basic routes --
def test_healthz_ok(server):
    status, _, body = call(server.port, "GET", "/healthz")
    assert status == 200, body


def test_readyz_ok_once_loaded(server):
    status, _, body = call(server.port, "GET", "/readyz")
    assert status == 200, body


def test_predict_features_ok(server, iris_model):
    assert_predicts(server.port, iris_model[1], [GOOD_ROW], {"features": GOOD_ROW})


def test_predict_instances_ok(server, iris_model):
    rows = [GOOD_ROW, OTHER_ROW]
    assert_predicts(server.port, iris_model[1], rows, {"instances": rows})


@pytest.mark.parametrize("body", [
    b"{",
    b"not json",
    b"",
    b'{"features": [5.1, 3.5, 1.4, 0.2]',
    b'{"features": [5.1, 3.5, 1.4, 0.2]} {}',
    b'{"features": [5.1, 3.5,, 1.4, 0.2]}',
    b"{'features': [5.1, 3.5, 1.4, 0.2]}",
    b'{"features": [5.1.1, 3.5, 1.4, 0.2]}',
    b'{"features": [5.1, 3.5, 1.4, 0.2],}',
    b'\xff\xfe{"features": [5.1, 3.5, 1.4, 0.2]}',
    b'{"features" [5.1, 3.5, 1.4, 0.2]}',
], ids=lambda b: repr(b[:24]))
def test_malformed_json_400(server, body):
    json_error(*call(server.port, "POST", "/predict", body), 400)


@pytest.mark.parametrize("body,got", [
    ({"features": GOOD_ROW[:3]}, 3),
    ({"features": GOOD_ROW + [1.0]}, 5),
    ({"instances": [GOOD_ROW, GOOD_ROW[:3]]}, 3),
    ({"instances": [[1.0]]}, 1),
], ids=["features-3", "features-5", "instances-row1-3", "instances-1"])
def test_wrong_feature_count_400_names_expected_and_got(server, body, got):
    msg = json_error(*call(server.port, "POST", "/predict", body), 400)
    assert re.search(r"\b%d\b" % N_FEATURES, msg), "expected count %d missing: %r" % (N_FEATURES, msg)
    assert re.search(r"\b%d\b" % got, msg), "received count %d missing: %r" % (got, msg)


@pytest.mark.parametrize("value", ["5.1", None, True, False, [1.0], {"x": 1.0}],
                         ids=["string", "null", "true", "false", "nested-list", "object"])
def test_non_numeric_feature_400_names_index(server, value):
    row = [5.1, 3.5, 1.4, 0.2]
    row[2] = value
    msg = json_error(*call(server.port, "POST", "/predict", {"features": row}), 400)
    assert re.search(r"\b2\b", msg), "index 2 not named: %r" % msg


def test_non_numeric_in_instances_400_names_index(server):
    rows = [GOOD_ROW, [5.1, 3.5, "x", 0.2]]
    msg = json_error(*call(server.port, "POST", "/predict", {"instances": rows}), 400)
    assert re.search(r"\b2\b", msg), "index 2 not named: %r" % msg


@pytest.mark.parametrize("body", [
    {},
    {"feature": GOOD_ROW},
    {"data": [GOOD_ROW]},
    [GOOD_ROW],
    GOOD_ROW,
    "features",
    b"null",
], ids=["empty-object", "feature-typo", "other-key", "top-level-list", "bare-row", "string", "null"])
def test_missing_features_key_400(server, body):
    json_error(*call(server.port, "POST", "/predict", body), 400)


@pytest.mark.parametrize("body", [
    {"features": "5.1,3.5,1.4,0.2"},
    {"features": 5.1},
    {"features": None},
    {"features": {"a": 1}},
    {"instances": GOOD_ROW},
    {"instances": "x"},
    {"instances": [GOOD_ROW, None]},
], ids=["features-string", "features-number", "features-null", "features-object",
        "instances-flat", "instances-string", "instances-null-row"])
def test_wrong_shape_400(server, body):
    json_error(*call(server.port, "POST", "/predict", body), 400)


@pytest.mark.parametrize("body", [{"instances": []}, {"features": []}],
                         ids=["instances", "features"])
def test_empty_input_400(server, body):
    json_error(*call(server.port, "POST", "/predict", body), 400)


@pytest.mark.parametrize("path", ["/nope", "/predictx", "/healthz/extra", "/predict/1"])
def test_unknown_path_404(server, path):
    json_error(*call(server.port, "GET", path), 404)


@pytest.mark.parametrize("method,path", [
    ("GET", "/predict"), ("PUT", "/predict"), ("DELETE", "/predict"),
    ("POST", "/healthz"), ("POST", "/readyz"),
])
def test_wrong_method_405(server, method, path):
    body = {"features": GOOD_ROW} if method in ("POST", "PUT") else None
    json_error(*call(server.port, method, path, body), 405)


# -------------------------------------------------------------- body limit --
def test_body_over_limit_413(server_factory, iris_model):
    s = server_factory(iris_model[0], "--max-body-bytes", "1024", drain_output=True)
    small = json.dumps({"features": GOOD_ROW}).encode()
    # Under the limit (padded with JSON whitespace to 1000 bytes): accepted.
    padded = small + b" " * (1000 - len(small))
    status, _, body = call(s.port, "POST", "/predict", padded)
    assert status == 200, (status, body[:300])
    # 4 KiB: refused.
    big = small + b" " * (4096 - len(small))
    json_error(*call(s.port, "POST", "/predict", big), 413)
    # A lying Content-Length over the limit is refused before any body arrives.
    resp = raw_send(s.port, request_bytes(b"", content_length=1 << 30), timeout=5)
    assert _status_of(resp) == 413, resp[:300]
    status, _, _ = call(s.port, "GET", "/healthz")
    assert status == 200 and s.proc.poll() is None


# ------------------------------------------------------------ header limit --
def test_headers_over_limit_431(server):
    """The request line and headers get about 15 KiB (server/http.c,
    CONNECTION_MEMORY): 12 KiB of them are answered, 20 KiB get 431, and
    the server goes on answering."""
    small = json.dumps({"features": GOOD_ROW}).encode()
    for size, want in ((12 << 10, 200), (20 << 10, 431)):
        extra = b"X-Padding: " + b"a" * size + b"\r\n"
        resp = raw_send(server.port, request_bytes(small, extra=extra), timeout=5)
        assert _status_of(resp) == want, (size, resp[:300])
    status, _, _ = call(server.port, "POST", "/predict", {"features": GOOD_ROW})
    assert status == 200 and server.proc.poll() is None


# ------------------------------------------------------------- readiness --
def _open_fifo_writer(path, timeout):
    """Opens the FIFO for writing once the server has it open for reading."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
            continue
        os.set_blocking(fd, True)
        return fd


def test_readyz_503_while_model_loads(tmp_path, iris_model):
    """The model path is a FIFO: the server binds, then blocks reading it."""
    path, model = iris_model
    with open(path, "rb") as f:
        data = f.read()
    fifo = str(tmp_path / "model.pkl")
    os.mkfifo(fifo)
    s = Server(fifo, wait_ready=False, timeout=15, drain_output=True)
    fd = None
    try:
        status, _, body = call(s.port, "GET", "/healthz")
        assert status == 200, body
        status, _, body = call(s.port, "GET", "/readyz")
        assert status == 503, body
        assert isinstance(json.loads(body), dict), body
        json_error(*call(s.port, "POST", "/predict", {"features": GOOD_ROW}), 503)
        assert s.proc.poll() is None

        fd = _open_fifo_writer(fifo, timeout=10)
        os.write(fd, data)
        os.close(fd)
        fd = None

        deadline = time.monotonic() + 30
        while True:
            status, _, body = call(s.port, "GET", "/readyz")
            if status == 200:
                break
            assert status == 503, body
            assert s.proc.poll() is None, "".join(s.stderr_lines)
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.05)
        assert_predicts(s.port, model, [GOOD_ROW], {"features": GOOD_ROW})
    finally:
        if fd is not None:
            os.close(fd)
        try:  # unblock a reader still waiting on the FIFO
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        s.stop()


# --------------------------------------------------------------- survival --
SURVIVAL_BODIES = [
    b"[" * 100000,
    b'{"features":' + b"[" * 20000 + b"]" * 20000 + b"}",
    b'{"features": [1e999, 3.5, 1.4, 0.2]}',
    b'{"features": [NaN, 3.5, 1.4, 0.2]}',
    b'{"features": [Infinity, 3.5, 1.4, 0.2]}',
    b'{"features": [123456789012345678901234567890, 3.5, 1.4, 0.2]}',
    b'{"features": [5.1, 3.5, 1.4, 0.2], "features": [1, 2]}',
    b'{"features": [5.1, 3.5, 1.4, 0.2], "x": "\xc3\x28"}',
    b'{"features": [5.1, 3.5, 1.4, 0.2], "x": "\\ud800"}',
    b'{"fea\x00tures": [5.1, 3.5, 1.4, 0.2]}',
    b'{"instances": [' + b",".join([b"[5.1,3.5,1.4,0.2]"] * 5000) + b"]}",
    b'{"features": [' + b",".join([b"1"] * 50000) + b"]}",
    b'"' + b"a" * 200000 + b'"',
]

RAW_GARBAGE = [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n{}{}",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 65536 + b"\r\n\r\n",
    b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\r\n" * 1000,
]


def test_survives_burst_of_bad_requests(server_factory, iris_model):
    path, model = iris_model
    s = server_factory(path, drain_output=True)
    rng = random.Random(20240601)

    # 200 random garbage bodies: each a clean 400 with a JSON error.
    bad = []
    for i in range(200):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2048)))
        status, headers, resp = call(s.port, "POST", "/predict", body)
        if status != 400:
            bad.append((i, status, resp[:120]))
        else:
            json_error(status, headers, resp, 400)
    assert not bad, "garbage bodies not answered 400: %r" % bad[:10]

    # Awkward but syntactically interesting JSON: any clean answer will do.
    for body in SURVIVAL_BODIES:
        try:
            status, headers, resp = call(s.port, "POST", "/predict", body)
        except (ConnectionError, http.client.HTTPException) as e:
            pytest.fail("connection dropped on %r...: %r" % (body[:40], e))
        assert status in (200, 400, 413), (body[:60], status, resp[:200])
        if status != 200:
            json_error(status, headers, resp, status)
        assert s.proc.poll() is None, "died on %r" % body[:60]

    # Broken HTTP on raw sockets: the server may answer or hang up, not die.
    for blob in RAW_GARBAGE:
        try:
            raw_send(s.port, blob, timeout=3)
        except OSError:
            pass
        assert s.proc.poll() is None, "died on %r" % blob[:60]

    # A lying Content-Length, the connection closed after 10 bytes.
    for _ in range(5):
        raw_send(s.port, request_bytes(b'{"features"', content_length=1000), read=False)

    # A client that stalls mid-body does not block others.
    stalled = socket.create_connection((HOST, s.port), timeout=10)
    try:
        stalled.sendall(request_bytes(b'{"feat', content_length=500))
        t0 = time.monotonic()
        status, _, _ = call(s.port, "GET", "/healthz", timeout=5)
        assert status == 200 and time.monotonic() - t0 < 5
    finally:
        stalled.close()

    # A valid body sent one byte every 25 ms (about 1 s) is still answered.
    body = json.dumps({"features": GOOD_ROW}).encode()
    req = request_bytes(body)
    resp = raw_send(s.port, req, slow_from=len(req) - len(body), delay=0.025, timeout=10)
    assert _status_of(resp) == 200, resp[:300]

    status, _, _ = call(s.port, "GET", "/healthz")
    assert status == 200
    assert s.proc.poll() is None, "".join(s.stderr_lines[-20:])
    assert_predicts(s.port, model, [GOOD_ROW, OTHER_ROW], {"instances": [GOOD_ROW, OTHER_ROW]})
