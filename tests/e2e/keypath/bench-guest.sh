#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of bench.sh: time for N dm-veil devices to unlock at once
# (N = 1, 16, 256), next to the key manager's own lookup latency measured
# in the same run.  Prints "BENCH key=value ..." lines for the host.
. /etc/veil/ids.env
export DM_DISABLE_UDEV=1
DATA=4096			# 4 MiB LU minus the two metadata areas
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }

modprobe veil
modprobe dm-veil
modprobe brd rd_nr=256 rd_size=4096
modprobe -a xts ecb cbc 2>/dev/null
i=0
while [ $i -lt 256 ]; do
	veil-mdtool format /dev/ram$i --force --key-id "$K1" >/dev/null || echo "# format ram$i failed"
	i=$((i + 1))
done

# the key manager's latency, sequential, on one persistent connection
veil-kmip -c /etc/veil/b.conf check "$K1" >/dev/null
t0=$(now_ms)
veil-kmip -c /etc/veil/b.conf check --repeat 20 "$K1" >/dev/null
t1=$(now_ms)
echo "BENCH what=lookup n=20 ms=$((t1 - t0))"

for n in 1 16 256; do
	i=0
	while [ $i -lt $n ]; do
		echo "0 $DATA veil /dev/ram$i" | dmsetup create b$i
		i=$((i + 1))
	done
	t0=$(now_ms)
	veild -c /etc/veil/b.conf >/tmp/veild-bench.log 2>&1 &
	vp=$!
	while [ "$(dmsetup status | grep -c ' veil encrypted ')" -lt $n ]; do
		usleep 20000
		[ $(($(now_ms) - t0)) -gt 300000 ] && break
	done
	t1=$(now_ms)
	echo "BENCH what=unlock n=$n ms=$((t1 - t0)) unlocked=$(dmsetup status | grep -c ' veil encrypted ')"
	kill $vp
	wait $vp
	i=0
	while [ $i -lt $n ]; do
		dmsetup remove b$i
		i=$((i + 1))
	done
done
