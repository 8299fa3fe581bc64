#!/bin/bash
# fsd.sh KVER: the vsock filesystem against the file servers a QEMU user
# picks today, every server native on the host and one TCG guest (2 vCPUs)
# mounting them all at once (/mnt/CASE) and running each workload on one
# server after the other.  The servers all serve the same host directory on
# tmpfs (/dev/shm):
#   fsd_*   veil-fsd (plain build) over virtio-vsock, the guest's device
#           served by vhost-user-vsock (plain build) whose host side is
#           the hybrid-vsock socket veil-fsd listens on;
#   diod_*  diod behind the same vhost-user-vsock, one diod per connection
#           on the unix connection itself (socat accepts and execs it);
#   v9p_*   QEMU's own virtio-9p (-fsdev local,security_model=passthrough),
#           one device per cache mode (a device serves one mount);
#   vfs_*   Debian's virtiofsd, cache=none and cache=auto (vhost-user-fs).
# 9P mounts use msize BENCH_MSIZE (512000: virtio-9p's largest on 6.1;
# diod's own limit lowers it for diod, and the negotiated msize is
# printed) and 9P2000.L.  Cache modes: cache=none for every 9P server, and
# cache=loose for veil-fsd and virtio-9p: a tenant root belongs to one
# guest and nothing changes it under the guest, the case cache=loose is
# for, and what a user wanting speed picks (as virtiofs users keep its
# default cache=auto).  fsd_loose is "the user's mount" in the ratios.
#
# Workloads, each bounded by BENCH_RUNTIME seconds (fio's cap) or
# BENCH_UNTAR_SECS:
#   seqwrite/seqread psync and libaio (QD8): fio, one job, 1 MiB blocks,
#     one pass over BENCH_SIZE MiB (writes include the final fsync; with
#     cache=loose they are BENCH_LOOSE_WRITE MiB, as 6.1 writes back a page
#     per request); reads start from a dropped page cache;
#   randread4: 4 fio jobs reading 4 KiB at random offsets of one file;
#   create/stat/unlink/smallfile: BENCH_FILES empty files (ops/s);
#   readdir_10k: a directory of 10,000 entries read three times;
#   untar: a source tree (a few thousand files from /usr/src's linux-source
#     tarball, subtree BENCH_TREE, or a generated tree without it) from
#     guest tmpfs onto the mount, entries/s over what was extracted when
#     the time cap stops it (the short default stops it on every server);
#   walk: nftw + lstat of that tree from a dropped dentry cache (entries/s).
# Then every ratio: veil-fsd / virtio-9p at the same msize and cache mode;
# the user's mount / virtio-9p cache=none; veil-fsd / virtiofsd (both
# modes); veil-fsd / diod.  Figures only: nothing here passes or fails.
# The guest is emulated and the host is shared, so absolute figures are
# noisy; ratios within one run are what to read, and BENCH_ROUNDS > 1
# reports each figure's median over the rounds.
#
# Knobs: BENCH_RUNTIME (3), BENCH_SIZE (128), BENCH_LOOSE_WRITE (16),
# BENCH_FILES (1000), BENCH_MSIZE (512000), BENCH_TREE (fs),
# BENCH_UNTAR_SECS (20), BENCH_ROUNDS (1), BENCH_CASES (all of the above),
# BENCH_PERF=1 (record veil-fsd with perf during its cases, report under
# build/bench/), BENCH_PROFILE=1 (where the first round's 4 KiB random
# reads and small-file operations spend their time, per operation: the
# guest's context switches, interrupts and CPU time, and each host
# component's run time and wake-ups, see fsd_prof.py; then, if the host has
# perf, the small-file workload once more under perf in the guest, the
# guest's CPU by thread going to build/bench/fsd-guest-perf-KVER.txt).
set -euo pipefail
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
runtime=${BENCH_RUNTIME:-3}
size=${BENCH_SIZE:-128}
loose_write=${BENCH_LOOSE_WRITE:-16}
nfiles=${BENCH_FILES:-1000}
msize=${BENCH_MSIZE:-512000}
tree=${BENCH_TREE:-fs}
untar_secs=${BENCH_UNTAR_SECS:-20}
rounds=${BENCH_ROUNDS:-1}
cases=${BENCH_CASES:-"fsd_none fsd_loose v9p_none v9p_loose vfs_none vfs_auto diod_none"}
user_case=fsd_loose
virtiofsd=/usr/lib/qemu/virtiofsd

