"""Hostile and corrupt model files must be refused cleanly, with a reason.

Covers the public hostile corpus (../shared/corpus/hostile), the hand-made
exploit variants (tests/fixtures/exploits, written by
tests/fixtures/make_exploits.py), server start-up on exploits, and mechanical
corruption (truncation, byte and bit flips, lying length fields) of real iris
models. No file here is ever unpickled by Python: expectations come from a
static opcode walk (pickle_inspect.py).

"Refused cleanly" means: exit status 1 (no signal, no timeout) and
`predictd: cannot load PATH: REASON` on stderr.

Assumptions about REASON, kept loose on purpose and justified here:
- A disallowed global: REASON contains the dotted `module.name` of the first
  disallowed global in the stream, byte for byte as the file spells it
  (contract), and "byte offset N" (contract). A separate test requires N to
  point at the GLOBAL / INST / STACK_GLOBAL opcode itself (or just past it).
- A forbidden opcode (EXT1/2/4, PERSID, BINPERSID, NEXT_BUFFER): REASON
  contains the opcode name (any case) or its hex code ("0x82").
- A stream that ends before STOP or whose length field runs past the end of
  the file: REASON contains one of TRUNCATION_WORDS ("truncated", "unexpected
  end of ...", "ended early", "N bytes remain", "exceeds ..."). If such a
  stream names a disallowed global before the damage (the corpus's
  broken_model.pkl: `builtins.exec` at offset 0, then a BINUNICODE claiming
  543558206 bytes), either reason is accepted: a streaming reader stops at the
  global, a validating pre-pass stops at the length.
- A well-formed pickle with no disallowed global and no estimator (the benign
  plain-Python lists): REASON contains "estimator" ("no scikit-learn estimator
  found"). If bytes follow the first STOP (malicious6.pkl: a benign list, then
  a second pickle calling requests.api.get), the reader may also say so
  ("trailing" / "after stop" / "extra") or name the global it found there.
"""
import glob
import json
import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BIN, FIXTURES, SHARED
import iris_models
import pickle_inspect

HOSTILE_DIR = os.path.join(SHARED, "corpus", "hostile")
EXPLOIT_DIR = os.path.join(FIXTURES, "exploits")
MAKE_EXPLOITS = os.path.join(FIXTURES, "make_exploits.py")
SENTINEL_GLOB = "/tmp/predictd-pwned-*"

CHECK_TIMEOUT = 20       # seconds per `predictd check`
SERVER_EXIT_TIMEOUT = 10  # seconds for a server to give up on a hostile model
WORKERS = max(4, 2 * (os.cpu_count() or 1))

TRUNCATION_WORDS = ("truncat", "end of", "eof", "ended", "remain", "exceed",
                    "beyond", "past the end", "short")
NO_ESTIMATOR_WORDS = ("estimator",)
TRAILING_WORDS = ("trailing", "after stop", "extra")

OPCODE_BYTES = {"EXT1": 0x82, "EXT2": 0x83, "EXT4": 0x84, "PERSID": 0x50,
                "BINPERSID": 0x51, "NEXT_BUFFER": 0x97, "READONLY_BUFFER": 0x98}


def _listdir(d, exclude=()):
    if not os.path.isdir(d):
        return []
    return sorted(f for f in os.listdir(d) if f not in exclude)


CORPUS = _listdir(HOSTILE_DIR)
EXPLOIT_MANIFEST_PATH = os.path.join(EXPLOIT_DIR, "exploits.json")
EXPLOITS = _listdir(EXPLOIT_DIR, exclude=("exploits.json",))

