"""The compute pool over HTTP (server/pool.c, server/rows.c).

- A large batch is cut into row ranges that the idle compute threads
  compute too: the answer bodies of every protocol are the same bytes on
  --threads 1 and --threads 3, and agree with scikit-learn; a row the model
  refuses gives the same 400 (the same row number) either way.
- A small request (a body of a few rows) does not wait behind large
  batches: with --threads 1 busy on a batch, a 1-row request is answered
  before that batch is (one more thread takes only small requests).
  Only the order of events is asserted, never a duration.
- A small request is a small-request thread's, never a SCHED_IDLE
  worker's: the workers' share of the CPU time is what says so.
- A tiny request is computed on the HTTP thread while tiny requests are
  cheap (--inline-compute-us), never with 0, and not for a model whose
  single rows are slow; answers are the same either way.
"""
import http.client
import json
import os
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest, RandomForestClassifier, RandomForestRegressor
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from conftest import Server, save_model

RNG = np.random.default_rng(7)
X_TRAIN = RNG.normal(size=(3000, 6))
Y_TRAIN = (X_TRAIN[:, 0] + X_TRAIN[:, 1] ** 2 + RNG.normal(scale=0.5, size=3000) > 1).astype(int)


def post(port, path, body, timeout=300):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


@pytest.fixture(scope="module")
def forest(tmp_path_factory):
    m = RandomForestClassifier(n_estimators=60, random_state=0).fit(X_TRAIN, Y_TRAIN)
    return m, save_model(m, str(tmp_path_factory.mktemp("pool")))


def bodies(rows):
    return {
        "/predict": json.dumps({"instances": rows.tolist()}),
        "/v1/models/model:predict": json.dumps({"instances": rows.tolist()}),
        "/v2/models/model/infer": json.dumps({"inputs": [{
            "name": "input-0", "shape": list(rows.shape), "datatype": "FP64",
            "data": rows.ravel().tolist()}]}),
    }


def test_large_batch_same_bytes_on_one_and_three_threads(forest):
    m, path = forest
    rows = RNG.normal(size=(10000, 6)).round(3)
    answers = {}
    for threads in ("1", "3"):
        with Server(path, "--threads", threads) as s:
            for ep, body in bodies(rows).items():
                status, payload = post(s.port, ep, body)
                assert status == 200, payload[:300]
                answers[threads, ep] = payload
    for ep in bodies(rows):
        assert answers["1", ep] == answers["3", ep], ep
    got = json.loads(answers["3", "/predict"])
    assert got["predictions"] == m.predict(rows).tolist()
    np.testing.assert_allclose(got["probabilities"], m.predict_proba(rows), rtol=0, atol=1e-15)


def v2_with_outputs(rows, names):
    return json.dumps({"inputs": [{"name": "input-0", "shape": list(rows.shape),
                                   "datatype": "FP64", "data": rows.ravel().tolist()}],
                       "outputs": [{"name": n} for n in names]})


