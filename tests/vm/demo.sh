#!/bin/bash
# demo.sh --kver KVER: boot a guest with the veil modules and show, step by
# step, what a host sees: the modules load, the "veil" generic netlink family
# is registered and answers, the device-mapper target "veil" is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kver=
while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=$2; shift 2 ;;
	*) echo "usage: demo.sh --kver KVER" >&2; exit 2 ;;
	esac
done
job=$(mktemp)
trap 'rm -f "$job"' EXIT
cat >"$job" <<'JOB'
set -e
step() { echo; echo "==> $*"; }
step "kernel $(uname -r), loading the veil modules"
modprobe veil
if [ -e /lib/modules/$(uname -r)/extra/dm-veil.ko ]; then modprobe dm-veil; fi
lsmod | grep -E '^(veil|dm_veil) ' || true
step "the veil generic netlink family answers GET_INFO"
veil-keyd-stub info
step "device-mapper targets"
dmsetup targets
step "unloading"
rmmod dm_veil 2>/dev/null || true
rmmod veil
echo "demo done"
JOB
exec python3 "$here/veilvm.py" boot --kver "$kver" --name demo --timeout 300 --job "$job"
