// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veild's side of the "veil" generic netlink family (the attribute tree is
 * documented in include/uapi/linux/veil.h).
 *
 * The main thread's socket registers and receives key requests; each worker
 * answers on a socket of its own (the kernel matches answers by handle and
 * key-id, not by socket), so answers never queue behind each other.
 *
 * Answers are built by hand in a veil_secmem page rather than in a libnl
 * message: a push carries the key, and libnl's buffers are ordinary heap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <openssl/crypto.h>

#include "veild.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define VGENL_RCVBUF	(4 << 20)	/* a burst of thousands of requests */

/* A string attribute into dst, cut at its NUL or at dst's size. */
static void copy_str(char *dst, size_t size, const struct nlattr *a)
{
	size_t n = (size_t)nla_len(a);

	if (n >= size)
		n = size - 1;
	memcpy(dst, nla_data(a), n);
	dst[strnlen(dst, n)] = '\0';
}

static int vgenl_valid(struct nl_msg *msg, void *arg)
{
	struct vgenl *g = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[VEIL_A_MAX + 1];
	struct veil_req req;
	int len;

	if (nlh->nlmsg_type != g->fam ||
	    genlmsg_parse(nlh, 0, tb, VEIL_A_MAX, NULL) < 0)
		return NL_SKIP;

	switch (gh->cmd) {
	case VEIL_CMD_GET_INFO:
	case VEIL_CMD_REGISTER:
		if (tb[VEIL_A_ABI_VERSION])
			g->abi = nla_get_u32(tb[VEIL_A_ABI_VERSION]);
		if (tb[VEIL_A_DAEMON_PID])
			g->daemon_pid = nla_get_u32(tb[VEIL_A_DAEMON_PID]);
		if (tb[VEIL_A_PENDING])
			g->pending = nla_get_u32(tb[VEIL_A_PENDING]);
		return NL_OK;
	case VEIL_CMD_KEY_REQUEST:
		break;
	default:
		return NL_SKIP;
	}

	if (!g->on_req)
		return NL_SKIP;
	memset(&req, 0, sizeof(req));
	if (!tb[VEIL_A_REQ_ID] || !tb[VEIL_A_KEY_ID]) {
		log_warn("key request without handle or key-id ignored");
		return NL_SKIP;
	}
	len = nla_len(tb[VEIL_A_KEY_ID]);
	if (len < 1 || len > VEIL_KEY_ID_MAX) {
		log_warn("key request with a %d-byte key-id ignored", len);
		return NL_SKIP;
	}
	req.id = nla_get_u32(tb[VEIL_A_REQ_ID]);
	req.key_id_len = (uint32_t)len;
	memcpy(req.key_id, nla_data(tb[VEIL_A_KEY_ID]), (size_t)len);
	if (tb[VEIL_A_CONSUMER])
		req.consumer = nla_get_u32(tb[VEIL_A_CONSUMER]);
	if (tb[VEIL_A_OBJECT])
		copy_str(req.object, sizeof(req.object), tb[VEIL_A_OBJECT]);
	if (tb[VEIL_A_KEY_HINT])
		copy_str(req.hint, sizeof(req.hint), tb[VEIL_A_KEY_HINT]);
	clock_gettime(CLOCK_MONOTONIC, &req.received);
	g->on_req(&req, g->arg);
	return NL_OK;
}

static int vgenl_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct vgenl *g = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	int len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)sizeof(*e);
	struct nlattr *a;
	int rem;

	g->err = e->error;
	g->done = true;
	g->ext[0] = '\0';
	/* NETLINK_CAP_ACK: the extack attributes follow the nlmsgerr */
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && len > 0)
		nla_for_each_attr(a, (struct nlattr *)(e + 1), len, rem)
			if (nla_type(a) == NLMSGERR_ATTR_MSG)
				nla_strlcpy(g->ext, a, sizeof(g->ext));
	return NL_STOP;
}

static int vgenl_ack(struct nl_msg *msg, void *arg)
{
	struct vgenl *g = arg;

	g->err = 0;
	g->done = true;
	g->ext[0] = '\0';
	return NL_STOP;
}

static int vgenl_noseq(struct nl_msg *msg, void *arg)
{
	return NL_OK;	/* key requests come unsolicited, sequence 0 */
}

