/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * KMIP messages, without any I/O: request builders for the operations veil
 * uses and parsers for their replies.  One batch item per message.  Every
 * parser takes a reply straight off the wire; see docs/kmip.md for the
 * exact subset of KMIP 1.2 this speaks.
 */
#ifndef VEIL_KMIP_PROTO_H
#define VEIL_KMIP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmip/tags.h"
#include "kmip/ttlv.h"

#define KMIP_UID_MAX		128	/* bytes with NUL */
#define KMIP_NAME_MAX		128
#define KMIP_RESULT_MSG_MAX	200
#define KMIP_BATCH_MAX		2	/* items in one request message */

struct kmip_result {
	uint32_t status;		/* KMIP_STATUS_* */
	uint32_t reason;		/* KMIP_REASON_*, 0 if absent */
	char message[KMIP_RESULT_MSG_MAX];	/* "" if absent; sanitised */
	bool has_payload;
	struct ttlv payload;		/* points into the reply buffer */
};

/* ---- requests: begin, payload items, end ---- */

/* A one-item request: begin (through the payload's start), payload, end. */
void kmip_req_begin(struct ttlv_buf *b, int minor, uint32_t op,
		    uint32_t max_response);
void kmip_req_end(struct ttlv_buf *b);
/*
 * A batch of @count items: begin_batch, then per item kmip_req_item(op,
 * id) with ids 1, 2, ... (0 for a one-item message), its payload,
 * kmip_req_item_end(); then ttlv_end() closes the message.  A reply item
 * that carries a Unique Batch Item ID must carry its request's.
 */
void kmip_req_begin_batch(struct ttlv_buf *b, int minor, int count,
			  uint32_t max_response);
void kmip_req_item(struct ttlv_buf *b, uint32_t op, uint8_t id);
void kmip_req_item_end(struct ttlv_buf *b);

void kmip_pl_create_aes(struct ttlv_buf *b, unsigned int bits,
			const char *name);
void kmip_pl_register_aes(struct ttlv_buf *b, const uint8_t *key,
			  size_t len, const char *name);
/* state 0: any state */
void kmip_pl_locate_name(struct ttlv_buf *b, const char *name,
			 uint32_t state, int32_t max_items);
/* Get, Activate, Destroy, Get Attributes (all attributes) */
void kmip_pl_uid(struct ttlv_buf *b, const char *uid);
/* Get Attributes of only the @n attributes @names */
void kmip_pl_get_attrs(struct ttlv_buf *b, const char *uid,
		       const char *const *names, int n);
void kmip_pl_revoke(struct ttlv_buf *b, const char *uid, uint32_t code);

/* ---- replies ---- */

/*
 * Parse a whole reply to a one-item request for @op.  0 if it is a
 * well-formed KMIP reply (r->status says whether the operation worked);
 * -EBADMSG with *why if not.
 */
int kmip_resp_parse(const uint8_t *buf, size_t len, uint32_t op,
		    struct kmip_result *r, const char **why);
/*
 * The same for a request of @n items (@ops in order): the reply may hold
 * 1..n items (a server that stops a batch at a failed item may leave out
 * the rest), each for its operation; *got says how many, res[0..n) the
 * results.
 */
int kmip_resp_parse_batch(const uint8_t *buf, size_t len,
			  const uint32_t *ops, int n, struct kmip_result *res,
			  int *got, const char **why);

/* Unique Identifier of a Create/Register/Activate/Revoke/Destroy reply. */
int kmip_parse_uid(const struct ttlv *payload, char *uid, size_t size);

/* Locate: *n is the number of identifiers returned; the first max copied. */
int kmip_parse_locate(const struct ttlv *payload, char (*uids)[KMIP_UID_MAX],
		      int max, int *n);

struct kmip_key {
	uint32_t object_type;
	uint32_t algorithm;		/* 0 if absent */
	int32_t bits;			/* 0 if absent */
	uint32_t format;		/* KMIP_KFT_* */
	size_t len;			/* bytes in the caller's buffer */
};

/*
 * Get of a symmetric key: key bytes into key[0..size).  -EBADMSG
 * malformed (a Cryptographic Length, when present, must be the material's
 * length in bits), -EMSGSIZE larger than @size, -EOPNOTSUPP wrapped,
 * compressed, of a format/object type veil does not take, or of a
 * Cryptographic Algorithm other than AES (every veil cipher is AES; a key
 * without the attribute is taken).  @key is wiped on error.
 */
int kmip_parse_symkey(const struct ttlv *payload, uint8_t *key, size_t size,
		      struct kmip_key *info, const char **why);

struct kmip_attrs {
	char uid[KMIP_UID_MAX];
	char name[KMIP_NAME_MAX];	/* first Name, "" if none */
	uint32_t object_type, state, algorithm;	/* 0 if absent */
	int32_t bits;
	int64_t initial_date;
};

int kmip_parse_attributes(const struct ttlv *payload, struct kmip_attrs *a);

const char *kmip_reason_str(uint32_t reason);
const char *kmip_state_str(uint32_t state);
/* "AES", "3DES", "HMAC-SHA256", ... or "unknown". */
const char *kmip_alg_str(uint32_t alg);
/* Why a key of @alg (not AES) is refused, for an error message. */
const char *kmip_alg_refusal(uint32_t alg);

#endif /* VEIL_KMIP_PROTO_H */
