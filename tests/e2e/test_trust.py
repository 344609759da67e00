"""Who may call predictd and what it agrees to serve: API keys (401, 403,
health left open, keys re-read on reload, never logged), pinned SHA-256
digests, Ed25519-signed model files (keys and signatures made by the
`openssl` command line, which is also the oracle for predictd's own
signatures), unknown PREDICTD_* variables, and a metadata wrapper's keys
in the V2 model metadata. scikit-learn's predict is the oracle for every
answer compared."""
import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from conftest import BIN, Server, wait_for

OPENSSL = shutil.which("openssl")
USER_KEY = "user-key-6f1c2a9e0d8b4c3a"
ADMIN_KEY = "admin-key-b7e24d09a1c35f86"
OTHER_KEY = "other-key-0000000000000000"


def bearer(key):
    return {"Authorization": "Bearer " + key}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two iris models whose answers differ on rows, pickled; returns
    (rows, [(bytes, answers), (bytes, answers)])."""
    X, y = load_iris(return_X_y=True)
    a = LogisticRegression(C=0.01, max_iter=1000).fit(X, y)
    b = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    rows = X[a.predict(X) != b.predict(X)][:5]
    assert len(rows) >= 3
    return rows.tolist(), [(pickle.dumps(m, protocol=4), m.predict(rows).tolist())
                           for m in (a, b)]


@pytest.fixture
def keyfiles(tmp_path):
    user = tmp_path / "api-keys"
    user.write_text("# predictd API keys\n\n  %s  \n%s\n" % (USER_KEY, "x" * 40))
    admin = tmp_path / "admin-keys"
    admin.write_text(ADMIN_KEY + "\r\n")
    return str(user), str(admin)


def openssl(*args):
    if not OPENSSL:
        pytest.skip("the openssl command line is not installed")
    subprocess.run([OPENSSL, *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def ed25519(tmp_path):
    """Two key pairs made by `openssl genpkey`: [(private, public), ...]."""
    pairs = []
    for n in ("one", "two"):
        priv, pub = str(tmp_path / (n + ".key")), str(tmp_path / (n + ".pub"))
        openssl("genpkey", "-algorithm", "ed25519", "-out", priv)
        openssl("pkey", "-in", priv, "-pubout", "-out", pub)
        pairs.append((priv, pub))
    return pairs


def sign(path, key):
    p = subprocess.run([BIN, "sign", "--key", key, path], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p


def start_fails(*args, env=None):
    """Runs a server that must not start; returns (exit status, stderr)."""
    p = subprocess.run([BIN, "--host", "127.0.0.1", "--port", "0", *args],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode != 0, p.stderr
    return p.returncode, p.stderr


def write(path, data):
    """Replaces path atomically (a new inode and mtime, as a deploy does)."""
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, str(path))


# --- API keys ----------------------------------------------------------------

def test_keys_guard_inference_and_metadata_but_not_health(models, keyfiles, tmp_path):
    rows, ((a_bytes, a_ans), _) = models
    path = tmp_path / "m.pkl"
    path.write_bytes(a_bytes)
    user, admin = keyfiles
    inputs = [{"name": "input-0", "shape": [len(rows), 4], "datatype": "FP64", "data": rows}]
    guarded = [("POST", "/predict", {"instances": rows}),
               ("POST", "/v1/models/m:predict", {"instances": rows}),
               ("POST", "/v2/models/m/infer", {"inputs": inputs}),
               ("GET", "/v2/models/m", None),
               ("GET", "/v2/models", None),
               ("GET", "/v1/models", None),
               ("GET", "/v2", None)]
    with Server("m=%s" % path, "--api-key-file", user, "--admin-key-file", admin) as s:
        for method, url, body in guarded:
            st, b = s.request(method, url, body)
            assert st == 401 and "Authorization: Bearer" in b["error"], (url, st, b)
            st, b = s.request(method, url, body, headers=bearer(OTHER_KEY))
            assert st == 401 and "not valid" in b["error"], (url, st, b)
            for key in (USER_KEY, "x" * 40, ADMIN_KEY):
                st, b = s.request(method, url, body, headers=bearer(key))
                assert st == 200, (url, key, st, b)
        st, b = s.request("POST", "/predict", {"instances": rows}, headers=bearer(USER_KEY))
        assert b["predictions"] == a_ans
        st, b = s.request("POST", "/v2/models/m/infer", {"inputs": inputs},
                          headers={"Authorization": "bearer \t" + USER_KEY + " "})
        assert st == 200 and b["outputs"][0]["data"] == a_ans, b
        for url in ("/healthz", "/readyz", "/v2/health/live", "/v2/health/ready",
                    "/v2/models/m/ready", "/v1/models/m"):
            assert s.request("GET", url)[0] == 200, url
        # an open route names no models to a caller without a key
        st, b = s.request("GET", "/v2/models/nope/ready")
        assert st == 404 and "'m'" not in b["error"] and "m)" not in b["error"], b


def test_unauthorized_answers_carry_www_authenticate(models, keyfiles, tmp_path):
    import urllib.error
    import urllib.request
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    with Server("m=%s" % path, "--api-key-file", keyfiles[0]) as s:
        for headers, expect in (({}, 'Bearer realm="predictd"'),
                                (bearer(OTHER_KEY), 'error="invalid_token"'),
                                ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer")):
            req = urllib.request.Request(s.url + "/v2/models/m", headers=headers)
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req, timeout=30)
            assert e.value.code == 401
            assert e.value.headers["WWW-Authenticate"].startswith("Bearer"), e.value.headers
            assert expect in e.value.headers["WWW-Authenticate"]


def test_repository_needs_an_admin_key(models, keyfiles, tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    user, admin = keyfiles
    with Server("m=%s" % path, "--api-key-file", user, "--admin-key-file", admin) as s:
        for url in ("/v2/repository/index", "/v2/repository/models/m/unload",
                    "/v2/repository/models/m/load"):
            assert s.request("POST", url, {})[0] == 401, url
            assert s.request("POST", url, {}, headers=bearer(OTHER_KEY))[0] == 401, url
            st, b = s.request("POST", url, {}, headers=bearer(USER_KEY))
            assert st == 403 and "admin" in b["error"], (url, st, b)
        st, b = s.request("POST", "/v2/repository/index", {}, headers=bearer(ADMIN_KEY))
        assert st == 200 and [e["name"] for e in b] == ["m"], b
        st, b = s.request("POST", "/v2/repository/models/m/unload", {},
                          headers=bearer(ADMIN_KEY))
        assert st == 200, b
        assert s.request("GET", "/v2/models/m/ready")[0] == 404
        st, b = s.request("POST", "/v2/repository/models/m/load", {},
                          headers=bearer(ADMIN_KEY))
        assert st == 200, b
    # with API keys and no admin key file, nobody may use the repository
    with Server("m=%s" % path, "--api-key-file", user) as s:
        st, b = s.request("POST", "/v2/repository/index", {}, headers=bearer(USER_KEY))
        assert st == 403 and "--admin-key-file" in b["error"], b
    # with only an admin key file, inference stays open
    with Server("m=%s" % path, "--admin-key-file", admin) as s:
        assert s.request("POST", "/predict", {"instances": models[0]})[0] == 200
        assert s.request("POST", "/v2/repository/index", {})[0] == 401
        assert s.request("POST", "/v2/repository/index", {}, headers=bearer(ADMIN_KEY))[0] == 200


def test_key_file_reread_on_sighup_and_kept_when_broken(models, keyfiles, tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    user = keyfiles[0]
    new_key = "rotated-key-9a8b7c6d5e4f3a2b"
    s = Server("m=%s" % path, "--api-key-file", user, drain_output=True)
    try:
        assert s.request("GET", "/v2/models/m", headers=bearer(USER_KEY))[0] == 200
        write(user, (new_key + "\n").encode())
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: s.request("GET", "/v2/models/m",
                                          headers=bearer(new_key))[0] == 200)
        assert s.request("GET", "/v2/models/m", headers=bearer(USER_KEY))[0] == 401
        # a broken file (a line that is no key) keeps the keys in use
        write(user, b"short\n")
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "API keys in use are unchanged" in "".join(s.stderr_lines))
        assert s.request("GET", "/v2/models/m", headers=bearer(new_key))[0] == 200
        log = "".join(s.stderr_lines)
        assert "line 1" in log, log
    finally:
        s.stop()
    log = "".join(s.stderr_lines)
    for secret in (USER_KEY, new_key, "short", OTHER_KEY):
        assert secret not in log, (secret, log)


def test_keys_never_logged_nor_echoed(models, keyfiles, tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    user, admin = keyfiles
    s = Server("m=%s" % path, "--api-key-file", user, "--admin-key-file", admin,
               drain_output=True)
    try:
        bodies = []
        for key in (OTHER_KEY, USER_KEY, ADMIN_KEY, USER_KEY[:-1]):
            for method, url in (("GET", "/v2/models/m"), ("POST", "/v2/repository/index"),
                                ("GET", "/v2/models/nope")):
                bodies.append(s.request(method, url, {} if method == "POST" else None,
                                        headers=bearer(key), raw=True)[1].decode())
    finally:
        s.stop()
    text = "".join(s.stderr_lines) + "".join(bodies)
    for key in (OTHER_KEY, USER_KEY, ADMIN_KEY, USER_KEY[:-1]):
        assert key not in text and key[:8] not in text, key


def test_bad_key_files_stop_start_up_without_showing_lines(models, tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    bad = tmp_path / "keys"
    bad.write_text("# comment\n%s\nsecret with spaces in it!!\n" % USER_KEY)
    code, err = start_fails("--model", str(path), "--api-key-file", str(bad))
    assert "%s line 3" % bad in err and "secret" not in err and USER_KEY not in err, err
    bad.write_text("# only comments\n\n")
    code, err = start_fails("--model", str(path), "--api-key-file", str(bad))
    assert "holds no key" in err, err
    code, err = start_fails("--model", str(path), "--api-key-file", str(tmp_path / "none"))
    assert "none" in err and "No such file" in err, err
    code, err = start_fails("--model", str(path), "--metrics-auth")
    assert code == 2 and "--api-key-file" in err, err


# --- pinned digests ------------------------------------------------------------

def test_pinned_digest_serves_and_refuses(models, tmp_path):
    rows, ((a_bytes, a_ans), (b_bytes, b_ans)) = models
    path = tmp_path / "m.pkl"
    path.write_bytes(a_bytes)
    a_sha = hashlib.sha256(a_bytes).hexdigest()
    b_sha = hashlib.sha256(b_bytes).hexdigest()
    code, err = start_fails("--model", "m=%s" % path, "--model-sha256", "m=" + b_sha)
    assert "cannot load %s" % path in err and a_sha in err and b_sha in err, err
    code, err = start_fails("--model", "m=%s" % path, "--model-sha256", "typo=" + a_sha)
    assert code == 2 and "'typo'" in err, err
    code, err = start_fails("--model", "m=%s" % path, "--model-sha256", "m=abc")
    assert code == 2 and "64 hex digits" in err, err
    s = Server("m=%s" % path, "--model-sha256", "m=" + a_sha.upper(), drain_output=True)
    try:
        assert s.request("POST", "/predict", {"instances": rows})[1]["predictions"] == a_ans
        write(path, b_bytes)  # another digest: refused, the old one goes on
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "the old version goes on serving" in "".join(s.stderr_lines))
        assert s.request("POST", "/predict", {"instances": rows})[1]["predictions"] == a_ans
        assert b_sha in "".join(s.stderr_lines)
    finally:
        s.stop()
    # a name pinned to two digests takes either
    env = dict(os.environ, PREDICTD_MODEL_SHA256="m=%s,m=%s" % (a_sha, b_sha))
    s = subprocess.Popen([BIN, "--model", "m=%s" % path, "--host", "127.0.0.1", "--port", "0"],
                         env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in s.stderr:
            if "ready" in line or "not starting" in line:
                break
        assert json.loads(line).get("msg") == "ready", line
    finally:
        s.terminate()
        s.wait(timeout=10)


def test_a_large_files_digest_is_its_sha256_pinned_or_not(tmp_path):
    """From 4 MiB on, a file no pin or key checks is hashed on a thread
    that follows its read: the digest reported must still be the file's,
    and a pin on such a file is still checked before it loads. From 8 MiB
    on its trees are built into huge-page slabs: the answers must still
    be scikit-learn's."""
    rng = np.random.RandomState(0)
    X = rng.rand(4000, 5)
    m = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, rng.randint(0, 3, 4000))
    path = tmp_path / "big.pkl"
    path.write_bytes(pickle.dumps(m, protocol=4))
    assert path.stat().st_size > 8 << 20, path.stat().st_size
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    c = subprocess.run([BIN, "check", str(path)], capture_output=True, text=True, timeout=120)
    assert c.returncode == 0, c.stderr
    assert "sha256:          %s\n" % digest in c.stdout, c.stdout
    rows = tmp_path / "rows.npy"
    np.save(rows, X[:3])
    c = subprocess.run([BIN, "bench", str(path), "--input", str(rows), "--repeat", "1"],
                       capture_output=True, text=True, timeout=120)
    assert c.returncode == 0 and json.loads(c.stdout)["sha256"] == digest, c.stdout + c.stderr
    code, err = start_fails("--model", "m=%s" % path, "--model-sha256", "m=" + "0" * 64)
    assert "cannot load %s" % path in err and digest in err, err
    with Server("m=%s" % path, "--model-sha256", "m=" + digest, drain_output=True) as s:
        got = s.request("POST", "/predict", {"instances": X[:5].tolist()})[1]["predictions"]
        assert got == m.predict(X[:5]).tolist()
    with Server("m=%s" % path, drain_output=True) as s:
        got = s.request("POST", "/predict", {"instances": X[:200].tolist()})[1]
        assert got["predictions"] == m.predict(X[:200]).tolist()
        assert got["probabilities"] == m.predict_proba(X[:200]).tolist()


