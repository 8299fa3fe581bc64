#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/udev-rule/run.sh KVER OUT.tap: host-side checks of what
# make install writes and of 60-veil.rules' decisions (KVER is accepted
# for the e2e convention and unused).
#   - make install DESTDIR=root SBINDIR=/opt/x/sbin: the rule, every unit
#     and the initramfs-tools scripts name /opt/x/sbin (and no /usr/sbin),
#     the programs are there,
#     and systemd-analyze verifies veil-attach@ in that root;
#   - the installed rule, run by the host's own udevd rule engine
#     ("udevadm test", systemd 252 has no "udevadm verify") on a loop
#     device holding an eVLU, in a private mount namespace where only
#     veil's rule (and a rule that sets what multipath or blkid would
#     set) is seen and /run is a scratch tmpfs: it parses cleanly; an
#     eVLU is probed and wanted as veil-attach@loopN (or run by veilctl
#     attach --auto without systemd); a multipath path, an md member,
#     VEIL_NOAUTO=1 and a device without veil metadata are not.
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
work=$(mktemp -d /tmp/veil-e2e-udev.XXXXXX)
loops=()
made_devblock=
cleanup() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
	# only ever a mount point in private namespaces: still empty
	[ -z "$made_devblock" ] || rmdir /dev/block 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
. "$top/tests/e2e/lib/tap.sh"
finish() {
	echo "1..$n"
	tap_totals | tee "$work/totals"
	{ echo "# e2e udev-rule"; cat "$work/totals"; } >"$out"
	[ "$fails" = 0 ]
	exit $?
}

# ---- make install with SBINDIR ----
R=$work/root
mkdir -p "$R/lib/systemd"
make -C "$top" --no-print-directory -s install DESTDIR="$R" SBINDIR=/opt/x/sbin KVER=none \
	>"$work/install.log" 2>&1
