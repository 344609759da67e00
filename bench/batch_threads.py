"""Benchmark, not a test: one large batch over HTTP on 1 and on 2 compute
threads (the server shares a batch's rows with its idle workers).

    [BEFORE=OTHER_PREDICTD] /usr/bin/python3 bench/batch_threads.py [PREDICTD_BIN]
    (REPEAT=7)

Serves bench/core.py's RandomForest-100 (depth 10, fitted on a 5,000 x 20,
3-class make_classification, random_state=0) and posts the same
10,000-row /predict batch, one request at a time, REPEAT times to a server
started with --threads 1 and to one with --threads 2, best round trip of
each (the time includes the JSON both ways, which one thread parses and
writes). Every answer is checked against scikit-learn's predict. With
BEFORE, that binary is timed the same way beside. Writes
bench/results/DATE-batch-threads.md.
"""
import http.client
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                      else os.path.join(HERE, "..", "build", "predictd"))
BEFORE = os.environ.get("BEFORE")
REPEAT = int(os.environ.get("REPEAT", "7"))


def post(port, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        c.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def best_round_trip(binary, path, threads, body, want):
    p = subprocess.Popen([binary, "--model", path, "--host", "127.0.0.1", "--port", "0",
                          "--threads", str(threads), "--drain-grace", "0",
                          "--max-body-bytes", str(64 << 20)],
                         stderr=subprocess.PIPE, text=True)
    try:
        port = None
        while port is None:
            line = p.stderr.readline()
            if not line:
                raise SystemExit("predictd exited: %s" % p.wait())
            if "listening on" in line:
                port = int(line.split("http://127.0.0.1:")[1].split()[0])
        best = float("inf")
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = post(port, json.dumps({"features": [0.0] * 20}))
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("predictd was not ready")
            time.sleep(0.05)
        for _ in range(REPEAT):
            t = time.perf_counter()
            status, got = post(port, body)
            best = min(best, time.perf_counter() - t)
            if status != 200 or got["predictions"] != want:
                raise SystemExit("wrong answer from %s --threads %d" % (binary, threads))
        return best
    finally:
        p.terminate()
        p.wait(timeout=60)


def main():
    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10,
                               n_classes=3, random_state=0)
    m = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(X, y)
    rows = np.tile(X, (2, 1))[:10000]
    body = json.dumps({"instances": rows.tolist()})
    want = m.predict(rows).tolist()
    res = {}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "rf100.pkl")
        with open(path, "wb") as f:
            pickle.dump(m, f)
        for name, binary in [("predictd", BIN)] + ([("BEFORE", BEFORE)] if BEFORE else []):
            for threads in (1, 2):
                res[name, threads] = best_round_trip(binary, path, threads, body, want)
    load = os.getloadavg()
    lines = ["# A 10,000-row batch over HTTP on 1 and 2 compute threads", "",
             "`%s/usr/bin/python3 bench/batch_threads.py` (%s), RandomForest-100 depth 10, "
             "20 features, best of %d round trips, load average after %.2f %.2f %.2f."
             % ("BEFORE=%s " % BEFORE if BEFORE else "",
                time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), REPEAT, *load), "",
             "| binary | --threads 1 | --threads 2 | 1 / 2 |", "|---|---:|---:|---:|"]
    for name in ["predictd"] + (["BEFORE"] if BEFORE else []):
        one, two = res[name, 1], res[name, 2]
        lines.append("| %s | %.1f ms | %.1f ms | %.2fx |" % (name, one * 1e3, two * 1e3,
                                                            one / two))
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results",
                       time.strftime("%Y-%m-%d-%H%M%S-batch-threads.md", time.gmtime()))
    with open(out, "w") as f:
        f.write(text)
    print("wrote", out)


if __name__ == "__main__":
    main()
