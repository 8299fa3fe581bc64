#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# reenc.sh KVER: online re-encryption, veil against LUKS2.
#
# One guest, two brd devices of one size: an eVLU attached through dm-veil
# (veild in the guest, keys on a pykmip-server on the host, as in
# production: `veilctl reencrypt` creates the new key there) and a LUKS2
# device opened through dm-crypt, both aes-xts-plain64 with a 512-bit key
# and BENCH_SECTOR-byte encryption sectors (default 4096).  Each device is
# filled, then re-encrypted online:
#   veil          veilctl reencrypt
#   luks2         cryptsetup reencrypt (default resilience: checksum)
#   luks2_journal cryptsetup reencrypt --resilience journal
# Figures, per case:
#   reencrypt_MBps       data area / wall time of the re-encryption alone
#   reencrypt_load_MBps  the same with the foreground fio running
#   fg_idle_iops         foreground fio (4k randrw, libaio QD8, one job) on the
#                        mapping alone, BENCH_RUNTIME seconds
#   fg_reenc_iops        the same fio during the re-encryption (until it ends)
#   fg_ratio_pct         fg_reenc_iops / fg_idle_iops
# and veil / luks2 (and / luks2_journal) ratios of the re-encryption
# throughputs.  Medians over BENCH_REPEAT runs (default 1; every run
# re-encrypts with a new key again).  BENCH_REENC_MB (default 128) sizes the
# devices; BENCH_LOAD_MAX (default 900) bounds, in seconds, a re-encryption
# under load and its foreground fio.  Figures only: nothing here passes or fails.
# Alone: make bench BENCHES=reenc.  Without a veilctl that has reencrypt,
# the LUKS2 lines only.
set -euo pipefail
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
py=/usr/bin/python3
runtime=${BENCH_RUNTIME:-5}
loadmax=${BENCH_LOAD_MAX:-900}
repeat=${BENCH_REPEAT:-1}
mb=${BENCH_REENC_MB:-128}
ssz=${BENCH_SECTOR:-4096}
work=$(mktemp -d /tmp/veil-bench-reenc.XXXXXX)
cleanup() {
	$py "$top/tests/e2e/keypath/kmsctl.py" stop "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if ! "$build/bin/veilctl" --help 2>&1 | grep -q '^ *reencrypt '; then
	echo "reenc bench: veilctl has no reencrypt command: veil lines skipped" >&2
	veil=0
else
	veil=1
fi

"$top/tests/e2e/kmip/certs.sh" "$work/certs" >/dev/null 2>&1
port=$($py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
	"$top/tests/e2e/kmip")
$py "$top/tests/e2e/keypath/kmsctl.py" start "$work" "$work/certs" "$port"
$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], "hostb", 5696, addr="10.0.2.100",
              certs_dir="/etc/veil", retry_budget=10, connect_timeout=3, io_timeout=5)' \
	"$top/tests/e2e/kmip" "$work/veild.conf" "$work/certs"

cat >"$work/job" <<JOB
RUNTIME=$runtime
LOADMAX=$loadmax
REPEAT=$repeat
MB=$mb
SSZ=$ssz
VEIL=$veil
JOB
cat >>"$work/job" <<'JOB'
set -u
export DM_DISABLE_UDEV=1
mkdir -p /run/cryptsetup
modprobe brd rd_nr=2 rd_size=$((MB * 1024))
modprobe dm-crypt
modprobe dm-veil
modprobe -a xts ecb 2>/dev/null
head -c 32 /dev/urandom >/tmp/pass
PBKDF="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"

# the foreground load: 4k random read/write, libaio QD8, one job, for at
# most SECONDS (under a re-encryption: stopped by SIGINT when it ends);
# fgload DEV SECONDS OUT (exec: the caller's $! is fio itself)
fgload() {
	exec fio --name=fg --filename="$1" --rw=randrw --bs=4k --ioengine=libaio --iodepth=8 \
		--direct=1 --size=$((MB / 2))M --time_based --runtime="$2" --randrepeat=0 \
		--minimal --terse-version=3 --output="$3" >/dev/null 2>&1
}
# total IOPS (read + write) of a terse v3 report
iops() { grep '^3;' "$1" | awk -F';' '{ print $8 + $49 }'; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
# reenc CASE DEV DATA_BYTES CMD...: one re-encryption alone, one under load
reenc() {
	local c=$1 dev=$2 bytes=$3 t0 t1 pid ms
	shift 3
	(fgload "$dev" "$RUNTIME" /tmp/idle.out)
	echo "BENCHROW $c fg_idle_iops $(iops /tmp/idle.out) IOPS"
	t0=$(now_ms)
	"$@" >/tmp/reenc.out 2>&1 || { echo "reenc bench: $c: $* failed:"; tail -n 5 /tmp/reenc.out; return 1; }
	t1=$(now_ms)
	echo "BENCHROW $c reencrypt_MBps $(awk -v b=$bytes -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", b / 1e6 / (ms / 1000) }') MB/s"
	fgload "$dev" "$LOADMAX" /tmp/load.out &
	pid=$!
	sleep 1
	t0=$(now_ms)
	timeout "$LOADMAX" "$@" >/tmp/reenc.out 2>&1 ||
		{ echo "reenc bench: $c: $* failed or timed out under load:"; tail -n 5 /tmp/reenc.out; }
	t1=$(now_ms)
	kill -INT $pid 2>/dev/null
	wait $pid || true
	echo "BENCHROW $c reencrypt_load_MBps $(awk -v b=$bytes -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", b / 1e6 / (ms / 1000) }') MB/s"
	echo "BENCHROW $c fg_reenc_iops $(iops /tmp/load.out) IOPS"
	echo "# $c: $((t1 - t0)) ms under load"
}
fill() { dd if=/dev/zero of="$1" bs=1M oflag=direct 2>/dev/null || true; }