# Start-up refusal is slower to test (a process per file that binds a port),
# so it runs on a representative subset: each opcode family, dotted names,
# spliced models, nested loaders, and three corpus files.
SERVER_SUBSET = [
    ("exploit", "os_system_p0_global.pkl"),
    ("exploit", "posix_system_p2_reduce.pkl"),
    ("exploit", "builtins_eval_p4.pkl"),
    ("exploit", "subprocess_check_output_inst_p0.pkl"),
    ("exploit", "os_system_obj_p1.pkl"),
    ("exploit", "builtins_exec_memo_overwrite_p4.pkl"),
    ("exploit", "builtins_getattr_self_dotted.pkl"),
    ("exploit", "sklearn_pipeline_globals_dotted.pkl"),
    ("exploit", "spliced_logreg_p4.pkl"),
    ("exploit", "spliced_forest_tree_p4.pkl"),
    ("exploit", "build_setstate_hijack_logreg.pkl"),
    ("exploit", "joblib_load_nested.pkl"),
    ("exploit", "ext1_p2.pkl"),
    ("corpus", "malicious11.pkl"),
    ("corpus", "malicious15b.pkl"),
    ("corpus", "sys_module_override_sploit.pkl"),
]

MODEL_NAMES = ["logreg_p2", "logreg_p4", "logreg_p5", "logreg_joblib",
               "forest_p2", "forest_p4", "forest_p5", "forest_joblib"]


# ------------------------------------------------------------------ helpers --
class Outcome:
    """How one predictd process ended."""

    def __init__(self, args, label, returncode, out, err, elapsed, timed_out):
        self.args = args
        self.label = label
        self.returncode = returncode
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.timed_out = timed_out

    def describe(self):
        if self.timed_out:
            status = "TIMED OUT after %.1fs" % self.elapsed
        elif self.returncode < 0:
            status = "KILLED by signal %d" % -self.returncode
        else:
            status = "exit %d in %.2fs" % (self.returncode, self.elapsed)
        return "%s [%s]: %s\n  stdout: %s\n  stderr: %s" % (
            self.label, " ".join(self.args[1:]), status,
            self.out.strip()[-400:] or "<empty>", self.err.strip()[-600:] or "<empty>")


def _decode(b):
    return (b or b"").decode("utf-8", "backslashreplace")


def run_predictd(args, label, timeout):
    """Runs BIN with args; never raises on timeout (the Outcome says so)."""
    argv = [BIN] + list(args)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return Outcome(argv, label, None, _decode(e.stdout), _decode(e.stderr),
                       time.monotonic() - t0, True)
    return Outcome(argv, label, p.returncode, _decode(p.stdout), _decode(p.stderr),
                   time.monotonic() - t0, False)


def check(path, label=None, timeout=CHECK_TIMEOUT):
    return run_predictd(["check", path], label or os.path.basename(path), timeout)


def check_many(cases):
    """cases: [(label, path)] -> [Outcome], run in parallel."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda c: check(c[1], c[0]), cases))


def refused_cleanly(o, path):
    """Exit 1 with the contract's `predictd: cannot load PATH: REASON`."""
    return (not o.timed_out and o.returncode == 1
            and ("predictd: cannot load %s: " % path) in o.err)


def reason_of(o, path):
    """The REASON part of the refusal line (whole stderr if not found)."""
    prefix = "predictd: cannot load %s: " % path
    for line in o.err.splitlines():
        if prefix in line:
            return line.split(prefix, 1)[1]
    return o.err


def expected_reason(data):
    """Returns (finding or None, [acceptable substrings], case_sensitive)."""
    s = pickle_inspect.scan(data)
    f = s.first_refusal
    if f is None and s.unresolved:
        pytest.fail("test helper cannot resolve STACK_GLOBAL at %r" % s.unresolved)
    if f is not None and f.kind == "global":
        if s.truncated:
            return f, [f.name] + list(TRUNCATION_WORDS), False
        return f, [f.name], True
    if f is not None:  # forbidden opcode
        return f, [f.name.lower(), "0x%02x" % OPCODE_BYTES[f.name]], False
    if s.truncated:
        return None, list(TRUNCATION_WORDS), False
    if s.trailing:
        return None, list(NO_ESTIMATOR_WORDS + TRAILING_WORDS) + [
            g.name for g in pickle_inspect.scan(data[s.stop_end:]).globals], False
    return None, list(NO_ESTIMATOR_WORDS), False


