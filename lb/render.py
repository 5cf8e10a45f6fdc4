#!/usr/bin/env python3
"""Render one balancer's HAProxy and keepalived configuration from the
cluster description (see lb/cluster.example.json and docs/lb.md), or the
keepalived configuration of one master-eligible host (docs/ha.md).

  lb/render.py --cluster FILE --balancer NAME --out DIR [--notify PATH]
               [--notify-log PATH] [--haproxy-args ARGS]
  lb/render.py --cluster FILE --master NAME --out DIR
               [--cluster-control PATH] [--home DIR]

Writes DIR/haproxy.cfg, DIR/keepalived.conf and DIR/notify.sh for a
balancer; DIR/keepalived.conf for a master host.
"""
import argparse
import ipaddress
import json
import re
import os
import secrets
import string
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def template(name):
    with open(os.path.join(HERE, "templates", name)) as f:
        return string.Template(f.read())


def fail(msg):
    sys.exit("render: " + msg)


NAME = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")
IFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}\Z")
PATH = re.compile(r"/[A-Za-z0-9_./-]{0,254}\Z")
ARGS = re.compile(r"[A-Za-z0-9_./= -]{1,512}\Z")


def validate(c, notify, notify_log, haproxy_args):
    """Every value that reaches haproxy.cfg, keepalived.conf or notify.sh
    (which keepalived runs as root) is checked against what it may be:
    names, addresses, numbers and paths of safe characters.  A value with
    a newline, a quote or a shell character would otherwise add lines or
    commands of the description's author's choosing."""
    def name(v, what):
        if not isinstance(v, str) or not NAME.match(v):
            fail("%s: %r is not a name (1 to 63 of A-Z a-z 0-9 _ -)"
                 % (what, v))

    def addr(v, what, cidr=False):
        try:
            if not isinstance(v, str):
                raise ValueError
            if cidr:
                ipaddress.ip_interface(v)
            else:
                ipaddress.ip_address(v)
        except ValueError:
            fail("%s: %r is not an IP address%s"
                 % (what, v, " (with an optional /prefix)" if cidr else ""))

    def num(v, what, lo, hi):
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            fail("%s: %r is not a whole number from %d to %d"
                 % (what, v, lo, hi))

    def path(v, what):
        if not isinstance(v, str) or not PATH.match(v) or "/../" in v + "/":
            fail("%s: %r is not an absolute path of A-Z a-z 0-9 _ . / -"
                 % (what, v))

    name(c["cluster"], "cluster")
    if not isinstance(c["interface"], str) or not IFACE.match(c["interface"]):
        fail("interface: %r is not an interface name" % (c["interface"],))
    addr(c["vip"]["agents"], "vip.agents", cidr=True)
    addr(c["vip"]["master"], "vip.master", cidr=True)
    num(c["vip"]["agents_router_id"], "vip.agents_router_id", 1, 255)
    num(c["vip"]["master_router_id"], "vip.master_router_id", 1, 255)
    for i, b in enumerate(c["balancers"]):
        name(b["name"], "balancers[%d].name" % i)
        addr(b["address"], "balancers[%d].address" % i)
        num(b["priority"], "balancers[%d].priority" % i, 1, 254)
    name(c["master"]["name"], "master.name")
    addr(c["master"]["address"], "master.address")
    for i, m in enumerate(c.get("masters", [])):
        name(m["name"], "masters[%d].name" % i)
        addr(m["address"], "masters[%d].address" % i)
        num(m["priority"], "masters[%d].priority" % i, 1, 254)
    for i, w in enumerate(c["workers"]):
        name(w["name"], "workers[%d].name" % i)
        addr(w["address"], "workers[%d].address" % i)
    for k in ("agents", "enrollment", "agent_check"):
        num(c["ports"][k], "ports." + k, 1, 65535)
    h = c["haproxy"]
    path(h["stats_socket"], "haproxy.stats_socket")
    path(h["state_file"], "haproxy.state_file")
    num(h.get("maxconn", 100000), "haproxy.maxconn", 1, 10000000)
    page = h["stats_page"]
    host, _, port = page.rpartition(":") if isinstance(page, str) else ("", "", "")
    addr(host, "haproxy.stats_page (ADDRESS:PORT)")
    num(int(port) if port.isdigit() else -1, "haproxy.stats_page's port", 1,
        65535)
    for k, v in HAPROXY_DEFAULTS.items():
        (path if k == "chroot" else name)(h.get(k, v), "haproxy." + k)
    name(c.get("keepalived", {}).get("script_user", SCRIPT_USER),
         "keepalived.script_user")
    path(notify, "--notify")
    path(notify_log, "--notify-log")
    if not ARGS.match(haproxy_args):
        fail("--haproxy-args: %r has characters other than A-Z a-z 0-9 "
             "_ . / = - and spaces" % haproxy_args)


SCRIPT_USER = "keepalived_script"


# HAProxy's user, group, chroot and stats page user, unless the
# description's "haproxy" names others.
HAPROXY_DEFAULTS = {"user": "haproxy", "group": "haproxy",
                    "chroot": "/var/lib/haproxy", "stats_user": "admin"}


def stats_password(out):
    """The stats page's password: OUT/stats-password, made once (16
    random bytes in hex, mode 0600) and kept across renders."""
    p = os.path.join(out, "stats-password")
    if not os.path.exists(p):
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(16) + "\n")
    with open(p) as f:
        pw = f.read().strip()
    if not re.fullmatch(r"[A-Za-z0-9_.-]{8,128}", pw):
        fail("%s: a password of 8 to 128 of A-Z a-z 0-9 _ . -" % p)
    return pw


