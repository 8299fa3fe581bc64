# SPDX-License-Identifier: GPL-2.0
# The sandbox probe: veil-fsd's sandbox_enter(), then an attacker's tries
# (tests/e2e/fsd-sandbox/run.sh).  A test program: never installed.
PROGRAMS += fsd-sandbox-probe
SRCS_fsd-sandbox-probe := tests/e2e/fsd-sandbox/probe.c daemon/fsd/sandbox.c $(FSD_LIBSRCS)
LIBS_fsd-sandbox-probe := -lssl -lcrypto -lpthread -lm -lseccomp
CFLAGS_probe := -I$(TOP)/daemon/fsd