Y2 = np.stack([Y_TRAIN, (X_TRAIN[:, 2] > 0).astype(int) * 2], axis=1)
MODELS = {
    # idx width 2 (a label per output), proba of both outputs back to back
    "multioutput_classifier": (
        lambda: RandomForestClassifier(n_estimators=10, max_depth=6, random_state=0)
        .fit(X_TRAIN, Y2), ["predict", "predict_proba"]),
    # values width 2
    "regressor_two_targets": (
        lambda: RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0)
        .fit(X_TRAIN, np.stack([X_TRAIN[:, 0], X_TRAIN[:, 1]], axis=1)), ["predict"]),
    # decision_function width 3 (ovr over 3 classes)
    "svc_decision": (
        lambda: SVC(decision_function_shape="ovr").fit(X_TRAIN[:600], (X_TRAIN[:600, 0] > 0)
                                                       + (X_TRAIN[:600, 1] > 0)),
        ["predict", "decision_function"]),
    "pca_transform": (lambda: PCA(n_components=3).fit(X_TRAIN), ["transform"]),
    "iforest_scores": (
        lambda: IsolationForest(n_estimators=20, random_state=0).fit(X_TRAIN),
        ["predict", "decision_function", "score_samples"]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_large_batch_same_bytes_for_every_output_width(tmp_path, name):
    make, outputs = MODELS[name]
    path = save_model(make(), str(tmp_path))
    rows = RNG.normal(size=(3000, 6)).round(3)
    reqs = dict(bodies(rows))
    reqs["/v2/models/model/infer"] = v2_with_outputs(rows, outputs)
    answers = {}
    for threads in ("1", "3"):
        with Server(path, "--threads", threads) as s:
            for ep, body in reqs.items():
                status, payload = post(s.port, ep, body)
                assert status == 200, (ep, payload[:300])
                answers[threads, ep] = payload
    for ep in reqs:
        assert answers["1", ep] == answers["3", ep], ep


def test_refused_row_in_a_large_batch_same_error_on_any_thread_count(tmp_path):
    cats = RNG.integers(0, 4, size=(2000, 2)).astype(float)
    m = make_pipeline(OneHotEncoder(handle_unknown="error"),
                      LogisticRegression(max_iter=500)).fit(cats, (cats.sum(axis=1) > 3).astype(int))
    path = save_model(m, str(tmp_path))
    rows = RNG.integers(0, 4, size=(6000, 2)).astype(float)
    rows[4321, 1] = 9.0  # a category the encoder never saw
    errors = []
    for threads in ("1", "3"):
        with Server(path, "--threads", threads) as s:
            status, payload = post(s.port, "/predict", json.dumps({"instances": rows.tolist()}))
            assert status == 400, payload[:300]
            errors.append(json.loads(payload)["error"])
    assert errors[0] == errors[1]
    assert "4321" in errors[0], errors[0]


def test_small_request_not_behind_large_batches(tmp_path):
    # brute-force neighbours over 20,000 training rows: a batch's time is
    # its computation (not its upload or its JSON), on the only worker
    X = RNG.normal(size=(20000, 10))
    y = RNG.integers(0, 3, size=20000)
    m = KNeighborsClassifier(n_neighbors=5, algorithm="brute").fit(X, y)
    path = save_model(m, str(tmp_path))
    batch = json.dumps({"instances": RNG.normal(size=(10000, 10)).round(4).tolist()})
    one = json.dumps({"features": X[0].tolist()})
    with Server(path, "--threads", "1") as s:
        spans, failures = [], []
        stop = threading.Event()

        def batcher():
            while not stop.is_set():
                t0 = time.monotonic()
                status, payload = post(s.port, "/predict", batch)
                spans.append((t0, time.monotonic()))
                if status != 200:
                    failures.append((status, payload[:200]))

        threads = [threading.Thread(target=batcher, daemon=True) for _ in range(2)]
        try:
            for t in threads:
                t.start()
            inside = 0
            smalls = []
            for _ in range(8):
                time.sleep(0.05)
                t0 = time.monotonic()
                status, payload = post(s.port, "/predict", one, timeout=60)
                t1 = time.monotonic()
                assert status == 200, payload
                assert json.loads(payload)["prediction"] == m.predict(X[:1]).tolist()[0]
                smalls.append((t0, t1))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=300)
        assert not failures, failures
        # a small request that a batch's whole round trip encloses was
        # answered while the only worker was busy with that batch
        for a, b in smalls:
            inside += any(s0 < a and b < s1 for s0, s1 in spans)
        assert inside >= 1, (smalls, spans)


def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    values = [float(line.split()[1]) for line in text.splitlines()
              if line.startswith(name + " ")]
    assert len(values) == 1, (name, text[-2000:])
    return values[0]


@pytest.mark.parametrize("bound,inline", [("1000000", True), ("0", False)])
def test_tiny_requests_inline_by_their_cost(tmp_path, bound, inline):
    """A bound of 1 s: every tiny request is cheaper, so after the first few
    (the average starts at twice the bound) they run inline; 0: none do.
    Both answer as scikit-learn does."""
    m = LogisticRegression().fit(X_TRAIN, Y_TRAIN)
    path = save_model(m, str(tmp_path))
    rows = X_TRAIN[:30]
    with Server(path, "--inline-compute-us", bound) as s:
        for row in rows:
            status, payload = post(s.port, "/predict", json.dumps({"features": row.tolist()}))
            assert status == 200, payload
            assert json.loads(payload)["prediction"] == m.predict(row[None, :]).tolist()[0]
        status, payload = post(s.port, "/v2/models/model/infer", bodies(rows[:2])[
            "/v2/models/model/infer"])
        assert status == 200, payload
        ran = metric(s.port, "predictd_compute_inline_total")
        cost = metric(s.port, "predictd_compute_tiny_request_seconds")
    assert (ran >= 20) if inline else (ran == 0), ran
    assert cost > 0


def test_slow_single_rows_stay_on_the_compute_threads(tmp_path):
    """Brute-force neighbours over 100,000 rows take well over 50 us a row:
    with the default bound, no tiny request runs on the HTTP thread."""
    X = RNG.normal(size=(100000, 10))
    y = RNG.integers(0, 3, size=100000)
    m = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(X, y)
    path = save_model(m, str(tmp_path))
    with Server(path) as s:
        for row in X[:10]:
            status, payload = post(s.port, "/predict", json.dumps({"features": row.tolist()}))
            assert status == 200, payload
        ran = metric(s.port, "predictd_compute_inline_total")
        cost = metric(s.port, "predictd_compute_tiny_request_seconds")
    assert ran == 0 and cost > 50e-6, (ran, cost)


SCHED_OTHER, SCHED_IDLE = 0, 5  # linux/sched.h


