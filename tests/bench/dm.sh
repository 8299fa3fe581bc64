#!/bin/bash
# dm.sh KVER: dm-veil against dm-crypt and dm-linear on one memory-backed
# device, and the kernel memory an idle dm-veil device costs.
#
# One guest, one memory-backed device, fio (O_DIRECT) through: the raw device,
# dm-linear (the limit of any dm target), dm-crypt with its default
# workqueues, dm-crypt with no_read_workqueue and no_write_workqueue,
# dm-veil with the same cipher/key size/sector size, and the null-cipher
# forms of dm-crypt and dm-veil (the cost of queueing alone).  Lines:
#   seq*_1M, rand*_4K        psync, queue depth 1, one job
#   seq*_1M_qd8              libaio, iodepth 8, one job
#   rand*_4K_qd32x2          libaio, iodepth 32, two jobs (group_reporting)
# Per line it prints dm-veil / the better dm-crypt and null-cipher dm-veil /
# dm-linear.  MB/s for 1M, IOPS for 4K.  Every case runs a line back to
# back, and a ratio is the median over rounds of the ratio within a round.
#
# Memory: BENCH_MEMDEVS (default 256) small brd devices get, in turn,
# nothing, a dm-linear device each, a dm-crypt device each (same cipher)
# and an attached idle dm-veil device each (key pushed); /proc/meminfo deltas divided by the count give bytes per
# device: slab, kernel stacks (the workqueue rescuers), per-cpu, and what
# MemFree lost besides those (mostly the pages the per-device pools keep
# in reserve).  0 skips it.
#
# The device: BENCH_DEV=brd (the default) or nullb.  brd copies the data
# and ends every bio inside its submission, so a queue never forms below
# the target: "iodepth 8" is eight submitters taking turns, and a read
# completes in its submitter's context.  null_blk (memory backed,
# multiqueue) ends each request from a timer BENCH_NULLB_NSEC (default
# 10000) ns after it was queued, like a device with its own latency: the
# depth lines then keep that many requests in flight, and reads complete in
# interrupt context, as on real hardware.  Its rows are reported as
# "dm-nullb" / "dm-nullb-busy".
#
# BENCH_RUNTIME (seconds per fio run, default 5), BENCH_REPEAT (runs of
# every case, interleaved, default 3; medians are reported: single runs on
# a shared TCG host swing by 10-20 %), BENCH_CASES (a subset of the cases)
# and BENCH_LINES (a subset of the lines) tune a run.  BENCH_BUSY=1 runs
# the lines once more (reported as "dm-busy"; BENCH_BUSY=only: just those,
# without the memory figures) with a second guest beside
# the measured one, loading both of its CPUs and a RAM disk, which stops by
# itself after BENCH_BUSY_SECONDS at most (default: long enough for the
# run) or when the measured guest is done.
# BENCH_ICOUNT=1 runs the guest with QEMU's -icount (one emulation thread,
# guest time counted in instructions, reported as "dm-icount"): figures
# that repeat to within a percent whatever else loads the host, so two
# builds can be compared run against run.  They measure what an I/O costs
# in instructions, not wall time: the guest's CPUs take turns, so the gain
# of spreading work over CPUs (dm-crypt's workqueues, dm-veil's split
# reads) does not show, and the lines at depth say nothing about it.
# On this project's test host a 6.1 guest printed nothing in 15 minutes
# under -icount (6.12 boots in seconds): use it with 6.12.
# Every run's rows are also appended to a file under build/bench/dm-rounds/
# named after the bench, kernel, runtime, cases and build; BENCH_POOL=1
# summarises all the rounds that file holds, this run's and earlier ones'
# (more rounds narrow the confidence interval dm_summary.py prints).
# Figures only: nothing here passes or fails.
set -euo pipefail
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(cd "$here/../.." && pwd)/build}
runtime=${BENCH_RUNTIME:-5}
cases=${BENCH_CASES:-}
lines=${BENCH_LINES:-}
repeat=${BENCH_REPEAT:-3}
memdevs=${BENCH_MEMDEVS:-256}
busy=${BENCH_BUSY:-0}
bdev=${BENCH_DEV:-brd}
nullb_nsec=${BENCH_NULLB_NSEC:-10000}
case $bdev in
brd) tag= ;;
nullb) tag=-nullb ;;
*) echo "dm bench: BENCH_DEV must be brd or nullb, not '$bdev'" >&2; exit 2 ;;
esac
case $nullb_nsec in
'' | *[!0-9]*) echo "dm bench: BENCH_NULLB_NSEC must be a number of nanoseconds" >&2; exit 2 ;;
esac
icount=()
[ "${BENCH_ICOUNT:-0}" = 1 ] && icount=(--qemu-arg=-icount --qemu-arg=shift=0,sleep=off)
job=$(mktemp)
busyjob=$(mktemp)
stopimg=$(mktemp)
busy_pid=
cleanup() {
	# stop the busy guest (ours) if it still runs
	if [ -n "$busy_pid" ]; then
		printf 'STOP' | dd of="$stopimg" conv=notrunc status=none
		wait "$busy_pid" 2>/dev/null || true
	fi
	rm -f "$job" "$busyjob" "$stopimg"
}
trap cleanup EXIT

