#!/usr/bin/env python3
"""Rebalancing convergence after adding a worker, under 3,000 agents.

A master, three workers and a balancer role with its HAProxy on loopback
(HAProxy rendered by lb/render.py with the three workers).  3,000 simulated
agents enroll and connect through HAProxy; then a fourth worker starts.
Measured: the time until the balancer has added it to HAProxy's pool, the
time until the master's first rebalancing round, and the time until the
four workers' active agents are within the tolerance (10% of the average),
with the number of agents moved; then a further quiet period shows whether
it oscillates.  Writes a section of docs/benchmarks.md.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VIP = "127.0.0.10"


def counts(tmp):
    """Active agents per worker, as the master's registry says."""
    r = benchlib.control(tmp, "master", {"command": "agents"})
    c = {}
    for a in r["data"]:
        if a["status"] == "active":
            c[a["node_name"]] = c.get(a["node_name"], 0) + 1
    return c


def within(c, names, total, tol):
    v = [c.get(n, 0) for n in names]
    avg = total / len(names)
    return sum(v) == total and (max(v) - min(v)) * 100 <= tol * avg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="docs/benchmarks.md")
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--quiet", type=float, default=30.0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit("bench: terminated"))
    build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="clusterd-rbench.")
    nodes = benchlib.Nodes(build, tmp)
    procs = []
    port = 31516
    ports = {}
    try:
        benchlib.write_conf(tmp, "master", "master", port, [
            "enrollment_address 127.0.0.1", "enrollment_port 31515",
            "rebalance_interval " + args.interval])
        for i in range(1, 5):
            name = "worker%d" % i
            ports[name] = (31600 + i, 31700 + i, 31800 + i)
            benchlib.write_conf(tmp, name, "worker", port, [
                "enrollment_address 127.0.0.1",
                "enrollment_port %d" % ports[name][0],
                "gateway_address 127.0.0.1",
                "gateway_port %d" % ports[name][1],
                "agent_check_port %d" % ports[name][2],
                "log_level warning"])
        nodes.start("master")
        for i in range(1, 4):
            nodes.start("worker%d" % i)
        desc = {
            "cluster": "bench", "interface": "eth0",
            "vip": {"agents": VIP + "/8", "agents_router_id": 51,
                    "master": "127.0.0.11/8", "master_router_id": 52},
            "unicast": False,
            "balancers": [{"name": "lb1", "address": "127.0.0.1",
                           "priority": 100}],
            "master": {"name": "master", "address": "127.0.0.1"},
            "workers": [],      # the balancer role adds them
            "ports": {"agents": 1514, "enrollment": 31515, "agent_check": 1},
            "haproxy": {"stats_socket": tmp + "/admin.sock",
                        "stats_page": "127.0.0.1:31404",
                        "state_file": tmp + "/server-state",
                        "maxconn": 8000}}
        with open(tmp + "/cluster.json", "w") as f:
            json.dump(desc, f)
        subprocess.run([sys.executable, TOP + "/lb/render.py", "--cluster",
                        tmp + "/cluster.json", "--balancer", "lb1", "--out",
                        tmp + "/lb1"], check=True)
        procs.append(subprocess.Popen(
            ["haproxy", "-db", "-f", tmp + "/lb1/haproxy.cfg"],
            stdout=subprocess.DEVNULL, stderr=open(tmp + "/haproxy.err", "w")))
        benchlib.write_conf(tmp, "lb1", "balancer", port, [
            "haproxy_socket " + tmp + "/admin.sock",
            "haproxy_config " + tmp + "/lb1/haproxy.cfg",
            "pool_check_interval 1s"])
        nodes.start("lb1")
        benchlib.wait(lambda: os.path.exists(tmp + "/admin.sock"), 10,
                      "HAProxy")
        benchlib.wait(lambda: "Added workers_agents/worker3" in open(
            tmp + "/lb1/logs/cluster.log").read(), 20, "balancer sync")
        time.sleep(3)       # HAProxy's first health checks (rise 2, 2 s)
        sim = subprocess.Popen(
            [build + "/agentsim", "-n", str(args.agents), "-e", "31515",
             "-p", "1514", "-k", "10", "-R", "2", "-s", "5", VIP],
            stdout=open(tmp + "/sim.out", "w"), stderr=subprocess.STDOUT)
        procs.append(sim)
        three = ["worker1", "worker2", "worker3"]
        end = time.monotonic() + 300
        while sum(counts(tmp).values()) != args.agents:
            if time.monotonic() > end:
                sys.exit("bench: only %s of %d agents active; agentsim: %s"
                         % (counts(tmp), args.agents,
                            open(tmp + "/sim.out").read()[-600:]))
            time.sleep(0.5)
        before = counts(tmp)
        t0 = time.monotonic()
        nodes.start("worker4")
        lblog = tmp + "/lb1/logs/cluster.log"
        benchlib.wait(lambda: "Added workers_agents/worker4" in open(
            lblog).read(), 30, "worker4 in the pool")
        t_pool = time.monotonic() - t0
        mlog = tmp + "/master/logs/cluster.log"
        benchlib.wait(lambda: "[Rebalance] Agents per worker differ" in open(
            mlog).read(), 120, "a rebalancing round")
        t_round = time.monotonic() - t0
        four = three + ["worker4"]
        benchlib.wait(lambda: within(counts(tmp), four, args.agents, 10),
                      300, "agents within 10%")
        t_conv = time.monotonic() - t0
        after = counts(tmp)
        rounds_at_conv = open(mlog).read().count("moving the excess")
        time.sleep(args.quiet)
        text = open(mlog).read()
        rounds = text.count("moving the excess")
        moved = sum(int(m) for m in re.findall(
            r"Asking it to move (\d+) of", text))
        final = counts(tmp)
        r = {"machine": benchlib.machine(), "agents": args.agents,
             "interval": args.interval, "before": before, "after": after,
             "final": final, "t_pool": t_pool, "t_round": t_round,
             "t_conv": t_conv, "rounds_at_conv": rounds_at_conv,
             "rounds": rounds, "moved": moved, "quiet": args.quiet,
             "stable": within(final, four, args.agents, 10)}
        print(json.dumps(r, indent=1))
        report(args.out, r)
    finally:
        for p in procs:
            p.terminate()
        nodes.stop()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not os.environ.get("BENCH_KEEP"):
            subprocess.run(["rm", "-rf", tmp])
        else:
            print("kept " + tmp)


