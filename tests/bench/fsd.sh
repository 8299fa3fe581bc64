#!/bin/bash
# fsd.sh KVER: the vsock filesystem (veil-fsd behind 9pnet_vsock) against
# diod behind the same transport and against QEMU's own virtio-9p.
#
# One guest.  veil-fsd and diod run inside it on tmpfs and the guest mounts
# them over vsock loopback (CID 1); veil-fsd also over trans=unix (its
# hybrid-vsock socket) for reference; diod listens on TCP and socat carries
# vsock to it.  virtio-9p serves a host directory on /dev/shm.  For each
# case (server, transport, msize, cache mode):
#   fio, one job, 1 MiB blocks, one pass over BENCH_SIZE MiB capped at
#   BENCH_RUNTIME s (with cache=loose, writes are of BENCH_LOOSE_WRITE MiB
#   and include the final fsync): sequential write and read, psync and
#   libaio (iodepth 8); small files: create (for at most BENCH_RUNTIME s),
#   stat and unlink of up to BENCH_FILES files, and the three together
#   (ops/s); readdir of a directory of 10,000 entries (entries/s).
#   msize 512000 (virtio-9p's largest on 6.1) and 8192, each cache=none,
#   512000 also cache=loose; and 65536 (diod's largest) for veil-fsd and
#   diod alone.
# Then the ratios the vsock filesystem is aimed at: veil-fsd / virtio-9p at
# the same msize and cache mode, veil-fsd / diod, and the small-file
# workload of veil-fsd / virtio-9p cache=none.  Figures only: nothing here
# passes or fails.
#
# Read with care: the guest is emulated (TCG), and veil-fsd and diod run as
# emulated guest code while QEMU's virtio-9p server runs natively on the
# host, so the virtio-9p ratios charge veil-fsd for its server's CPU and
# virtio-9p for none of its own.
#
# The runner has no option for extra QEMU arguments: virtio-9p is added by a
# qemu-system-x86_64 wrapper placed first in PATH for this run only.
set -euo pipefail
kver=$1
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$(cd "$here/../.." && pwd)/build}
runtime=${BENCH_RUNTIME:-8}
size=${BENCH_SIZE:-256}
nfiles=${BENCH_FILES:-1000}
msizes=${BENCH_MSIZES:-"512000 8192"}
loose_write=${BENCH_LOOSE_WRITE:-16}

tmp=$(mktemp -d)
share=$(mktemp -d /dev/shm/veil-bench-9p.XXXXXX)
trap 'rm -rf "$tmp" "$share"' EXIT

# The small-file and readdir workloads: one C program, built for this run.
cat >"$tmp/meta.c" <<'EOF'
#include <dirent.h>
#include <fcntl.h>
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

/* create (for at most secs seconds), stat and unlink up to n files in a
 * new directory under dir */
static int smallfile(const char *dir, int n, double secs)
{
	double t0, t1, t2, t3;
	struct stat st;
	char p[32];
	int i, fd;

	if (chdir(dir) || mkdir("small", 0755) || chdir("small"))
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
	if (chdir("..") || rmdir("small"))
		die("rmdir", dir);
	printf("create %.1f ops/s\n", n / (t1 - t0));
	printf("stat %.1f ops/s\n", n / (t2 - t1));
	printf("unlink %.1f ops/s\n", n / (t3 - t2));
	printf("smallfile %.1f ops/s\n", 3.0 * n / (t3 - t0));
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

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "mkfiles"))
		return mkfiles(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "smallfile"))
		return smallfile(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "readdir"))
		return readdir_rate(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: meta mkfiles|readdir DIR N, meta smallfile DIR N SECS\n");
	return 2;
}
EOF
cc -O2 -Wall -Wextra -Werror -o "$tmp/meta" "$tmp/meta.c"

# virtio-9p's directory on the host: the read file and the 10k directory,
# as the guest makes them for its own servers.
dd if=/dev/zero of="$share/r" bs=1M count="$size" status=none
"$tmp/meta" mkfiles "$share/dir10k" 10000
real_qemu=$(command -v qemu-system-x86_64)
mkdir "$tmp/wrap"
cat >"$tmp/wrap/qemu-system-x86_64" <<EOF
#!/bin/sh
echo "# fsd bench: adding -virtfs local,path=$share,mount_tag=bench9p" >&2
exec $real_qemu "\$@" -virtfs local,path=$share,mount_tag=bench9p,security_model=none,id=bench9p
EOF
chmod +x "$tmp/wrap/qemu-system-x86_64"

