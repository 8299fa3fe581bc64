# SPDX-License-Identifier: GPL-2.0
# Unit tests of veilctl's parsers and JSON writer (no devices needed), and
# of the veilctl binary next to them on image files, as root and as nobody.
UNIT_TESTS += test_veilctl
SRCS_test_veilctl := tests/unit/test_veilctl.c $(VEILCTL_LIBSRCS)
CFLAGS_test_veilctl := -I$(TOP)/tools/veilctl
LIBS_test_veilctl := -Wl,--as-needed
unit-check: $(BUILD)/bin/veilctl $(BUILD)/san/bin/veilctl \
	$(BUILD)/bin/veil-mdtool $(BUILD)/san/bin/veil-mdtool
