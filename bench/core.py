"""Benchmark, not a test: the model core against scikit-learn, same run,
same rows, one thread.

    [BEFORE=OTHER_PREDICTD] /usr/bin/python3 bench/core.py [PREDICTD_BIN]
    (REPEAT=20, SINGLE=100 and ROUNDS=3 by default)

Fits each model on a 5,000 x 20, 3-class make_classification
(random_state=0), saves it with pickle, and times the same 1,000 rows:
  - `predictd bench --batch 1` (one row per call) and `--batch 1000`,
    `--threads 1`, best of REPEAT;
  - scikit-learn's batch call on the 1,000 rows (best of REPEAT) and its
    single-row call on the first SINGLE rows (default 100, best of 3),
    under threadpoolctl's limit of 1 thread and OMP_NUM_THREADS=1;
    the call is predict_proba when the model has it (what predictd
    computes alongside the class), else predict;
  - each model's figures are the best over ROUNDS rounds, a round timing
    every side once in turn (predictd, BEFORE, scikit-learn), so that no
    side is timed only in a slow stretch of a shared machine;
  - for RandomForest-100 depth 10, the same forest as generated if/else C
    (bench/forest_c.py, gcc -O2), whose probabilities are checked against
    scikit-learn's;
  - a 10,000-row batch on 1 and on 2 threads (`--threads`), RF-100.
Before timing, predictd's answers (`predictd eval`) are checked against
scikit-learn's on 20 rows (predict exactly, predict_proba within the matrix
tests' tolerance). With BEFORE set, that binary's `predictd bench` figures are added beside
(e.g. a build of main, to see a change side by side). Writes
bench/results/DATE-core.md.
"""
import datetime
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import (ExtraTreesClassifier, GradientBoostingClassifier,  # noqa: E402
                              HistGradientBoostingClassifier, IsolationForest,
                              RandomForestClassifier)
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import forest_c  # noqa: E402

BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                      else os.path.join(HERE, "..", "build", "predictd"))
BEFORE = os.environ.get("BEFORE")  # another predictd binary to time beside BIN
REPEAT = int(os.environ.get("REPEAT", "20"))
SINGLE = int(os.environ.get("SINGLE", "100"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))

MODELS = [
    ("RandomForest 100 trees, depth 10",
     lambda: RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0)),
    ("RandomForest 300 trees, unbounded",
     lambda: RandomForestClassifier(n_estimators=300, random_state=0)),
    ("ExtraTrees 100 trees, unbounded",
     lambda: ExtraTreesClassifier(n_estimators=100, random_state=0)),
    ("GradientBoosting 100 x 3, depth 3",
     lambda: GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)),
    ("HistGradientBoosting 100 x 3",
     lambda: HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                            random_state=0)),
    ("IsolationForest 100 trees", lambda: IsolationForest(n_estimators=100, random_state=0)),
    ("LogisticRegression", lambda: LogisticRegression(max_iter=1000)),
    ("SVC rbf, probability=False", lambda: SVC()),
    ("KNN 5 neighbours", lambda: KNeighborsClassifier()),
    ("MLP 100 hidden", lambda: MLPClassifier(max_iter=300, random_state=0)),
    ("GaussianNB", lambda: GaussianNB()),
]


def sk_call(m):
    return m.predict_proba if hasattr(m, "predict_proba") else m.predict


def best_of(fn, n):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def pbench(path, xpath, batch, threads=1, repeat=REPEAT, binary=None):
    cmd = [binary or BIN, "bench", path, "--input", xpath, "--batch", str(batch),
           "--threads", str(threads), "--repeat", str(repeat)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=True)
    shown = ["build/predictd"] + [os.path.basename(c) if c.startswith("/") else c
                                  for c in cmd[1:]]
    return json.loads(r.stdout), " ".join(shown)


