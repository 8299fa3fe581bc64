#!/bin/bash
# selftest.sh KVER OUT.tap: prove the runner reports what happened in the
# guest.  A job that passes must pass; a failing job, a kernel WARNING in an
# otherwise passing job, and a hung guest must each fail, with the exit code
# that names the cause.
set -u
kver=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
kdir=/usr/src/linux-headers-$kver
wdir=$build/kmod/$kver/selftest
rm -rf "$wdir"; mkdir -p "$wdir"
cp "$here/selftest/warnmod.c" "$here/selftest/resetmod.c" "$here/selftest/Kbuild" "$wdir/"
if ! make -s -C "$kdir" M="$wdir" modules >"$wdir/build.log" 2>&1; then
	cat "$wdir/build.log"; echo "selftest: cannot build the self-test modules for $kver" >&2; exit 1
fi
vm() { python3 "$here/veilvm.py" boot --kver "$kver" --stream none --name "selftest-$1" "${@:2}"; }
pass=0 fail=0 n=0
check() { # name expected-rc actual-rc
	n=$((n + 1))
	if [ "$3" = "$2" ]; then echo "ok $n runner: $1"; pass=$((pass + 1))
	else echo "not ok $n runner: $1 (exit $3, expected $2)"; fail=$((fail + 1)); fi
}
vm pass --timeout 120 --cmd 'echo fine'; check "passing job passes" 0 $?
vm fail --timeout 120 --cmd 'exit 7'; check "failing job fails" 1 $?
vm warn --timeout 120 --file "$wdir/warnmod.ko=/veil/warnmod.ko" \
	--cmd 'insmod /veil/warnmod.ko && rmmod warnmod'; check "WARNING in guest fails the run" 2 $?
vm hang --timeout 30 --cmd 'sleep 600'; check "hung guest is killed at the timeout" 3 $?
# A boot that dies of a stale int3 before /init (a TCG race, see veilvm.py)
# is booted once more; the same Oops once /init has begun is not.  So is a
# double fault whose trace has no frame of ours, at any time; one with such
# a frame is not.  The first "QEMU" is a fake that prints such a fault
# ($FAKE_OOPS; boot N > 0 prints $FAKE_OOPS_N if set), the next the real
# one.  The real boot made again may itself hit the stale int3 and be made
# a third time, so a check asks whether a boot was made again, not how many.
int3='[    2.635145] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI'
fake=$wdir/fakeqemu
mkdir -p "$fake"
cat >"$fake/qemu-system-x86_64" <<'FAKE'
#!/bin/sh
d=$(dirname "$0")
n=$(cat "$d/count" 2>/dev/null || echo 0)
echo $((n + 1)) >"$d/count"
eval "oops=\${FAKE_OOPS_$n:-}"
if [ -n "${FAKE_SIGNAL:-}" ]; then
	printf '%b\n' "$FAKE_BEFORE"
	kill -"$FAKE_SIGNAL" $$
fi
if [ "$n" = 0 ] || [ -n "$oops" ]; then
	[ "$n" = 0 ] && oops=$FAKE_OOPS
	[ -n "${FAKE_BEFORE:-}" ] && echo "$FAKE_BEFORE"
	printf '%b\n' "$oops"
	echo "[    2.639532] Kernel panic - not syncing: Fatal exception in interrupt"
	exit 0
fi
exec /usr/bin/qemu-system-x86_64 "$@"
FAKE
chmod +x "$fake/qemu-system-x86_64"
boots() {
	if [ "$(cat "$fake/count")" -ge 2 ]; then echo "$r, booted again"
	else echo "$r, not booted again"; fi
}
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_OOPS="$int3" vm int3 --timeout 120 --cmd 'echo fine'
r=$?
check "a stale-int3 Oops before /init: booted once more" "0, booted again" "$(boots)"
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_BEFORE="VEIL-BOOTED 1.0" FAKE_OOPS="$int3" vm int3b --timeout 120 --cmd 'echo fine'
r=$?
check "the same Oops once /init has begun fails the run" "2, not booted again" "$(boots)"
dfault='[   41.201766] traps: PANIC: double fault, error_code: 0x0\n'
dfault+='[   41.201784] Oops: double fault: 0000 [#1] PREEMPT SMP NOPTI\n'
dfault+='[   41.201801] RIP: 0010:__kmalloc_cache_node_noprof+0x1b4/0x2e0\n'
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_BEFORE="VEIL-BOOTED 1.0" FAKE_OOPS="$dfault[   41.2019] Call Trace:\n[   41.2020]  copy_process+0x1a6/0x1c80" \
	vm dfault --timeout 120 --cmd 'echo fine'
