# SPDX-License-Identifier: GPL-2.0
# Unit tests: each is a TAP program under build/bin and build/san/bin;
# UNIT_SCRIPTS are TAP scripts run as they are.
UNIT_SCRIPTS += tests/unit/test_dm_summary.py
UNIT_TESTS += test_md
SRCS_test_md := tests/unit/test_md.c
