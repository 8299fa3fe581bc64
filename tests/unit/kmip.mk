# SPDX-License-Identifier: GPL-2.0
# Unit tests of libveil's KMIP codec, reply parsers and configuration.
UNIT_TESTS += test_kmip
SRCS_test_kmip := tests/unit/test_kmip.c
LIBS_test_kmip := $(KMIP_LIBS)
