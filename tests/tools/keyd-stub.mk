# SPDX-License-Identifier: GPL-2.0
# veil-keyd-stub: a fake key daemon for tests (runs in the QEMU guest).
# It shares its netlink client with the core kselftest.
PROGRAMS += veil-keyd-stub
SRCS_veil-keyd-stub := tests/tools/veil-keyd-stub.c
CFLAGS_veil-keyd-stub := -I$(TOP)/tests/kselftest/core
