"""Watching predictd: GET /metrics in the Prometheus text format (checked
by promtool, and scraped by a real Prometheus server whose HTTP API must
then return the counts of the requests this test sent), one access line
per request (JSON or text, to stderr or a file reopened on SIGUSR1), the
X-Request-Id and traceparent headers, and messages with a level.

Every count expected is the number of requests the test itself sent; the
model values come from scikit-learn's own fitted models (test_http and
friends check the predictions themselves)."""
import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from conftest import BIN, Server

IRIS_X, IRIS_Y = load_iris(return_X_y=True)
DIAB_X, DIAB_Y = load_diabetes(return_X_y=True)
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")

SERIES_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _dump(model, path):
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """iris (a classifier, one file) and reg (a regressor, versions 1 and 2
    in a model repository)."""
    d = tmp_path_factory.mktemp("obs")
    iris = _dump(LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y), d / "iris.pkl")
    repo = d / "repo"
    for v, n in (("1", 200), ("2", 300)):
        (repo / "reg" / v).mkdir(parents=True)
        _dump(LinearRegression().fit(DIAB_X[:n], DIAB_Y[:n]), repo / "reg" / v / "model.pkl")
    return {"iris": iris, "repo": str(repo), "dir": d}


def parse_metrics(text):
    """[(name, {label: value}, float)] of every sample."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES_RE.match(line)
        assert m, "not a sample line: %r" % line
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def value(samples, name, **labels):
    """The one sample of name whose labels include labels (None if none)."""
    got = [v for n, l, v in samples
           if n == name and all(l.get(k) == w for k, w in labels.items())]
    assert len(got) <= 1, (name, labels, got)
    return got[0] if got else None


def post(s, path, body, headers=None):
    """(status, parsed body, response headers)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(s.url + path, data=data, method="POST",
                                 headers=dict({"Content-Type": "application/json"},
                                              **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null"), e.headers


def get_text(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers, r.read().decode()


def v2_body(rows):
    rows = np.asarray(rows)
    return {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                        "data": rows.ravel().tolist()}]}


def send_known_requests(s):
    """The requests whose counts the metrics tests expect (EXPECTED)."""
    for i in range(5):
        st, body, _ = post(s, "/predict", {"instances": IRIS_X[i:i + 3].tolist()})
        assert st == 200, body
    for _ in range(2):
        assert post(s, "/predict", b"{not json")[0] == 400
    for i in range(3):
        st, body, _ = post(s, "/v1/models/iris:predict", {"instances": IRIS_X[i:i + 2].tolist()})
        assert st == 200, body
    for i in range(4):
        st, body, _ = post(s, "/v2/models/reg/versions/1/infer", v2_body(DIAB_X[i:i + 1]))
        assert st == 200, body
    for i in range(2):
        st, body, _ = post(s, "/v2/models/reg/infer", v2_body(DIAB_X[i:i + 5]))
        assert st == 200, body
    # names no model serves: counted under model="", never a series of their own
    for i in range(3):
        assert post(s, "/v2/models/nope%d/infer" % i, v2_body(DIAB_X[:1]))[0] == 404
    for i in range(2):
        assert post(s, "/v1/models/zzz%d:predict" % i, {"instances": [[1, 2, 3, 4]]})[0] == 404


# (labels, expected predictd_requests_total) after send_known_requests
EXPECTED = [
    (dict(model="iris", version="1", protocol="seed", code="200"), 5),
    (dict(model="iris", version="1", protocol="seed", code="400"), 2),
    (dict(model="iris", version="1", protocol="v1", code="200"), 3),
    (dict(model="reg", version="1", protocol="v2", code="200"), 4),
    (dict(model="reg", version="2", protocol="v2", code="200"), 2),
    (dict(model="", version="", protocol="v2", code="404"), 3),
    (dict(model="", version="", protocol="v1", code="404"), 2),
]
EXPECTED_ROWS = {("iris", "1"): 5 * 3 + 3 * 2, ("reg", "1"): 4, ("reg", "2"): 2 * 5}


def start(files, *args, **kw):
    return Server("iris=" + files["iris"], "--model-dir", files["repo"],
                  "--default-model", "iris", *args, **kw)


def test_metrics_count_every_request_and_describe_every_model(files):
    t0 = time.time()
    with start(files) as s:
        send_known_requests(s)
        status, headers, text = get_text(s.url + "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse_metrics(text)
    for labels, want in EXPECTED:
        assert value(samples, "predictd_requests_total", **labels) == want, labels
    for (name, version), rows in EXPECTED_ROWS.items():
        assert value(samples, "predictd_predicted_rows_total", model=name,
                     version=version) == rows
    # request text never becomes a label value
    for bad in ("nope0", "nope1", "nope2", "zzz0", "zzz1"):
        assert bad not in text
    # histograms: one observation per request, the phases of each request
    iris_seed = value(samples, "predictd_request_duration_seconds_count", model="iris",
                      version="1", protocol="seed")
    assert iris_seed == 7
    assert value(samples, "predictd_request_duration_seconds_bucket", model="iris",
                 version="1", protocol="seed", le="+Inf") == 7
    for phase in ("receive", "queue", "compute", "write"):
        assert value(samples, "predictd_request_phase_duration_seconds_count", model="iris",
                     version="1", phase=phase) == 10, phase
    assert value(samples, "predictd_request_phase_duration_seconds_sum", model="iris",
                 version="1", phase="compute") > 0
    # one info series per loaded version, from the files themselves
    for name, version, path, est in (
            ("iris", "1", files["iris"], "LogisticRegression"),
            ("reg", "1", os.path.join(files["repo"], "reg", "1", "model.pkl"), "LinearRegression"),
            ("reg", "2", os.path.join(files["repo"], "reg", "2", "model.pkl"), "LinearRegression")):
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        info = [l for n, l, v in samples if n == "predictd_model_info" and l["model"] == name
                and l["version"] == version]
        assert len(info) == 1, (name, version)
        assert info[0]["sha256"] == digest
        assert info[0]["sklearn_version"] == sklearn.__version__
        assert info[0]["estimator"] == est
        assert info[0]["container"].startswith("pickle"), info[0]
        loaded = value(samples, "predictd_model_load_timestamp_seconds", model=name,
                       version=version)
        assert t0 - 1 <= loaded <= time.time()
        assert value(samples, "predictd_model_ready", model=name, version=version) == 1
    assert value(samples, "predictd_model_loads_total", model="iris") == 1
    assert value(samples, "predictd_model_loads_total", model="reg") == 2
    assert value(samples, "predictd_model_load_failures_total", model="reg") == 0
    # the pool and the process
    assert value(samples, "predictd_requests_in_flight") >= 1  # this scrape
    assert value(samples, "predictd_compute_queue_length") == 0
    assert value(samples, "predictd_compute_threads") >= 1
    assert value(samples, "process_open_fds") > 3
    assert value(samples, "process_resident_memory_bytes") > 1e6
    assert value(samples, "process_cpu_seconds_total") > 0
    assert t0 - 1 <= value(samples, "process_start_time_seconds") <= time.time()
    build = [l for n, l, v in samples if n == "predictd_build_info"]
    assert len(build) == 1 and re.match(r"\d+\.\d+\.\d+", build[0]["version"])


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package "
                    "prometheus; scripts/install-deps.sh installs it)")
def test_promtool_accepts_the_metrics(files):
    with start(files) as s:
        send_known_requests(s)
        _, _, text = get_text(s.url + "/metrics")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        (p.returncode, p.stdout, p.stderr)


def test_reload_counts_loads_reloads_and_failures(files, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(files["repo"], repo)
    with Server("iris=" + files["iris"], "--model-dir", str(repo),
                "--default-model", "iris") as s:
        path = repo / "reg" / "1" / "model.pkl"
        _dump(LinearRegression().fit(DIAB_X[:100], DIAB_Y[:100]), path)
        os.utime(path, (time.time() + 5, time.time() + 5))
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while True:
            samples = parse_metrics(get_text(s.url + "/metrics")[2])
            if value(samples, "predictd_model_reloads_total", model="reg") == 1:
                break
            assert time.monotonic() < deadline, "".join(s.stderr_lines[-20:])
            time.sleep(0.1)
        assert value(samples, "predictd_model_loads_total", model="reg") == 3
        (repo / "reg" / "3").mkdir()
        (repo / "reg" / "3" / "model.pkl").write_bytes(b"\x80\x04not a pickle")
        s.proc.send_signal(signal.SIGHUP)
        while value(samples, "predictd_model_load_failures_total", model="reg") != 1:
            assert time.monotonic() < deadline, "".join(s.stderr_lines[-20:])
            time.sleep(0.1)
            samples = parse_metrics(get_text(s.url + "/metrics")[2])
        assert value(samples, "predictd_model_ready", model="reg", version="3") == 0
        assert value(samples, "predictd_model_loads_total", model="reg") == 3
        assert value(samples, "predictd_model_reloads_total", model="iris") == 0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prom_query(port, query):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": query}))
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.loads(r.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


@pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed "
                    "(Debian package prometheus; scripts/install-deps.sh installs it)")
def test_a_real_prometheus_scrapes_the_counts(files, tmp_path):
    with start(files) as s:
        send_known_requests(s)
        port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                       "scrape_configs:\n  - job_name: predictd\n    static_configs:\n"
                       "      - targets: ['127.0.0.1:%d']\n" % s.port)
        log = open(tmp_path / "prometheus.log", "w")
        prom = subprocess.Popen([PROMETHEUS, "--config.file=%s" % cfg,
                                 "--storage.tsdb.path=%s" % (tmp_path / "data"),
                                 "--web.listen-address=127.0.0.1:%d" % port],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            want = {"sum by (code) (predictd_requests_total{model=\"iris\",protocol=\"seed\"})":
                    {"200": 5, "400": 2},
                    "sum by (model) (predictd_predicted_rows_total)": {"iris": 21, "reg": 14},
                    "sum by (protocol) (predictd_requests_total{model=\"\",code=\"404\"})":
                    {"v1": 2, "v2": 3},
                    "up{job=\"predictd\"}": None}
            got = {}
            while True:
                assert prom.poll() is None, open(tmp_path / "prometheus.log").read()[-3000:]
                try:
                    for q, w in want.items():
                        res = prom_query(port, q)
                        if w is None:
                            got[q] = [r["value"][1] for r in res]
                        else:
                            got[q] = {next(iter(r["metric"].values())): float(r["value"][1])
                                      for r in res}
                except (urllib.error.URLError, ConnectionError):
                    pass  # not listening yet
                if got.get("up{job=\"predictd\"}") == ["1"] and all(
                        got.get(q) == w for q, w in want.items() if w is not None):
                    break
                assert time.monotonic() < deadline, (got, open(tmp_path / "prometheus.log")
                                                     .read()[-3000:])
                time.sleep(0.5)
            # the model info series made it through too
            info = prom_query(port, "predictd_model_info{model=\"iris\"}")
            assert len(info) == 1 and info[0]["metric"]["estimator"] == "LogisticRegression"
        finally:
            prom.terminate()
            try:
                prom.wait(timeout=30)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
            log.close()


def read_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def wait_lines(path, n, s, timeout=20):
    """The lines of path once it has n (an access line is written once the
    answer has been sent, so shortly after the client has read it)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read_lines(path) if os.path.exists(path) else []
        if len(lines) >= n:
            return lines
        assert time.monotonic() < deadline, (len(lines), n, "".join(s.stderr_lines[-20:]))
        time.sleep(0.05)


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
BAD_TRACEPARENTS = [
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  # 00 is 55 long
]


def test_one_access_line_per_request_matched_to_it(files, tmp_path):
    log = str(tmp_path / "access.log")
    with start(files, "--access-log", log) as s:
        wait_lines(log, 1, s)  # the start-up's readiness polls are logged
        sent = []  # (id sent or None, traceparent sent, method, path, status, rows, reply id)
        rng = np.random.default_rng(7)
        for i in range(40):
            kind = i % 8
            hdrs = {}
            mine = None
            if i % 3 == 0:
                mine = "req-%d.abc:def+/=" % i
                hdrs["X-Request-Id"] = mine
            elif i % 3 == 1:
                # not sane: too long, or bytes outside the safe charset
                hdrs["X-Request-Id"] = "x" * 129 if i % 2 else "has space %d" % i
            tp = None
            if i % 5 == 0:
                tp = TRACEPARENT
                hdrs["traceparent"] = tp
            elif i % 5 == 1:
                hdrs["traceparent"] = BAD_TRACEPARENTS[i % len(BAD_TRACEPARENTS)]
            n = int(rng.integers(1, 6))
            if kind in (0, 1, 2):
                path, body, want, rows = "/predict", {"instances": IRIS_X[:n].tolist()}, 200, n
            elif kind == 3:
                path, body, want, rows = "/predict", b"[1, 2", 400, 0
            elif kind == 4:
                path, body, want, rows = "/v1/models/iris:predict", \
                    {"instances": IRIS_X[:n].tolist()}, 200, n
            elif kind == 5:
                path, body, want, rows = "/v2/models/reg/infer", v2_body(DIAB_X[:n]), 200, n
            elif kind == 6:
                path, body, want, rows = "/v2/models/nope/infer", v2_body(DIAB_X[:1]), 404, 0
            else:
                path, body, want, rows = "/nowhere", b"{}", 404, 0
            st, _, rh = post(s, path, body, hdrs)
            assert st == want, (path, st)
            rid = rh["X-Request-Id"]
            assert rid, rh
            if mine:
                assert rid == mine
            else:
                assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
            sent.append((mine, tp, "POST", path, want, rows, rid, len(
                body if isinstance(body, bytes) else json.dumps(body).encode())))
        # this test's requests, not the readiness polls (GET /readyz), whose
        # lines may be written after the first POST's: each line is written
        # just after its answer is sent
        def own(all_lines):
            return [line for line in all_lines if json.loads(line)["path"] != "/readyz"]

        deadline = time.monotonic() + 20
        while len(own(read_lines(log))) < len(sent):
            assert time.monotonic() < deadline, "".join(s.stderr_lines[-20:])
            time.sleep(0.05)
        time.sleep(0.3)
        lines = own(read_lines(log))
        assert len(lines) == len(sent), "more lines than requests"
    assert len(lines) == len(sent)
    recs = [json.loads(line) for line in lines]
    by_id = {r["request_id"]: r for r in recs}
    assert len(by_id) == len(sent), "request ids are not unique"
    for mine, tp, method, path, status, rows, rid, n_in in sent:
        r = by_id[rid]
        assert (r["method"], r["path"], r["status"], r["rows"]) == (method, path, status, rows), r
        assert r["traceparent"] == tp, r
        # a path refused at its headers is answered before its body is read
        assert r["bytes_in"] == (0 if path == "/nowhere" else n_in), r
        assert r["bytes_out"] > 0 and r["level"] == "info" and r["msg"] == "request"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]), r["time"]
        assert re.fullmatch(r"127\.0\.0\.1:\d+", r["peer"]), r["peer"]
        assert r["protocol"] == ("v1" if path.startswith("/v1/") else
                                 "v2" if path.startswith("/v2/") else "seed")
        if status == 200:
            assert r["model"] == ("reg" if "reg" in path else "iris"), r
            assert r["version"] == ("2" if "reg" in path else "1"), r
            assert r["compute_s"] > 0, r
        elif "nope" in path or path == "/nowhere":
            assert r["model"] is None and r["version"] is None, r
        phases = r["receive_s"] + r["queue_s"] + r["compute_s"] + r["write_s"]
        assert abs(phases - r["duration_s"]) <= 1e-5 + 1e-5 * r["duration_s"], r


def test_sigusr1_reopens_the_access_log(files, tmp_path):
    log = tmp_path / "access.log"
    rotated = tmp_path / "access.log.1"
    with start(files, "--access-log", str(log)) as s:
        before = []
        for _ in range(3):
            st, _, h = post(s, "/predict", {"features": IRIS_X[0].tolist()})
            assert st == 200
            before.append(h["X-Request-Id"])
        # an access line is written just after its answer is sent: wait for
        # these three (the start-up's readiness polls have lines too)
        deadline = time.monotonic() + 20
        while not set(before) <= {json.loads(line)["request_id"] for line in read_lines(log)}:
            assert time.monotonic() < deadline, "".join(s.stderr_lines[-10:])
            time.sleep(0.05)
        n_before = len(read_lines(log))
        os.rename(log, rotated)  # what logrotate does, then it signals
        s.proc.send_signal(signal.SIGUSR1)
        # the new file exists a moment before the server writes to it: wait
        # for the message that says the switch is done
        deadline = time.monotonic() + 10
        while not any("access log reopened" in line for line in s.stderr_lines):
            assert time.monotonic() < deadline, "".join(s.stderr_lines[-10:])
            time.sleep(0.02)
        assert log.exists()
        ids = []
        for _ in range(4):
            st, _, h = post(s, "/predict", {"features": IRIS_X[1].tolist()})
            assert st == 200
            ids.append(h["X-Request-Id"])
        new = wait_lines(str(log), 4, s)
        time.sleep(0.3)
        assert s.proc.poll() is None
    assert [json.loads(line)["request_id"] for line in read_lines(log)] == ids
    assert len(read_lines(rotated)) == n_before
    assert len(new) == 4
    assert any("SIGUSR1 received" in line for line in s.stderr_lines)


def test_text_format_for_messages_and_access_lines(files):
    with start(files, "--log-format", "text") as s:
        st, _, h = post(s, "/predict", {"features": IRIS_X[0].tolist()},
                        {"X-Request-Id": "text-1"})
        assert st == 200
        deadline = time.monotonic() + 10
        while not any("request_id=text-1" in line for line in s.stderr_lines):
            assert time.monotonic() < deadline, s.stderr_lines[-5:]
            time.sleep(0.02)
    first = s.stderr_lines[0]
    assert re.match(r'time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="listening on '
                    r'http://127\.0\.0\.1:\d+ ', first), first
    line = next(line for line in s.stderr_lines if "request_id=text-1" in line)
    assert re.search(r' msg=request request_id=text-1 peer=127\.0\.0\.1:\d+ method=POST '
                     r'path=/predict protocol=seed model=iris version=1 status=200 rows=1 ',
                     line), line
    assert "traceparent" not in line  # not sent: left out


def test_messages_are_json_with_a_level_and_log_level_filters_them(files, tmp_path):
    with start(files) as s:
        pass
    msgs = [json.loads(line) for line in s.stderr_lines]
    assert msgs[0]["level"] == "info" and msgs[0]["msg"].startswith("listening on http://")
    assert any(m["msg"] == "ready" for m in msgs)
    assert any(m["msg"].startswith("SIGTERM received") for m in msgs)
    assert all(set(m) >= {"time", "level", "msg"} for m in msgs)
    # --log-level error: no info message (the port is given, as the
    # "listening on" line that says it is info); access lines still come
    port = free_port()
    p = subprocess.Popen([BIN, "--model", "iris=" + files["iris"], "--host", "127.0.0.1",
                          "--port", str(port), "--log-level", "error"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        p.terminate()
        err = p.communicate(timeout=20)[1]
    recs = [json.loads(line) for line in err.splitlines()]
    assert recs and all(r["msg"] == "request" for r in recs), err
    # a bad value stops start-up naming the setting
    bad = subprocess.run([BIN, "--model", files["iris"], "--log-level", "loud"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--log-level" in bad.stderr, bad.stderr
    env = dict(os.environ, PREDICTD_LOG_FORMAT="yaml")
    bad = subprocess.run([BIN, "--model", files["iris"]], capture_output=True, text=True,
                         timeout=30, env=env)
    assert bad.returncode == 2 and "PREDICTD_LOG_FORMAT" in bad.stderr, bad.stderr
    bad = subprocess.run([BIN, "--model", files["iris"], "--host", "127.0.0.1", "--port", "0",
                          "--access-log", str(tmp_path / "no" / "such" / "dir.log")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "--access-log" in bad.stderr, bad.stderr
