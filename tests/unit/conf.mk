# SPDX-License-Identifier: GPL-2.0
# Unit tests of the one config-file tokenizer (lib/conf.c) and of the two
# parsers built on it: veild's (lib/kmip/config.c) and veil-fsd's.
UNIT_TESTS += test_conf
SRCS_test_conf := tests/unit/test_conf.c daemon/fsd/config.c daemon/fsd/shape.c
LIBS_test_conf := $(KMIP_LIBS) -lm
