/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel API of veil.ko for its consumers (dm-veil, 9pnet_vsock).
 *
 * A consumer asks for the key of a key-id.  veil.ko posts the request to the
 * key daemon over the "veil" generic netlink family and later calls the
 * consumer back exactly once: with the keyblob (err == 0) or with an error
 * and a reason.  The keyblob passed to the callback is owned by veil.ko and
 * is wiped as soon as the callback returns: the consumer copies what it needs
 * (e.g. sets it on its crypto tfm) and never keeps the pointer.
 */
#ifndef _VEIL_CORE_H
#define _VEIL_CORE_H

#include <linux/types.h>
#include <linux/veil.h>

struct veil_keyblob {
	u32 key_len;				/* bytes in key[] */
	char cipher[VEIL_CIPHER_MAX];		/* "" if the daemon sent none */
	u8 key[VEIL_KEY_MAX];
};

struct veil_key_req;

/*
 * Called once per request, in process context (may sleep) on veil.ko's own
 * workqueue, never inside the daemon's system call, and never after
 * veil_key_cancel() has returned.  err is 0 with kb set, or a negative
 * errno with kb NULL and reason a short NUL-terminated text ("" if none):
 *   -EKEYREJECTED  the key manager refused this host
 *   -ENOKEY        no such key
 *   -EHOSTUNREACH  key manager unreachable (after the daemon's retries)
 *   -EIO           any other failure the daemon reported
 * (the daemon may also report EKEYREVOKED, EKEYEXPIRED, EACCES, EPERM,
 * ETIMEDOUT, ECONNREFUSED, ENETUNREACH, EPROTO or EINVAL).  veil.ko itself
 * never fails a request: it cannot unload while a consumer module that uses
 * it is loaded, and requests have no timeout here.
 */
typedef void (*veil_key_cb_t)(void *ctx, int err,
			      const struct veil_keyblob *kb,
			      const char *reason);

/*
 * Post a key request.  object names the consumer's object in messages
 * ("dm-3"); key_id is copied; hint (may be NULL) tells the daemon where
 * the key manager keeps the key and is passed on as is.  Returns the
 * request or an ERR_PTR.  The request stays pending (and is re-sent to
 * every daemon that registers) until answered or cancelled; there is no
 * timeout here, the consumer owns its own timeout policy.  Process
 * context, may sleep; the callback may run before this returns (on
 * another CPU).  Errors: -EINVAL (bad consumer, key-id length not
 * 1..VEIL_KEY_ID_MAX, no callback), -ENAMETOOLONG (object not shorter
 * than VEIL_OBJECT_MAX, or hint than VEIL_KEY_HINT_MAX), -ENOMEM, -EBUSY
 * (no free handle).
 */
struct veil_key_req *veil_key_request(enum veil_consumer consumer,
				      const char *object,
				      const u8 *key_id, u32 key_id_len,
				      const char *hint,
				      veil_key_cb_t cb, void *ctx);

/*
 * Release a request.  Every request veil_key_request() returned must be
 * released exactly once with this, whether or not its callback ran.  Safe
 * against a concurrent answer: when it returns the callback is not running
 * and will never run, and the request is freed.  If the callback is running
 * it waits for it to return, so it must not be called from inside the
 * callback, nor with a lock the callback takes.  Process context, may sleep.
 */
void veil_key_cancel(struct veil_key_req *req);

#endif /* _VEIL_CORE_H */