for p in "$build/bin/veil-fsd" "$build/bin/vhost-user-vsock"; do
	[ -x "$p" ] || { echo "fsd bench: $p missing: run make user" >&2; exit 1; }
done
for p in "$virtiofsd" /usr/sbin/diod /usr/bin/socat /usr/bin/fio; do
	[ -x "$p" ] || { echo "fsd bench: $p missing: run scripts/setup-host.sh" >&2; exit 1; }
done

# Unix socket paths must stay short: the work directory is under /tmp.
work=$(mktemp -d /tmp/veil-bench.XXXXXX)
share=$(mktemp -d /dev/shm/veil-bench.XXXXXX)	# 0700: veil-fsd wants a closed parent
data=$share/data
pids=
stop() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work" "$share"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The workload program: small files, readdir, the tree walk.
cat >"$work/meta.c" <<'EOF'
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
	perror(path);
	fprintf(stderr, "meta: %s failed\n", what);
	exit(1);
}

static int mkfiles(const char *dir, int n)
{
	char p[32];
	int i, fd;

	if (mkdir(dir, 0755) || chdir(dir))
		die("mkdir", dir);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "e%06d", i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			die("create", p);
		close(fd);
	}
	return 0;
}

/* create (for at most secs seconds), stat and unlink up to n files in the
 * new directory dir */
static int smallfile(const char *dir, int n, double secs)
{
	double t0, t1, t2, t3;
	struct stat st;
	char p[32];
	int i, fd;

	if (mkdir(dir, 0755) || chdir(dir))
		die("mkdir", dir);
	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "f%06d", i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			die("create", p);
		close(fd);
		if (now() - t0 > secs) {
			n = i + 1;
			break;
		}
	}
	t1 = now();
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "f%06d", i);
		if (stat(p, &st))
			die("stat", p);
	}
	t2 = now();
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "f%06d", i);
		if (unlink(p))
			die("unlink", p);
	}
	t3 = now();
	if (chdir("..") || rmdir(dir))
		die("rmdir", dir);
	printf("create %.1f ops/s\n", n / (t1 - t0));
	printf("stat %.1f ops/s\n", n / (t2 - t1));
	printf("unlink %.1f ops/s\n", n / (t3 - t2));
	printf("smallfile %.1f ops/s\n", 3.0 * n / (t3 - t0));
	printf("smallfile_files %d files\n", n);
	return 0;
}

/* read the whole directory rounds times; entries per second */
static int readdir_rate(const char *dir, int rounds)
{
	long entries = 0;
	double t0 = now();
	struct dirent *e;
	DIR *d;
	int r;

	for (r = 0; r < rounds; r++) {
		d = opendir(dir);
		if (!d)
			die("opendir", dir);
		while ((e = readdir(d)))
			entries++;
		closedir(d);
	}
	printf("readdir_10k %.1f entries/s\n", entries / (now() - t0));
	return 0;
}

static long walked;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path; (void)st; (void)ftw;
	if (flag == FTW_NS)
		die("lstat", path);
	walked++;
	return 0;
}

/* find + stat: every entry of the tree, lstat'ed (nftw does it) */
static int walk(const char *dir)
{
	double t0 = now();

	if (nftw(dir, walk_one, 64, FTW_PHYS))
		die("nftw", dir);
	printf("walk_entries %ld entries\n", walked);
	printf("walk %.1f entries/s\n", walked / (now() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "mkfiles"))
		return mkfiles(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "smallfile"))
		return smallfile(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "readdir"))
		return readdir_rate(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "walk"))
		return walk(argv[2]);
	fprintf(stderr, "usage: meta mkfiles|readdir DIR N, meta smallfile DIR N SECS, meta walk DIR\n");
	return 2;
}
EOF
cc -O2 -Wall -Wextra -Werror -o "$work/meta" "$work/meta.c"

