#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reencrypt scenario's guest side (see run.sh); one boot of the chain.
# /etc/veil/boot.env says what this boot does:
#   BOOT      its number (for the TAP descriptions)
#   FIRST=1   encrypt /dev/vda (a new key on the key manager), fio writes
#             the whole mapping with verify=crc32c, then verifies it
#   ONLINE=1  veilctl reencrypt --progress while fio reads and verifies
#             region A and writes and verifies region B; then verify all
#   RECOVER=P the previous boot was killed at crash point P ("random": at
#             a random moment, "kill": a hard kill outside re-encryption):
#             attach (which recovers a journaled window), check the state
#             left, verify everything, --resume, verify again
#   CRASH=X   at the end start a new re-encryption and have the host kill
#             the guest: X is POINT[:N] (VEIL_TEST_CRASH_AT), "random" (a
#             random moment mid-run) or "kill" (no re-encryption running)
#   REENC=0   veilctl has no reencrypt command: only the parts without it
# The host is asked to kill the guest with "VEIL-HOST kill" (its QEMU
# monitor's quit: no shutdown, nothing flushed by the guest).  For the host
# it prints VEIL-KID (current key-id), VEIL-OLD (previous key-id), VEIL-PT
# (plaintext read through the mapping at a byte offset of the data area)
# and VEIL-WINDOW (the kernel's re-encryption window at a crash point).
. /etc/veil/boot.env
export DM_DISABLE_UDEV=1
DEV=/dev/vda
NAME=rr
MAP=/dev/mapper/$NAME
BS=65536
TAP_PREFIX="boot $BOOT: "
. /veil/tap.sh

# one field of the metadata as `veilctl dump --json` shows it
# (the first occurrence: the metadata object comes before any other)
mdnum() { veilctl dump --json "$DEV" 2>/dev/null | grep -o "\"$1\": *[0-9]*" | head -n1 | sed 's/.*: *//'; }
mdstr() { veilctl dump --json "$DEV" 2>/dev/null | grep -o "\"$1\": *\"[^\"]*\"" | head -n1 | sed 's/.*: *"//; s/"$//'; }
keyid() { mdstr key_id; }
# the metadata's incompat flag VEIL_MD_INCOMPAT_REENCRYPT (0x1)
md_reencrypting() { [ $(($(mdnum incompat_flags) & 1)) = 1 ]; }
kstatus() { dmsetup message "$NAME" 0 reencrypt_status 2>&1; }
state() { dmsetup status "$NAME" 2>/dev/null | awk '{print $4}'; }
wait_state() { # state seconds
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		[ "$(state)" = "$1" ] && return 0
		usleep 100000
		i=$((i + 1))
	done
	echo "# $NAME: $(dmsetup status "$NAME" 2>&1)"
	return 1
}
fio_out() { # log: what fio found, as TAP comments
	{ grep -i -m 4 'verify\|bad \|error\|expected\|received' "$1" || tail -n 4 "$1"; } |
		sed 's/^/#   /'
}
# every block of the mapping carries a fio verify header (crc32c, offset):
# region A (the first half) still holds the pre-write, checked by its job
# replayed with --verify_only; region B the online run's writes (or the
# pre-write), checked by reading it
verify_all() { # description
	A=$((SZ / 2 / BS * BS))
	fio --name=prewrite --filename="$MAP" --rw=write --bs=$BS --size=$A \
		--verify=crc32c --randseed=4242 --verify_only --verify_fatal=1 \
		--direct=1 --ioengine=libaio --iodepth=8 >/tmp/verify.log 2>&1 &&
		fio --name=verify --filename="$MAP" --rw=read --bs=$BS --offset=$A \
			--size=$((SZ - A)) --verify=crc32c --verify_fatal=1 --direct=1 \
			--ioengine=libaio --iodepth=8 >>/tmp/verify.log 2>&1
	r=$?
	[ $r = 0 ] || fio_out /tmp/verify.log
	ok $r "fio verifies every block of the mapping ($1)"
}
show_pt() { # byte offset in the data area, length
	echo "VEIL-PT $1 $(dd if="$MAP" bs="$2" skip=$(($1 / $2)) count=1 iflag=direct 2>/dev/null |
		od -An -tx1 -v | tr -d ' \n')"
}

# ------------------------------------------------------------ veild ---
modprobe dm-veil
modprobe -a xts ecb 2>/dev/null
veild -c /etc/veil/veild.conf >/tmp/veild.log 2>&1 &
i=0
while [ $i -lt 100 ] && ! veilctl status --json 2>/dev/null | grep -q '"registered": *true'; do
	usleep 100000
	i=$((i + 1))
done
veilctl status --json 2>/dev/null | grep -q '"registered": *true'
ok $? "veild registered with veil.ko"

