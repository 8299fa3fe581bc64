#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/rootfs/run.sh KVER OUT.tap: a Debian 12 root file system on a
# veil device, booted through initramfs-tools with veil's hook.
#
# Host: a Debian 12 tree (debootstrap from Debian's archive, cached under
# build/cache/rootfs), veil installed into it with `make install
# DESTDIR=`, /etc/veil/veiltab naming the root LU x-initrd.attach, the
# initramfs made inside it by mkinitramfs; the tree becomes an ext4 image
# (mke2fs -d), written encrypted into an eVLU image (mkevlu.py) under a
# key registered on pykmip-server.  Then two boots of the same image with
# the same kernel, the initramfs of an authorised host and of an intruder
# (another client certificate):
#   - authorised: the initramfs attaches the LU, veild fetches its key
#     over the guest's network (guestfwd to the host's key manager), the
#     root is mounted from /dev/mapper/root, systemd reaches multi-user,
#     the real root's attach unit finds the mapping already attached; a
#     second eVLU (not in veiltab), presented on two SCSI paths with one
#     WWN, is made one map by multipath-tools, attached by udev on that
#     map (never on a path) under its label, unlocked by the real root's
#     veild and mounted _netdev through its /dev/disk/by-veil-label link;
#     the key manager saw one Get per LU;
#   - intruder: the boot stops in the initramfs with the reason.
# About three minutes per kernel under TCG; in make check, and alone as
# `make rootfs-check`.  The first run makes the Debian tree (debootstrap).
set -u
kver=${1:?usage: run.sh KVER OUT.tap}
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$top/tests/e2e/rootfs
build=${BUILD:-$top/build}
cache=${VEIL_CACHE:-$build/cache}
py=/usr/bin/python3
work=$(mktemp -d /var/tmp/veil-e2e-rootfs.XXXXXX)
root=$work/root
pass=0 fail=0

