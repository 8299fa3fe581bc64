// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user-vsock: a vhost-user back end for QEMU's vhost-user-vsock-pci
 * that gives one guest a virtio-vsock device whose host side is the
 * hybrid-vsock unix socket convention.  Test infrastructure for hosts
 * without /dev/vhost-vsock: see docs/fsd-admin.md, "Serve QEMU guests".
 *
 *   vhost-user-vsock --socket VHOST.sock --cid CID --uds BASE [--verbose]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vuv.h"

void vuv_epoll_set(struct vuv_dev *d, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void vuv_epoll_del(struct vuv_dev *d, int fd)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		veil_log(LOG_WARNING, "reading a kick eventfd: %m");
}

static int listen_vu(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		veil_log(LOG_ERR, "socket path %s is too long", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		veil_log(LOG_ERR, "cannot listen on %s: %m", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vhost-user-vsock --socket PATH --cid CID --uds BASE [--verbose]\n"
		"  --socket PATH  vhost-user socket QEMU connects to (-chardev socket,path=PATH)\n"
		"  --cid CID      the guest's CID (3 to 4294967294)\n"
		"  --uds BASE     host side: guest port P connects to BASE_P; clients of BASE\n"
		"                 write \"CONNECT <port>\\n\" to reach guest port <port>\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "cid", required_argument, NULL, 'c' },
		{ "uds", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct vuv_dev d = { .vu_fd = -1, .host_listen = -1 };
	const char *sock = NULL;
	char *end;
	int opt, verbose = 0, sfd, rc = 1;
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "s:c:u:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			errno = 0;
			d.cid = strtoull(optarg, &end, 10);
			if (errno || *end || d.cid < 3 || d.cid > 0xfffffffeULL) {
				fprintf(stderr, "vhost-user-vsock: --cid %s: not a guest CID (3 to 4294967294)\n",
					optarg);
				return 2;
			}
			break;
		case 'u':
			d.uds = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!sock || !d.cid || !d.uds || optind != argc) {
		usage(stderr);
		return 2;
	}
	veil_log_open("vhost-user-vsock", VEIL_LOGF_LEVEL, verbose ? LOG_DEBUG : LOG_INFO);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	d.vu_listen = listen_vu(sock);
	if (sfd < 0 || d.epfd < 0 || d.vu_listen < 0 || vuv_host_listen(&d))
		goto out;
	vuv_epoll_set(&d, d.vu_listen, EPOLLIN, TAG_VU_LISTEN);
	vuv_epoll_set(&d, sfd, EPOLLIN, TAG_SIGNAL);
	veil_log(LOG_INFO, "guest cid %llu: vhost-user on %s, host side %s",
		 (unsigned long long)d.cid, sock, d.uds);
	for (;;) {
		struct epoll_event ev[32];
		int n = epoll_wait(d.epfd, ev, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;

			switch (tag) {
			case TAG_SIGNAL:
				rc = 0;
				goto out;
			case TAG_VU_LISTEN:
				vuv_vu_accept(&d);
				break;
			case TAG_VU:
				if (!vuv_vu_message(&d))
					vuv_vu_disconnect(&d);
				break;
			case TAG_KICK_RX:
				drain(d.ring[VUV_RXQ].kick);
				break;
			case TAG_KICK_TX:
				drain(d.ring[VUV_TXQ].kick);
				vuv_tx_process(&d);
				break;
			case TAG_HOST_LISTEN:
				vuv_host_accept(&d);
				break;
			default:
				vuv_conn_event(&d, (struct vuv_conn *)(uintptr_t)tag, ev[i].events);
				/* A freed connection may have later events in this batch. */
				goto pump;
			}
		}
pump:
		vuv_tx_process(&d);
		vuv_rx_pump(&d);
	}
out:
	vuv_vu_disconnect(&d);
	vuv_conns_reset(&d);
	unlink(sock);
	if (d.uds)
		unlink(d.uds);
	return rc;
}
