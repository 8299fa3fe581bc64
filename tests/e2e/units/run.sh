#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/units/run.sh KVER OUT.tap: veil's systemd units against a stock
# Debian 12 boot, host-side (KVER is accepted for the e2e convention and
# unused).  Builds a root with the host's installed unit set (the systemd
# package's /lib/systemd/system, ifupdown's networking.service), veil
# installed into it by "make install DESTDIR=", veild enabled as
# "veilctl setup" does, networking enabled, and the mounts
# systemd-fstab-generator makes from an fstab with a separate /var, an
# ESP and a _netdev file system on a veil device; eVLUs are attached as
# udev would (an instance of veil-attach@).  Then:
#   - systemd-analyze --root verify default.target must find no ordering
#     cycle (systemd would delete a job at boot to break it);
#   - systemd-analyze verify of each veil unit must print nothing;
#   - the units' programs are where make install puts them.
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=$(mktemp -d /tmp/veil-e2e-units.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
. "$top/tests/e2e/lib/tap.sh"
finish() {
	echo "1..$n"
	tap_totals | tee -a "$tap"
	{ echo "# e2e units"; tail -n1 "$tap"; } >"$out"
	[ "$fails" = 0 ]
	exit $?
}
tap=$work/tap
: >"$tap"

for f in /lib/systemd/system/default.target /lib/systemd/system/networking.service \
	/lib/systemd/system-generators/systemd-fstab-generator; do
	if [ ! -e "$f" ]; then
		ok 1 "host has $f (apt-get install systemd ifupdown; scripts/setup-host.sh)"
		finish
	fi
done

# VEIL_UNITS_FROM=DIR: take veild.service and veil-attach@.service from DIR
# instead of the tree (to show that the test catches a unit set).
R=$work/root
mkdir -p "$R/lib/systemd" "$R/etc/systemd/system" "$R/etc/veil" "$R/run"
cp -a /lib/systemd/system "$R/lib/systemd/"
make -C "$top" --no-print-directory -s install DESTDIR="$R" KVER=none >"$work/install.log" 2>&1
ok $? "make install DESTDIR=root" "$work/install.log"
if [ -n "${VEIL_UNITS_FROM:-}" ]; then
	cp "$VEIL_UNITS_FROM"/*.service "$R/lib/systemd/system/"
fi
touch "$R/etc/veil/veild.conf"

cat >"$R/etc/fstab" <<'FSTAB'
UUID=0c2a8c1e-4a4b-4b0e-9a55-1d7e0f7f1a11 / ext4 errors=remount-ro 0 1
UUID=6b1d2a3c-1111-4222-8333-944455556666 /var ext4 defaults 0 2
UUID=AB12-CD34 /boot/efi vfat umask=0077 0 1
/dev/mapper/veil-data /srv/data ext4 _netdev,nofail 0 2
FSTAB
gen=$work/gen
mkdir -p "$gen/normal" "$gen/early" "$gen/late"
SYSTEMD_FSTAB=$R/etc/fstab /lib/systemd/system-generators/systemd-fstab-generator \
	"$gen/normal" "$gen/early" "$gen/late" 2>"$work/gen.log"
ok $? "systemd-fstab-generator makes the mounts of the test fstab" "$work/gen.log"
# verify runs generators into a directory of its own: put their output
# where units are read from in the root
cp -a "$gen/normal/." "$R/etc/systemd/system/"

# remote-fs.target and networking are enabled on a stock Debian 12 (by the
# systemd and ifupdown packages); veild as veilctl setup enables it
systemctl --root="$R" enable remote-fs.target networking.service veild.service \
	>"$work/enable.log" 2>&1
ok $? "systemctl --root enable remote-fs.target networking.service veild.service" \
	"$work/enable.log"
# what 60-veil.rules does for an eVLU present at boot: SYSTEMD_WANTS
mkdir -p "$R/etc/systemd/system/sysinit.target.wants"
ln -s /lib/systemd/system/veil-attach@.service \
	"$R/etc/systemd/system/sysinit.target.wants/veil-attach@sdb.service"

SYSTEMD_LOG_LEVEL=debug systemd-analyze --root="$R" verify default.target \
	>"$work/boot.log" 2>&1
grep -E "Installed new job|deleted to break" "$work/boot.log" >"$work/jobs.log"
grep -q "veild.service: Installed new job veild.service/start" "$work/boot.log" &&
	grep -q "veil-attach@sdb.service: Installed new job" "$work/boot.log" &&
	grep -q "networking.service: Installed new job" "$work/boot.log" &&
	grep -q "srv-data.mount: Installed new job" "$work/boot.log"
ok $? "the boot transaction holds veild, veil-attach@sdb, networking and the _netdev mount" \
	"$work/jobs.log"
grep -E "ordering cycle|deleted to break" "$work/boot.log" >"$work/cycles.log"
[ ! -s "$work/cycles.log" ]
ok $? "default.target: no ordering cycle ($(grep -c 'deleted to break' "$work/cycles.log") job(s) deleted)" \
	"$work/cycles.log"

for u in veild.service veil-attach@sdb.service; do
	MANPATH=$R/usr/share/man systemd-analyze --root="$R" verify "$u" >"$work/v.log" 2>&1
	[ $? = 0 ] && [ ! -s "$work/v.log" ]
	ok $? "systemd-analyze verify $u: clean" "$work/v.log"
done
# ordering facts the design rests on
show() { # unit property
	grep -h "^$2=" "$R/lib/systemd/system/$1" | cut -d= -f2- | tr '\n' ' '
}
a=$(show veil-attach@.service After)
case " $a " in *veild.service*) s=1 ;; *) s=0 ;; esac
ok $s "veil-attach@ is not ordered after veild (a mapping waits for its key without blocking)"
b=$(show veild.service Before)
case " $b " in *local-fs*) s=1 ;; *) s=0 ;; esac
ok $s "veild is not ordered before the local file systems"

for p in $(grep -h '^Exec[A-Za-z]*=' "$R"/lib/systemd/system/veild.service \
	"$R/lib/systemd/system/veil-attach@.service" | sed 's/^[^=]*=[-@:+!]*//; s/ .*//' | sort -u); do
	[ -x "$R$p" ]
	ok $? "$p (used by the units) is installed by make install"
done
finish
