# SPDX-License-Identifier: GPL-2.0
# Test and debug tools.  veil-mdtool runs inside the QEMU guest's initramfs:
# --as-needed keeps the libnl libraries the top Makefile adds to every
# program out of its dependencies, since it uses none of them.
PROGRAMS += veil-mdtool
SRCS_veil-mdtool := tests/tools/veil-mdtool.c
LIBS_veil-mdtool := -Wl,--as-needed
