# SPDX-License-Identifier: GPL-2.0
# Unit test of libveil's logging layer (lib/log.c): the journal's priority
# prefix, its detection, escaping, cutting, the one write per line.
UNIT_TESTS += test_log
SRCS_test_log := tests/unit/test_log.c

# veil-fsd's log.c sits on lib/log.c; the 9P fuzzer links veil-fsd's
# sources without libveil, so it needs lib/log.c by name (added once).
FUZZ_LIBSRCS_fuzz_9p := $(filter-out lib/log.c,$(FUZZ_LIBSRCS_fuzz_9p)) lib/log.c