ok $? "make install DESTDIR=root SBINDIR=/opt/x/sbin" "$work/install.log"
rule=$R/lib/udev/rules.d/60-veil.rules
units=$(ls "$R"/lib/systemd/system/*.service 2>/dev/null)
grep -vh '^[[:space:]]*#' "$rule" $units | grep -n '/usr/sbin' >"$work/usr.log"
[ ! -s "$work/usr.log" ] && [ -n "$units" ]
ok $? "no /usr/sbin left in the installed rule and units" "$work/usr.log"
{
	grep -ho 'IMPORT{program}="[^ "]*\|RUN+="[^ "]*' "$rule" | sed 's/.*="//'
	grep -h '^Exec[A-Za-z]*=' $units | sed 's/^[^=]*=[-@:+!]*//; s/ .*//'
} | sort -u >"$work/progs"
bad=0
while read -r p; do
	case $p in /opt/x/sbin/*) ;; /bin/kill) continue ;; *) echo "$p: not under /opt/x/sbin"; bad=1 ;; esac
	[ -x "$R$p" ] || { echo "$p: not installed"; bad=1; }
done <"$work/progs" >"$work/progs.log"
[ -s "$work/progs" ] && [ $bad = 0 ]
ok $? "every program the rule and units run is $(grep -c . "$work/progs") of /opt/x/sbin, installed" \
	"$work/progs.log"
ird=$R/usr/share/initramfs-tools
grep -h '^SBIN=' "$ird/hooks/veil" "$ird/scripts/local-top/veil" >"$work/ird.log" 2>&1
[ "$(sort -u "$work/ird.log")" = "SBIN=/opt/x/sbin" ] && [ -x "$ird/scripts/init-bottom/veil" ] &&
	grep -qx 'UMASK=0077' "$ird/conf-hooks.d/veil"
ok $? "the initramfs-tools hook and scripts name /opt/x/sbin; the conf-hook keeps the initramfs root-only" \
	"$work/ird.log"
if [ -d /lib/systemd/system ] && command -v systemd-analyze >/dev/null; then
	cp -an /lib/systemd/system "$R/lib/systemd/"
	mkdir -p "$R/etc/veil" && touch "$R/etc/veil/veild.conf"
	MANPATH=$R/usr/share/man systemd-analyze --root="$R" verify veil-attach@sdb.service \
		>"$work/verify.log" 2>&1
	[ $? = 0 ] && [ ! -s "$work/verify.log" ]
	ok $? "systemd-analyze --root verify veil-attach@sdb.service with SBINDIR=/opt/x/sbin" \
		"$work/verify.log"
else
	skip "no systemd-analyze"
fi

# ---- the rule's decisions, through udevadm test ----
if [ "$(id -u)" != 0 ] || ! command -v udevadm >/dev/null || ! command -v losetup >/dev/null ||
	! unshare -m true 2>/dev/null; then
	skip "udevadm test needs root, udevadm, losetup and unshare -m"
	finish
fi
# the rule as installed with SBINDIR = this tree's build, so that its
# IMPORT runs the veilctl built here
R2=$work/root2
make -C "$top" --no-print-directory -s install DESTDIR="$R2" SBINDIR="$build/bin" KVER=none \
	>"$work/install2.log" 2>&1
ok $? "make install SBINDIR=$build/bin (for the rule under test)" "$work/install2.log"
truncate -s 32M "$work/evlu.img" "$work/plain.img"
"$build/bin/veil-mdtool" format "$work/evlu.img" --key-id 00112233445566778899aabbccddeeff \
	--label 'db one' >"$work/format.log" 2>&1
ok $? "an eVLU image (veil-mdtool format)" "$work/format.log"
ev=$(losetup -f --show "$work/evlu.img") && loops+=("$ev")
pl=$(losetup -f --show "$work/plain.img") && loops+=("$pl")
if [ -z "$ev" ] || [ -z "$pl" ]; then
	skip "no loop devices"
	finish
fi

# utest NAME DEV [systemd] [PROPERTY=VALUE...]: udevadm test of DEV with
# 60-veil.rules after a rule setting the properties; output in $work/NAME
utest() {
	local name=$1 dev=$2 sd=no d=$work/rules-$1
	shift 2
	[ "${1:-}" = systemd ] && { sd=yes; shift; }
	mkdir -p "$d"
	cp "$R2/lib/udev/rules.d/60-veil.rules" "$d/"
	: >"$d/56-props.rules"
	for kv in "$@"; do
		echo "ENV{${kv%%=*}}=\"${kv#*=}\"" >>"$d/56-props.rules"
	done
	unshare -m /bin/sh -c '
		mount --make-rprivate / &&
		mount --bind "$1" /lib/udev/rules.d && mount --bind "$1" /etc/udev/rules.d &&
		mount -t tmpfs veil-test /run && mkdir -p /run/udev &&
		{ [ "$2" = no ] || mkdir -p /run/systemd/system; } &&
		mount -t tmpfs veil-test /dev/block &&
		udevadm test "/sys/class/block/$3"' sh "$d" "$sd" "${dev#/dev/}" >"$work/$name" 2>&1
}
k=${ev#/dev/}
# utest hides /dev/block under a tmpfs; a host without udev may lack it
if [ ! -d /dev/block ]; then
	mkdir /dev/block && made_devblock=1
fi

utest parse "$ev" systemd
grep -iE "invalid|failed to parse|unknown|error" "$work/parse" | grep -v "Failed to read \$container" \
	>"$work/parse.err"
grep -q "Reading rules file: .*60-veil.rules" "$work/parse" && [ ! -s "$work/parse.err" ]
ok $? "udevadm test reads 60-veil.rules with no complaint" "$work/parse.err"
grep -q '^VEIL_EVLU=1$' "$work/parse" && grep -q '^ID_FS_TYPE=veil$' "$work/parse" &&
	grep -q "^SYSTEMD_WANTS=veil-attach@$k.service$" "$work/parse"
ok $? "an eVLU: probed, and wanted as veil-attach@$k.service under systemd" "$work/parse"

utest nosd "$ev"
grep -q "veilctl -q attach --auto --background /dev/$k" "$work/nosd" &&
	! grep -q '^SYSTEMD_WANTS=' "$work/nosd"
ok $? "without systemd: RUN veilctl -q attach --auto --background /dev/$k" "$work/nosd"

utest mpath "$ev" systemd DM_MULTIPATH_DEVICE_PATH=1
! grep -qE '^VEIL_EVLU=|^SYSTEMD_WANTS=|attach --auto' "$work/mpath"
ok $? "a multipath path (DM_MULTIPATH_DEVICE_PATH=1): not probed, not attached" "$work/mpath"
utest mpath2 "$ev" DM_MULTIPATH_DEVICE_PATH=1
! grep -qE '^VEIL_EVLU=|attach --auto' "$work/mpath2"
ok $? "the same without systemd: no RUN" "$work/mpath2"

utest raid "$ev" systemd ID_FS_TYPE=linux_raid_member
! grep -qE '^VEIL_EVLU=|^SYSTEMD_WANTS=' "$work/raid"
ok $? "an md member (ID_FS_TYPE=linux_raid_member): not probed, not attached" "$work/raid"

utest noauto "$ev" systemd VEIL_NOAUTO=1
grep -q '^VEIL_EVLU=1$' "$work/noauto" && ! grep -q '^SYSTEMD_WANTS=' "$work/noauto"
ok $? "VEIL_NOAUTO=1 from an earlier rule: probed, not attached" "$work/noauto"

utest plain "$pl" systemd
! grep -qE '^VEIL_EVLU=|^SYSTEMD_WANTS=' "$work/plain"
ok $? "a device without veil metadata: nothing" "$work/plain"

# a rule that sets the properties must itself have worked (the test can fail)
grep -q '^DM_MULTIPATH_DEVICE_PATH=1$' "$work/mpath" && grep -q '^ID_FS_TYPE=linux_raid_member$' "$work/raid"
ok $? "the test's own property rule took effect" "$work/raid"
finish
