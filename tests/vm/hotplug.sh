#!/bin/bash
# hotplug.sh MONITOR_SOCKET IMAGE ID [ro]: hot-plug IMAGE into a running
# guest as a virtio-blk PCI device through the QEMU (HMP) monitor, the way an
# array presents a new LUN.  `hotplug.sh SOCK - ID` unplugs device ID.
set -eu
sock=$1 img=$2 id=$3 ro=${4:-}
hmp() { printf '%s\n' "$1" | socat -t 2 - "UNIX-CONNECT:$sock" | tr -d '\r' | grep -v -e '^(qemu)' -e '^QEMU .* monitor' || true; }
if [ "$img" = - ]; then
	hmp "device_del $id"
	exit 0
fi
ropt=; [ "$ro" = ro ] && ropt=",readonly=on"
out=$(hmp "drive_add 0 if=none,id=drv-$id,file=$img,format=raw,cache=unsafe$ropt")
case "$out" in *OK*) ;; *) echo "hotplug: drive_add failed: $out" >&2; exit 1 ;; esac
out=$(hmp "device_add virtio-blk-pci,drive=drv-$id,id=$id,serial=$id")
if [ -n "$(printf '%s' "$out" | tr -d '[:space:]')" ]; then
	echo "hotplug: device_add failed: $out" >&2; exit 1
fi
