#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The keypath scenario's guest side (see run.sh): veild in the guest, the
# key manager on the host at 10.0.2.100:5696, dm-veil devices on brd RAM
# disks.  Prints TAP; asks the host to stop/start the key manager with
# "VEIL-HOST kms-stop" / "VEIL-HOST kms-start"; prints the ciphertext of
# one sector as "VEIL-CT <hex>" for the host to check against the key it
# registered.  /etc/veil holds ids.env (K1..K4), the configurations
# b.conf (a host of the authorised cluster) and c.conf (an intruder), and
# the certificates.
. /etc/veil/ids.env
export DM_DISABLE_UDEV=1
DATA=12288			# 8 MiB LU minus two 1 MiB metadata areas
. /veil/tap.sh
state() { dmsetup status "$1" 2>/dev/null | awk '{print $4}'; }
reason() { dmsetup status "$1" 2>/dev/null | cut -d' ' -f9-; }
wait_state() { # dev state seconds
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		[ "$(state "$1")" = "$2" ] && return 0
		usleep 100000
		i=$((i + 1))
	done
	echo "# $1: $(dmsetup status "$1" 2>&1)"
	return 1
}
mkdev() { # ramN key-id name
	veil-mdtool format "/dev/ram$1" --force --key-id "$2" >/dev/null &&
		echo "0 $DATA veil /dev/ram$1" | dmsetup create "$3"
}
start_veild() { # conf
	veild -c "/etc/veil/$1.conf" -d >>"/tmp/veild-$1.log" 2>&1 &
	VEILD=$!
}
stop_veild() {
	kill "$VEILD" 2>/dev/null
	wait "$VEILD"
}
kms_up() { # seconds: wait until the key manager answers
	i=0
	while [ $i -lt "$1" ]; do
		veil-kmip -c /etc/veil/b.conf check "$K1" >/dev/null 2>&1 && return 0
		sleep 1
		i=$((i + 1))
	done
	return 1
}

# --- veild before veil.ko: one message, backoff, recovery ---------------
# veil.ko declares its family's module alias, so the kernel loads it when
# veild looks the family up; make that fail first to see veild wait.
echo /bin/false >/proc/sys/kernel/modprobe
start_veild b
sleep 3
echo /sbin/modprobe >/proc/sys/kernel/modprobe
lsmod | grep -q '^veil ' && echo "# veil.ko loaded too early"
i=0
while [ $i -lt 100 ] && ! grep -q "registered with veil.ko" /tmp/veild-b.log; do
	usleep 100000
	i=$((i + 1))
done
grep -q "registered with veil.ko" /tmp/veild-b.log
ok $? "veild started while veil.ko cannot load registers once it can (autoload)"
[ "$(grep -c 'family not found: load veil.ko (modprobe veil)' /tmp/veild-b.log)" = 1 ]
ok $? "... having said 'load veil.ko' exactly once"

# --- veild against a kernel of another ABI -------------------------------
# veil_abi2.ko is veil.ko built to report ABI 2 (test-only, same family).
stop_veild
rmmod dm_veil 2>/dev/null
rmmod veil
modprobe veil_abi2
ok $? "veil_abi2.ko (the veil family speaking ABI 2) loads"
veild -c /etc/veil/b.conf >/tmp/veild-abi.log 2>&1 &
VEILD=$!
sleep 10
abi=$(grep -c 'kernel ABI 2, veild ABI 1: ' /tmp/veild-abi.log)
lines=$(wc -l </tmp/veild-abi.log)
echo "# veild, 10 s against ABI 2: $lines log line(s), $abi about the ABI"
[ "$abi" = 1 ] && [ "$lines" -le 4 ] && kill -0 "$VEILD"
ok $? "veild against ABI 2: one message naming both ABIs, no flood, still running"
! grep -q "registered with veil.ko" /tmp/veild-abi.log
ok $? "... and it does not register"
rmmod veil_abi2 && modprobe veil
i=0
while [ $i -lt 400 ] && ! grep -q "registered with veil.ko" /tmp/veild-abi.log; do
	usleep 100000
	i=$((i + 1))
