#!/bin/bash
# dm.sh KVER: dm-veil against dm-crypt on the same memory-backed device.
#
# One guest, one brd device, fio (psync, O_DIRECT, one job) for sequential
# 1 MiB and random 4 KiB reads and writes through: the raw device, dm-crypt
# with its default workqueues, dm-crypt with no_read_workqueue and
# no_write_workqueue, dm-veil with the same cipher/key size/sector size, and
# the null-cipher forms of dm-crypt and dm-veil (the cost of queueing alone).
# Prints every figure and, per line, dm-veil divided by the better dm-crypt.
# BENCH_RUNTIME (seconds per fio run, default 5), BENCH_REPEAT (runs of
# every case, interleaved, default 3; medians are reported: single runs on
# a shared TCG host swing by 10-20 %) and BENCH_CASES (a subset) tune a run.
# MB/s for 1M, IOPS for 4K.  Figures only: nothing here passes or fails.
set -euo pipefail
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(cd "$here/../.." && pwd)/build}
runtime=${BENCH_RUNTIME:-5}
# BENCH_CASES="crypt_noqueue veil ...": run only these cases (default: all)
cases=${BENCH_CASES:-}
# BENCH_REPEAT=N: run every case N times, interleaved, and report medians
repeat=${BENCH_REPEAT:-3}
job=$(mktemp)
trap 'rm -f "$job"' EXIT
cat >"$job" <<JOB
set -e
RUNTIME=$runtime
CASES="$cases"
REPEAT=$repeat
JOB
cat >>"$job" <<'JOB'
KEY=$(head -c 64 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
KEYID=00112233445566778899aabbccddeeff
modprobe brd rd_nr=1 rd_size=$((640 * 1024))
modprobe dm-crypt
modprobe dm-veil 2>/dev/null || true
dev=/dev/ram0
sectors=$(blockdev --getsz $dev)
want() { [ -z "$CASES" ] || case " $CASES " in *" $1 "*) ;; *) return 1 ;; esac; }
run_fio() { # case
	want "$CASE" || return 0
	for spec in "seqwrite_1M write 1M" "seqread_1M read 1M" "randwrite_4K randwrite 4k" "randread_4K randread 4k"; do
		set -- $spec
		out=$(fio --name=b --filename=$T --direct=1 --ioengine=psync --numjobs=1 \
			--bs=$3 --rw=$2 --size=512M --runtime=$RUNTIME --time_based \
			--minimal --terse-version=3 2>/dev/null)
		# terse v3: 7 read bw KiB/s, 8 read iops, 48 write bw KiB/s, 49 write iops
		echo "$out" | awk -F';' -v c="$CASE" -v m="$1" -v bs="$3" '{
			if (m ~ /read/) { bw=$7; io=$8 } else { bw=$48; io=$49 }
			if (bs == "1M") printf "BENCHROW %s %s %.1f MB/s\n", c, m, bw*1024/1e6;
			else printf "BENCHROW %s %s %.0f IOPS\n", c, m, io }'
	done
}
crypt() { # name cipher key extra-args
	want $1 || return 0
	dmsetup create $1 --table "0 $sectors crypt $2 $3 0 $dev 0 $4"
	T=/dev/mapper/$1 CASE=$1 run_fio
	dmsetup remove $1
}
rep=0
while [ $rep -lt $REPEAT ]; do
rep=$((rep + 1))
T=$dev CASE=raw run_fio
crypt crypt_default aes-xts-plain64 $KEY ""
crypt crypt_noqueue aes-xts-plain64 $KEY "2 no_read_workqueue no_write_workqueue"
crypt crypt_null_default cipher_null-ecb - ""
crypt crypt_null_noqueue cipher_null-ecb - "2 no_read_workqueue no_write_workqueue"
if grep -q '^veil ' /proc/modules 2>/dev/null && dmsetup targets | grep -q '^veil '; then
	veilrun() { # name cipher keybytes key
		want $1 || return 0
		veil-mdtool format $dev --key-id $KEYID --cipher $2 --key-bytes $3 >/dev/null
		veil-keyd-stub serve --key-id $KEYID=$4 --count 1 --timeout 60 >/dev/null &
		kd=$!
		vs=$(veil-mdtool show $dev | sed -n 's/^ *data_sectors[ :=]*\([0-9]*\).*/\1/p' | head -n1)
		dmsetup create $1 --table "0 $vs veil $dev 0"
		i=0; until dmsetup status $1 | grep -q encrypted || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
		T=/dev/mapper/$1 CASE=$1 run_fio
		dmsetup remove $1
		wait $kd || true
	}
	veilrun veil aes-xts-plain64 64 $KEY
	veilrun veil_null cipher_null-ecb 16 $(head -c 16 /dev/urandom | od -An -tx1 -v | tr -d " \n")
else
	echo "dm-veil not available: veil lines skipped"
fi
done
JOB
python3 "$here/../vm/veilvm.py" boot --kver "$kver" --name bench-dm --stream none --mem 2048 \
	--timeout 1800 --bin /usr/bin/fio --job "$job" || { echo "dm bench: guest failed (see $build/vm/logs/bench-dm-$kver.log)" >&2; exit 1; }
grep -h '^BENCHROW ' "$build/vm/logs/bench-dm-$kver.log" | cut -d' ' -f2- | python3 -c '
import sys
import statistics
rows = [l.split() for l in sys.stdin if len(l.split()) == 4]
runs = {}
for c, m, v, u in rows:
    runs.setdefault((c, m, u), []).append(float(v))
fig = {}
for (c, m, u), vs in runs.items():
    fig[(c, m)] = statistics.median(vs)
    print(c, m, f"{fig[(c, m)]:.1f}", u)
for m in sorted({m for c, m, v, u in rows}):
    for veil, crypts in (("veil", ("crypt_default", "crypt_noqueue")),
                         ("veil_null", ("crypt_null_default", "crypt_null_noqueue"))):
        best = max((fig.get((c, m), 0) for c in crypts), default=0)
        if (veil, m) in fig and best > 0:
            print(f"ratio_{veil}_vs_best_crypt {m} {fig[(veil, m)] / best:.2f} x")
' | python3 "$here/report.py" dm "$kver"
