/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small client of the "veil" generic netlink family on libnl-genl-3, for
 * tests: the core kselftest and veil-keyd-stub.  Every call returns the
 * kernel's own errno (negative) rather than libnl's folded error codes, and
 * keeps the kernel's extended-ack message for checks and diagnostics.
 *
 * Key requests (VEIL_CMD_KEY_REQUEST) the kernel sends while a call waits
 * for its answer are queued in struct vnl and never lost.  Key bytes are
 * only ever sent, never printed or kept.
 */
#ifndef VEIL_NL_TEST_H
#define VEIL_NL_TEST_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <linux/veil.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define VNL_MAX_REQS 64

struct vnl_kreq {
	uint32_t id;
	int consumer;
	char object[VEIL_OBJECT_MAX];
	char hint[VEIL_KEY_HINT_MAX];	/* "" if the request carried none */
	uint8_t key_id[VEIL_KEY_ID_MAX];
	int key_id_len;
};

struct vnl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int fam;
	/* outcome of the last call */
	bool done;
	int err;			/* 0 or -errno from the kernel */
	char ext_msg[256];		/* extack message, "" if none */
	/* last GET_INFO / REGISTER reply */
	int abi, daemon_pid, pending;	/* u32 on the wire, small */
	/* key requests received and not yet taken */
	struct vnl_kreq reqs[VNL_MAX_REQS];
	int nreqs;
	int dropped;			/* requests that found the queue full */
};

static inline int vnl_valid_cb(struct nl_msg *msg, void *arg)
{
	struct vnl *v = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[VEIL_A_MAX + 1];

	if (nlh->nlmsg_type != v->fam)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, VEIL_A_MAX, NULL) < 0)
		return NL_SKIP;

	switch (gh->cmd) {
	case VEIL_CMD_GET_INFO:
	case VEIL_CMD_REGISTER:
		if (tb[VEIL_A_ABI_VERSION])
			v->abi = (int)nla_get_u32(tb[VEIL_A_ABI_VERSION]);
		if (tb[VEIL_A_DAEMON_PID])
			v->daemon_pid = (int)nla_get_u32(tb[VEIL_A_DAEMON_PID]);
		if (tb[VEIL_A_PENDING])
			v->pending = (int)nla_get_u32(tb[VEIL_A_PENDING]);
		break;
	case VEIL_CMD_KEY_REQUEST: {
		struct vnl_kreq *r;

		if (!tb[VEIL_A_REQ_ID] || !tb[VEIL_A_KEY_ID])
			break;
		if (v->nreqs >= VNL_MAX_REQS) {
			v->dropped++;
			break;
		}
		r = &v->reqs[v->nreqs++];
		memset(r, 0, sizeof(*r));
		r->id = nla_get_u32(tb[VEIL_A_REQ_ID]);
		if (tb[VEIL_A_CONSUMER])
			r->consumer = (int)nla_get_u32(tb[VEIL_A_CONSUMER]);
		if (tb[VEIL_A_OBJECT])
			nla_strlcpy(r->object, tb[VEIL_A_OBJECT], sizeof(r->object));
		r->hint[0] = '\0';
		if (tb[VEIL_A_KEY_HINT])
			nla_strlcpy(r->hint, tb[VEIL_A_KEY_HINT], sizeof(r->hint));
		r->key_id_len = nla_len(tb[VEIL_A_KEY_ID]);
		if (r->key_id_len > VEIL_KEY_ID_MAX)
			r->key_id_len = VEIL_KEY_ID_MAX;
		memcpy(r->key_id, nla_data(tb[VEIL_A_KEY_ID]), r->key_id_len);
		break;
	}
	default:
		break;
	}
	return NL_OK;
}

static inline int vnl_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct vnl *v = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - (int)sizeof(*e);
	struct nlattr *a;
	int rem;

	v->err = e->error;
	v->done = true;
	v->ext_msg[0] = '\0';
	/* NETLINK_CAP_ACK is set: the ack TLVs follow the nlmsgerr directly. */
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && len > 0) {
		nla_for_each_attr(a, (struct nlattr *)(e + 1), len, rem) {
			if (nla_type(a) == NLMSGERR_ATTR_MSG)
				nla_strlcpy(v->ext_msg, a, sizeof(v->ext_msg));
		}
	}
	return NL_STOP;
}

static inline int vnl_no_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static inline int vnl_ack_cb(struct nl_msg *msg, void *arg)
{
	struct vnl *v = arg;

	v->err = 0;
	v->done = true;
	v->ext_msg[0] = '\0';
	return NL_STOP;
}

/* The family id, or a negative errno (-ENOENT: family not registered). */
static inline int vnl_open(struct vnl *v)
{
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, fd, err;

	memset(v, 0, sizeof(*v));
	v->sk = nl_socket_alloc();
	v->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!v->sk || !v->cb)
		goto nomem;
	if (genl_connect(v->sk))
		goto fail;
	fd = nl_socket_get_fd(v->sk);
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Key requests come unsolicited, with sequence number 0. */
	nl_cb_set(v->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, vnl_no_seq_check, NULL);
	nl_cb_set(v->cb, NL_CB_VALID, NL_CB_CUSTOM, vnl_valid_cb, v);
	nl_cb_set(v->cb, NL_CB_ACK, NL_CB_CUSTOM, vnl_ack_cb, v);
	nl_cb_err(v->cb, NL_CB_CUSTOM, vnl_err_cb, v);
	v->fam = genl_ctrl_resolve(v->sk, VEIL_GENL_NAME);
	if (v->fam < 0) {
		err = v->fam == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
		nl_cb_put(v->cb);
		nl_socket_free(v->sk);
		v->sk = NULL;
		v->cb = NULL;
		return err;
	}
	return v->fam;
