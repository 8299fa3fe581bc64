# SPDX-License-Identifier: GPL-2.0
# Unit tests of veil-fsd: its 9P codec, shaper, config parser, and request
# handling with path confinement on a temporary directory.
UNIT_TESTS += test_fsd_ops
SRCS_test_fsd_ops := tests/unit/test_fsd_ops.c $(FSD_LIBSRCS)
LIBS_test_fsd_ops := -lssl -lcrypto -lpthread -lm
UNIT_TESTS += test_fsd_units
SRCS_test_fsd_units := tests/unit/test_fsd_units.c daemon/fsd/proto.c daemon/fsd/shape.c \
	daemon/fsd/config.c
LIBS_test_fsd_units := -lpthread -lm