if [ "$VEIL" = 1 ]; then
	veild -c /etc/veil/veild.conf >/tmp/veild.log 2>&1 &
	i=0
	until veilctl status --json 2>/dev/null | grep -q '"registered": *true' || [ $i -ge 100 ]; do
		usleep 100000; i=$((i + 1))
	done
	veilctl encrypt /dev/ram0 bv --sector-size "$SSZ" --wait 60 >/tmp/encrypt.out 2>&1 ||
		{ echo "reenc bench: veilctl encrypt failed:"; cat /tmp/encrypt.out; exit 1; }
	fill /dev/mapper/bv
	vbytes=$(blockdev --getsize64 /dev/mapper/bv)
fi
cryptsetup luksFormat --type luks2 --batch-mode --cipher aes-xts-plain64 --key-size 512 \
	--sector-size "$SSZ" $PBKDF --key-file /tmp/pass /dev/ram1 >/tmp/luks.out 2>&1 &&
	cryptsetup open --key-file /tmp/pass /dev/ram1 bl >>/tmp/luks.out 2>&1 ||
	{ echo "reenc bench: LUKS2 setup failed:"; cat /tmp/luks.out; exit 1; }
fill /dev/mapper/bl
lbytes=$(blockdev --getsize64 /dev/mapper/bl)
echo "# veil data area $((${vbytes:-0} >> 20)) MiB, LUKS2 data area $((lbytes >> 20)) MiB"

rep=0
while [ $rep -lt $REPEAT ]; do
	rep=$((rep + 1))
	[ "$VEIL" = 1 ] && reenc veil /dev/mapper/bv "$vbytes" veilctl reencrypt bv
	reenc luks2 /dev/mapper/bl "$lbytes" \
		cryptsetup reencrypt --batch-mode $PBKDF --key-file /tmp/pass /dev/ram1
	reenc luks2_journal /dev/mapper/bl "$lbytes" \
		cryptsetup reencrypt --batch-mode --resilience journal $PBKDF --key-file /tmp/pass /dev/ram1
done
JOB

log=$build/vm/logs/bench-reenc-$kver.log
$py "$top/tests/vm/veilvm.py" boot --kver "$kver" --name bench-reenc --log "$log" --stream none \
	--mem 1536 --timeout $((3600 + 3 * repeat * loadmax)) --fwd "5696=$port" --bin /usr/bin/fio --bin /usr/sbin/cryptsetup \
	--module dm-crypt --module xts \
	--file "$work/certs/ca.pem=/etc/veil/ca.pem" --file "$work/certs/hostb.pem=/etc/veil/hostb.pem" \
	--file "$work/certs/hostb-key.pem=/etc/veil/hostb-key.pem" \
	--file "$work/veild.conf=/etc/veil/veild.conf" --job "$work/job" ||
	{ echo "reenc bench: guest failed (see $log)" >&2; exit 1; }
grep -h '^reenc bench: \|^# ' "$log" >&2 || true
grep -h '^BENCHROW ' "$log" | cut -d' ' -f2- | $py -c '
import statistics, sys
runs, order = {}, []
for line in sys.stdin:
    c, m, v, u = line.split()
    if (c, m, u) not in runs:
        order.append((c, m, u))
        runs[(c, m, u)] = []
    runs[(c, m, u)].append(float(v))
fig = {}
for c, m, u in order:
    fig[(c, m)] = statistics.median(runs[(c, m, u)])
    print(c, m, "%.2f" % fig[(c, m)], u)
for c in ("veil", "luks2", "luks2_journal"):
    idle, load = fig.get((c, "fg_idle_iops")), fig.get((c, "fg_reenc_iops"))
    if idle and load is not None:
        print(c, "fg_ratio_pct", "%.1f" % (100 * load / idle), "%")
for m in ("reencrypt_MBps", "reencrypt_load_MBps"):
    for ref in ("luks2", "luks2_journal"):
        if fig.get(("veil", m)) and fig.get((ref, m)):
            print("veil/" + ref, m.replace("_MBps", "_ratio"), "%.2f" % (fig[("veil", m)] / fig[(ref, m)]), "x")
' | $py "$here/report.py" reenc "$kver"
