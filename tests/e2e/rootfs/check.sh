#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installed into the test's root file system as
# /usr/local/sbin/veil-rootfs-check and run by veil-rootfs-check.service
# once multi-user.target is reached: reports on the console (VEIL-ROOT
# lines, read by run.sh) and powers the guest off.
exec >/dev/ttyS0 2>&1
# Wait for a settled state.  Under TCG on a busy host the query itself can
# time out on D-Bus and print nothing; ask again rather than report that as
# the state, and keep the error text for the report if it never settles.
i=0
while [ $i -lt 120 ]; do
	s=$(systemctl is-system-running 2>&1)
	case $s in
	running | degraded | maintenance | stopping) break ;;
	esac
	sleep 1
	i=$((i + 1))
done
echo "VEIL-ROOT system $s"
echo "VEIL-ROOT source $(findmnt -n -o SOURCE /)"
echo "VEIL-ROOT fstype $(findmnt -n -o FSTYPE /)"
/usr/sbin/veilctl status root 2>&1 | sed 's/^/VEIL-ROOT status /'
for u in $(systemctl list-units --all --plain --no-legend 'veil-attach@*' | cut -d' ' -f1); do
	echo "VEIL-ROOT unit $u $(systemctl show -p ActiveState --value "$u") $(systemctl show -p Result --value "$u")"
	journalctl -b -u "$u" --no-pager -o cat | sed 's/^/VEIL-ROOT unitlog /'
done
systemctl --failed --plain --no-legend | sed 's/^/VEIL-ROOT failed /'
journalctl -b --no-pager -o cat | grep -i 'ordering cycle' | sed 's/^/VEIL-ROOT cycle /'
# the data LU: attached by udev, unlocked by the real root's veild, mounted _netdev,nofail
i=0
while [ $i -lt 90 ] && ! mountpoint -q /srv/data; do
	sleep 1
	i=$((i + 1))
done
echo "VEIL-ROOT data $(findmnt -n -o SOURCE /srv/data) after ${i}s"
echo "VEIL-ROOT hello $(cat /srv/data/hello 2>&1)"
for l in /dev/disk/by-veil-label/* /dev/disk/by-veil-uuid/*; do
	echo "VEIL-ROOT link ${l#/dev/disk/} -> $(readlink "$l")"
done
/usr/sbin/veilctl status vdata 2>&1 | sed 's/^/VEIL-ROOT status /'
# what vdata sits on (the multipath map's DM_UUID starts mpath-), and every
# veil mapping with its device
dev=$(dmsetup deps -o devname vdata 2>/dev/null | sed -n 's/.*(\(.*\)).*/\1/p')
echo "VEIL-ROOT under vdata $(dmsetup info -c --noheadings -o uuid "$dev" 2>&1) ($dev)"
dmsetup ls --target veil | sed 's/^/VEIL-ROOT veilmap /'
multipath -ll 2>&1 | sed 's/^/VEIL-ROOT multipath /'
for d in sda sdb; do
	udevadm info -q property -n /dev/$d | grep -E 'ID_SERIAL|DM_MULTIPATH|ID_WWN' | sed "s/^/VEIL-ROOT prop $d /"
done
echo "VEIL-ROOT write $(echo ok >/var/tmp/veil-root-write && cat /var/tmp/veil-root-write)"
echo "VEIL-ROOT tainted $(cat /proc/sys/kernel/tainted)"
echo "VEIL-ROOT-UP"
systemctl poweroff
