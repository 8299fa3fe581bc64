# SPDX-License-Identifier: GPL-2.0
# Unit tests of veild's offline key cache (daemon/veild/cache.c).
UNIT_TESTS += test_keycache
SRCS_test_keycache := tests/unit/test_keycache.c daemon/veild/cache.c
LIBS_test_keycache := -lssl -lcrypto
