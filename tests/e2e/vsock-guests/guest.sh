#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One guest of the vsock-guests scenario (see run.sh): its CID and role
# come from /etc/vg.env.  Mounts veil-fsd on the host (CID 2) with
# trans=vsock through vhost-user-vsock, checks that it sees its own
# tenant only, times a read (printed as "# rate ..." for the host to
# judge), then does what its role asks:
#   rw     (CID 3)  writes; asks the host to move its root ("VEIL-HOST
#                   reload") and sees the new root or a clean error
#   ro     (CID 4)  every write fails with EROFS
#   proof  (CID 5)  a mount without the proof fails; veild fetches the
#                   secret from the key manager (10.0.2.100:5696) and the
#                   mount with keyid= works; a key-id naming another key
#                   is refused
. /etc/vg.env
n=0; bad=0
t() { # status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - cid $CID: $2"; else echo "not ok $n - cid $CID: $2"; bad=1; fi
}
now() { cut -d' ' -f1 /proc/uptime; }
OPTS=trans=vsock,port=564,version=9p2000.L,msize=1048576,cache=none
mnt() { # extra-options: mount veil-fsd on /mnt/t, bounded
	timeout 60 mount -t 9p -o "$OPTS$1" 2 /mnt/t 2>/tmp/mount.err
}
mounted() { grep -q ' /mnt/t 9p ' /proc/mounts; }
listing() { (cd "$1" && find . -mindepth 1 | sort | tr '\n' ' '); }

modprobe 9pnet_vsock
mkdir -p /mnt/t

if [ "$ROLE" = proof ]; then
	mnt ""
	rc=$?
	t "$([ "$rc" != 0 ] && ! mounted && grep -q 'Connection reset by peer' /tmp/mount.err &&
		echo 0 || echo 1)" \
		"a mount without the proof is reset by the server ($(head -c 80 /tmp/mount.err))"
	mounted && umount /mnt/t
	veild -c /etc/veil/g5.conf -d >/tmp/veild.log 2>&1 &
	i=0
	while [ $i -lt 300 ] && ! grep -q "registered with veil.ko" /tmp/veild.log; do
		usleep 100000
		i=$((i + 1))
	done
	t "$(grep -q "registered with veil.ko" /tmp/veild.log && echo 0 || echo 1)" "veild registers with veil.ko"
	mnt ",keyid=$WRONGKEY,keytimeout=30"
	rc=$?
	t "$([ "$rc" != 0 ] && grep -q 'Permission denied' /tmp/mount.err && echo 0 || echo 1)" \
		"a proof with another key of the key manager is refused ($(head -c 80 /tmp/mount.err))"
	t "$(dmesg | grep -q 'refused our proof (status 13: wrong secret)' && echo 0 || echo 1)" \
		"... by veil-fsd, as a wrong secret"
	mounted && umount /mnt/t
	OPTS="$OPTS,keyid=$KEYID,keytimeout=30"
fi

mnt ""
t $? "mount -t 9p trans=vsock from veil-fsd on the host ($(head -c 80 /tmp/mount.err))"
[ "$ROLE" = proof ] && t "$(dmesg | grep -q 'proof accepted' && echo 0 || echo 1)" \
	"the mount passed the proof handshake (secret from veild and the key manager)"
t "$([ "$(cat /mnt/t/hello 2>&1)" = "tenant of cid $CID" ] && echo 0 || echo 1)" \
	"reads its tenant's file ($(head -c 40 /mnt/t/hello 2>&1))"
got=$(listing /mnt/t)
t "$([ "$got" = "$LISTING" ] && echo 0 || echo 1)" "sees exactly its tenant's files ($got)"
# diod-style exports take a host path as aname; veil-fsd's attach only
# takes options, and the VM's root comes from its socket
mkdir -p /mnt/o
timeout 60 mount -t 9p -o "$OPTS,aname=$OTHER" 2 /mnt/o 2>/tmp/err
rc=$?
t "$([ "$rc" != 0 ] && ! grep -q ' /mnt/o 9p ' /proc/mounts && echo 0 || echo 1)" \
	"an attach naming another tenant's host directory is refused ($(head -c 60 /tmp/err))"