done
grep -q "registered with veil.ko (ABI 1)" /tmp/veild-abi.log &&
	grep -q "veil.ko is usable now" /tmp/veild-abi.log
ok $? "... once veil.ko replaces it, veild registers by itself ($((i / 10)) s)"

modprobe dm-veil
modprobe brd rd_nr=7 rd_size=8192
modprobe -a xts ecb cbc 2>/dev/null

# --- unlock and round trip ---------------------------------------------
mkdev 0 "$K1" v0 && wait_state v0 encrypted 15
ok $? "a key created on the key manager unlocks a dm-veil device"
dd if=/dev/urandom of=/tmp/pat bs=4096 count=64 2>/dev/null
head -c 65536 /tmp/pat >/tmp/pat.16
dd if=/tmp/pat of=/dev/mapper/v0 bs=4096 count=64 oflag=direct 2>/dev/null &&
	dd if=/dev/mapper/v0 of=/tmp/back bs=4096 count=64 iflag=direct 2>/dev/null &&
	cmp -s /tmp/pat /tmp/back
ok $? "data round-trips through the device"
dd if=/dev/ram0 of=/tmp/raw bs=512 skip=2048 count=512 iflag=direct 2>/dev/null
! cmp -s /tmp/pat /tmp/raw
ok $? "the LU underneath holds ciphertext"

# --- key-hint: the LU names its key's KMIP identifier -------------------
hintdev() { # key-id hint
	dmsetup remove h6 2>/dev/null
	veil-mdtool format /dev/ram6 --force --key-id "$1" ${2:+--key-hint "$2"} >/dev/null &&
		echo "0 $DATA veil /dev/ram6" | dmsetup create h6 && wait_state h6 encrypted 15
}
hintdev "$K3" "$K3_UID"
ok $? "an LU with a key-hint unlocks"
cat /tmp/veild-*.log | grep -q "veil-$K3: pushing .*key-hint used"
ok $? "... fetched through the hint (Get Attributes + Get, no Locate)"
hintdev "$K4" "$K1_UID"
ok $? "an LU whose key-hint names another key still unlocks"
cat /tmp/veild-*.log | grep -q "veil-$K4: pushing .*key-hint stale: located by name"
ok $? "... by name: the hint is checked against the key-id"
dd if=/tmp/pat of=/dev/mapper/h6 bs=4096 count=16 oflag=direct 2>/dev/null &&
	hintdev "$K4" "" &&
	dd if=/dev/mapper/h6 of=/tmp/back bs=4096 count=16 iflag=direct 2>/dev/null &&
	cmp -s /tmp/back /tmp/pat.16
ok $? "... with its own key (what it wrote reads back after a plain unlock)"
dmsetup remove h6

# --- interop: a key registered with PyKMIP ------------------------------
mkdev 1 "$K2" v1 && wait_state v1 encrypted 15
ok $? "a key registered with the PyKMIP client unlocks a device"
dd if=/dev/zero of=/dev/mapper/v1 bs=512 count=1 oflag=direct 2>/dev/null
echo "VEIL-CT $(dd if=/dev/ram1 bs=512 skip=2048 count=1 iflag=direct 2>/dev/null |
	od -An -v -tx1 | tr -d ' \n')"

# --- per-host authorisation ----------------------------------------------
stop_veild
start_veild c
mkdev 3 "$K3" v3 && wait_state v3 no-key 15
ok $? "an intruder host's veild gets no key"
r=$(reason v3)
echo "# reason: $r"
case "$r" in *"no active key named veil-$K3 visible to this host"*) s=0 ;; *) s=1 ;; esac
ok $s "... and dmsetup status shows why"
stop_veild
start_veild b
dmsetup message v3 0 retry && wait_state v3 encrypted 15
ok $? "the same LU unlocks on an authorised host (message retry)"

# --- key manager down at attach ----------------------------------------
echo "VEIL-HOST kms-stop"
sleep 2
mkdev 2 "$K4" v2
[ "$(state v2)" = waiting-for-key ]
ok $? "key manager down: the device waits for its key"
wait_state v2 no-key 20
ok $? "... then goes to no-key after veild's retry budget"
r=$(reason v2)
echo "# reason: $r"
case "$r" in *"key manager unreachable"*) s=0 ;; *) s=1 ;; esac
ok $s "... with the reason 'key manager unreachable'"
echo "VEIL-HOST kms-start"
kms_up 30
ok $? "key manager back"
dmsetup message v2 0 update && wait_state v2 encrypted 15
ok $? "... and 'update' unlocks the device without re-creating it"

