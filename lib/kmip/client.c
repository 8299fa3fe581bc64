// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The KMIP client: one persistent TLS connection to the first configured
 * key manager that answers, one request at a time.
 *
 * Idle connections: key managers close connections that stay idle (30 s to
 * a few minutes is common).  Before reusing a connection the client checks
 * whether the server has closed it; and if a request on a reused
 * connection fails before any byte of the reply arrives, an idempotent
 * request (everything but Create and Register) is sent once more on a fresh
 * connection.  So a server's idle close costs a reconnect, never a failed
 * lookup.
 *
 * Replies are read into locked memory (veil_secmem) that is wiped after
 * each operation: a Get reply carries key bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "kmip/kmip.h"
#include "kmip/tls.h"
#include "util.h"

struct kmip_client {
	const struct veil_kmip_conf *conf;
	SSL_CTX *ctx;
	struct kmip_tls tls;
	int server;			/* index of the server last used */
	struct timespec last_used;
	unsigned long connects;
	char err[KMIP_ERR_MAX];
	bool transient;
	char peer[300];
	uint8_t *resp;			/* veil_secmem, conf->max_response */
	size_t resp_len;		/* bytes of the last reply */
	struct kmip_result res;		/* a one-item request's result */
	struct kmip_result batch[KMIP_BATCH_MAX]; /* a batch's, in order */
};

struct kmip_client *kmip_client_new(const struct veil_kmip_conf *c,
				    SSL_CTX *ctx)
{
	struct kmip_client *kc = calloc(1, sizeof(*kc));

	if (!kc)
		return NULL;
	kc->conf = c;
	kc->ctx = ctx;
	kc->tls.fd = -1;
	kc->tls.cancel_fd = -1;
	kc->resp = veil_secmem_alloc(c->max_response);
	if (!kc->resp) {
		free(kc);
		return NULL;
	}
	return kc;
}

void kmip_client_close(struct kmip_client *kc)
{
	kmip_tls_close(&kc->tls);
}

void kmip_client_free(struct kmip_client *kc)
{
	if (!kc)
		return;
	kmip_client_close(kc);
	veil_secmem_free(kc->resp, kc->conf->max_response);
	free(kc);
}

const char *kmip_client_error(const struct kmip_client *kc)
{
	return kc->err;
}

void kmip_client_set_error(struct kmip_client *kc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kc->err, sizeof(kc->err), fmt, ap);
	va_end(ap);
}

void kmip_client_set_cancel(struct kmip_client *kc, int fd)
{
	kc->tls.cancel_fd = fd;
}

bool kmip_client_transient(const struct kmip_client *kc)
{
	return kc->transient;
}

const char *kmip_client_peer(const struct kmip_client *kc)
{
	return kc->peer;
}

