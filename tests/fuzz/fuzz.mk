# SPDX-License-Identifier: GPL-2.0
# libFuzzer targets, one per parser; seed corpora in tests/fuzz/corpus/NAME.
FUZZ_TARGETS += fuzz_md
SRCS_fuzz_md := tests/fuzz/fuzz_md.c
FUZZ_LIBSRCS_fuzz_md := common/veil_md.c common/crc32c_user.c

# The header backup file parser of veilctl header restore; seeds in
# tests/fuzz/corpus/fuzz_hb (written by fuzz_hb.c built with
# -DFUZZ_HB_WRITE_SEEDS).
FUZZ_TARGETS += fuzz_hb
SRCS_fuzz_hb := tests/fuzz/fuzz_hb.c
FUZZ_LIBSRCS_fuzz_hb := tools/veilctl/backup.c common/veil_md.c \
	common/crc32c_user.c

FUZZ_TARGETS += fuzz_veiltab
SRCS_fuzz_veiltab := tests/fuzz/fuzz_veiltab.c
FUZZ_LIBSRCS_fuzz_veiltab := lib/veiltab.c lib/conf.c lib/util.c