# --- veild killed during lookups of several devices --------------------
echo "VEIL-HOST kms-stop"
sleep 2
mkdev 4 "$K1" v4
mkdev 5 "$K1" v5
held=""
for d in v4 v5; do
	dd if=/dev/mapper/$d of=/dev/null bs=4096 count=16 iflag=direct 2>/dev/null &
	held="$held $!"
done
sleep 1
[ "$(state v4)" = waiting-for-key ] && [ "$(state v5)" = waiting-for-key ]
ok $? "two devices wait, with I/O held"
kill -9 "$VEILD"
wait "$VEILD" 2>/dev/null
echo "VEIL-HOST kms-start"
kms_up 30
start_veild b
wait_state v4 encrypted 20 && wait_state v5 encrypted 20
ok $? "veild killed mid-lookup: the restarted veild unlocks both"
s=0
for p in $held; do
	wait "$p" || s=1
done
ok $s "... and the held I/O completes without error"
grep -q "the kernel had [1-9][0-9]* request(s) pending" /tmp/veild-b.log
ok $? "... the kernel re-delivered the pending requests"

# --- offline key cache (cache = on): unlocks while the key manager is down
for d in v4 v5; do dmsetup remove $d 2>/dev/null; done
cache_conf() { # base new
	{ cat "/etc/veil/$1.conf"
	  echo "cache = on"
	  echo "cache_dir = /tmp/veil-cache"
	  echo "cache_lockbox = /etc/veil/cache.kek"
	  echo "cache_ttl = 1h"; } >"/etc/veil/$2.conf"
}
cache_conf b bcache
cache_conf c ccache
stop_veild
start_veild bcache
mkdev 4 "$K4" c4 && wait_state c4 encrypted 15 && [ -f "/tmp/veil-cache/$K4" ]
ok $? "cache on: an unlock stores the key's cache entry (named by its key-id)"
[ "$(stat -c '%a %u %s' /etc/veil/cache.kek)" = "600 0 32" ]
ok $? "... veild created the lockbox: root's, mode 0600, a 256-bit KEK"
dd if=/tmp/pat of=/dev/mapper/c4 bs=4096 count=64 oflag=direct 2>/dev/null
echo "VEIL-HOST kms-stop"
sleep 2
dmsetup remove c4
echo "0 $DATA veil /dev/ram4" | dmsetup create c4 && wait_state c4 encrypted 20
ok $? "key manager down: the re-created device unlocks from the cache"
dd if=/dev/mapper/c4 of=/tmp/back bs=4096 count=64 iflag=direct 2>/dev/null &&
	cmp -s /tmp/pat /tmp/back
ok $? "... and reads back what was written with the key manager's copy"
grep -q "veil-$K4: key manager unreachable: using the cached copy" /tmp/veild-bcache.log
ok $? "... and veild logs that the cached copy was used"
stop_veild
start_veild b
dmsetup remove c4
echo "0 $DATA veil /dev/ram4" | dmsetup create c4 && wait_state c4 no-key 20
r=$(reason c4)
echo "# reason: $r"
case "$r" in *"key manager unreachable"*) s=0 ;; *) s=1 ;; esac
ok $s "cache off: the same device gets no-key, 'key manager unreachable'"
echo "VEIL-HOST kms-start"
kms_up 30
ok $? "key manager back"
stop_veild
start_veild ccache
dmsetup remove c4
echo "0 $DATA veil /dev/ram4" | dmsetup create c4 && wait_state c4 no-key 15
ok $? "cache on, a host the key manager refuses: no-key despite a cache entry"
[ ! -e "/tmp/veil-cache/$K4" ] && grep -q "veil-$K4: the key manager has no such key: cache entry deleted" /tmp/veild-ccache.log
ok $? "... and the refusal deletes the entry (revocation propagates)"
stop_veild
start_veild b
dmsetup remove c4

