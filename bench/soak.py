"""Benchmark, not a test: a soak of mixed valid and hostile traffic with reloads.

    /usr/bin/python3 bench/soak.py [--duration SECONDS] [--clients N]
        [--reload-every SECONDS] [--bin PREDICTD_BIN] [--out FILE]

predictd serves a model repository (--model-dir) of three models:
  clf   RandomForestClassifier (iris), version 1: /predict (the default), V1, V2
  reg   GradientBoostingRegressor (diabetes), version 1: V1, V2
  flip  version 1 LogisticRegression (iris), version 2 a DecisionTree that
        comes and goes: V2 only, whose answers name the version
CLIENTS threads send, on fresh connections, valid requests on every
protocol (batches of 1-40 rows, compared with scikit-learn's outputs
computed beforehand) mixed with hostile ones (bad JSON, keys twice,
integers out of range, wrong shapes, NaN, strings, deep nesting, bodies
over the limit, broken HTTP). Every RELOAD_EVERY seconds the repository
changes and predictd gets SIGHUP, in turn: clf rewritten with another
pickle protocol (a real reload, same answers), flip version 2 added or
removed, reg replaced by junk (the reload fails, version 1 goes on
serving) and then restored. predictd's resident memory is sampled every
5 s.

Counted: wrong answers (a 200 that disagrees with scikit-learn), 5xx or
broken connections on valid requests, 5xx on hostile ones, status codes
per kind. Writes the figures to bench/results/DATE-soak.md (or --out).
Exit status 1 when a wrong answer or a 5xx for a valid request was seen.
"""
import argparse
import collections
import datetime
import http.client
import json
import os
import pickle
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL, ATOL = 1e-12, 1e-15


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dump(model, path, protocol=4):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(model, f, protocol=protocol)
    os.replace(tmp, path)  # a reload never reads a half-written file


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# -------------------------------------------------------------- models --
def make_models():
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_diabetes(return_X_y=True)
    return {
        "clf": RandomForestClassifier(n_estimators=30, random_state=0).fit(Xi, yi),
        "reg": GradientBoostingRegressor(n_estimators=50, random_state=0).fit(Xd, yd),
        "flip1": LogisticRegression(max_iter=1000).fit(Xi, yi),
        "flip2": DecisionTreeClassifier(max_depth=3, random_state=0).fit(Xi, yi),
    }, Xi, Xd


def make_batches(models, Xi, Xd, n=64, seed=0):
    """Row batches with scikit-learn's answers, computed once."""
    rng = np.random.default_rng(seed)
    out = {"iris": [], "diab": []}
    for _ in range(n):
        k = int(rng.integers(1, 41))
        rows = Xi[rng.integers(0, len(Xi), k)] + rng.normal(0, 0.3, (k, 4)).round(3)
        want = {}
        for name in ("clf", "flip1", "flip2"):
            m = models[name]
            want[name] = (m.predict(rows).tolist(), m.predict_proba(rows))
        out["iris"].append((rows, want))
        k = int(rng.integers(1, 41))
        rows = Xd[rng.integers(0, len(Xd), k)] + rng.normal(0, 0.01, (k, 10))
        out["diab"].append((rows, {"reg": models["reg"].predict(rows)}))
    return out


# ------------------------------------------------------------ requests --
def v2_body(rows, outputs=None):
    body = {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP64",
                        "data": rows.ravel().tolist()}]}
    if outputs:
        body["outputs"] = [{"name": o} for o in outputs]
    return json.dumps(body)


def close(a, b):
    return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                       rtol=RTOL, atol=ATOL)


