"""Benchmark, not a test: small-request tail latency while large batches run.

    /usr/bin/python3 bench/tail_latency.py [PREDICTD_BIN]

predictd serves a 600-tree RandomForestClassifier (iris) with --threads 2.
BATCHERS (2) client processes keep sending 10,000-row /predict batches, so
both compute threads are busy all the time (processes, not threads: a
thread parsing a 10,000-row answer holds the interpreter's lock for
milliseconds, and the sampler's timings measured that wait, up to the 5 ms
switch interval), at SCHED_IDLE: they share the machine's CPUs with
the server, and their parsing of answers would otherwise delay
the server's connection thread as no remote client does; meanwhile one client sends
SAMPLES (300) requests in turn to GET /healthz and a 1-row POST /predict,
each on a fresh connection, and records the wall time of each. Prints
p50, p99 and max per endpoint, with the machine's load average, and writes
the same to bench/results/DATE-TIME-tail-latency.md. Every batch and row answer
is checked against scikit-learn's predict.
"""
import http.client
import json
import multiprocessing
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "predictd")
SAMPLES = int(os.environ.get("SAMPLES", "300"))
BATCHERS = int(os.environ.get("BATCHERS", "2"))


def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def batcher(port, batch_body, want_batch, stop, batches):
    """One batch client, in a process of its own."""
    # It stands in for a client on another machine: it should take only
    # CPU time nothing else wants, not the server's nor the sampler's.
    # At nice 19 (before) it still kept its CPU to the end of its slice
    # when they woke up (Linux 6.6+, EEVDF); a waking thread preempts a
    # SCHED_IDLE one as soon as the scheduler finds it eligible. A nice
    # value means nothing at SCHED_IDLE.
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    while not stop.is_set():
        st, body = call(port, "POST", "/predict", batch_body)
        assert st == 200 and body["predictions"] == want_batch, st
        with batches.get_lock():
            batches.value += 1


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=600, random_state=0).fit(X, y)
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 8, size=(10000, 4)).round(2)
    want_batch = model.predict(batch).tolist()
    batch_body = json.dumps({"instances": batch.tolist()})
    row = X[60].tolist()
    want_row = int(model.predict([row])[0])
    d = tempfile.mkdtemp()
    path = os.path.join(d, "forest.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    p = subprocess.Popen([BIN, "--model", path, "--host", "127.0.0.1", "--port", "0",
                          "--threads", "2", "--drain-grace", "0"],
                         stderr=subprocess.PIPE, text=True)
    try:
        run(p, batch_body, want_batch, row, want_row)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def run(p, batch_body, want_batch, row, want_row):
    port = None
    while port is None:
        line = p.stderr.readline()
        if "listening on" in line:
            port = int(line.split("http://127.0.0.1:")[1].split()[0])
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    while True:
        try:
            if call(port, "GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)
    stop = multiprocessing.Event()
    batches = multiprocessing.Value("i", 0)
    ts = [multiprocessing.Process(target=batcher,
                                  args=(port, batch_body, want_batch, stop, batches))
          for _ in range(BATCHERS)]
    for t in ts:
        t.start()
    time.sleep(1.0)
    lat = {"GET /healthz": [], "POST /predict (1 row)": []}
    b0, s0 = batches.value, time.monotonic()
    for i in range(SAMPLES):
        t0 = time.monotonic()
        if i % 2 == 0:
            st, body = call(port, "GET", "/healthz")
            assert st == 200, body
            lat["GET /healthz"].append(time.monotonic() - t0)
        else:
            st, body = call(port, "POST", "/predict", json.dumps({"features": row}))
            assert st == 200 and body["prediction"] == want_row, body
            lat["POST /predict (1 row)"].append(time.monotonic() - t0)
    sampled_s, sampled_batches = time.monotonic() - s0, batches.value - b0
    stop.set()
    for t in ts:
        t.join()
        if t.exitcode != 0:
            raise SystemExit("a batch client failed (exit code %s)" % t.exitcode)
    p.terminate()
    p.wait(timeout=60)
    load = os.getloadavg()
    lines = ["# Small-request latency while 10,000-row batches run",
             "", "`SAMPLES=%d /usr/bin/python3 bench/tail_latency.py %s` (%s), %d batch "
             "clients, --threads 2, load average %.2f %.2f %.2f, %d batches answered "
             "during the %.1f s of sampling (%.1f per second)." % (
                 SAMPLES, " ".join(sys.argv[1:]),
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), BATCHERS, *load,
                 sampled_batches, sampled_s, sampled_batches / sampled_s),
             "", "| endpoint | samples | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|"]
    for k, v in lat.items():
        lines.append("| %s | %d | %.1f | %.1f | %.1f |" % (
            k, len(v), 1000 * statistics.median(v), 1000 * pct(v, 0.99), 1000 * max(v)))
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", time.strftime("%Y-%m-%d-%H%M%S-tail-latency.md",
                                                      time.gmtime()))
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
