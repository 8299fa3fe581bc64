#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/keypath/bench.sh KVER: benchmark, not a test.  N dm-veil devices
# (N = 1, 16, 256, all with one key-id, as replicas would be) are created
# while veild is stopped, so the kernel holds N requests; then veild starts
# and gets them all at once.  Reports the time until all are unlocked next
# to the key manager's own sequential lookup latency (Locate + Get on a
# persistent connection) measured in the same guest, and the ratio to
# N sequential lookups.  Table on stdout, JSON lines appended to
# build/bench/keypath.jsonl.
set -eu
kver=${1:?usage: bench.sh KVER}
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$top/tests/e2e/keypath
build=${BUILD:-$top/build}
py=/usr/bin/python3
work=$(mktemp -d /tmp/veil-bench-keypath.XXXXXX)
trap '$py "$here/kmsctl.py" stop "$work"; [ -n "${gate:-}" ] && kill "$gate"; rm -rf "$work"' EXIT
certs=$work/certs
"$top/tests/e2e/kmip/certs.sh" "$certs"
freeport() {
	$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
		"$top/tests/e2e/kmip"
}
port=$(freeport)
gport=$(freeport)
$py "$here/kmsctl.py" start "$work" "$certs" "$port"
$py "$here/kmsctl.py" gate "$gport" "$port" &
gate=$!
$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], "hosta", int(sys.argv[4]))
kms.veil_conf(sys.argv[5], sys.argv[3], "hostb", 5696, addr="10.0.2.100",
              certs_dir="/etc/veil", workers=16, retry_budget=60)' \
	"$top/tests/e2e/kmip" "$work/hosta.conf" "$certs" "$port" "$work/b.conf"
echo "K1=$("$build/bin/veil-kmip" -c "$work/hosta.conf" create 2>/dev/null)" >"$work/ids.env"
log=$work/guest.log
"$top/tests/vm/veilvm.py" boot --kver "$kver" --timeout 900 --mem 2048 --stream none \
	--name bench-keypath --log "$log" --fwd "5696=$gport" --module brd --module xts \
	--file "$certs/ca.pem=/etc/veil/ca.pem" --file "$certs/hostb.pem=/etc/veil/hostb.pem" \
	--file "$certs/hostb-key.pem=/etc/veil/hostb-key.pem" \
	--file "$work/b.conf=/etc/veil/b.conf" --file "$work/ids.env=/etc/veil/ids.env" \
	--job "$here/bench-guest.sh"
mkdir -p "$build/bench"
$py - "$log" "$kver" "$build/bench/keypath.jsonl" <<'PY'
import json, re, sys, time
log, kver, out = sys.argv[1:4]
rows = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(log) if l.startswith("BENCH ")]
look = next(r for r in rows if r["what"] == "lookup")
per = int(look["ms"]) / int(look["n"])
print(f"keypath unlock benchmark, kernel {kver}")
print(f"key manager lookup (Locate+Get, sequential, persistent connection): {per:.1f} ms")
print(f"{'N':>5} {'all unlocked ms':>16} {'N x lookup ms':>14} {'ratio':>6}")
with open(out, "a") as f:
    for r in rows:
        if r["what"] != "unlock":
            continue
        n, ms = int(r["n"]), int(r["ms"])
        ratio = ms / (n * per)
        print(f"{n:>5} {ms:>16} {n * per:>14.0f} {ratio:>6.2f}" +
              ("" if int(r["unlocked"]) == n else f"  ONLY {r['unlocked']} unlocked"))
        f.write(json.dumps({"bench": "keypath-unlock", "kver": kver, "n": n,
                            "ms": ms, "lookup_ms": round(per, 2),
                            "ratio": round(ratio, 3), "unlocked": int(r["unlocked"]),
                            "time": int(time.time())}) + "\n")
PY
