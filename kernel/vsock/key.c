// SPDX-License-Identifier: GPL-2.0
/*
 * The VM's shared secret for the proof handshake, fetched through veil.ko's
 * event queue from the key daemon (consumer VEIL_CONSUMER_VSOCK) at every
 * connect, kept only until the handshake is over, then wiped.  It is never
 * read from or written to a file here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "core/veil_core.h"
#include "vsock9p.h"

struct vs9p_key_wait {
	struct completion done;
	bool answered;			/* the callback ran */
	int err;
	char reason[VEIL_REASON_MAX];
	struct vs9p_secret *secret;
};

/* Runs once, in process context; the keyblob is wiped when we return. */
static void vs9p_key_cb(void *ctx, int err, const struct veil_keyblob *kb,
			const char *reason)
{
	struct vs9p_key_wait *w = ctx;

	might_sleep();
	if (err) {
		w->err = err;
		strscpy(w->reason, reason, sizeof(w->reason));
	} else if (!kb->key_len || kb->key_len > sizeof(w->secret->key)) {
		w->err = -EKEYREJECTED;
		strscpy(w->reason, "secret length out of range",
			sizeof(w->reason));
	} else {
		memcpy(w->secret->key, kb->key, kb->key_len);
		w->secret->len = kb->key_len;
	}
	w->answered = true;
	complete(&w->done);
}

void vs9p_secret_free(struct vs9p_secret *secret)
{
	kfree_sensitive(secret);
}

struct vs9p_secret *vs9p_key_fetch(const struct vs9p_conn *conn)
{
	struct vs9p_key_wait *w;
	struct vs9p_secret *secret;
	struct veil_key_req *req;
	char object[VEIL_OBJECT_MAX];
	long left;
	int err;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return ERR_PTR(-ENOMEM);
	secret = kzalloc(sizeof(*secret), GFP_KERNEL);
	if (!secret) {
		err = -ENOMEM;
		goto out_free_wait;
	}
	init_completion(&w->done);
	w->secret = secret;

	snprintf(object, sizeof(object), "vsock:%s", conn->name);
	req = veil_key_request(VEIL_CONSUMER_VSOCK, object, conn->opts.key_id,
			       conn->opts.key_id_len, NULL, vs9p_key_cb, w);
	if (IS_ERR(req)) {
		err = PTR_ERR(req);
		pr_err("%s: cannot post the key request: %d\n", conn->name, err);
		goto out_free_secret;
	}

	left = wait_for_completion_killable_timeout(&w->done,
						    conn->opts.key_timeout * HZ);
	/* After this the callback is not running and never will, and
	 * whatever it stored is visible here (the wait consumed the
	 * completion, so the flag, not completion_done(), says it ran).
	 */
	veil_key_cancel(req);

	if (w->answered) {
		err = w->err;
		if (err)
			pr_err("%s: the key daemon refused the secret for the proof: %d%s%s\n",
			       conn->name, err, w->reason[0] ? ", " : "",
			       w->reason);
	} else if (left < 0) {
		err = left;		/* killed while waiting */
	} else {
		err = -ETIMEDOUT;
		pr_err("%s: no secret for the proof from the key daemon within %u s (is veild running?)\n",
		       conn->name, conn->opts.key_timeout);
	}
	if (err)
		goto out_free_secret;
	kfree(w);
	return secret;

out_free_secret:
	vs9p_secret_free(secret);
out_free_wait:
	kfree(w);
	return ERR_PTR(err);
}
