// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-vsock device behind vhost-user: stream connections between
 * the guest and host unix sockets, by the hybrid-vsock convention (a
 * guest connection to host port P is a unix connection to "<uds>_P"; a
 * unix client of "<uds>" that writes "CONNECT <port>\n" reaches the
 * guest's listener on that port and reads "OK <hostport>\n").
 *
 * The guest's source CID is never trusted: a packet naming any CID but
 * the one this process was started with is answered with RST and never
 * reaches a host socket.  Flow control is by credit both ways: the guest
 * may have at most VUV_BUF_ALLOC bytes in flight towards a host socket
 * (more is a protocol violation: RST), and we send the guest no more than
 * its advertised buffer allows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vuv.h"

#define VUV_BUF_ALLOC	(256u << 10)
#define VUV_MAX_CONNS	1024
#define LINE_MAX_LEN	32

enum conn_state {
	CS_LINE,	/* host client: waiting for its CONNECT line */
	CS_REQUESTED,	/* host client: REQUEST sent, waiting for the guest */
	CS_OPEN,
};

enum {	/* control packets owed to the guest */
	P_REQUEST = 1, P_RESPONSE = 2, P_CREDIT = 4, P_CREDIT_REQ = 8, P_RST = 16,
};

struct vuv_conn {
	struct vuv_conn *next;
	enum conn_state state;
	int fd;
	uint32_t gport, hport;
	unsigned int pending;
	uint32_t events;	/* what epoll watches now */
	bool readable;		/* fd had data last we looked */
	bool hup;		/* peer gone: fd no longer watched */
	uint32_t own;		/* leading obuf bytes that are ours ("OK n\n"), not guest data */
	char line[LINE_MAX_LEN + 1];	/* CS_LINE: what has come of the line */
	unsigned int linelen;
	bool host_eof, guest_shut_send, guest_shut_rcv, wr_shut;
	/* guest -> host */
	uint32_t rx_cnt, fwd_cnt, fwd_adv;
	uint8_t *obuf;
	uint32_t ooff, olen;
	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
};

static uint8_t scratch[VSOCK_MAX_PAYLOAD];

static struct vuv_conn *conn_find(struct vuv_dev *d, uint32_t gport, uint32_t hport)
{
	for (struct vuv_conn *c = d->conns; c; c = c->next)
		if (c->state != CS_LINE && c->gport == gport && c->hport == hport)
			return c;
	return NULL;
}

static void conn_arm(struct vuv_dev *d, struct vuv_conn *c)
{
	uint32_t ev = 0;

	if (c->fd < 0 || c->hup)
		return;
	if (c->state == CS_LINE ||
	    (c->state == CS_OPEN && !c->readable && !c->host_eof && !c->guest_shut_rcv))
		ev |= EPOLLIN;
	if (c->olen)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		vuv_epoll_set(d, c->fd, ev, (uint64_t)(uintptr_t)c);
		c->events = ev;
	}
}

static struct vuv_conn *conn_new(struct vuv_dev *d, int fd, enum conn_state st)
{
	struct vuv_conn *c;

