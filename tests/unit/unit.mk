# SPDX-License-Identifier: GPL-2.0
# Unit tests: each is a TAP program under build/bin and build/san/bin.
UNIT_TESTS += test_md
SRCS_test_md := tests/unit/test_md.c
