#!/usr/bin/env python3
"""Read the lab master's JSON answers (cluster_control --json) on stdin.

  labstat.py workers        "NAME ACTIVE" per connected worker (from -i)
  labstat.py total          agents in the registry (from -a)
  labstat.py ids NODE       ids of the agents NODE serves (from -a)
  labstat.py active NODE    agents shown active on NODE (from -a)
  labstat.py list           "ID NAME STATUS NODE" per agent (from -a)
  labstat.py ready SINCE [--skip NODE] [--ids FILE]
                            agents (from -a) active on a worker (not NODE)
                            with a keepalive at SINCE (Unix time) or later:
                            back after a failure; only those of FILE
"""
import argparse
import datetime
import json
import sys


def stamp(s):
    # Dates are ISO 8601 with the master's zone, to the second.
    return datetime.datetime.fromisoformat(s).timestamp() if s else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("workers", "total", "ids", "active", "list", "ready"))
    ap.add_argument("arg", nargs="?")
    ap.add_argument("--skip", default="")
    ap.add_argument("--ids")
    args = ap.parse_args()
    data = json.load(sys.stdin)["data"]
    if args.what == "workers":
        for n in data["nodes"]:
            if n.get("type") == "worker":
                c = n.get("agent_counts") or {}
                print(n["name"], c.get("active", 0))
    elif args.what == "active":
        print(sum(1 for a in data
                  if a["node_name"] == args.arg and a["status"] == "active"))
    elif args.what == "list":
        for a in data:
            print(a["id"], a["name"], a["status"], a["node_name"])
    elif args.what == "total":
        print(len(data))
    elif args.what == "ids":
        for a in data:
            if a["node_name"] == args.arg:
                print(a["id"])
    else:
        since = float(args.arg)
        only = None
        if args.ids:
            with open(args.ids) as f:
                only = set(f.read().split())
        print(sum(1 for a in data
                  if (only is None or a["id"] in only)
                  and a["status"] == "active"
                  and a["node_name"] not in ("unknown", "master", args.skip)
                  and stamp(a["last_keepalive"]) >= since))


if __name__ == "__main__":
    main()
