// SPDX-License-Identifier: GPL-2.0
/*
 * One connection's requests between the 9p client and the socket.
 *
 * A request is written to the socket by the process that makes it when
 * nothing else is being sent, as far as the peer's credit takes it without
 * waiting; that spares the guest two context switches per request.
 * Otherwise the sender thread writes it: it takes requests off the unsent
 * list in order, moves each to the sent list and writes it whole, blocking
 * while the peer's receive window is full; it also finishes a frame that
 * a caller could not finish without waiting.  A caller never waits in the
 * socket, so a signal to a user process cannot leave a frame half-sent.
 * The receiver thread reads one 9P frame at a time (size[4] type[1] tag[2]
 * body), finds the request by tag and reads the body straight into that
 * request's reply buffer.  Both threads sleep in the socket, never poll.
 * Blocking sockets in kernel threads rather than callbacks and work items
 * (as trans_fd does) keep each direction a plain loop.
 *
 * Anything wrong on the wire (a frame shorter than its header or longer
 * than msize, an unknown tag, a reply to a request that is not waiting for
 * one, a reply type that does not answer the request, a reply larger than
 * the request's buffer) fails the whole connection: the stream can no longer
 * be trusted to be in step.  Failing a connection completes every request
 * still on a list with the error, refuses new ones, and leaves both threads
 * parked until close stops them.
 *
 * Request references: the 9p client gives each request one reference that
 * p9_client_cb() drops; here it belongs to whichever list the request is
 * on, and moves with it.  The sender holds one more while it writes a
 * request, the receiver one (from p9_tag_lookup()) while it fills one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include "compat.h"
#include <net/9p/9p.h>
#include <net/9p/client.h>

#include "vsock9p.h"

void vs9p_conn_init(struct vs9p_conn *conn, struct p9_client *client)
{
	conn->client = client;
	spin_lock_init(&conn->lock);
	INIT_LIST_HEAD(&conn->unsent);
	INIT_LIST_HEAD(&conn->sent);
	init_waitqueue_head(&conn->tx_wait);
}

/* Fail the connection with err (negative): the first call wins. */
static void vs9p_conn_fail(struct vs9p_conn *conn, int err)
{
	struct p9_req_t *req, *tmp, *partial;
	LIST_HEAD(dead);

	spin_lock(&conn->lock);
	if (conn->err) {
		spin_unlock(&conn->lock);
		return;
	}
	conn->err = err;
	list_splice_init(&conn->sent, &dead);
	list_splice_tail_init(&conn->unsent, &dead);
	list_for_each_entry(req, &dead, req_list)
		WRITE_ONCE(req->status, REQ_STATUS_ERROR);
	partial = conn->tx_partial;
	conn->tx_partial = NULL;
	spin_unlock(&conn->lock);

	/* A half-sent frame's request is on dead too; this was the writer's. */
	if (partial)
		p9_req_put(conn->client, partial);

	/* Off every list and in ERROR: nobody else touches req_list now. */
	list_for_each_entry_safe(req, tmp, &dead, req_list) {
		list_del_init(&req->req_list);
		if (!req->t_err)
			req->t_err = err;
		p9_client_cb(conn->client, req, REQ_STATUS_ERROR);
	}
	wake_up(&conn->tx_wait);
}

/* After a failure a thread waits here for close to stop it. */
/* Is the connection being closed (so a socket error is expected)? */
static bool vs9p_conn_stopping(struct vs9p_conn *conn)
{
	/* The socket lock that the shutdown and the failed call both take
	 * orders the flag before the error.
	 */
	return kthread_should_stop() || READ_ONCE(conn->stopping);
}

