# SPDX-License-Identifier: GPL-2.0
# Unit test of veilctl's re-encryption journal (tools/veilctl/reenc.c) on
# an image file, and of the veilctl binary's refusals around it.
UNIT_TESTS += test_reenc
SRCS_test_reenc := tests/unit/test_reenc.c tools/veilctl/reenc.c
CFLAGS_test_reenc := -I$(TOP)/tools/veilctl
