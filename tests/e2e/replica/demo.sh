#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/replica/demo.sh KVER: the replica scenario, narrated -- what
# `make demo` shows.  Host A encrypts a disk (its key created on a KMIP
# key manager) and writes files; the host copies the image; host B (same
# cluster identity) has the copy hot-plugged, udev attaches it and it
# unlocks by itself; host C (an outsider) gets the device in no-key and
# no plaintext.  Every guest console is shown; "==>" lines mark the steps.
set -u
kver=${1:?usage: demo.sh KVER}
here=$(cd "$(dirname "$0")" && pwd)
tap=$(mktemp /tmp/veil-demo.XXXXXX)
trap 'rm -f "$tap"' EXIT
VEIL_DEMO=1 "$here/run.sh" "$kver" "$tap"
rc=$?
echo
if [ $rc = 0 ]; then
	echo "demo: the replica unlocked on the authorised host and stayed sealed on the other"
else
	echo "demo: something failed (exit $rc); guest logs are in build/vm/logs/e2e-replica-*"
fi
exit $rc
