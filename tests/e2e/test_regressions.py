"""Regression tests for what the security review found (fixed in 31cdf14).

Every reproducer of the review is a case in tests/fixtures/regressions/,
written by tests/fixtures/make_regressions.py and described in cases.json
(what it attacks, what the binary before the fix did, the expected outcome
and the message). Cases too large to commit are generated into a temp
directory by the same script at test time.

Each case runs `predictd check FILE` (20 s timeout) and must end by itself,
with no signal and no sanitizer report:
- "refused": exit 1 and `predictd: cannot load PATH: REASON`, REASON
  containing the case's substring;
- "loads": exit 0, stdout containing the substring (for the protocol-0
  UNICODE probes, the string CPython's pickle builds, as `check` prints it).
Amplification cases ("bounded") must also stay under 512 MB of peak RSS
and 10 s of wall time. Their peak RSS is measured by GNU time
(/usr/bin/time -f %M), which reports predictd's own ru_maxrss: rusage
taken here would not do, since RUSAGE_CHILDREN is a maximum over every
child ever reaped (its deltas are meaningless) and a child forked from
pytest inherits pytest's RSS (~80 MB) as its high-water mark. They run
under an address-space limit (PREDICTD_TEST_AS_LIMIT_MB, default 2048; 0
for none, e.g. for ASan builds) so that a regressed binary fails the test
instead of exhausting the machine.

Two HTTP checks from the same review run against a server on an iris
LogisticRegression: an input whose probabilities overflow gets a JSON 400
(not a 200 carrying NaN, which is not JSON), and a 404 for a URL that
decodes to invalid UTF-8 still has a valid UTF-8 JSON body.
"""
import http.client
import json
import os
import pickletools
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import pytest

from conftest import BIN, FIXTURES, HARNESS_ENV, Server, run_check
import iris_models

REG_DIR = os.path.join(FIXTURES, "regressions")
MAKE_REGRESSIONS = os.path.join(FIXTURES, "make_regressions.py")
MANIFEST_PATH = os.path.join(REG_DIR, "cases.json")

CHECK_TIMEOUT = 20        # seconds per `predictd check`
MAX_RSS_MB = 512          # bounded cases: peak resident memory
MAX_SECONDS = 10          # bounded cases: wall time
AS_LIMIT_MB = int(HARNESS_ENV.get("PREDICTD_TEST_AS_LIMIT_MB", "2048"))
TIME = "/usr/bin/time"      # GNU time (Debian package "time")
# scikit-learn pickles embed fitted floats: compared by manifest, not bytes
FITTED = ("logreg_nan_coef.pkl", "pipeline_scaler_zero_scale.pkl")

SANITIZER_RE = re.compile(r"runtime error:|Sanitizer|LeakSanitizer")


def _load_manifest():
    with open(MANIFEST_PATH) as f:
        return json.load(f)


MANIFEST = _load_manifest()


# ------------------------------------------------------------------ helpers --
class Outcome:
    def __init__(self, path, returncode, out, err, elapsed, max_rss_mb=None):
        self.path = path
        self.returncode = returncode    # None: timed out (and was killed)
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.max_rss_mb = max_rss_mb

    def describe(self):
        if self.returncode is None:
            status = "TIMED OUT after %.1f s" % self.elapsed
        elif self.returncode < 0:
            status = "KILLED by signal %d" % -self.returncode
        else:
            status = "exit %d in %.2f s" % (self.returncode, self.elapsed)
        if self.max_rss_mb is not None:
            status += ", peak RSS %.0f MB" % self.max_rss_mb
        return "%s: %s\n  stdout: %s\n  stderr: %s" % (
            os.path.basename(self.path), status,
            self.out.strip()[-400:] or "<empty>", self.err.strip()[-600:] or "<empty>")


def _text(b):
    return (b or b"").decode("utf-8", "backslashreplace")


