#!/usr/bin/env python3
"""Read a clusterd metrics text and check it (tests only).

  metrics.py URL [SERIES...]         scrape URL; check the answer and text
  metrics.py --file FILE [SERIES...] the same on a saved text (--stats)
  metrics.py --series URL|--file F   print each series without its value

With SERIES, prints each one's value, one a line, and exits 1 if one is
missing; without, prints the text.  A series is written as in the text: name, or
name{label="value",...} with the labels in the text's order.  The check
is Prometheus' text format 0.0.4: "# HELP" and "# TYPE" once per metric,
before its samples, which are together; valid names and labels; values
that parse; no series twice.  And clusterd's own rule: counters end in
_total and never go below 0.  Any violation exits 2 with the line.
"""
import re
import sys
import urllib.request

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge)$" % NAME)


def bad(msg):
    print("metrics.py: " + msg, file=sys.stderr)
    sys.exit(2)


def fetch(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        ctype = r.headers.get("Content-Type", "")
        if r.status != 200 or not ctype.startswith(
                "text/plain; version=0.0.4"):
            bad("%s: status %d, Content-Type %r" % (url, r.status, ctype))
        body = r.read()
        if len(body) != int(r.headers["Content-Length"]):
            bad("%s: Content-Length differs from the body" % url)
        return body.decode("utf-8")


def check(text):
    """{series: value} of a valid text."""
    if text and not text.endswith("\n"):
        bad("the text does not end with a newline")
    helped, typed, done, series = {}, {}, set(), {}
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        where = "line %d: %r" % (n, line)
        m = HELP.match(line)
        if m:
            if m.group(1) in helped:
                bad("second HELP, " + where)
            if current is not None:
                done.add(current)
            current = m.group(1)
            helped[current] = m.group(2)
            continue
        m = TYPE.match(line)
        if m:
            if m.group(1) != current or current in typed:
                bad("TYPE not right after its HELP, " + where)
            typed[current] = m.group(2)
            if m.group(2) == "counter" and not current.endswith("_total"):
                bad("a counter not named *_total, " + where)
            continue
        m = SAMPLE.match(line)
        if not m:
            bad("not a HELP, TYPE or sample line, " + where)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if name != current or name not in typed or name in done:
            bad("sample outside its metric's block, " + where)
        keys = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', labels)
        if len(keys) != len(set(keys)):
            bad("a label twice, " + where)
        try:
            v = float(value)
        except ValueError:
            bad("value does not parse, " + where)
        if typed[name] == "counter" and not v >= 0:
            bad("a counter below 0, " + where)
        if name + labels in series:
            bad("a series twice, " + where)
        series[name + labels] = value
    return series


def main(argv):
    names = False
    if argv and argv[0] == "--series":
        names = True
        argv = argv[1:]
    if len(argv) >= 2 and argv[0] == "--file":
        text = open(argv[1], encoding="utf-8").read()
        argv = argv[2:]
    elif argv:
        text = fetch(argv[0])
        argv = argv[1:]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    series = check(text)
    if not names and not argv:
        sys.stdout.write(text)
        return 0
    if names:
        for s in series:
            print(s)
        return 0
    for s in argv:
        if s not in series:
            print("metrics.py: no series %s" % s, file=sys.stderr)
            return 1
        print(series[s])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