grep -q ' /mnt/o 9p ' /proc/mounts && umount /mnt/o

# read timing: the host compares the guests' rates (CID 5 is shaped)
sync
s=$(now)
timeout 120 dd if=/mnt/t/data of=/tmp/data bs=64k 2>/dev/null
e=$(now)
t "$([ "$(sha256sum </tmp/data | cut -d' ' -f1)" = "$DSUM" ] && echo 0 || echo 1)" \
	"reads $DSIZE bytes intact (64 KiB reads)"
echo "# rate cid $CID: $DSIZE bytes in $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }') s"
# a directory listing moves a few hundred bytes, whatever msize the
# kernel offers each Treaddir: on the shaped VM it must not cost msize
s=$(now)
timeout 120 ls -la /mnt/t >/dev/null
e=$(now)
echo "# listing cid $CID: $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }') s"

case $ROLE in
rw)
	echo "written by cid $CID" >/mnt/t/from-guest
	t $? "writes a file"
	t "$([ "$(cat /mnt/t/from-guest)" = "written by cid $CID" ] && echo 0 || echo 1)" "reads it back"
	# the host moves this VM to another root while it is mounted
	echo "VEIL-HOST reload"
	i=0 seen=old
	while [ $i -lt 60 ]; do
		c=$(timeout 20 cat /mnt/t/hello 2>/tmp/err)
		rc=$?
		if [ "$rc" != 0 ]; then
			seen="error ($(head -c 60 /tmp/err))"; break
		elif [ "$c" != "tenant of cid $CID" ]; then
			seen="new root ($c)"; break
		fi
		sleep 1
		i=$((i + 1))
	done
	t "$([ "$seen" != old ] && echo 0 || echo 1)" \
		"after the reload the next access sees the new root or a clean error: $seen"
	case $seen in error*)
		timeout 30 umount /mnt/t
		t $? "umount after the disconnect"
		mnt ""
		t $? "mount again";;
	esac
	t "$([ "$(cat /mnt/t/hello 2>&1)" = "moved root of cid $CID" ] && echo 0 || echo 1)" \
		"the mount shows the new root ($(head -c 40 /mnt/t/hello 2>&1))"
	t "$([ ! -e /mnt/t/from-guest ] && echo 0 || echo 1)" "the old root's files are gone from view";;
ro)
	echo x 2>/tmp/err >/mnt/t/new
	t "$([ $? != 0 ] && grep -q 'Read-only file system' /tmp/err && [ ! -e /mnt/t/new ] && echo 0 || echo 1)" \
		"access = ro: a create fails with EROFS ($(head -c 60 /tmp/err))"
	echo x 2>/tmp/err >>/mnt/t/hello
	t "$([ $? != 0 ] && grep -q 'Read-only file system' /tmp/err && echo 0 || echo 1)" \
		"access = ro: appending to an existing file fails with EROFS"
	mkdir /mnt/t/d 2>/tmp/err
	t "$([ $? != 0 ] && grep -q 'Read-only file system' /tmp/err && echo 0 || echo 1)" \
		"access = ro: mkdir fails with EROFS"
	if timeout 60 mount -t 9p -o "$OPTS,aname=rw" 2 /mnt/o 2>/tmp/err; then
		echo x 2>/tmp/err >/mnt/o/new
		rc=$?
		umount /mnt/o
	else
		rc=0
	fi
	t "$([ "$rc" != 0 ] && grep -q 'Read-only file system' /tmp/err && echo 0 || echo 1)" \
		"access = ro: a mount asking aname=rw still gets EROFS ($(head -c 60 /tmp/err))";;
proof)
	echo "written by cid $CID" >/mnt/t/from-guest
	t $? "writes a file";;
esac

umount /mnt/t
t $? "umount"
exit $bad