def check_plain(path):
    """conftest's run_check, with a timeout that is a result, not an error."""
    t0 = time.monotonic()
    try:
        p = run_check(path, timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return Outcome(path, None, _text(e.stdout), _text(e.stderr), time.monotonic() - t0)
    return Outcome(path, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def _limit_address_space():
    if AS_LIMIT_MB > 0:
        n = AS_LIMIT_MB << 20
        resource.setrlimit(resource.RLIMIT_AS, (n, n))


TIME_SIGNAL_RE = re.compile(r"Command terminated by signal (\d+)")
TIME_RSS_RE = re.compile(r"^predictd-max-rss-kb=(\d+)$", re.M)


OUTPUT_KEEP = 1 << 20   # bytes of each stream kept (a regressed binary may print GBs)


def _drain(stream, into):
    """Reads a pipe to its end, keeping only its first OUTPUT_KEEP bytes."""
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        if len(into) < OUTPUT_KEEP:
            into += chunk[:OUTPUT_KEEP - len(into)]


def check_measured(path):
    """`predictd check PATH` under GNU time, which reports the peak RSS of
    predictd alone. (Measuring from here would not: a child forked from
    this Python process starts its high-water mark at Python's own RSS.)"""
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "time")
        argv = [TIME, "-f", "predictd-max-rss-kb=%M", "-o", report, BIN, "check", path]
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=_limit_address_space)
        out, err = bytearray(), bytearray()
        readers = [threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True),
                   threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)]
        for t in readers:
            t.start()
        try:
            proc.wait(timeout=CHECK_TIMEOUT)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)   # time and predictd
            proc.wait()
            timed_out = True
        elapsed = time.monotonic() - t0
        for t in readers:
            t.join()
        proc.stdout.close()
        proc.stderr.close()
        if timed_out:
            return Outcome(path, None, _text(out), _text(err), elapsed)
        with open(report) as f:
            text = f.read()
    m = TIME_RSS_RE.search(text)
    assert m, "no report from %s: %r" % (TIME, text)
    sig = TIME_SIGNAL_RE.search(text)
    code = -int(sig.group(1)) if sig else proc.returncode
    return Outcome(path, code, _text(out), _text(err), elapsed,
                   max_rss_mb=int(m.group(1)) / 1024.0)


def reason_of(o):
    prefix = "predictd: cannot load %s: " % o.path
    for line in o.err.splitlines():
        if prefix in line:
            return line.split(prefix, 1)[1]
    return None


def assert_outcome(o, entry):
    assert o.returncode is not None, o.describe()
    assert o.returncode >= 0, o.describe()
    assert not SANITIZER_RE.search(o.err), "sanitizer report\n" + o.describe()
    if entry["expect"] == "refused":
        assert o.returncode == 1, "expected a refusal\n" + o.describe()
        reason = reason_of(o)
        assert reason is not None, "stderr lacks 'predictd: cannot load PATH: '\n" + o.describe()
        assert entry["substring"] in reason, \
            "reason should contain %r\n%s" % (entry["substring"], o.describe())
    else:
        assert o.returncode == 0, "expected the file to load\n" + o.describe()
        assert entry["substring"] in o.out, \
            "stdout should contain %r\n%s" % (entry["substring"], o.describe())


def _read_stream(path):
    with open(path, "rb") as f:
        data = f.read()
    return zlib.decompress(data) if path.endswith(".z") else data


