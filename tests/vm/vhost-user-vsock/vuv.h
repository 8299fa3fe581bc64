/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-user-vsock: one process per guest.  vhost_user.c speaks the
 * vhost-user protocol with the front end (QEMU) and owns guest memory
 * and the rings; vsock.c is the device (connections, credit, the
 * hybrid-vsock unix sockets); main.c wires them to one epoll loop.
 */
#ifndef VUV_H
#define VUV_H

#include <stdbool.h>
#include <stdint.h>

#include "vq.h"

#define VUV_RXQ 0
#define VUV_TXQ 1
#define VUV_NQ	2	/* the event queue stays in QEMU */

struct vuv_ring {
	struct vuv_vq vq;
	int kick, call;
	bool enabled, started;
};

struct vuv_conn;

struct vuv_dev {
	int epfd;
	uint64_t cid;
	const char *uds;		/* hybrid base path */
	/* vhost-user */
	int vu_listen, vu_fd;
	uint64_t features, protocol_features;
	struct vuv_mem mem;
	void *maps[VUV_MAX_REGIONS];
	uint64_t map_len[VUV_MAX_REGIONS];
	struct vuv_ring ring[VUV_NQ];
	/* vsock */
	int host_listen;
	struct vuv_conn *conns;
	uint32_t next_port;
	unsigned int nconns;
	struct vsock_hdr orphan[64];	/* RSTs owed for packets of no connection */
	unsigned int norphan;
};

/* epoll tags: the low bits of a pointer-sized token */
enum vuv_tag { TAG_VU_LISTEN = 1, TAG_VU, TAG_KICK_RX, TAG_KICK_TX, TAG_HOST_LISTEN, TAG_SIGNAL };

void vuv_epoll_set(struct vuv_dev *d, int fd, uint32_t events, uint64_t data);
void vuv_epoll_del(struct vuv_dev *d, int fd);

/* vhost_user.c */
int vuv_vu_accept(struct vuv_dev *d);
/* One message from the front end; false if it hung up or broke the protocol. */
bool vuv_vu_message(struct vuv_dev *d);
void vuv_vu_disconnect(struct vuv_dev *d);
bool vuv_ring_ready(const struct vuv_dev *d, int q);
void vuv_ring_notify(struct vuv_dev *d, int q);

/* vsock.c */
int vuv_host_listen(struct vuv_dev *d);
void vuv_host_accept(struct vuv_dev *d);
void vuv_conn_event(struct vuv_dev *d, struct vuv_conn *c, uint32_t events);
void vuv_tx_process(struct vuv_dev *d);
void vuv_rx_pump(struct vuv_dev *d);
void vuv_conns_reset(struct vuv_dev *d);

#endif
