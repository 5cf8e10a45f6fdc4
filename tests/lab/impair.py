#!/usr/bin/env python3
"""A lossy, slow Ethernet switch in user space, for kernels without netem.

  impair.py --delay-ms MS --loss PCT [--ready FILE] [--stats SECONDS] PORT...

Run inside the lab's switch namespace (tests/lab/lablib.sh,
lab_impair_on).  It opens an AF_PACKET socket on every PORT, takes the
ports out of their bridge (`ip link set PORT nomaster`), and switches the
frames itself: it learns which port each source MAC address is behind,
floods broadcast, multicast and unknown destinations, and for every copy
it sends on an egress port draws the loss once and waits the delay once,
like `tc qdisc add dev PORT root netem delay MS loss PCT` on every port of
the bridge: a frame from one host to another is delayed once and may be
lost once, so a round trip takes twice the delay.  Frames keep their
order (the delay is constant).  It never puts the ports back: the caller
does (lab_impair_off), also after a crash.

The hosts' veths must not hand it GSO super-frames or frames with partial
checksums (ethtool -K ... tx off tso off gso off gro off, on both ends):
a frame read here is sent as it is.  Oversized frames are counted and
dropped.  Every --stats seconds, and on exit (SIGTERM), it prints a JSON
line of counters to stdout, with the worst lateness of a frame read
(lag: waiting for this process) and sent (late: after its time), and
the worst stall of the loop itself (woken late from its wait, or busy),
over the last interval and since the start.  Run it at a real-time priority
(chrt) on a busy machine, or its own stalls add to the delay.  Python standard library only.
"""
import argparse
import collections
import heapq
import json
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
MAC_AGE = 300.0		# seconds, as a Linux bridge's ageing_time
BURST = 64		# frames read from one port before looking at the others
LATE = 0.010		# a frame sent this much after its time counts as late
SO_TIMESTAMPNS = 35	# asm-generic/socket.h; not in Python's socket module
ANC_SPACE = socket.CMSG_SPACE(16)	# struct timespec


def arrival(anc, default):
    """The kernel's receive time of a frame (time.time(), wall clock)."""
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and \
                len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec + nsec / 1e9
    return default


class Stopped(Exception):
    pass


def stop(*_):
    # Raised from the handler, so that a wait in select() ends at once.
    raise Stopped()


class Port:
    def __init__(self, name):
        self.name = name
        self.index = socket.if_nametoindex(name)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(ETH_P_ALL))
        self.sock.bind((name, ETH_P_ALL))
        # Out of the bridge, the port would drop frames not addressed to
        # it: promiscuous while this socket lives.
        self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                             struct.pack("iHH8s", self.index,
                                         PACKET_MR_PROMISC, 0, b""))
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33,	# SO_RCVBUFFORCE
                                 4 << 20)
        except OSError:
            pass
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)
        self.mtu = int(open("/sys/class/net/%s/mtu" % name).read())

    def drain(self):
        while True:
            try:
                self.sock.recv(65536)
            except BlockingIOError:
                return