def valid_request(rng, batches):
    """(label, method, path, body, check) where check(reply) says whether the
    answer agrees with scikit-learn; None when a non-200 is acceptable."""
    kind = rng.randrange(7)
    rows, want = rng.choice(batches["iris"])
    if kind == 0:
        labels, proba = want["clf"]

        def check(r):
            return r["predictions"] == labels and close(r["probabilities"], proba)
        return "seed /predict", "POST", "/predict", json.dumps({"instances": rows.tolist()}), check
    if kind == 1:
        labels, _ = want["clf"]
        return ("v1 clf", "POST", "/v1/models/clf:predict",
                json.dumps({"instances": rows.tolist()}),
                lambda r: r["predictions"] == labels)
    if kind == 2:
        labels, proba = want["clf"]

        def check(r):
            out = {o["name"]: o for o in r["outputs"]}
            return (r["model_version"] == "1" and out["predict"]["data"] == labels
                    and close(out["predict_proba"]["data"], proba.ravel()))
        return "v2 clf", "POST", "/v2/models/clf/infer", v2_body(rows), check
    if kind == 3:
        # no version named: the highest answers, and says which it is
        def check(r):
            labels, proba = want["flip2" if r["model_version"] == "2" else "flip1"]
            out = {o["name"]: o for o in r["outputs"]}
            return (out["predict"]["data"] == labels
                    and close(out["predict_proba"]["data"], proba.ravel()))
        return "v2 flip", "POST", "/v2/models/flip/infer", v2_body(rows), check
    if kind == 4:
        labels, _ = want["flip1"]

        def check(r):
            return r["model_version"] == "1" and r["outputs"][0]["data"] == labels
        return ("v2 flip/1", "POST", "/v2/models/flip/versions/1/infer",
                v2_body(rows, ["predict"]), check)
    rows, want = rng.choice(batches["diab"])
    if kind == 5:
        return ("v1 reg", "POST", "/v1/models/reg:predict",
                json.dumps({"instances": rows.tolist()}),
                lambda r: close(r["predictions"], want["reg"]))
    return ("v2 reg", "POST", "/v2/models/reg/infer", v2_body(rows),
            lambda r: close(r["outputs"][0]["data"], want["reg"]))


def hostile_bodies():
    row = "[5.1, 3.5, 1.4, 0.2]"
    deep = "[" * 5000 + "]" * 5000
    v2 = '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "%s", "data": [%s]}]}'
    return [
        ("/predict", "{"),
        ("/predict", '{"instances": [%s]' % row),
        ("/predict", '{"instances": [%s], "instances": [%s]}' % (row, row)),
        ("/predict", '{"instances": [[1, 2, 3]]}'),
        ("/predict", '{"instances": [["a", 2, 3, 4]]}'),
        ("/predict", '{"instances": [[NaN, 2, 3, 4]]}'),
        ("/predict", '{"instances": [[1e999, 2, 3, 4]]}'),
        ("/predict", '{"instances": %s}' % deep),
        ("/predict", '{"instances": [%s]}\x00' % row),
        ("/predict", '"\\u0000"'),
        ("/predict", '{"instances": [%s]} trailing' % row),
        ("/predict", '{"instances": [' + ",".join([row] * 10001) + "]}"),
        ("/predict", '{"instances": [%s]}' % row + " " * (2 << 20)),
        ("/v1/models/clf:predict", '{"inputs": [%s], "instances": [%s]}' % (row, row)),
        ("/v1/models/clf:predict", '{"instances": {"a": 1}}'),
        ("/v1/models/nosuch:predict", '{"instances": [%s]}' % row),
        ("/v2/models/clf/infer", v2 % ("INT64", "9223372036854775808, 1, 2, 3")),
        ("/v2/models/clf/infer", v2 % ("UINT64", "18446744073709551616, 1, 2, 3")),
        ("/v2/models/clf/infer", v2 % ("FP64", "1, 2, 3")),
        ("/v2/models/clf/infer", v2 % ("BOGUS", "1, 2, 3, 4")),
        ("/v2/models/clf/infer",
         '{"inputs": [{"name": "x", "shape": [4294967297, 4], "datatype": "FP64", '
         '"data": [1, 2, 3, 4]}]}'),
        ("/v2/models/clf/infer",
         '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}],'
         ' "outputs": [{"name": "nosuch"}]}'),
        ("/v2/models/clf/versions/9/infer", v2 % ("FP64", "1, 2, 3, 4")),
        ("/v2/models/reg/infer", v2 % ("FP64", "1, 2, 3, 4")),
        ("/v2/repository/index", '{"ready": true, "ready": false}'),
    ]


RAW = [
    b"GARBAGE\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"ins",
]


