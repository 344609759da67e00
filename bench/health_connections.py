"""Benchmark, not a test: health-check latency under connection pressure.

    /usr/bin/python3 bench/health_connections.py [PREDICTD_BIN]

predictd serves a 600-tree RandomForestClassifier (iris) with --threads 2
and its default limits (--max-connections 4096, --receive-timeout 30,
--timeout 30). In every scenario BATCHERS (2) client processes keep
sending 10,000-row /predict batches, so both compute threads are busy all
the time (every batch answer is checked against scikit-learn's predict).
Then, in turn:

  batches only     nothing else;
  idle keep-alive  IDLE (1,500) connections each send one GET /healthz
                   with keep-alive, read the answer and stay open, idle;
  slow headers     ATTACK (2,000) connections each send a request line and
                   then add one header line every DRIP (10) s, never ending
                   their headers; one cut off by the server is opened again
                   at once, so ATTACK stay open throughout.

Meanwhile the main process sends SAMPLES (300) requests in turn to
GET /healthz, GET /readyz and GET /v2/health/live, each on a fresh
connection, and records the wall time of each (a request that fails or
takes over 10 s counts as 10 s). The scenario's connections are opened
first and the samples start once they are all open; the slow-header
scenario samples for at least HOLD (40) s, so it spans the 30 s receive
deadline cutting the first wave. Prints p50, p99 and max per scenario
with the machine's load average, and writes the same to
bench/results/DATE-health-connections.md. RLIMIT_NOFILE is raised to its
hard limit first (the server inherits it).
"""
import http.client
import json
import multiprocessing as mp
import os
import pickle
import resource
import selectors
import socket
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
IDLE = int(os.environ.get("IDLE", "1500"))
ATTACK = int(os.environ.get("ATTACK", "2000"))
DRIP = float(os.environ.get("DRIP", "10"))
HOLD = float(os.environ.get("HOLD", "40"))
HEALTH = ("/healthz", "/readyz", "/v2/health/live")


