#!/bin/bash
# run-unit.sh OUT.tap PROG...: run userspace unit test programs (TAP with a
# kselftest-style "# Totals:" line each) and write the combined totals.
set -u
out=$1; shift
pass=0 fail=0 skip=0
for p in "$@"; do
	echo "# unit: $p"
	log=$(mktemp)
	if timeout 300 "$p" >"$log" 2>&1; then rc=0; else rc=$?; fi
	sed 's/^/  /' "$log"
	t=$(grep -E '^# Totals: ' "$log" | tail -n1)
	if [ -n "$t" ]; then
		p_=$(sed -E 's/.* pass:([0-9]+).*/\1/' <<<"$t")
		f_=$(sed -E 's/.* fail:([0-9]+).*/\1/' <<<"$t")
		s_=$(sed -E 's/.* skip:([0-9]+).*/\1/' <<<"$t")
		pass=$((pass + p_)); fail=$((fail + f_)); skip=$((skip + s_))
		[ "$rc" = 0 ] || [ "$f_" -gt 0 ] || fail=$((fail + 1))
	else
		echo "  # $p ended without totals (exit $rc)"; fail=$((fail + 1))
	fi
	rm -f "$log"
done
printf '# unit tests\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n' \
	"$pass" "$fail" "$skip" >"$out"
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