# The source tree to untar: a subtree of the installed linux-source tarball,
# kept uncompressed under build/bench/ (unpacking the tarball is slow); or,
# without linux-source, a generated tree of about the same shape.
mkdir -p "$build/bench"
src=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1 || true)
if [ -n "$src" ]; then
	top_dir=$(basename "$src" .tar.xz)
	tarball=$build/bench/$top_dir-$(echo "$tree" | tr ' /' '__').tar
	tree_what="$top_dir/{$tree} from $src"
	if [ ! -s "$tarball" ]; then
		mkdir "$work/src"
		# shellcheck disable=SC2046
		tar -C "$work/src" -xJf "$src" $(for t in $tree; do echo "$top_dir/$t"; done)
		tar -C "$work/src" -cf "$tarball.tmp" "$top_dir"
		mv "$tarball.tmp" "$tarball"
		rm -rf "$work/src"
	fi
else
	tarball=$build/bench/generated-tree.tar
	tree_what="a generated tree (no linux-source under /usr/src): 100 directories of 25 files, 1-64 KiB"
	if [ ! -s "$tarball" ]; then
		python3 - "$work/gen" <<'EOF'
import os, random, sys
r = random.Random(1)
for d in range(100):
    p = os.path.join(sys.argv[1], "tree", f"d{d // 10}", f"s{d}")
    os.makedirs(p)
    for f in range(25):
        with open(os.path.join(p, f"f{f}.c"), "wb") as out:
            out.write(r.randbytes(r.randint(1, 64) * 1024))
EOF
		tar -C "$work/gen" -cf "$tarball.tmp" tree
		mv "$tarball.tmp" "$tarball"
		rm -rf "$work/gen"
	fi
fi
echo "fsd bench: untar source: $tree_what ($(tar -tf "$tarball" | wc -l) entries)" >&2

# The shared directory: the read file and the 10,000-entry directory are
# made here, natively, once for every server.
mkdir -m 0755 "$data"
dd if=/dev/zero of="$data/r" bs=1M count="$size" status=none
"$work/meta" mkfiles "$data/dir10k" 10000

# veil-fsd, plain build, knowing the guest by its hybrid-vsock socket.
uds=$work/v
cat >"$work/fsd.conf" <<EOF
vsock = no
port = 564
msize_max = 1M
[vm bench]
uds = $uds
root = $data
access = rw
EOF
# cache=loose keeps a host descriptor per cached dentry: room for them
ulimit -n "$(ulimit -Hn)"
perf_data=
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
	perf_data=$build/bench/fsd-perf-$kver.data
	perf record -g -o "$perf_data" -- "$build/bin/veil-fsd" -c "$work/fsd.conf" 2>"$work/fsd.log" &
else
	"$build/bin/veil-fsd" -c "$work/fsd.conf" 2>"$work/fsd.log" &
fi
pids="$pids $!"
# diod: one per connection, serving the unix connection socat accepted as
# its stdin/stdout (nofork: socat execs it on the socket itself).
socat UNIX-LISTEN:"${uds}_5640",fork \
	EXEC:"/usr/sbin/diod -r 0 -w 1 -n -N -e $data -L $work/diod.log -c /dev/null",nofork \
	2>"$work/socat.log" &
pids="$pids $!"
# virtiofsd, one per device; each serves one QEMU and exits with it.
for c in none auto; do
	"$virtiofsd" --socket-path="$work/vf-$c.sock" -o source="$data" -o cache=$c \
		2>"$work/virtiofsd-$c.log" &
	pids="$pids $!"