# ------------------------------------------------ encrypt, pre-write ---
if [ "${FIRST:-0}" = 1 ]; then
	veilctl encrypt "$DEV" "$NAME" --wait 60 >/tmp/encrypt.log 2>&1
	r=$?
	sed 's/^/#   /' /tmp/encrypt.log
	ok $r "veilctl encrypt $DEV $NAME (a new key on the key manager) unlocks the mapping"
	SZ=$(blockdev --getsize64 "$MAP")
	SZ=$((SZ / BS * BS))
	fio --name=prewrite --filename="$MAP" --rw=write --bs=$BS --size="$SZ" \
		--verify=crc32c --randseed=4242 --do_verify=1 --verify_fatal=1 \
		--direct=1 --ioengine=libaio --iodepth=8 >/tmp/prewrite.log 2>&1
	r=$?
	[ $r = 0 ] || fio_out /tmp/prewrite.log
	sync
	ok $r "fio writes the whole mapping ($((SZ >> 20)) MiB) with verify=crc32c and verifies it"
	echo "VEIL-KID $(keyid)"
fi

# ------------------------------------- attach (after a kill: recovery) ---
if [ "${FIRST:-0}" != 1 ]; then
	ds=$(mdnum data_sectors)
	if [ "$RECOVER" = converted ]; then
		# the metadata names a journaled window: the kernel must not map
		# the LU before it is put back
		echo "0 $ds veil $DEV 0" | dmsetup create veil-raw >/tmp/raw.log 2>&1
		r=$?
		dmsetup remove veil-raw 2>/dev/null
		why=$(dmesg | grep 'veil' | tail -n 1)
		echo "#   $why"
		[ $r != 0 ] && echo "$why" | grep -q 'attach\|--resume'
		ok $? "after a kill at '$RECOVER': dm-veil refuses a table while a window is journaled, naming the way out"
	fi
	veilctl attach "$DEV" "$NAME" --wait 60 >/tmp/attach.log 2>&1
	r=$?
	sed 's/^/#   /' /tmp/attach.log
	[ $r = 0 ] && [ "$(state)" = encrypted ]
	ok $? "${RECOVER:+after a kill at '$RECOVER': }veilctl attach brings the mapping up, encrypted"
	case $RECOVER in
	md-journal-half | converted)
		grep -qi 'journal\|recover' /tmp/attach.log
		ok $? "... and says it put the journaled window back"
		;;
	esac
	SZ=$(blockdev --getsize64 "$MAP")
	SZ=$((SZ / BS * BS))
	veilctl status "$NAME" >/tmp/status.log 2>&1
	sed 's/^/#   /' /tmp/status.log
	ks=$(kstatus)
	echo "# reencrypt_status: $ks"
	case ${RECOVER:-} in
	"") ;;
	final-half)
		# the new metadata's first copy is written: the run is complete
		! md_reencrypting && ! grep -q 're-encryption: *in progress' /tmp/status.log && [ "$ks" = none ]
		ok $? "after a kill at '$RECOVER': the copy in use and veilctl status say the run is complete (reencrypt_status: $ks)"
		verify_all "after a kill at '$RECOVER'"
		before=$(keyid)
		veilctl reencrypt "$NAME" --resume >/tmp/resume.log 2>&1
		r=$?
		sed 's/^/#   /' /tmp/resume.log
		[ $r != 0 ] && [ "$(keyid)" = "$before" ] && ! md_reencrypting
		ok $? "... and --resume refuses to start a new run (exit $r), the key-id stays"
		;;
	*)
		md_reencrypting && grep -q 're-encryption: *in progress' /tmp/status.log &&
			case $ks in boundary=*) true ;; *) false ;; esac
		ok $? "after a kill at '$RECOVER': the metadata, veilctl status and dm-veil say re-encryption is in progress ($ks)"
		case $ks in *"window=-"*) true ;; *) false ;; esac
		ok $? "... with no window locked"
		verify_all "two keys, boundary $(echo "$ks" | sed -n 's/^boundary=\([0-9]*\).*/\1/p')"
		before=$(keyid)
		veilctl reencrypt "$NAME" --resume >/tmp/resume.log 2>&1
		r=$?
		tail -n 4 /tmp/resume.log | sed 's/^/#   /'
		ok $r "veilctl reencrypt --resume finishes the run"
		! md_reencrypting && [ "$(kstatus)" = none ] && [ "$(keyid)" = "$before" ]
		ok $? "... the metadata is back to one key (the new one, $before) and dm-veil says none"
		verify_all "after --resume"
		;;
	esac
fi