all_cases="raw linear crypt_default crypt_noqueue crypt_null_default crypt_null_noqueue veil veil_null"
all_lines="seqwrite_1M seqread_1M randwrite_4K randread_4K seqwrite_1M_qd8 seqread_1M_qd8 randwrite_4K_qd32x2 randread_4K_qd32x2"
ncases=$(echo ${cases:-$all_cases} | wc -w)
nlines=$(echo ${lines:-$all_lines} | wc -w)

# The guest's job: $1 is the number of devices for the memory figures.
write_job() {
	cat >"$job" <<JOB
set -e
RUNTIME=$runtime
CASES="$cases"
LINES="$lines"
REPEAT=$repeat
MEMDEVS=$1
DEV=$bdev
NULLB_NSEC=$nullb_nsec
JOB
	cat >>"$job" <<'JOB'
KEY=$(head -c 64 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
KEYID=00112233445566778899aabbccddeeff
# ram0 (or nullb0) for fio; ram1..ramN (sparse: brd allocates only what
# is written) for the memory figures
modprobe brd rd_nr=$((1 + MEMDEVS)) rd_size=$((640 * 1024))
modprobe dm-crypt
modprobe dm-veil 2>/dev/null || true
dev=/dev/ram0
if [ "$DEV" = nullb ]; then
	modprobe null_blk nr_devices=1 queue_mode=2 memory_backed=1 gb=1 \
		irqmode=2 completion_nsec=$NULLB_NSEC
	dev=/dev/nullb0
	i=0; until [ -b $dev ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
fi
echo "device: $dev $(cat /sys/block/${dev#/dev/}/queue/nr_requests 2>/dev/null) requests"
sectors=$(blockdev --getsz $dev)
have_veil() { grep -q '^dm_veil ' /proc/modules && dmsetup targets | grep -q '^veil '; }
want() { [ -z "$CASES" ] || case " $CASES " in *" $1 "*) ;; *) return 1 ;; esac; }
want_line() { [ -z "$LINES" ] || case " $LINES " in *" $1 "*) ;; *) return 1 ;; esac; }
data_sectors() { veil-mdtool show $1 | sed -n 's/^ *data_sectors[ :=]*\([0-9]*\).*/\1/p' | head -n1; }

