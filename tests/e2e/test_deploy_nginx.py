"""deploy/nginx/predictd.conf with real nginx: TLS (a certificate made
here by `openssl req -x509`) in front of two predictd instances on
loopback. Under continuous HTTPS requests one instance is SIGKILLed, then
the other is drained with SIGTERM while a replacement starts: not one
request may fail at the client, and every answer is scikit-learn's."""
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import threading
import time

import numpy as np
import pytest

from conftest import Server
from deploy_util import DEPLOY, free_port, iris_model

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(not NGINX, reason="no nginx (Debian package nginx)")


def make_cert(d):
    crt, key = os.path.join(d, "predictd.crt"), os.path.join(d, "predictd.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True, timeout=60)
    return crt, key


def nginx_config(d, crt, key, up_a, up_b, port):
    """The deploy config with only its addresses, port and certificate
    moved, inside the smallest nginx.conf that runs unprivileged paths."""
    conf = open(os.path.join(DEPLOY, "nginx", "predictd.conf")).read()
    for old, new in (("127.0.0.1:8081", "127.0.0.1:%d" % up_a),
                     ("127.0.0.1:8082", "127.0.0.1:%d" % up_b),
                     ("listen 8443 ssl", "listen 127.0.0.1:%d ssl" % port),
                     ("/etc/nginx/tls/predictd.crt", crt),
                     ("/etc/nginx/tls/predictd.key", key)):
        assert conf.count(old) == 1, old
        conf = conf.replace(old, new)
    with open(os.path.join(d, "predictd.conf"), "w") as f:
        f.write(conf)
    temps = "\n".join("    %s_temp_path %s/%s;" % (k, d, k)
                      for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = """%s
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log info;
events { worker_connections 512; }
http {
    access_log off;
%s
    include %s/predictd.conf;
}
""" % ("user root;" if os.geteuid() == 0 else "", d, d, temps, d)
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(main)
    return path


class Load:
    """Client threads sending POST /predict over HTTPS keep-alive
    connections until stopped (at most 120 s); every answer is checked."""

    def __init__(self, port, cafile, rows, expected, threads=3):
        self.port, self.rows, self.expected = port, rows, expected
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True)
                        for k in range(threads)]
        for t in self.threads:
            t.start()

    def run(self, k):
        deadline = time.monotonic() + 120
        conn = None
        i = k
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            i = (i + 1) % len(self.rows)
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30,
                                                       context=self.ctx)
                conn.request("POST", "/predict", json.dumps({"features": self.rows[i]}),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or json.loads(body)["prediction"] != self.expected[i]:
                    raise AssertionError("%d %r" % (r.status, body[:200]))
                with self.lock:
                    self.ok += 1
            except Exception as e:  # every kind of failure counts
                with self.lock:
                    self.failures.append(repr(e))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def wait_more(self, n, timeout=60):
        """Waits until n more requests have succeeded."""
        with self.lock:
            target = self.ok + n
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if self.ok >= target:
                    return
            time.sleep(0.01)
        raise AssertionError("the load stalled: %d ok, failures %s" % (self.ok, self.failures[:5]))

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=40)


def test_nginx_tls_failover_and_drain_lose_no_request(tmp_path):
    model, path = iris_model(tmp_path)
    from sklearn.datasets import load_iris
    X = load_iris().data[::5]
    rows = X.tolist()
    expected = model.predict(X).tolist()
    crt, key = make_cert(str(tmp_path))
    pa, pb, pn = free_port(), free_port(), free_port()
    conf = nginx_config(str(tmp_path), crt, key, pa, pb, pn)
    servers = []
    nginx = load = None
    try:
        for p in (pa, pb):
            servers.append(Server(path, "--port", str(p), "--drain-grace", "2",
                                  drain_output=True))
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", conf, "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ctx = ssl.create_default_context(cafile=crt)
        for _ in range(200):  # nginx listening: at most 10 s
            try:
                c = http.client.HTTPSConnection("127.0.0.1", pn, timeout=5, context=ctx)
                c.request("GET", "/v2/health/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                assert nginx.poll() is None, nginx.stderr.read()
                time.sleep(0.05)
        else:
            raise AssertionError("nginx never answered")

        load = Load(pn, crt, rows, expected)
        load.wait_more(300)
        a, b = servers
        a.proc.send_signal(signal.SIGKILL)  # instance A dies mid-load
        a.proc.wait(timeout=10)
        load.wait_more(300)
        # A's replacement starts on A's port while B drains
        b.proc.send_signal(signal.SIGTERM)
        servers.append(Server(path, "--port", str(pa), "--drain-grace", "2",
                              drain_output=True))
        b.proc.wait(timeout=40)
        assert b.proc.returncode == 0, "".join(b.stderr_lines)
        load.wait_more(300)  # all of these on the replacement alone
        load.stop()
        assert load.failures == [], "%d failed of %d: %s" % (
            len(load.failures), load.ok + len(load.failures), load.failures[:5])
        assert load.ok >= 900
        # nginx saw the failures and retried them (the test did kill something)
        log = open(os.path.join(str(tmp_path), "error.log")).read()
        assert re.search(r"connect\(\) failed \(111|upstream prematurely closed|"
                         r"reset by peer", log), log[-2000:]
    finally:
        if load is not None:
            load.stop()
        if nginx is not None:
            if nginx.poll() is None:
                nginx.send_signal(signal.SIGQUIT)  # graceful stop
                try:
                    nginx.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    nginx.kill()
                    nginx.wait()
            nginx.stderr.close()
        for s in servers:
            s.stop()
