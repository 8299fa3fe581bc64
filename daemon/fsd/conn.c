// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One connection: an optional proof handshake, then a loop of whole 9P
 * messages, each checked against the current config, shaped, handled and
 * answered in order.  One thread per connection; a malformed message or a
 * vanished VM closes this connection only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
	c->msize = conf->msize_max;
	c->vs = vm_state_get(vm);
	c->in = malloc(conf->msize_max);
	c->out = malloc(conf->msize_max);
	if (!c->vs || !c->in || !c->out)
		goto fail;
	c->rootfd = open(vm->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		fsd_log(LOG_ERR, "vm %s: root %s: %s", vm->name, vm->root, strerror(errno));
		goto fail;
	}
	if (fidtab_init(&c->fids, c->rootfd, &c->vs->fds, vm->max_fds, vm->max_fids))
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
	c->fids.max_fds = vm->max_fds;
	c->fids.max = vm->max_fids;
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

void *conn_thread(void *arg)
{
	struct conn *c = arg;
	uint8_t *in = c->in;
	uint32_t size;
	long n;

	set_timeout(c->sock, HANDSHAKE_TIMEOUT_S);
	if (veil_read_full(c->sock, in, 4))
		goto out;
	if (!memcmp(in, PROOF_MAGIC4, 4)) {
		if (proof_serve(c) || veil_read_full(c->sock, in, 4))
			goto out;
		c->proven = c->vm->secret_file != NULL;
	} else if (c->vm->require_proof) {
		fsd_log(LOG_NOTICE, "%s: vm %s requires proof and got none: closing",
			c->peer, c->vm->name);
		goto out;
	}
	set_timeout(c->sock, 0);
	fsd_log(LOG_INFO, "%s: serving vm %s", c->peer, c->vm->name);
	for (;;) {
		size = p9_le32(in);
		if (size < P9_HDRSZ || size > c->msize) {
			fsd_log(LOG_NOTICE, "%s: message size %u out of range: closing", c->peer, size);
			break;
		}
		if (veil_read_full(c->sock, in + 4, size - 4))
			break;
		if (conn_refresh(c))
			break;
		vm_state_shape(c->vs, data_bytes(in, size));
		n = ops_handle(c, in, size);
		if (n < 0 || veil_send_full(c->sock, c->out, n))
			break;
		if (veil_read_full(c->sock, in, 4))
			break;
	}
	fsd_log(LOG_INFO, "%s: connection closed", c->peer);
out:
	__atomic_sub_fetch(&c->vs->conns, 1, __ATOMIC_RELAXED);
	conn_free(c);
	return NULL;
}