mem_snap() { # -> MemFree Slab KernelStack Percpu (KiB) and bio slabs (KiB), settled
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 2
	echo 3 > /proc/sys/vm/drop_caches
	sleep 1
	b=$(awk '$1 ~ /^(biovec-|bio-[0-9])/ { t += $3 * $4 } END { printf "%d", t / 1024 }' /proc/slabinfo)
	awk -v b=$b '/^(MemFree|Slab|KernelStack|Percpu):/ { v[$1] = $2 }
	     END { print v["MemFree:"], v["Slab:"], v["KernelStack:"], v["Percpu:"], b }' /proc/meminfo
}
mem_rows() { # case base now: bytes per device
	echo "$2 $3" | awk -v c=$1 -v n=$MEMDEVS '{
		free = ($1 - $6) * 1024 / n; slab = ($7 - $2) * 1024 / n
		ks = ($8 - $3) * 1024 / n; pc = ($9 - $4) * 1024 / n; bio = ($10 - $5) * 1024 / n
		printf "BENCHROW mem_%s slab_per_dev %.0f B\n", c, slab
		printf "BENCHROW mem_%s slab_bio_pools_per_dev %.0f B\n", c, bio
		printf "BENCHROW mem_%s slab_rest_per_dev %.0f B\n", c, slab - bio
		printf "BENCHROW mem_%s kstack_per_dev %.0f B\n", c, ks
		printf "BENCHROW mem_%s percpu_per_dev %.0f B\n", c, pc
		printf "BENCHROW mem_%s pages_per_dev %.0f B\n", c, free - slab - ks - pc
		printf "BENCHROW mem_%s total_per_dev %.0f B\n", c, free }'
}
mem_figures() {
	[ "$MEMDEVS" -gt 0 ] && have_veil || return 0
	local i n vs base now
	for i in $(seq 1 $MEMDEVS); do
		veil-mdtool format /dev/ram$i --key-id $KEYID --cipher aes-xts-plain64 \
			--key-bytes 64 >/dev/null
	done
	vs=$(data_sectors /dev/ram1)
	base=$(mem_snap)
	for i in $(seq 1 $MEMDEVS); do
		dmsetup create mlin$i --table "0 $vs linear /dev/ram$i 2048"
	done
	now=$(mem_snap)
	mem_rows linear "$base" "$now"
	for i in $(seq 1 $MEMDEVS); do dmsetup remove mlin$i; done
	base=$(mem_snap)
	for i in $(seq 1 $MEMDEVS); do
		dmsetup create mcrypt$i --table "0 $vs crypt aes-xts-plain64 $KEY 0 /dev/ram$i 2048"
	done
	now=$(mem_snap)
	mem_rows crypt "$base" "$now"
	for i in $(seq 1 $MEMDEVS); do dmsetup remove mcrypt$i; done
	base=$(mem_snap)
	veil-keyd-stub serve --key-id $KEYID=$KEY --count $MEMDEVS --timeout 600 >/dev/null &
	kd=$!
	for i in $(seq 1 $MEMDEVS); do
		dmsetup create mveil$i --table "0 $vs veil /dev/ram$i 0"
	done
	i=0
	until [ "$(dmsetup status --target veil | grep -c ' encrypted ')" -ge $MEMDEVS ] ||
	      [ $i -ge 600 ]; do sleep 0.5; i=$((i + 1)); done
	n=$(dmsetup status --target veil | grep -c ' encrypted ' || true)
	[ "$n" -eq $MEMDEVS ] || echo "memory: only $n of $MEMDEVS devices unlocked"
	now=$(mem_snap)
	mem_rows veil "$base" "$now"
	for i in $(seq 1 $MEMDEVS); do dmsetup remove mveil$i; done
	wait $kd || true
}

