# SPDX-License-Identifier: GPL-2.0
# Guest tests of veilctl: every subcommand's success path and refusals.
# They drive the real tool (/veil/bin/veilctl) with veil-keyd-stub as the
# key daemon.
KSFT_PROGS += veilctl_test
SRCS_veilctl_test := tests/kselftest/veilctl/veilctl_test.c
CFLAGS_veilctl_test := -I$(CACHE)/kselftest
LIBS_veilctl_test := -Wl,--as-needed
