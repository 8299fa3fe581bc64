# SPDX-License-Identifier: GPL-2.0
# Host B, authorised (a host of the same cluster): vda (a copy of A's
# second LU) is there at boot, the replica of A's first LU is hot-plugged
# and must attach and unlock by itself; then it is "resynced" from vda and
# `veilctl update` must notice the new key-id and re-key.
. /veil/lib.sh
enrol b
start_udev
wait_for /dev/mapper/veil-vda 60 && wait_state veil-vda encrypted 60
ok $? "the eVLU present at boot was attached by udev and unlocked"

step "the array presents the replica: hot-plug it (QEMU device_add)"
echo "VEIL-HOST plug"
wait_for /dev/vdb 60
ok $? "replica appeared as /dev/vdb"
wait_for /dev/mapper/veil-vdb 60
ok $? "udev recognised the eVLU and attached it as veil-vdb"
wait_state veil-vdb encrypted 60
ok $? "veil-vdb unlocked with no manual step"
udevadm settle --timeout=30
[ "$(readlink -f /dev/disk/by-veil-label/replicated)" = "$(readlink -f /dev/mapper/veil-vdb)" ] &&
	ls /dev/disk/by-veil-uuid/ | grep -qE '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$'
ok $? "udev links it as /dev/disk/by-veil-label/replicated and by-veil-uuid/"
veilctl status veil-vdb | sed 's/^/    /'
json b veil-vdb

step "read the replica's files"
modprobe ext4
mount -t ext4 -o ro /dev/mapper/veil-vdb /mnt
ok $? "mount the replica"
(cd /mnt && sha256sum -c /veil/sums.txt)
ok $? "files equal what host A wrote (sha256)"
umount /mnt

step "the replica is resynced from another source (its key-id changes)"
dd if=/dev/vda of=/dev/vdb bs=1M conv=fsync 2>/dev/null
ok $? "resync: copy another eVLU over the replica"
out=$(veilctl update veil-vdb --wait 60 2>&1); rc=$?
echo "$out" | sed 's/^/    /'
echo "$out" | grep -q "key-id changed"
ok $? "update notices the new key-id"
[ $rc = 0 ] && wait_state veil-vdb encrypted 5
ok $? "and re-keys: encrypted with the new key"
mount -t ext4 -o ro /dev/mapper/veil-vdb /mnt && grep -q "other source 9c2e" /mnt/other.txt
ok $? "the resynced data reads back"
umount /mnt
json b2 veil-vdb
shutdown_all
finish
