"""scripts/build-image.sh: the minimal image is built with buildah from
`scratch` (no registry), holds the binary and its libraries only, is
under 25 MB, runs as uid 10001, and its HEALTHCHECK (`predictd probe`,
no shell) passes against the image serving a model, which answers a
prediction as scikit-learn does. Needs root and buildah; skips saying
which is missing."""
import json
import os
import shutil
import subprocess
import time

import numpy as np
import pytest

from conftest import BIN, REPO, SANITIZED
from deploy_util import free_port, http, iris_model

BUILDAH = shutil.which("buildah")
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="buildah's chroot isolation needs root"),
    pytest.mark.skipif(not BUILDAH, reason="no buildah (Debian package buildah)"),
    pytest.mark.skipif(SANITIZED, reason="the image is built from the release binary, not a "
                       "sanitizer build"),
]


def sh(*args, timeout=300, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    name = "localhost/predictd-test-%d:latest" % os.getpid()
    wd = tmp_path_factory.mktemp("image")
    env = dict(os.environ, IMAGE=name, WORKDIR=str(wd), PREDICTD_BINARY=BIN)
    r = subprocess.run(["bash", os.path.join(REPO, "scripts", "build-image.sh")], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    yield name
    sh(BUILDAH, "rmi", "-f", name, check=False)


def test_image_is_small_and_holds_only_the_binary_and_its_libraries(image):
    info = json.loads(sh(BUILDAH, "inspect", "--type", "image", image).stdout)
    cfg = info["Docker"]["config"]
    assert cfg["User"] == "10001:10001"
    assert cfg["Entrypoint"] == ["/usr/local/bin/predictd"]
    assert cfg["Healthcheck"]["Test"][0] == "CMD"  # exec form: no shell
    ctr = sh(BUILDAH, "from", "--pull=false", image).stdout.strip()
    try:
        mnt = sh(BUILDAH, "mount", ctr).stdout.strip()
        files, total = [], 0
        for root, _, names in os.walk(mnt):
            for n in names:
                p = os.path.join(root, n)
                files.append(os.path.relpath(p, mnt))
                total += os.lstat(p).st_size
        others = [f for f in files if not (f.startswith(("lib/", "lib64/")) and ".so" in f)]
        assert sorted(others) == ["etc/group", "etc/passwd", "usr/local/bin/predictd"], others
        libs = {os.path.basename(f) for f in files if f not in others}
        ldd = subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout
        want = {os.path.basename(l.split()[0]) for l in ldd.splitlines()
                if "=>" in l and "/" in l} | {"ld-linux-x86-64.so.2"}
        assert libs == want
        assert total < 25 * 1000 * 1000, "%d bytes" % total
    finally:
        sh(BUILDAH, "umount", ctr, check=False)
        sh(BUILDAH, "rm", ctr, check=False)


def served_pid(port):
    """The image's predictd serving on port (found by its environment)."""
    want = ("PREDICTD_PORT=%d" % port).encode()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().split(b"\0")
            with open("/proc/%s/environ" % p, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if cmd[0] == b"/usr/local/bin/predictd" and want in env and len(cmd) <= 2:
            return int(p)
    raise AssertionError("no predictd process serving port %d" % port)


def test_image_serves_probes_and_predicts(image, tmp_path):
    model, path = iris_model(tmp_path, "model.pkl")
    os.chmod(path, 0o644)
    port = free_port()
    ctr = sh(BUILDAH, "from", "--pull=false", image).stdout.strip()
    server = None
    try:
        # chroot isolation shares the host's network: move the port
        # through PREDICTD_PORT, which the HEALTHCHECK follows
        sh(BUILDAH, "config", "--env", "PREDICTD_PORT=%d" % port,
           "--env", "PREDICTD_HOST=127.0.0.1", ctr)
        info = json.loads(sh(BUILDAH, "inspect", "--type", "image", image).stdout)
        health = info["Docker"]["config"]["Healthcheck"]["Test"][1:]
        # unhealthy before the server runs
        r = sh(BUILDAH, "run", "--isolation", "chroot", ctr, "--", *health, check=False)
        assert r.returncode == 1 and "Connection refused" in r.stderr, r.stderr
        server = subprocess.Popen(
            [BUILDAH, "run", "--isolation", "chroot", "-v", "%s:/models/model.pkl:ro" % path,
             ctr, "--", "/usr/local/bin/predictd"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(150):  # at most 30 s
            r = sh(BUILDAH, "run", "--isolation", "chroot", ctr, "--", *health, check=False)
            if r.returncode == 0:
                break
            assert server.poll() is None, server.communicate()[0]
            time.sleep(0.2)
        else:
            raise AssertionError("the HEALTHCHECK never passed")
        assert r.stdout.startswith("HTTP/1.1 200")
        X = [[6.8, 2.8, 4.8, 1.4], [5.1, 3.5, 1.4, 0.2]]
        status, body = http("POST", "http://127.0.0.1:%d/v1/models/model:predict" % port,
                            {"instances": X})
        assert status == 200, body
        assert json.loads(body)["predictions"] == model.predict(np.array(X)).tolist()
        # the server runs as the image's user; SIGTERM to it drains it
        pid = served_pid(port)
        with open("/proc/%d/status" % pid) as f:
            uids = [l for l in f.read().splitlines() if l.startswith("Uid:")][0].split()[1:]
        assert uids == ["10001"] * 4, uids
        os.kill(pid, 15)
        out, _ = server.communicate(timeout=40)
        msgs = [json.loads(l)["msg"] for l in out.splitlines() if l.startswith("{")]
        assert msgs[-1] == "stopped" and "SIGTERM received, draining" in msgs, out
    finally:
        if server is not None:
            server.terminate()
            try:
                server.communicate(timeout=40)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
        sh(BUILDAH, "rm", ctr, check=False)