LINESPECS="seqwrite_1M:write:1M:psync:1:1 seqread_1M:read:1M:psync:1:1
randwrite_4K:randwrite:4k:psync:1:1 randread_4K:randread:4k:psync:1:1
seqwrite_1M_qd8:write:1M:libaio:8:1 seqread_1M_qd8:read:1M:libaio:8:1
randwrite_4K_qd32x2:randwrite:4k:libaio:32:2 randread_4K_qd32x2:randread:4k:libaio:32:2"
run_fio() { # with $T the device, $CASE the case, $SPEC the line, $REP the round
	local IFS=:
	set -- $SPEC
	out=$(fio --name=b --filename=$T --direct=1 --ioengine=$4 --iodepth=$5 \
		--numjobs=$6 --group_reporting --bs=$3 --rw=$2 --size=512M \
		--runtime=$RUNTIME --time_based --minimal --terse-version=3 2>/dev/null)
	# terse v3: 7 read bw KiB/s, 8 read iops, 48 write bw KiB/s, 49 write iops
	echo "$out" | awk -F';' -v c="$CASE" -v m="$1" -v bs="$3" -v r="$REP" '{
		if (m ~ /read/) { bw=$7; io=$8 } else { bw=$48; io=$49 }
		if (bs == "1M") printf "BENCHROW %s %s %.1f MB/s %d\n", c, m, bw*1024/1e6, r;
		else printf "BENCHROW %s %s %.0f IOPS %d\n", c, m, io, r }'
}
dmrun() { # name table
	want $1 || return 0
	dmsetup create $1 --table "$2"
	T=/dev/mapper/$1 CASE=$1 run_fio
	dmsetup remove $1
}
veilrun() { # name cipher keybytes key
	want $1 || return 0
	veil-mdtool format $dev --key-id $KEYID --cipher $2 --key-bytes $3 >/dev/null
	veil-keyd-stub serve --key-id $KEYID=$4 --count 1 --timeout 60 >/dev/null &
	kd=$!
	dmsetup create $1 --table "0 $(data_sectors $dev) veil $dev 0"
	i=0; until dmsetup status $1 | grep -q encrypted || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
	T=/dev/mapper/$1 CASE=$1 run_fio
	dmsetup remove $1
	wait $kd || true
}

mem_figures
have_veil || echo "dm-veil not available: veil lines skipped"
# Every case runs a line back to back (a device made for it and removed
# after), so the runs a ratio compares lie seconds apart, not minutes:
# a shared host's speed drifts over minutes by more than the differences
# measured here.
NULLKEY=$(head -c 16 /dev/urandom | od -An -tx1 -v | tr -d " \n")
REP=0
while [ $REP -lt $REPEAT ]; do
	REP=$((REP + 1))
	for SPEC in $LINESPECS; do
		want_line ${SPEC%%:*} || continue
		want raw && T=$dev CASE=raw run_fio
		dmrun linear "0 $sectors linear $dev 0"
		dmrun crypt_default "0 $sectors crypt aes-xts-plain64 $KEY 0 $dev 0"
		dmrun crypt_noqueue "0 $sectors crypt aes-xts-plain64 $KEY 0 $dev 0 2 no_read_workqueue no_write_workqueue"
		dmrun crypt_null_default "0 $sectors crypt cipher_null-ecb - 0 $dev 0"
		dmrun crypt_null_noqueue "0 $sectors crypt cipher_null-ecb - 0 $dev 0 2 no_read_workqueue no_write_workqueue"
		if have_veil; then
			veilrun veil aes-xts-plain64 64 $KEY
			veilrun veil_null cipher_null-ecb 16 $NULLKEY
		fi
	done
done
JOB
}

# The busy neighbour: both vCPUs (a shell loop) and a RAM disk (one fio
# run for the whole time, started again only if it ends early), until $1
# seconds have passed or the host writes STOP at the start of its disk.
# A load that restarted every few seconds would beat against the measured
# runs, each about as long, and could favour one case for many rounds.
write_busy_job() {
	cat >"$busyjob" <<JOB
END=\$((\$(date +%s) + $1))
JOB
	cat >>"$busyjob" <<'JOB'
modprobe brd rd_nr=1 rd_size=$((256 * 1024))
spin() { while [ $(date +%s) -lt $END ]; do :; done; }
io() {
	while left=$((END - $(date +%s))); [ $left -gt 0 ]; do
		fio --name=busy --filename=/dev/ram0 --direct=1 --ioengine=libaio --iodepth=8 \
			--rw=randrw --bs=64k --size=200M --runtime=$left --time_based >/dev/null 2>&1 || sleep 1
	done
}
spin & s=$!
io & i=$!
echo BUSY-START
while [ $(date +%s) -lt $END ]; do
	dd if=/dev/vda bs=512 count=1 iflag=direct 2>/dev/null | grep -q STOP && break
	sleep 1
done
kill $s $i 2>/dev/null || true
killall fio 2>/dev/null || true
wait 2>/dev/null || true
echo BUSY-DONE
JOB
}