def threads(pid):
    """[(tid, name, scheduling policy, user + system clock ticks)] of every
    thread of process pid, from fields 41, 14 and 15 of
    /proc/PID/task/TID/stat."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            stat = f.read()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out.append((int(tid), name, int(fields[41 - 3]),
                    int(fields[14 - 3]) + int(fields[15 - 3])))
    return out


def thread_policies(pid):
    """{thread name: [scheduling policy of each thread of that name]}."""
    out = {}
    for _, name, policy, _ in threads(pid):
        out.setdefault(name, []).append(policy)
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")
def test_compute_threads_yield_to_connection_threads(forest):
    """The --threads compute workers run at SCHED_IDLE; the connection
    threads, the small-request thread and the rest keep the normal
    policy, so that they take a CPU from a busy worker at once."""
    _, path = forest
    with Server(path, "--threads", "3") as s:
        status, _ = post(s.port, "/predict", json.dumps({"instances": X_TRAIN[:2].tolist()}))
        assert status == 200
        pol = thread_policies(s.proc.pid)
    everything = [p for ps in pol.values() for p in ps]
    assert everything.count(SCHED_IDLE) == 3, pol
    assert pol["MHD-worker"] and set(pol["MHD-worker"]) == {SCHED_OTHER}, pol
    assert everything.count(SCHED_OTHER) == len(everything) - 3, pol


def posix_timers(pid):
    """/proc/PID/timers as [{"signal": N, "notify": text, "clock": N}]."""
    timers, cur = [], None
    with open("/proc/%d/timers" % pid) as f:
        for line in f:
            key, _, value = line.strip().partition(": ")
            if key == "ID":
                cur = {}
                timers.append(cur)
            elif key == "signal":
                cur["signal"] = int(value.split("/")[0])
            elif key == "notify":
                cur["notify"] = value
            elif key == "ClockID":
                cur["clock"] = int(value)
    return timers


@pytest.mark.skipif(not os.path.exists("/proc/self/timers"), reason="Linux /proc/PID/timers")
def test_compute_threads_step_aside_on_a_timer_of_their_own(forest):
    """Each compute worker, and only a worker, has a monotonic-clock timer
    that signals that thread alone (SIGRTMIN, caught), so that a worker
    running a long job calls sched_yield every millisecond (server/pool.c,
    step_aside); batches long enough to be signalled keep scikit-learn's
    answers."""
    import signal
    m, path = forest
    rows = X_TRAIN  # 3,000 rows of 60 trees: milliseconds per job
    with Server(path, "--threads", "3") as s:
        status, body = post(s.port, "/predict", json.dumps({"instances": rows.tolist()}))
        assert status == 200, body
        assert json.loads(body)["predictions"] == m.predict(rows).tolist()
        timers = posix_timers(s.proc.pid)
        workers = {tid for tid, _, policy, _ in threads(s.proc.pid) if policy == SCHED_IDLE}
        with open("/proc/%d/status" % s.proc.pid) as f:
            caught = int([ln for ln in f if ln.startswith("SigCgt:")][0].split()[1], 16)
    assert len(workers) == 3, workers
    assert all(t["signal"] == signal.SIGRTMIN and t["clock"] == 1 for t in timers), timers
    assert {int(t["notify"].split("tid.")[1]) for t in timers
            if t["notify"].startswith("signal/tid.")} == workers, (timers, workers)
    assert len(timers) == 3, timers
    assert caught & (1 << (signal.SIGRTMIN - 1)), hex(caught)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")
def test_small_requests_left_to_the_small_request_thread(tmp_path):
    """A small request is computed by a small-request thread, never by a
    SCHED_IDLE worker, which a busy machine can hold off for a second
    (server/pool.c, for_workers): over 300 small requests the workers' CPU
    time stays a sliver of what computing them took (when idle workers
    took them too, about half), and every answer is scikit-learn's."""
    X = np.round(RNG.normal(size=(3000, 6)), 2)
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    m = RandomForestClassifier(n_estimators=300, random_state=0).fit(X, y)
    path = save_model(m, str(tmp_path))
    rows = X[:150]
    body = json.dumps({"instances": rows.tolist()})
    assert 4096 < len(body) <= 16384  # small, not tiny (server/http.c)
    want = m.predict(rows).tolist()
    with Server(path, "--threads", "2") as s:
        before = {tid: ticks for tid, _, _, ticks in threads(s.proc.pid)}
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
        try:
            for _ in range(300):
                c.request("POST", "/predict", body=body,
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                payload = r.read()
                assert r.status == 200, payload
                assert json.loads(payload)["predictions"] == want
        finally:
            c.close()
        after = {tid: ticks for tid, _, _, ticks in threads(s.proc.pid)}
        workers = {tid for tid, _, policy, _ in threads(s.proc.pid) if policy == SCHED_IDLE}
    assert len(workers) == 2, workers
    spent = {tid: after[tid] - before.get(tid, 0) for tid in after}
    total = sum(spent.values())
    by_workers = sum(spent[t] for t in workers)
    assert total >= 20, spent  # enough ticks (10 ms each) to tell who computed
    assert by_workers <= 0.1 * total, (by_workers, total, spent)
