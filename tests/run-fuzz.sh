#!/bin/bash
# run-fuzz.sh OUT.tap SECONDS TARGET...: run each libFuzzer target for a
# bounded time over its seed corpus (tests/fuzz/corpus/TARGET).  A crash,
# leak or sanitizer report fails the target; new inputs go to a scratch
# corpus under build/, never into the source tree.
set -u
out=$1 secs=$2; shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
pass=0 fail=0
for t in "$@"; do
	bin=$build/fuzz/$t
	work=$build/fuzz/work/$t
	mkdir -p "$work/corpus" "$work/artifacts"
	seeds=$top/tests/fuzz/corpus/$t
	[ -d "$seeds" ] || seeds=
	echo "# fuzz: $t for ${secs}s"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" $seeds \
		>"$work/log" 2>&1; then
		# libFuzzer ends its log with "Done N runs in S second(s)".
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log" | tail -n1)
		echo "ok - fuzz $t (${runs:-?} runs)"
		pass=$((pass + 1))
	else
		echo "not ok - fuzz $t (see $work/log)"; tail -n 30 "$work/log" | sed 's/^/  /'
		fail=$((fail + 1))
	fi
done
printf '# fuzz targets\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n' \
	"$pass" "$fail" >"$out"
[ "$fail" = 0 ]
