# SPDX-License-Identifier: GPL-2.0
# Unit test of the veiltab parser (lib/veiltab.c): good lines, and every
# bad line with its own FILE:LINE message.
UNIT_TESTS += test_veiltab
SRCS_test_veiltab := tests/unit/test_veiltab.c
