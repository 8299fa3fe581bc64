# SPDX-License-Identifier: GPL-2.0
# Host C, not authorised (another identity): the stolen replica is
# attached by udev but the key manager refuses the key, so the device sits
# in no-key and no plaintext comes out.
. /veil/lib.sh
enrol c
start_udev
step "the stolen replica is presented: hot-plug it"
echo "VEIL-HOST plug"
wait_for /dev/mapper/veil-vda 60
ok $? "udev attached the replica as veil-vda"
wait_state veil-vda no-key 90
ok $? "the key manager refuses this host: state no-key"
veilctl status veil-vda | sed 's/^/    /'
json c veil-vda
dd if=/dev/mapper/veil-vda of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
ok $((! $?)) "reads of the encrypted data fail"
grep -q "veil replica marker" /dev/vda
ok $((! $?)) "the raw replica holds no plaintext"
modprobe ext4
mount -t ext4 -o ro /dev/mapper/veil-vda /mnt 2>/dev/null
ok $((! $?)) "no filesystem can be mounted"
shutdown_all
finish