r=$?
check "a double fault outside veil's code: booted once more" "0, booted again" "$(boots)"
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_BEFORE="VEIL-BOOTED 1.0" FAKE_OOPS="$dfault[   41.2019] Call Trace:\n[   41.2020]  vdm_map+0x1a/0x90 [dm_veil]" \
	vm dfaultv --timeout 120 --cmd 'echo fine'
r=$?
check "a double fault with a frame of dm-veil fails the run" "2, not booted again" "$(boots)"
# Only the first double fault is worth another boot; a stale int3 before
# /init is worth one after either, up to three boots in all.
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_BEFORE="VEIL-BOOTED 1.0" FAKE_OOPS="$dfault" FAKE_OOPS_1="$dfault" \
	vm dfault2 --timeout 120 --cmd 'echo fine'
r=$?
check "a second double fault fails the run" "2, 2 boot(s)" "$r, $(cat "$fake/count") boot(s)"
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_OOPS="$dfault" FAKE_OOPS_1="$int3" FAKE_OOPS_2="$int3" \
	vm int3x --timeout 120 --cmd 'echo fine'
r=$?
check "a stale int3 after a double fault: booted again, three boots at most" \
	"2, 3 boot(s)" "$r, $(cat "$fake/count") boot(s)"
# A QEMU that dies under a guest that has run its tests gives no verdict:
# the run fails and its output says how QEMU ended and what the console
# showed last, since the console log is not kept.
rm -f "$fake/count"
PATH=$fake:$PATH FAKE_SIGNAL=SEGV FAKE_BEFORE="VEIL-BOOTED 1.0\nok 1 - a test that ran" \
	vm crash --timeout 120 --cmd 'echo fine' >"$wdir/crash.out" 2>&1
r=$?
said=$(grep -c -e 'QEMU killed by signal 11; the result port got 0 line' \
	-e 'console: ok 1 - a test that ran' "$wdir/crash.out")
check "QEMU killed under the guest: fails, saying how it ended and what ran" "1, 2" "$r, $said"
# A triple fault resets the machine without a kernel message.
vm reset --timeout 120 --file "$wdir/resetmod.ko=/veil/resetmod.ko" \
	--cmd 'echo ok 1 - before the reset; insmod /veil/resetmod.ko' >"$wdir/reset.out" 2>&1
r=$?
said=$(grep -c -e 'a CPU triple-faulted' -e 'console: ok 1 - before the reset' "$wdir/reset.out")
check "a triple fault: fails, saying the machine reset" "1, 2" "$r, $said"
# The plumbing later suites need: a disk, a hot-plugged disk, a port forward.
img=$wdir/disk.img hp=$wdir/hotplug.img mon=$wdir/monitor.sock
truncate -s 4M "$img" "$hp"
printf COLDDISK | dd of="$img" conv=notrunc status=none
printf HOTPLUGGED | dd of="$hp" conv=notrunc status=none
vm disk --timeout 120 --disk "$img" --cmd '[ "$(head -c 8 /dev/vda)" = COLDDISK ]'
check "guest sees its disk image" 0 $?
vm hotplug --timeout 120 --monitor "$mon" --hook "plug=$here/hotplug.sh $mon $hp hp0" --cmd '
echo VEIL-HOST plug
i=0; while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
[ "$(head -c 10 /dev/vda)" = HOTPLUGGED ]'
check "disk hot-plugged through the monitor appears in the guest" 0 $?
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(120)
try:
    c, _ = s.accept(); c.sendall(sys.argv[2].encode() + b"\n"); c.close()
except OSError:
    pass' "$port" "$token" &
srv=$!
vm fwd --timeout 120 --fwd "7000=$port" --cmd "[ \"\$(nc 10.0.2.100 7000 </dev/null)\" = $token ]"
check "guest reaches a host loopback port through guestfwd" 0 $?
kill $srv 2>/dev/null; wait $srv 2>/dev/null
printf '# runner self-test on %s\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n' \
	"$kver" "$pass" "$fail" >"$out"
[ "$fail" = 0 ]
