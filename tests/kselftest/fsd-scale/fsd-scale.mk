# SPDX-License-Identifier: GPL-2.0
# veil-fsd with 100,000 files under its default descriptor budget (issue 7).
# Opt-in (make vm-check SUITES=fsd-scale): the find alone takes about 7
# minutes on TCG, since busybox's find walks to every file.
KSFT_PROGS += veil_fsd_scale_test
SRCS_veil_fsd_scale_test := tests/kselftest/fsd-scale/veil_fsd_scale_test.c
