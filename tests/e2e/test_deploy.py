"""deploy/: the Kubernetes manifests, the KServe runtime and the systemd
unit, tested as far as a machine without a cluster or systemd allows:
they parse, kustomize renders them, and the real binary runs with exactly
the command, args, env, ports and mounts they declare (a temp dir for the
volume, free ports for the declared ones), answers each probe as the
kubelet calls it, and answers KServe's example requests as scikit-learn
does."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pytest

from conftest import BIN, REPO
from deploy_util import (DEPLOY, Container, docs, http, image_config, iris_model,
                         kubelet_probe, one)

KUBE = "kubernetes"
KSERVE_RT = "kserve/cluster-serving-runtime.yaml"
KSERVE_ISVC = "kserve/inference-service.yaml"


def test_every_manifest_parses():
    n = 0
    for root, _, files in os.walk(DEPLOY):
        for f in files:
            if f.endswith((".yaml", ".yml")):
                for d in docs(os.path.relpath(os.path.join(root, f), DEPLOY)):
                    assert "kind" in d and "apiVersion" in d, (f, d)
                    n += 1
    assert n >= 8


def test_kustomization_lists_every_kubernetes_manifest():
    k = docs(os.path.join(KUBE, "kustomization.yaml"))[0]
    here = sorted(f for f in os.listdir(os.path.join(DEPLOY, KUBE))
                  if f.endswith(".yaml") and f != "kustomization.yaml")
    assert sorted(k["resources"]) == here
    kinds = sorted(one(os.path.join(KUBE, f), d["kind"])["kind"]
                   for f in here for d in docs(os.path.join(KUBE, f)))
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim",
                     "PodDisruptionBudget", "Service"]


def test_kubectl_kustomize_renders_offline():
    # `kubectl apply --dry-run=client` still asks an API server for its
    # resource types, so without a cluster only the render can run.
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("no kubectl on PATH (Debian's is the kubernetes-client package)")
    out = subprocess.run([kubectl, "kustomize", os.path.join(DEPLOY, KUBE)],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": os.environ["PATH"], "KUBECONFIG": "/nonexistent"})
    assert out.returncode == 0, out.stderr
    import yaml
    rendered = {d["kind"]: d for d in yaml.safe_load_all(out.stdout)}
    dep = rendered["Deployment"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"] == labels
    assert rendered["Service"]["spec"]["selector"] == labels
    assert rendered["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost/predictd:latest"


def deployment():
    dep = one(os.path.join(KUBE, "deployment.yaml"), "Deployment")
    pod = dep["spec"]["template"]["spec"]
    return dep, pod, pod["containers"][0]


def test_deployment_hardening_and_drain_arithmetic():
    dep, pod, c = deployment()
    sc, psc = c["securityContext"], pod["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["seccompProfile"] == {"type": "RuntimeDefault"}
    _, _, user = image_config()
    assert str(psc["runAsUser"]) == user.split(":")[0], "runAsUser is not the image's user"
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert {"cpu", "memory"} <= set(c["resources"]["limits"])
    env = {e["name"]: int(e["value"]) for e in c["env"] if e["name"].startswith("PREDICTD_DRAIN")}
    pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    # The kubelet's SIGKILL comes terminationGracePeriodSeconds after the
    # deletion, preStop included: the whole drain must fit.
    assert pod["terminationGracePeriodSeconds"] >= pre + env["PREDICTD_DRAIN_TIMEOUT"]
    # Readiness has failed (and the pod left the endpoints) before the
    # listener closes.
    rp = c["readinessProbe"]
    assert rp["periodSeconds"] * rp["failureThreshold"] <= env["PREDICTD_DRAIN_GRACE"]
    vols = {v["name"]: v for v in pod["volumes"]}
    for m in c["volumeMounts"]:
        assert m["readOnly"] is True and m["name"] in vols
    hpa = one(os.path.join(KUBE, "hpa.yaml"), "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = one(os.path.join(KUBE, "pdb.yaml"), "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1


def test_deployment_runs_as_declared_probes_and_drains(tmp_path):
    dep, pod, c = deployment()
    model, _ = iris_model(tmp_path)
    (mount,) = c["volumeMounts"]
    ctr = Container(c, {mount["mountPath"]: str(tmp_path)})
    try:
        ctr.wait_probe(c["startupProbe"])
        for name in ("readinessProbe", "livenessProbe"):
            ok, status = kubelet_probe(c[name], ctr.ports, ctr.port_map)
            assert ok and status == 200, (name, status)
        # the model's name is the one the args give
        name = c["args"][c["args"].index("--model-name") + 1]
        X = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6], [5.1, 3.5, 1.4, 0.2]]
        status, body = http("POST", ctr.url("http", "/v1/models/%s:predict" % name),
                            {"instances": X})
        assert status == 200, body
        assert json.loads(body)["predictions"] == model.predict(np.array(X)).tolist()

        # The kubelet sends SIGTERM after the preStop sleep: readiness
        # fails at once, liveness does not, and it exits 0 within the
        # time left of the grace period.
        env = {e["name"]: int(e["value"]) for e in c["env"] if "DRAIN" in e["name"]}
        t0 = time.monotonic()
        ctr.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ok, status = kubelet_probe(c["readinessProbe"], ctr.ports, ctr.port_map)
        assert not ok and status == 503
        ok, status = kubelet_probe(c["livenessProbe"], ctr.ports, ctr.port_map)
        assert ok and status == 200
        left = pod["terminationGracePeriodSeconds"] - c["lifecycle"]["preStop"]["sleep"]["seconds"]
        ctr.proc.wait(timeout=left)
        assert ctr.proc.returncode == 0
        # the grace the manifest asks for was served, not skipped
        assert time.monotonic() - t0 >= env["PREDICTD_DRAIN_GRACE"] - 0.5
    finally:
        ctr.stop()


def runtime():
    rt = one(KSERVE_RT, "ClusterServingRuntime")
    (c,) = rt["spec"]["containers"]
    return rt, c


def test_kserve_runtime_declares_sklearn_v1_v2_and_the_example_uses_it():
    rt, c = runtime()
    assert {"name": "sklearn"}.items() <= rt["spec"]["supportedModelFormats"][0].items()
    assert rt["spec"]["protocolVersions"] == ["v1", "v2"]
    assert c["name"] == "kserve-container"  # the name KServe merges into
    isvc = one(KSERVE_ISVC, "InferenceService")
    m = isvc["spec"]["predictor"]["model"]
    assert m["runtime"] == rt["metadata"]["name"]
    assert m["modelFormat"]["name"] == "sklearn"
    assert "{{.Name}}" in " ".join(c["args"])
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("filename", ["model.joblib", "model.pkl"])
def test_kserve_runtime_serves_the_example_requests(tmp_path, filename):
    rt, c = runtime()
    isvc = one(KSERVE_ISVC, "InferenceService")
    name = isvc["metadata"]["name"]
    model, _ = iris_model(tmp_path, filename)
    # KServe's storage initializer leaves the model in /mnt/models, the
    # path KServe mounts into kserve-container.
    ctr = Container(c, {"/mnt/models": str(tmp_path)}, substitute={"{{.Name}}": name})
    try:
        ctr.wait_probe(c["readinessProbe"])
        ok, status = kubelet_probe(c["livenessProbe"], ctr.ports, ctr.port_map)
        assert ok and status == 200
        port = c["ports"][0]["containerPort"]

        v1 = json.load(open(os.path.join(DEPLOY, "kserve", "iris-input.json")))
        status, body = http("POST", ctr.url(port, "/v1/models/%s:predict" % name), v1)
        assert status == 200, body
        assert json.loads(body) == {
            "predictions": model.predict(np.array(v1["instances"])).tolist()}

        v2 = json.load(open(os.path.join(DEPLOY, "kserve", "iris-input-v2.json")))
        status, body = http("POST", ctr.url(port, "/v2/models/%s/infer" % name), v2)
        assert status == 200, body
        out = {o["name"]: o for o in json.loads(body)["outputs"]}
        (inp,) = v2["inputs"]
        assert inp["datatype"] == "FP32"
        X = np.array(inp["data"], dtype=np.float32).reshape(inp["shape"])
        assert out["predict"]["data"] == model.predict(X).tolist()
        assert out["predict_proba"]["data"] == model.predict_proba(X).ravel().tolist()
        status, body = http("GET", ctr.url(port, "/v2/models/%s/ready" % name))
        assert status == 200 and json.loads(body)["ready"] is True
    finally:
        ctr.stop()


def run_bin(*args, env=None, timeout=30):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_model_dir_with_two_model_files_is_an_error(tmp_path):
    iris_model(tmp_path, "model.joblib")
    iris_model(tmp_path, "model.pkl")
    r = run_bin("--model_dir", str(tmp_path), "--http_port", "0", "--host", "127.0.0.1")
    assert r.returncode == 1
    assert "more than one model file" in r.stderr and "model.pkl" in r.stderr
    assert "model.joblib" in r.stderr


def test_model_dir_with_a_model_file_and_a_repository_is_an_error(tmp_path):
    """A stray file at the top of a repository is refused, not served in
    place of the repository's models."""
    (tmp_path / "iris" / "1").mkdir(parents=True)
    iris_model(tmp_path / "iris" / "1", "model.pkl")
    iris_model(tmp_path, "stray.pkl")
    r = run_bin("--model-dir", str(tmp_path), "--port", "0", "--host", "127.0.0.1")
    assert r.returncode == 1, r.stderr
    assert "both a model file (stray.pkl) and a directory (iris)" in r.stderr, r.stderr


