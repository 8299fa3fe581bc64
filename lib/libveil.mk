# SPDX-License-Identifier: GPL-2.0
# libveil: the eVLU metadata codec (shared with dm-veil.ko), its userspace
# CRC-32C, the one metadata read/write path, the one config-file tokenizer
# (lib/conf.c), the veiltab parser built on it (lib/veiltab.c) and the one
# logging layer (lib/log.c).
LIBVEIL_SRCS += common/veil_md.c common/crc32c_user.c lib/md_io.c lib/util.c lib/version.c \
	lib/conf.c lib/log.c lib/veiltab.c