static void vs9p_park_until_stopped(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/* ------------------------------------------------------------- sender --- */

/* Take the socket's sending side for req, moving it to sent (lock). */
static void vs9p_tx_claim(struct vs9p_conn *conn, struct p9_req_t *req)
{
	lockdep_assert_held(&conn->lock);
	conn->tx_busy = true;
	list_move_tail(&req->req_list, &conn->sent);
	WRITE_ONCE(req->status, REQ_STATUS_SENT);
	p9_req_get(req);
}

/*
 * The next frame for the sender: the rest of one a caller began (from
 * *off), else the first unsent request; NULL when there is none or the
 * socket is taken.  The sender then owns the socket's sending side.
 */
static struct p9_req_t *vs9p_tx_next(struct vs9p_conn *conn, int *err,
				     size_t *off)
{
	struct p9_req_t *req = NULL;

	spin_lock(&conn->lock);
	*err = conn->err;
	*off = 0;
	if (*err || conn->tx_busy)
		goto out;
	if (conn->tx_partial) {
		req = conn->tx_partial;
		conn->tx_partial = NULL;
		*off = conn->tx_off;
		conn->tx_busy = true;
	} else {
		req = list_first_entry_or_null(&conn->unsent, struct p9_req_t,
					       req_list);
		if (req)
			vs9p_tx_claim(conn, req);
	}
out:
	spin_unlock(&conn->lock);
	return req;
}

/* Give the socket's sending side back; true if the sender has work. */
static bool vs9p_tx_release(struct vs9p_conn *conn)
{
	bool more;

	spin_lock(&conn->lock);
	conn->tx_busy = false;
	more = conn->tx_partial || !list_empty(&conn->unsent);
	spin_unlock(&conn->lock);
	return more;
}

static bool vs9p_tx_ready(struct vs9p_conn *conn)
{
	bool ready;

	if (kthread_should_stop())
		return true;
	spin_lock(&conn->lock);
	ready = conn->err || (!conn->tx_busy &&
			      (conn->tx_partial || !list_empty(&conn->unsent)));
	spin_unlock(&conn->lock);
	return ready;
}

static int vs9p_tx_thread(void *data)
{
	struct vs9p_conn *conn = data;
	struct p9_req_t *req;
	size_t off;
	int err;

	while (!kthread_should_stop()) {
		/* A kernel thread gets no signals; this only sleeps
		 * interruptibly so that an idle mount is not a hung task.
		 */
		if (wait_event_interruptible(conn->tx_wait,
					     vs9p_tx_ready(conn)))
			continue;
		req = vs9p_tx_next(conn, &err, &off);
		if (err)
			break;
		if (!req)
			continue;
		err = vs9p_sock_send(conn->sock, req->tc.sdata + off,
				     req->tc.size - off);
		p9_req_put(conn->client, req);
		vs9p_tx_release(conn);
		if (err) {
			if (!vs9p_conn_stopping(conn))
				pr_err("%s: send failed: %d; failing all requests\n",
				       conn->name, err);
			vs9p_conn_fail(conn, err);
			break;
		}
	}
	vs9p_park_until_stopped();
	return 0;
}

/* ----------------------------------------------------------- receiver --- */

static bool vs9p_reply_type_ok(u8 rtype, u8 ttype)
{
	return rtype == ttype + 1 || rtype == P9_RLERROR || rtype == P9_RERROR;
}

static int vs9p_rx_frame(struct vs9p_conn *conn)
{
	struct p9_client *client = conn->client;
	struct p9_req_t *req;
	u8 hdr[P9_HDRSZ];
	u32 size, msize;
	bool waiting;
	u16 tag;
	u8 type;
	int err;

	err = vs9p_sock_recv(conn->sock, hdr, sizeof(hdr));
	if (err)
		return err;
	size = get_unaligned_le32(hdr);
	type = hdr[4];
	tag = get_unaligned_le16(hdr + 5);

	msize = READ_ONCE(client->msize);
	if (size < P9_HDRSZ || size > msize) {
		pr_err("%s: server sent a frame of %u bytes, outside %u..%u (msize)\n",
		       conn->name, size, P9_HDRSZ, msize);
		return -EIO;
	}

	req = p9_tag_lookup(client, tag);
	if (!req) {
		pr_err("%s: server replied with tag %u, which matches no request\n",
		       conn->name, tag);
		return -EIO;
	}

	spin_lock(&conn->lock);
	waiting = req->status == REQ_STATUS_SENT;
	spin_unlock(&conn->lock);
	if (!waiting) {
		pr_err("%s: server replied to tag %u, which is not waiting for a reply\n",
		       conn->name, tag);
		err = -EIO;
		goto out_put;
	}
	if (!vs9p_reply_type_ok(type, req->tc.id)) {
		pr_err("%s: server answered a message of type %u with type %u\n",
		       conn->name, req->tc.id, type);
		err = -EIO;
		goto out_put;
	}
	if (!req->rc.sdata || size > req->rc.capacity) {
		pr_err("%s: server reply of %u bytes to tag %u exceeds its buffer (%zu)\n",
		       conn->name, size, tag, req->rc.capacity);
		err = -EIO;
		goto out_put;
	}

	memcpy(req->rc.sdata, hdr, sizeof(hdr));
	err = vs9p_sock_recv(conn->sock, req->rc.sdata + sizeof(hdr),
			     size - sizeof(hdr));
	if (err)
		goto out_put;

	/* Still SENT unless the connection failed meanwhile (then the
	 * request was already completed with the error).
	 */
	spin_lock(&conn->lock);
	if (req->status == REQ_STATUS_SENT) {
		req->rc.size = size;
		list_del_init(&req->req_list);
		p9_client_cb(client, req, REQ_STATUS_RCVD);
	}
	spin_unlock(&conn->lock);

out_put:
	p9_req_put(client, req);
	return err;
}

static int vs9p_rx_thread(void *data)
{
	struct vs9p_conn *conn = data;
	bool first = true;
	int err = 0;

	while (!kthread_should_stop()) {
		err = vs9p_rx_frame(conn);
		if (err)
			break;
		if (first) {
			/* The server has answered Tversion: from now on a
			 * mount may idle for as long as it likes.
			 */
			vs9p_sock_set_timeouts(conn->sock, MAX_SCHEDULE_TIMEOUT,
					       MAX_SCHEDULE_TIMEOUT);
			first = false;
		}
	}
	if (err == -EAGAIN) {
		pr_err("%s: no reply from the server within %d s\n",
		       conn->name, VS9P_HANDSHAKE_TIMEOUT);
		err = -ETIMEDOUT;
	} else if (err && !vs9p_conn_stopping(conn)) {
		pr_err("%s: connection lost (%d); failing all requests\n",
		       conn->name, err);
	}
	vs9p_conn_fail(conn, err ? err : -ECONNRESET);
	vs9p_park_until_stopped();
	return 0;
}

/* ----------------------------------------------- the client's side --- */

int vs9p_conn_start(struct vs9p_conn *conn)
{
	struct task_struct *t;

	/* Until the first reply both directions are bounded. */
	vs9p_sock_set_timeouts(conn->sock, VS9P_HANDSHAKE_TIMEOUT * HZ,
			       VS9P_HANDSHAKE_TIMEOUT * HZ);

	t = kthread_run(vs9p_tx_thread, conn, "9p-vsock-tx");
	if (IS_ERR(t))
		return PTR_ERR(t);
	conn->tx_task = t;

	t = kthread_run(vs9p_rx_thread, conn, "9p-vsock-rx");
	if (IS_ERR(t)) {
		kthread_stop(conn->tx_task);
		conn->tx_task = NULL;
		return PTR_ERR(t);
	}
	conn->rx_task = t;
	return 0;
}

/*
 * Called in process context by the 9p client.  The request goes on the
 * unsent list; if the socket is free and nothing is queued before it, the
 * caller sends it at once, as far as the peer's credit allows, and leaves
 * the sender only what did not fit.
 */
int vs9p_conn_queue(struct vs9p_conn *conn, struct p9_req_t *req)
{
	bool direct = false;
	ssize_t n;
	int err;

	might_sleep();
	spin_lock(&conn->lock);
	err = conn->err;
	if (!err) {
		WRITE_ONCE(req->status, REQ_STATUS_UNSENT);
		list_add_tail(&req->req_list, &conn->unsent);
		if (!conn->tx_busy && !conn->tx_partial &&
		    list_is_singular(&conn->unsent)) {
			vs9p_tx_claim(conn, req);
			direct = true;
		}
	}
	spin_unlock(&conn->lock);
	if (err)
		return err;
	if (!direct) {
		wake_up(&conn->tx_wait);
		return 0;
	}

	n = vs9p_sock_send_nowait(conn->sock, req->tc.sdata, req->tc.size);
	if (n == req->tc.size) {
		p9_req_put(conn->client, req);
		if (vs9p_tx_release(conn))
			wake_up(&conn->tx_wait);
		return 0;
	}
	if (n < 0) {
		/* as the sender would: the request fails with the rest */
		p9_req_put(conn->client, req);
		vs9p_tx_release(conn);
		if (!READ_ONCE(conn->stopping))
			pr_err("%s: send failed: %zd; failing all requests\n",
			       conn->name, n);
		vs9p_conn_fail(conn, n);
		return 0;
	}
	spin_lock(&conn->lock);
	if (!conn->err) {
		conn->tx_partial = req;	/* with the reference taken above */
		conn->tx_off = n;
		req = NULL;
	}
	conn->tx_busy = false;
	spin_unlock(&conn->lock);
	if (req)		/* failed meanwhile: completed with the rest */
		p9_req_put(conn->client, req);
	wake_up(&conn->tx_wait);
	return 0;
}

/* Returns 0 if req was taken back before it was sent, 1 if it is on the
 * wire (the client then sends a Tflush).
 */
int vs9p_conn_cancel(struct vs9p_conn *conn, struct p9_req_t *req)
{
	bool taken = false;

	spin_lock(&conn->lock);
	if (req->status == REQ_STATUS_UNSENT) {
		list_del_init(&req->req_list);
		WRITE_ONCE(req->status, REQ_STATUS_FLSHD);
		taken = true;
	}
	spin_unlock(&conn->lock);
	if (!taken)
		return 1;
	p9_req_put(conn->client, req);
	return 0;
}

/* The server flushed req without answering it: forget it. */
int vs9p_conn_cancelled(struct vs9p_conn *conn, struct p9_req_t *req)
{
	spin_lock(&conn->lock);
	if (req->status != REQ_STATUS_SENT) {
		spin_unlock(&conn->lock);
		return 0;
	}
	list_del_init(&req->req_list);
	WRITE_ONCE(req->status, REQ_STATUS_FLSHD);
	spin_unlock(&conn->lock);
	p9_req_put(conn->client, req);
	return 0;
}

/*
 * Close stops the threads before the socket, as trans_fd stops its workers
 * before it closes: both are told to stop first, so the error the shutdown
 * then makes them see is no news (nothing is logged); the shutdown wakes
 * them wherever they sleep in the socket, and they are reaped.  Once they
 * are stopped nothing else can reach a request, so whatever is still
 * listed is completed with -ECONNRESET.
 */
void vs9p_conn_stop(struct vs9p_conn *conn)
{
	WRITE_ONCE(conn->stopping, true);
	if (conn->sock)
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	if (conn->rx_task) {
		kthread_stop(conn->rx_task);
		conn->rx_task = NULL;
	}
	if (conn->tx_task) {
		kthread_stop(conn->tx_task);
		conn->tx_task = NULL;
	}
	vs9p_conn_fail(conn, -ECONNRESET);
}
