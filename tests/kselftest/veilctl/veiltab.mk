# SPDX-License-Identifier: GPL-2.0
# Guest tests of veiltab and of what udev's rule runs: attach --all,
# auto-attach policies, names from metadata, the options, and the
# multipath / md / holder refusals (the busybox guest has no udev, so the
# udev properties are set as multipath and blkid would set them).
KSFT_PROGS += veiltab_test
SRCS_veiltab_test := tests/kselftest/veilctl/veiltab_test.c
CFLAGS_veiltab_test := -I$(CACHE)/kselftest
LIBS_veiltab_test := -Wl,--as-needed
