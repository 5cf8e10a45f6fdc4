#!/usr/bin/env python3
"""Capture and replay agents' raw frames (tests).

  capture.py relay LPORT TARGETFILE CAPFILE
        a balancer that records: each connection to 127.0.0.1:LPORT goes on
        to the gateway port written in TARGETFILE; every frame an agent
        sends is appended to CAPFILE as "PORT HEX" (the 4-byte length
        prefix included).  When TARGETFILE names another port, the open
        connections are cut, and the agents reconnect there.  Prints
        "listening", runs until killed.
  capture.py replay PORT HEX
        a new connection to 127.0.0.1:PORT sends the frame's bytes as they
        were captured; prints "answered" when any frame comes back within
        2 seconds, "closed" when the gateway closes, else "silent".
"""
import os
import select
import socket
import struct
import sys
import threading
import time


def target(path, cur=None):
    """The port in path; cur while it is being rewritten."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return cur


def pump_agent(a, m, port, cap, lock):
    """Agent to gateway, frame by frame, each recorded."""
    buf = b""
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            m.sendall(d)
            buf += d
            while len(buf) >= 4:
                n = struct.unpack("<I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                with lock, open(cap, "a") as f:
                    f.write("%d %s\n" % (port, buf[:4 + n].hex()))
                buf = buf[4 + n:]
    except OSError:
        pass
    for s in (a, m):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump_gateway(m, a):
    try:
        while True:
            d = m.recv(65536)
            if not d:
                break
            a.sendall(d)
    except OSError:
        pass
    for s in (a, m):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(lport, tfile, cap):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(64)
    lock = threading.Lock()
    live = []
    print("listening", flush=True)
    cur = target(tfile)
    while True:
        r, _, _ = select.select([ls], [], [], 0.1)
        t = target(tfile, cur)
        if t != cur:		# the agents move: cut them
            cur = t
            for s in live:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            live = []
        if not r:
            continue
        a, _ = ls.accept()
        try:
            m = socket.create_connection(("127.0.0.1", cur))
        except OSError:
            a.close()
            continue
        live += [a, m]
        threading.Thread(target=pump_agent, args=(a, m, cur, cap, lock),
                         daemon=True).start()
        threading.Thread(target=pump_gateway, args=(m, a),
                         daemon=True).start()


def replay(port, frame):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(bytes.fromhex(frame))
    s.settimeout(2)
    try:
        d = s.recv(4)
        print("answered" if d else "closed")
    except socket.timeout:
        print("silent")
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "relay":
        relay(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "replay":
        replay(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)