def send(port, method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        c.request(method, path, body=body.encode() if isinstance(body, str) else body,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def send_raw(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        head = s.recv(64)
        return int(head.split()[1]) if head.startswith(b"HTTP/1.") else 0
    except (OSError, ValueError, IndexError):
        return 0  # closed without an answer: acceptable for broken HTTP
    finally:
        s.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = collections.defaultdict(collections.Counter)
        self.wrong = []
        self.valid_5xx = []
        self.hostile_5xx = []
        self.valid = self.hostile = 0

    def add(self, label, status, valid):
        with self.lock:
            self.status[label][status] += 1
            if valid:
                self.valid += 1
            else:
                self.hostile += 1


def client(port, batches, stats, stop, seed):
    rng = random.Random(seed)
    hostile = hostile_bodies()
    while not stop.is_set():
        r = rng.random()
        if r < 0.7:
            label, method, path, body, check = valid_request(rng, batches)
            try:
                status, raw = send(port, method, path, body)
            except (OSError, http.client.HTTPException) as e:
                status, raw = -1, str(e).encode()
            stats.add(label, status, True)
            if status == 200:
                try:
                    ok = check(json.loads(raw))
                except (KeyError, ValueError, TypeError, IndexError):
                    ok = False
                if not ok:
                    with stats.lock:
                        stats.wrong.append((label, raw[:300]))
            elif status == 404 and path == "/v2/models/flip/infer":
                pass  # cannot happen: version 1 is always there
            elif status >= 500 or status < 0:
                with stats.lock:
                    stats.valid_5xx.append((label, status, raw[:300]))
            elif status != 200:
                with stats.lock:
                    stats.wrong.append((label + " (status %d)" % status, raw[:300]))
        elif r < 0.95:
            path, body = rng.choice(hostile)
            try:
                status, raw = send(port, "POST", path, body)
            except (OSError, http.client.HTTPException):
                status, raw = -1, b""
            label = "hostile " + path.split("/")[1]
            stats.add(label, status, False)
            if status >= 500:
                with stats.lock:
                    stats.hostile_5xx.append((path, body[:80], status, raw[:200]))
        else:
            status = send_raw(port, rng.choice(RAW))
            stats.add("hostile raw HTTP", status, False)
            if status >= 500:
                with stats.lock:
                    stats.hostile_5xx.append(("raw", "", status, b""))


# ------------------------------------------------------------- reloads --
def reloader(proc, repo, models, stop, every, log):
    step = 0
    junk_on = False
    flip2 = os.path.join(repo, "flip", "2")
    reg = os.path.join(repo, "reg", "1", "model.pkl")
    while not stop.wait(every):
        action = step % 3
        if action == 0:
            dump(models["clf"], os.path.join(repo, "clf", "1", "model.pkl"),
                 protocol=2 + (step // 3) % 4)
            what = "clf rewritten (same model, another pickle protocol)"
        elif action == 1:
            if os.path.isdir(flip2):
                shutil.rmtree(flip2)
                what = "flip version 2 removed"
            else:
                os.makedirs(flip2)
                dump(models["flip2"], os.path.join(flip2, "model.pkl"))
                what = "flip version 2 added"
        else:
            if junk_on:
                dump(models["reg"], reg)
                what = "reg restored"
            else:
                tmp = reg + ".tmp"
                with open(tmp, "wb") as f:
                    f.write(b"\x80\x04junk that is no pickle")
                os.replace(tmp, reg)
                what = "reg replaced by junk"
            junk_on = not junk_on
        proc.send_signal(signal.SIGHUP)
        log.append((time.monotonic(), what))
        step += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--reload-every", type=float, default=3.0)
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "predictd"))
    ap.add_argument("--out")
    a = ap.parse_args()

    models, Xi, Xd = make_models()
    batches = make_batches(models, Xi, Xd)
    d = tempfile.mkdtemp(prefix="predictd-soak-")
    repo = os.path.join(d, "repo")
    for name, key in (("clf", "clf"), ("reg", "reg"), ("flip", "flip1")):
        os.makedirs(os.path.join(repo, name, "1"))
        dump(models[key], os.path.join(repo, name, "1", "model.pkl"))
    port = free_port()
    errlog = open(os.path.join(d, "stderr.log"), "w+")
    proc = subprocess.Popen([a.bin, "--model-dir", repo, "--default-model", "clf",
                             "--host", "127.0.0.1", "--port", str(port), "--drain-grace", "0"],
                            stdout=subprocess.DEVNULL, stderr=errlog)
    stats, stop, reloads, rss = Stats(), threading.Event(), [], []
    try:
        for _ in range(300):
            try:
                if send(port, "GET", "/readyz", "")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("soak: predictd did not become ready")
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(port, batches, stats, stop, i))
                   for i in range(a.clients)]
        threads.append(threading.Thread(target=reloader,
                                        args=(proc, repo, models, stop, a.reload_every, reloads)))
        for t in threads:
            t.start()
        while time.monotonic() - t0 < a.duration and proc.poll() is None:
            rss.append((time.monotonic() - t0, rss_kib(proc.pid)))
            time.sleep(min(5.0, max(0.0, a.duration - (time.monotonic() - t0))))
        rss.append((time.monotonic() - t0, rss_kib(proc.pid) if proc.poll() is None else 0))
        stop.set()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - t0
        alive = proc.poll() is None
    finally:
        stop.set()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    errlog.seek(0)
    log = errlog.read()
    errlog.close()
    shutil.rmtree(d, ignore_errors=True)
    write_report(a, stats, reloads, rss, elapsed, alive, proc.returncode, log)
    return 0 if alive and not stats.wrong and not stats.valid_5xx else 1


def write_report(a, stats, reloads, rss, elapsed, alive, rc, log):
    now = datetime.datetime.now(datetime.timezone.utc)
    out = a.out or os.path.join(HERE, "results", now.strftime("%Y-%m-%d") + "-soak.md")
    warm = [k for t, k in rss if t >= 30] or [k for _, k in rss]
    q = max(1, len(warm) // 4)
    lines = [
        "# Soak: mixed valid and hostile traffic with reloads",
        "",
        "`/usr/bin/python3 bench/soak.py --duration %g --clients %d --reload-every %g` "
        "(%s UTC, load average at the end %s; %d CPUs shared with other work)"
        % (a.duration, a.clients, a.reload_every, now.strftime("%Y-%m-%d %H:%M"),
           " ".join("%.1f" % x for x in os.getloadavg()), os.cpu_count()),
        "",
        "| figure | value |",
        "|---|---|",
        "| duration | %.0f s |" % elapsed,
        "| requests | %d valid, %d hostile (%.0f per second) |"
        % (stats.valid, stats.hostile, (stats.valid + stats.hostile) / max(elapsed, 1)),
        "| wrong answers (200 disagreeing with scikit-learn, or a valid request refused) | %d |"
        % len(stats.wrong),
        "| 5xx or broken connection on a valid request | %d |" % len(stats.valid_5xx),
        "| 5xx on a hostile request | %d |" % len(stats.hostile_5xx),
        "| SIGHUP reloads | %d (%s) |" % (len(reloads), ", ".join(sorted(
            "%d x %s" % (n, w) for w, n in collections.Counter(w for _, w in reloads).items()))),
        "| reload log lines | %d loaded/added/removed, %d refused files |"
        % (sum(1 for l in log.splitlines() if l.startswith("predictd: reload:")
               and "cannot load" not in l),
           log.count("reload: cannot load")),
        "| predictd alive at the end | %s (exit status after SIGTERM: %s) |" % (alive, rc),
        "| RSS after 30 s warm-up: first, min, max, last | %d, %d, %d, %d KiB |"
        % (warm[0], min(warm), max(warm), warm[-1]),
        "| RSS mean, first quarter vs last quarter | %.0f vs %.0f KiB |"
        % (sum(warm[:q]) / q, sum(warm[-q:]) / q),
        "",
        "Status codes per kind of request:",
        "",
        "| kind | statuses |",
        "|---|---|",
    ]
    for label in sorted(stats.status):
        c = stats.status[label]
        lines.append("| %s | %s |" % (label, ", ".join(
            "%s: %d" % ("no answer" if s <= 0 else s, n) for s, n in sorted(c.items()))))
    lines += ["", "RSS samples (s, KiB): " + ", ".join("%.0f: %d" % (t, k) for t, k in rss), ""]
    for title, items in (("Wrong answers", stats.wrong), ("5xx on valid requests",
                                                          stats.valid_5xx),
                         ("5xx on hostile requests", stats.hostile_5xx)):
        if items:
            lines += ["%s (first 10):" % title, ""] + ["    %r" % (x,) for x in items[:10]] + [""]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    print("soak: wrote", out)


if __name__ == "__main__":
    sys.exit(main())
