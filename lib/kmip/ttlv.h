/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * KMIP TTLV encoding (KMIP 1.2 spec, section 9.1): every item is a 3-byte
 * tag, a 1-byte type, a 4-byte big-endian length and a value padded to a
 * multiple of 8 bytes.  A structure's value is its children, back to back.
 *
 * Encoder: append items to a growable buffer; structures are opened and
 * closed and their length is patched on close.  Errors are sticky: check
 * once with ttlv_buf_finish().  A buffer made with secret = true wipes
 * every copy of its bytes it lets go of (it may carry key material).
 *
 * Decoder: ttlv_parse() validates a whole message before anything reads it:
 * every length within its parent, fixed-size types of their fixed size,
 * structures exactly filled by their children, nesting at most
 * TTLV_MAX_DEPTH deep.  The accessors then walk the validated bytes in
 * place (no allocation) and still check every bound they cross.
 */
#ifndef VEIL_KMIP_TTLV_H
#define VEIL_KMIP_TTLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ttlv_type {
	TTLV_STRUCT	= 0x01,
	TTLV_INT	= 0x02,
	TTLV_LONG	= 0x03,
	TTLV_BIGINT	= 0x04,
	TTLV_ENUM	= 0x05,
	TTLV_BOOL	= 0x06,
	TTLV_TEXT	= 0x07,
	TTLV_BYTES	= 0x08,
	TTLV_DATETIME	= 0x09,
	TTLV_INTERVAL	= 0x0a,
};

#define TTLV_HDR		8
#define TTLV_MAX_DEPTH		16	/* KMIP 1.2 replies nest at most ~8 */
#define TTLV_MAX_OPEN		TTLV_MAX_DEPTH

/* ---- encoder ---- */

struct ttlv_buf {
	uint8_t *p;
	size_t len, cap;
	int err;			/* first error, -errno; sticky */
	bool secret;
	int depth;
	size_t open[TTLV_MAX_OPEN];	/* offsets of open structures */
};

void ttlv_buf_init(struct ttlv_buf *b, bool secret);
void ttlv_buf_free(struct ttlv_buf *b);
void ttlv_begin(struct ttlv_buf *b, uint32_t tag);
void ttlv_end(struct ttlv_buf *b);
void ttlv_put_int(struct ttlv_buf *b, uint32_t tag, int32_t v);
void ttlv_put_enum(struct ttlv_buf *b, uint32_t tag, uint32_t v);
void ttlv_put_long(struct ttlv_buf *b, uint32_t tag, int64_t v);
void ttlv_put_bool(struct ttlv_buf *b, uint32_t tag, bool v);
void ttlv_put_datetime(struct ttlv_buf *b, uint32_t tag, int64_t v);
void ttlv_put_text(struct ttlv_buf *b, uint32_t tag, const char *s);
void ttlv_put_bytes(struct ttlv_buf *b, uint32_t tag, const void *p,
		    size_t len);
/* 0, or the first error (-ENOMEM, -EOVERFLOW, -EINVAL: unbalanced). */
int ttlv_buf_finish(struct ttlv_buf *b);

/* ---- decoder ---- */

struct ttlv {
	uint32_t tag;
	uint8_t type;
	uint32_t len;		/* value length, without padding */
	const uint8_t *val;
};

/*
 * Validate buf[0..len) as exactly one item (with its padding) and return
 * it.  0, or -EBADMSG (malformed; *why, if given, says how).
 */
int ttlv_parse(const uint8_t *buf, size_t len, struct ttlv *root,
	       const char **why);

struct ttlv_iter {
	const uint8_t *p, *end;
};

/* Children of a structure (of a parsed, hence validated, tree). */
void ttlv_iter_init(struct ttlv_iter *it, const struct ttlv *parent);
bool ttlv_iter_next(struct ttlv_iter *it, struct ttlv *child);

/*
 * First child of @parent with @tag.  0; -ENOENT if none; -EBADMSG if it
 * exists with a type other than @type (type 0: any type).
 */
int ttlv_find(const struct ttlv *parent, uint32_t tag, uint8_t type,
	      struct ttlv *out);

/* Typed values of an item already known to have that type. */
int32_t ttlv_int(const struct ttlv *t);
uint32_t ttlv_enum(const struct ttlv *t);
int64_t ttlv_long(const struct ttlv *t);

/* Shorthands: find + value.  0, -ENOENT or -EBADMSG. */
int ttlv_find_enum(const struct ttlv *parent, uint32_t tag, uint32_t *v);
int ttlv_find_int(const struct ttlv *parent, uint32_t tag, int32_t *v);
/*
 * Text child copied to a NUL-terminated string.  Also -EBADMSG if it does
 * not fit in @size or contains a NUL byte.
 */
int ttlv_find_text(const struct ttlv *parent, uint32_t tag, char *s,
		   size_t size);

#endif /* VEIL_KMIP_TTLV_H */
