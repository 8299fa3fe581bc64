#!/bin/bash
# boot.sh KVER [RUNS]: how long a guest takes to boot and to load veil.ko,
# the fixed cost every QEMU test pays.  Figures only; nothing is asserted.
set -euo pipefail
kver=$1 runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
for i in $(seq "$runs"); do
	out=$(python3 "$here/../vm/veilvm.py" boot --kver "$kver" --stream none --name bench-boot \
		--timeout 120 --cmd 'a=$(cut -d" " -f1 /proc/uptime); modprobe veil; b=$(cut -d" " -f1 /proc/uptime); echo "BENCH modprobe $a $b"' 2>&1)
	boot=$(sed -nE 's/.*boot ([0-9.]+)s, modules loaded ([0-9.]+)s, total ([0-9.]+)s.*/\1/p' <<<"$out")
	total=$(sed -nE 's/.*boot ([0-9.]+)s, modules loaded ([0-9.]+)s, total ([0-9.]+)s.*/\3/p' <<<"$out")
	mp=$(grep -h '^BENCH modprobe' "${BUILD:-$here/../../build}/vm/logs/bench-boot-$kver.log" | awk '{printf "%.3f", $4-$3}')
	echo "run$i boot_to_init $boot s"
	echo "run$i modprobe_veil $mp s"
	echo "run$i guest_total $total s"
done | python3 "$here/report.py" boot "$kver"