def assert_refused_with_reason(path):
    with open(path, "rb") as f:
        data = f.read()
    finding, accept, case_sensitive = expected_reason(data)
    o = check(path)
    assert not o.timed_out, o.describe()
    assert o.returncode is not None and o.returncode >= 0, o.describe()
    assert o.returncode == 1, o.describe()
    assert ("predictd: cannot load %s: " % path) in o.err, \
        "stderr lacks 'predictd: cannot load PATH: REASON'\n" + o.describe()
    reason = reason_of(o, path)
    hay = reason if case_sensitive else reason.lower()
    assert any(a in hay for a in accept), \
        "reason should contain one of %r (first refusal per static scan: %r)\n%s" % (
            accept, finding, o.describe())
    return finding, o


def _rm_sentinels():
    for p in glob.glob(SENTINEL_GLOB):
        try:
            os.unlink(p)
        except OSError:
            pass


@pytest.fixture(autouse=True)
def no_sentinels():
    """No payload may ever run: /tmp/predictd-pwned-* must never appear."""
    _rm_sentinels()
    yield
    left = glob.glob(SENTINEL_GLOB)
    _rm_sentinels()
    assert not left, "a payload ran: %r" % left


def _load_manifest():
    with open(EXPLOIT_MANIFEST_PATH) as f:
        return json.load(f)


# ------------------------------------------------------- corpus / exploits --
NO_SHARED = "../shared/corpus/hostile is absent (a clone without ../shared): the " \
            "shared hostile corpus is not checked; the project's own exploits are"


def test_hostile_corpus_present():
    if not os.path.isdir(HOSTILE_DIR):
        pytest.skip(NO_SHARED)
    assert len(CORPUS) >= 33, "expected the 33-file corpus in %s" % HOSTILE_DIR


def test_exploit_fixtures_present():
    manifest = _load_manifest()
    assert sorted(manifest) == EXPLOITS
    assert len(manifest) >= 30


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_file_refused_with_reason(name):
    assert_refused_with_reason(os.path.join(HOSTILE_DIR, name))


@pytest.mark.parametrize("name", EXPLOITS)
def test_exploit_refused_with_reason(name):
    path = os.path.join(EXPLOIT_DIR, name)
    entry = _load_manifest()[name]
    finding, o = assert_refused_with_reason(path)
    # The manifest and the static scan must agree, or the fixture is stale.
    if entry["kind"] == "structure":
        # no refused name: assert_refused_with_reason checked the reason
        # names the truncation, the trailing bytes or the missing estimator
        assert finding is None, (finding, entry)
        return
    assert finding is not None and finding.name == entry["expect"], (finding, entry)
    if entry["kind"] == "global":
        assert entry["expect"] in reason_of(o, path), o.describe()


def _global_cases():
    """Files whose first refusal is a disallowed global in an undamaged stream."""
    cases = []
    for kind, d, names in (("corpus", HOSTILE_DIR, CORPUS), ("exploit", EXPLOIT_DIR, EXPLOITS)):
        for n in names:
            path = os.path.join(d, n)
            with open(path, "rb") as f:
                s = pickle_inspect.scan(f.read())
            if s.first_refusal is not None and s.first_refusal.kind == "global" and not s.truncated:
                cases.append(pytest.param(path, s.first_refusal, id="%s-%s" % (kind, n)))
    return cases


@pytest.mark.parametrize("path,f", _global_cases())
def test_disallowed_global_reason_gives_opcode_offset(path, f):
    o = check(path)
    assert o.returncode == 1, o.describe()
    m = re.search(r"byte offset (\d+)", reason_of(o, path))
    assert m, "reason lacks 'byte offset N'\n" + o.describe()
    n = int(m.group(1))
    assert f.pos <= n <= f.end, \
        "offset %d should point at the %s opcode at %d..%d\n%s" % (n, f.name, f.pos, f.end, o.describe())


