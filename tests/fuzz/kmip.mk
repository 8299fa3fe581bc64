# SPDX-License-Identifier: GPL-2.0
# libFuzzer target for the KMIP reply decoder; seeds in corpus/fuzz_kmip
# (replies encoded by PyKMIP 0.10).
FUZZ_TARGETS += fuzz_kmip
SRCS_fuzz_kmip := tests/fuzz/fuzz_kmip.c
FUZZ_LIBSRCS_fuzz_kmip := lib/kmip/ttlv.c lib/kmip/proto.c lib/util.c
LIBS_fuzz_kmip := -lcrypto
