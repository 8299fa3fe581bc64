# SPDX-License-Identifier: GPL-2.0
# libveil: the eVLU metadata codec (shared with dm-veil.ko), its userspace
# CRC-32C, and the one metadata read/write path.
LIBVEIL_SRCS += common/veil_md.c common/crc32c_user.c lib/md_io.c lib/util.c lib/version.c
LIBVEIL_SRCS += lib/log.c
