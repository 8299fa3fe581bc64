#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/replica/run.sh KVER OUT.tap: replicas that unlock themselves.
#
#   host   a throw-away PKI (../kmip/certs.sh) and pykmip-server on
#          127.0.0.1; each guest reaches it as 10.0.2.100:5696.
#   A      enrols (veilctl setup, certificate CN=veil-cluster-1), encrypts
#          two virtio disks (keys created on the key manager by veilctl),
#          writes ext4 with known files.
#   host   copies the images: the array's replication.
#   B      same cluster identity (CN=veil-cluster-1, its own key pair):
#          udev attaches the copy of A's second disk at boot and the
#          hot-plugged replica of the first; both unlock by themselves;
#          the files equal A's.  The replica is then resynced from the
#          other disk: `veilctl update` notices the new key-id and re-keys.
#   C      another identity (CN=veil-intruder): the hot-plugged replica is
#          attached but stays in no-key; nothing readable.
#
# Authorisation is modelled by identity: PyKMIP lets only the owner (the
# creator's CN) Get a key, so the hosts of one cluster share a CN and an
# outsider has another.  Needs Debian's python3-pykmip.
#
# VEIL_DEMO=1 streams the guests' consoles (tests/e2e/replica/demo.sh).
set -u
kver=${1:?usage: run.sh KVER OUT.tap}
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$top/tests/e2e/replica
build=${BUILD:-$top/build}
py=/usr/bin/python3
work=$(mktemp -d /tmp/veil-e2e-replica.XXXXXX)
stream=tap
[ "${VEIL_DEMO:-}" = 1 ] && stream=all
pass=0 fail=0 kms=

say() { echo; echo "==> [host] $*"; }
finish() {
	[ -n "$kms" ] && kill "$kms" 2>/dev/null && wait "$kms" 2>/dev/null
	printf '# e2e replica %s\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n' \
		"$kver" "$pass" "$fail" >"$out"
	echo "e2e replica $kver: $pass passed, $fail failed"
	rm -rf "$work"
}
trap finish EXIT
host_ok() { # status description
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - host: $2"
	else fail=$((fail + 1)); echo "not ok - host: $2"; fi
}

say "a throw-away PKI and pykmip-server on 127.0.0.1"
"$top/tests/e2e/kmip/certs.sh" "$work/pki"
port=$($py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
	"$top/tests/e2e/kmip")
mkdir -p "$work/kms"
$py - "$top/tests/e2e/kmip" "$work/kms" "$work/pki" "$port" <<'PY' &
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import kms
k = kms.Kms(sys.argv[2], sys.argv[3], int(sys.argv[4]))
def stop(*_):
    k.stop()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
k.start()
open(os.path.join(sys.argv[2], "ready"), "w").close()
while True:
    signal.pause()
PY
kms=$!
for _ in $(seq 1 300); do [ -e "$work/kms/ready" ] && break; kill -0 $kms 2>/dev/null || break; sleep 0.1; done
[ -e "$work/kms/ready" ]
host_ok $? "pykmip-server runs on port $port" || exit 1

