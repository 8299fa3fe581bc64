#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/vsock-guests/run.sh KVER OUT.tap: the vsock filesystem as it is
# deployed.  veil-fsd (ASan/UBSan build) runs natively on the host with a
# table of VMs known by their hybrid-vsock sockets, and three guests (CIDs
# 3, 4, 5), each with its own vhost-user-vsock back end, boot at once and
# mount it with trans=vsock:
#   CID 3  rw; sees only its tenant; a reload (control socket) moves it to
#          another root while it is mounted
#   CID 4  ro; every write fails with EROFS
#   CID 5  rw, shaped to a bytes/s limit, proof required: its secret is a
#          key created on pykmip-server (veil-fsd's secret_file holds the
#          same bytes) that veild in the guest fetches through guestfwd;
#          a mount without the proof fails
# Before the guests, scenario.py drives a fourth VM's back end itself and
# writes other CIDs into its packets: RST, and veil-fsd never sees them.
# Read rates are printed next to the limits; only loose bounds are
# asserted.  See scenario.py and guest.sh.
set -u
kver=${1:?usage: run.sh KVER OUT.tap}
out=${2:?usage: run.sh KVER OUT.tap}
top=$(cd "$(dirname "$0")/../../.." && pwd)
build=${BUILD:-$top/build}
work=$(mktemp -d /tmp/veil-e2e-vg.XXXXXX)
chmod 700 "$work"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
log=$work/tap
if /usr/bin/python3 "$top/tests/e2e/vsock-guests/scenario.py" "$kver" "$build" "$work" | tee "$log"; then
	rc=0
else
	rc=1
fi
mkdir -p "$build/vm/logs"
cp "$work/fsd.log" "$build/vm/logs/e2e-vsock-guests-$kver.fsd.log" 2>/dev/null
{ echo "# e2e vsock-guests $kver"
  grep -E '^# Totals: ' "$log" || echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"; } >"$out"
grep -qE '^# Totals: pass:[0-9]+ fail:0 ' "$out" || rc=1
echo "e2e vsock-guests $kver: $(tail -n1 "$out")"
exit $rc
