# SPDX-License-Identifier: GPL-2.0
# kselftests of dm-veil.ko (the device-mapper target "veil").  They play the
# key daemon themselves through tests/kselftest/core/veil_nl_test.h.
KSFT_PROGS += veil_dm_test
SRCS_veil_dm_test := tests/kselftest/dm/veil_dm_test.c
CFLAGS_veil_dm_test := -I$(CACHE)/kselftest