def test_exploit_manifest_matches_generator(tmp_path):
    """The committed fixtures are what make_exploits.py writes today."""
    p = subprocess.run([sys.executable, MAKE_EXPLOITS, str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    with open(tmp_path / "exploits.json") as f:
        fresh = json.load(f)
    committed = _load_manifest()

    def essence(m):
        return {k: (v["kind"], v["expect"], v["sentinel"]) for k, v in m.items()}
    assert essence(fresh) == essence(committed), \
        "regenerate: make_exploits.py %s" % EXPLOIT_DIR
    for name in fresh:
        if not name.startswith("spliced_"):  # spliced ones embed fitted floats
            assert (tmp_path / name).read_bytes() == open(os.path.join(EXPLOIT_DIR, name), "rb").read(), name


@pytest.mark.parametrize("kind,name", SERVER_SUBSET, ids=["%s-%s" % c for c in SERVER_SUBSET])
def test_server_startup_refuses_exploit(kind, name):
    if kind == "corpus" and not os.path.isdir(HOSTILE_DIR):
        pytest.skip(NO_SHARED)
    path = os.path.join(EXPLOIT_DIR if kind == "exploit" else HOSTILE_DIR, name)
    with open(path, "rb") as f:
        finding = pickle_inspect.scan(f.read()).first_refusal
    assert finding is not None
    o = run_predictd(["--model", path, "--host", "127.0.0.1", "--port", "0"],
                     name, SERVER_EXIT_TIMEOUT)
    assert not o.timed_out, "server kept running with a hostile model\n" + o.describe()
    assert o.returncode == 1, o.describe()
    # the server logs it as JSON: {"level":"error","msg":"cannot load PATH: REASON"}
    prefix = "cannot load %s: " % path
    msgs = [json.loads(line) for line in o.err.splitlines() if line.startswith("{")]
    reasons = [m["msg"][len(prefix):] for m in msgs
               if m["level"] == "error" and m["msg"].startswith(prefix)]
    assert len(reasons) == 1, o.describe()
    reason = reasons[0]
    if finding.kind == "global":
        assert finding.name in reason, o.describe()
    else:
        assert finding.name.lower() in reason.lower() or \
            ("0x%02x" % OPCODE_BYTES[finding.name]) in reason.lower(), o.describe()


# ----------------------------------------------------------------- corrupt --
@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return iris_models.write_variants(str(tmp_path_factory.mktemp("pristine")))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write_cases(tmp_path, name, mutants):
    """mutants: [(label, bytes)] -> [(label, path)]"""
    cases = []
    for i, (label, data) in enumerate(mutants):
        p = os.path.join(str(tmp_path), "%s-%03d.bin" % (name, i))
        with open(p, "wb") as f:
            f.write(data)
        cases.append(("%s %s" % (name, label), p))
    return cases


def _crash_or_silence(o):
    """Failures no input may ever cause: signal, hang, or saying nothing."""
    if o.timed_out:
        return "timeout"
    if o.returncode < 0:
        return "signal %d" % -o.returncode
    if o.returncode not in (0, 1):
        return "exit %d (expected 0 or 1)" % o.returncode
    if not (o.out.strip() or o.err.strip()):
        return "printed nothing"
    return None


def _report(failures, total):
    lines = ["%d of %d cases failed:" % (len(failures), total)]
    for why, o in failures[:15]:
        lines.append("- %s: %s" % (why, o.describe()))
    if len(failures) > 15:
        lines.append("... and %d more" % (len(failures) - 15))
    return "\n".join(lines)


def _assert_all_refused(cases):
    outcomes = check_many(cases)
    failures = []
    for (label, path), o in zip(cases, outcomes):
        why = _crash_or_silence(o)
        if why is None and not refused_cleanly(o, path):
            why = "not refused"
        if why:
            failures.append((why, o))
    assert not failures, _report(failures, len(cases))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pristine_model_accepted(pristine, name):
    """Baseline: the unmodified files load, so corruption results mean something."""
    o = check(pristine[name])
    assert not o.timed_out and o.returncode == 0, o.describe()
    assert o.out.strip() or o.err.strip(), o.describe()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_truncated_model_refused(pristine, name, tmp_path):
    data = _read(pristine[name])
    n = len(data)
    cuts = sorted(set([n * i // 60 for i in range(60)] + [n - 1, n - 2, n - 3]))
    cases = _write_cases(tmp_path, name, [("truncated to %d/%d" % (c, n), data[:c]) for c in cuts])
    assert len(cases) >= 60
    _assert_all_refused(cases)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_flipped_model_refused_or_harmless(pristine, name, tmp_path):
    """Single-byte replacements and single-bit flips at seeded random offsets:
    exit 1 (refused) or 0 (harmless, e.g. inside float data) are both fine;
    a signal, a hang, another status or silence is not."""
    data = _read(pristine[name])
    rng = random.Random("flips-" + name)
    mutants = []
    for _ in range(75):
        pos = rng.randrange(len(data))
        new = rng.choice([b for b in range(256) if b != data[pos]])
        mutants.append(("byte %d: %02x->%02x" % (pos, data[pos], new),
                        data[:pos] + bytes([new]) + data[pos + 1:]))
    for _ in range(75):
        pos = rng.randrange(len(data))
        bit = rng.randrange(8)
        new = data[pos] ^ (1 << bit)
        mutants.append(("bit %d of byte %d: %02x->%02x" % (bit, pos, data[pos], new),
                        data[:pos] + bytes([new]) + data[pos + 1:]))
    cases = _write_cases(tmp_path, name, mutants)
    outcomes = check_many(cases)
    failures = []
    for (label, path), o in zip(cases, outcomes):
        why = _crash_or_silence(o)
        if why is None and o.returncode == 1 and not refused_cleanly(o, path):
            why = "exit 1 without 'predictd: cannot load PATH: REASON'"
        if why:
            failures.append((why, o))
    assert not failures, _report(failures, len(cases))


def _stops_at_joblib_raw_data(opname, arg):
    # Raw array bytes follow each NumpyArrayWrapper in a joblib stream; the
    # opcode walk cannot continue past the first one.
    return isinstance(arg, str) and "NumpyArrayWrapper" in arg


def length_lies(data, max_fields=24):
    """[(label, bytes)] with length fields overwritten by values that run past
    the end of the file: huge ones and ones just one byte too many."""
    n = len(data)
    found = {}
    for opname, off, width, value in list(
            pickle_inspect.length_fields(data, _stops_at_joblib_raw_data)) + list(
            pickle_inspect.framed_length_fields(data)):
        remaining = n - (off + width)  # bytes after the length field
        if width >= 4 or remaining + 1 < 256:
            found[off] = (opname, off, width, value, remaining)
    fields = [found[k] for k in sorted(found)]
    if len(fields) > max_fields:  # evenly spread, keeping first and last
        step = (len(fields) - 1) / (max_fields - 1)
        fields = [fields[round(i * step)] for i in range(max_fields)]
    out = []
    for opname, off, width, value, remaining in fields:
        top = (1 << (8 * width)) - 1
        lies = {remaining + 1}
        if width >= 4:
            lies |= {top, top >> 1, 1 << (8 * width - 2)}
        else:
            lies.add(top)
        for lie in sorted(lies):
            if lie <= remaining or lie > top:
                continue
            mutated = data[:off] + lie.to_bytes(width, "little") + data[off + width:]
            out.append(("%s@%d length %d->%d (%d bytes remain)" % (
                opname, off - 1, value, lie, remaining), mutated))
    return out


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_length_lie_refused(pristine, name, tmp_path):
    data = _read(pristine[name])
    mutants = length_lies(data)
    assert mutants, "no length fields found in %s" % name
    _assert_all_refused(_write_cases(tmp_path, name, mutants))
