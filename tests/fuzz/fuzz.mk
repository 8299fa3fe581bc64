# SPDX-License-Identifier: GPL-2.0
# libFuzzer targets, one per parser; seed corpora in tests/fuzz/corpus/NAME.
FUZZ_TARGETS += fuzz_md
SRCS_fuzz_md := tests/fuzz/fuzz_md.c
FUZZ_LIBSRCS_fuzz_md := common/veil_md.c common/crc32c_user.c
FUZZ_TARGETS += fuzz_veiltab
SRCS_fuzz_veiltab := tests/fuzz/fuzz_veiltab.c
FUZZ_LIBSRCS_fuzz_veiltab := lib/veiltab.c lib/conf.c lib/util.c
