#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/keypath/run.sh KVER OUT.tap: the key path end to end.
#
# Host: certificates (../kmip/certs.sh), pykmip-server on a free
# 127.0.0.1 port, four keys (three created through veil-kmip, one
# registered with the PyKMIP client from known bytes).  Guest (one boot):
# veild with the cluster's or an intruder's certificate, dm-veil devices on
# brd RAM disks; the scenarios are in guest.sh.  The guest stops and starts
# the key manager through VEIL-HOST hooks.  Afterwards the host checks the
# sector the guest encrypted with the PyKMIP-registered key against
# AES-XTS-plain64 computed here with that key.
set -u
kver=${1:?usage: run.sh KVER OUT.tap}
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$top/tests/e2e/keypath
build=${BUILD:-$top/build}
py=/usr/bin/python3
work=$(mktemp -d /tmp/veil-e2e-keypath.XXXXXX)
certs=$work/certs
pass=0 fail=0

finish() {
	$py "$here/kmsctl.py" stop "$work" 2>/dev/null
	[ -n "${gate:-}" ] && kill "$gate" 2>/dev/null
	printf '# e2e keypath %s\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n' \
		"$kver" "$pass" "$fail" >"$out"
	echo "e2e keypath $kver: $pass passed, $fail failed"
	rm -rf "$work"
}
trap finish EXIT
host_ok() { # status description
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - host: $2"
	else fail=$((fail + 1)); echo "not ok - host: $2"; fi
}

"$top/tests/e2e/kmip/certs.sh" "$certs"
freeport() {
	$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
		"$top/tests/e2e/kmip"
}
# the guest reaches the key manager through a gate on $gport (see kms.py)
port=$(freeport)
gport=$(freeport)
$py "$here/kmsctl.py" start "$work" "$certs" "$port" || { host_ok 1 "pykmip-server starts"; exit 1; }
$py "$here/kmsctl.py" gate "$gport" "$port" &
gate=$!

# keys: K1, K3, K4 through veil (client identity of the cluster), K2 from PyKMIP
$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], "hosta", int(sys.argv[4]))' \
	"$top/tests/e2e/kmip" "$work/hosta.conf" "$certs" "$port"
ids=$work/ids.env
: >"$ids"
for k in K1 K3 K4; do
	id=$("$build/bin/veil-kmip" -c "$work/hosta.conf" create 2>"$work/create.err") ||
		{ host_ok 1 "veil-kmip create"; exit 1; }
	uid=$(sed -n 's/.*KMIP identifier \([^ ]*\) on .*/\1/p' "$work/create.err")
	echo "$k=$id" >>"$ids"
	echo "${k}_UID=$uid" >>"$ids"
done
k2=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
k2key=$(od -An -N64 -tx1 /dev/urandom | tr -d ' \n')
$py "$here/kmsctl.py" register "$certs" "$port" "veil-$k2" "$k2key" >/dev/null ||
	{ host_ok 1 "PyKMIP registers the interop key"; exit 1; }
echo "K2=$k2" >>"$ids"

# guest configurations: the cluster (hostb) and an intruder (hostc)
for h in b c; do
	$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], sys.argv[4], 5696, addr="10.0.2.100",
              certs_dir="/etc/veil", retry_budget=6, workers=8,
              connect_timeout=2, io_timeout=3)' \
		"$top/tests/e2e/kmip" "$work/$h.conf" "$certs" "host$h"
done

files=()
for f in ca.pem hostb.pem hostb-key.pem hostc.pem hostc-key.pem; do
	files+=(--file "$certs/$f=/etc/veil/$f")
done
log=$work/guest.log
"$top/tests/vm/veilvm.py" boot --kver "$kver" --timeout 300 --stream tap \
	--name "e2e-keypath" --log "$log" \
	--fwd "5696=$gport" --bin /usr/sbin/dmsetup --module brd --module xts \
	"${files[@]}" --file "$work/b.conf=/etc/veil/b.conf" \
	--file "$work/c.conf=/etc/veil/c.conf" --file "$ids=/etc/veil/ids.env" \
	--file "$top/tests/e2e/lib/tap.sh=/veil/tap.sh" \
	--hook "kms-stop=$py $here/kmsctl.py stop $work" \
	--hook "kms-start=$py $here/kmsctl.py start $work $certs $port" \
	--job "$here/guest.sh"
rc=$?
cp "$log" "$build/vm/logs/e2e-keypath-$kver.log" 2>/dev/null
gp=$(grep -cE '^ok [0-9]+ - ' "$log")
gf=$(grep -cE '^not ok [0-9]+ - ' "$log")
pass=$((pass + gp)); fail=$((fail + gf))
host_ok $((rc != 0)) "guest job passed, kernel log clean (runner exit $rc)"
[ "$gp" -ge 42 ]
host_ok $? "guest ran all its tests ($gp passed, $gf failed)"

ct=$(sed -n 's/^VEIL-CT \([0-9a-f]*\).*/\1/p' "$log" | head -n1)
$py - "$k2key" "$ct" <<'PY'
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
key, ct = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
enc = Cipher(algorithms.AES(key), modes.XTS(bytes(16))).encryptor()
sys.exit(0 if len(ct) == 512 and enc.update(bytes(512)) + enc.finalize() == ct else 1)
PY
host_ok $? "the sector written with the PyKMIP-registered key is AES-XTS-plain64 under that key"
[ "$fail" = 0 ]
