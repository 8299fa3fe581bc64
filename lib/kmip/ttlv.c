// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KMIP TTLV encoder and decoder; see ttlv.h.  The decoder is the first
 * thing a key manager's reply meets, so it assumes nothing about it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kmip/ttlv.h"

/* A message larger than this is refused by the encoder (never needed). */
#define TTLV_ENC_MAX	(1u << 24)

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ encoder --- */

void ttlv_buf_init(struct ttlv_buf *b, bool secret)
{
	memset(b, 0, sizeof(*b));
	b->secret = secret;
}

void ttlv_buf_free(struct ttlv_buf *b)
{
	if (b->p && b->secret)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Room for @n more bytes; a secret buffer never leaves a stale copy. */
static uint8_t *ttlv_room(struct ttlv_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->err)
		return NULL;
	if (n > TTLV_ENC_MAX || b->len + n > TTLV_ENC_MAX) {
		b->err = -EOVERFLOW;
		return NULL;
	}
	if (b->len + n <= b->cap)
		return b->p + b->len;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	p = calloc(1, cap);
	if (!p) {
		b->err = -ENOMEM;
		return NULL;
	}
	if (b->p) {
		memcpy(p, b->p, b->len);
		if (b->secret)
			OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return b->p + b->len;
}

static uint8_t *ttlv_item(struct ttlv_buf *b, uint32_t tag, uint8_t type,
			  size_t len)
{
	uint8_t *p;

	if (len > UINT32_MAX) {
		if (!b->err)
			b->err = -EOVERFLOW;
		return NULL;
	}
	p = ttlv_room(b, TTLV_HDR + pad8(len));
	if (!p)
		return NULL;
	p[0] = tag >> 16;
	p[1] = tag >> 8;
	p[2] = tag;
	p[3] = type;
	put_be32(p + 4, (uint32_t)len);
	memset(p + TTLV_HDR, 0, pad8(len));
	b->len += TTLV_HDR + pad8(len);
	return p + TTLV_HDR;
}

void ttlv_begin(struct ttlv_buf *b, uint32_t tag)
{
	size_t at = b->len;

	if (b->depth >= TTLV_MAX_OPEN) {
		if (!b->err)
			b->err = -EOVERFLOW;
		return;
	}
	if (!ttlv_item(b, tag, TTLV_STRUCT, 0))
		return;
	b->open[b->depth++] = at;
}

void ttlv_end(struct ttlv_buf *b)
{
	size_t at;

	if (b->err)
		return;
	if (!b->depth) {
		b->err = -EINVAL;
		return;
	}
	at = b->open[--b->depth];
	put_be32(b->p + at + 4, (uint32_t)(b->len - at - TTLV_HDR));
}

void ttlv_put_int(struct ttlv_buf *b, uint32_t tag, int32_t v)
{
	uint8_t *p = ttlv_item(b, tag, TTLV_INT, 4);

	if (p)
		put_be32(p, (uint32_t)v);
}

void ttlv_put_enum(struct ttlv_buf *b, uint32_t tag, uint32_t v)
{
	uint8_t *p = ttlv_item(b, tag, TTLV_ENUM, 4);

	if (p)
		put_be32(p, v);
}

static void put64(struct ttlv_buf *b, uint32_t tag, uint8_t type, uint64_t v)
{
	uint8_t *p = ttlv_item(b, tag, type, 8);

	if (p) {
		put_be32(p, (uint32_t)(v >> 32));
		put_be32(p + 4, (uint32_t)v);
	}
}

void ttlv_put_long(struct ttlv_buf *b, uint32_t tag, int64_t v)
{
	put64(b, tag, TTLV_LONG, (uint64_t)v);
}

void ttlv_put_bool(struct ttlv_buf *b, uint32_t tag, bool v)
{
	put64(b, tag, TTLV_BOOL, v);
}

void ttlv_put_datetime(struct ttlv_buf *b, uint32_t tag, int64_t v)
{
	put64(b, tag, TTLV_DATETIME, (uint64_t)v);
}

void ttlv_put_bytes(struct ttlv_buf *b, uint32_t tag, const void *v,
		    size_t len)
{
	uint8_t *p = ttlv_item(b, tag, TTLV_BYTES, len);

	if (p && len)
		memcpy(p, v, len);
}

void ttlv_put_text(struct ttlv_buf *b, uint32_t tag, const char *s)
{
	size_t len = strlen(s);
	uint8_t *p = ttlv_item(b, tag, TTLV_TEXT, len);

	if (p && len)
		memcpy(p, s, len);
}

int ttlv_buf_finish(struct ttlv_buf *b)
{
	if (!b->err && b->depth)
		b->err = -EINVAL;
	return b->err;
}

/* ------------------------------------------------------------ decoder --- */

/* Fixed value length of a type, 0 if variable, -1 if the type is unknown. */
static int ttlv_fixed_len(uint8_t type)
{
	switch (type) {
	case TTLV_INT:
	case TTLV_ENUM:
	case TTLV_INTERVAL:
		return 4;
	case TTLV_LONG:
	case TTLV_BOOL:
	case TTLV_DATETIME:
		return 8;
	case TTLV_STRUCT:
	case TTLV_BIGINT:
	case TTLV_TEXT:
	case TTLV_BYTES:
		return 0;
	default:
		return -1;
	}
}

/*
 * Read the item header at p (avail bytes to the end of the parent) and
 * check its length fits.  Returns the item's total size with padding, or
 * 0 with *why set.
 */
static size_t ttlv_head(const uint8_t *p, size_t avail, struct ttlv *t,
			const char **why)
{
	int fixed;
	size_t total;

	if (avail < TTLV_HDR) {
		*why = "truncated item header";
		return 0;
	}
	t->tag = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
	t->type = p[3];
	t->len = get_be32(p + 4);
	t->val = p + TTLV_HDR;
	fixed = ttlv_fixed_len(t->type);
	if (fixed < 0) {
		*why = "unknown item type";
		return 0;
	}
	if (fixed && t->len != (uint32_t)fixed) {
		*why = "wrong length for a fixed-size type";
		return 0;
	}
	if (t->type == TTLV_BIGINT && (t->len % 8 || !t->len)) {
		*why = "big integer length not a multiple of 8";
		return 0;
	}
	if (t->type == TTLV_STRUCT && t->len % 8) {
		*why = "structure length not a multiple of 8";
		return 0;
	}
	/* t->len <= UINT32_MAX, so this cannot overflow a 64-bit size_t */
	total = TTLV_HDR + pad8(t->len);
	if (total > avail) {
		*why = "item longer than its container";
		return 0;
	}
	return total;
}

static int ttlv_check(const struct ttlv *t, int depth, const char **why)
{
	const uint8_t *p = t->val, *end = t->val + t->len;
	struct ttlv c;
	size_t n;
	int err;

	if (t->type != TTLV_STRUCT)
		return 0;
	if (depth > TTLV_MAX_DEPTH) {
		*why = "structures nested too deep";
		return -EBADMSG;
	}
	while (p < end) {
		n = ttlv_head(p, (size_t)(end - p), &c, why);
		if (!n)
			return -EBADMSG;
		err = ttlv_check(&c, depth + 1, why);
		if (err)
			return err;
		p += n;
	}
	return 0;
}

int ttlv_parse(const uint8_t *buf, size_t len, struct ttlv *root,
	       const char **why)
{
	const char *dummy;
	size_t n;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!buf || !len) {
		*why = "empty message";
		return -EBADMSG;
	}
	n = ttlv_head(buf, len, root, why);
	if (!n)
		return -EBADMSG;
	if (n != len) {
		*why = "trailing bytes after the message";
		return -EBADMSG;
	}
	return ttlv_check(root, 1, why);
}

