# SPDX-License-Identifier: GPL-2.0
# veil-fsd against the kernel's own v9fs (trans=unix, and trans=vsock over
# vsock loopback where 9pnet_vsock.ko is built).
KSFT_PROGS += veil_fsd_test
SRCS_veil_fsd_test := tests/kselftest/fsd/veil_fsd_test.c
LIBS_veil_fsd_test := -lcrypto
CFLAGS_veil_fsd_test := -Wno-sign-compare
