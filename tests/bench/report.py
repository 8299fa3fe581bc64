#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""report.py BENCH KVER < rows: print a benchmark's figures as a table and
append them as JSON lines to build/bench/results.jsonl.

Input: one row per line, whitespace separated: "case metric value unit".
Each JSON line carries the benchmark, kernel, case, metric, value, unit, the
git commit and a UTC timestamp, so runs can be compared later with any JSON
tool (jq, python).
"""
import datetime
import json
import os
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))


def main():
    bench, kver = sys.argv[1], sys.argv[2]
    rows = []
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 4:
            continue
        case, metric, value, unit = parts
        rows.append((case, metric, float(value), unit))
    if not rows:
        print(f"{bench}: no figures", file=sys.stderr)
        sys.exit(1)
    commit = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    w = max(len(r[0]) for r in rows)
    m = max(len(r[1]) for r in rows)
    print(f"\n{bench} on {kver} ({commit})")
    print(f"{'case':<{w}}  {'metric':<{m}}  {'value':>12}  unit")
    for case, metric, value, unit in rows:
        print(f"{case:<{w}}  {metric:<{m}}  {value:>12.2f}  {unit}")
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    with open(os.path.join(BUILD, "bench", "results.jsonl"), "a") as f:
        for case, metric, value, unit in rows:
            f.write(json.dumps({"bench": bench, "kernel": kver, "case": case,
                                "metric": metric, "value": value, "unit": unit,
                                "commit": commit, "time": now}) + "\n")


if __name__ == "__main__":
    main()