# -------------------------------------------- online re-encryption ---
if [ "${ONLINE:-0}" = 1 ]; then
	old=$(keyid)
	A=$((SZ / 2 / BS * BS))
	B=$((SZ - A))
	rm -f /tmp/stop
	# region A: random reads of the pre-written blocks, verified
	(
		runs=0
		until [ -e /tmp/stop ]; do
			fio --name=reader --filename="$MAP" --rw=randread --bs=$BS --size=$A \
				--verify=crc32c --verify_fatal=1 --direct=1 --ioengine=libaio \
				--iodepth=4 --time_based --runtime=2 >/tmp/reader.log 2>&1 ||
				{ echo "fail $runs" >/tmp/reader.rc; exit 1; }
			runs=$((runs + 1))
		done
		echo "ok $runs" >/tmp/reader.rc
	) &
	rd=$!
	# region B: random writes, each run verified (a new seed per run)
	(
		runs=0
		until [ -e /tmp/stop ]; do
			fio --name=writer --filename="$MAP" --rw=randwrite --bs=$BS --offset=$A \
				--size=$B --verify=crc32c --randseed=$((5000 + runs)) --do_verify=1 \
				--verify_backlog=16 --verify_fatal=1 --direct=1 --ioengine=libaio \
				--iodepth=4 >/tmp/writer.log 2>&1 ||
				{ echo "fail $runs" >/tmp/writer.rc; exit 1; }
			runs=$((runs + 1))
		done
		echo "ok $runs" >/tmp/writer.rc
	) &
	wr=$!
	sleep 1
	t0=$(cut -d. -f1 /proc/uptime)
	veilctl reencrypt "$NAME" --progress >/tmp/reenc.log 2>&1
	r=$?
	t1=$(cut -d. -f1 /proc/uptime)
	touch /tmp/stop
	wait $rd
	wait $wr
	tr '\r' '\n' </tmp/reenc.log | tail -n 6 | sed 's/^/#   /'
	echo "VEIL-DUR $((t1 - t0))"
	ok $r "veilctl reencrypt --progress completes under fio load ($((t1 - t0)) s)"
	rr=$(cat /tmp/reader.rc 2>/dev/null)
	[ "${rr%% *}" = ok ] && [ "${rr#* }" -ge 1 ]
	r=$?
	[ $r = 0 ] || fio_out /tmp/reader.log
	ok $r "random reads of region A verified throughout ($rr runs)"
	wrc=$(cat /tmp/writer.rc 2>/dev/null)
	[ "${wrc%% *}" = ok ] && [ "${wrc#* }" -ge 1 ]
	r=$?
	[ $r = 0 ] || fio_out /tmp/writer.log
	ok $r "writes to region B verified throughout ($wrc runs)"
	new=$(keyid)
	[ -n "$new" ] && [ "$new" != "$old" ] && ! md_reencrypting && [ "$(kstatus)" = none ]
	ok $? "the LU has a new key-id ($old -> $new), one key, dm-veil says none"
	grep -q "$old" /tmp/reenc.log
	ok $? "veilctl names the old key-id for the operator to destroy"
	[ "$(state)" = encrypted ]
	ok $? "the mapping stays encrypted (unlocked)"
	verify_all "after the online run"
	echo "VEIL-OLD $old"
	echo "VEIL-KID $new"
fi

# ------------------------------------ data for the host, then a kill ---
ss=$(mdnum sector_size)
show_pt $((SZ / 4 + 3 * ss)) "$ss"
show_pt $((SZ - 5 * ss)) "$ss"
[ "${FIRST:-0}" = 1 ] || echo "VEIL-KID $(keyid)"
t=$(cat /proc/sys/kernel/tainted)
echo "VEIL-TAINT $t"
if [ -z "${CRASH:-}" ]; then
	veilctl detach "$NAME"
	ok $? "veilctl detach"
	finish
	exit
fi
finish
case $CRASH in
random)
	# A random point between 15 % and 70 % of the data area.  veilctl is
	# stopped while the boundary is sampled and stays stopped once it
	# has passed that point, so the run cannot race to its end between a
	# sample and the host's kill: it only moves during the short sleeps.
	ds=$(mdnum data_sectors)
	pct=$((15 + $(od -An -N1 -tu1 /dev/urandom) % 56))
	at=$((ds * pct / 100))
	veilctl reencrypt "$NAME" >/tmp/crash.log 2>&1 &
	pid=$!
	i=0
	b=0
	while [ $i -lt 3000 ] && kill -STOP $pid 2>/dev/null; do
		b=$(kstatus | sed -n 's/^boundary=\([0-9]*\).*/\1/p')
		b=${b:-0}
		[ "$b" -ge "$at" ] && break
		kill -CONT $pid
		usleep 10000
		i=$((i + 1))
	done
	echo "VEIL-RANDOM want $at of $ds ($pct %), at $(kstatus)"
	kill -0 $pid 2>/dev/null ||
		echo "# the re-encryption ended before the random point: $(cat /tmp/crash.log)"
	echo "VEIL-HOST kill"
	;;
*)
	VEIL_TEST_CRASH_AT=$CRASH veilctl reencrypt "$NAME" 2>&1 | while read -r l; do
		echo "# veilctl: $l"
		case $l in
		*"veil-test: crash point ${CRASH%%:*} reached"*)
			echo "VEIL-WINDOW $(kstatus)"
			echo "VEIL-HOST kill"
			;;
		esac
	done
	echo "# veilctl reencrypt ended without reaching crash point $CRASH"
	echo "VEIL-HOST kill"
	;;
esac
# the host's quit ends the guest here
sleep 600
