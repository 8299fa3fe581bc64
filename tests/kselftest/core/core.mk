# SPDX-License-Identifier: GPL-2.0
# kselftests of veil.ko (the event queue).  veil_test_consumer/ is a
# test-only kernel module these tests drive; see its Kbuild.
KSFT_PROGS += veil_core_test
SRCS_veil_core_test := tests/kselftest/core/veil_core_test.c
CFLAGS_veil_core_test := -I$(CACHE)/kselftest
