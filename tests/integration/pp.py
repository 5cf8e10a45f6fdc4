#!/usr/bin/env python3
"""A client that speaks through a PROXY header, as a balancer would (tests).

  pp.py [--from SRCADDR] [--v1 ADDR | --v2 ADDR | --v2-local | --none]
        PORT gw-ping               a "#ping" frame; prints the answer frame
  pp.py ... PORT gw-frame TEXT     one frame; prints "closed" when closed
  pp.py ... PORT enroll LINE       a TLS enrollment; prints the answer
  pp.py ... PORT silent            sends the header only; prints "closed"
                                   if the server closes within 1 s, else
                                   "open" (and keeps it open until killed
                                   with --hold)
  pp.py ... PORT relay LISTENPORT  a balancer: every connection to
                                   127.0.0.1:LISTENPORT goes on to PORT
                                   after the header; prints "listening",
                                   runs until killed

The connection goes to --to (127.0.0.1) PORT; the header names 127.0.0.1:PORT
as its destination and port 40000 as its source port.
"""
import argparse
import socket
import ssl
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def header(args):
    if args.v1:
        fam = "TCP6" if ":" in args.v1 else "TCP4"
        dst = "::1" if fam == "TCP6" else "127.0.0.1"
        return ("PROXY %s %s %s 40000 %d\r\n"
                % (fam, args.v1, dst, args.port)).encode()
    if args.v2:
        if ":" in args.v2:
            fam, af, dst = 0x21, socket.AF_INET6, "::1"
        else:
            fam, af, dst = 0x11, socket.AF_INET, "127.0.0.1"
        block = (socket.inet_pton(af, args.v2) + socket.inet_pton(af, dst)
                 + struct.pack(">HH", 40000, args.port))
        # A TLV, as cloud balancers add (type 0xEA, AWS's VPC endpoint).
        block += b"\xea" + struct.pack(">H", 9) + b"\x01vpce-123"
        return SIG + bytes([0x21, fam]) + struct.pack(">H", len(block)) + block
    if args.v2_local:
        return SIG + bytes([0x20, 0x00, 0x00, 0x00])
    return b""


def frame(text):
    b = text.encode()
    return struct.pack("<I", len(b)) + b


def closed_within(s, limit):
    s.settimeout(limit)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(args):
    import threading
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", int(args.text)))
    lst.listen(64)
    print("listening", flush=True)
    while True:
        c, _ = lst.accept()
        s = socket.socket()
        s.bind((args.src, 0))
        try:
            s.connect((args.to, args.port))
            s.sendall(header(args))
        except OSError:
            c.close()
            s.close()
            continue
        threading.Thread(target=pipe, args=(c, s), daemon=True).start()
        threading.Thread(target=pipe, args=(s, c), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src", default="127.0.0.1")
    ap.add_argument("--v1")
    ap.add_argument("--v2")
    ap.add_argument("--v2-local", action="store_true")
    ap.add_argument("--none", action="store_true", help="no header")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--to", default="127.0.0.1")
    ap.add_argument("port", type=int)
    ap.add_argument("what")
    ap.add_argument("text", nargs="?")
    args = ap.parse_args()
    if args.what == "relay":
        relay(args)
        return
    s = socket.socket()
    s.bind((args.src, 0))
    s.settimeout(5)
    s.connect((args.to, args.port))
    hdr = header(args)
    if args.what == "enroll":
        # The header, then the TLS handshake, as HAProxy sends them.
        s.sendall(hdr)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            with ctx.wrap_socket(s) as t:
                t.sendall(args.text.encode() + b"\n")
                data = b""
                while True:
                    chunk = t.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            print(data.decode(errors="replace"))
        except (OSError, ssl.SSLError) as e:
            print("FAILED %s" % type(e).__name__)
        return
    if args.what == "gw-ping":
        # Header and frame in one segment, as a balancer may send them.
        s.sendall(hdr + frame("#ping"))
        data = b""
        while len(data) < 9:
            try:
                chunk = s.recv(64)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                print("closed")
                return
            data += chunk
        print(data[4:].decode(errors="replace"))
        return
    if args.what == "gw-frame":
        s.sendall(hdr)
        time.sleep(0.05)	# header and frame apart: both paths
        s.sendall(frame(args.text))
        print("closed" if closed_within(s, 3) else "open")
        return
    if args.what == "silent":
        s.sendall(hdr)
        if closed_within(s, 1):
            print("closed", flush=True)
            return
        print("open", flush=True)
        while args.hold:
            time.sleep(1)
        return
    sys.exit("unknown action %s" % args.what)


if __name__ == "__main__":
    main()
