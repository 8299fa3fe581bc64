// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Listeners and accept.  The VM a connection belongs to comes only from
 * the socket: the peer CID of an AF_VSOCK connection (getpeername, never
 * a message), or which hybrid unix socket it arrived on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "fsd.h"
#include "listen.h"

#define MAX_LISTENERS	4096

struct listener {
	int fd;
	char *uds;		/* the VM's uds (NULL for vsock) */
	char path[108];		/* the socket file */
	uint32_t port;
};

static struct listener ls[MAX_LISTENERS];
static size_t n_ls;

static int open_vsock(uint32_t port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int open_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	/* a stale socket from an earlier run; never remove anything else */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the socket file is created 0600 whatever the umask (which is 0) */
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    chmod(path, 0600) ||
	    listen(fd, 64)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void drop(size_t i)
{
	close(ls[i].fd);
	if (ls[i].uds)
		unlink(ls[i].path);
	free(ls[i].uds);
	ls[i] = ls[--n_ls];
}

int listen_sync(const struct fsd_conf *c)
{
	size_t i, j;
	int fd, rc = 0;

	/* close what the config no longer has (or has on another port) */
	for (i = 0; i < n_ls;) {
		bool keep = ls[i].port == c->port &&
			    (ls[i].uds ? conf_vm_by_uds(c, ls[i].uds) != NULL : c->vsock);

		if (keep)
			i++;
		else
			drop(i);
	}
	/* open what is missing */
	for (j = 0; j <= c->n_vms; j++) {
		const char *uds = j < c->n_vms ? c->vms[j].uds : NULL;
		char path[108];

		if (j < c->n_vms && !uds)
			continue;
		if (j == c->n_vms && !c->vsock)
			continue;
		for (i = 0; i < n_ls; i++)
			if (uds ? ls[i].uds && !strcmp(ls[i].uds, uds) : !ls[i].uds)
				break;
		if (i < n_ls || n_ls == MAX_LISTENERS)
			continue;
		if (uds) {
			snprintf(path, sizeof(path), "%s_%u", uds, c->port);
			fd = open_unix(path);
		} else {
			snprintf(path, sizeof(path), "vsock port %u", c->port);
			fd = open_vsock(c->port);
		}
		if (fd < 0) {
			fsd_log(LOG_ERR, "cannot listen on %s: %s", path, strerror(-fd));
			rc = fd;
			continue;
		}
		fsd_log(LOG_INFO, "listening on %s", path);
		ls[n_ls] = (struct listener){ .fd = fd, .port = c->port };
		strcpy(ls[n_ls].path, path);
		ls[n_ls].uds = uds ? strdup(uds) : NULL;
		n_ls++;
	}
	return rc;
}

size_t listen_pollfds(struct pollfd *p, size_t max)
{
	size_t i;

	for (i = 0; i < n_ls && i < max; i++)
		p[i] = (struct pollfd){ .fd = ls[i].fd, .events = POLLIN };
	return i;
}

void listen_close_all(void)
{
	while (n_ls)
		drop(n_ls - 1);
}

void listen_accept(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const struct vm_conf *vm;
	struct listener *l = NULL;
	struct fsd_conf *conf;
	struct conn *c = NULL;
	struct vm_state *vs;
	pthread_attr_t attr;
	pthread_t th;
	size_t i;
	int fd;

	for (i = 0; i < n_ls; i++)
		if (ls[i].fd == lfd)
			l = &ls[i];
	if (!l)
		return;
	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	conf = conf_get();
	if (l->uds) {
		vm = conf_vm_by_uds(conf, l->uds);
	} else {
		struct sockaddr_vm *a = (struct sockaddr_vm *)&ss;

		vm = ss.ss_family == AF_VSOCK ? conf_vm_by_cid(conf, a->svm_cid) : NULL;
		if (!vm)
			fsd_log(LOG_NOTICE, "vsock connection from unknown CID %u refused",
				ss.ss_family == AF_VSOCK ? a->svm_cid : 0);
	}
	if (!vm || !(vs = vm_state_get(vm)))
		goto refuse;
	if (__atomic_add_fetch(&vs->conns, 1, __ATOMIC_RELAXED) > (int)vm->max_conns) {
		__atomic_sub_fetch(&vs->conns, 1, __ATOMIC_RELAXED);
		fsd_log(LOG_NOTICE, "vm %s: more than %u connections: refused", vm->name, vm->max_conns);
		goto refuse;
	}
	c = conn_new(fd, vm, conf);
	if (!c) {
		__atomic_sub_fetch(&vs->conns, 1, __ATOMIC_RELAXED);
		goto refuse;
	}
	c->port = l->port;
	if (l->uds) {
		c->bind = BIND_UDS;
		c->uds = strdup(l->uds);
		snprintf(c->peer, sizeof(c->peer), "%s", l->path);
	} else {
		c->bind = BIND_CID;
		c->cid = ((struct sockaddr_vm *)&ss)->svm_cid;
		snprintf(c->peer, sizeof(c->peer), "cid %u", c->cid);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, conn_thread, c)) {
		__atomic_sub_fetch(&vs->conns, 1, __ATOMIC_RELAXED);
		conn_free(c);
	}
	pthread_attr_destroy(&attr);
	return;
refuse:
	close(fd);
	conf_put(conf);
}
