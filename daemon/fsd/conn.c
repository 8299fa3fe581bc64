// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One connection: an optional proof handshake, then a loop of whole 9P
 * messages, each checked against the current config and shaped by the
 * connection's reader thread, then served by a worker thread and
 * answered, in whatever order they finish, by tag.  A malformed message
 * or a vanished VM closes this connection only.  A connection may idle
 * between messages as long as it likes, but once a message has begun it
 * must arrive whole within frame_timeout, so a stalled half message
 * cannot hold a connection slot for ever.
 *
 * Concurrency.  Each connection starts worker threads as its queue needs
 * them, up to the VM's max_workers; and at most max_workers requests of
 * the VM (all its connections) are served at once.  The reader admits at
 * most 2 * max_workers tags in flight per connection; past that it reads
 * nothing more until one is answered.  9P's rules:
 *   - a tag already in flight (a request, or a Tflush waiting) is a
 *     protocol error: the connection is closed;
 *   - Tflush of a request still queued drops it unanswered and answers
 *     Rflush at once; of one being served, Rflush follows its reply; of
 *     an unknown tag, Rflush at once;
 *   - Tversion waits until nothing is in flight, then runs alone;
 *   - a fid in use by a running read, write or fsync stays alive until
 *     it is done, even if clunked meanwhile (fid.h);
 *   - a config reload waits until nothing is in flight.
 * Memory: each request in flight has its own copy of the message and a
 * reply buffer (msize for reads, small otherwise), charged to max_mem
 * with FSD_MEM_REQ; a request that does not fit waits until one of the
 * connection's requests is done, and when none is, it is served by the
 * reader itself in the connection's own (already charged) buffers.  Each
 * worker thread is charged FSD_MEM_WORKER.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include "util.h"
#include "fsd.h"
#include "proof.h"

#define HANDSHAKE_TIMEOUT_S	10
#define WORKER_STACK		(512u << 10)
#define REPLY_SMALL		8192u	/* room for any reply but data reads */

struct flush_wait {
	struct flush_wait *next;
	uint16_t tag;
};

struct req {
	struct req *next;
	uint16_t tag;
	size_t len, cap, charge;
	struct flush_wait *flushes;	/* Rflush to send after the reply */
	uint8_t *out;			/* cap bytes, after in */
	uint8_t in[];
};

struct conn *conn_new(int sock, const struct vm_conf *vm, struct fsd_conf *conf)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sock = sock;
	pthread_mutex_init(&c->qlock, NULL);
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_cond_init(&c->qcond, NULL);
	pthread_cond_init(&c->dcond, NULL);
	c->conf = conf;
	c->vm = vm;
	c->gen = conf_generation();
	c->rootfd = -1;
	/*
	 * The buffers are sized once, here; a later reload raising msize_max
	 * does not grow them, and Tversion never negotiates more than they hold.
	 */
	c->bufsize = conf->msize_max;
	c->msize = c->bufsize;
	c->vs = vm_state_get(vm);
	if (!c->vs)
		goto fail;
	if (fid_pool_charge(&c->vs->pool, vm->max_mem,
			    FSD_MEM_CONN_FIXED + 2ull * c->bufsize, false)) {
		fsd_log(LOG_NOTICE, "vm %s: memory budget max_mem (%llu bytes) exhausted: connection refused",
			vm->name, (unsigned long long)vm->max_mem);
		goto fail;
	}
	c->charged = FSD_MEM_CONN_FIXED + 2ull * c->bufsize;
	c->in = malloc(c->bufsize);
	c->out = malloc(c->bufsize);
	if (!c->in || !c->out)
		goto fail;
	c->rootfd = open(vm->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		fsd_log(LOG_ERR, "vm %s: root %s: %s", vm->name, vm->root, strerror(errno));
		goto fail;
	} else {
		struct stat st;

		if (fstat(c->rootfd, &st))
			goto fail;
		c->root_dev = st.st_dev;
		c->root_ino = st.st_ino;
	}
	if (fidtab_init(&c->fids, c->rootfd, &c->vs->pool, vm->max_fds, vm->max_fids,
			vm->max_mem))
		goto fail;
	return c;
