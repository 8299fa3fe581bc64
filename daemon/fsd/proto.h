/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 9P2000.L wire codec for veil-fsd: decode T-messages, encode R-messages.
 * No I/O and no state, so it can be fuzzed on its own.  Every decoded
 * message is hostile input: a decoder either fills a struct p9_req whose
 * strings and data point into the caller's buffer and are bounds-checked,
 * or fails; it never reads past the length it was given.
 */
#ifndef VEIL_FSD_PROTO_H
#define VEIL_FSD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Message types (the numbers are the protocol's). */
enum {
	P9_RLERROR = 7,
	P9_TSTATFS = 8, P9_TLOPEN = 12, P9_TLCREATE = 14, P9_TSYMLINK = 16,
	P9_TMKNOD = 18, P9_TRENAME = 20, P9_TREADLINK = 22, P9_TGETATTR = 24,
	P9_TSETATTR = 26, P9_TXATTRWALK = 30, P9_TXATTRCREATE = 32,
	P9_TREADDIR = 40, P9_TFSYNC = 50, P9_TLOCK = 52, P9_TGETLOCK = 54,
	P9_TLINK = 70, P9_TMKDIR = 72, P9_TRENAMEAT = 74, P9_TUNLINKAT = 76,
	P9_TVERSION = 100, P9_TAUTH = 102, P9_TATTACH = 104, P9_TFLUSH = 108,
	P9_TWALK = 110, P9_TREAD = 116, P9_TWRITE = 118, P9_TCLUNK = 120,
	P9_TREMOVE = 122,
};

#define P9_HDRSZ	7		/* size[4] type[1] tag[2] */
#define P9_IOHDRSZ	24		/* what Rread/Twrite headers may take */
#define P9_MAXWELEM	16
#define P9_NOTAG	0xffff
#define P9_NOFID	0xffffffffu
#define P9_MSIZE_MIN	4096

/* Tsetattr valid bits */
#define P9_SETATTR_MODE		0x001
#define P9_SETATTR_UID		0x002
#define P9_SETATTR_GID		0x004
#define P9_SETATTR_SIZE		0x008
#define P9_SETATTR_ATIME	0x010
#define P9_SETATTR_MTIME	0x020
#define P9_SETATTR_CTIME	0x040
#define P9_SETATTR_ATIME_SET	0x080
#define P9_SETATTR_MTIME_SET	0x100

/* Rgetattr valid mask: what this server fills. */
#define P9_GETATTR_BASIC	0x000007ffull

/* qid types */
#define P9_QTDIR	0x80
#define P9_QTSYMLINK	0x02
#define P9_QTFILE	0x00

/* Tlock */
#define P9_LOCK_SUCCESS	0
#define P9_LOCK_TYPE_UNLCK 2

/* Tunlinkat flags: the Linux value of AT_REMOVEDIR */
#define P9_AT_REMOVEDIR	0x200

struct p9_str {
	const char *s;		/* NOT NUL-terminated; points into the message */
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

struct p9_req {
	uint8_t type;
	uint16_t tag;
	uint32_t fid;			/* the first fid of most messages */
	union {
		struct { uint32_t msize; struct p9_str version; } version;
		struct { uint32_t afid; struct p9_str uname, aname;
			 uint32_t n_uname; } attach;
		struct { uint16_t oldtag; } flush;
		struct { uint32_t newfid; uint16_t nwname;
			 struct p9_str wname[P9_MAXWELEM]; } walk;
		struct { uint32_t flags; } lopen;
		struct { struct p9_str name; uint32_t flags, mode, gid; } lcreate;
		struct { struct p9_str name, target; uint32_t gid; } symlink;
		struct { struct p9_str name; uint32_t mode, major, minor,
			 gid; } mknod;
		struct { uint32_t dfid; struct p9_str name; } rename;
		struct { uint64_t mask; } getattr;
		struct { uint32_t valid, mode, uid, gid; uint64_t size,
			 atime_sec, atime_nsec, mtime_sec, mtime_nsec; } setattr;
		struct { uint32_t newfid; struct p9_str name; } xattrwalk;
		struct { struct p9_str name; uint64_t size;
			 uint32_t flags; } xattrcreate;
		struct { uint64_t offset; uint32_t count; } readdir;
		struct { uint32_t datasync; } fsync;
		struct { uint8_t type; uint32_t flags; uint64_t start, length;
			 uint32_t proc_id; struct p9_str client_id; } lock;
		struct { uint32_t fid2; struct p9_str name; } link;
		struct { struct p9_str name; uint32_t mode, gid; } mkdir;
		struct { struct p9_str oldname; uint32_t newdirfid;
			 struct p9_str newname; } renameat;
		struct { struct p9_str name; uint32_t flags; } unlinkat;
		struct { uint64_t offset; uint32_t count;
			 const uint8_t *data; } rw;
	} u;
};

/*
 * Decode one whole message (msg[0..len), len taken from its size field
 * by the caller).  Returns 0, or -EBADMSG for anything malformed
 * (truncated, trailing bytes, bad string, too many walk names) and
 * -EOPNOTSUPP for a well-formed header of a type this server does not
 * implement (the caller answers that with Rlerror and keeps going).
 */
int p9_decode(const uint8_t *msg, size_t len, struct p9_req *req);

/* ---- encoder: writes into a caller buffer of fixed capacity ---------- */
struct p9_out {
	uint8_t *buf;
	size_t cap;		/* the negotiated msize */
	size_t len;
	bool overflow;
};

void p9_begin(struct p9_out *o, uint8_t rtype, uint16_t tag);
void p9_put8(struct p9_out *o, uint8_t v);
void p9_put16(struct p9_out *o, uint16_t v);
void p9_put32(struct p9_out *o, uint32_t v);
void p9_put64(struct p9_out *o, uint64_t v);
void p9_putstr(struct p9_out *o, const char *s, size_t len);
void p9_putqid(struct p9_out *o, const struct p9_qid *q);
/* Reserve n bytes and return where to write them (NULL on overflow). */
uint8_t *p9_reserve(struct p9_out *o, size_t n);
/* Patch the size field; returns the message length or 0 on overflow. */
size_t p9_finish(struct p9_out *o);
/* A whole Rlerror (ecode is a positive Linux errno). */
size_t p9_lerror(struct p9_out *o, uint16_t tag, uint32_t ecode);

/* Little-endian helpers shared by the server and its tests. */
static inline uint16_t p9_le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static inline uint32_t p9_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The name of a T-message type for logs, "?" if unknown. */
const char *p9_type_name(uint8_t type);

#endif
