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
#include <linux/crypto.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>

/*
 * Generic netlink: since 6.2 the family's pre_doit/post_doit hooks receive
 * a struct genl_split_ops (the core splits every op into do and dump
 * halves); before, they received the struct genl_ops the family declared.
 * Both carry internal_flags, which is all veil reads from them.
 */
/*
 * Checked and found identical in both series, so no entry is needed: how
 * the core receives a request for a family declared with full genl_ops
 * (6.12 converts them to split ops internally, the same way).  In order:
 * family not in this netns; header check (reserved byte, nlmsg_flags) for
 * commands >= resv_start_op; GENL_ADMIN_PERM; an op without policy takes
 * the family's maxattr and policy, then, for commands >= resv_start_op, a
 * reject-everything policy; attributes parsed strictly only if maxattr is
 * non-zero; pre_doit; doit.  6.12's genl_split_ops declared directly would
 * differ (never the family's defaults, and a reject-everything policy
 * whatever resv_start_op), but veil declares full ops.
 */
#if KERNEL_VERSION(6, 2, 0) <= LINUX_VERSION_CODE
#define veil_genl_hook_ops genl_split_ops
#else
#define veil_genl_hook_ops genl_ops
#endif

/* dm-veil */

/*
 * Workqueues: 6.9 added system_bh_wq, whose work runs in softirq context
 * (dm-crypt moved its interrupt-context reads there from per-bio
 * tasklets).  dm-veil decrypts such a read there; before 6.9 it runs a
 * tasklet of its own per CPU instead (crypt.c).
 */
#if KERNEL_VERSION(6, 9, 0) <= LINUX_VERSION_CODE
#define veil_bh_wq system_bh_wq
#else
#define veil_bh_wq ((struct workqueue_struct *)NULL)
#endif

/*
 * Crypto API: since 6.3 an asynchronous request's completion callback
 * (crypto_completion_t) receives the data pointer given with the callback;
 * before, it received the struct crypto_async_request holding it.
 */
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
#define veil_crypto_cb_arg void *
#define veil_crypto_cb_data(arg) (arg)
#else
#define veil_crypto_cb_arg struct crypto_async_request *
#define veil_crypto_cb_data(arg) ((arg)->data)
#endif

/* 9p / vsock */

/*
 * The unaligned access helpers (get_unaligned_le32() and friends): 6.12
 * moved them from <asm/unaligned.h> to <linux/unaligned.h> and dropped the
 * old name.  The 9P transport (9pnet_vsock) reads frame headers with them.
 *
 * Checked and found identical in both series, so no entry is needed: the
 * transport API of <net/9p/transport.h> (struct p9_trans_module fields,
 * create(client, devname, args)), and in <net/9p/client.h> p9_tag_lookup(c,
 * tag) returning a referenced request, p9_req_get/p9_req_try_get,
 * p9_req_put(c, r), p9_client_cb(c, req, status), struct p9_req_t with its
 * refcount, and struct p9_fcall (6.12 only adds a zc flag the transport
 * does not use): Debian's 6.1 carries the stable backports of the request
 * refcounting.  Also identical: kernel_connect/kernel_getsockname/
 * kernel_sendmsg/kernel_recvmsg/kernel_sock_shutdown, struct vsock_sock's
 * connect_timeout, and the crypto_shash calls.
 */
#if KERNEL_VERSION(6, 12, 0) <= LINUX_VERSION_CODE
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#endif /* _VEIL_COMPAT_H */