# --- signed files --------------------------------------------------------------

def test_predictd_signature_verifies_with_openssl_and_back(models, ed25519, tmp_path):
    (priv, pub), _ = ed25519
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    p = sign(str(path), priv)
    assert hashlib.sha256(path.read_bytes()).hexdigest() in p.stdout
    sig = tmp_path / "m.pkl.sig"
    assert sig.stat().st_size == 64
    openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", str(path),
            "-sigfile", str(sig))
    # and a signature openssl made is one predictd takes
    sig.unlink()
    openssl("pkeyutl", "-sign", "-inkey", priv, "-rawin", "-in", str(path), "-out", str(sig))
    c = subprocess.run([BIN, "check", "--verify-key", pub, str(path)], capture_output=True,
                       text=True, timeout=60)
    assert c.returncode == 0, c.stderr
    assert "signature:       valid (%s, Ed25519 key %s)" % (sig, pub) in c.stdout, c.stdout


def test_check_reports_the_signature_state(models, ed25519, tmp_path):
    (priv, pub), (_, pub2) = ed25519
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    c = subprocess.run([BIN, "check", str(path)], capture_output=True, text=True, timeout=60)
    assert "signature:       none (no %s.sig)" % path in c.stdout, c.stdout
    sign(str(path), priv)
    c = subprocess.run([BIN, "check", str(path)], capture_output=True, text=True, timeout=60)
    assert "signature:       not checked" in c.stdout, c.stdout
    assert "sha256:          " + hashlib.sha256(path.read_bytes()).hexdigest() in c.stdout
    c = subprocess.run([BIN, "check", "--verify-key", pub2, "--verify-key", pub, str(path)],
                       capture_output=True, text=True, timeout=60)
    assert c.returncode == 0 and "Ed25519 key %s)" % pub in c.stdout, c.stdout + c.stderr
    c = subprocess.run([BIN, "check", "--verify-key", pub2, str(path)], capture_output=True,
                       text=True, timeout=60)
    assert c.returncode == 1 and "%s.sig: the signature does not match" % path in c.stderr


