#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/reencrypt/run.sh KVER OUT.tap: online re-encryption (key
# rotation) end to end, and its crash safety.
#
# Host: certificates (../kmip/certs.sh), pykmip-server on a free
# 127.0.0.1 port, one disk image file (the LU).  Guests (guest.sh): veild
# reaching the key manager as 10.0.2.100:5696, the image as /dev/vda.  A
# chain of boots of the same image:
#   1  encrypt (new key), fio writes every block with verify=crc32c;
#      `veilctl reencrypt --progress` while fio verifies random reads of
#      the first half and writes+verifies the second half; verify all.
#      The host then reads the image: the blocks the guest read through the
#      mapping are AES-XTS under the new key fetched with the PyKMIP client,
#      and not under the old one.
#   2  attach, then a new re-encryption stopped at crash point locked:2
#      (VEIL_TEST_CRASH_AT) and the guest killed through the QEMU monitor
#      (`quit`: no shutdown).
#   3..8  attach (recovers a journaled window), the state the kill left
#      (in progress, no window locked), verify every block under two keys,
#      --resume, verify again; then the next crash point: journaled:3,
#      md-journal-half:1, converted:2 (and the host overwrites half of the
#      journaled window in the image before the next boot: a torn write
#      the journal must undo), committed-md:3, final-half, and a kill at a
#      random point of a run.
#   9  recover from the random kill, resume, verify; the host's key check
#      again.
# Each crash boot must reach its point, and its console must stay clean.
# A veilctl without the reencrypt command fails the scenario.
# Nine boots of a 32 MiB image (REENC_IMAGE_MB sizes it), about three
# to four minutes per kernel.
set -u
kver=${1:?usage: run.sh KVER OUT.tap}
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$top/tests/e2e/reencrypt
build=${BUILD:-$top/build}
py=/usr/bin/python3
work=$(mktemp -d /var/tmp/veil-e2e-reencrypt.XXXXXX)
certs=$work/certs
img=$work/lu.img
pass=0 fail=0 skip=0
t0=$(date +%s)

finish() {
	$py "$top/tests/e2e/keypath/kmsctl.py" stop "$work" 2>/dev/null
	printf '# e2e reencrypt %s\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n' \
		"$kver" "$pass" "$fail" "$skip" >"$out"
	echo "e2e reencrypt $kver: $pass passed, $fail failed, $skip skipped ($(($(date +%s) - t0)) s)"
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap finish EXIT
host_ok() { # status description
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - host: $2"
	else fail=$((fail + 1)); echo "not ok - host: $2"; fi
}
die() { host_ok 1 "$1"; exit 1; }

"$top/tests/e2e/kmip/certs.sh" "$certs" >/dev/null 2>&1 || die "certificates"
port=$($py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
	"$top/tests/e2e/kmip")
$py "$top/tests/e2e/keypath/kmsctl.py" start "$work" "$certs" "$port" || die "pykmip-server starts"
$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], "hostb", 5696, addr="10.0.2.100",
              certs_dir="/etc/veil", retry_budget=10, connect_timeout=3, io_timeout=5)' \
	"$top/tests/e2e/kmip" "$work/veild.conf" "$certs" || die "veild.conf"
truncate -s "${REENC_IMAGE_MB:-32}M" "$img"

reenc=0
"$build/bin/veilctl" --help 2>&1 | grep -q '^ *reencrypt ' && reenc=1

