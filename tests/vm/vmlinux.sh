#!/bin/bash
# vmlinux.sh KVER: print the path of the uncompressed ELF kernel for KVER,
# unpacking it from the cached vmlinuz once.  QEMU boots the ELF through its
# PVH entry point, which skips the bzImage real-mode setup and decompression
# (about half of a TCG boot).
set -euo pipefail
kver=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VEIL_CACHE:-$top/build/cache}
kroot=$cache/kernels/$kver
vmlinuz=$kroot/boot/vmlinuz-$kver
out=$kroot/vmlinux
[ -f "$vmlinuz" ] || { echo "vmlinux.sh: no kernel $kver in $cache/kernels (run scripts/setup-host.sh)" >&2; exit 1; }
if [ -s "$out" ] && [ "$out" -nt "$vmlinuz" ]; then echo "$out"; exit 0; fi

is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; }
# Runners started together may all unpack it: each through a file of its
# own, renamed in place, so none reads another's half-written copy.
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
try() { # magic(grep -P) decompressor
	local pos
	for pos in $(LC_ALL=C grep -obUaP "$1" "$vmlinuz" | cut -d: -f1 | head -n 4); do
		tail -c +$((pos + 1)) "$vmlinuz" | $2 > "$tmp" 2>/dev/null || true
		if [ -s "$tmp" ] && is_elf "$tmp"; then chmod 644 "$tmp"; mv -f "$tmp" "$out"; return 0; fi
	done
	return 1
}
try '\xFD7zXZ\x00' 'xz -dc --single-stream' || try '\x28\xB5\x2F\xFD' 'zstd -dcq' ||
	try '\x1F\x8B\x08' 'gzip -dc' || {
	echo "vmlinux.sh: cannot find a compressed ELF inside $vmlinuz" >&2; exit 1; }
echo "$out"
