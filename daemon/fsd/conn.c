// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One connection: an optional proof handshake, then a loop of whole 9P
 * messages, each checked against the current config, shaped, handled and
 * answered in order.  One thread per connection; a malformed message or a
 * vanished VM closes this connection only.  A connection may idle between
 * messages as long as it likes, but once a message has begun it must
 * arrive whole within frame_timeout, so a stalled half message cannot
 * hold a connection slot for ever.
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

struct conn *conn_new(int sock, const struct vm_conf *vm, struct fsd_conf *conf)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sock = sock;
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
	c->cred_set = false;	/* uid_map may have changed */
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

void *conn_thread(void *arg)
{
	struct conn *c = arg;
	uint8_t *in = c->in;
	uint32_t size;
	uint64_t deadline;
	bool late = false;
	long n;

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
		if (conn_refresh(c))
			break;
		vm_state_shape(c->vs, data_bytes(in, size));
		n = ops_handle(c, in, size);
		if (n < 0 || veil_send_full(c->sock, c->out, n))
			break;
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
	__atomic_sub_fetch(&c->vs->conns, 1, __ATOMIC_RELAXED);
	conn_free(c);
	return NULL;
}