finish() {
	$py "$top/tests/e2e/keypath/kmsctl.py" stop "$work" 2>/dev/null
	umount "$root/proc" "$root/sys" "$root/dev" 2>/dev/null
	printf '# e2e rootfs %s\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n' \
		"$kver" "$pass" "$fail" >"$out"
	echo "e2e rootfs $kver: $pass passed, $fail failed"
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap finish EXIT
ok() { # status description
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - $2"
	else fail=$((fail + 1)); echo "not ok - $2"; fi
}
die() { ok 1 "$1"; exit 1; }

# ---------------------------------------------- a Debian 12 tree, cached ---
# the name changes with the package list, so an old tree is not reused
base=$cache/rootfs/bookworm-mp
if [ ! -e "$base/.complete" ]; then
	mkdir -p "$cache/rootfs"
	(
		flock 9
		if [ ! -e "$base/.complete" ]; then
			rm -rf "$base.tmp"
			echo "# debootstrap of Debian 12 into $base (once)"
			debootstrap --variant=minbase \
				--include=systemd-sysv,udev,kmod,initramfs-tools,busybox,dmsetup,libssl3,libnl-genl-3-200,libnl-3-200,libseccomp2,e2fsprogs,iproute2,multipath-tools \
				bookworm "$base.tmp" http://deb.debian.org/debian >"$cache/rootfs/debootstrap.log" 2>&1 &&
				touch "$base.tmp/.complete" && mv "$base.tmp" "$base"
		fi
	) 9>"$cache/rootfs/.lock"
fi
[ -e "$base/.complete" ] || die "debootstrap (see $cache/rootfs/debootstrap.log)"

# --------------------------------------------------- veil in the tree ---
cp -a "$base" "$root" && rm -f "$root/.complete"
kmods=$cache/kernels/$kver/lib/modules/$kver
mkdir -p "$root/lib/modules"
rsync -a --exclude=kernel/drivers/gpu --exclude=kernel/drivers/media \
	--exclude=kernel/drivers/net/wireless --exclude=kernel/drivers/infiniband \
	--exclude=kernel/drivers/staging --exclude=kernel/sound "$kmods" "$root/lib/modules/" ||
	die "kernel modules of $kver copied"
make -s -C "$top" install DESTDIR="$root" KVER="$kver" >"$work/install.log" 2>&1 ||
	die "make install DESTDIR= (see $work/install.log)"
depmod -b "$root" "$kver" || die "depmod"
# mkinitramfs reads the kernel's configuration (supported compressors)
cp "$cache/kernels/$kver/boot/config-$kver" "$root/boot/" || die "kernel configuration"

"$top/tests/e2e/kmip/certs.sh" "$work/certs" >/dev/null 2>&1 || die "certificates"
freeport() {
	$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms; print(kms.free_port())' \
		"$top/tests/e2e/kmip"
}
port=$(freeport)
$py "$top/tests/e2e/keypath/kmsctl.py" start "$work" "$work/certs" "$port" || die "pykmip-server starts"
kid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
key=$(od -An -N64 -tx1 /dev/urandom | tr -d ' \n')
$py "$top/tests/e2e/keypath/kmsctl.py" register "$work/certs" "$port" "veil-$kid" "$key" >/dev/null ||
	die "the root LU's key registered on the key manager"
dkid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
dkey=$(od -An -N64 -tx1 /dev/urandom | tr -d ' \n')
$py "$top/tests/e2e/keypath/kmsctl.py" register "$work/certs" "$port" "veil-$dkid" "$dkey" >/dev/null ||
	die "the data LU's key registered on the key manager"

# host identity: $1 (hostb: authorised, hostc: the intruder)
identity() {
	rm -f "$root"/etc/veil/host*.pem
	install -m 0644 "$work/certs/ca.pem" "$root/etc/veil/ca.pem"
	install -m 0644 "$work/certs/$1.pem" "$root/etc/veil/$1.pem"
	install -m 0600 "$work/certs/$1-key.pem" "$root/etc/veil/$1-key.pem"
	$py -c 'import sys; sys.path.insert(0, sys.argv[1]); import kms
kms.veil_conf(sys.argv[2], sys.argv[3], sys.argv[4], 5696, addr="10.0.2.100",
              certs_dir="/etc/veil", retry_budget=10, connect_timeout=3, io_timeout=5)' \
		"$top/tests/e2e/kmip" "$root/etc/veil/veild.conf" "$work/certs" "$1"
	chmod 600 "$root/etc/veil/veild.conf"
}
identity hostb

cat >"$root/etc/veil/veiltab" <<TAB
# NAME = LU [OPTIONS]: see veiltab(5)
root = LABEL=vroot x-initrd.attach
TAB
cat >"$root/etc/fstab" <<TAB
/dev/mapper/root / ext4 defaults 0 1
/dev/disk/by-veil-label/vdata /srv/data ext4 _netdev,nofail 0 2
TAB
mkdir -p "$root/srv/data"
# the data LU is presented twice, as a SAN LUN is: two SCSI disks with one
# WWN.  multipathd makes one map of the two paths, and veil must attach the
# map, never a path.
cat >"$root/etc/multipath.conf" <<CONF
defaults {
	find_multipaths no
	user_friendly_names yes
}
CONF
echo veilroot >"$root/etc/hostname"
install -m 0755 "$here/check.sh" "$root/usr/local/sbin/veil-rootfs-check"
cat >"$root/etc/systemd/system/veil-rootfs-check.service" <<'UNIT'
[Unit]
Description=veil test: report on the root file system, then power off
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/veil-rootfs-check
UNIT
# a getty on the console would hang up the report's writes
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../veil-rootfs-check.service "$root/etc/systemd/system/multi-user.target.wants/"

# what the hook asks before it adds anything
vt=$root/etc/veil/veiltab
"$root/usr/sbin/veilctl" veiltab --initrd --quiet --veiltab "$vt"
ok $? "veilctl veiltab --initrd: the table names an x-initrd.attach LU"
printf 'data = LABEL=vdata nofail\n' >"$work/vt-none"
"$root/usr/sbin/veilctl" veiltab --initrd --quiet --veiltab "$work/vt-none"
[ $? = 11 ]
ok $? "veilctl veiltab --initrd: exit 11 when none is marked (the hook adds nothing)"
printf 'root = LABEL=vroot x-initrd.atach\n' >"$work/vt-bad"
"$root/usr/sbin/veilctl" veiltab --initrd --quiet --veiltab "$work/vt-bad" 2>"$work/vt-bad.err"
[ $? = 12 ] && grep -q 'vt-bad:1:' "$work/vt-bad.err"
ok $? "veilctl veiltab: a bad line exits 12 naming FILE:LINE ($(head -n1 "$work/vt-bad.err"))"

mkinitrd() { # output
	mount -t proc proc "$root/proc" && mount --bind /sys "$root/sys" &&
		mount --bind /dev "$root/dev" || return 1
	chroot "$root" mkinitramfs -o /boot/initrd.img "$kver" >>"$work/mkinitramfs.log" 2>&1
	local rc=$?
	umount "$root/proc" "$root/sys" "$root/dev"
	[ $rc = 0 ] && mv "$root/boot/initrd.img" "$1"
}
mkinitrd "$work/initrd-hostb.img"
ok $? "mkinitramfs with veil's hook (authorised host)"
lsinitramfs "$work/initrd-hostb.img" >"$work/initrd.list" 2>/dev/null
for f in usr/sbin/veild usr/sbin/veilctl etc/veil/veiltab etc/veil/veild.conf etc/veil/hostb-key.pem \
	scripts/local-top/veil scripts/init-bottom/veil; do
	grep -qx "$f" "$work/initrd.list"
	ok $? "the initramfs holds $f"
done
grep -q '/dm-veil.ko' "$work/initrd.list"
ok $? "the initramfs holds dm-veil.ko"
m=$(stat -c %a "$work/initrd-hostb.img")
[ "$m" = 600 ]
ok $? "the initramfs, which holds the host key, is readable by root only (mode $m)"
identity hostc
mkinitrd "$work/initrd-hostc.img"
ok $? "mkinitramfs with veil's hook (intruder)"
identity hostb

# --------------------------------------------------- the eVLU images ---
# evlu IMAGE FSIMG KEYID KEYHEX LABEL: an eVLU holding FSIMG, encrypted
evlu() {
	truncate -s $(($(stat -c %s "$2") + 4 * 1048576)) "$1"
	"$build/bin/veil-mdtool" format "$1" --key-id "$3" --sector-size 4096 \
		--label "$5" >/dev/null || return 1
	show=$("$build/bin/veil-mdtool" show "$1")
	$py "$here/mkevlu.py" "$1" "$2" "$4" "$(field data_offset)" \
		"$(field data_sectors)" "$(field sector_size)"
}
field() { echo "$show" | sed -n "s/^  $1: //p" | head -n1; }
mkdir -p "$work/data"
echo "data on a second eVLU" >"$work/data/hello"
mke2fs -q -t ext4 -b 4096 -d "$work/data" "$work/datafs.img" 16M && \
	evlu "$work/data.img" "$work/datafs.img" "$dkid" "$dkey" vdata
ok $? "a data file system written encrypted into a second eVLU (label vdata)"
mb=$(( $(du -sm "$root" | cut -f1) * 13 / 10 + 200 ))
mke2fs -q -t ext4 -b 4096 -L root -d "$root" "$work/fs.img" "${mb}M" || die "mke2fs -d of the tree"
evlu "$work/evlu.img" "$work/fs.img" "$kid" "$key" vroot
ok $? "root file system written encrypted into the eVLU ($mb MiB)"
rm -f "$work/fs.img"

# --------------------------------------------------------- the boots ---
vmlinux=$("$top/tests/vm/vmlinux.sh" "$kver") || die "kernel $kver"
boot() { # initrd log timeout
	boot_once "$@"
	local rc=$?
	# TCG now and then takes an int3 of the kernel's own code patching in
	# the first seconds of boot, long before the initramfs or any veil
	# code runs; boot such a guest once more, and say so
	if grep -q 'Kernel panic' "$2" && ! grep -q 'Running /scripts/init-premount' "$2"; then
		echo "# the guest crashed in early boot before the initramfs ran (log kept as $2.early); booting again"
		mv "$2" "$2.early"
		boot_once "$@"
		rc=$?
	fi
	return $rc
}
# Guest time is host wall time under TCG: a vCPU thread the busy 2-core
# host leaves unscheduled for 20 s reads as a 20 s soft lockup of whatever
# the guest was doing (seen once while udev loaded kvm_amd, which -cpu max
# invites and a TCG guest cannot use).  The watchdog reports at twice
# watchdog_thresh: 120 s, the hung-task bound, still catches a real lockup
# well inside the boot timeout; the kvm modules are not loaded at all.
boot_once() { # initrd log timeout
	timeout "$3" qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp 2 -m 1024 \
		-nographic -no-reboot -serial stdio -monitor none -display none \
		-kernel "$vmlinux" -initrd "$1" \
		-append "root=/dev/mapper/root rw console=ttyS0 loglevel=5 panic=2 ip=dhcp veil_wait=60 net.ifnames=0 watchdog_thresh=60 modprobe.blacklist=kvm,kvm_amd,kvm_intel" \
		-drive "file=$work/evlu.img,if=virtio,format=raw,cache=unsafe" \
		-device virtio-scsi-pci,id=scsi0 \
		-drive "file=$work/data.img,if=none,id=p1,format=raw,cache=none,file.locking=off" \
		-device scsi-hd,bus=scsi0.0,scsi-id=1,drive=p1,wwn=0x5000c500a1b2c3d4,serial=VEILDATA,share-rw=on \
		-drive "file=$work/data.img,if=none,id=p2,format=raw,cache=none,file.locking=off" \
		-device scsi-hd,bus=scsi0.0,scsi-id=2,drive=p2,wwn=0x5000c500a1b2c3d4,serial=VEILDATA,share-rw=on \
		-netdev "user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:5696-cmd:socat - TCP:127.0.0.1:$port" \
		-device virtio-net-pci,netdev=n0 </dev/null >"$2" 2>&1
}
kmslog=$work/kms/server.log
gets0=$(grep -c "Processing operation: Get\b" "$kmslog" 2>/dev/null)
boot "$work/initrd-hostb.img" "$work/boot-hostb.log" 900
rc=$?
cp "$work/boot-hostb.log" "$build/vm/logs/e2e-rootfs-hostb-$kver.log" 2>/dev/null
L=$work/boot-hostb.log
grep -q '^VEIL-ROOT-UP' "$L"
ok $? "authorised host: the guest booted to multi-user from its veil root (qemu exit $rc)"
grep -q '^VEIL-ROOT system running' "$L"
ok $? "authorised host: systemd reports 'running' ($(sed -n 's/^VEIL-ROOT system //p' "$L"))"
grep -q '^VEIL-ROOT source /dev/mapper/root' "$L"
ok $? "authorised host: / is /dev/mapper/root ($(sed -n 's/^VEIL-ROOT source //p' "$L"))"
grep -q '^VEIL-ROOT write ok' "$L"
ok $? "authorised host: the root file system is writable"
grep -q '^VEIL-ROOT status .*encrypted' "$L"
ok $? "authorised host: veilctl status in the real root shows the mapping unlocked"
grep -q '^VEIL-ROOT unit veil-attach@vda.service active success' "$L"
ok $? "authorised host: the real root's veil-attach@vda found the mapping and succeeded"
grep -q '^VEIL-ROOT unitlog .*already attached' "$L"
ok $? "authorised host: ... as already attached (no second attach)"
! grep -q '^VEIL-ROOT failed ' "$L"
ok $? "authorised host: no failed units$(sed -n 's/^VEIL-ROOT failed /; /p' "$L" | tr -d '\n')"
! grep -q '^VEIL-ROOT cycle ' "$L"
ok $? "authorised host: the journal reports no ordering cycle$(sed -n 's/^VEIL-ROOT cycle /; /p' "$L" | head -n 3 | tr -d '\n')"
gets1=$(grep -c "Processing operation: Get\b" "$kmslog" 2>/dev/null)
[ $((gets1 - gets0)) = 2 ]
ok $? "authorised host: the key manager served one Get per LU, none again for the root ($((gets1 - gets0)) for 2 LUs)"
grep -q '^VEIL-ROOT data /dev/mapper/vdata ' "$L"
ok $? "authorised host: udev attached the data LU as vdata (its label) and it mounted _netdev through /dev/disk/by-veil-label/vdata ($(sed -n 's/^VEIL-ROOT data //p' "$L"))"
grep -q '^VEIL-ROOT hello data on a second eVLU' "$L"
ok $? "authorised host: the data LU reads back"
grep -q '^VEIL-ROOT under vdata mpath-' "$L"
ok $? "authorised host: the data LU, presented on two paths, is attached on the multipath map ($(sed -n 's/^VEIL-ROOT under vdata //p' "$L" | tr -d '\r'))"
[ "$(grep -c '^VEIL-ROOT veilmap ' "$L")" = 2 ]
ok $? "authorised host: two veil mappings in all (root and vdata), none on a path device:$(sed -n 's/^VEIL-ROOT veilmap / /p' "$L" | tr -d '\r\n')"
# A path's add event can reach veil's rule before multipathd has built the
# map (find_multipaths no: the rules mark a path only once the map exists),
# so a veil-attach@sdX unit may run; it must find the path held by the map
# and leave it alone.
pathunits=$(sed -n 's/^VEIL-ROOT unit veil-attach@\(sd[a-z]*\)\.service .*/\1/p' "$L" | tr -d '\r')
leftalone=0
for d in $pathunits; do
	grep -q "^VEIL-ROOT unitlog /dev/$d: not attached: a path of multipath map" "$L" &&
		leftalone=$((leftalone + 1))
done
grep -q '^VEIL-ROOT unit veil-attach@dm' "$L" && [ "$leftalone" = "$(echo $pathunits | wc -w)" ]
ok $? "authorised host: udev started an attach for the map; an attach that ran for a path (${pathunits:-none}) left it to the map"
grep -q '^VEIL-ROOT link by-veil-label/vdata -> .*dm-' "$L" &&
	grep -q '^VEIL-ROOT link by-veil-uuid/[0-9a-f-]\{36\} -> .*dm-' "$L"
ok $? "authorised host: udev made the by-veil-label and by-veil-uuid links"
t=$(sed -n 's/^VEIL-ROOT tainted //p' "$L" | tr -d '\r')
[ -n "$t" ] && [ $((t & ~((1 << 12) | (1 << 13)))) = 0 ] &&
	! grep -qE 'WARNING:|BUG:|Oops|hung_task|soft lockup' "$L"
ok $? "authorised host: kernel log clean, taint $t"

boot "$work/initrd-hostc.img" "$work/boot-hostc.log" 600
rc=$?
cp "$work/boot-hostc.log" "$build/vm/logs/e2e-rootfs-hostc-$kver.log" 2>/dev/null
L=$work/boot-hostc.log
! grep -q '^VEIL-ROOT' "$L"
ok $? "intruder: the root was never mounted"
grep -q 'veil: cannot unlock the root LU' "$L"
ok $? "intruder: the initramfs stops with veil's message (qemu exit $rc)"
grep -qiE 'no-key|refused|denied' "$L"
ok $? "intruder: the reason is shown ($(grep -iE -m1 'no-key|refused' "$L" | tr -d '\r'))"
[ "$fail" = 0 ]