job=$tmp/job
cat >"$job" <<JOB
RUNTIME=$runtime
SIZE=$size
NFILES=$nfiles
LOOSE_WRITE=$loose_write
MSIZES="$msizes"
JOB
cat >>"$job" <<'JOB'
modprobe 9p; modprobe 9pnet_fd; modprobe 9pnet_virtio
have_vsock=0
modprobe vsock_loopback 2>/dev/null && modprobe 9pnet_vsock 2>/dev/null && have_vsock=1
[ -f /etc/hosts ] || echo '127.0.0.1 localhost' > /etc/hosts	# diod resolves its peer
mkdir -p /bench /run/bench /mnt/b
mount -t tmpfs -o size=$((3 * SIZE + 300))m tmpfs /bench	# two read files, one written
chmod 0700 /bench	# veil-fsd serves a root only from under a directory closed to others
for s in fsd diod; do
	mkdir /bench/$s
	dd if=/dev/zero of=/bench/$s/r bs=1M count=$SIZE 2>/dev/null
	veil-bench-meta mkfiles /bench/$s/dir10k 10000
done
cat > /run/bench/fsd.conf <<EOF
vsock = yes
port = 564
msize_max = 1M
loopback_cid = yes	# the guest is its own peer over vsock loopback
[vm bench]
cid = 1
uds = /run/bench/vm.sock
root = /bench/fsd
access = rw
EOF
# The guest's default RLIMIT_NOFILE (1024) equals veil-fsd's default
# per-VM budget, and with cache=loose the server then runs into EMFILE
# (tests/kselftest/fsd-scale shows it): give it room so the figures exist.
( ulimit -n 4096; exec veil-fsd -c /run/bench/fsd.conf 2>/run/bench/fsd.log ) &
fsd=$!
diod -f -n -N -e /bench/diod -l 127.0.0.1:5640 -L /run/bench/diod.log -c /dev/null &
diod=$!
socat VSOCK-LISTEN:5641,fork,reuseaddr TCP:127.0.0.1:5640 2>/run/bench/socat.log &
socat=$!
i=0; until [ -S /run/bench/vm.sock_564 ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
sleep 1
tag9p=$(cat /sys/bus/virtio/devices/*/mount_tag 2>/dev/null | tr -d '\0' | head -n1)

fio_row() { # metric rw engine
	local depth=1 extra= out
	[ $3 = libaio ] && depth=8
	case $2 in
	write)	# cache=loose writes back a page per request on 6.1 (and the
		# flush is part of the figure): a smaller file keeps it short
		extra=--end_fsync=1; f=/mnt/b/w; sz=${SIZE}M
		[ $CACHE = loose ] && sz=${LOOSE_WRITE}M ;;
	read) f=/mnt/b/r; sz=${SIZE}M; sync; echo 3 > /proc/sys/vm/drop_caches ;;
	esac
	out=$(fio --name=b --filename=$f --ioengine=$3 --iodepth=$depth --bs=1M --rw=$2 \
		--size=$sz --runtime=$RUNTIME $extra --minimal --terse-version=3 2>/tmp/fio.err) ||
		{ echo "fsd bench: $CASE $1: fio failed: $(tail -n1 /tmp/fio.err)"; rm -f /mnt/b/w; return 0; }
	# terse v3: 7 read bw KiB/s, 48 write bw KiB/s
	echo "$out" | awk -F';' -v c="$CASE" -v m="$1" '{
		bw = (m ~ /read/) ? $7 : $48; printf "BENCHROW %s %s %.1f MB/s\n", c, m, bw*1024/1e6 }'
	[ $2 = write ] && rm -f $f
	return 0
}

run_case() { # case mount-source mount-options msize
	CASE=$1
	if ! mount -t 9p -o "$3" "$2" /mnt/b; then
		echo "fsd bench: $CASE: mount $2 -o $3 failed"
		return 0
	fi
	# the msize the server agreed to (v9fs shows it when not the default)
	neg=$(awk '$2 == "/mnt/b" { print $4 }' /proc/mounts | tr , '\n' | sed -n 's/^msize=//p')
	if [ -z "$neg" ]; then
		case $(uname -r) in 6.1.*) neg=8192 ;; *) neg=131072 ;; esac
	fi
	echo "BENCHROW $CASE msize $neg bytes"
	fio_row seqwrite_psync write psync
	fio_row seqread_psync read psync
	fio_row seqwrite_libaio write libaio
	fio_row seqread_libaio read libaio
	rm -rf /mnt/b/small
	veil-bench-meta smallfile /mnt/b $NFILES $RUNTIME | sed "s/^/BENCHROW $CASE /"
	veil-bench-meta readdir /mnt/b/dir10k 3 | sed "s/^/BENCHROW $CASE /"
	umount /mnt/b
}

for m in $MSIZES 65536; do
	caches=none
	[ $m = 512000 ] && caches="none loose"
	for c in $caches; do
		o=version=9p2000.L,msize=$m,cache=$c
		CACHE=$c
		k=${m}_$c
		if [ $have_vsock = 1 ]; then
			run_case fsd_vsock_$k 1 trans=vsock,port=564,$o
			run_case diod_vsock_$k 1 trans=vsock,port=5641,$o,aname=/bench/diod,uname=root,access=user
		else
			echo "fsd bench: 9pnet_vsock.ko not available: vsock cases skipped"
		fi
		# the 64 KiB pass only puts veil-fsd and diod at diod's own msize
		[ $m = 65536 ] && continue
		run_case fsd_unix_$k /run/bench/vm.sock_564 trans=unix,$o
		if [ -n "$tag9p" ]; then
			run_case virtio9p_$k "$tag9p" trans=virtio,$o
		else
			echo "fsd bench: no virtio-9p device: virtio9p cases skipped"
		fi
	done
done
if grep -q 'Too many open files' /run/bench/fsd.log; then echo "fsd bench: veil-fsd logged EMFILE"; fi
kill $socat $diod $fsd 2>/dev/null
wait 2>/dev/null
exit 0
JOB
PATH="$tmp/wrap:$PATH" python3 "$here/../vm/veilvm.py" boot --kver "$kver" --name bench-fsd --stream none \
	--mem 2048 --timeout 3600 --bin /usr/bin/fio --bin /usr/sbin/diod --bin /usr/bin/socat \
	--file "$tmp/meta=/usr/bin/veil-bench-meta" --job "$job" ||
	{ echo "fsd bench: guest failed (see $build/vm/logs/bench-fsd-$kver.log)" >&2; exit 1; }
log=$build/vm/logs/bench-fsd-$kver.log
grep -h '^fsd bench: ' "$log" >&2 || true
grep -h '^BENCHROW ' "$log" | cut -d' ' -f2- | python3 -c '
import sys
rows = [l.split() for l in sys.stdin if len(l.split()) == 4]
fig = {(c, m): float(v) for c, m, v, u in rows}
for r in rows:
    print(" ".join(r))
cases = sorted({c for c, m, v, u in rows})
thru = ("seqwrite_psync", "seqread_psync", "seqwrite_libaio", "seqread_libaio")
meta = ("smallfile", "readdir_10k")
def ratio(name, a, b, metrics):
    for m in metrics:
        if fig.get((a, m)) and fig.get((b, m)):
            print(f"{name} {m} {fig[(a, m)] / fig[(b, m)]:.2f} x")
for c in cases:
    if not c.startswith("fsd_vsock_"):
        continue
    k = c[len("fsd_vsock_"):]
    # throughput: veil-fsd / virtio-9p at the same msize and cache (target >= 1.0)
    ratio(f"ratio_fsd_vs_virtio9p_{k}", c, "virtio9p_" + k, thru)
    # throughput: veil-fsd / diod behind the same transport (target >= 1.0)
    ratio(f"ratio_fsd_vs_diod_{k}", c, "diod_vsock_" + k, thru + meta)
    # small files: veil-fsd / virtio-9p cache=none (target >= 2.0)
    if k.endswith("_none"):
        ratio(f"ratio_fsd_vs_virtio9p_{k}", c, "virtio9p_" + k, meta)
' | python3 "$here/report.py" fsd "$kver"
