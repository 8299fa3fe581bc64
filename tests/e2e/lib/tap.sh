# SPDX-License-Identifier: GPL-2.0
# TAP for the e2e scenarios, sourced by host scripts and by guest jobs (as
# /veil/tap.sh).  ok STATUS TEXT [FILE] counts one test (on failure the
# end of FILE follows as comments), skip TEXT one skipped test; tap_totals
# prints the kselftest-style totals, finish the plan and the totals, and
# returns non-zero if any failed.  TAP_PREFIX (e.g. "boot 3: ") goes
# before every description.
n=0
fails=0
skips=0
ok() { # status description [detail file]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - ${TAP_PREFIX:-}$2"
	else
		echo "not ok $n - ${TAP_PREFIX:-}$2"
		fails=$((fails + 1))
		[ -n "${3:-}" ] && sed 's/^/#   /' "$3" | tail -n 25
	fi
	return 0
}
skip() { # description
	n=$((n + 1))
	skips=$((skips + 1))
	echo "ok $n # SKIP ${TAP_PREFIX:-}$1"
}
tap_totals() {
	echo "# Totals: pass:$((n - fails - skips)) fail:$fails xfail:0 xpass:0 skip:$skips error:0"
}
finish() {
	echo "1..$n"
	tap_totals
	[ "$fails" = 0 ]
}