@pytest.fixture(scope="module")
def large_dir(tmp_path_factory):
    """The cases too big to commit, made by the same generator."""
    d = tmp_path_factory.mktemp("regressions-large")
    p = subprocess.run([sys.executable, MAKE_REGRESSIONS, "--large", str(d)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return str(d)


@pytest.fixture
def case_path(request):
    name = request.node.callspec.params["name"]
    if MANIFEST[name]["at_test_time"]:
        return os.path.join(request.getfixturevalue("large_dir"), name)
    return os.path.join(REG_DIR, name)


# -------------------------------------------------------------------- cases --
def test_manifest_matches_committed_files():
    committed = sorted(f for f in os.listdir(REG_DIR) if f != "cases.json")
    assert committed == sorted(n for n, e in MANIFEST.items() if not e["at_test_time"])
    assert len(MANIFEST) >= 25
    for name, e in MANIFEST.items():
        assert e["expect"] in ("refused", "loads") and e["substring"], name


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_regression_case(name, case_path):
    entry = MANIFEST[name]
    if entry["bounded"]:
        o = check_measured(case_path)
    else:
        o = check_plain(case_path)
    assert_outcome(o, entry)
    if entry["bounded"]:
        assert o.max_rss_mb < MAX_RSS_MB, \
            "peak RSS %.0f MB (limit %d)\n%s" % (o.max_rss_mb, MAX_RSS_MB, o.describe())
        assert o.elapsed < MAX_SECONDS, \
            "took %.1f s (limit %d)\n%s" % (o.elapsed, MAX_SECONDS, o.describe())


UNICODE_PROBES = sorted(n for n, e in MANIFEST.items()
                        if "python" in e and e["expect"] == "loads")


@pytest.mark.parametrize("name", UNICODE_PROBES)
def test_unicode_probe_expectation_is_cpythons(name):
    """The string a UNICODE probe must load as is the one CPython's
    raw-unicode-escape makes of the committed bytes. pickletools decodes
    the opcode's argument with that codec; nothing is unpickled."""
    data = _read_stream(os.path.join(REG_DIR, name))
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(data)]
    keys = [i for i, (op, arg) in enumerate(ops[:-1]) if op == "SHORT_BINUNICODE" and arg == "v"]
    assert len(keys) == 1, "expected one 'v' key in %s" % name
    op, value = ops[keys[0] + 1]
    assert op == "UNICODE", op
    assert MANIFEST[name]["substring"] == "v = " + json.dumps(value, ensure_ascii=False)
    assert MANIFEST[name]["python"]["pickle.loads"] == repr(value)


def test_generator_reproduces_committed_fixtures(tmp_path):
    """The committed files are what make_regressions.py writes today."""
    p = subprocess.run([sys.executable, MAKE_REGRESSIONS, str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    with open(tmp_path / "cases.json") as f:
        assert json.load(f) == MANIFEST, \
            "stale: run make_regressions.py %s" % REG_DIR
    for name, e in MANIFEST.items():
        if e["at_test_time"] or name in FITTED:
            continue
        # compare streams, not zlib output, which may vary between zlibs
        assert _read_stream(str(tmp_path / name)) == _read_stream(os.path.join(REG_DIR, name)), \
            "%s is stale: run make_regressions.py %s" % (name, REG_DIR)


# --------------------------------------------------------------------- HTTP --
@pytest.fixture(scope="module")
def iris_server(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("regressions-http") / "iris_logreg.pkl")
    iris_models.write_pickle(iris_models.fit_logreg(), path, 4)
    s = Server(path, drain_output=True)
    yield s
    s.stop()


def _call(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        conn.close()


def _strict_json(body):
    """Parses body as JSON the way the standard defines it: UTF-8, and no
    NaN/Infinity (which Python's json would otherwise accept)."""
    def no_constants(name):
        raise ValueError("%s is not JSON" % name)
    return json.loads(body.decode("utf-8"), parse_constant=no_constants)


def test_overflowing_probabilities_are_a_json_400(iris_server):
    body = b'{"features":[1e308,1e308,1e308,1e308]}'
    status, ctype, raw = _call(iris_server.port, "POST", "/predict", body)
    assert status == 400, (status, raw[:300])
    assert "json" in ctype.lower(), ctype
    doc = _strict_json(raw)
    assert isinstance(doc.get("error"), str) and doc["error"], doc


def test_404_for_undecodable_url_is_utf8_json(iris_server):
    # %FF decodes to a byte that is not UTF-8; %22 to a quote
    status, ctype, raw = _call(iris_server.port, "GET", "/%FF%22x")
    assert status == 404, (status, raw[:300])
    assert "json" in ctype.lower(), ctype
    doc = _strict_json(raw)
    assert isinstance(doc.get("error"), str) and doc["error"], doc