def test_signed_file_serves_and_tampering_is_refused(models, ed25519, tmp_path):
    rows, ((a_bytes, a_ans), _) = models
    (priv, pub), (priv2, pub2) = ed25519
    path = tmp_path / "m.pkl"
    sig = tmp_path / "m.pkl.sig"
    path.write_bytes(a_bytes)
    sign(str(path), priv)
    with Server("m=%s" % path, "--verify-key", pub2, "--verify-key", pub,
                drain_output=True) as s:
        assert s.request("POST", "/predict", {"instances": rows})[1]["predictions"] == a_ans
        assert wait_for(lambda: "signature valid (%s, Ed25519 key %s)" % (sig, pub)
                        in "".join(s.stderr_lines)), s.stderr_lines
    good_sig = sig.read_bytes()

    # one flipped byte in the model, inside a coefficient so that the file
    # still loads unsigned: the signature alone refuses it
    at = a_bytes.index(pickle.loads(a_bytes).coef_.tobytes()) + 3
    flipped = bytearray(a_bytes)
    flipped[at] ^= 0x01
    path.write_bytes(bytes(flipped))
    assert subprocess.run([BIN, "check", str(path)], capture_output=True,
                          timeout=60).returncode == 0
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", pub)
    assert "cannot load %s: %s: the signature does not match" % (path, sig) in err, err

    # one flipped byte in the signature
    path.write_bytes(a_bytes)
    bad = bytearray(good_sig)
    bad[10] ^= 0x80
    sig.write_bytes(bytes(bad))
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", pub)
    assert "%s: the signature does not match" % sig in err, err

    # signed by another key than the trusted one
    sig.write_bytes(good_sig)
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", pub2)
    assert "%s: the signature does not match the file under the trusted key" % sig in err

    # not 64 bytes, or no signature at all
    sig.write_bytes(good_sig + b"\n")
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", pub)
    assert "%s: expected a raw 64-byte Ed25519 signature" % sig in err, err
    sig.unlink()
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", pub)
    assert "%s: no such file; every model file must be signed" % sig in err, err

    # a private key, or no key, where a public key is expected
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", priv)
    assert "--verify-key %s: expected an Ed25519 public key" % priv in err, err
    code, err = start_fails("--model", "m=%s" % path, "--verify-key", str(path))
    assert "expected an Ed25519 public key" in err, err