done
for s in "${uds}_564" "${uds}_5640" "$work/vf-none.sock" "$work/vf-auto.sock"; do
	i=0
	until [ -S "$s" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "fsd bench: no server on $s" >&2; cat "$work"/*.log >&2; exit 1; }
		sleep 0.1
	done
done

job=$work/job
cat >"$job" <<JOB
RUNTIME=$runtime
SIZE=$size
LOOSE_WRITE=$loose_write
NFILES=$nfiles
MSIZE=$msize
UNTAR_SECS=$untar_secs
ROUNDS=$rounds
PROFILE=${BENCH_PROFILE:-0}
CASES="$cases"
DATA=$data
JOB
cat >>"$job" <<'JOB'
modprobe 9pnet_vsock; modprobe 9pnet_virtio; modprobe virtiofs
now() { cut -d' ' -f1 /proc/uptime; }
# the guest's context switches, interrupts and busy CPU ticks so far
gstat() { awk '/^ctxt/ { c = $2 } /^intr/ { i = $2 } /^cpu / { b = $2 + $3 + $4 + $7 + $8 }
	END { print c, i, b }' /proc/stat; }
# Marks around a profiled phase (the first round, BENCH_PROFILE=1): the
# host snapshots its threads on "VEIL-HOST prof" while the guest sleeps.
prof_on() { [ "$PROFILE" = 1 ] && [ "$round" = 1 ]; }
prof_begin() { # case phase
	prof_on || return 0
	echo "BENCHPROF $1 $2 begin $(gstat)"; echo "VEIL-HOST prof"; sleep 0.5
}
prof_end() { # case phase operations
	local g
	prof_on || return 0
	g=$(gstat); echo "VEIL-HOST prof"; sleep 0.5
	echo "BENCHPROF $1 $2 end $g ops $3"
}
dropc() { sync; echo 3 > /proc/sys/vm/drop_caches; }

fio_row() { # case metric rw engine [jobs]
	local c=$1 depth=1 jobs=${5:-1} extra= out f=/mnt/$1/r sz=${SIZE}M bs=1M
	[ $4 = libaio ] && depth=8
	case $3 in
	write)	extra=--end_fsync=1; f=/mnt/$c/w.$c
		case $c in *_loose) sz=${LOOSE_WRITE}M ;; esac ;;
	read) dropc ;;
	randread) dropc; bs=4k; extra="--time_based --group_reporting" ;;
	esac
	out=$(timeout $((RUNTIME * 4 + 60)) fio --name=b --filename=$f --ioengine=$4 --iodepth=$depth \
		--numjobs=$jobs --bs=$bs --rw=$3 --size=$sz --runtime=$RUNTIME $extra \
		--minimal --terse-version=3 2>/tmp/fio.err) ||
		{ echo "fsd bench: $c $2: fio failed: $(tail -n1 /tmp/fio.err)"; rm -f /mnt/$c/w.$c; return 0; }
	# terse v3: 6 and 47 read and write KiB, 7 and 48 read and write KiB/s
	echo "$out" | awk -F';' -v c="$c" -v m="$2" '{
		bw = (m ~ /read/) ? $7 : $48; printf "BENCHROW %s %s %.1f MB/s\n", c, m, bw*1024/1e6 }'
	echo "$out" | awk -F';' -v b=$bs '{ print int(($6 + $47) / (b == "4k" ? 4 : 1024)) }' >/tmp/fio.ios
	[ $3 = write ] && rm -f $f
	return 0
}

# Every server mounted at once, on /mnt/CASE: each workload then runs on
# one server after the other, so that a burst of load on the shared host
# falls on few figures of one workload rather than on all of one server.
o9=version=9p2000.L,msize=$MSIZE
up=
for c in $CASES; do
	cache=${c#*_}
	case $c in
	fsd_*)	set -- -t 9p -o trans=vsock,port=564,$o9,cache=$cache 2 ;;
	diod_*)	set -- -t 9p -o trans=vsock,port=5640,$o9,cache=$cache,aname=$DATA,uname=root,access=user 2 ;;
	v9p_*)	set -- -t 9p -o trans=virtio,$o9,cache=$cache p9$cache ;;
	vfs_*)	set -- -t virtiofs vf$cache ;;
	*)	echo "fsd bench: unknown case $c"; continue ;;
	esac
	mkdir -p /mnt/$c
	if ! timeout 60 mount "$@" /mnt/$c; then
		echo "fsd bench: $c: mount $* failed"
		continue
	fi
	up="$up $c"
	case $c in
	vfs_*) ;;
	*)	neg=$(awk -v m=/mnt/$c '$2 == m { print $4 }' /proc/mounts | tr , '\n' | sed -n 's/^msize=//p')
		if [ -z "$neg" ]; then	# v9fs shows it when not the default
			case $(uname -r) in 6.1.*) neg=8192 ;; *) neg=131072 ;; esac
		fi
		echo "BENCHROW $c msize $neg bytes" ;;
	esac
done

tmo=$((RUNTIME * 20 + 60))
for round in $(seq $ROUNDS); do
	for c in $up; do fio_row $c seqwrite_psync write psync; done
	for c in $up; do fio_row $c seqread_psync read psync; done
	for c in $up; do fio_row $c seqwrite_libaio write libaio; done
	for c in $up; do fio_row $c seqread_libaio read libaio; done
	for c in $up; do
		rm -f /tmp/fio.ios
		prof_begin $c randread4
		fio_row $c randread4 randread psync 4
		prof_end $c randread4 "$(cat /tmp/fio.ios 2>/dev/null || echo 0)"
	done
	for c in $up; do
		prof_begin $c smallfile
		timeout $tmo veil-bench-meta smallfile /mnt/$c/small.$c $NFILES $RUNTIME >/tmp/small
		n=$(sed -n 's/^smallfile_files \([0-9]*\) .*/\1/p' /tmp/small)
		prof_end $c smallfile $((3 * ${n:-0}))
		grep -v '^smallfile_files ' /tmp/small | sed "s/^/BENCHROW $c /"
		if prof_on && [ -x /usr/bin/perf ]; then	# once more, sampled
			echo 0 >/proc/sys/kernel/kptr_restrict
			echo -1 >/proc/sys/kernel/perf_event_paranoid
			/usr/bin/perf record -q -a -g -e cpu-clock -F 997 -o /tmp/perf.$c -- \
				veil-bench-meta smallfile /mnt/$c/smallp.$c $NFILES $RUNTIME >/dev/null 2>&1
			# by thread only: a TCG guest takes the sampling timer's
			# interrupt where interrupts are enabled again, so the
			# samples' functions say little
			/usr/bin/perf report -i /tmp/perf.$c --stdio --no-children --sort comm \
				-g none 2>/dev/null | grep '%' | sed "s/^/BENCHPERF $c /"
			rm -f /tmp/perf.$c
		fi
	done
	for c in $up; do
		timeout $tmo veil-bench-meta readdir /mnt/$c/dir10k 3 | sed "s/^/BENCHROW $c /"
	done
	for c in $up; do
		t=/mnt/$c/t.$c
		mkdir $t
		s=$(now)
		timeout $UNTAR_SECS tar -xf /bench.tar -C $t || echo "fsd bench: $c: untar stopped after ${UNTAR_SECS}s"
		sync
		echo "$s $(now)" >/tmp/untar.$c
	done
	dropc
	for c in $up; do
		timeout $tmo veil-bench-meta walk /mnt/$c/t.$c >/tmp/walk
		sed "s/^/BENCHROW $c /" /tmp/walk
		n=$(sed -n 's/^walk_entries \([0-9]*\).*/\1/p' /tmp/walk)
		[ -n "$n" ] && awk -v n=$n -v c=$c '{ d = $2 - $1; if (d <= 0) d = 0.01
			printf "BENCHROW %s untar %.1f entries/s\n", c, n / d }' /tmp/untar.$c
	done
	for c in $up; do timeout 300 rm -rf /mnt/$c/t.$c; done