# boot N ENV...: one guest on the image; ENV lines go to /etc/veil/boot.env.
# Sets L (its console log) and rc (the runner's exit status).
boot() {
	local nb=$1 tries=0
	shift
	printf '%s\n' "BOOT=$nb" "REENC=$reenc" "$@" >"$work/boot.env"
	L=$work/boot$nb.log
	while :; do
		"$top/tests/vm/veilvm.py" boot --kver "$kver" --timeout 900 --stream tap \
			--name "e2e-reencrypt-$nb" --log "$L" --mem 1024 \
			--disk "$img" --fwd "5696=$port" --bin /usr/bin/fio --module xts \
			--monitor @MONITOR@ --hook "kill=$py $here/host.py quit @MONITOR@" \
			--file "$certs/ca.pem=/etc/veil/ca.pem" --file "$certs/hostb.pem=/etc/veil/hostb.pem" \
			--file "$certs/hostb-key.pem=/etc/veil/hostb-key.pem" \
			--file "$work/veild.conf=/etc/veil/veild.conf" --file "$work/boot.env=/etc/veil/boot.env" \
			--file "$top/tests/e2e/lib/tap.sh=/veil/tap.sh" \
			--job "$here/guest.sh"
		rc=$?
		# TCG now and then takes an int3 of the kernel's own code patching
		# in the first seconds of boot, before /init runs: boot again once
		if [ $tries = 0 ] && ! grep -q '^VEIL-READY' "$L" && grep -q 'Kernel panic\|general protection' "$L"; then
			echo "# boot $nb: the guest crashed in early boot, before /init (log kept as $L.early); booting again"
			mv "$L" "$L.early"
			tries=1
			continue
		fi
		break
	done
	cp "$L" "$build/vm/logs/e2e-reencrypt-$nb-$kver.log" 2>/dev/null
	local gp gf
	gp=$(grep -cE '^ok [0-9]+ - ' "$L")
	gf=$(grep -cE '^not ok [0-9]+ - ' "$L")
	pass=$((pass + gp))
	fail=$((fail + gf))
	[ "$gp" -ge 1 ]
	host_ok $? "boot $nb: the guest ran its tests ($gp passed, $gf failed)"
}
# after a boot that ends by itself
clean_end() {
	host_ok $((rc != 0)) "boot $1: guest job passed, kernel log clean (runner exit $rc)"
}
# after a boot the host killed at crash point $2
killed() { # boot point
	local splat t
	[ $rc = 1 ] && grep -q '^veilvm: hook kill: rc=0' "$L"
	host_ok $? "boot $1: the guest asked for its kill and the monitor's quit ended QEMU (runner exit $rc)"
	case $2 in
	random) ;;
	*)
		grep -qE '^\[ *[0-9.]+\] veil-test: crash point '"${2%%:*}"' reached' "$L"
		host_ok $? "boot $1: the console shows 'veil-test: crash point ${2%%:*} reached' (from /dev/kmsg)"
		;;
	esac
	splat=$(grep -E 'BUG: |WARNING: |Oops|general protection fault|Kernel panic|kernel BUG at|soft lockup|hard LOCKUP|blocked for more than|UBSAN: |KASAN: ' "$L" | head -n 3)
	t=$(sed -n 's/^VEIL-TAINT \([0-9]*\).*/\1/p' "$L" | tail -n1)
	[ -z "$splat" ] && [ -n "$t" ] && [ $((t & ~((1 << 12) | (1 << 13) | (1 << 10)))) = 0 ]
	host_ok $? "boot $1: kernel log clean up to the kill, taint ${t:-?}${splat:+: $splat}"
}
keycheck() { # boot old-key-id
	local old=$2
	"$build/bin/veilctl" dump --json "$img" >"$work/md.json" 2>/dev/null
	$py "$here/host.py" check "$img" "$work/md.json" "$certs" "$port" "${old:-none}" "$L" \
		>"$work/check.out" 2>&1
	local r=$?
	sed 's/^/# /' "$work/check.out"
	host_ok $r "boot $1: the image's data area is AES-XTS under the new key (fetched with the PyKMIP client), not under the old"
}

points="locked:2 journaled:3 md-journal-half:1 converted:2 committed-md:3 final-half random"
if [ $reenc = 0 ]; then
	host_ok 1 "veilctl has a reencrypt command"
	exit 1
fi

boot 1 FIRST=1 ONLINE=1
clean_end 1
keycheck 1 "$(sed -n 's/^VEIL-OLD \([0-9a-f]*\).*/\1/p' "$L" | tail -n1)"
nb=2
prev=
for p in $points; do
	boot $nb ${prev:+RECOVER=${prev%%:*}} CRASH=$p
	killed $nb "$p"
	if [ "$p" = converted:2 ]; then
		w=$(sed -n 's/^VEIL-WINDOW .*window=\([0-9]*\)+\([0-9]*\).*converted=1.*/\1 \2/p' "$L" | tail -n1)
		"$build/bin/veilctl" dump --json "$img" >"$work/md.json" 2>/dev/null
		[ -n "$w" ] && $py "$here/host.py" tear "$img" "$work/md.json" $w
		host_ok $? "boot $nb: half of the converted, journaled window ($w) overwritten on the image (a torn write)"
	fi
	prev=$p
	nb=$((nb + 1))
done
# the key the random kill's run was replacing
old=$(sed -n 's/^VEIL-KID \([0-9a-f]*\).*/\1/p' "$L" | tail -n1)
boot $nb RECOVER=random
clean_end $nb
keycheck $nb "$old"
[ "$fail" = 0 ]
