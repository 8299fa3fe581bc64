/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The key request table of veil.ko: what netlink.c may ask of it.  The
 * module's internals are named vcore_; its exported API (veil_core.h)
 * keeps veil_.
 */
#ifndef _VEIL_REQUEST_H
#define _VEIL_REQUEST_H

#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/workqueue.h>
#include "veil_core.h"

enum vcore_req_state {
	VEIL_REQ_PENDING,	/* in the table, waiting for the daemon */
	VEIL_REQ_CALLING,	/* answered, callback queued or running */
	VEIL_REQ_DONE,		/* callback returned */
	VEIL_REQ_CANCELLED,	/* consumer cancelled before any answer */
};

struct veil_key_req {
	u32 id;				/* handle sent to the daemon */
	enum veil_consumer consumer;
	enum vcore_req_state state;
	veil_key_cb_t cb;
	void *ctx;
	u32 key_id_len;
	u8 key_id[VEIL_KEY_ID_MAX];
	char object[VEIL_OBJECT_MAX];
	char hint[VEIL_KEY_HINT_MAX];	/* "" if none */
	/* The answer, from CALLING on: */
	struct work_struct work;	/* delivers it on vcore_answer_wq */
	int err;
	struct veil_keyblob *kb;	/* err == 0: the key, wiped after use */
	char reason[VEIL_REASON_MAX];	/* err < 0: "" if none */
};

/* A daemon registered on socket portid; pid is the registering tgid. */
void vcore_req_daemon_register(u32 portid, struct pid *pid);
/* Socket portid closed; forget it if it was the daemon's. */
void vcore_req_daemon_release(u32 portid);
/* Daemon pid as seen from the caller's pid namespace, pending count. */
void vcore_req_info(u32 *daemon_pid, u32 *pending);

/*
 * Answer pending request id: with kb (err == 0) or with err < 0 and reason.
 * Returns 0 once the answer is queued for the consumer's callback, which
 * then owns kb (and frees it with kfree_sensitive() after the callback);
 * -ENOENT if no request with that handle is pending, -EKEYREJECTED if
 * key_id is not the request's (the request then stays pending); kb stays
 * the caller's on an error.
 */
int vcore_req_answer(u32 id, const u8 *key_id, u32 key_id_len, int err,
		     struct veil_keyblob *kb, const char *reason,
		     struct netlink_ext_ack *extack);

/* Module init: the workqueue that delivers answers. */
int vcore_req_init(void);
/* Module exit: the table must be empty by now; frees what a buggy consumer
 * leaked.
 */
void vcore_req_exit(void);

#endif /* _VEIL_REQUEST_H */