def test_reload_of_an_unsigned_replacement_keeps_the_old(models, ed25519, tmp_path):
    rows, ((a_bytes, a_ans), (b_bytes, b_ans)) = models
    (priv, pub), (priv2, _) = ed25519
    repo = tmp_path / "repo"
    (repo / "m" / "1").mkdir(parents=True)
    path = repo / "m" / "1" / "model.pkl"
    path.write_bytes(a_bytes)
    sign(str(path), priv)
    fixed = tmp_path / "fixed.pkl"
    fixed.write_bytes(a_bytes)
    sign(str(fixed), priv)
    s = Server("fixed=%s" % fixed, "--model-dir", str(repo), "--verify-key", pub,
               drain_output=True)
    try:
        def answer():
            return s.request("POST", "/v1/models/m:predict", {"instances": rows})[1]

        def reason():
            return [e["reason"] for e in s.request("POST", "/v2/repository/index", {})[1]
                    if e["name"] == "m"][0]

        assert answer()["predictions"] == a_ans
        write(path, b_bytes)  # the old signature stays beside it
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: reason()), reason()
        assert "reload failed" in reason() and "%s.sig" % path in reason(), reason()
        assert answer()["predictions"] == a_ans
        sign(str(path), priv2)  # signed, but not by a trusted key
        os.utime(path)
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "trusted key" in "".join(s.stderr_lines[-3:]))
        assert answer()["predictions"] == a_ans
        sign(str(path), priv)  # signed properly: served
        os.utime(path)
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: answer()["predictions"] == b_ans), answer()
        assert reason() == ""
        # a new version without any signature never appears
        (repo / "m" / "2").mkdir()
        (repo / "m" / "2" / "model.pkl").write_bytes(a_bytes)
        s.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: any(e["version"] == "2" and e["state"] == "UNAVAILABLE"
                                    for e in s.request("POST", "/v2/repository/index",
                                                       {})[1]))
        st, b = s.request("POST", "/v1/models/m/versions/1:predict", {"instances": rows})
        assert b["predictions"] == b_ans
        assert s.request("POST", "/v1/models/m/versions/2:predict", {"instances": rows})[0] == 503
    finally:
        s.stop()