def test_model_name_without_a_single_model_dir_is_an_error(tmp_path):
    (tmp_path / "iris" / "1").mkdir(parents=True)
    iris_model(tmp_path / "iris" / "1", "model.pkl")
    r = run_bin("--model-dir", str(tmp_path), "--model-name", "x", "--port", "0")
    assert r.returncode == 1 and "found none" in r.stderr, r.stderr
    r = run_bin("--model-name", "bad name", "--model-dir", str(tmp_path))
    assert r.returncode == 2 and "--model-name" in r.stderr


def test_kserve_flags_outside_the_mapping_stay_unknown(tmp_path):
    iris_model(tmp_path)
    for flag in ("--workers=2", "--grpc_port=8081", "--model_names=x", "--http-port=1"):
        r = run_bin("--model_dir", str(tmp_path), flag)
        assert r.returncode == 2 and "unknown argument '%s'" % flag in r.stderr, r.stderr


def test_probe_subcommand(tmp_path):
    iris_model(tmp_path)
    ctr = Container({"args": ["--model-dir", str(tmp_path), "--host", "127.0.0.1",
                              "--port", "8080"],
                     "ports": [{"name": "http", "containerPort": 8080}]}, {})
    try:
        ctr.wait_probe({"httpGet": {"path": "/v2/health/ready", "port": "http"}})
        port = ctr.port_map[8080]
        r = run_bin("probe", "http://127.0.0.1:%d/v2/health/ready" % port)
        assert r.returncode == 0 and r.stdout.startswith("HTTP/1.1 200"), r
        # a bare path goes to 127.0.0.1 on the port the environment gives
        r = run_bin("probe", "/v2/health/live", env={"PREDICTD_PORT": str(port)})
        assert r.returncode == 0, r
        r = run_bin("probe", "http://[::1]:%d/v2/health/live" % port)
        assert r.returncode in (0, 1)  # ::1 may not be bound; it must not hang or crash
        r = run_bin("probe", "http://127.0.0.1:%d/nope" % port)
        assert r.returncode == 1 and "expected a 2xx answer, got 404" in r.stderr
    finally:
        ctr.stop()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    r = run_bin("probe", "http://127.0.0.1:%d/" % closed)
    assert r.returncode == 1 and "Connection refused" in r.stderr
    for bad, words in (("https://127.0.0.1/", "https is not spoken"),
                       ("http://localhost:1/", "numeric IP address"),
                       ("http://127.0.0.1:99999/", "port in [1, 65535]"),
                       ("ftp://x", "expected http://")):
        r = run_bin("probe", bad)
        assert r.returncode == 1 and words in r.stderr, (bad, r.stderr)
    r = run_bin("probe")
    assert r.returncode == 2 and "expected exactly one URL" in r.stderr


