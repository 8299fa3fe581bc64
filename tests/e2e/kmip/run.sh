#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/kmip/run.sh KVER OUT.tap: host-side KMIP tests (no guest; KVER
# is accepted for the e2e convention and unused).  Starts its own
# pykmip-server on a free 127.0.0.1 port with certificates made here, and
# fake servers; see kmiptest.py.
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
work=$(mktemp -d /tmp/veil-e2e-kmip.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/tap
if /usr/bin/python3 "$top/tests/e2e/kmip/kmiptest.py" "$build" "$work" | tee "$log"; then
	rc=0
else
	rc=1
fi
{ echo "# e2e kmip"; grep -E '^# Totals: ' "$log" || echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"; } >"$out"
grep -qE '^# Totals: pass:[0-9]+ fail:0 ' "$out" || rc=1
exit $rc
