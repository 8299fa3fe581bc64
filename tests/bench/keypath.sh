#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# keypath.sh KVER: how fast veild unlocks N dm-veil devices at once
# (N = 1, 16, 256), each device with its own key-id and key, next to the
# key manager's own round trips measured in the same run.  Figures only.
#
# Host: pykmip-server on 127.0.0.1 (reached by the guest through a gate, as
# in tests/e2e/keypath), 256 keys created through veil-kmip.  Guest: 256
# brd LUs formatted with one key-id each; veil-kmip check --timing measures
# one Locate and one Get on a persistent connection (mean of 20, after a
# warm-up); then, for each N, the N devices are created while veild is
# stopped (the kernel holds N requests), veild starts and receives them all
# at once, and the time until all N are encrypted is taken (veild's start,
# its TLS handshakes and every lookup included).
#
# LUs carry a key-hint (the key's KMIP identifier, as veilctl records it),
# so veild's lookup is Get Attributes + Get; KEYPATH_HINT=0 measures the
# Locate-by-name path instead.  KEYPATH_DELAY_MS=D puts D ms of latency in
# each direction between the guest and the key manager (a key manager
# across a network: loopback PyKMIP has none, and serves one request at a
# time, so there the key manager's own speed is all that can be measured).
#
# Rows: "case metric value unit".  ratio_vs_get = all_unlocked / (N x one
# Get); ratio_vs_lookup = all_unlocked / (N x (Locate + Get)), a lookup
# being what veild must do per key-id (docs/kmip.md section 3).
set -euo pipefail
kver=${1:?usage: keypath.sh KVER}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
py=/usr/bin/python3
kp=$top/tests/e2e/keypath
work=$(mktemp -d /tmp/veil-bench-keypath.XXXXXX)
gate=
cleanup() {
	$py "$kp/kmsctl.py" stop "$work" 2>/dev/null || true
	[ -n "$gate" ] && kill "$gate" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
certs=$work/certs
"$top/tests/e2e/kmip/certs.sh" "$certs" >/dev/null
freeport() {
	$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
		"$top/tests/e2e/kmip"
}
port=$(freeport)
gport=$(freeport)
$py "$kp/kmsctl.py" start "$work" "$certs" "$port"
delay=${KEYPATH_DELAY_MS:-0}
$py "$kp/kmsctl.py" gate "$gport" "$port" "$delay" &
gate=$!
$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], "hosta", int(sys.argv[4]))
kms.veil_conf(sys.argv[5], sys.argv[3], "hostb", 5696, addr="10.0.2.100",
              certs_dir="/etc/veil", retry_budget=120, io_timeout=30)' \
	"$top/tests/e2e/kmip" "$work/hosta.conf" "$certs" "$port" "$work/b.conf"
"$build/bin/veil-kmip" -c "$work/hosta.conf" create --count 256 >"$work/ids" 2>"$work/create.err"
[ "$(wc -l <"$work/ids")" = 256 ] || { echo "keypath bench: key creation failed" >&2; exit 1; }
# "KEYID UID" per line; KEYPATH_HINT=0 leaves the LUs without a key-hint,
# so every lookup is a Locate by name and a Get
if [ "${KEYPATH_HINT:-1}" = 1 ]; then
	sed -n 's/.*KMIP identifier \([^ ]*\) on .*/\1/p' "$work/create.err" | paste -d' ' "$work/ids" - >"$work/keys"
else
	cp "$work/ids" "$work/keys"
fi

cat >"$work/job" <<'JOB'
export DM_DISABLE_UDEV=1
DATA=4096			# 4 MiB LU minus the two metadata areas
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
modprobe veil
modprobe dm-veil
modprobe brd rd_nr=256 rd_size=4096
modprobe -a xts ecb cbc 2>/dev/null
i=0
while read -r k u; do
	veil-mdtool format /dev/ram$i --force --key-id "$k" ${u:+--key-hint "$u"} >/dev/null ||
		echo "# format ram$i failed"
	i=$((i + 1))
done </etc/veil/keys
k0=$(head -n1 /etc/veil/keys | cut -d' ' -f1)
t=$(veil-kmip -c /etc/veil/b.conf check --repeat 20 --timing "$k0" | sed -n 's/^timing: //p')
echo "BENCH what=rtt $t"
for n in 1 16 256; do
	i=0
	while [ $i -lt $n ]; do
		echo "0 $DATA veil /dev/ram$i" | dmsetup create b$i
		i=$((i + 1))
	done
	t0=$(now_ms)
	veild -c /etc/veil/b.conf >/tmp/veild-bench.log 2>&1 &
	vp=$!
	# watch veild's log, not the devices: "dmsetup status" of 256 devices
	# under TCG takes the CPU veild and the key manager need.  veild logs
	# each key just before the kernel takes it; every device's state is
	# checked once at the end.
	while [ "$(grep -c ': pushing ' /tmp/veild-bench.log)" -lt $n ]; do
		usleep 20000
		[ $(($(now_ms) - t0)) -gt 600000 ] && break
	done
	i=0
	while [ "$(dmsetup status | grep -c ' veil encrypted ')" -lt $n ] && [ $i -lt 100 ]; do
		usleep 20000
		i=$((i + 1))
	done
	t1=$(now_ms)
	echo "BENCH what=unlock n=$n ms=$((t1 - t0)) unlocked=$(dmsetup status | grep -c ' veil encrypted ')"
	kill $vp
	wait $vp
	grep -E 'warning|error' /tmp/veild-bench.log | head -n 3 | sed 's/^/# /'
	i=0
	while [ $i -lt $n ]; do
		dmsetup remove b$i
		i=$((i + 1))
	done
done
JOB
log=$build/vm/logs/bench-keypath-$kver.log
mkdir -p "$build/vm/logs"
$py "$top/tests/vm/veilvm.py" boot --kver "$kver" --timeout 1800 --mem 2048 --stream none \
	--name bench-keypath --log "$log" --fwd "5696=$gport" --module brd --module xts \
	--file "$certs/ca.pem=/etc/veil/ca.pem" --file "$certs/hostb.pem=/etc/veil/hostb.pem" \
	--file "$certs/hostb-key.pem=/etc/veil/hostb-key.pem" \
	--file "$work/b.conf=/etc/veil/b.conf" --file "$work/keys=/etc/veil/keys" \
	--job "$work/job" >/dev/null || { echo "keypath bench: guest failed (see $log)" >&2; exit 1; }
$py - "$log" <<'PY' | $py "$here/report.py" "keypath$([ "${KEYPATH_HINT:-1}" = 1 ] || echo _nohint)$([ "$delay" = 0 ] || echo "_delay${delay}ms")" "$kver"
import sys
rows = [dict(kv.split("=", 1) for kv in l.split()[1:])
        for l in open(sys.argv[1]) if l.startswith("BENCH ")]
rtt = next(r for r in rows if r["what"] == "rtt")
get, loc = float(rtt["get_ms"]), float(rtt["locate_ms"])
print(f"key_manager get_rtt {get:.2f} ms")
print(f"key_manager locate_rtt {loc:.2f} ms")
for r in rows:
    if r["what"] != "unlock":
        continue
    n, ms = int(r["n"]), int(r["ms"])
    c = f"n{n}"
    print(f"{c} all_unlocked {ms} ms")
    print(f"{c} unlocked {r['unlocked']} devices")
    print(f"{c} ratio_vs_get {ms / (n * get):.3f} x")
    print(f"{c} ratio_vs_lookup {ms / (n * (get + loc)):.3f} x")
PY