nomem:
	err = -ENOMEM;
	goto out;
fail:
	err = -EIO;
out:
	if (v->cb)
		nl_cb_put(v->cb);
	if (v->sk)
		nl_socket_free(v->sk);
	v->sk = NULL;
	v->cb = NULL;
	return err;
}

static inline void vnl_close(struct vnl *v)
{
	if (v->cb)
		nl_cb_put(v->cb);
	if (v->sk)
		nl_socket_free(v->sk);
	v->sk = NULL;
	v->cb = NULL;
}

static inline struct nl_msg *vnl_msg(struct vnl *v, int cmd)
{
	struct nl_msg *m = nlmsg_alloc();

	if (m && !genlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, v->fam, 0,
			      NLM_F_ACK, cmd, VEIL_GENL_VERSION)) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

/* Receive until the pending call is answered; -ETIMEDOUT after 5 s. */
static inline int vnl_wait_done(struct vnl *v)
{
	while (!v->done) {
		int r = nl_recvmsgs(v->sk, v->cb);

		if (r < 0 && !v->done)
			return r == -NLE_AGAIN ? -ETIMEDOUT : -EIO;
	}
	return v->err;
}

/* Send m (consumed) and wait for the kernel's answer: 0 or -errno. */
static inline int vnl_call(struct vnl *v, struct nl_msg *m)
{
	int r;

	if (!m)
		return -ENOMEM;
	v->done = false;
	v->err = 0;
	v->ext_msg[0] = '\0';
	r = nl_send_auto(v->sk, m);
	nlmsg_free(m);
	if (r < 0)
		return -EIO;
	return vnl_wait_done(v);
}

static inline int vnl_get_info(struct vnl *v)
{
	return vnl_call(v, vnl_msg(v, VEIL_CMD_GET_INFO));
}

static inline int vnl_register(struct vnl *v, uint32_t abi)
{
	struct nl_msg *m = vnl_msg(v, VEIL_CMD_REGISTER);

	if (m && nla_put_u32(m, VEIL_A_ABI_VERSION, abi) < 0) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return vnl_call(v, m);
}

static inline int vnl_push(struct vnl *v, uint32_t id, const uint8_t *kid, int kid_len,
		    const uint8_t *key, int key_len, const char *cipher)
{
	struct nl_msg *m = vnl_msg(v, VEIL_CMD_KEY_PUSH);

	if (m && (nla_put_u32(m, VEIL_A_REQ_ID, id) < 0 ||
		  nla_put(m, VEIL_A_KEY_ID, kid_len, kid) < 0 ||
		  nla_put(m, VEIL_A_KEY, key_len, key) < 0 ||
		  (cipher && nla_put_string(m, VEIL_A_CIPHER, cipher) < 0))) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return vnl_call(v, m);
}

static inline int vnl_fail(struct vnl *v, uint32_t id, const uint8_t *kid, int kid_len,
		    uint32_t e, const char *reason)
{
	struct nl_msg *m = vnl_msg(v, VEIL_CMD_KEY_FAIL);

	if (m && (nla_put_u32(m, VEIL_A_REQ_ID, id) < 0 ||
		  nla_put(m, VEIL_A_KEY_ID, kid_len, kid) < 0 ||
		  nla_put_u32(m, VEIL_A_ERRNO, e) < 0 ||
		  (reason && nla_put_string(m, VEIL_A_REASON, reason) < 0))) {
		nlmsg_free(m);
		return -EMSGSIZE;
	}
	return vnl_call(v, m);
}

static inline long vnl_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Wait until at least n key requests are queued or timeout_ms passed
 * (timeout_ms < 0: forever).  Returns how many are queued.
 */
static inline int vnl_wait_reqs(struct vnl *v, int n, int timeout_ms)
{
	long end = vnl_ms_now() + timeout_ms;

	while (v->nreqs < n) {
		struct pollfd p = { .fd = nl_socket_get_fd(v->sk), .events = POLLIN };
		long left = timeout_ms < 0 ? -1 : end - vnl_ms_now();

		if (timeout_ms >= 0 && left <= 0)
			break;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		nl_recvmsgs(v->sk, v->cb);
	}
	return v->nreqs;
}

/* Take the oldest queued request into *r; false if none. */
static inline bool vnl_take(struct vnl *v, struct vnl_kreq *r)
{
	if (!v->nreqs)
		return false;
	*r = v->reqs[0];
	memmove(&v->reqs[0], &v->reqs[1], (v->nreqs - 1) * sizeof(v->reqs[0]));
	v->nreqs--;
	return true;
}

/* Parse hex into out (at most max bytes); returns the length or -1. */
static inline int vnl_unhex(const char *s, uint8_t *out, int max)
{
	int n = 0;

	if (!*s || strlen(s) % 2)
		return -1;
	for (; s[0] && s[1]; s += 2) {
		unsigned int b;

		if (n >= max || sscanf(s, "%2x", &b) != 1 ||
		    !strchr("0123456789abcdefABCDEF", s[0]) ||
		    !strchr("0123456789abcdefABCDEF", s[1]))
			return -1;
		out[n++] = (uint8_t)b;
	}
	return n;
}

static inline void vnl_hex(const uint8_t *in, int len, char *out)
{
	int i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * len] = '\0';
}

#endif /* VEIL_NL_TEST_H */