def call(port, method, path, body=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def batcher(port, body, want, stop, count):
    while not stop.is_set():
        st, got = call(port, "POST", "/predict", body)
        assert st == 200 and got["predictions"] == want, st
        with count.get_lock():
            count.value += 1


def idle_holder(port, n, ready, stop, result):
    """n keep-alive connections, each answered once, then idle."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:
        buf = b""
        while b"\r\n\r\n" not in buf or not buf.endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        assert buf.startswith(b"HTTP/1.1 200"), buf[:80]
    ready.set()
    stop.wait()
    # how many are still open (an idle one closed by the server reads EOF)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            alive += s.recv(1) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
        s.close()
    result.put(alive)


def attacker(port, n, drip, ready, stop, result):
    """n connections that never finish their headers; reopened when cut."""
    sel = selectors.DefaultSelector()
    opened = cut = 0
    nxt = {}

    def open_one():
        nonlocal opened
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        nxt[s] = time.monotonic() + drip
        opened += 1

    for _ in range(n):
        open_one()
    ready.set()
    k = 0
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # the server closed it: open another
                sel.unregister(s)
                del nxt[s]
                s.close()
                cut += 1
                open_one()
        now = time.monotonic()
        for s, t in list(nxt.items()):
            if t <= now:
                try:
                    s.send(b"X-Slow-%d: x\r\n" % k)
                except OSError:
                    pass
                k += 1
                nxt[s] = now + drip
    for s in list(nxt):
        s.close()
    result.put((opened, cut))


def sample(port, min_seconds=0.0):
    lat = {p: [] for p in HEALTH}
    t_end = time.monotonic() + min_seconds
    i = 0
    while i < SAMPLES or time.monotonic() < t_end:
        path = HEALTH[i % len(HEALTH)]
        t0 = time.monotonic()
        try:
            st, _ = call(port, "GET", path, timeout=10)
            took = time.monotonic() - t0 if st == 200 else 10.0
        except OSError:
            took = 10.0
        lat[path].append(took)
        i += 1
        if min_seconds:
            time.sleep(0.02)
    return lat


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=600, random_state=0).fit(X, y)
    rng = np.random.default_rng(0)
    batch = rng.uniform(0, 8, size=(10000, 4)).round(2)
    want = model.predict(batch).tolist()
    body = json.dumps({"instances": batch.tolist()})
    d = tempfile.mkdtemp()
    path = os.path.join(d, "forest.pkl")
    with open(path, "wb") as f:
        pickle.dump(model, f)
    p = subprocess.Popen([BIN, "--model", path, "--host", "127.0.0.1", "--port", "0",
                          "--threads", "2", "--drain-grace", "0"],
                         stderr=subprocess.PIPE, text=True)
    try:
        run(p, body, want, hard)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def run(p, body, want, nofile):
    port = None
    while port is None:
        line = p.stderr.readline()
        if "listening on" in line:
            port = int(line.split("http://127.0.0.1:")[1].split()[0])
    log = []
    threading.Thread(target=lambda: [log.append(x) for x in p.stderr], daemon=True).start()
    while True:
        try:
            if call(port, "GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)
    stop_b = mp.Event()
    count = mp.Value("i", 0)
    bs = [mp.Process(target=batcher, args=(port, body, want, stop_b, count))
          for _ in range(BATCHERS)]
    for b in bs:
        b.start()
    time.sleep(1.0)
    rows = []

    def scenario(name, target, args, min_seconds=0.0):
        extra = ""
        if target:
            ready, stop, result = mp.Event(), mp.Event(), mp.Queue()
            proc = mp.Process(target=target, args=(port,) + args + (ready, stop, result))
            proc.start()
            ready.wait(timeout=120)
        b0 = count.value
        t0 = time.monotonic()
        lat = sample(port, min_seconds)
        took = time.monotonic() - t0
        if target:
            stop.set()
            r = result.get(timeout=60)
            proc.join(timeout=60)
            extra = r
        rows.append((name, lat, took, count.value - b0, extra))
        print(name, "done", extra, flush=True)

    scenario("batches only", None, ())
    scenario("+ %d idle keep-alive connections" % IDLE, idle_holder, (IDLE,))
    scenario("+ %d slow-header connections" % ATTACK, attacker, (ATTACK, DRIP), HOLD)
    stop_b.set()
    for b in bs:
        b.join(timeout=120)
    p.terminate()
    p.wait(timeout=60)
    load = os.getloadavg()
    lines = ["# Health-check latency under connection pressure", "",
             "`/usr/bin/python3 bench/health_connections.py` (%s): --threads 2, default "
             "limits, %d batch clients sending 10,000-row batches throughout; RLIMIT_NOFILE "
             "%d; load average at the end %.2f %.2f %.2f (2 CPUs shared with other work)."
             % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), BATCHERS, nofile, *load),
             "", "Each sample is one GET on a fresh connection, in turn to " +
             ", ".join(HEALTH) + "; failures would count as 10 s (there were %s)." % (
                 sum(1 for r in rows for v in r[1].values() for x in v if x >= 10.0) or "none"),
             "", "| scenario | samples | seconds | batches | p50 ms | p99 ms | max ms | notes |",
             "|---|---|---|---|---|---|---|---|"]
    for name, lat, took, nb, extra in rows:
        allv = [x for v in lat.values() for x in v]
        if isinstance(extra, tuple):
            note = "%d opened in all, %d cut by the receive deadline" % extra
        elif extra != "":
            note = "%d of %d still open at the end" % (extra, IDLE)
        else:
            note = ""
        lines.append("| %s | %d | %.0f | %d | %.1f | %.1f | %.1f | %s |" % (
            name, len(allv), took, nb, 1000 * statistics.median(allv), 1000 * pct(allv, 0.99),
            1000 * max(allv), note))
    lines += ["", "Per endpoint (p99 ms): " + "; ".join(
        "%s: %s" % (name, ", ".join("%s %.1f" % (k, 1000 * pct(v, 0.99)) for k, v in lat.items()))
        for name, lat, _, _, _ in rows)]
    cutlines = [x.strip() for x in log if "did not send a whole request" in x]
    if cutlines:
        lines += ["", "Server log, receive-deadline lines: %d, e.g. `%s`" % (
            len(cutlines), cutlines[0])]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results",
                       time.strftime("%Y-%m-%d-health-connections.md", time.gmtime()))
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