	if (d->nconns >= VUV_MAX_CONNS) {
		veil_log(LOG_WARNING, "%u connections open: refusing another", d->nconns);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->state = st;
	c->next = d->conns;
	d->conns = c;
	d->nconns++;
	c->events = ~0u;	/* force the first epoll registration */
	conn_arm(d, c);
	return c;
}

/* The buffer for guest data the host socket has not taken yet, made on first need. */
static bool obuf_get(struct vuv_conn *c)
{
	if (!c->obuf)
		c->obuf = malloc(VUV_BUF_ALLOC + LINE_MAX_LEN);
	return c->obuf;
}

static void conn_free(struct vuv_dev *d, struct vuv_conn *c)
{
	for (struct vuv_conn **pp = &d->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (c->fd >= 0) {
		if (!c->hup)
			vuv_epoll_del(d, c->fd);
		close(c->fd);
	}
	free(c->obuf);
	free(c);
	d->nconns--;
}

/* Close the host side now and owe the guest an RST. */
static void conn_reset(struct vuv_dev *d, struct vuv_conn *c)
{
	if (c->fd >= 0) {
		if (!c->hup)
			vuv_epoll_del(d, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	c->olen = 0;
	c->pending = P_RST;
}

void vuv_conns_reset(struct vuv_dev *d)
{
	/* Host clients still waiting for their line survive a ring reset. */
	for (struct vuv_conn **pp = &d->conns; *pp;) {
		if ((*pp)->state == CS_LINE && d->vu_fd >= 0)
			pp = &(*pp)->next;
		else
			conn_free(d, *pp);
	}
	d->norphan = 0;
}

static void orphan_rst(struct vuv_dev *d, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST)
		return;
	if (d->norphan == sizeof(d->orphan) / sizeof(d->orphan[0])) {
		veil_log(LOG_WARNING, "guest is not taking replies: RST for port %u dropped",
			 h->src_port);
		return;
	}
	d->orphan[d->norphan++] = (struct vsock_hdr){
		.src_port = h->dst_port, .dst_port = h->src_port, .op = VSOCK_OP_RST };
}

/* ---------------------------------------------------------- host side --- */

int vuv_host_listen(struct vuv_dev *d)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(d->uds) >= sizeof(a.sun_path) - 12) {
		veil_log(LOG_ERR, "unix socket path %s is too long", d->uds);
		return -1;
	}
	strcpy(a.sun_path, d->uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(d->uds);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		veil_log(LOG_ERR, "cannot listen on %s: %m", d->uds);
		close(fd);
		return -1;
	}
	d->host_listen = fd;
	vuv_epoll_set(d, fd, EPOLLIN, TAG_HOST_LISTEN);
	return 0;
}

void vuv_host_accept(struct vuv_dev *d)
{
	int fd = accept4(d->host_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!conn_new(d, fd, CS_LINE))
		close(fd);
}

/*
 * A host client's "CONNECT <port>\n", read a byte at a time so that
 * nothing after the newline (the client's first data) is consumed here.
 */
static void conn_line(struct vuv_dev *d, struct vuv_conn *c)
{
	char *end;
	unsigned long port;

	for (;;) {
		ssize_t n = recv(c->fd, c->line + c->linelen, 1, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			goto drop;
		if (c->line[c->linelen] == '\n')
			break;
		if (++c->linelen == LINE_MAX_LEN)
			goto bad;
	}
	c->line[c->linelen] = 0;
	if (c->linelen && c->line[c->linelen - 1] == '\r')
		c->line[c->linelen - 1] = 0;
	if (strncmp(c->line, "CONNECT ", 8) || c->line[8] < '0' || c->line[8] > '9')
		goto bad;
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (*end || errno || port > UINT32_MAX)
		goto bad;
	do
		c->hport = d->next_port++ | (1u << 30);
	while (conn_find(d, port, c->hport));
	c->gport = port;
	c->state = CS_REQUESTED;
	c->pending |= P_REQUEST;
	conn_arm(d, c);
	return;
bad:
	veil_log(LOG_WARNING, "host client sent a bad CONNECT line");
drop:
	conn_free(d, c);
}

/* Write buffered guest data to the host socket. */
static void conn_flush(struct vuv_dev *d, struct vuv_conn *c)
{
	while (c->olen) {
		ssize_t n = send(c->fd, c->obuf + c->ooff, c->olen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_reset(d, c);
			return;
		}
		uint32_t own = c->own < n ? c->own : n;

		c->own -= own;
		c->ooff += n;
		c->olen -= n;
		c->fwd_cnt += n - own;
	}
	if (!c->olen)
		c->ooff = 0;
	if (c->fwd_cnt - c->fwd_adv >= VUV_BUF_ALLOC / 2)
		c->pending |= P_CREDIT;
	if (!c->olen && c->guest_shut_send && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (!c->olen && c->guest_shut_send && c->guest_shut_rcv) {
		conn_reset(d, c);	/* the guest closed: it waits for our RST */
		return;
	}
	conn_arm(d, c);
}

void vuv_conn_event(struct vuv_dev *d, struct vuv_conn *c, uint32_t events)
{
	if (c->state == CS_LINE) {
		conn_line(d, c);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		if (c->state != CS_OPEN) {
			conn_reset(d, c);	/* the host client gave up */
			return;
		}
		/* What is left to read still goes to the guest, then EOF. */
		vuv_epoll_del(d, c->fd);
		c->hup = true;
		c->readable = true;
		if (c->olen)
			conn_flush(d, c);
		return;
	}
	if (events & EPOLLIN)
		c->readable = true;
	if (events & EPOLLOUT)
		conn_flush(d, c);
	if (c->fd >= 0)
		conn_arm(d, c);
}

static int connect_host(struct vuv_dev *d, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", d->uds, port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS) {
		veil_log(LOG_DEBUG, "guest port connect to %s: %m", a.sun_path);
		close(fd);
		return -1;
	}
	return fd;
}

/* --------------------------------------------------------- guest -> host --- */

static void guest_data(struct vuv_dev *d, struct vuv_conn *c, const struct vuv_chain *ch,
		       uint32_t len)
{
	uint32_t off = 0;

	if (c->state != CS_OPEN || c->guest_shut_send || c->fd < 0) {
		conn_reset(d, c);
		return;
	}
	/* The guest knows only the fwd_cnt we last told it. */
	if (c->rx_cnt - c->fwd_adv + len > VUV_BUF_ALLOC) {
		veil_log(LOG_WARNING, "guest port %u sent %u bytes beyond its credit: reset",
			 c->gport, c->rx_cnt - c->fwd_adv + len - VUV_BUF_ALLOC);
		conn_reset(d, c);
		return;
	}
	vuv_chain_read(ch, VSOCK_HDR_LEN, scratch, len);
	c->rx_cnt += len;
	if (!c->olen) {
		ssize_t n = send(c->fd, scratch, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_reset(d, c);
			return;
		}
		if (n > 0) {
			off = n;
			c->fwd_cnt += n;
		}
	}
	if (off < len) {
		if (!obuf_get(c)) {
			veil_log(LOG_ERR, "out of memory buffering guest port %u", c->gport);
			conn_reset(d, c);
			return;
		}
		if (c->ooff + c->olen + (len - off) > VUV_BUF_ALLOC + LINE_MAX_LEN) {
			memmove(c->obuf, c->obuf + c->ooff, c->olen);
			c->ooff = 0;
		}
		memcpy(c->obuf + c->ooff + c->olen, scratch + off, len - off);
		c->olen += len - off;
	}
	conn_flush(d, c);
}

static void guest_packet(struct vuv_dev *d, const struct vuv_chain *ch)
{
	struct vsock_hdr h;
	const char *why;
	struct vuv_conn *c;
	int fd;

	switch (vuv_pkt_parse(ch, d->cid, &h, &why)) {
	case VUV_PKT_DROP:
		veil_log(LOG_WARNING, "guest packet dropped: %s", why);
		return;
	case VUV_PKT_RST:
		veil_log(LOG_WARNING, "guest packet refused (%s): src cid %llu port %u, "
			 "dst cid %llu port %u, op %u", why, (unsigned long long)h.src_cid,
			 h.src_port, (unsigned long long)h.dst_cid, h.dst_port, h.op);
		c = conn_find(d, h.src_port, h.dst_port);
		if (c)
			conn_reset(d, c);
		else
			orphan_rst(d, &h);
		return;
	case VUV_PKT_OK:
		break;
	}
	c = conn_find(d, h.src_port, h.dst_port);
	if (!c) {
		if (h.op != VSOCK_OP_REQUEST) {
			orphan_rst(d, &h);
			return;
		}
		fd = connect_host(d, h.dst_port);
		if (fd < 0) {
			orphan_rst(d, &h);
			return;
		}
		c = conn_new(d, fd, CS_OPEN);
		if (!c) {
			close(fd);
			orphan_rst(d, &h);
			return;
		}
		c->gport = h.src_port;
		c->hport = h.dst_port;
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		c->pending |= P_RESPONSE;
		return;
	}
	if (c->pending & P_RST)
		return;		/* already being torn down */
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	c->pending &= ~(P_CREDIT_REQ | (P_CREDIT_REQ << 8));
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		conn_reset(d, c);
		break;
	case VSOCK_OP_RESPONSE: {
		char ok[24];
		int n;

		if (c->state != CS_REQUESTED || !obuf_get(c)) {
			conn_reset(d, c);
			break;
		}
		c->state = CS_OPEN;
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->hport);
		memcpy(c->obuf, ok, n);
		c->olen = c->own = n;
		conn_flush(d, c);
		break;
	}
	case VSOCK_OP_RST:
		conn_free(d, c);
		break;
	case VSOCK_OP_SHUTDOWN:
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true;
		if (c->fd >= 0)
			conn_flush(d, c);
		break;
	case VSOCK_OP_RW:
		guest_data(d, c, ch, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= P_CREDIT;
		break;
	}
}

void vuv_tx_process(struct vuv_dev *d)
{
	struct vuv_ring *r = &d->ring[VUV_TXQ];
	struct vuv_chain ch;
	unsigned int done = 0;

	if (!vuv_ring_ready(d, VUV_TXQ))
		return;
	while (done < 256 && vuv_vq_peek(&r->vq, &d->mem, &ch) == 1) {
		guest_packet(d, &ch);
		vuv_vq_push(&r->vq, &ch, 0);
		done++;
	}
	if (done)
		vuv_ring_notify(d, VUV_TXQ);
	if (done == 256 && vuv_ring_ready(d, VUV_TXQ)) {
		uint64_t one = 1;	/* more to do: come back after other work */

		if (write(r->kick, &one, sizeof(one)) < 0)
			veil_log(LOG_WARNING, "re-kicking the tx queue: %m");
	}
}

/* --------------------------------------------------------- host -> guest --- */

static uint32_t peer_credit(const struct vuv_conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

static void fill_hdr(struct vuv_dev *d, struct vsock_hdr *h, struct vuv_conn *c, uint16_t op)
{
	struct vsock_hdr le = {
		.src_cid = htole64(VSOCK_HOST_CID), .dst_cid = htole64(d->cid),
		.type = htole16(VSOCK_TYPE_STREAM), .op = htole16(op),
	};

	if (c) {
		le.src_port = htole32(c->hport);
		le.dst_port = htole32(c->gport);
		le.buf_alloc = htole32(VUV_BUF_ALLOC);
		le.fwd_cnt = htole32(c->fwd_cnt);
		c->fwd_adv = c->fwd_cnt;
	}
	*h = le;
}

/* Fill one rx chain for c: a control packet, data, or EOF.  0: nothing to send, 1: sent, 2: sent and c freed. */
static int conn_rx(struct vuv_dev *d, struct vuv_conn *c, const struct vuv_chain *ch,
		    uint32_t *used)
{
	struct vsock_hdr h;
	static const unsigned int order[] = { P_RST, P_REQUEST, P_RESPONSE, P_CREDIT, P_CREDIT_REQ };
	static const uint16_t ops[] = { VSOCK_OP_RST, VSOCK_OP_REQUEST, VSOCK_OP_RESPONSE,
		VSOCK_OP_CREDIT_UPDATE, VSOCK_OP_CREDIT_REQUEST };

	for (unsigned int i = 0; i < 5; i++) {
		if (!(c->pending & order[i]))
			continue;
		fill_hdr(d, &h, c, ops[i]);
		c->pending &= ~order[i];
		if (order[i] == P_CREDIT_REQ)
			c->pending |= P_CREDIT_REQ << 8;	/* asked; wait for an answer */
		vuv_chain_write(ch, 0, &h, sizeof(h));
		*used = sizeof(h);
		if (order[i] == P_RST) {
			conn_free(d, c);
			return 2;
		}
		return 1;
	}
	if (c->state != CS_OPEN || !c->readable || c->fd < 0 || c->guest_shut_rcv)
		return 0;
	uint32_t room = ch->in_len - VSOCK_HDR_LEN, credit = peer_credit(c);
	ssize_t n;

	if (room > VSOCK_MAX_PAYLOAD)
		room = VSOCK_MAX_PAYLOAD;
	if (!credit) {
		if (!(c->pending & (P_CREDIT_REQ << 8)))
			c->pending |= P_CREDIT_REQ;
		return 0;
	}
	n = recv(c->fd, scratch, room < credit ? room : credit, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->readable = false;
		conn_arm(d, c);
		return 0;
	}
	if (n < 0) {
		/*
		 * E.g. ECONNRESET: the host closed with our data unread.  Send
		 * the RST in this chain: c's fd is gone, so no later event
		 * would bring it back to the pump.
		 */
		conn_reset(d, c);
		return conn_rx(d, c, ch, used);
	}
	if (n == 0) {
		fill_hdr(d, &h, c, VSOCK_OP_SHUTDOWN);
		h.flags = htole32(VSOCK_SHUTDOWN_SEND);
		c->host_eof = true;
		c->readable = false;
		conn_arm(d, c);
	} else {
		fill_hdr(d, &h, c, VSOCK_OP_RW);
		h.len = htole32(n);
		c->tx_cnt += n;
		vuv_chain_write(ch, VSOCK_HDR_LEN, scratch, n);
	}
	vuv_chain_write(ch, 0, &h, sizeof(h));
	*used = sizeof(h) + n;
	return 1;
}

/* Move c to the end of the list, so the next chain serves another connection first. */
static void conn_rotate(struct vuv_dev *d, struct vuv_conn *c)
{
	struct vuv_conn **pp = &d->conns;

	if (!c->next)
		return;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
	c->next = NULL;
}

void vuv_rx_pump(struct vuv_dev *d)
{
	struct vuv_ring *r = &d->ring[VUV_RXQ];
	struct vuv_chain ch;
	bool used_any = false, progress = true;

	if (!vuv_ring_ready(d, VUV_RXQ))
		return;
	while (progress) {
		progress = false;
		if (vuv_vq_peek(&r->vq, &d->mem, &ch) != 1)
			break;
		if (ch.nout || ch.in_len < VSOCK_HDR_LEN) {
			vuv_vq_fail(&r->vq, "rx buffer %u is not a writable buffer of at least %u bytes",
				    ch.head, VSOCK_HDR_LEN);
			break;
		}
		if (d->norphan) {
			struct vsock_hdr h = d->orphan[--d->norphan];

			fill_hdr(d, &h, NULL, VSOCK_OP_RST);
			h.src_port = htole32(d->orphan[d->norphan].src_port);
			h.dst_port = htole32(d->orphan[d->norphan].dst_port);
			vuv_chain_write(&ch, 0, &h, sizeof(h));
			vuv_vq_push(&r->vq, &ch, sizeof(h));
			used_any = progress = true;
			continue;
		}
		for (struct vuv_conn *c = d->conns, *next; c; c = next) {
			uint32_t used = 0;
			int rc;

			next = c->next;
			rc = conn_rx(d, c, &ch, &used);
			if (rc) {
				vuv_vq_push(&r->vq, &ch, used);
				used_any = progress = true;
				if (rc == 1)
					conn_rotate(d, c);
				break;
			}
		}
	}
	if (used_any)
		vuv_ring_notify(d, VUV_RXQ);
}
