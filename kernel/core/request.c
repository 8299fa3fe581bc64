// SPDX-License-Identifier: GPL-2.0
/*
 * The key request table: every request a consumer posted and the daemon has
 * not answered yet, and who the daemon is.
 *
 * Life of a request:
 *
 *   veil_key_request()   PENDING, in the table, posted to the daemon if any
 *   push / fail          PENDING -> CALLING (out of the table, the answer
 *                        queued on vcore_answer_wq) -> DONE when the
 *                        callback has returned
 *   veil_key_cancel()    PENDING -> CANCELLED, or waits for CALLING -> DONE;
 *                        then frees the request
 *
 * Locking:
 *
 *   vcore_req_lock (a mutex) protects the table (vcore_reqs), the pending
 *   count, the daemon's identity and every request's state while it is
 *   PENDING.  A request is in vcore_reqs exactly while it is PENDING, so a
 *   handle is unique among pending requests and a push can only find a
 *   request nobody has answered or cancelled.
 *
 *   Posting a request to the daemon happens under vcore_req_lock, so a
 *   request is sent once to each daemon: either by veil_key_request() or by
 *   the re-send that follows a registration, never by both.  Sending never
 *   blocks (netlink unicast from the kernel does not wait for the reader).
 *
 *   The answering thread (the daemon's push or fail) moves the request to
 *   CALLING under the lock (taking it out of the table), stores the answer
 *   in it and queues its work; it returns to the daemon at once.  Consumers
 *   are called back from vcore_answer_wq, never from inside the daemon's
 *   system call: a consumer may allocate, load a cipher module or take its
 *   own locks there without holding up the daemon or running under
 *   genetlink's locks, and an answer that unblocks I/O can be delivered
 *   even while memory is tight (the queue has a rescuer).  The work calls
 *   back without vcore_req_lock (a consumer may post another request from
 *   it), wipes the key, then stores DONE with release semantics and wakes
 *   vcore_req_wq; after that store it never touches the request again.
 *   veil_key_cancel() that finds CALLING or DONE waits on vcore_req_wq until
 *   it reads DONE (acquire), then frees.  So the callback runs at most once
 *   (only the answer that took the request out of the table queues it) and
 *   never after veil_key_cancel() returns.
 *
 *   Lock order: genetlink's locks, then vcore_req_lock.  No veil lock is held
 *   while calling a consumer.
 *
 * The daemon is known by its socket's port id.  netlink frees a port id
 * just before it reports the socket's release, so a process that closes its
 * daemon socket and at once registers a new one that gets the same id can
 * be forgotten by the late release notice; GET_INFO then shows no daemon
 * and registering again fixes it.  veild keeps one socket for its life.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "netlink.h"
#include "request.h"

static DEFINE_MUTEX(vcore_req_lock);
static DEFINE_XARRAY_ALLOC1(vcore_reqs);
static DECLARE_WAIT_QUEUE_HEAD(vcore_req_wq);
static struct workqueue_struct *vcore_answer_wq;
static u32 vcore_req_next_id;		/* cyclic: handles are not reused soon */
static u32 vcore_req_pending;

static struct {
	u32 portid;			/* 0: no daemon */
	struct pid *pid;
} vcore_daemon;

/* Called with vcore_req_lock held.  A failed send leaves the request pending;
 * it goes out again when a daemon (re-)registers.
 */
static void vcore_req_post_locked(struct veil_key_req *req)
{
	int err;

	lockdep_assert_held(&vcore_req_lock);
	if (!vcore_daemon.portid)
		return;
	err = vcore_nl_post(vcore_daemon.portid, req);
	if (err)
		pr_warn_ratelimited("could not send request %u (%s) to the key daemon: %d; it stays pending until the daemon registers again\n",
				    req->id, req->object, err);
}

/* Deliver an answer to its consumer, in process context. */
static void vcore_req_deliver(struct work_struct *w)
{
	struct veil_key_req *req = container_of(w, struct veil_key_req, work);

	if (req->err)
		req->cb(req->ctx, req->err, NULL, req->reason);
	else
		req->cb(req->ctx, 0, req->kb, "");
	kfree_sensitive(req->kb);
	req->kb = NULL;

	/* Last access to req, pairs with the acquire in veil_key_cancel(),
	 * which may free req from here on.
	 */
	smp_store_release(&req->state, VEIL_REQ_DONE);
	wake_up_all(&vcore_req_wq);
}

