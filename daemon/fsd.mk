# SPDX-License-Identifier: GPL-2.0
# veil-fsd: the trusted multi-tenant 9P2000.L server (daemon/fsd/).
FSD_LIBSRCS := daemon/fsd/config.c daemon/fsd/proto.c daemon/fsd/shape.c \
	daemon/fsd/path.c daemon/fsd/fid.c daemon/fsd/ops.c daemon/fsd/cred.c \
	daemon/fsd/vm.c daemon/fsd/conn.c daemon/fsd/proof.c daemon/fsd/log.c
PROGRAMS += veil-fsd
SRCS_veil-fsd := daemon/fsd/main.c daemon/fsd/listen.c daemon/fsd/control.c \
	daemon/fsd/sandbox.c $(FSD_LIBSRCS)
LIBS_veil-fsd := -lssl -lcrypto -lpthread -lm -lseccomp