def check_answers(name, m, path, X):
    rows = X[:20]
    r = subprocess.run([BIN, "eval", path], input=json.dumps({"instances": rows.tolist()}),
                       capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(r.stdout)
    if hasattr(m, "predict_proba"):
        want = m.predict_proba(rows)
        # the tolerance of tests/e2e/test_matrix.py (softmax/exp may differ by an ulp)
        if not np.allclose(np.array(got["predict_proba"]), want, rtol=1e-9, atol=1e-12):
            raise SystemExit("%s: predict_proba differs from scikit-learn" % name)
    want = m.predict(rows)
    if not np.array_equal(np.array(got["predict"]), want):
        raise SystemExit("%s: predict differs from scikit-learn" % name)


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return cpu, os.cpu_count(), os.getloadavg()


def main():
    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10,
                               n_classes=3, random_state=0)
    rows = X[:1000].copy()
    big = np.tile(X, (2, 1))[:10000].copy()
    lines, cmds = [], []
    with tempfile.TemporaryDirectory() as d:
        xpath = os.path.join(d, "rows.npy")
        np.save(xpath, rows)
        bigpath = os.path.join(d, "big.npy")
        np.save(bigpath, big)
        rf100_path = None
        for name, make in MODELS:
            m = make().fit(X, y) if "Isolation" not in name else make().fit(X)
            path = os.path.join(d, "m.pkl" if rf100_path else "rf100.pkl")
            with open(path, "wb") as f:
                pickle.dump(m, f)
            if rf100_path is None:
                rf100_path, rf100 = path, m
            check_answers(name, m, path, X)
            call = sk_call(m)
            inf = float("inf")
            one = batch = skb = sk1 = b1 = bb = inf
            # ROUNDS rounds, each timing every side once: the best of each
            # side then comes from the same stretch of time as the others'
            # (on a VM whose speed changes by 2x for seconds at a time).
            for _ in range(ROUNDS):
                r1, c1 = pbench(path, xpath, 1)
                rb, c2 = pbench(path, xpath, 1000)
                one, batch = min(one, r1["best_us_per_row"]), min(batch, rb["best_us_per_row"])
                load_ms = rb["load_ms"]
                if BEFORE:
                    b1 = min(b1, pbench(path, xpath, 1, binary=BEFORE)[0]["best_us_per_row"])
                    bb = min(bb, pbench(path, xpath, 1000, binary=BEFORE)[0]["best_us_per_row"])
                with threadpool_limits(limits=1):
                    skb = min(skb, best_of(lambda: call(rows), REPEAT) / len(rows) * 1e6)
                    sk1 = min(sk1, best_of(lambda: [call(rows[i:i + 1]) for i in range(SINGLE)],
                                           3) / SINGLE * 1e6)
            if not cmds:
                cmds += [c1, c2]
            lines.append((name, one, batch, skb, sk1, load_ms,
                          b1 if BEFORE else None, bb if BEFORE else None))
            print("%-36s predictd 1-row %9.3f  batch %9.3f  sklearn batch %9.3f  "
                  "1-row %9.1f us/row" % lines[-1][:5], flush=True)

        # the same RF-100 as compiled if/else C
        cpath = os.path.join(d, "forest.c")
        forest_c.write_c(rf100, cpath)
        exe = os.path.join(d, "forest")
        t = time.time()
        subprocess.run(["gcc", "-O2", "-o", exe, cpath], check=True, timeout=1800)
        gcc_s = time.time() - t
        raw = os.path.join(d, "rows.f64")
        rows.tofile(raw)
        cres = json.loads(subprocess.run([exe, raw, str(len(rows)), str(REPEAT)],
                                         capture_output=True, text=True, check=True).stdout)
        p = rf100.predict_proba(rows)
        want = float(sum(v * (i % 7 + 1) for i, v in enumerate(p.ravel())))
        if cres["checksum"] != want:
            raise SystemExit("generated C's probabilities differ from scikit-learn's: %r vs %r"
                             % (cres["checksum"], want))
        t1, c3 = pbench(rf100_path, bigpath, 10000, 1, max(3, REPEAT // 4))
        t2, c4 = pbench(rf100_path, bigpath, 10000, 2, max(3, REPEAT // 4))
        cmds += [c3, c4]

    cpu, ncpu, load = machine()
    now = datetime.datetime.utcnow()
    out = ["# Model core against scikit-learn, %s UTC" % now.strftime("%Y-%m-%d %H:%M"), "",
           "- machine: %s, %d CPUs, load average before the run %.2f %.2f %.2f"
           % ((cpu, ncpu) + tuple(load)),
           "- predictd %s (git %s); Python %s, scikit-learn %s, numpy %s, gcc %s"
           % (subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.split()[-1],
              subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip(),
              platform.python_version(), sklearn.__version__, np.__version__,
              subprocess.run(["gcc", "-dumpfullversion"], capture_output=True,
                             text=True).stdout.strip()),
           "- data: make_classification(5000, 20, n_informative=10, n_classes=3, "
           "random_state=0); the first 1,000 rows timed",
           "- command: `%sREPEAT=%d SINGLE=%d ROUNDS=%d /usr/bin/python3 bench/core.py`; "
           "predictd runs as e.g. `%s` (files in a temporary directory)"
           % ("BEFORE=%s " % BEFORE if BEFORE else "", REPEAT, SINGLE, ROUNDS, cmds[0]),
           "- predictd: best of %d; scikit-learn batch: best of %d, single rows: best of 3 over "
           "%d rows, threadpoolctl limit 1 and OMP_NUM_THREADS=1; predict_proba where the "
           "model has it, else predict; each the best over %d alternating rounds"
           % (REPEAT, REPEAT, SINGLE, ROUNDS), "",
           "| model | predictd, 1 row per call | predictd, batch of 1,000 | scikit-learn batch |"
           " scikit-learn, 1 row per call | batch: sklearn / predictd | 1 row: sklearn / "
           "predictd | load |" + (" BEFORE binary: 1 row | BEFORE: batch |" if BEFORE else ""),
           "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if BEFORE else "")]
    if BEFORE:
        out.insert(-2, "BEFORE is `%s`, timed in the same run on the same files.\n" % BEFORE)
    for name, one, batch, skb, sk1, load_ms, b1, bb in lines:
        out.append("| %s | %.3f us | %.3f us | %.3f us | %.1f us | %.1fx | %.0fx | %.1f ms |"
                   % (name, one, batch, skb, sk1, skb / batch, sk1 / one, load_ms)
                   + (" %.3f us | %.3f us |" % (b1, bb) if BEFORE else ""))
    out += ["",
            "RandomForest-100 depth 10 as generated if/else C (bench/forest_c.py, `gcc -O2`, "
            "%.0f s to compile; probabilities equal to scikit-learn's): %.3f us/row; predictd "
            "1 row / C = %.2f, batch / C = %.2f."
            % (gcc_s, cres["best_us_per_row"], lines[0][1] / cres["best_us_per_row"],
               lines[0][2] / cres["best_us_per_row"]), "",
            "RandomForest-100, one batch of 10,000 rows: 1 thread %.3f us/row, 2 threads %.3f "
            "us/row (%.2fx): `%s` / `%s`." % (t1["best_us_per_row"], t2["best_us_per_row"],
                                             t1["best_us_per_row"] / t2["best_us_per_row"],
                                             c3, c4), ""]
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    res = os.path.join(HERE, "results", "%s-core.md" % now.strftime("%Y-%m-%d-%H%M%S"))
    with open(res, "w") as f:
        f.write("\n".join(out))
    print("\n".join(out))
    print("wrote", res)


if __name__ == "__main__":
    main()