done
for c in $up; do umount /mnt/$c; done
exit 0
JOB

ncases=$(echo $cases | wc -w)
qa=()
for c in none loose; do	# a virtio-9p device serves one mount at a time
	qa+=(--qemu-arg=-fsdev --qemu-arg="local,id=p9$c,path=$data,security_model=passthrough"
		--qemu-arg=-device --qemu-arg="virtio-9p-pci,fsdev=p9$c,mount_tag=p9$c")
done
for c in none auto; do
	qa+=(--qemu-arg=-chardev --qemu-arg="socket,id=vf$c,path=$work/vf-$c.sock"
		--qemu-arg=-device --qemu-arg="vhost-user-fs-pci,chardev=vf$c,tag=vf$c")
done
perf_bin=()	# the guest's own perf for BENCH_PROFILE
[ "${BENCH_PROFILE:-0}" != 1 ] || [ ! -x /usr/bin/perf ] || perf_bin=(--bin /usr/bin/perf)
log=$build/vm/logs/bench-fsd-$kver.log
rc=0
VEILVM_VSOCKD=$build/bin/vhost-user-vsock python3 "$here/../vm/veilvm.py" boot --kver "$kver" \
	--name bench-fsd --log "$log" --stream none --mem 2048 --smp 2 \
	--timeout $((rounds * ncases * (40 * runtime + 2 * untar_secs + 120) + 300)) \
	--vsock "3:$uds" "${qa[@]}" --qemu-arg=-name --qemu-arg=bench-fsd,debug-threads=on \
	--hook "prof=python3 $here/fsd_prof.py snap $work/prof $work $share" \
	--module virtiofs --module 9pnet_virtio \
	--bin /usr/bin/fio "${perf_bin[@]}" --file "$work/meta=/usr/bin/veil-bench-meta" --file "$tarball=/bench.tar" \
	--job "$job" || rc=$?