def test_probe_times_out_on_a_server_that_never_answers():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)  # accepted by the kernel, never answered
    try:
        t0 = time.monotonic()
        r = run_bin("probe", "http://127.0.0.1:%d/" % s.getsockname()[1], timeout=20)
        assert r.returncode == 1 and "timed out" in r.stderr, r.stderr
        assert time.monotonic() - t0 < 15
    finally:
        s.close()


# ------------------------------------------------------------- systemd --

UNIT = os.path.join(DEPLOY, "systemd", "predictd.service")


def unit_service_section():
    """The [Service] keys of the unit (repeated keys in order)."""
    out, section = {}, None
    for line in open(UNIT):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        k, _, v = line.partition("=")
        if section == "[Service]":
            out.setdefault(k, []).append(v)
    return out


def test_systemd_analyze_verify(tmp_path):
    sa = shutil.which("systemd-analyze")
    if not sa:
        pytest.skip("no systemd-analyze (package systemd)")
    # verify checks that ExecStart's binary exists: point it at this build
    unit = tmp_path / "predictd.service"
    unit.write_text(open(UNIT).read().replace("/usr/local/bin/predictd", BIN))
    r = subprocess.run([sa, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    svc = unit_service_section()
    assert svc["Type"] == ["notify"] and svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    for key in ("DynamicUser", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
                "MemoryDenyWriteExecute"):
        assert svc[key] == ["yes"], key
    assert svc["ProtectSystem"] == ["strict"]
    assert "@system-service" in svc["SystemCallFilter"]


def test_systemd_notifications_through_the_unit_command_line(tmp_path):
    """No systemd runs here as PID 1, so the test plays its part: a
    NOTIFY_SOCKET datagram socket, the unit's ExecStart and Environment,
    then READY=1 once loaded, RELOADING=1 and READY=1 around the SIGHUP
    that ExecReload sends, STOPPING=1 on SIGTERM."""
    svc = unit_service_section()
    env = {"PATH": "/usr/bin:/bin"}
    for line in svc["Environment"]:
        for item in line.split():
            k, _, v = item.partition("=")
            env[k] = v
    models = tmp_path / "models"
    models.mkdir()
    iris_model(models)
    argv = svc["ExecStart"][0].split()
    assert argv[0] == "/usr/local/bin/predictd"
    argv = [BIN] + [a.replace("/srv/predictd/models", str(models)) for a in argv[1:]]
    sock_path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(20)
    from deploy_util import free_port
    env["PREDICTD_PORT"] = str(free_port())  # the unit's 8080 may be taken here
    env["NOTIFY_SOCKET"] = sock_path
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        msg = sock.recv(4096).decode()
        assert msg.startswith("READY=1\n") and "serving 1 model" in msg, msg
        status, _ = http("GET", "http://127.0.0.1:%s/v2/health/ready" % env["PREDICTD_PORT"])
        assert status == 200  # READY=1 came after the model loaded
        proc.send_signal(signal.SIGHUP)
        msg = sock.recv(4096).decode()
        assert msg.startswith("RELOADING=1\n") and "MONOTONIC_USEC=" in msg, msg
        assert sock.recv(4096).decode().startswith("READY=1"), "no READY=1 after the reload"
        proc.send_signal(signal.SIGTERM)
        assert sock.recv(4096).decode().startswith("STOPPING=1")
        proc.wait(timeout=int(svc["TimeoutStopSec"][0]))
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        sock.close()

