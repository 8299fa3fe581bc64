/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The few definitions the shared codec (common/veil_md.c) needs, so the same
 * file compiles in the kernel (dm-veil.ko) and in userspace (libveil).
 *
 * Kernel: the real kernel headers.  Userspace: u8..u64, the le*_to_cpu
 * family, static_assert, and veil_crc32c() from common/crc32c_user.c.
 *
 * veil_crc32c(crc, buf, len) has the convention of the kernel's crc32c():
 * the running value is passed in and returned as is, with no inversion on
 * entry or exit.  The standard CRC-32C of a buffer is therefore
 * ~veil_crc32c(~0, buf, len).
 */
#ifndef _VEIL_PORT_H
#define _VEIL_PORT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/build_bug.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/crc32c.h>
#include <asm/byteorder.h>

#define veil_crc32c(crc, buf, len)	crc32c((crc), (buf), (len))

#else /* userspace */

#include <stdbool.h>
#include <stddef.h>
#include <assert.h>
#include <string.h>
#include <errno.h>
#include <endian.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define le16_to_cpu(x)	le16toh(x)
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)
#define cpu_to_le16(x)	htole16(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)

u32 veil_crc32c(u32 crc, const void *buf, size_t len);

#endif /* __KERNEL__ */

#endif /* _VEIL_PORT_H */