# --- one key daemon at a time --------------------------------------------
i=0
while [ $i -lt 100 ] && ! grep -q "veild\[$VEILD\]: info: registered with veil.ko" /tmp/veild-b.log; do
	usleep 100000; i=$((i + 1))
done
veild -c /etc/veil/b.conf >/tmp/veild-second.log 2>&1 &
P2=$!
i=0
while [ $i -lt 100 ] && kill -0 "$P2" 2>/dev/null; do
	usleep 100000; i=$((i + 1))
done
kill "$P2" 2>/dev/null
wait "$P2"
rc=$?
kill -0 "$VEILD" 2>/dev/null && [ "$rc" = 3 ] &&
	grep -q "another key daemon (pid $VEILD) is registered with veil.ko and running: not taking over" /tmp/veild-second.log
ok $? "a second veild refuses to displace the live one, naming its pid (exit $rc)"
sed 's/^/#   /' /tmp/veild-second.log | grep -v ': debug: '
veild -c /etc/veil/b.conf --takeover >>/tmp/veild-b.log 2>&1 &
NEW=$!
i=0
while [ $i -lt 150 ] && kill -0 "$VEILD" 2>/dev/null; do
	usleep 100000; i=$((i + 1))
done
wait "$VEILD"
rc=$?
[ "$rc" = 1 ] && kill -0 "$NEW" 2>/dev/null &&
	grep -q "another key daemon (pid $NEW) has registered; exiting" /tmp/veild-b.log &&
	grep -q "taking over from the key daemon registered with veil.ko (pid $VEILD)" /tmp/veild-b.log
ok $? "veild --takeover replaces it; the old one exits 1 ($((i / 10)) s)"
VEILD=$NEW
mkdev 5 "$K1" t5 && wait_state t5 encrypted 15
ok $? "... and the new veild serves keys"
dmsetup remove t5 2>/dev/null

# --- SIGTERM cuts a lookup's network wait short ----------------------------
# a key manager that accepts the connection and never answers the handshake
stop_veild
sed -e 's/^server = .*/server = 127.0.0.1:5697/' -e 's/^io_timeout = .*/io_timeout = 30/' \
	/etc/veil/b.conf >/etc/veil/silent.conf
mkfifo /tmp/nc.in
nc -l -p 5697 </tmp/nc.in >/dev/null 2>&1 &
NC=$!
exec 9>/tmp/nc.in
start_veild silent
mkdev 5 "$K1" t5
i=0
while [ $i -lt 100 ] && ! grep -q "looking up veil-$K1" /tmp/veild-silent.log; do
	usleep 100000; i=$((i + 1))
done
sleep 1
t0=$(cut -d' ' -f1 /proc/uptime | tr -d .)
kill "$VEILD"
wait "$VEILD"
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime | tr -d .)
cs=$((t1 - t0))
echo "# veild stopped $cs cs after SIGTERM, its lookup in a handshake with io_timeout 30 s"
[ "$rc" = 0 ] && [ "$cs" -lt 1000 ] &&
	grep -q "abandoned at shutdown" /tmp/veild-silent.log
ok $? "SIGTERM during a lookup stuck in a TLS handshake: veild exits 0 at once, the request abandoned ($cs cs; io_timeout 3000 cs)"
exec 9>&-
kill "$NC" 2>/dev/null
start_veild b
wait_state t5 encrypted 15
ok $? "... and the next veild answers the request the kernel kept"
dmsetup remove t5 2>/dev/null

# --- clean stop ---------------------------------------------------------
for d in v0 v1 v2 v3 v4 v5; do dmsetup remove $d 2>/dev/null; done
stop_veild
grep -q "veild\[$VEILD\]: info: stopped" /tmp/veild-b.log
ok $? "veild stops cleanly on SIGTERM"

echo "# --- veild logs ---"
sed 's/^/# /' /tmp/veild-abi.log /tmp/veild-b.log /tmp/veild-c.log /tmp/veild-bcache.log /tmp/veild-ccache.log /tmp/veild-silent.log | grep -v ': debug: ' | tail -n 60
finish
