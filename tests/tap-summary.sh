#!/bin/bash
# tap-summary.sh FILE...: add up the "# Totals:" lines of every result file
# and print the closing line "N passed, N failed, N skipped".  Fails if any
# test failed or if nothing ran at all.
set -u
pass=0 fail=0 skip=0
for f in "$@"; do
	[ -f "$f" ] || continue
	while read -r t; do
		pass=$((pass + $(sed -E 's/.* pass:([0-9]+).*/\1/' <<<"$t")))
		fail=$((fail + $(sed -E 's/.* fail:([0-9]+).*/\1/' <<<"$t")))
		skip=$((skip + $(sed -E 's/.* skip:([0-9]+).*/\1/' <<<"$t")))
	done < <(grep -E '^# Totals: ' "$f")
	echo "# $(basename "$f"): $(grep -E '^# Totals: ' "$f" | tail -n1 | sed 's/^# //')"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