def report(path, r):
    fmt = lambda c: " / ".join(str(c.get("worker%d" % i, 0))
                               for i in range(1, 5))
    text = (
        "## Rebalancing after a worker joins\n\n"
        "Machine: %s.  Command: `make bench` "
        "(tests/bench/rebalance_bench.py).\n\n"
        "A master, three workers and a balancer role with its HAProxy "
        "(leastconn) on loopback; %d simulated agents (keepalive 10 s) "
        "enrolled and connected through HAProxy; then a fourth worker "
        "starts.  Master: `rebalance_interval %s`, tolerance 10%%, chunk "
        "500.\n\n"
        "| measure | figure |\n|---|---|\n"
        "| active agents per worker before (w1 / w2 / w3 / w4) | %s |\n"
        "| worker4 start until the balancer added it to HAProxy's pool | "
        "%.2f s |\n"
        "| worker4 start until the master's first rebalancing round | "
        "%.1f s |\n"
        "| worker4 start until all four within 10%% of the average | "
        "%.1f s |\n"
        "| agents per worker then | %s |\n"
        "| rounds until then; rounds in all after %.0f s more | %d; %d |\n"
        "| agents asked to move in all | %d |\n"
        "| agents per worker at the end (still within 10%%: %s) | %s |\n\n"
        "The first round waits until HAProxy has the new worker UP (health "
        "checks: rise 2 at 2 s; the balancer reports every second here) "
        "and for the master's next rebalancing tick (up to "
        "`rebalance_interval`); the agents moved reconnect after their "
        "retry interval (2 s here) and leastconn places them on the new "
        "worker.\n"
        % (r["machine"], r["agents"], r["interval"], fmt(r["before"]),
           r["t_pool"], r["t_round"], r["t_conv"], fmt(r["after"]),
           r["quiet"], r["rounds_at_conv"], r["rounds"], r["moved"],
           "yes" if r["stable"] else "NO", fmt(r["final"])))
    benchlib.write_section(path, "rebalance-bench", text)


if __name__ == "__main__":
    main()
