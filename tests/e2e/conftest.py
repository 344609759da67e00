"""Shared helpers for the end-to-end tests: they run the real predictd binary
and talk to it over real HTTP on loopback. scikit-learn (Debian's, run with
/usr/bin/python3) is the oracle for every number compared.

PREDICTD_BIN overrides the binary (default: build/predictd under the repo).
"""
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
SHARED = os.path.join(os.path.dirname(REPO), "shared")
# The test harness's own PREDICTD_* variables are taken out of the
# environment the servers inherit: predictd refuses to start with a
# PREDICTD_* variable it does not know (a misspelt setting).
HARNESS_ENV = {name: os.environ.pop(name)
               for name in ("PREDICTD_BIN", "PREDICTD_MATRIX_REPORT",
                            "PREDICTD_TEST_AS_LIMIT_MB", "PREDICTD_BUILD_DIR")
               if name in os.environ}
BIN = HARNESS_ENV.get("PREDICTD_BIN", os.path.join(REPO, "build", "predictd"))


def _sanitized(path):
    """True when path is a sanitizer build (it links libasan): valgrind
    cannot run it, and an image holding it is not the shipped image."""
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out or "libubsan" in out


SANITIZED = _sanitized(BIN)

# Servers stop on SIGTERM at once unless a test asks for a drain grace
# (flags win over the environment), or every stop would take the default 5 s.
os.environ.setdefault("PREDICTD_DRAIN_GRACE", "0")

LISTEN_RE = re.compile(r"listening on http://([^:\s]+):(\d+)")


class Server:
    """A running predictd. Use as a context manager or call stop()."""

    def __init__(self, model_path, *extra_args, timeout=30.0, wait_ready=True,
                 drain_output=True):
        args = [BIN, "--model", model_path, "--host", "127.0.0.1", "--port", "0"]
        args += list(extra_args)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.port = None
        self.stderr_lines = []
        deadline = time.monotonic() + timeout
        # predictd prints "listening on http://HOST:PORT" on stderr once its
        # socket is bound (before the model has finished loading).
        while self.port is None:
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("predictd did not report its port: %r" % self.stderr_lines)
            line = self.proc.stderr.readline()
            if not line:
                self.proc.wait(timeout=5)
                raise RuntimeError("predictd exited %s before listening: %s"
                                   % (self.proc.returncode, "".join(self.stderr_lines)))
            self.stderr_lines.append(line)
            m = LISTEN_RE.search(line)
            if m:
                self.port = int(m.group(2))
        self.url = "http://127.0.0.1:%d" % self.port
        self._drainers = []
        if drain_output:
            # The server's output is read all along, or a full pipe (one
            # access line per request goes to stderr) blocks it. stderr
            # keeps landing in stderr_lines (the first 100 and the last
            # 1000-2000 lines).
            self._drainers = [
                threading.Thread(target=self._drain, args=(self.proc.stderr, True), daemon=True),
                threading.Thread(target=self._drain, args=(self.proc.stdout, False), daemon=True),
            ]
            for t in self._drainers:
                t.start()
        if wait_ready:
            while True:
                try:
                    status, _ = self.request("GET", "/readyz")
                except (urllib.error.URLError, ConnectionError):
                    status = None  # e.g. it exited after a failed load
                if status == 200:
                    break
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    code = self.stop()
                    if drain_output:
                        for t in self._drainers:
                            t.join(timeout=2)
                    raise RuntimeError("predictd never became ready (exit status %s): %s"
                                       % (code, "".join(self.stderr_lines)))
                time.sleep(0.02)

    def _drain(self, stream, keep):
        for line in stream:
            if keep:
                self.stderr_lines.append(line)
                if len(self.stderr_lines) > 2100:
                    del self.stderr_lines[100:1100]

    def request(self, method, path, body=None, headers=None, raw=False):
        """Returns (status, parsed JSON body) or (status, bytes) with raw=True."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
        if raw:
            return status, payload
        return status, json.loads(payload) if payload else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._drainers:
            t.join(timeout=5)  # stderr_lines is complete once they end
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_for(pred, timeout=20):
    """pred() polled every 50 ms until it is true or timeout seconds pass;
    returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def run_check(path, timeout=60):
    """Runs `predictd check PATH`; returns the CompletedProcess."""
    return subprocess.run([BIN, "check", path], capture_output=True, text=True,
                          timeout=timeout)


def save_model(model, directory, name="model.pkl"):
    """Pickles model into directory/name; returns the path as a str."""
    import pickle
    path = os.path.join(str(directory), name)
    with open(path, "wb") as f:
        pickle.dump(model, f)
    return path


def module_server(request, model_path, *extra_args):
    """A Server for a module-scoped fixture, stopped when the module ends."""
    s = Server(model_path, *extra_args)
    request.addfinalizer(s.stop)
    return s


def assert_refused(model, words, directory):
    """Pickles model into directory and asserts `predictd check` refuses it
    with every one of words in its reason."""
    p = run_check(save_model(model, directory))
    assert p.returncode != 0, p.stdout
    for w in words:
        assert w in p.stderr, (w, p.stderr)


@pytest.fixture
def server_factory():
    started = []

    def start(model_path, *extra_args, **kw):
        s = Server(model_path, *extra_args, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