class Switch:
    def __init__(self, ports, delay, loss):
        self.ports = ports
        self.delay = delay
        self.loss = loss
        self.macs = {}		# MAC -> (Port, last seen)
        # (due, sequence, Port, frame): a heap, since frames read from
        # one port after another are not in the order they arrived.
        self.queue = []
        self.seq = 0
        self.c = collections.Counter()
        self.late_max = 0.0	# worst lateness of a frame sent, seconds
        self.lag_max = 0.0	# worst wait of a frame before it was read
        self.stall_max = 0.0	# worst oversleep of select() or busy loop
        self.late_all = self.lag_all = self.stall_all = 0.0

    def learn(self, mac, port, now):
        if not mac[0] & 1:
            self.macs[mac] = (port, now)

    def egress(self, mac, inport, now):
        if not mac[0] & 1:
            known = self.macs.get(mac)
            if known and now - known[1] < MAC_AGE:
                # Behind the port it came in by: a bridge filters it.
                return [] if known[0] is inport else [known[0]]
        self.c["flooded"] += 1
        return [p for p in self.ports if p is not inport]

    def receive(self, port, now):
        # now: time.monotonic() when the port became readable
        wall = time.time()
        for _ in range(BURST):
            try:
                frame, anc, _, addr = port.sock.recvmsg(65536, ANC_SPACE)
            except BlockingIOError:
                return
            if addr[2] == socket.PACKET_OUTGOING:
                continue	# our own, sent on this port
            self.c["frames"] += 1
            if len(frame) < 14:
                continue
            # The delay runs from the frame's arrival in the kernel, so
            # that time spent waiting for this process is not added to it.
            lag = wall - arrival(anc, wall)
            if lag > self.lag_max:
                self.lag_max = lag
            # A clock step between the two readings must not make the
            # frame leave at once, or wait longer than the delay.
            t = now - min(max(lag, 0.0), self.delay)
            self.learn(frame[6:12], port, t)
            for out in self.egress(frame[0:6], port, t):
                if len(frame) > out.mtu + 14:
                    self.c["oversize"] += 1
                elif random.random() < self.loss:
                    self.c["lost"] += 1
                else:
                    self.seq += 1
                    heapq.heappush(self.queue,
                                   (t + self.delay, self.seq, out, frame))

    def send_due(self, now):
        q = self.queue
        while q and q[0][0] <= now:
            due, _, out, frame = heapq.heappop(q)
            late = now - due
            if late > self.late_max:
                self.late_max = late
            if late > LATE:
                self.c["late"] += 1
            try:
                out.sock.send(frame)
                self.c["sent"] += 1
            except OSError:
                self.c["send_errors"] += 1

    def stats(self):
        d = dict(self.c)
        d["queued"] = len(self.queue)
        d["macs"] = len(self.macs)
        # Worst since the previous line, and since the start.
        self.late_all = max(self.late_all, self.late_max)
        self.lag_all = max(self.lag_all, self.lag_max)
        self.stall_all = max(self.stall_all, self.stall_max)
        for k in ("late", "lag", "stall"):
            d[k + "_max_ms"] = round(getattr(self, k + "_max") * 1000, 1)
            d[k + "_max_ms_all"] = round(getattr(self, k + "_all") * 1000, 1)
        self.late_max = self.lag_max = self.stall_max = 0.0
        return json.dumps({"impair": d, "time": round(time.time(), 1)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--loss", type=float, required=True, help="percent")
    ap.add_argument("--ready", help="file written once the ports are ours")
    ap.add_argument("--stats", type=float, default=10.0)
    ap.add_argument("ports", nargs="+")
    args = ap.parse_args()

    ports = [Port(n) for n in args.ports]
    sw = Switch(ports, args.delay_ms / 1000.0, args.loss / 100.0)
    # The sockets are bound: from now on no frame is missed.  Take the
    # ports out of the bridge, then throw away what the bridge has
    # already forwarded.
    for p in ports:
        subprocess.run(["ip", "link", "set", "dev", p.name, "nomaster"],
                       check=True)
    for p in ports:
        p.drain()
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("%d\n" % len(ports))

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sel = selectors.DefaultSelector()
    for p in ports:
        sel.register(p.sock, selectors.EVENT_READ, p)
    # The monotonic clock: a step of the wall clock moves no frame.
    next_stats = time.monotonic() + args.stats
    try:
        while True:
            now = time.monotonic()
            timeout = next_stats - now
            if sw.queue:
                timeout = min(timeout, sw.queue[0][0] - now)
            timeout = max(timeout, 0)
            events = sel.select(timeout)
            woke = time.monotonic()
            # Woken later than asked (not scheduled, or the machine
            # paused): every frame in flight is that much late.
            if not events and woke - now - timeout > sw.stall_max:
                sw.stall_max = woke - now - timeout
            for key, _ in events:
                sw.receive(key.data, woke)
            sw.send_due(time.monotonic())
            done = time.monotonic()
            if done - woke > sw.stall_max:
                sw.stall_max = done - woke
            if done >= next_stats:
                print(sw.stats(), flush=True)
                next_stats = done + args.stats
    except Stopped:
        pass
    print(sw.stats(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