fail:
	c->sock = -1;		/* the caller still owns it */
	c->conf = NULL;
	conn_free(c);
	return NULL;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	fidtab_destroy(&c->fids);
	if (c->nworkers)
		fid_pool_charge(&c->vs->pool, 0, -(long long)c->nworkers * FSD_MEM_WORKER, false);
	if (c->charged)
		fid_pool_charge(&c->vs->pool, 0, -(long long)c->charged, false);
	if (c->rootfd >= 0)
		close(c->rootfd);
	if (c->sock >= 0)
		close(c->sock);
	conf_put(c->conf);
	free(c->uds);
	free(c->in);
	free(c->out);
	pthread_mutex_destroy(&c->qlock);
	pthread_mutex_destroy(&c->send_lock);
	pthread_cond_destroy(&c->qcond);
	pthread_cond_destroy(&c->dcond);
	free(c);
}

int conn_refresh(struct conn *c)
{
	unsigned long gen = conf_generation();
	const struct vm_conf *vm;
	struct fsd_conf *conf;

	if (gen == c->gen)
		return 0;
	conf = conf_get();
	if (!conf)
		return -1;
	vm = c->bind == BIND_CID ? conf_vm_by_cid(conf, c->cid) : conf_vm_by_uds(conf, c->uds);
	if (!vm || strcmp(vm->name, c->vm->name) || strcmp(vm->root, c->vm->root) ||
	    (vm->require_proof && !c->proven) || conf->msize_max < c->msize) {
		fsd_log(LOG_NOTICE, "%s: %s by the new configuration: closing", c->peer,
			!vm ? "VM removed" : "VM redefined");
		conf_put(conf);
		return -1;
	}
	conf_put(c->conf);
	c->conf = conf;
	c->vm = vm;
	c->gen = gen;
	pthread_mutex_lock(&c->fids.lock);
	c->fids.max_fds = vm->max_fds;
	c->fids.max = vm->max_fids;
	c->fids.max_mem = vm->max_mem;
	pthread_mutex_unlock(&c->fids.lock);
	return 0;
}