# guest: boot NAME JOB [extra veilvm args...]
boot() {
	local name=$1 job=$2
	shift 2
	"$top/tests/vm/veilvm.py" boot --kver "$kver" --timeout 400 --stream "$stream" \
		--name "e2e-replica-$name" --log "$work/$name.log" --fwd "5696=$port" \
		--bin /sbin/mkfs.ext4 --bin /lib/systemd/systemd-udevd --bin /bin/udevadm \
		--file "$work/pki=/pki" --file "$here/lib.sh=/veil/lib.sh" \
		--file "$top/tests/e2e/lib/tap.sh=/veil/tap.sh" \
		--file "/lib/udev/rules.d/55-dm.rules=/lib/udev/rules.d/55-dm.rules" \
		--file "/lib/udev/rules.d/60-persistent-storage-dm.rules=/lib/udev/rules.d/60-persistent-storage-dm.rules" \
		--file "/lib/udev/rules.d/95-dm-notify.rules=/lib/udev/rules.d/95-dm-notify.rules" \
		--file "$top/tools/udev/60-veil.rules=/lib/udev/rules.d/60-veil.rules" \
		--module ext4 --module xts "$@" --job "$here/$job"
	local rc=$?
	cp "$work/$name.log" "$build/vm/logs/e2e-replica-$name-$kver.log" 2>/dev/null
	local gp gf
	gp=$(grep -cE '^ok [0-9]+ - ' "$work/$name.log")
	gf=$(grep -cE '^not ok [0-9]+ - ' "$work/$name.log")
	pass=$((pass + gp)); fail=$((fail + gf))
	host_ok $((rc != 0)) "guest $name: job passed, kernel log clean (runner exit $rc; $gp ok, $gf not ok)"
	return $rc
}
# parse NAME TAG PYTHON-ASSERTIONS: the status --json the guest printed
json_check() {
	sed -n "/^VEIL-JSON-BEGIN $2\$/,/^VEIL-JSON-END $2\$/p" "$work/$1.log" |
		sed '1d;$d' | tr -d '\r' >"$work/$2.json"
	$py -c 'import json, sys
d = json.load(open(sys.argv[1])); dev = d["devices"][0]
exec(sys.argv[2])' "$work/$2.json" "$3"
}

truncate -s 32M "$work/a.img" "$work/o.img"
say "host A encrypts two disks and writes files"
boot a guest-a.sh --disk "$work/a.img" --disk "$work/o.img" || exit 1
kid=$(sed -n 's/^VEIL-KEYID vda \([0-9a-f]*\).*/\1/p' "$work/a.log" | tr -d '\r')
kid2=$(sed -n 's/^VEIL-KEYID vdb \([0-9a-f]*\).*/\1/p' "$work/a.log" | tr -d '\r')
sed -n 's/^VEIL-SUM //p' "$work/a.log" | tr -d '\r' >"$work/sums.txt"
[ -n "$kid" ] && [ -n "$kid2" ] && [ "$(wc -l <"$work/sums.txt")" = 3 ]
host_ok $? "A reported key-ids $kid, $kid2 and the files' checksums"

say "replication: the host copies A's images (the array's mirror)"
cp --sparse=always "$work/a.img" "$work/b.img" && cp --sparse=always "$work/a.img" "$work/c.img" &&
	cp --sparse=always "$work/o.img" "$work/b-other.img"
host_ok $? "images copied"
! grep -q "veil replica marker" "$work/a.img"
host_ok $? "the image holds no plaintext of A's files"

say "host B (authorised): replica hot-plugged, attached by udev, unlocked"
boot b guest-b.sh --disk "$work/b-other.img" --file "$work/sums.txt=/veil/sums.txt" \
	--monitor "$work/mon-b.sock" --hook "plug=$top/tests/vm/hotplug.sh $work/mon-b.sock $work/b.img hp0"
json_check b b "assert dev['state'] == 'encrypted' and dev['key_id'] == '$kid' and dev['name'] == 'veil-vdb'
assert d['daemon']['registered'] and dev['sectors'] == 61440 and dev['reason'] == ''
assert d['host_cert']['days_left'] >= 0"
host_ok $? "B's status --json parses: veil-vdb encrypted with key-id $kid"
json_check b b2 "assert dev['state'] == 'encrypted' and dev['key_id'] == '$kid2'"
host_ok $? "B's status --json after the resync: re-keyed to $kid2"

say "host C (not authorised): replica hot-plugged, refused"
boot c guest-c.sh --monitor "$work/mon-c.sock" \
	--hook "plug=$top/tests/vm/hotplug.sh $work/mon-c.sock $work/c.img hp0"
json_check c c "assert dev['state'] == 'no-key' and dev['key_id'] == '$kid' and dev['reason']"
host_ok $? "C's status --json parses: no-key with a reason"
[ "$fail" = 0 ]
