/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernel series veil builds for (6.1 and 6.12), in
 * one place.  Code elsewhere uses only the names defined here and never tests
 * LINUX_VERSION_CODE itself.  Each entry says which kernel changed what.
 * (checkpatch warns about LINUX_VERSION_CODE; this file is the one place an
 * out-of-tree module needs it.)
 */
#ifndef _VEIL_COMPAT_H
#define _VEIL_COMPAT_H

#include <linux/version.h>
#include <net/genetlink.h>

/*
 * Generic netlink: since 6.2 the family's pre_doit/post_doit hooks receive
 * a struct genl_split_ops (the core splits every op into do and dump
 * halves); before, they received the struct genl_ops the family declared.
 * Both carry internal_flags, which is all veil reads from them.
 */
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE
#define veil_genl_hook_ops genl_split_ops
#else
#define veil_genl_hook_ops genl_ops
#endif

#endif /* _VEIL_COMPAT_H */