measure() { # bench-name memdevs busy(0/1)
	local name=$1 log
	write_job "$2"
	if [ "$3" = 1 ]; then
		# long enough for every fio run plus start-up, unless told
		local secs=${BENCH_BUSY_SECONDS:-$((ncases * nlines * (runtime + 3) * repeat + 300))}
		write_busy_job "$secs"
		truncate -s 0 "$stopimg"
		truncate -s 1M "$stopimg"
		python3 "$here/../vm/veilvm.py" boot --kver "$kver" --name bench-dm-neighbour --stream none \
			--mem 1024 --timeout $((secs + 120)) --bin /usr/bin/fio --disk "$stopimg" \
			--job "$busyjob" >/dev/null 2>&1 &
		busy_pid=$!
		log=$build/vm/logs/bench-dm-neighbour-$kver.log
		for _ in $(seq 1 120); do
			grep -qs '^BUSY-START' "$log" && break
			sleep 1
		done
		grep -qs '^BUSY-START' "$log" || echo "dm bench: the busy guest has not started its load yet" >&2
	fi
	python3 "$here/../vm/veilvm.py" boot --kver "$kver" --name "bench-$name" --stream none --mem 2048 \
		--timeout 3600 --bin /usr/bin/fio --module null_blk "${icount[@]}" --job "$job" ||
		{ echo "dm bench: guest failed (see $build/vm/logs/bench-$name-$kver.log)" >&2; return 1; }
	grep -h '^device: ' "$build/vm/logs/bench-$name-$kver.log" >&2 || true
	if [ -n "$busy_pid" ]; then
		printf 'STOP' | dd of="$stopimg" conv=notrunc status=none
		wait "$busy_pid" || true
		busy_pid=
	fi
	grep -h '^memory: ' "$build/vm/logs/bench-$name-$kver.log" >&2 || true
	rows=$(pool_file "$name")
	mkdir -p "$(dirname "$rows")"
	grep -h '^BENCHROW ' "$build/vm/logs/bench-$name-$kver.log" | cut -d' ' -f2- |
		awk -v run="$(date -u +%Y%m%dT%H%M%S)" 'NF == 5 { $5 = run "." $5 } { print }' >>"$rows"
	echo "dm bench: rows kept in $rows" >&2
	if [ "${BENCH_POOL:-0}" = 1 ]; then
		python3 "$here/dm_summary.py" <"$rows"
	else
		grep -h '^BENCHROW ' "$build/vm/logs/bench-$name-$kver.log" | cut -d' ' -f2- |
			python3 "$here/dm_summary.py"
	fi | python3 "$here/report.py" "$name" "$kver"
}

# Where a run's rows are kept, so that rounds of one build accumulate
# across runs: one file per bench, kernel, fio runtime, set of cases and
# build (the commit, and a digest of any uncommitted change to what is
# measured: the kernel code and this bench).
pool_file() {
	local top rev
	top=$(cd "$here/../.." && pwd)
	rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo nogit)
	if ! git -C "$top" diff --quiet HEAD -- kernel include tests/bench 2>/dev/null; then
		rev=$rev-$(git -C "$top" diff HEAD -- kernel include tests/bench | sha1sum | cut -c1-8)
	fi
	echo "$build/bench/dm-rounds/$1-$kver-${runtime}s-$(echo ${cases:-all} | tr ' ' +)-$rev.rows"
}

if [ ${#icount[@]} -gt 0 ]; then
	measure dm$tag-icount 0 0
	exit
fi
[ "$busy" = only ] || measure dm$tag "$memdevs" 0
case $busy in 1 | only) measure dm$tag-busy 0 1 ;; esac
exit 0
