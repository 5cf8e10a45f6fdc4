#!/usr/bin/env python3
"""Promotion time against the registry's size (docs/ha.md).

On loopback: one etcd member holding AGENTS agents' records (put by this
script under /clusterd/bench/a/, as an active master writes them), then a
master-eligible node that starts alone (elected with no copy: it reads
every record) and a second one that starts as a standby; once the standby
is caught up, kill -9 of the active master, and the standby's promotion
(it reads only what changed since its copy).  Prints the figures; a
build without the standby's copy reads every record at both promotions.

    tests/bench/ha_restore_bench.py [--build build] [--agents 50000]
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PORT = 24716
KEY = "85482860b191589c071454938c1bd2e1"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def etcd_call(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def wait(what, fn, limit=120):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            if fn():
                return
        except Exception:
            pass
        time.sleep(0.05)
    sys.exit("bench: timed out waiting for " + what)


def control(home, req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(home, "queue/cluster/c-socket"))
    s.sendall(json.dumps(req).encode() + b"\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data)


def put_records(port, n):
    t0 = time.monotonic()
    ops = []
    for i in range(1, n + 1):
        rec = {"id": "%03d" % i, "name": "bench-%06d" % i, "ip": "any",
               "register_ip": "any", "key": ("%064x" % (i * 7919))[-64:],
               "groups": "default", "version": "", "enroll_src": "127.0.0.1",
               "date_add": 1765000000}
        ops.append({"request_put": {"key": b64("/clusterd/bench/a/%03d" % i),
                                    "value": b64(json.dumps(rec))}})
        if len(ops) == 100 or i == n:
            etcd_call(port, "/v3/kv/txn", {"success": ops})
            ops = []
    etcd_call(port, "/v3/kv/put", {"key": b64("/clusterd/bench/next_id"),
                                   "value": b64(str(n + 1))})
    return time.monotonic() - t0


def conf(tmp, name, addr, ec):
    home = os.path.join(tmp, name)
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write("\n".join([
            "cluster_name bench", "node_name " + name, "node_type master",
            "key " + KEY, "bind_address " + addr, "port %d" % PORT,
            "home " + home, "request_timeout 10s",
            "enrollment_address " + addr,
            "enrollment_port %d" % (PORT + 1), "gateway_address " + addr,
            "gateway_port %d" % (PORT + 2),
            "ha_etcd 127.0.0.1:%d" % ec, "ha_lease_ttl 2s", ""]))
    return path, home


def ha(home):
    return control(home, {"command": "ha"})["data"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--agents", type=int, default=50000)
    a = ap.parse_args()
    clusterd = os.path.abspath(os.path.join(a.build, "clusterd"))
    tmp = tempfile.mkdtemp(prefix="ha-restore-bench.")
    procs = []
    ec = PORT + 10
    try:
        procs.append(subprocess.Popen([
            "etcd", "--name", "e1", "--data-dir", os.path.join(tmp, "etcd"),
            "--log-level", "error", "--quota-backend-bytes", "4294967296",
            "--listen-client-urls", "http://127.0.0.1:%d" % ec,
            "--advertise-client-urls", "http://127.0.0.1:%d" % ec,
            "--listen-peer-urls", "http://127.0.0.1:%d" % (ec + 1),
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % (ec + 1),
            "--initial-cluster", "e1=http://127.0.0.1:%d" % (ec + 1)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait("etcd", lambda: urllib.request.urlopen(
            "http://127.0.0.1:%d/health" % ec, timeout=1).status == 200)
        secs = put_records(ec, a.agents)
        print("bench: %d records put in etcd in %.1fs" % (a.agents, secs))
        # What a standby's read of the changes costs etcd when something
        # changed: the range filter runs after the prefix is read.
        head = int(etcd_call(ec, "/v3/kv/range", {"key": b64("x")})
                   ["header"]["revision"])
        took = []
        for _ in range(5):
            t0 = time.monotonic()
            etcd_call(ec, "/v3/kv/range", {
                "key": b64("/clusterd/bench/a/"),
                "range_end": b64("/clusterd/bench/a0"), "limit": 5000,
                "min_mod_revision": head})
            took.append(time.monotonic() - t0)
        print("figure: one read of the changes over %d records (1 changed): "
              "median %.3fs" % (a.agents, sorted(took)[2]))
        c1, h1 = conf(tmp, "m1", "127.0.0.1", ec)
        c2, h2 = conf(tmp, "m2", "127.0.0.2", ec)
        m1 = subprocess.Popen([clusterd, "-f", "-c", c1],
                              stderr=subprocess.DEVNULL)
        procs.append(m1)
        wait("m1 active", lambda: ha(h1)["state"] == "active"
             and ha(h1).get("restore", {}).get("seconds", 1) >= 0
             and control(h1, {"command": "agents"})["error"] == 0)
        time.sleep(0.5)
        r = ha(h1)
        print("figure: first master elected with no copy: %s, %s records, "
              "started in %.3fs" % ("every record" if r.get("restore", {
                  "full": True})["full"] else "the tail",
                  r.get("restore", {}).get("records", a.agents),
                  r.get("restore", {}).get("seconds",
                                            m1_started(h1))))
        t0 = time.monotonic()
        m2 = subprocess.Popen([clusterd, "-f", "-c", c2],
                              stderr=subprocess.DEVNULL)
        procs.append(m2)

        def caught():
            rep = ha(h2).get("replication")
            return rep is None or (rep["applied_revision"] > 0 and
                                   rep["lag_seconds"] == 0)
        wait("m2 caught up", caught, 300)
        if ha(h2).get("replication") is not None:
            print("figure: standby start to its copy caught up (%d agents): "
                  "%.2fs" % (a.agents, time.monotonic() - t0))
        else:
            time.sleep(2)
        t0 = time.monotonic()
        print("info: kill -9 of the active master at %s" % time.strftime(
            "%H:%M:%S"))
        m1.send_signal(signal.SIGKILL)
        m1.wait()
        wait("m2 active", lambda: ha(h2)["state"] == "active", 300)
        wait("m2 serving", lambda: control(h2, {"command": "agents"})
             ["error"] == 0, 300)
        took = time.monotonic() - t0
        r = ha(h2)
        rs = r.get("restore")
        print("figure: promotion of the standby: %s, started in %s "
              "(kill -9 to serving %.2fs, lease 2s)" % (
                  ("every record" if rs["full"] else
                   "the tail: %d records" % rs["records"]) if rs else
                  "every record", "%.3fs" % rs["seconds"] if rs else
                  "%.3fs" % m1_started(h2), took))
        if os.environ.get("BENCH_LOG"):
            with open(os.path.join(h2, "logs/cluster.log")) as f:
                sys.stdout.write("".join(l for l in f if "[HA]" in l or
                                         "Registry" in l))
        n = len(control(h2, {"command": "agents"})["data"])
        if n != a.agents:
            sys.exit("bench: the promoted master has %d agents, not %d"
                     % (n, a.agents))
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def m1_started(home):
    """The 'started in' seconds of the node's log (builds without restore)."""
    import re
    with open(os.path.join(home, "logs/cluster.log")) as f:
        m = re.findall(r"started in ([0-9.]+)s", f.read())
    return float(m[-1]) if m else -1


if __name__ == "__main__":
    main()
