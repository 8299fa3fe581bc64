#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/enrol/run.sh KVER OUT.tap: host-side tests of host enrolment
# (veilctl setup, --install-cert, status, renew), the enrolled identity
# against a pykmip-server on 127.0.0.1, and systemd-analyze verify of the
# units.  No guest; KVER is accepted for the e2e convention and unused.
# See enroltest.py.
set -u
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
work=$(mktemp -d /tmp/veil-e2e-enrol.XXXXXX)
trap 'rm -rf "$work"' EXIT
log=$work/tap
if /usr/bin/python3 "$top/tests/e2e/enrol/enroltest.py" "$build" "$work" | tee "$log"; then
	rc=0
else
	rc=1
fi
{ echo "# e2e enrol"; grep -E '^# Totals: ' "$log" || echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"; } >"$out"
grep -qE '^# Totals: pass:[0-9]+ fail:0 ' "$out" || rc=1
exit $rc