void ttlv_iter_init(struct ttlv_iter *it, const struct ttlv *parent)
{
	if (parent->type == TTLV_STRUCT) {
		it->p = parent->val;
		it->end = parent->val + parent->len;
	} else {
		it->p = it->end = NULL;
	}
}

bool ttlv_iter_next(struct ttlv_iter *it, struct ttlv *child)
{
	const char *why;
	size_t n;

	if (!it->p || it->p >= it->end)
		return false;
	n = ttlv_head(it->p, (size_t)(it->end - it->p), child, &why);
	if (!n) {
		/* only reachable on an unvalidated tree: stop, never overrun */
		it->p = it->end;
		return false;
	}
	it->p += n;
	return true;
}

int ttlv_find(const struct ttlv *parent, uint32_t tag, uint8_t type,
	      struct ttlv *out)
{
	struct ttlv_iter it;
	struct ttlv c;

	ttlv_iter_init(&it, parent);
	while (ttlv_iter_next(&it, &c)) {
		if (c.tag != tag)
			continue;
		if (type && c.type != type)
			return -EBADMSG;
		*out = c;
		return 0;
	}
	return -ENOENT;
}

int32_t ttlv_int(const struct ttlv *t)
{
	return t->len >= 4 ? (int32_t)get_be32(t->val) : 0;
}

uint32_t ttlv_enum(const struct ttlv *t)
{
	return t->len >= 4 ? get_be32(t->val) : 0;
}

int64_t ttlv_long(const struct ttlv *t)
{
	if (t->len < 8)
		return 0;
	return (int64_t)((uint64_t)get_be32(t->val) << 32 |
			 get_be32(t->val + 4));
}

int ttlv_find_enum(const struct ttlv *parent, uint32_t tag, uint32_t *v)
{
	struct ttlv t;
	int err = ttlv_find(parent, tag, TTLV_ENUM, &t);

	if (!err)
		*v = ttlv_enum(&t);
	return err;
}

int ttlv_find_int(const struct ttlv *parent, uint32_t tag, int32_t *v)
{
	struct ttlv t;
	int err = ttlv_find(parent, tag, TTLV_INT, &t);

	if (!err)
		*v = ttlv_int(&t);
	return err;
}

int ttlv_find_text(const struct ttlv *parent, uint32_t tag, char *s,
		   size_t size)
{
	struct ttlv t;
	int err = ttlv_find(parent, tag, TTLV_TEXT, &t);

	if (err)
		return err;
	if (!size || t.len >= size || memchr(t.val, 0, t.len))
		return -EBADMSG;
	memcpy(s, t.val, t.len);
	s[t.len] = '\0';
	return 0;
}
