# SPDX-License-Identifier: GPL-2.0
# Host A: encrypts two LUs (vda: the replicated one, vdb: "another source"
# for the resync step), writes an ext4 filesystem with known files on each,
# prints key-ids and checksums for the host.
. /veil/lib.sh
enrol a

step "encrypt /dev/vda: veilctl creates a key on the key manager and writes its key-id into the LU"
veilctl encrypt /dev/vda --label replicated --wait 60
ok $? "encrypt /dev/vda (provisioned through KMIP) and unlock it"
kid=$(veilctl status veil-vda --json | sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p')
echo "VEIL-KEYID vda $kid"

step "make a filesystem on /dev/mapper/veil-vda and write known files"
modprobe ext4
mkfs.ext4 -q /dev/mapper/veil-vda && mount -t ext4 /dev/mapper/veil-vda /mnt
ok $? "mkfs.ext4 + mount through the veil mapping"
echo "veil replica marker 7f3a1c: hello from host A" >/mnt/hello.txt
dd if=/dev/urandom of=/mnt/blob bs=64k count=32 2>/dev/null
mkdir -p /mnt/dir && seq 1 5000 >/mnt/dir/numbers
(cd /mnt && sha256sum hello.txt blob dir/numbers) >/tmp/sums
sed 's/^/VEIL-SUM /' /tmp/sums
umount /mnt && veilctl detach veil-vda
ok $? "unmount and detach"
grep -q "veil replica marker" /dev/vda
ok $((! $?)) "the raw LU holds no plaintext of the files"

step "encrypt /dev/vdb (another LU, another key) for the resync step"
veilctl encrypt /dev/vdb --wait 60 && mkfs.ext4 -q /dev/mapper/veil-vdb &&
	mount -t ext4 /dev/mapper/veil-vdb /mnt &&
	echo "other source 9c2e" >/mnt/other.txt && umount /mnt &&
	veilctl detach veil-vdb
ok $? "second eVLU with a file"
kid2=$(veilctl probe /dev/vdb | sed -n 's/^VEIL_KEY_ID=//p')
echo "VEIL-KEYID vdb $kid2"
[ -n "$kid" ] && [ -n "$kid2" ] && [ "$kid" != "$kid2" ]
ok $? "two distinct key-ids ($kid, $kid2)"
shutdown_all
sync
finish
