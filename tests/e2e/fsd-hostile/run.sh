#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/fsd-hostile/run.sh KVER OUT.tap: veil-fsd against a hostile
# guest, on the host (no VM; KVER is accepted for the e2e convention and
# unused).  hostile.py starts build/san/bin/veil-fsd on hybrid-vsock unix
# sockets and speaks raw 9P2000.L to it; the memory figure is measured on
# build/bin/veil-fsd.  FSD_SAN / FSD_PLAIN override the binaries (to show
# an older build failing: add HOSTILE_ARGS=--legacy-config).
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
san=${FSD_SAN:-$build/san/bin/veil-fsd}
plain=${FSD_PLAIN:-$build/bin/veil-fsd}
work=$(mktemp -d /tmp/veil-e2e-fsd-hostile.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/tap
# a stalled client must not stall make check: the whole suite is bounded
if timeout 300 /usr/bin/python3 "$top/tests/e2e/fsd-hostile/hostile.py" "$san" "$plain" "$work" \
	${HOSTILE_ARGS:-} | tee "$log"; then
	rc=0
else
	rc=1
fi
{ echo "# e2e fsd-hostile"; grep -E '^# Totals: ' "$log" || echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"; } >"$out"
grep -qE '^# Totals: pass:[0-9]+ fail:0 ' "$out" || rc=1
exit $rc
