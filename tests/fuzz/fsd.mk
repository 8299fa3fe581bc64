# SPDX-License-Identifier: GPL-2.0
# libFuzzer target for veil-fsd's 9P decoder and dispatcher; seeds in
# tests/fuzz/corpus/fuzz_9p (written by fuzz_9p.c built with
# -DFUZZ_9P_WRITE_SEEDS).
FUZZ_TARGETS += fuzz_9p
SRCS_fuzz_9p := tests/fuzz/fuzz_9p.c
FUZZ_LIBSRCS_fuzz_9p := daemon/fsd/config.c daemon/fsd/proto.c daemon/fsd/shape.c \
	daemon/fsd/path.c daemon/fsd/fid.c daemon/fsd/ops.c daemon/fsd/cred.c \
	daemon/fsd/vm.c daemon/fsd/conn.c daemon/fsd/proof.c daemon/fsd/log.c lib/util.c \
	lib/conf.c
LIBS_fuzz_9p := -lssl -lcrypto -lpthread -lm