struct veil_key_req *veil_key_request(enum veil_consumer consumer,
				      const char *object,
				      const u8 *key_id, u32 key_id_len,
				      const char *hint,
				      veil_key_cb_t cb, void *ctx)
{
	struct veil_key_req *req;
	int err;

	might_sleep();
	if (consumer <= VEIL_CONSUMER_NONE || consumer >= __VEIL_CONSUMER_MAX ||
	    !key_id || !key_id_len || key_id_len > VEIL_KEY_ID_MAX || !cb)
		return ERR_PTR(-EINVAL);
	if (!object)
		object = "";
	if (strlen(object) >= VEIL_OBJECT_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	if (!hint)
		hint = "";
	if (strlen(hint) >= VEIL_KEY_HINT_MAX)
		return ERR_PTR(-ENAMETOOLONG);

	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return ERR_PTR(-ENOMEM);
	req->consumer = consumer;
	req->state = VEIL_REQ_PENDING;
	INIT_WORK(&req->work, vcore_req_deliver);
	req->cb = cb;
	req->ctx = ctx;
	req->key_id_len = key_id_len;
	memcpy(req->key_id, key_id, key_id_len);
	strscpy(req->object, object, sizeof(req->object));
	strscpy(req->hint, hint, sizeof(req->hint));

	mutex_lock(&vcore_req_lock);
	err = xa_alloc_cyclic(&vcore_reqs, &req->id, req, XA_LIMIT(1, U32_MAX),
			      &vcore_req_next_id, GFP_KERNEL);
	if (err < 0) {
		mutex_unlock(&vcore_req_lock);
		kfree(req);
		return ERR_PTR(err);
	}
	vcore_req_pending++;
	vcore_req_post_locked(req);
	mutex_unlock(&vcore_req_lock);
	return req;
}
EXPORT_SYMBOL_GPL(veil_key_request);

static bool vcore_req_done(struct veil_key_req *req)
{
	/* Pairs with the release in vcore_req_deliver(): once DONE is seen,
	 * the answering thread is done with req.
	 */
	return smp_load_acquire(&req->state) == VEIL_REQ_DONE;
}

void veil_key_cancel(struct veil_key_req *req)
{
	bool answered = false;

	might_sleep();
	if (IS_ERR_OR_NULL(req))
		return;

	mutex_lock(&vcore_req_lock);
	if (req->state == VEIL_REQ_PENDING) {
		xa_erase(&vcore_reqs, req->id);
		vcore_req_pending--;
		req->state = VEIL_REQ_CANCELLED;
	} else {
		answered = true;
	}
	mutex_unlock(&vcore_req_lock);

	if (answered)
		wait_event(vcore_req_wq, vcore_req_done(req));
	kfree(req);
}
EXPORT_SYMBOL_GPL(veil_key_cancel);

int vcore_req_answer(u32 id, const u8 *key_id, u32 key_id_len, int err,
		     struct veil_keyblob *kb, const char *reason,
		     struct netlink_ext_ack *extack)
{
	struct veil_key_req *req;

	mutex_lock(&vcore_req_lock);
	req = xa_load(&vcore_reqs, id);
	if (!req) {
		mutex_unlock(&vcore_req_lock);
		NL_SET_ERR_MSG(extack, "no pending key request with this handle");
		return -ENOENT;
	}
	if (key_id_len != req->key_id_len ||
	    memcmp(key_id, req->key_id, key_id_len)) {
		mutex_unlock(&vcore_req_lock);
		NL_SET_ERR_MSG(extack, "key-id does not match request");
		return -EKEYREJECTED;
	}
	xa_erase(&vcore_reqs, id);
	vcore_req_pending--;
	req->state = VEIL_REQ_CALLING;
	req->err = err;
	req->kb = err ? NULL : kb;
	strscpy(req->reason, err && reason ? reason : "", sizeof(req->reason));
	queue_work(vcore_answer_wq, &req->work);
	mutex_unlock(&vcore_req_lock);
	return 0;
}

void vcore_req_daemon_register(u32 portid, struct pid *pid)
{
	struct veil_key_req *req;
	struct pid *old;
	unsigned long id;

	mutex_lock(&vcore_req_lock);
	old = vcore_daemon.pid;
	WRITE_ONCE(vcore_daemon.portid, portid);
	vcore_daemon.pid = get_pid(pid);
	pr_info_ratelimited("key daemon registered (pid %d, port %u), %u request(s) pending\n",
			    pid_nr(pid), portid, vcore_req_pending);
	xa_for_each(&vcore_reqs, id, req)
		vcore_req_post_locked(req);
	mutex_unlock(&vcore_req_lock);
	put_pid(old);
}

void vcore_req_daemon_release(u32 portid)
{
	struct pid *old;

	/* Every generic netlink socket in the system ends up here; most are
	 * not the daemon's.
	 */
	if (READ_ONCE(vcore_daemon.portid) != portid)
		return;

	mutex_lock(&vcore_req_lock);
	if (vcore_daemon.portid != portid) {
		mutex_unlock(&vcore_req_lock);
		return;
	}
	old = vcore_daemon.pid;
	WRITE_ONCE(vcore_daemon.portid, 0);
	vcore_daemon.pid = NULL;
	pr_info_ratelimited("key daemon (pid %d) went away, %u request(s) stay pending until a daemon registers\n",
			    pid_nr(old), vcore_req_pending);
	mutex_unlock(&vcore_req_lock);
	put_pid(old);
}

void vcore_req_info(u32 *daemon_pid, u32 *pending)
{
	mutex_lock(&vcore_req_lock);
	*daemon_pid = vcore_daemon.pid ? pid_vnr(vcore_daemon.pid) : 0;
	*pending = vcore_req_pending;
	mutex_unlock(&vcore_req_lock);
}

int vcore_req_init(void)
{
	vcore_answer_wq = alloc_workqueue("veil_answer",
					  WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	return vcore_answer_wq ? 0 : -ENOMEM;
}

void vcore_req_exit(void)
{
	struct veil_key_req *req;
	unsigned long id;

	/*
	 * A consumer module holds a reference on veil.ko through the symbols
	 * it uses, so by now every consumer is gone.  A request left here was
	 * leaked by one: its callback points into unloaded code, so it is only
	 * freed, never called.
	 */
	xa_for_each(&vcore_reqs, id, req) {
		WARN_ONCE(1, "veil: request %u for %s leaked by its consumer\n",
			  req->id, req->object);
		xa_erase(&vcore_reqs, id);
		kfree(req);
	}
	xa_destroy(&vcore_reqs);
	/* Empty: a consumer cancels (and so waits for) every answer. */
	destroy_workqueue(vcore_answer_wq);
	vcore_req_pending = 0;
	put_pid(vcore_daemon.pid);
	vcore_daemon.pid = NULL;
	vcore_daemon.portid = 0;
}
