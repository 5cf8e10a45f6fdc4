#!/usr/bin/env python3
"""A real TLS enrollment client, as agents speak it (tests only).

  enroll.py HOST PORT 'OSSEC A:'"'"'name'"'"''       one request, prints the answer
  enroll.py --many N --concurrency C --prefix P [--out FILE] HOST PORT
      N agents named P0001.. enrolled C at a time; one line per agent
      "NAME ANSWER" to FILE (or stdout); exits 0 even if some fail.
  enroll.py --names FILE [--concurrency C] [--out FILE] HOST PORT
      the same for the names listed in FILE, one a line.
"""
import argparse
import asyncio
import random
import socket
import ssl
import sys


def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE          # agents do not verify by default
    ctx.set_ciphers("HIGH:!ADH:!EXP:!MD5:!RC4:!3DES:!CAMELLIA:@STRENGTH")
    return ctx


def has_key(data):
    """A whole key answer: where an agent stops reading (Wazuh's
    w_enrollment_process_response), whatever ends the connection after."""
    return data.startswith(b"OSSEC K:'") and data.count(b"'") >= 2


def one(host, port, line, timeout):
    raw = socket.create_connection((host, port), timeout=timeout)
    with context().wrap_socket(raw) as s:
        s.sendall(line.encode() + b"\n")
        data = b""
        while not has_key(data):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


async def enroll_async(host, port, line, timeout):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=context()), timeout)
    writer.write(line.encode() + b"\n")
    await writer.drain()
    data = b""
    while not has_key(data):
        chunk = await asyncio.wait_for(reader.read(4096), timeout)
        if not chunk:
            break
        data += chunk
    writer.close()
    try:
        await writer.wait_closed()
    except (ssl.SSLError, ConnectionError):
        pass
    return data.decode(errors="replace")


async def many(args):
    sem = asyncio.Semaphore(args.concurrency)
    out = open(args.out, "w") if args.out else sys.stdout

    async def task(name):
        if args.spread > 0:     # arrivals spread over that many seconds
            await asyncio.sleep(random.uniform(0, args.spread))
        async with sem:
            try:
                ans = await enroll_async(args.host, args.port,
                                         "OSSEC A:'%s'" % name, args.timeout)
            except Exception as e:  # noqa: BLE001 - any failure is reported
                ans = "FAILED %s" % type(e).__name__
        out.write("%s %s\n" % (name, ans or "EMPTY"))
        out.flush()

    if args.names:
        names = open(args.names).read().split()
    else:
        names = ["%s%04d" % (args.prefix, i) for i in range(1, args.many + 1)]
    await asyncio.gather(*(task(n) for n in names))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("line", nargs="?")
    ap.add_argument("--many", type=int)
    ap.add_argument("--names")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--prefix", default="agent")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--spread", type=float, default=0)
    args = ap.parse_args()
    if args.many or args.names:
        asyncio.run(many(args))
        return
    try:
        print(one(args.host, args.port, args.line, args.timeout))
    except (OSError, ssl.SSLError) as e:
        print("FAILED %s" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
