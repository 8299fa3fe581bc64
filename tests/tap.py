# SPDX-License-Identifier: GPL-2.0
"""TAP output for the Python tests, in the form tests/unit/tap.h gives the
C ones: "ok N - what" / "not ok N - what" per check, then the plan and a
kselftest-style "# Totals:" line, which tests/run-unit.sh and the e2e
runners add up.
"""
_num = 0
_fail = 0


def ok(cond, what):
    """One check; returns @cond."""
    global _num, _fail
    _num += 1
    if not cond:
        _fail += 1
    print(f"{'ok' if cond else 'not ok'} {_num} - {what}", flush=True)
    return cond


def done():
    """The plan and the totals; returns the exit status."""
    print(f"1..{_num}")
    print(f"# Totals: pass:{_num - _fail} fail:{_fail} xfail:0 xpass:0 skip:0 error:0")
    return 1 if _fail else 0