unsigned long kmip_client_connects(const struct kmip_client *kc)
{
	return kc->connects;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

void kmip_client_idle(struct kmip_client *kc)
{
	if (kc->tls.ssl && kc->conf->idle_timeout_ms &&
	    ms_since(&kc->last_used) >= kc->conf->idle_timeout_ms)
		kmip_client_close(kc);
}

/* Connect to the server last used, else the next ones in order. */
static int kc_connect(struct kmip_client *kc)
{
	const struct veil_kmip_conf *c = kc->conf;
	char e[KMIP_ERR_MAX];
	bool transient = true, t;
	int i, r = -EHOSTUNREACH;

	if (!c->nservers) {
		kmip_client_set_error(kc, "no key manager configured");
		kc->transient = false;
		return -EINVAL;
	}
	for (i = 0; i < c->nservers; i++) {
		int idx = (kc->server + i) % c->nservers;
		const struct kmip_server *s = &c->servers[idx];

		r = kmip_tls_connect(c, kc->ctx, s, &kc->tls, e, sizeof(e), &t);
		if (r == -ECANCELED) {
			kmip_client_set_error(kc, "%s", e);
			kc->transient = false;
			return r;
		}
		if (!r) {
			kc->server = idx;
			kc->connects++;
			snprintf(kc->peer, sizeof(kc->peer), "%s:%s", s->host,
				 s->port);
			return 0;
		}
		/* the first failure is usually the telling one */
		if (i == 0) {
			kmip_client_set_error(kc, "%s", e);
			transient = t;
		}
	}
	if (c->nservers > 1 && strlen(kc->err) + 40 < sizeof(kc->err))
		snprintf(kc->err + strlen(kc->err),
			 sizeof(kc->err) - strlen(kc->err),
			 " (and %d other server%s)", c->nservers - 1,
			 c->nservers > 2 ? "s" : "");
	kc->transient = transient;
	return r;
}

/* Send one request, read one reply into kc->resp. */
static int kc_exchange(struct kmip_client *kc, const struct ttlv_buf *req,
		       size_t *got)
{
	struct timespec deadline;
	int io = kc->conf->io_timeout_ms;
	uint32_t len;
	const uint8_t *h = kc->resp;
	int r;

	*got = 0;
	/* the request and its whole reply within io_timeout */
	kmip_deadline(&deadline, io);
	r = kmip_tls_write(&kc->tls, req->p, req->len, &deadline, io, kc->err,
			   sizeof(kc->err), &kc->transient);
	if (r)
		return r;
	r = kmip_tls_read(&kc->tls, kc->resp, TTLV_HDR, &deadline, io, got,
			  kc->err, sizeof(kc->err), &kc->transient);
	if (r)
		return r;
	/* A KMIP reply starts with a Response Message structure. */
	if (h[0] != 0x42 || h[1] != 0x00 || h[2] != 0x7B || h[3] != TTLV_STRUCT) {
		kmip_client_set_error(kc,
			 "%s is not a KMIP server (reply starts %02x %02x %02x %02x)",
			 kc->peer, h[0], h[1], h[2], h[3]);
		kc->transient = false;
		return -EPROTO;
	}
	len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
	      (uint32_t)h[6] << 8 | h[7];
	if (len % 8 || len > kc->conf->max_response - TTLV_HDR) {
		kmip_client_set_error(kc,
			 "reply of %u bytes from %s refused (limit %u, multiple of 8)",
			 len, kc->peer, kc->conf->max_response);
		kc->transient = false;
		return -EPROTO;
	}
	return kmip_tls_read(&kc->tls, kc->resp, TTLV_HDR + len, &deadline,
			     io, got, kc->err, sizeof(kc->err), &kc->transient);
}

static const char *op_name(uint32_t op)
{
	switch (op) {
	case KMIP_OP_CREATE:		return "Create";
	case KMIP_OP_REGISTER:		return "Register";
	case KMIP_OP_LOCATE:		return "Locate";
	case KMIP_OP_GET:		return "Get";
	case KMIP_OP_GET_ATTRIBUTES:	return "Get Attributes";
	case KMIP_OP_ACTIVATE:		return "Activate";
	case KMIP_OP_REVOKE:		return "Revoke";
	case KMIP_OP_DESTROY:		return "Destroy";
	default:			return "operation";
	}
}

/*
 * Run a request of @n operations (@ops, in order): the request in @req
 * (finished), the results in @res (kc->res for one operation), payloads
 * pointing into kc->resp.  The first operation that failed decides the
 * error.  Call kc_done() after reading the payloads.
 */
static int kc_call_batch(struct kmip_client *kc, struct ttlv_buf *req,
			 const uint32_t *ops, int n, struct kmip_result *res)
{
	const struct veil_kmip_conf *c = kc->conf;
	bool idempotent = true;
	const char *why = NULL;
	int attempt, r, i, got;
	size_t got_bytes;

	for (i = 0; i < n; i++)
		if (ops[i] == KMIP_OP_CREATE || ops[i] == KMIP_OP_REGISTER)
			idempotent = false;
	kc->err[0] = '\0';
	kc->transient = false;
	r = ttlv_buf_finish(req);
	if (r) {
		kmip_client_set_error(kc, "cannot encode the %s request",
			 op_name(ops[0]));
		return r;
	}
	for (attempt = 0; ; attempt++) {
		bool reused = kc->tls.ssl != NULL;

		if (reused && kmip_tls_stale(&kc->tls)) {
			kmip_client_close(kc);	/* closed while idle */
			reused = false;
		}
		if (!kc->tls.ssl) {
			r = kc_connect(kc);
			if (r)
				return r;
		}
		r = kc_exchange(kc, req, &got_bytes);
		kc->resp_len = got_bytes;
		if (!r)
			break;
		kmip_client_close(kc);
		if (!(reused && idempotent && kc->transient && attempt == 0 &&
		      got_bytes == 0)) {
			/*
			 * A server that connects but then stalls or drops the
			 * exchange: the next try starts with the next server.
			 */
			if (kc->transient && c->nservers > 1)
				kc->server = (kc->server + 1) % c->nservers;
			return r;
		}
		/* the server had dropped the connection: once more, fresh */
	}
	clock_gettime(CLOCK_MONOTONIC, &kc->last_used);

	r = kmip_resp_parse_batch(kc->resp, kc->resp_len, ops, n, res, &got,
				  &why);
	if (r) {
		kmip_client_set_error(kc, "malformed %s reply from %s: %s",
			 op_name(ops[0]), kc->peer, why ? why : "?");
		kc->transient = false;
		kmip_client_close(kc);	/* the stream is no longer trusted */
		return -EPROTO;
	}
	for (i = 0; i < got && res[i].status == KMIP_STATUS_SUCCESS; i++)
		;
	if (i == n)
		return 0;
	if (i == got) {
		kmip_client_set_error(kc, "malformed %s reply from %s: %d of %d batch items, all successful",
			 op_name(ops[0]), kc->peer, got, n);
		kc->transient = false;
		return -EPROTO;
	}

	kmip_client_set_error(kc, "%s refused by %s: %s%s%s",
		 op_name(ops[i]), kc->peer, kmip_reason_str(res[i].reason),
		 res[i].message[0] ? ": " : "", res[i].message);
	switch (res[i].reason) {
	case KMIP_REASON_ITEM_NOT_FOUND:
		return -ENOKEY;
	case KMIP_REASON_PERMISSION_DENIED:
	case KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL:
		return -EKEYREJECTED;
	default:
		return -EIO;
	}
}

static int kc_call(struct kmip_client *kc, struct ttlv_buf *req, uint32_t op)
{
	return kc_call_batch(kc, req, &op, 1, &kc->res);
}

static void kc_done(struct kmip_client *kc)
{
	OPENSSL_cleanse(kc->resp, kc->resp_len);
	kc->resp_len = 0;
	memset(&kc->res, 0, sizeof(kc->res));
	memset(kc->batch, 0, sizeof(kc->batch));
}

static int kc_bad_payload(struct kmip_client *kc, uint32_t op, const char *why)
{
	kmip_client_set_error(kc, "malformed %s reply from %s: %s",
		 op_name(op), kc->peer, why);
	kc->transient = false;
	kc_done(kc);
	return -EPROTO;
}

/* Operations whose reply payload is just the Unique Identifier. */
static int kc_uid_op(struct kmip_client *kc, struct ttlv_buf *req,
		     uint32_t op, char *uid)
{
	char tmp[KMIP_UID_MAX];
	int r;

	r = kc_call(kc, req, op);
	if (r) {
		kc_done(kc);
		return r;
	}
	if (kmip_parse_uid(&kc->res.payload, uid ? uid : tmp, KMIP_UID_MAX))
		return kc_bad_payload(kc, op, "no valid unique identifier");
	kc_done(kc);
	return 0;
}

#define REQ(b, kc, op, secret)						\
	struct ttlv_buf b;						\
	ttlv_buf_init(&b, secret);					\
	kmip_req_begin(&b, (kc)->conf->kmip_minor, op, (kc)->conf->max_response)

int kmip_create_aes(struct kmip_client *kc, unsigned int bits,
		    const char *name, char uid[KMIP_UID_MAX])
{
	int r;
	REQ(b, kc, KMIP_OP_CREATE, false);

	kmip_pl_create_aes(&b, bits, name);
	kmip_req_end(&b);
	r = kc_uid_op(kc, &b, KMIP_OP_CREATE, uid);
	ttlv_buf_free(&b);
	return r;
}

int kmip_register_aes(struct kmip_client *kc, const uint8_t *key,
		      size_t len, const char *name, char uid[KMIP_UID_MAX])
{
	int r;
	REQ(b, kc, KMIP_OP_REGISTER, true);

	kmip_pl_register_aes(&b, key, len, name);
	kmip_req_end(&b);
	r = kc_uid_op(kc, &b, KMIP_OP_REGISTER, uid);
	ttlv_buf_free(&b);
	return r;
}

int kmip_activate(struct kmip_client *kc, const char *uid)
{
	int r;
	REQ(b, kc, KMIP_OP_ACTIVATE, false);

	kmip_pl_uid(&b, uid);
	kmip_req_end(&b);
	r = kc_uid_op(kc, &b, KMIP_OP_ACTIVATE, NULL);
	ttlv_buf_free(&b);
	return r;
}

int kmip_revoke(struct kmip_client *kc, const char *uid, uint32_t code)
{
	int r;
	REQ(b, kc, KMIP_OP_REVOKE, false);

	kmip_pl_revoke(&b, uid, code);
	kmip_req_end(&b);
	r = kc_uid_op(kc, &b, KMIP_OP_REVOKE, NULL);
	ttlv_buf_free(&b);
	return r;
}

int kmip_destroy(struct kmip_client *kc, const char *uid)
{
	int r;
	REQ(b, kc, KMIP_OP_DESTROY, false);

	kmip_pl_uid(&b, uid);
	kmip_req_end(&b);
	r = kc_uid_op(kc, &b, KMIP_OP_DESTROY, NULL);
	ttlv_buf_free(&b);
	return r;
}

int kmip_locate_name(struct kmip_client *kc, const char *name,
		     uint32_t state, char (*uids)[KMIP_UID_MAX], int max,
		     int *n)
{
	int r;
	REQ(b, kc, KMIP_OP_LOCATE, false);

	kmip_pl_locate_name(&b, name, state, 0);
	kmip_req_end(&b);
	r = kc_call(kc, &b, KMIP_OP_LOCATE);
	ttlv_buf_free(&b);
	if (!r && kmip_parse_locate(kc->res.has_payload ? &kc->res.payload : NULL,
				    uids, max, n))
		return kc_bad_payload(kc, KMIP_OP_LOCATE, "bad unique identifier");
	kc_done(kc);
	return r;
}

/* A Get reply's key into @key; on failure a reason in kc, key wiped. */
static int kc_take_symkey(struct kmip_client *kc, const struct ttlv *payload,
			  const char *uid, uint8_t *key, size_t size,
			  struct kmip_key *info)
{
	char euid[VEIL_ESCAPED_SIZE(32)];
	const char *why = NULL;
	int r;

	r = kmip_parse_symkey(payload, key, size, info, &why);
	if (r) {
		OPENSSL_cleanse(key, size);
		/* the identifier came from the server (a Locate) or a key-hint */
		kmip_client_set_error(kc, "key %s from %s: %s",
			 veil_escape_str(euid, sizeof(euid), uid), kc->peer,
			 why ? why : "unusable");
		kc->transient = false;
		if (r == -EBADMSG)
			r = -EPROTO;
	}
	return r;
}

int kmip_get_symkey(struct kmip_client *kc, const char *uid, uint8_t *key,
		    size_t size, struct kmip_key *info)
{
	int r;
	REQ(b, kc, KMIP_OP_GET, false);

	kmip_pl_uid(&b, uid);
	kmip_req_end(&b);
	r = kc_call(kc, &b, KMIP_OP_GET);
	ttlv_buf_free(&b);
	if (!r)
		r = kc_take_symkey(kc, &kc->res.payload, uid, key, size, info);
	kc_done(kc);
	return r;
}

int kmip_get_attributes_symkey(struct kmip_client *kc, const char *uid,
			       struct kmip_attrs *a, uint8_t *key,
			       size_t size, struct kmip_key *info)
{
	static const uint32_t ops[] = { KMIP_OP_GET_ATTRIBUTES, KMIP_OP_GET };
	/* only what the caller checks: all of them costs the server more */
	static const char *const names[] = { "Name", "State", "Object Type" };
	struct ttlv_buf b;
	int r;

	ttlv_buf_init(&b, false);
	kmip_req_begin_batch(&b, kc->conf->kmip_minor, 2,
			     kc->conf->max_response);
	kmip_req_item(&b, KMIP_OP_GET_ATTRIBUTES, 1);
	kmip_pl_get_attrs(&b, uid, names, 3);
	kmip_req_item_end(&b);
	kmip_req_item(&b, KMIP_OP_GET, 2);
	kmip_pl_uid(&b, uid);
	kmip_req_item_end(&b);
	ttlv_end(&b);
	r = kc_call_batch(kc, &b, ops, 2, kc->batch);
	ttlv_buf_free(&b);
	if (!r && kmip_parse_attributes(&kc->batch[0].payload, a))
		return kc_bad_payload(kc, KMIP_OP_GET_ATTRIBUTES,
				      "bad attribute list");
	if (!r)
		r = kc_take_symkey(kc, &kc->batch[1].payload, uid, key, size,
				   info);
	kc_done(kc);
	return r;
}

int kmip_get_attributes(struct kmip_client *kc, const char *uid,
			struct kmip_attrs *a)
{
	int r;
	REQ(b, kc, KMIP_OP_GET_ATTRIBUTES, false);

	kmip_pl_uid(&b, uid);
	kmip_req_end(&b);
	r = kc_call(kc, &b, KMIP_OP_GET_ATTRIBUTES);
	ttlv_buf_free(&b);
	if (!r && kmip_parse_attributes(&kc->res.payload, a))
		return kc_bad_payload(kc, KMIP_OP_GET_ATTRIBUTES,
				      "bad attribute list");
	kc_done(kc);
	return r;
}