# --- configuration --------------------------------------------------------------

def test_unknown_environment_variable_stops_start_up(models, tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(models[1][0][0])
    env = dict(os.environ, PREDICTD_THREDS="4")
    code, err = start_fails("--model", str(path), env=env)
    assert code == 2 and "unknown environment variable PREDICTD_THREDS" in err, err
    env = dict(os.environ, PREDICTD_API_KEY_FIEL="")
    code, err = start_fails("--model", str(path), env=env)
    assert "PREDICTD_API_KEY_FIEL" in err, err


def test_settings_from_environment_and_config_file(models, keyfiles, ed25519, tmp_path):
    rows, ((a_bytes, a_ans), _) = models
    path = tmp_path / "m.pkl"
    path.write_bytes(a_bytes)
    (priv, pub), _ = ed25519
    sign(str(path), priv)
    user, admin = keyfiles
    conf = tmp_path / "predictd.json"
    conf.write_text('{"verify_key": ["%s"], "model_sha256": "m=%s", "admin_key_file": "%s"}'
                    % (pub, hashlib.sha256(a_bytes).hexdigest(), admin))
    os.environ["PREDICTD_API_KEY_FILE"] = user
    try:
        s = Server("m=%s" % path, "--config", str(conf))
    finally:
        del os.environ["PREDICTD_API_KEY_FILE"]
    with s:
        assert s.request("POST", "/predict", {"instances": rows})[0] == 401
        st, b = s.request("POST", "/predict", {"instances": rows}, headers=bearer(USER_KEY))
        assert b["predictions"] == a_ans
        assert s.request("POST", "/v2/repository/index", {}, headers=bearer(USER_KEY))[0] == 403
    conf.write_text('{"verify_keys": "%s"}' % pub)
    code, err = start_fails("--model", str(path), "--config", str(conf))
    assert code == 2 and 'unknown key "verify_keys"' in err, err


# --- a metadata wrapper's keys in the V2 model metadata -------------------------

def test_wrapper_version_and_keys_in_v2_parameters(tmp_path):
    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    wrapper = {"model": clf, "version": "1.0", "accuracy": 0.973,
               "trained_at": "2024-05-01T12:00:00", "sklearn_version": "9.9",
               "tags": ["iris", "demo"]}
    path = tmp_path / "wrapped.pkl"
    path.write_bytes(pickle.dumps(wrapper, protocol=4))
    with Server("w=%s" % path) as s:
        st, b = s.request("GET", "/v2/models/w")
        assert st == 200, b
        p = b["parameters"]
        assert p["version"] == "1"  # the version served, as before
        assert p["wrapper.version"] == "1.0"
        assert p["sklearn_version"] == "1.2.1" or p["sklearn_version"] == clf._sklearn_version
        assert p["wrapper.sklearn_version"] == "9.9"
        assert p["accuracy"] == 0.973 and p["trained_at"] == "2024-05-01T12:00:00"
        assert p["tags"] == '["iris","demo"]'
        st, b = s.request("POST", "/predict", {"instances": X[:5].tolist()})
        assert b["predictions"] == clf.predict(X[:5]).tolist()
