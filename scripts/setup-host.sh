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

# Kernel series we build and test against: the header metapackages pick the
# newest ABI of each series; the guest images follow the installed headers.
KMETA_HEADERS="linux-headers-amd64 linux-headers-6.12-amd64"

PKGS="build-essential make gcc clang llvm lld libclang-rt-14-dev pkg-config
 qemu-system-x86 qemu-utils busybox-static cpio xz-utils zstd kmod
 libnl-3-dev libnl-genl-3-dev libssl-dev libdevmapper-dev libkmod-dev
 python3 python3-pykmip openssl socat diod fio dmsetup cryptsetup-bin
 linux-source-6.1 e2fsprogs udev rsync libseccomp-dev systemd ifupdown
 debootstrap initramfs-tools python3-cryptography"

updated=
apt_update_once() {
	[ -n "$updated" ] && return 0
	apt-get update -q
	updated=1
}

need=""
for p in $PKGS $KMETA_HEADERS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
		|| need="$need $p"
done

if [ -n "$need" ]; then
	echo "setup: installing:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt_update_once
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $need
fi

# The guest kernels are exactly the releases whose headers are installed
# (newest of each series), so modules built here always match the guest.
mkdir -p "$kdir"
for series in 6.1 6.12; do
	hdr=$(ls -d /usr/src/linux-headers-"$series".*-amd64 2>/dev/null | sort -V | tail -n1)
	[ -n "$hdr" ] || { echo "setup: no linux-headers for $series" >&2; exit 1; }
	kver=${hdr#/usr/src/linux-headers-}
	[ -f "$kdir/$kver/.unpacked" ] && continue
	echo "setup: unpacking guest kernel $kver"
	tmp=$(mktemp -d)
	for pkg in "linux-image-$kver" "linux-image-$kver-unsigned"; do
		if (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then break; fi
		apt_update_once >/dev/null
		if (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then break; fi
	done
	ls "$tmp"/*.deb >/dev/null 2>&1 || { echo "setup: cannot download linux-image-$kver" >&2; exit 1; }
	rm -rf "${kdir:?}/$kver"
	mkdir -p "$kdir/$kver"
	dpkg-deb -x "$tmp"/*.deb "$kdir/$kver"
	rm -rf "$tmp"
	[ -f "$kdir/$kver/boot/vmlinuz-$kver" ] || { echo "setup: no vmlinuz for $kver" >&2; exit 1; }
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
