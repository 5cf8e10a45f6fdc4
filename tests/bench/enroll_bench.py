#!/usr/bin/env python3
"""Enrollment benchmark (make bench).

A master and five workers on loopback.  Measures enrollments per second
through one worker (TLS handshake included, 32 concurrent clients, 2,000
agents) next to the same worker's raw TLS handshake rate in the same run,
and the time from an OSSEC K: answer until the new key is known on all
five workers (median, p99).  Figures go to docs/benchmarks.md.
"""
import argparse
import json
import os
import shutil
import ssl
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import (Nodes, control, machine, median, pct, vmhwm_kb, wait,
                      write_conf, write_section)

PORT = 22516
WORKERS = 5
AGENTS = 2000
CONC = 32
LATENCY_SAMPLES = 50


def eport(i):
    return PORT + 1 + i         # master 22517, workers 22518...


def load(build, mode, port, count, prefix=None):
    cmd = [os.path.join(build, "enroll_load"), mode, "127.0.0.1", str(port),
           str(count), str(CONC)] + ([prefix] if prefix else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    r = json.loads(out.stdout)
    if r["failed"]:
        sys.exit("bench: %s: %d failures" % (mode, r["failed"]))
    return r


def enroll_one(port, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port))) as s:
        s.sendall(("OSSEC A:'%s'\n" % name).encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data.decode()
            data += chunk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="docs/benchmarks.md")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="clusterd-ebench.")
    nodes = Nodes(build, tmp)
    names = ["worker%d" % i for i in range(1, WORKERS + 1)]
    r = {"machine": machine()}
    try:
        write_conf(tmp, "master", "master", PORT, [
            "enrollment_address 127.0.0.1", "enrollment_port %d" % eport(0)])
        for i, n in enumerate(names, 1):
            write_conf(tmp, n, "worker", PORT, [
                "enrollment_address 127.0.0.1",
                "enrollment_port %d" % eport(i), "gateway no"])
        nodes.start("master")
        wait(lambda: control(tmp, "master", {"command": "nodes"}), 30,
             "the master")
        for n in names:
            nodes.start(n)
        wait(lambda: len(control(tmp, "master", {"command": "nodes"})
                         ["data"]["nodes"]) == WORKERS + 1, 30, "workers")

        # The limit: the worker's TLS handshakes alone, then enrollments.
        r["handshake"] = load(build, "handshake", eport(1), AGENTS)
        r["enroll"] = load(build, "enroll", eport(1), AGENTS, "bench-")
        r["batches"] = control(tmp, "master", {"command": "health"})[
            "data"]["nodes"][0]["agents"]["registry_batches"]

        # Key propagation: answer received -> known on all five workers.
        def counts():
            return [control(tmp, n, {"command": "status"})["data"]
                    ["agents"]["count"] for n in names]
        wait(lambda: min(counts()) == AGENTS, 30, "workers to catch up")
        lat = []
        for k in range(LATENCY_SAMPLES):
            ans = enroll_one(eport(0), "lat-%03d" % k)
            t0 = time.perf_counter()
            if not ans.startswith("OSSEC K:"):
                sys.exit("bench: enrollment failed: " + ans)
            want = AGENTS + k + 1
            end = t0 + 5
            while min(counts()) < want:
                if time.perf_counter() > end:
                    sys.exit("bench: key %d did not reach every worker" % k)
            lat.append(time.perf_counter() - t0)
            time.sleep(0.02)
        r["lat_median"] = median(lat)
        r["lat_p99"] = pct(lat, 99)
        r["rss_master_kb"] = vmhwm_kb(nodes.procs["master"].pid)
        r["rss_worker_kb"] = max(vmhwm_kb(nodes.procs[n].pid) for n in names)
    finally:
        nodes.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(args.out, r)
    print(json.dumps(r, indent=1))


def report(path, r):
    h, e = r["handshake"], r["enroll"]
    text = "\n".join([
        "## Enrollment",
        "",
        "Machine: %s.  Command: `make bench` (tests/bench/enroll_bench.py, "
        "client tests/bench/enroll_load.c)." % r["machine"],
        "",
        "A master and %d workers on loopback; %d agents enrolled through "
        "one worker by %d concurrent TLS clients (EC P-256 certificate, "
        "default configuration).  The worker relays each request to the "
        "master, which answers once the registration is committed "
        "(SQLite, synchronous=FULL)." % (WORKERS, AGENTS, CONC),
        "",
        "| measure | figure |",
        "|---|---|",
        "| baseline: TLS handshakes alone against the same worker, same run "
        "| %.0f /s |" % h["rate"],
        "| enrollments through the worker, handshake included | %.0f /s |"
        % e["rate"],
        "| ratio enrollments / handshakes | %.2f |" % (e["rate"] / h["rate"]),
        "| registry transactions for %d enrollments (batched commits) | %d |"
        % (AGENTS, r["batches"]),
        "| OSSEC K: answer until the key is known on all %d workers, median "
        "of %d | %.1f ms |" % (WORKERS, LATENCY_SAMPLES,
                               r["lat_median"] * 1000),
        "| the same, p99 | %.1f ms |" % (r["lat_p99"] * 1000),
        "| peak RSS, master / largest worker | %.1f MB / %.1f MB |"
        % (r["rss_master_kb"] / 1024.0, r["rss_worker_kb"] / 1024.0),
        "",
        "Reference: Wazuh's workers learn new keys at the next integrity "
        "cycle, and its agents wait 20 s after enrolling because of it.",
    ])
    write_section(path, "enroll-bench", text)


if __name__ == "__main__":
    main()