static void set_timeout(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Data bytes a request moves, for the byte bucket. */
static uint64_t data_bytes(const uint8_t *msg, size_t len)
{
	if (len >= 23 && (msg[4] == P9_TREAD || msg[4] == P9_TWRITE || msg[4] == P9_TREADDIR))
		return p9_le32(msg + 19);
	return 0;
}

/*
 * A Tread, Treaddir or Twrite was charged the count it asked for when it
 * arrived; once its reply (n bytes of out) is made, give back what that
 * reply says did not move.  A directory read asks for up to msize and
 * usually carries a few hundred bytes; an error moved nothing.
 */
static void refund_unused(struct conn *c, const uint8_t *in, size_t len,
			  const uint8_t *out, long n)
{
	uint64_t asked = data_bytes(in, len), moved = 0;

	if (!asked)
		return;
	if (n >= P9_HDRSZ + 4 && out[4] == in[4] + 1)
		moved = p9_le32(out + P9_HDRSZ);
	vm_state_refund(c->vs, asked, moved);
}

/*
 * Read len bytes, all of them by deadline (CLOCK_MONOTONIC ns).  0, or -1
 * with errno (ETIMEDOUT past the deadline; 0 when the peer closed).
 */
static int read_by(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = fsd_now_ns();
		ssize_t n;
		int r;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (!r)
				errno = ETIMEDOUT;
			return -1;
		}
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (!n)
				errno = 0;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Wait, as long as it takes, until the next message begins. */
static int wait_message(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static uint64_t deadline_in(uint32_t seconds)
{
	return fsd_now_ns() + (uint64_t)seconds * 1000000000ull;
}

/* ---- requests in flight ---------------------------------------------- */

static struct req *req_new(struct conn *c, const uint8_t *msg, size_t len)
{
	size_t cap = msg[4] == P9_TREAD || msg[4] == P9_TREADDIR || len + REPLY_SMALL > c->msize ?
		     c->msize : len + REPLY_SMALL;
	size_t charge = FSD_MEM_REQ + len + cap;
	struct req *r;

	if (fid_pool_charge(&c->vs->pool, c->vm->max_mem, charge, false))
		return NULL;
	r = malloc(sizeof(*r) + len + cap);
	if (!r) {
		fid_pool_charge(&c->vs->pool, 0, -(long long)charge, false);
		return NULL;
	}
	memcpy(r->in, msg, len);
	r->next = NULL;
	r->tag = p9_le16(msg + 5);
	r->len = len;
	r->cap = cap;
	r->charge = charge;
	r->flushes = NULL;
	r->out = r->in + len;
	return r;
}

static void req_free(struct conn *c, struct req *r)
{
	struct flush_wait *w;

	while ((w = r->flushes)) {
		r->flushes = w->next;
		free(w);
	}
	fid_pool_charge(&c->vs->pool, 0, -(long long)r->charge, false);
	free(r);
}

/* Is tag in flight: a request queued or running, or a Tflush waiting?  (qlock) */
static bool tag_busy(const struct conn *c, uint16_t tag)
{
	const struct req *lists[2] = { c->queue, c->running }, *r;
	const struct flush_wait *w;
	int i;

	for (i = 0; i < 2; i++)
		for (r = lists[i]; r; r = r->next) {
			if (r->tag == tag)
				return true;
			for (w = r->flushes; w; w = w->next)
				if (w->tag == tag)
					return true;
		}
	return false;
}

/* Unlink r from the list at *pp (qlock). */
static bool req_unlink(struct req **pp, struct req *r)
{
	for (; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			return true;
		}
	return false;
}

static void send_rflush(struct conn *c, uint16_t tag)
{
	uint8_t m[P9_HDRSZ] = { P9_HDRSZ, 0, 0, 0, P9_TFLUSH + 1, tag & 0xff, tag >> 8 };

	/* a lost Rflush means the socket is gone: the reader sees that */
	veil_send_full(c->sock, m, sizeof(m));
}

/*
 * Answer r (n bytes of reply in r->out, or n < 0: close), then the
 * Tflushes that waited for it.  The tag leaves the in-flight set before
 * its reply goes out (the guest may reuse it as soon as it has the
 * reply), under send_lock, so that an Rflush for it cannot overtake it.
 */
static void req_finish(struct conn *c, struct req *r, long n)
{
	unsigned int done = 1;
	struct flush_wait *w;

	refund_unused(c, r->in, r->len, r->out, n);
	pthread_mutex_lock(&c->send_lock);
	pthread_mutex_lock(&c->qlock);
	req_unlink(&c->running, r);
	pthread_mutex_unlock(&c->qlock);
	if (n < 0 || veil_send_full(c->sock, r->out, n))
		shutdown(c->sock, SHUT_RDWR);	/* the reader closes the connection */
	for (w = r->flushes; w; w = w->next, done++)
		send_rflush(c, w->tag);
	pthread_mutex_unlock(&c->send_lock);
	req_free(c, r);		/* its memory first: the reader may be waiting for it */
	pthread_mutex_lock(&c->qlock);
	c->inflight -= done;
	pthread_cond_broadcast(&c->dcond);
	pthread_mutex_unlock(&c->qlock);
}

static void *worker(void *arg)
{
	struct conn *c = arg;
	struct req *r;
	long n;

	pthread_mutex_lock(&c->qlock);
	for (;;) {
		while (!c->queue && !c->closing) {
			c->idle++;
			pthread_cond_wait(&c->qcond, &c->qlock);
			c->idle--;
		}
		if (!c->queue)
			break;
		r = c->queue;
		c->queue = r->next;
		if (!c->queue)
			c->queue_tail = NULL;
		c->queued--;
		r->next = c->running;
		c->running = r;
		pthread_mutex_unlock(&c->qlock);
		vm_state_slot_get(c->vs);
		n = ops_serve(c, r->in, r->len, r->out, r->cap);
		vm_state_slot_put(c->vs);
		req_finish(c, r, n);
		pthread_mutex_lock(&c->qlock);
	}
	pthread_mutex_unlock(&c->qlock);
	return NULL;
}

/* One more worker if the queue has more than the idle ones take (qlock). */
static void spawn_worker(struct conn *c)
{
	pthread_attr_t attr;

	if (c->queued <= c->idle || c->nworkers >= c->vm->max_workers ||
	    c->nworkers >= FSD_WORKERS_MAX)
		return;
	if (fid_pool_charge(&c->vs->pool, c->vm->max_mem, FSD_MEM_WORKER, false))
		return;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	if (pthread_create(&c->workers[c->nworkers], &attr, worker, c))
		fid_pool_charge(&c->vs->pool, 0, -(long long)FSD_MEM_WORKER, false);
	else
		c->nworkers++;
	pthread_attr_destroy(&attr);
}

/* Wait until fewer than limit tags are in flight. */
static void wait_inflight(struct conn *c, unsigned int limit)
{
	pthread_mutex_lock(&c->qlock);
	while (c->inflight > limit)
		pthread_cond_wait(&c->dcond, &c->qlock);
	pthread_mutex_unlock(&c->qlock);
}

/* Serve msg in the reader, in the connection's own buffers. */
static int serve_here(struct conn *c, const uint8_t *msg, size_t len)
{
	long n = ops_handle(c, msg, len);
	int rc;

	if (n < 0)
		return -1;
	refund_unused(c, msg, len, c->out, n);
	pthread_mutex_lock(&c->send_lock);
	rc = veil_send_full(c->sock, c->out, n);
	pthread_mutex_unlock(&c->send_lock);
	return rc;
}

static int flush(struct conn *c, const uint8_t *msg, size_t len)
{
	uint16_t tag = p9_le16(msg + 5), old;
	struct flush_wait *w;
	struct req *r;

	if (len != P9_HDRSZ + 2) {
		fsd_log(LOG_NOTICE, "%s: malformed Tflush message: closing", c->peer);
		return -1;
	}
	old = p9_le16(msg + 7);
	if (!(w = malloc(sizeof(*w))))
		return -1;
	w->tag = tag;
	pthread_mutex_lock(&c->qlock);
	if (tag_busy(c, tag)) {
		pthread_mutex_unlock(&c->qlock);
		free(w);
		fsd_log(LOG_NOTICE, "%s: tag %u reused while in flight: closing", c->peer, tag);
		return -1;
	}
	for (r = c->running; r && r->tag != old; r = r->next)
		;
	if (r) {
		/* being served: its reply first, then the Rflushes in order */
		struct flush_wait **pp = &r->flushes;

		while (*pp)
			pp = &(*pp)->next;
		w->next = NULL;
		*pp = w;
		c->inflight++;
		pthread_mutex_unlock(&c->qlock);
		return 0;
	}
	free(w);
	for (r = c->queue; r && r->tag != old; r = r->next)
		;
	if (r) {
		/* not begun: dropped, never answered */
		req_unlink(&c->queue, r);
		for (c->queue_tail = c->queue; c->queue_tail && c->queue_tail->next; )
			c->queue_tail = c->queue_tail->next;
		c->queued--;
		c->inflight--;
		pthread_cond_broadcast(&c->dcond);
	}
	pthread_mutex_unlock(&c->qlock);
	if (r)
		req_free(c, r);
	pthread_mutex_lock(&c->send_lock);
	send_rflush(c, tag);
	pthread_mutex_unlock(&c->send_lock);
	return 0;
}

/* Hand a whole message over: to a worker, or served here.  0, or -1: close. */
static int submit(struct conn *c, const uint8_t *msg, size_t len)
{
	uint16_t tag = p9_le16(msg + 5);
	struct req *r;
	bool busy;

	if (msg[4] == P9_TVERSION) {
		wait_inflight(c, 0);
		return serve_here(c, msg, len);
	}
	if (msg[4] == P9_TFLUSH)
		return flush(c, msg, len);
	pthread_mutex_lock(&c->qlock);
	busy = tag_busy(c, tag);
	pthread_mutex_unlock(&c->qlock);
	if (busy) {
		fsd_log(LOG_NOTICE, "%s: tag %u reused while in flight: closing", c->peer, tag);
		return -1;
	}
	while (!(r = req_new(c, msg, len))) {
		/* over max_mem: wait for one of ours, or serve it here */
		pthread_mutex_lock(&c->qlock);
		if (!c->inflight) {
			pthread_mutex_unlock(&c->qlock);
			return serve_here(c, msg, len);
		}
		pthread_cond_wait(&c->dcond, &c->qlock);
		pthread_mutex_unlock(&c->qlock);
	}
	pthread_mutex_lock(&c->qlock);
	if (c->queue_tail)
		c->queue_tail->next = r;
	else
		c->queue = r;
	c->queue_tail = r;
	c->queued++;
	c->inflight++;
	spawn_worker(c);
	if (!c->nworkers) {
		/* no thread to be had: this one serves it */
		req_unlink(&c->queue, r);
		c->queue_tail = NULL;
		c->queued--;
		c->inflight--;
		pthread_mutex_unlock(&c->qlock);
		req_free(c, r);
		return serve_here(c, msg, len);
	}
	pthread_cond_signal(&c->qcond);
	pthread_mutex_unlock(&c->qlock);
	return 0;
}

/* Stop the workers: queued requests are dropped, running ones finish. */
static void stop_workers(struct conn *c)
{
	struct req *r;
	unsigned int i;

	shutdown(c->sock, SHUT_RDWR);	/* replies still to go fail at once */
	pthread_mutex_lock(&c->qlock);
	c->closing = true;
	while ((r = c->queue)) {
		c->queue = r->next;
		c->queued--;
		c->inflight--;
		req_free(c, r);
	}
	c->queue_tail = NULL;
	pthread_cond_broadcast(&c->qcond);
	pthread_mutex_unlock(&c->qlock);
	for (i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i], NULL);
}

void *conn_thread(void *arg)
{
	struct conn *c = arg;
	uint8_t *in = c->in;
	uint32_t size;
	uint64_t deadline;
	bool late = false;

	set_timeout(c->sock, HANDSHAKE_TIMEOUT_S);
	if (read_by(c->sock, in, 4, deadline_in(HANDSHAKE_TIMEOUT_S)))
		goto out;
	if (!memcmp(in, PROOF_MAGIC4, 4)) {
		if (proof_serve(c) || read_by(c->sock, in, 4, deadline_in(HANDSHAKE_TIMEOUT_S)))
			goto out;
		c->proven = c->vm->secret_file != NULL;
	} else if (c->vm->require_proof) {
		fsd_log(LOG_NOTICE, "%s: vm %s requires proof and got none: closing",
			c->peer, c->vm->name);
		goto out;
	}
	set_timeout(c->sock, 0);
	fsd_log(LOG_INFO, "%s: serving vm %s", c->peer, c->vm->name);
	/* the first message began within the handshake timeout */
	deadline = deadline_in(c->conf->frame_timeout);
	for (;;) {
		size = p9_le32(in);
		if (size < P9_HDRSZ || size > c->msize) {
			fsd_log(LOG_NOTICE, "%s: message size %u out of range: closing", c->peer, size);
			break;
		}
		if (read_by(c->sock, in + 4, size - 4, deadline)) {
			late = errno == ETIMEDOUT;
			break;
		}
		if (conf_generation() != c->gen) {
			/* requests in flight finish under the settings they began with */
			wait_inflight(c, 0);
			if (conn_refresh(c))
				break;
		}
		vm_state_shape(c->vs, data_bytes(in, size));
		if (submit(c, in, size))
			break;
		/* no more than 2 * max_workers in flight: read on when one is done */
		wait_inflight(c, 2 * c->vm->max_workers - 1);
		if (wait_message(c->sock))
			break;
		deadline = deadline_in(c->conf->frame_timeout);
		if (read_by(c->sock, in, 4, deadline)) {
			late = errno == ETIMEDOUT;
			break;
		}
	}
	if (late)
		fsd_log(LOG_NOTICE, "%s: a message took longer than frame_timeout (%u s) to arrive: closing",
			c->peer, c->conf->frame_timeout);
	fsd_log(LOG_INFO, "%s: connection closed", c->peer);
out:
	stop_workers(c);
	__atomic_sub_fetch(&c->vs->conns, 1, __ATOMIC_RELAXED);
	conn_free(c);
	return NULL;
}
