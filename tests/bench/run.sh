#!/bin/bash
# run.sh [--kver KVER]: every benchmark under tests/bench/ for one kernel (or
# every supported kernel when --kver is not given).  Each prints a table and
# appends JSON lines to build/bench/results.jsonl.  BENCHES="fsd dm reenc" runs
# only those (names of tests/bench/*.sh without .sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kvers=
while [ $# -gt 0 ]; do
	case $1 in
	--kver) kvers="$kvers $2"; shift 2 ;;
	*) echo "usage: run.sh [--kver KVER]..." >&2; exit 2 ;;
	esac
done
for k in $kvers; do
	for b in "$here"/*.sh; do
		[ "$(basename "$b")" = run.sh ] && continue
		case " ${BENCHES:-$(basename "$b" .sh)} " in
		*" $(basename "$b" .sh) "*) ;;
		*) continue ;;
		esac
		"$b" "$k"
	done
done