int vgenl_open(struct vgenl *g, vgenl_req_fn on_req, void *arg)
{
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, fd, r, flags, rcvbuf = VGENL_RCVBUF;

	memset(g, 0, sizeof(*g));
	g->on_req = on_req;
	g->arg = arg;
	g->msg_size = 4096;
	g->msg = veil_secmem_alloc(g->msg_size);
	g->sk = nl_socket_alloc();
	g->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!g->msg || !g->sk || !g->cb) {
		vgenl_close(g);
		return -ENOMEM;
	}
	if (genl_connect(g->sk)) {
		vgenl_close(g);
		return -EIO;
	}
	fd = nl_socket_get_fd(g->sk);
	/*
	 * NETLINK_CAP_ACK: an error ack repeats only the header of a request,
	 * never the key of a refused push (veil.ko also wipes it before
	 * acking).  NETLINK_EXT_ACK: an ack says why the kernel refused.
	 * Close-on-exec (libnl opens with SOCK_CLOEXEC; made sure here): a
	 * program veild starts must not keep the registered socket open, or
	 * the kernel would not notice when veild is gone and would keep
	 * posting key requests to a socket nobody answers.
	 */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one))) {
		r = -errno;
		log_err("netlink socket: cannot set NETLINK_CAP_ACK and NETLINK_EXT_ACK: %s",
			strerror(-r));
		vgenl_close(g);
		return r;
	}
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 ||
	    (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC))) {
		r = -errno;
		log_err("netlink socket: cannot make it close-on-exec: %s",
			strerror(-r));
		vgenl_close(g);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (on_req &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	nl_cb_set(g->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, vgenl_noseq, NULL);
	nl_cb_set(g->cb, NL_CB_VALID, NL_CB_CUSTOM, vgenl_valid, g);
	nl_cb_set(g->cb, NL_CB_ACK, NL_CB_CUSTOM, vgenl_ack, g);
	nl_cb_err(g->cb, NL_CB_CUSTOM, vgenl_err, g);

	r = genl_ctrl_resolve(g->sk, VEIL_GENL_NAME);
	if (r < 0) {
		vgenl_close(g);
		return r == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
	}
	g->fam = r;
	return 0;
}

void vgenl_close(struct vgenl *g)
{
	if (g->cb)
		nl_cb_put(g->cb);
	if (g->sk)
		nl_socket_free(g->sk);
	if (g->msg)
		veil_secmem_free(g->msg, g->msg_size);
	g->cb = NULL;
	g->sk = NULL;
	g->msg = NULL;
}

int vgenl_fd(const struct vgenl *g)
{
	return nl_socket_get_fd(g->sk);
}

static int nl_errno(int nle)
{
	switch (-nle) {
	case NLE_AGAIN:
		return -ETIMEDOUT;
	case NLE_NOMEM:
		return -ENOBUFS;	/* what the kernel's overrun becomes */
	default:
		return -EIO;
	}
}

int vgenl_receive(struct vgenl *g)
{
	int r = nl_recvmsgs(g->sk, g->cb);

	return r < 0 ? nl_errno(r) : 0;
}

/* Wait for the answer to the call just sent. */
static int vgenl_wait(struct vgenl *g)
{
	while (!g->done) {
		int r = nl_recvmsgs(g->sk, g->cb);

		if (r < 0 && !g->done)
			return nl_errno(r);
	}
	return g->err;
}

/* ---- hand-built messages (in g->msg) ---- */

static size_t msg_begin(struct vgenl *g, uint8_t cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)g->msg;
	struct genlmsghdr *gh = (struct genlmsghdr *)(g->msg + NLMSG_HDRLEN);

	memset(g->msg, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	h->nlmsg_type = (uint16_t)g->fam;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = nl_socket_use_seq(g->sk);
	gh->cmd = cmd;
	gh->version = VEIL_GENL_VERSION;
	return NLMSG_HDRLEN + GENL_HDRLEN;
}

static int msg_put(struct vgenl *g, size_t *off, uint16_t type,
		   const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(g->msg + *off);
	size_t total = NLA_ALIGN(NLA_HDRLEN + len);

	if (*off + total > g->msg_size)
		return -EMSGSIZE;
	memset(a, 0, total);
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	a->nla_type = type;
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	*off += total;
	return 0;
}

static int msg_put_u32(struct vgenl *g, size_t *off, uint16_t type,
		       uint32_t v)
{
	return msg_put(g, off, type, &v, sizeof(v));
}

static int msg_call(struct vgenl *g, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)g->msg;
	int r;

	h->nlmsg_len = (uint32_t)len;
	g->done = false;
	g->err = 0;
	g->ext[0] = '\0';
	r = nl_sendto(g->sk, g->msg, len);
	OPENSSL_cleanse(g->msg, len);
	if (r < 0)
		return -EIO;
	return vgenl_wait(g);
}

int vgenl_get_info(struct vgenl *g)
{
	return msg_call(g, msg_begin(g, VEIL_CMD_GET_INFO));
}

int vgenl_register(struct vgenl *g)
{
	size_t off = msg_begin(g, VEIL_CMD_REGISTER);

	msg_put_u32(g, &off, VEIL_A_ABI_VERSION, VEIL_ABI_VERSION);
	return msg_call(g, off);
}

int vgenl_push(struct vgenl *g, const struct veil_req *req,
	       const uint8_t *key, size_t len)
{
	size_t off = msg_begin(g, VEIL_CMD_KEY_PUSH);

	if (msg_put_u32(g, &off, VEIL_A_REQ_ID, req->id) ||
	    msg_put(g, &off, VEIL_A_KEY_ID, req->key_id, req->key_id_len) ||
	    msg_put(g, &off, VEIL_A_KEY, key, len)) {
		OPENSSL_cleanse(g->msg, g->msg_size);
		return -EMSGSIZE;
	}
	return msg_call(g, off);
}

int vgenl_fail(struct vgenl *g, const struct veil_req *req, int err,
	       const char *reason)
{
	size_t off = msg_begin(g, VEIL_CMD_KEY_FAIL);
	char r[VEIL_REASON_MAX];

	snprintf(r, sizeof(r), "%s", reason ? reason : "");
	if (msg_put_u32(g, &off, VEIL_A_REQ_ID, req->id) ||
	    msg_put(g, &off, VEIL_A_KEY_ID, req->key_id, req->key_id_len) ||
	    msg_put_u32(g, &off, VEIL_A_ERRNO, (uint32_t)err) ||
	    msg_put(g, &off, VEIL_A_REASON, r, strlen(r) + 1))
		return -EMSGSIZE;
	return msg_call(g, off);
}
