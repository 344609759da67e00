"""What the deployment tests share: the manifests read with python3-yaml,
the image's ENTRYPOINT and ENV read from the Dockerfile, a model trained
with scikit-learn (the oracle), free ports and plain HTTP calls."""
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

import yaml

from conftest import BIN, REPO

DEPLOY = os.path.join(REPO, "deploy")


def docs(path):
    """Every YAML document of a file under deploy/, as Python data."""
    with open(os.path.join(DEPLOY, path)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def one(path, kind):
    found = [d for d in docs(path) if d.get("kind") == kind]
    assert len(found) == 1, "%s: expected one %s, found %d" % (path, kind, len(found))
    return found[0]


def image_config():
    """(ENTRYPOINT list, ENV dict, USER) of the Dockerfile's last stage."""
    text = open(os.path.join(REPO, "Dockerfile")).read().replace("\\\n", " ")
    last = text.split("\nFROM ")[-1]
    entry = user = None
    env = {}
    for line in last.splitlines():
        line = line.strip()
        if line.startswith("ENTRYPOINT "):
            entry = json.loads(line[len("ENTRYPOINT "):])
        elif line.startswith("ENV "):
            for k, v in re.findall(r"(\w+)=(\S+)", line[4:]):
                env[k] = v
        elif line.startswith("USER "):
            user = line[5:].strip()
    assert entry, "the Dockerfile's last stage has no exec-form ENTRYPOINT"
    return entry, env, user


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def iris_model(directory, name="model.joblib"):
    """Fits KServe's example model (a classifier on iris) and saves it
    with joblib; returns (model, path)."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    path = os.path.join(str(directory), name)
    joblib.dump(model, path)
    return model, path


def http(method, url, body=None, timeout=10.0):
    """(status, body bytes); connection errors propagate."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def kubelet_probe(probe, ports, port_map):
    """Calls an httpGet probe as the kubelet does: its path on its port
    (a name is the container port of that name), within timeoutSeconds
    (default 1); success is a status in [200, 400). Returns (ok, status)."""
    get = probe["httpGet"]
    port = get["port"]
    if isinstance(port, str):
        port = ports[port]
    url = "http://127.0.0.1:%d%s" % (port_map[port], get["path"])
    try:
        status, _ = http("GET", url, timeout=probe.get("timeoutSeconds", 1))
    except (urllib.error.URLError, OSError):
        return False, None
    return 200 <= status < 400, status


class Container:
    """Runs BIN as a container spec says: its command (else the image's
    ENTRYPOINT) and args, the image's ENV then the spec's env, with each
    mount path replaced by a host directory and each declared container
    port by a free one (the machine is shared: 8080 may be taken)."""

    def __init__(self, spec, mounts, substitute=None):
        entry, image_env, _ = image_config()
        command = spec.get("command") or entry
        assert command[0] == entry[0], "the spec runs %s, the image has %s" % (command[0], entry[0])
        self.ports = {p["name"]: p["containerPort"] for p in spec.get("ports", [])}
        self.port_map = {p: free_port() for p in self.ports.values()}

        def sub(s):
            for k, v in (substitute or {}).items():
                s = s.replace(k, v)
            for mount_path, host_dir in mounts.items():
                s = re.sub(r"(?<![\w/])%s(?=/|$|\s)" % re.escape(mount_path), host_dir, s)
            for declared, free in self.port_map.items():
                s = re.sub(r"(?<!\d)%d(?!\d)" % declared, str(free), s)
            return s

        env = {"PATH": "/usr/bin:/bin"}
        env.update({k: sub(v) for k, v in image_env.items()})
        env.update({e["name"]: sub(str(e["value"])) for e in spec.get("env", [])})
        self.env = env
        self.argv = [BIN] + [sub(a) for a in command[1:]] + [sub(a) for a in spec.get("args", [])]
        self.proc = subprocess.Popen(self.argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def url(self, port_name_or_number, path):
        port = self.ports.get(port_name_or_number, port_name_or_number)
        return "http://127.0.0.1:%d%s" % (self.port_map[port], path)

    def wait_probe(self, probe, deadline_s=30):
        """Polls probe every 0.05 s until it succeeds; returns its status."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            ok, status = kubelet_probe(probe, self.ports, self.port_map)
            if ok:
                return status
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        out = self.stop()
        raise AssertionError("probe %s never passed; predictd said:\n%s" % (probe, out))

    def stop(self, sig=None):
        """Stops the process (SIGKILL after 40 s); returns its output."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out
