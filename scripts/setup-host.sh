#!/bin/sh
# Install everything a fresh Debian 12 machine needs to build veil and run its
# QEMU test suites.  Idempotent: a second run only checks and returns.
#
#   scripts/setup-host.sh            install packages + unpack guest kernels
#
# Guest kernels are unpacked with dpkg-deb -x into $VEIL_CACHE (default
# build/cache/kernels) rather than installed: that skips the slow initramfs and
# bootloader triggers and never touches the host's own /boot.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${VEIL_CACHE:-$top/build/cache}
kdir=$cache/kernels

# Kernel series we build and test against.  The metapackages pick the newest
# ABI of each series, so the same script keeps working across point releases.
KMETA_IMAGES="linux-image-amd64 linux-image-6.12-amd64"
KMETA_HEADERS="linux-headers-amd64 linux-headers-6.12-amd64"

PKGS="build-essential make gcc clang llvm lld libclang-rt-14-dev pkg-config
 qemu-system-x86 qemu-utils busybox-static cpio xz-utils zstd kmod
 libnl-3-dev libnl-genl-3-dev libssl-dev libdevmapper-dev libkmod-dev
 python3 python3-pykmip openssl socat diod fio dmsetup cryptsetup-bin
 linux-source-6.1 e2fsprogs udev rsync"

need=""
for p in $PKGS $KMETA_HEADERS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
		|| need="$need $p"
done

if [ -n "$need" ]; then
	echo "setup: installing:$need"
	export DEBIAN_FRONTEND=noninteractive
	if [ ! -f /var/lib/apt/lists/lock ] || \
	   [ -z "$(find /var/lib/apt/lists -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
		apt-get update -q
	fi
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need
fi

# Unpack the guest kernels (vmlinuz + modules) once per ABI version.
mkdir -p "$kdir"
for meta in $KMETA_IMAGES; do
	pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
	[ -n "$pkg" ] || { echo "setup: cannot resolve $meta" >&2; exit 1; }
	kver=${pkg#linux-image-}
	if [ -f "$kdir/$kver/.unpacked" ]; then
		continue
	fi
	echo "setup: unpacking guest kernel $kver"
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null)
	rm -rf "$kdir/$kver"
	mkdir -p "$kdir/$kver"
	dpkg-deb -x "$tmp"/*.deb "$kdir/$kver"
	rm -rf "$tmp"
	[ -f "$kdir/$kver/boot/vmlinuz-$kver" ] || { echo "setup: no vmlinuz in $pkg" >&2; exit 1; }
	touch "$kdir/$kver/.unpacked"
done

# The kselftest harness header comes from the 6.1 source tarball.
src=$(ls -d /usr/src/linux-source-6.1*.tar.* 2>/dev/null | head -n1 || true)
harness=$cache/kselftest/kselftest_harness.h
if [ ! -f "$harness" ] && [ -n "$src" ]; then
	echo "setup: extracting kselftest harness from $src"
	mkdir -p "$cache/kselftest"
	tmp=$(mktemp -d)
	tar -C "$tmp" -xf "$src" --wildcards \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/kselftest.h' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	cp "$tmp"/*/tools/testing/selftests/kselftest_harness.h \
	   "$tmp"/*/tools/testing/selftests/kselftest.h "$cache/kselftest/"
	mkdir -p "$cache/checkpatch"
	cp "$tmp"/*/scripts/checkpatch.pl "$tmp"/*/scripts/spelling.txt \
	   "$tmp"/*/scripts/const_structs.checkpatch "$cache/checkpatch/"
	rm -rf "$tmp"
fi
echo "setup: ok (kernels: $(ls "$kdir" | tr '\n' ' '))"
