"""Helpers shared by the benchmarks: machine facts, node configs, polling,
percentiles, and writing a section of docs/benchmarks.md."""
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

KEY = "4bc7bdd1220587cb1b81fc007f649b58"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    return "%s, %d cores, %d GiB, Linux %s" % (model, os.cpu_count(), mem,
                                             platform.release())


def write_conf(tmp, name, kind, port, extra=()):
    """A node config in tmp/NAME.conf with its home in tmp/NAME."""
    home = os.path.join(tmp, name)
    os.makedirs(home, exist_ok=True)
    path = os.path.join(tmp, name + ".conf")
    with open(path, "w") as f:
        f.write("cluster_name bench\nnode_name %s\nnode_type %s\nkey %s\n"
                "master_address 127.0.0.1\nmaster_port %d\n"
                "bind_address 127.0.0.1\nport %d\nhome %s\n"
                % (name, kind, KEY, port, port, home))
        for line in extra:
            f.write(line + "\n")
    return path


def control(tmp, name, request):
    """One control-socket request to node NAME; the decoded answer."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(tmp, name, "queue/cluster/c-socket"))
    s.sendall(json.dumps(request).encode() + b"\n")
    data = s.makefile("rb").read()
    s.close()
    return json.loads(data)


def wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    sys.exit("bench: timed out waiting for " + what)


def vmhwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def median(values):
    return statistics.median(values)


class Nodes:
    """clusterd processes started in the foreground, stopped on exit."""

    def __init__(self, build, tmp):
        self.build, self.tmp, self.procs = build, tmp, {}

    def start(self, name):
        log = open(os.path.join(self.tmp, name + ".stderr"), "w")
        self.procs[name] = subprocess.Popen(
            [os.path.join(self.build, "clusterd"), "-f", "-c",
             os.path.join(self.tmp, name + ".conf")],
            stdout=subprocess.DEVNULL, stderr=log)

    def stop(self):
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def write_section(path, name, text):
    """Replace (or append) the section between this benchmark's markers."""
    start, end = "<!-- %s:start -->" % name, "<!-- %s:end -->" % name
    block = start + "\n" + text.rstrip("\n") + "\n" + end
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ("# Benchmarks\n\nFigures written by `make bench`; each section "
               "says on which machine and with which command.\n")
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)
