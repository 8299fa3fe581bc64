// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KMIP request builders and reply parsers; see proto.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kmip/proto.h"
#include "util.h"

/* ----------------------------------------------------------- requests --- */

void kmip_req_begin_batch(struct ttlv_buf *b, int minor, int count,
			  uint32_t max_response)
{
	ttlv_begin(b, KMIP_TAG_REQUEST_MESSAGE);
	ttlv_begin(b, KMIP_TAG_REQUEST_HEADER);
	ttlv_begin(b, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_put_int(b, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_put_int(b, KMIP_TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_end(b);
	if (max_response)
		ttlv_put_int(b, KMIP_TAG_MAXIMUM_RESPONSE_SIZE,
			     (int32_t)max_response);
	ttlv_put_int(b, KMIP_TAG_BATCH_COUNT, count);
	ttlv_end(b);
}

void kmip_req_item(struct ttlv_buf *b, uint32_t op, uint8_t id)
{
	ttlv_begin(b, KMIP_TAG_BATCH_ITEM);
	ttlv_put_enum(b, KMIP_TAG_OPERATION, op);
	/* required when a message holds more than one item */
	if (id)
		ttlv_put_bytes(b, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, &id, 1);
	ttlv_begin(b, KMIP_TAG_REQUEST_PAYLOAD);
}

void kmip_req_item_end(struct ttlv_buf *b)
{
	ttlv_end(b);	/* payload */
	ttlv_end(b);	/* batch item */
}

void kmip_req_begin(struct ttlv_buf *b, int minor, uint32_t op,
		    uint32_t max_response)
{
	kmip_req_begin_batch(b, minor, 1, max_response);
	kmip_req_item(b, op, 0);
}

void kmip_req_end(struct ttlv_buf *b)
{
	kmip_req_item_end(b);
	ttlv_end(b);	/* message */
}

static void attr_begin(struct ttlv_buf *b, const char *name)
{
	ttlv_begin(b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, name);
}

static void attr_enum(struct ttlv_buf *b, const char *name, uint32_t v)
{
	attr_begin(b, name);
	ttlv_put_enum(b, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_end(b);
}

static void attr_int(struct ttlv_buf *b, const char *name, int32_t v)
{
	attr_begin(b, name);
	ttlv_put_int(b, KMIP_TAG_ATTRIBUTE_VALUE, v);
	ttlv_end(b);
}

static void attr_name(struct ttlv_buf *b, const char *name)
{
	attr_begin(b, "Name");
	ttlv_begin(b, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(b, KMIP_TAG_NAME_VALUE, name);
	ttlv_put_enum(b, KMIP_TAG_NAME_TYPE, KMIP_NAME_UNINTERPRETED_TEXT);
	ttlv_end(b);
	ttlv_end(b);
}

void kmip_pl_create_aes(struct ttlv_buf *b, unsigned int bits,
			const char *name)
{
	ttlv_put_enum(b, KMIP_TAG_OBJECT_TYPE, KMIP_OBJ_SYMMETRIC_KEY);
	ttlv_begin(b, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	attr_enum(b, "Cryptographic Algorithm", KMIP_ALG_AES);
	attr_int(b, "Cryptographic Length", (int32_t)bits);
	attr_int(b, "Cryptographic Usage Mask",
		 KMIP_USAGE_ENCRYPT | KMIP_USAGE_DECRYPT);
	if (name)
		attr_name(b, name);
	ttlv_end(b);
}

void kmip_pl_register_aes(struct ttlv_buf *b, const uint8_t *key,
			  size_t len, const char *name)
{
	ttlv_put_enum(b, KMIP_TAG_OBJECT_TYPE, KMIP_OBJ_SYMMETRIC_KEY);
	ttlv_begin(b, KMIP_TAG_TEMPLATE_ATTRIBUTE);
	attr_int(b, "Cryptographic Usage Mask",
		 KMIP_USAGE_ENCRYPT | KMIP_USAGE_DECRYPT);
	if (name)
		attr_name(b, name);
	ttlv_end(b);
	ttlv_begin(b, KMIP_TAG_SYMMETRIC_KEY);
	ttlv_begin(b, KMIP_TAG_KEY_BLOCK);
	ttlv_put_enum(b, KMIP_TAG_KEY_FORMAT_TYPE, KMIP_KFT_RAW);
	ttlv_begin(b, KMIP_TAG_KEY_VALUE);
	ttlv_put_bytes(b, KMIP_TAG_KEY_MATERIAL, key, len);
	ttlv_end(b);
	ttlv_put_enum(b, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, KMIP_ALG_AES);
	ttlv_put_int(b, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, (int32_t)(len * 8));
	ttlv_end(b);
	ttlv_end(b);
}

void kmip_pl_locate_name(struct ttlv_buf *b, const char *name,
			 uint32_t state, int32_t max_items)
{
	if (max_items > 0)
		ttlv_put_int(b, KMIP_TAG_MAXIMUM_ITEMS, max_items);
	attr_enum(b, "Object Type", KMIP_OBJ_SYMMETRIC_KEY);
	attr_name(b, name);
	if (state)
		attr_enum(b, "State", state);
}

void kmip_pl_uid(struct ttlv_buf *b, const char *uid)
{
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
}

void kmip_pl_get_attrs(struct ttlv_buf *b, const char *uid,
		       const char *const *names, int n)
{
	int i;

	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	for (i = 0; i < n; i++)
		ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, names[i]);
}

void kmip_pl_revoke(struct ttlv_buf *b, const char *uid, uint32_t code)
{
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, uid);
	ttlv_begin(b, KMIP_TAG_REVOCATION_REASON);
	ttlv_put_enum(b, KMIP_TAG_REVOCATION_REASON_CODE, code);
	ttlv_end(b);
}

/* ------------------------------------------------------------ replies --- */

/* Copy a server's text for logs: escaped to printable ASCII, bounded. */
static void sanitize(char *dst, size_t size, const struct ttlv *t)
{
	veil_escape(dst, size, t->val, t->len);
}

static int bad(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -EBADMSG;
}

/* @id: the Unique Batch Item ID the request gave the item (0: none). */
static int parse_item(const struct ttlv *item, uint32_t op, uint8_t id,
		      struct kmip_result *r, const char **why)
{
	struct ttlv t;
	uint32_t rop;
	int err;

	err = ttlv_find(item, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, TTLV_BYTES, &t);
	if (err == -EBADMSG)
		return bad(why, "batch item ID is not a byte string");
	if (id && !err && (t.len != 1 || t.val[0] != id))
		return bad(why, "batch item ID is not the request's");

	err = ttlv_find_enum(item, KMIP_TAG_OPERATION, &rop);
	if (err == -EBADMSG)
		return bad(why, "operation is not an enumeration");
	if (!err && rop != op)
		return bad(why, "response is for another operation");
	if (ttlv_find_enum(item, KMIP_TAG_RESULT_STATUS, &r->status))
		return bad(why, "no result status");
	if (ttlv_find_enum(item, KMIP_TAG_RESULT_REASON, &r->reason) ==
	    -EBADMSG)
		return bad(why, "result reason is not an enumeration");
	err = ttlv_find(item, KMIP_TAG_RESULT_MESSAGE, TTLV_TEXT, &t);
	if (err == -EBADMSG)
		return bad(why, "result message is not text");
	if (!err)
		sanitize(r->message, sizeof(r->message), &t);
	err = ttlv_find(item, KMIP_TAG_RESPONSE_PAYLOAD, TTLV_STRUCT,
			&r->payload);
	if (err == -EBADMSG)
		return bad(why, "response payload is not a structure");
	r->has_payload = !err;
	if (r->status == KMIP_STATUS_SUCCESS && !r->has_payload &&
	    op != KMIP_OP_LOCATE)
		return bad(why, "successful response without a payload");
	return 0;
}

int kmip_resp_parse_batch(const uint8_t *buf, size_t len,
			  const uint32_t *ops, int n, struct kmip_result *res,
			  int *got, const char **why)
{
	struct ttlv root, hdr, t, pv;
	struct ttlv_iter it;
	int32_t count, major;
	int items = 0, err;

	*got = 0;
	memset(res, 0, sizeof(*res) * (size_t)n);
	err = ttlv_parse(buf, len, &root, why);
	if (err)
		return err;
	if (root.tag != KMIP_TAG_RESPONSE_MESSAGE || root.type != TTLV_STRUCT)
		return bad(why, "not a KMIP response message");
	if (ttlv_find(&root, KMIP_TAG_RESPONSE_HEADER, TTLV_STRUCT, &hdr))
		return bad(why, "no response header");
	if (ttlv_find(&hdr, KMIP_TAG_PROTOCOL_VERSION, TTLV_STRUCT, &pv) ||
	    ttlv_find_int(&pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR, &major))
		return bad(why, "no protocol version in the response header");
	if (major != 1)
		return bad(why, "response in a KMIP major version other than 1");
	if (ttlv_find_int(&hdr, KMIP_TAG_BATCH_COUNT, &count) || count < 1 ||
	    count > n)
		return bad(why, n == 1 ? "response batch count is not 1" :
				     "response batch count out of range");

	ttlv_iter_init(&it, &root);
	while (ttlv_iter_next(&it, &t)) {
		if (t.tag != KMIP_TAG_BATCH_ITEM)
			continue;
		if (t.type != TTLV_STRUCT)
			return bad(why, "batch item is not a structure");
		if (items < count) {
			err = parse_item(&t, ops[items],
					 n > 1 ? (uint8_t)(items + 1) : 0,
					 &res[items], why);
			if (err)
				return err;
		}
		items++;
	}
	if (items != count)
		return bad(why, n == 1 ?
			   "response does not hold exactly one batch item" :
			   "response batch items disagree with its count");
	*got = items;
	return 0;
}

int kmip_resp_parse(const uint8_t *buf, size_t len, uint32_t op,
		    struct kmip_result *r, const char **why)
{
	int got;

	return kmip_resp_parse_batch(buf, len, &op, 1, r, &got, why);
}

int kmip_parse_uid(const struct ttlv *payload, char *uid, size_t size)
{
	int err = ttlv_find_text(payload, KMIP_TAG_UNIQUE_IDENTIFIER, uid,
				 size);

	if (!err && !uid[0])
		return -EBADMSG;
	return err == -ENOENT ? -EBADMSG : err;
}

int kmip_parse_locate(const struct ttlv *payload, char (*uids)[KMIP_UID_MAX],
		      int max, int *n)
{
	struct ttlv_iter it;
	struct ttlv t;

	*n = 0;
	if (!payload)
		return 0;
	ttlv_iter_init(&it, payload);
	while (ttlv_iter_next(&it, &t)) {
		if (t.tag != KMIP_TAG_UNIQUE_IDENTIFIER)
			continue;
		if (t.type != TTLV_TEXT || !t.len || t.len >= KMIP_UID_MAX ||
		    memchr(t.val, 0, t.len))
			return -EBADMSG;
		if (*n < max) {
			memcpy(uids[*n], t.val, t.len);
			uids[*n][t.len] = '\0';
		}
		if (*n == 1 << 20)
			return -EBADMSG;
		(*n)++;
	}
	return 0;
}

int kmip_parse_symkey(const struct ttlv *payload, uint8_t *key, size_t size,
		      struct kmip_key *info, const char **why)
{
	struct ttlv sk, kb, kv, km, t;
	bool has_bits;
	uint32_t v;
	int err;

	memset(info, 0, sizeof(*info));
	err = ttlv_find_enum(payload, KMIP_TAG_OBJECT_TYPE, &info->object_type);
	if (err)
		return bad(why, "no object type in the Get reply");
	if (info->object_type != KMIP_OBJ_SYMMETRIC_KEY) {
		if (why)
			*why = "object is not a symmetric key";
		return -EOPNOTSUPP;
	}
	if (ttlv_find(payload, KMIP_TAG_SYMMETRIC_KEY, TTLV_STRUCT, &sk) ||
	    ttlv_find(&sk, KMIP_TAG_KEY_BLOCK, TTLV_STRUCT, &kb))
		return bad(why, "no key block in the Get reply");
	if (ttlv_find_enum(&kb, KMIP_TAG_KEY_FORMAT_TYPE, &info->format))
		return bad(why, "no key format type");
	err = ttlv_find(&kb, KMIP_TAG_KEY_WRAPPING_DATA, TTLV_STRUCT, &t);
	if (err != -ENOENT) {
		if (why)
			*why = "key is wrapped (not supported)";
		return err ? -EBADMSG : -EOPNOTSUPP;
	}
	err = ttlv_find_enum(&kb, KMIP_TAG_KEY_COMPRESSION_TYPE, &v);
	if (err != -ENOENT) {
		if (why)
			*why = "key is compressed (not supported)";
		return err ? -EBADMSG : -EOPNOTSUPP;
	}
	err = ttlv_find_enum(&kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM,
			     &info->algorithm);
	if (err == -EBADMSG)
		return bad(why, "cryptographic algorithm is not an enumeration");
	/* every veil cipher is AES (dm-veil's aes-*): refuse any other key */
	if (!err && info->algorithm != KMIP_ALG_AES) {
		if (why)
			*why = kmip_alg_refusal(info->algorithm);
		return -EOPNOTSUPP;
	}
	err = ttlv_find_int(&kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, &info->bits);
	if (err == -EBADMSG)
		return bad(why, "cryptographic length is not an integer");
	has_bits = !err;
	if (ttlv_find(&kb, KMIP_TAG_KEY_VALUE, TTLV_STRUCT, &kv))
		return bad(why, "no key value structure (wrapped or missing)");

	switch (info->format) {
	case KMIP_KFT_RAW:
		if (ttlv_find(&kv, KMIP_TAG_KEY_MATERIAL, TTLV_BYTES, &km))
			return bad(why, "no raw key material");
		break;
	case KMIP_KFT_TRANSPARENT_SYMMETRIC:
		if (ttlv_find(&kv, KMIP_TAG_KEY_MATERIAL, TTLV_STRUCT, &t) ||
		    ttlv_find(&t, KMIP_TAG_KEY, TTLV_BYTES, &km))
			return bad(why, "no transparent key material");
		break;
	default:
		if (why)
			*why = "key format type not supported";
		return -EOPNOTSUPP;
	}
	if (!km.len)
		return bad(why, "empty key material");
	if (km.len > size) {
		if (why)
			*why = "key longer than veil accepts";
		return -EMSGSIZE;
	}
	/* present, it must agree with the material, 0 and negative included */
	if (has_bits && (info->bits < 0 ||
			 (uint64_t)km.len * 8 != (uint64_t)info->bits))
		return bad(why, "key length does not match its cryptographic length");
	memcpy(key, km.val, km.len);
	info->len = km.len;
	return 0;
}

int kmip_parse_attributes(const struct ttlv *payload, struct kmip_attrs *a)
{
	struct ttlv_iter it;
	struct ttlv at, v;
	char name[64];
	int err;

	memset(a, 0, sizeof(*a));
	err = kmip_parse_uid(payload, a->uid, sizeof(a->uid));
	if (err)
		return err;
	ttlv_iter_init(&it, payload);
	while (ttlv_iter_next(&it, &at)) {
		if (at.tag != KMIP_TAG_ATTRIBUTE)
			continue;
		if (at.type != TTLV_STRUCT ||
		    ttlv_find_text(&at, KMIP_TAG_ATTRIBUTE_NAME, name,
				   sizeof(name)))
			continue;	/* a name longer than any we read */
		if (ttlv_find(&at, KMIP_TAG_ATTRIBUTE_VALUE, 0, &v))
			return -EBADMSG;
		if (!strcmp(name, "State") && v.type == TTLV_ENUM)
			a->state = ttlv_enum(&v);
		else if (!strcmp(name, "Object Type") && v.type == TTLV_ENUM)
			a->object_type = ttlv_enum(&v);
		else if (!strcmp(name, "Cryptographic Algorithm") &&
			 v.type == TTLV_ENUM)
			a->algorithm = ttlv_enum(&v);
		else if (!strcmp(name, "Cryptographic Length") &&
			 v.type == TTLV_INT)
			a->bits = ttlv_int(&v);
		else if (!strcmp(name, "Initial Date") &&
			 v.type == TTLV_DATETIME)
			a->initial_date = ttlv_long(&v);
		else if (!strcmp(name, "Name") && v.type == TTLV_STRUCT &&
			 !a->name[0]) {
			struct ttlv nv;

			if (!ttlv_find(&v, KMIP_TAG_NAME_VALUE, TTLV_TEXT, &nv))
				sanitize(a->name, sizeof(a->name), &nv);
		}
	}
	return 0;
}

const char *kmip_reason_str(uint32_t reason)
{
	switch (reason) {
	case 0:
		return "no reason given";
	case KMIP_REASON_ITEM_NOT_FOUND:
		return "item not found";
	case KMIP_REASON_RESPONSE_TOO_LARGE:
		return "response too large";
	case KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL:
		return "authentication not successful";
	case KMIP_REASON_INVALID_MESSAGE:
		return "invalid message";
	case KMIP_REASON_OPERATION_NOT_SUPPORTED:
		return "operation not supported";
	case KMIP_REASON_INVALID_FIELD:
		return "invalid field";
	case KMIP_REASON_PERMISSION_DENIED:
		return "permission denied";
	case KMIP_REASON_OBJECT_ARCHIVED:
		return "object archived";
	case KMIP_REASON_GENERAL_FAILURE:
		return "general failure";
	default:
		return "other reason";
	}
}

const char *kmip_alg_str(uint32_t alg)
{
	static const char *const names[] = {
		[1] = "DES", [2] = "3DES", [3] = "AES", [4] = "RSA", [5] = "DSA",
		[6] = "ECDSA", [7] = "HMAC-SHA1", [8] = "HMAC-SHA224",
		[9] = "HMAC-SHA256", [10] = "HMAC-SHA384", [11] = "HMAC-SHA512",
		[12] = "HMAC-MD5", [13] = "DH", [14] = "ECDH", [15] = "ECMQV",
		[16] = "Blowfish", [17] = "Camellia", [18] = "CAST5",
		[19] = "IDEA", [20] = "MARS", [21] = "RC2", [22] = "RC4",
		[23] = "RC5", [24] = "SKIPJACK", [25] = "Twofish",
		[26] = "EC", [27] = "One Time Pad", [28] = "ChaCha20",
		[29] = "Poly1305", [30] = "ChaCha20Poly1305",
	};

	if (alg < sizeof(names) / sizeof(names[0]) && names[alg])
		return names[alg];
	return "unknown";
}

const char *kmip_alg_refusal(uint32_t alg)
{
	switch (alg) {
	case 1:
		return "a DES key, not AES: veil's ciphers take AES keys only";
	case 2:
		return "a 3DES key, not AES: veil's ciphers take AES keys only";
	case 7: case 8: case 9: case 10: case 11: case 12:
		return "an HMAC key, not AES: veil's ciphers take AES keys only";
	case 4: case 5: case 6: case 13: case 14: case 15: case 26:
		return "an asymmetric-algorithm key, not AES: veil's ciphers take AES keys only";
	default:
		return "a key of another algorithm than AES: veil's ciphers take AES keys only";
	}
}

const char *kmip_state_str(uint32_t state)
{
	static const char *const names[] = {
		[KMIP_STATE_PRE_ACTIVE] = "pre-active",
		[KMIP_STATE_ACTIVE] = "active",
		[KMIP_STATE_DEACTIVATED] = "deactivated",
		[KMIP_STATE_COMPROMISED] = "compromised",
		[KMIP_STATE_DESTROYED] = "destroyed",
		[KMIP_STATE_DESTROYED_COMPROMISED] = "destroyed-compromised",
	};

	if (state < sizeof(names) / sizeof(names[0]) && names[state])
		return names[state];
	return "unknown";
}
