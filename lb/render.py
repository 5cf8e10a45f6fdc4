#!/usr/bin/env python3
"""Render one balancer's HAProxy and keepalived configuration from the
cluster description (see lb/cluster.example.json and docs/lb.md).

  lb/render.py --cluster FILE --balancer NAME --out DIR [--notify PATH]
               [--notify-log PATH] [--haproxy-args ARGS]

Writes DIR/haproxy.cfg, DIR/keepalived.conf and DIR/notify.sh.
"""
import argparse
import json
import os
import string
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def template(name):
    with open(os.path.join(HERE, "templates", name)) as f:
        return string.Template(f.read())


def fail(msg):
    sys.exit("render: " + msg)


def render(c, me, out, notify, notify_log, haproxy_args):
    bal = {b["name"]: b for b in c["balancers"]}
    if me not in bal:
        fail("no balancer %r in the cluster description" % me)
    ports = c["ports"]
    agents_vip = c["vip"]["agents"].split("/")[0]
    # The same server options clusterd's balancer role uses (lbpool.c);
    # docs/lb.md, "Health checks", says why these figures.
    check = "check inter 1500ms fastinter 250ms downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions"  # noqa: E501
    agent = (" port %d weight 100 agent-check agent-port %d agent-inter 2s"
             % (ports["agent_check"], ports["agent_check"]))
    workers = "\n".join(
        "    server %s %s:%d %s%s" % (w["name"], w["address"], ports["agents"],
                                    check, agent)
        for w in c["workers"])
    nodes = [c["master"]] + c["workers"]
    enrolls = "\n".join(
        "    server %s %s:%d %s" % (n["name"], n["address"],
                                   ports["enrollment"], check)
        for n in nodes)
    peers = [b for b in c["balancers"] if b["name"] != me]
    unicast = ""
    if c.get("unicast"):
        unicast = "    unicast_src_ip %s\n    unicast_peer {\n%s\n    }" % (
            bal[me]["address"], "\n".join("        " + p["address"]
                                          for p in peers))
    h = c["haproxy"]
    values = {
        "cluster": c["cluster"], "balancer": me,
        "stats_socket": h["stats_socket"], "state_file": h["state_file"],
        "stats_page": h["stats_page"], "maxconn": h.get("maxconn", 100000),
        "agents_bind": "%s:%d" % (agents_vip, ports["agents"]),
        "enrollment_bind": "%s:%d" % (agents_vip, ports["enrollment"]),
        "agent_check_port": ports["agent_check"],
        "worker_servers": workers, "enrollment_servers": enrolls,
        "interface": c["interface"], "priority": bal[me]["priority"],
        "agents_router_id": c["vip"]["agents_router_id"],
        "master_router_id": c["vip"]["master_router_id"],
        "agents_vip": c["vip"]["agents"], "master_vip": c["vip"]["master"],
        "unicast": unicast, "notify": notify, "notify_log": notify_log,
        "haproxy_args": haproxy_args,
    }
    os.makedirs(out, exist_ok=True)
    for name, tmpl in (("haproxy.cfg", "haproxy.cfg.in"),
                       ("keepalived.conf", "keepalived.conf.in"),
                       ("notify.sh", "notify.sh.in")):
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(template(tmpl).substitute(values))
        if name == "notify.sh":
            os.chmod(path, 0o755)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--balancer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--notify", default="/etc/keepalived/notify.sh")
    ap.add_argument("--notify-log", default="/var/log/keepalived-notify.log")
    # keepalived tracks the HAProxy process whose first arguments are
    # these (Debian's unit runs "haproxy -Ws -f /etc/haproxy/haproxy.cfg
    # -p /run/haproxy.pid ..."): the name alone would also match another
    # HAProxy in the same PID namespace.
    ap.add_argument("--haproxy-args",
                    default="-Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid")
    args = ap.parse_args()
    try:
        with open(args.cluster) as f:
            c = json.load(f)
        render(c, args.balancer, args.out, args.notify, args.notify_log,
               args.haproxy_args)
    except (OSError, ValueError, KeyError) as e:
        fail("%s: %s" % (args.cluster, e))


if __name__ == "__main__":
    main()
