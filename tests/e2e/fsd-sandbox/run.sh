#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/fsd-sandbox/run.sh KVER OUT.tap: veil-fsd's sandbox, host-side
# (no guest; KVER is accepted for the e2e convention and unused).  Runs
# the ASan/UBSan veil-fsd on hybrid-vsock unix sockets in a scratch
# directory, and fsd-sandbox-probe; see sandboxtest.py.  Needs root.
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
work=$(mktemp -d /tmp/veil-e2e-fsd-sandbox.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
log=$work/tap
if timeout 120 /usr/bin/python3 "$top/tests/e2e/fsd-sandbox/sandboxtest.py" "$build" "$work" | tee "$log"; then
	rc=0
else
	rc=1
fi
{ echo "# e2e fsd-sandbox"; grep -E '^# Totals: ' "$log" || echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"; } >"$out"
grep -qE '^# Totals: pass:[0-9]+ fail:0 ' "$out" || rc=1
exit $rc
