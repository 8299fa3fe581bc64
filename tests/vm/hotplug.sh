#!/bin/bash
# hotplug.sh MONITOR_SOCKET IMAGE ID [ro]: hot-plug IMAGE into a running
# guest as a virtio-blk PCI device through the QEMU (HMP) monitor, the way an
# array presents a new LUN.  `hotplug.sh SOCK - ID` unplugs device ID.
set -eu
sock=$1 img=$2 id=$3 ro=${4:-}
# One HMP command: wait for the prompt, send, print what QEMU answers before
# its next prompt (bounded at 60 s, so a loaded machine is not a failure).
hmp() {
	/usr/bin/python3 - "$sock" "$1" <<'PY' | tr -d '\r' | grep -v -e '^QEMU .* monitor' -e '^ *$' || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
def upto_prompt():
    buf, end = b"", time.monotonic() + 60
    while not buf.endswith(b"(qemu) ") and time.monotonic() < end:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode(errors="replace")
upto_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
out = upto_prompt()
# QEMU echoes the command line first; drop it and the closing prompt
lines = out.replace("\x1b[K", "").split("\n")
print("\n".join(l for l in lines[1:] if not l.startswith("(qemu)")))
PY
}
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
