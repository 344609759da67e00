"""Benchmark, not a test: what very wide named-column inputs cost.

    /usr/bin/python3 bench/wide_columns.py [PREDICTD_BIN]

Two scenarios that once cost time quadratic in the number of columns,
which a client or a model file could ask for:
  1. one POST /predict row object of 50,000 named columns (keys reversed)
     to a LinearRegression fitted on a DataFrame of those columns;
  2. `predictd eval` of a ColumnTransformer naming 100,000 columns.
Each is run REPEAT times (3); the median wall time is printed, with the
machine's load, beside a baseline in the same run: the same request with
4 columns (1) and the same eval with 4 named columns (2). The answers are
checked against scikit-learn before anything is timed.
"""
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "predictd")
REPEAT = int(os.environ.get("REPEAT", "3"))


def frame(nf):
    cols = ["c%06d" % j for j in range(nf)]
    return pd.DataFrame(np.random.RandomState(0).rand(3, nf), columns=cols)


def save(model, d, name):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return path


def serve(path):
    p = subprocess.Popen([BIN, "--model", path, "--host", "127.0.0.1", "--port", "0",
                          "--max-body-bytes", str(8 << 20)],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "listening on" in line:
            port = int(line.rsplit(":", 1)[1].split()[0])
            break
    else:
        raise SystemExit("predictd did not start")
    url = "http://127.0.0.1:%d" % port
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/readyz")
            return p, url
        except OSError:
            time.sleep(0.05)
    raise SystemExit("predictd never became ready")


def post(url, body):
    req = urllib.request.Request(url + "/predict", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def timed(fn):
    times = []
    for _ in range(REPEAT):
        t0 = time.monotonic()
        fn()
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def request_scenario(d, nf):
    X = frame(nf)
    m = LinearRegression().fit(X, [1.0, 2.0, 3.0])
    p, url = serve(save(m, d, "wide%d.pkl" % nf))
    try:
        row = {c: 0.5 for c in reversed(X.columns)}
        got = post(url, {"features": row})["prediction"]
        want = m.predict(pd.DataFrame([row])[X.columns])[0]
        assert np.isclose(got, want, rtol=1e-12), (got, want)
        return timed(lambda: post(url, {"features": row}))
    finally:
        p.terminate()
        p.wait()


def eval_scenario(d, nf):
    X = frame(nf)
    cols = list(X.columns)
    ct = ColumnTransformer([("p", "passthrough", cols[::-1][:max(nf // 2, 1)]),
                            ("s", StandardScaler(), cols[-2:])]).fit(X)
    path = save(ct, d, "ct%d.pkl" % nf)
    body = json.dumps({"instances": X.values.tolist()})

    def run():
        p = subprocess.run([BIN, "eval", path], input=body, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr[-500:]
        return p.stdout

    got = np.array(json.loads(run())["transform"])
    np.testing.assert_allclose(got, ct.transform(X), rtol=1e-12)
    return timed(run)


def main():
    with tempfile.TemporaryDirectory() as d:
        load = open("/proc/loadavg").read().split()[:3]
        print("load average before: %s; %d runs each, median" % (" ".join(load), REPEAT))
        print("| scenario | baseline (4 columns) | wide | columns |")
        print("|---|---:|---:|---:|")
        print("| POST /predict, one named-column row | %.3f s | %.3f s | 50,000 |"
              % (request_scenario(d, 4), request_scenario(d, 50000)))
        print("| eval, ColumnTransformer by name | %.3f s | %.3f s | 100,000 |"
              % (eval_scenario(d, 4), eval_scenario(d, 100000)))


if __name__ == "__main__":
    main()
