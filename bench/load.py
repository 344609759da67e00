"""Benchmark, not a test: loading a large model file, predictd against
joblib.load, and the server's resident memory against the model's arrays.

    /usr/bin/python3 bench/load.py [PREDICTD_BIN]    (MB=100, REPEAT=3)

Fits a RandomForestClassifier with unbounded trees on a 3-class
make_classification (random_state=0), with as many trees as make its
uncompressed joblib file about MB megabytes, and measures, best of REPEAT,
after one untimed read so that both read from the page cache:
  - joblib.load of the file, in this process;
  - predictd's load of the same file: the load_ms that
    `predictd bench FILE --input rows.npy --batch 1 --repeat 1` reports;
  - SHA-256 of the file's bytes already in memory (hashlib, OpenSSL's
    code on one core): predictd reports every file's digest and checks
    it against --model-sha256 pins and signatures, so no load of a file
    ends before this much time has passed;
  - a server started on the file (`predictd --model FILE`): VmRSS and
    VmHWM from /proc once /readyz answers 200, against the bytes of every
    numpy array in the model (each tree's nodes and values), and the
    server's answers on 20 rows against scikit-learn's.
Writes bench/results/DATE-load.md.
"""
import datetime
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import joblib
import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                      else os.path.join(HERE, "..", "build", "predictd"))
MB = float(os.environ.get("MB", "100"))
REPEAT = int(os.environ.get("REPEAT", "3"))


def array_bytes(forest):
    total = 0
    for t in forest.estimators_:
        state = t.tree_.__getstate__()
        total += state["nodes"].nbytes + state["values"].nbytes
    return total


def fit(n_trees, X, y):
    return RandomForestClassifier(n_estimators=n_trees, random_state=0, n_jobs=1).fit(X, y)


def predictd_load_ms(path, xpath):
    r = subprocess.run([BIN, "bench", path, "--input", xpath, "--batch", "1", "--repeat", "1"],
                       capture_output=True, text=True, check=True, timeout=600)
    return json.loads(r.stdout)["load_ms"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])  # kB
    return out


def server_memory(path, rows):
    port = free_port()
    p = subprocess.Popen([BIN, "--model", path, "--host", "127.0.0.1", "--port", str(port),
                          "--threads", "2"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while True:
            if p.poll() is not None:
                raise SystemExit("predictd exited %s" % p.returncode)
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("predictd was not ready within 300 s")
            time.sleep(0.1)
        body = json.dumps({"instances": rows.tolist()}).encode()
        req = urllib.request.Request("http://127.0.0.1:%d/predict" % port, data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
        return proc_status(p.pid), answer
    finally:
        p.terminate()
        p.wait(timeout=60)


def main():
    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10,
                               n_classes=3, random_state=0)
    rows = X[:20].copy()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "forest.joblib")
        # size a small forest, then fit the number of trees that makes MB
        probe = fit(4, X, y)
        joblib.dump(probe, path)
        n_trees = max(1, round(4 * MB * 1e6 / os.path.getsize(path)))
        forest = fit(n_trees, X, y)
        joblib.dump(forest, path)
        size = os.path.getsize(path)
        arrays = array_bytes(forest)
        xpath = os.path.join(d, "rows.npy")
        np.save(xpath, rows)
        with open(path, "rb") as f:  # into the page cache, untimed
            f.read()

        jl = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            m = joblib.load(path)
            jl.append(time.perf_counter() - t)
            del m
        pd = [predictd_load_ms(path, xpath) / 1e3 for _ in range(REPEAT)]
        with open(path, "rb") as f:
            raw = f.read()
        sha = []
        for _ in range(REPEAT):
            t = time.perf_counter()
            hashlib.sha256(raw).digest()
            sha.append(time.perf_counter() - t)
        del raw
        mem, answer = server_memory(path, rows)
        want = forest.predict(rows).tolist()
        if answer.get("predictions") != want:
            raise SystemExit("the server's predictions differ from scikit-learn's")
        if not np.allclose(answer["probabilities"], forest.predict_proba(rows),
                           rtol=1e-9, atol=1e-12):
            raise SystemExit("the server's probabilities differ from scikit-learn's")

    budget_kb = (1.5 * arrays + 10e6) / 1024
    now = datetime.datetime.utcnow()
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    out = ["# Loading a %.0f MB model file, %s UTC" % (size / 1e6, now.strftime("%Y-%m-%d %H:%M")),
           "",
           "- machine: %s, %d CPUs, load average after the run %.2f %.2f %.2f"
           % ((cpu, os.cpu_count()) + tuple(load)),
           "- predictd (git %s); Python %s, scikit-learn %s, numpy %s, joblib %s"
           % (subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip(),
              platform.python_version(), sklearn.__version__, np.__version__,
              joblib.__version__),
           "- command: `MB=%g REPEAT=%d /usr/bin/python3 bench/load.py`" % (MB, REPEAT),
           "- model: RandomForestClassifier(n_estimators=%d), unbounded depth, on "
           "make_classification(20000, 20, n_informative=10, n_classes=3, random_state=0); "
           "joblib.dump uncompressed: %d bytes; its numpy arrays (nodes and values): %d bytes"
           % (n_trees, size, arrays),
           "- each load best of %d, the file in the page cache" % REPEAT, "",
           "| | seconds |", "|---|---:|",
           "| joblib.load | %.3f |" % min(jl),
           "| predictd load (`predictd bench`'s load_ms) | %.3f |" % min(pd),
           "| joblib.load / predictd | %.1fx |" % (min(jl) / min(pd)),
           "| SHA-256 of the file's bytes in memory (hashlib, one core) | %.3f |" % min(sha),
           "| joblib.load / 5 (the issue's goal for predictd's load) | %.3f |" % (min(jl) / 5),
           "", "predictd's load includes the file's SHA-256, computed on a thread of its own "
           "beside the read and the build when nothing checks it before the build (no pin, "
           "no signature), before the build when something does.", "",
           "Server (`predictd --model FILE --threads 2`), once /readyz answers 200, its answers "
           "on 20 rows checked against scikit-learn's:", "",
           "| | kB |", "|---|---:|",
           "| VmRSS | %d |" % mem["VmRSS"],
           "| VmHWM (peak) | %d |" % mem["VmHWM"],
           "| 1.5 x array bytes + 10 MB | %d |" % budget_kb,
           "| VmRSS / array bytes | %.2f |" % (mem["VmRSS"] * 1024 / arrays), ""]
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    res = os.path.join(HERE, "results", "%s-load.md" % now.strftime("%Y-%m-%d-%H%M%S"))
    with open(res, "w") as f:
        f.write("\n".join(out))
    print("\n".join(out))
    print("wrote", res)


if __name__ == "__main__":
    main()
