#!/usr/bin/env python3
"""Master high availability benchmark (make bench, when etcd is installed).

In the same run, on loopback: the enrollment rate through one worker with
a single master (registry durable in SQLite only) and with a
master-eligible master whose registry batches are committed in a
three-member etcd first (docs/ha.md), 32 concurrent TLS clients, 1,000
agents each; then the time from kill -9 of the active master until a
standby is active and until an enrollment is answered through the worker,
median of several takeovers.  Figures go to docs/benchmarks.md.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import (Nodes, control, machine, median, wait, write_conf,
                      write_section)

PORT = 23516
AGENTS = 1000
CONC = 32
TAKEOVERS = 5
TTL = 2


def load(build, port, count, prefix):
    cmd = [os.path.join(build, "enroll_load"), "enroll", "127.0.0.1",
           str(port), str(count), str(CONC), prefix]
    out = subprocess.run(cmd, capture_output=True, text=True)
    r = json.loads(out.stdout)
    if r["failed"]:
        sys.exit("bench: %s: %d failures" % (prefix, r["failed"]))
    return r


def etcd_start(tmp, procs):
    """Three members on loopback, ports PORT+100.."""
    peers = ",".join("e%d=http://127.0.0.1:%d" % (i, PORT + 110 + i)
                     for i in range(3))
    for i in range(3):
        log = open(os.path.join(tmp, "etcd%d.log" % i), "w")
        procs.append(subprocess.Popen([
            "etcd", "--name", "e%d" % i, "--data-dir",
            os.path.join(tmp, "etcd%d" % i), "--log-level", "error",
            "--pre-vote",
            "--listen-client-urls", "http://127.0.0.1:%d" % (PORT + 100 + i),
            "--advertise-client-urls", "http://127.0.0.1:%d" % (PORT + 100 + i),
            "--listen-peer-urls", "http://127.0.0.1:%d" % (PORT + 110 + i),
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:%d" % (PORT + 110 + i),
            "--initial-cluster", peers], stdout=log, stderr=log))

    def healthy():
        with urllib.request.urlopen("http://127.0.0.1:%d/health" % (PORT + 100),
                                    timeout=1) as r:
            return b'"true"' in r.read()
    wait(healthy, 30, "etcd")
    return ",".join("127.0.0.1:%d" % (PORT + 100 + i) for i in range(3))


def state(tmp, name):
    try:
        return control(tmp, name, {"command": "ha"})["data"]["state"]
    except (OSError, ValueError, KeyError):
        return "down"


def enrolled(port, name):
    import ssl
    import socket
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                      timeout=5)) as s:
            s.sendall(("OSSEC A:'%s'\n" % name).encode())
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data.startswith(b"OSSEC K:")
                data += chunk
    except OSError:
        return False


def edit(tmp, name, old, new):
    path = os.path.join(tmp, name + ".conf")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def run(build, tmp, ha, r):
    """One cluster (single master, or two master-eligible ones): rate."""
    nodes = Nodes(build, tmp)
    etcd = []
    try:
        extra = []
        if ha:
            extra = ["ha_etcd " + etcd_start(tmp, etcd),
                     "ha_lease_ttl %ds" % TTL]
        write_conf(tmp, "m1", "master", PORT, extra + [
            "enrollment_address 127.0.0.1", "enrollment_port %d" % (PORT + 1)])
        if ha:
            write_conf(tmp, "m2", "master", PORT, extra + [
                "enrollment_address 127.0.0.1",
                "enrollment_port %d" % (PORT + 2)])
            edit(tmp, "m2", "bind_address 127.0.0.1\n",
                 "bind_address 127.0.0.2\n")
        write_conf(tmp, "w1", "worker", PORT, [
            "enrollment_address 127.0.0.1", "enrollment_port %d" % (PORT + 3),
            "gateway no", "reconnect_min 100ms", "reconnect_max 500ms",
            "keepalive_interval 500ms", "keepalive_timeout 3s"])
        if ha:
            edit(tmp, "w1", "master_address 127.0.0.1\n",
                 "master_address 127.0.0.1,127.0.0.2\n")
        nodes.start("m1")
        if ha:
            wait(lambda: state(tmp, "m1") == "active", 30, "m1 active")
            nodes.start("m2")
            wait(lambda: state(tmp, "m2") == "standby", 30, "m2 standby")
        else:
            wait(lambda: control(tmp, "m1", {"command": "nodes"}), 30, "m1")
        nodes.start("w1")
        wait(lambda: len(control(tmp, "m1", {"command": "nodes"})
                         ["data"]["nodes"]) == 2, 30, "the worker")
        key = "ha" if ha else "single"
        r[key] = load(build, PORT + 3, AGENTS, key + "-")
        if not ha:
            return
        # Takeovers: kill -9 of the active master, start it again as a
        # standby, and the other way round.
        active, standby = "m1", "m2"
        r["to_active"], r["to_enroll"] = [], []
        for k in range(TAKEOVERS):
            t0 = time.perf_counter()
            nodes.procs[active].send_signal(signal.SIGKILL)
            nodes.procs[active].wait()
            wait(lambda: state(tmp, standby) == "active", 30, "takeover")
            r["to_active"].append(time.perf_counter() - t0)
            n = [0]

            def answered():
                n[0] += 1
                return enrolled(PORT + 3, "t%d-%d" % (k, n[0]))
            wait(answered, 30, "an enrollment after the takeover")
            r["to_enroll"].append(time.perf_counter() - t0)
            nodes.start(active)
            wait(lambda: state(tmp, active) == "standby", 30, "standby back")
            active, standby = standby, active
    finally:
        nodes.stop()
        for p in etcd:
            p.terminate()
        for p in etcd:
            p.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="docs/benchmarks.md")
    args = ap.parse_args()
    if shutil.which("etcd") is None:
        print("bench: no etcd (apt install etcd-server): HA figures skipped")
        return
    build = os.path.abspath(args.build)
    r = {"machine": machine()}
    for ha in (False, True):
        tmp = tempfile.mkdtemp(prefix="clusterd-habench.")
        try:
            run(build, tmp, ha, r)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    report(args.out, r)
    print(json.dumps(r, indent=1))


def report(path, r):
    text = "\n".join([
        "## Master high availability",
        "",
        "Machine: %s.  Command: `make bench` (tests/bench/ha_bench.py)."
        % r["machine"],
        "",
        "Loopback, in the same run: %d agents enrolled through one worker "
        "by %d concurrent TLS clients, first with a single master, then "
        "with two master-eligible masters and a three-member etcd (each "
        "registry batch committed in etcd, then in SQLite, before any "
        "answer; docs/ha.md).  Then %d takeovers: kill -9 of the active "
        "master (`ha_lease_ttl %ds`), the killed one started again as a "
        "standby each time." % (AGENTS, CONC, TAKEOVERS, TTL),
        "",
        "| measure | figure |",
        "|---|---|",
        "| enrollments /s, single master (SQLite only) | %.0f |"
        % r["single"]["rate"],
        "| enrollments /s, registry committed in etcd first | %.0f |"
        % r["ha"]["rate"],
        "| kill -9 to the standby active, median of %d | %.2f s |"
        % (TAKEOVERS, median(r["to_active"])),
        "| kill -9 to the first enrollment answered through the worker, "
        "median of %d | %.2f s |" % (TAKEOVERS, median(r["to_enroll"])),
    ])
    write_section(path, "ha-bench", text)


if __name__ == "__main__":
    main()
