#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/vsock-host/run.sh KVER OUT.tap: a guest with its own CID (3)
# on virtio-vsock served by vhost-user-vsock (ASan/UBSan build), talking
# to host servers on hybrid-vsock unix sockets: bulk data both ways with
# checksums (credit flow), an echo round trip, a refused port, a host
# client reaching a guest listener by "CONNECT <port>", and the guest
# mounting 9P (trans=vsock) from veil-fsd running natively on the host,
# which knows it by the socket its connection came in on.  Throughput is
# printed, not asserted.  Before the guest, frontend.py plays QEMU against
# the back end with forged CIDs and hostile rings (no guest kernel can
# forge its CID, so that part is host-only).
set -u
kver=${1:?usage: run.sh KVER OUT.tap}
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$top/tests/e2e/vsock-host
build=${BUILD:-$top/build}
py=/usr/bin/python3
size=$((8 << 20))
work=$(mktemp -d /tmp/veil-e2e-vsock.XXXXXX)
chmod 700 "$work"
pass=0 fail=0 srv= fsd=

finish() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	[ -n "$fsd" ] && kill "$fsd" 2>/dev/null && wait "$fsd" 2>/dev/null
	printf '# e2e vsock-host %s\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n' \
		"$kver" "$pass" "$fail" >"$out"
	echo "e2e vsock-host $kver: $pass passed, $fail failed"
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap finish EXIT
host_ok() { # status description
	if [ "$1" = 0 ]; then pass=$((pass + 1)); echo "ok - host: $2"
	else fail=$((fail + 1)); echo "not ok - host: $2"; fi
}

# The back end against a scripted front end: forged CIDs, hostile rings.
timeout 120 $py "$here/frontend.py" "$build/san/bin/vhost-user-vsock" "$work/fe" | tee "$work/fe.tap"
fp=$(grep -cE '^ok ' "$work/fe.tap"); ff=$(grep -cE '^not ok ' "$work/fe.tap")
pass=$((pass + fp)); fail=$((fail + ff))
[ "$fp" -gt 0 ] || host_ok 1 "frontend.py ran"

uds=$work/v
$py "$here/hostsrv.py" serve "$uds" "$size" >"$work/srv.log" 2>&1 &
srv=$!
for _ in $(seq 100); do grep -q ready "$work/srv.log" && break; sleep 0.1; done

# veil-fsd, native on the host, serving CID 3 on the same hybrid socket
# base: the guest's 9P mount reaches <uds>_564 through vhost-user-vsock.
mkdir -p "$work/tenants/t3"
echo "tenant of cid 3" >"$work/tenants/t3/hello"
head -c "$size" /dev/urandom >"$work/tenants/t3/big"
fsum=$(sha256sum <"$work/tenants/t3/big" | cut -d' ' -f1)
cat >"$work/fsd.conf" <<EOC
vsock = no
port = 564
msize_max = 1M
[vm g3]
cid = 3
uds = $uds
root = $work/tenants/t3
access = ro
EOC
"$build/san/bin/veil-fsd" -c "$work/fsd.conf" -v 2>"$work/fsd.log" &
fsd=$!
for _ in $(seq 100); do [ -S "${uds}_564" ] && break; sleep 0.1; done
host_ok "$([ -S "${uds}_564" ] && echo 0 || echo 1)" "veil-fsd listens on <uds>_564"
printf 'SIZE=%s\nCID=3\nFSUM=%s\n' "$size" "$fsum" >"$work/env"
log=$work/guest.log
"$top/tests/vm/veilvm.py" boot --kver "$kver" --timeout 400 --stream tap \
	--name "e2e-vsock-host" --log "$log" --vsock "3:$uds" --bin /usr/bin/socat \
	--file "$work/env=/etc/vsock-host.env" \
	--hook "connect=$py $here/hostsrv.py connect $uds 6000 $((2 << 20)) $work/connect.res 20" \
	--hook "connect-none=$py $here/hostsrv.py connect $uds 6001 0 $work/none.res" \
	--job "$here/guest.sh"
rc=$?
cp "$log" "$build/vm/logs/e2e-vsock-host-$kver.log" 2>/dev/null
cp "$log.vsock" "$build/vm/logs/e2e-vsock-host-$kver.log.vsock" 2>/dev/null
cp "$work/fsd.log" "$build/vm/logs/e2e-vsock-host-$kver.fsd.log" 2>/dev/null
gp=$(grep -cE '^ok [0-9]+ - ' "$log")
gf=$(grep -cE '^not ok [0-9]+ - ' "$log")
pass=$((pass + gp)); fail=$((fail + gf))
grep -E '^# throughput' "$log" | sed "s/^# /# $kver: /"
res=$(cat "$work/connect.res" 2>/dev/null)
host_ok "$([[ $res == ok* ]] && echo 0 || echo 1)" "host client reaches the guest's listener by CONNECT 6000 (${res:-no result})"
[[ $res == ok* ]] && echo "# $kver: throughput host client <-> guest echo: ${res#ok }"
res=$(cat "$work/none.res" 2>/dev/null)
host_ok "$([[ $res == "fail: CONNECT answered b''" ]] && echo 0 || echo 1)" \
	"CONNECT to a guest port with no listener is closed without OK (${res:-no result})"
host_ok "$([ "$rc" = 0 ] && echo 0 || echo 1)" "guest run (veilvm exit $rc)"
kill "$fsd" 2>/dev/null; wait "$fsd" 2>/dev/null; fsd=
if grep -qE 'ERROR: (Address|Undefined)Sanitizer|runtime error' "$work/fsd.log"; then
	host_ok 1 "veil-fsd sanitizer-clean"; sed 's/^/# /' "$work/fsd.log" | tail -20
else
	host_ok 0 "veil-fsd sanitizer-clean"
fi
if grep -qE 'ERROR: (Address|Undefined)Sanitizer|runtime error' "$log.vsock" 2>/dev/null; then
	host_ok 1 "vhost-user-vsock sanitizer-clean"
else
	host_ok 0 "vhost-user-vsock sanitizer-clean"
fi
[ "$fail" = 0 ]