[ $rc = 0 ] || echo "fsd bench: guest failed (exit $rc, see $log)" >&2
if grep -q '^BENCHPERF ' "$log"; then
	grep -h '^BENCHPERF ' "$log" | cut -d' ' -f2- >"$build/bench/fsd-guest-perf-$kver.txt"
	echo "fsd bench: the guest's CPU by thread in $build/bench/fsd-guest-perf-$kver.txt" >&2
fi
if [ -n "$perf_data" ]; then
	kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	pids=
	perf report -i "$perf_data" --no-children --percent-limit 1 --stdio \
		>"$build/bench/fsd-perf-$kver.txt" 2>/dev/null || true
	echo "fsd bench: veil-fsd profile in $build/bench/fsd-perf-$kver.txt" >&2
fi
grep -h '^fsd bench: ' "$log" >&2 || true
{
	grep -h '^BENCHROW ' "$log" | cut -d' ' -f2-
	[ ! -s "$work/prof" ] || grep -h '^BENCHPROF ' "$log" | python3 "$here/fsd_prof.py" report "$work/prof"
} | USER_CASE=$user_case python3 -c '
import os, sys
import statistics
rows = [l.split() for l in sys.stdin if len(l.split()) == 4]
# with BENCH_ROUNDS > 1, the median of the rounds
vals, units = {}, {}
for c, m, v, u in rows:
    vals.setdefault((c, m), []).append(float(v))
    units[(c, m)] = u
fig = {k: statistics.median(v) for k, v in vals.items()}
for c in dict.fromkeys(c for c, m, v, u in rows):
    for (c2, m), v in fig.items():
        if c2 == c:
            print(c, m, f"{v:.1f}", units[(c, m)])
user = os.environ["USER_CASE"]
thru = ("seqwrite_psync", "seqread_psync", "seqwrite_libaio", "seqread_libaio", "randread4")
meta = ("create", "stat", "unlink", "smallfile", "readdir_10k", "untar", "walk")
def ratio(a, b, metrics):
    for m in metrics:
        if fig.get((a, m)) and fig.get((b, m)):
            print(f"ratio_{a}/{b} {m} {fig[(a, m)] / fig[(b, m)]:.2f} x")
# veil-fsd / virtio-9p, same msize and cache mode (throughput target >= 1.0)
for k in ("none", "loose"):
    ratio("fsd_" + k, "v9p_" + k, thru + meta)
# the user mount / virtio-9p cache=none on small files (target >= 2.0)
ratio(user, "v9p_none", meta)
# veil-fsd / virtiofsd on every line (small files at cache=none: aim >= 1.0)
for a in ("fsd_none", user):
    for b in ("vfs_none", "vfs_auto"):
        ratio(a, b, thru + meta)
# veil-fsd / diod behind the same vsock back end
ratio("fsd_none", "diod_none", thru + meta)
' | python3 "$here/report.py" fsd "$kver"
exit $rc
