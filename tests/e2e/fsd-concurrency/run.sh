#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/fsd-concurrency/run.sh KVER OUT.tap: veil-fsd serving one
# connection's requests at once, on the host (no VM; KVER is accepted for
# the e2e convention and unused).  concurrency.py starts
# build/san/bin/veil-fsd (FSD overrides it) on a hybrid-vsock unix socket,
# makes one tenant file slow with fanotify and speaks raw 9P2000.L to it.
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
fsd=${FSD:-$build/san/bin/veil-fsd}
work=$(mktemp -d /tmp/veil-e2e-fsd-concurrency.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/tap
# bounded: a server that serialises requests must fail, not hang make check
if timeout 240 /usr/bin/python3 "$top/tests/e2e/fsd-concurrency/concurrency.py" "$fsd" "$work" |
	tee "$log"; then
	rc=0
else
	rc=1
fi
{ echo "# e2e fsd-concurrency"; grep -E '^# Totals: ' "$log" || echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"; } >"$out"
grep -qE '^# Totals: pass:[0-9]+ fail:0 ' "$out" || rc=1
exit $rc