def proxy_from(c):
    """The balancers' addresses and the agents' VIP, for proxy_from."""
    addrs = [b["address"] for b in c["balancers"]]
    vip = c["vip"]["agents"].split("/")[0]
    if vip not in addrs:
        addrs.append(vip)
    return ",".join(addrs)


def render(c, me, out, notify, notify_log, haproxy_args):
    validate(c, notify, notify_log, haproxy_args)
    bal = {b["name"]: b for b in c["balancers"]}
    if me not in bal:
        fail("no balancer %r in the cluster description" % me)
    ports = c["ports"]
    agents_vip = c["vip"]["agents"].split("/")[0]
    # The same server options clusterd's balancer role uses (lbpool.c);
    # docs/lb.md, "Health checks", says why these figures, and "PROXY
    # protocol" why each server gets a PROXY v2 header.
    check = "send-proxy-v2 check inter 1500ms fastinter 250ms downinter 1s fall 3 rise 2"  # noqa: E501
    # Only agents' sessions are shut with their server: an enrollment is
    # one short exchange, and a master handing its role over answers those
    # it has (lbpool.c, LBPOOL_SHUT).
    agent = (" on-marked-down shutdown-sessions port %d weight 100 agent-check agent-port %d agent-inter 2s"  # noqa: E501
             % (ports["agent_check"], ports["agent_check"]))
    workers = "\n".join(
        "    server %s %s:%d %s%s" % (w["name"], w["address"], ports["agents"],
                                    check, agent)
        for w in c["workers"])
    # Enrollment reaches the master directly too: every master-eligible
    # host when there are several (standbys do not listen, so HAProxy's
    # checks keep them down and only the active master serves).
    nodes = (c.get("masters") or [c["master"]]) + c["workers"]
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
    hd = {k: h.get(k, v) for k, v in HAPROXY_DEFAULTS.items()}
    script_user = c.get("keepalived", {}).get("script_user", SCRIPT_USER)
    os.makedirs(out, exist_ok=True)
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
        "haproxy_user": hd["user"], "haproxy_group": hd["group"],
        "chroot": hd["chroot"], "stats_user": hd["stats_user"],
        "stats_password": stats_password(out),
        "script_user": script_user, "script_group": script_user,
        # With master-eligible hosts, they hold the master's VIP.
        "master_vip_instance": "" if c.get("masters") else
        template("master_vip.in").substitute(
            master_router_id=c["vip"]["master_router_id"],
            interface=c["interface"], priority=bal[me]["priority"],
            unicast=unicast, master_vip=c["vip"]["master"], notify=notify),
    }
    # The nodes' side of send-proxy-v2: who may, and then must, send a
    # PROXY header (the agents' VIP too: a balancer holding it may connect
    # from it).
    with open(os.path.join(out, "clusterd-proxy_from.conf"), "w") as f:
        f.write("# Rendered by lb/render.py: add this line to clusterd.conf "
                "on the master\n# and every worker of cluster %s "
                "(docs/lb.md, \"PROXY protocol\").\nproxy_from %s\n"
                % (c["cluster"], proxy_from(c)))
    for name, tmpl in (("haproxy.cfg", "haproxy.cfg.in"),
                       ("keepalived.conf", "keepalived.conf.in"),
                       ("notify.sh", "notify.sh.in")):
        path = os.path.join(out, name)
        with open(path, "w") as f:
            f.write(template(tmpl).substitute(values))
        # haproxy.cfg holds the stats page's password.
        os.chmod(path, 0o755 if name == "notify.sh" else
                 0o600 if name == "haproxy.cfg" else 0o644)


def render_master(c, me, out, cluster_control, home):
    """keepalived on a master-eligible host: the master's VIP on the
    active master only, as clusterd says (cluster_control --ha-check)."""
    validate(c, "/x", "/x", "x")
    for v, what in ((cluster_control, "--cluster-control"), (home, "--home")):
        if not PATH.match(v) or "/../" in v + "/":
            fail("%s: %r is not an absolute path of A-Z a-z 0-9 _ . / -"
                 % (what, v))
    masters = {m["name"]: m for m in c.get("masters", [])}
    if me not in masters:
        fail("no master %r in the cluster description's masters" % me)
    peers = [m for m in c["masters"] if m["name"] != me]
    unicast = ""
    if c.get("unicast") and peers:
        unicast = "    unicast_src_ip %s\n    unicast_peer {\n%s\n    }" % (
            masters[me]["address"], "\n".join("        " + p["address"]
                                            for p in peers))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "keepalived.conf"), "w") as f:
        f.write(template("keepalived-master.conf.in").substitute(
            cluster=c["cluster"], master=me, interface=c["interface"],
            master_router_id=c["vip"]["master_router_id"],
            priority=masters[me]["priority"], master_vip=c["vip"]["master"],
            unicast=unicast, cluster_control=cluster_control, home=home))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cluster", required=True)
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--balancer")
    who.add_argument("--master")
    ap.add_argument("--cluster-control", default="/usr/bin/cluster_control")
    ap.add_argument("--home", default="/var/lib/clusterd")
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
        if args.master:
            render_master(c, args.master, args.out, args.cluster_control,
                          args.home)
        else:
            render(c, args.balancer, args.out, args.notify, args.notify_log,
                   args.haproxy_args)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        fail("%s: %s" % (args.cluster, e))


if __name__ == "__main__":
    main()
