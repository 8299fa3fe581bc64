// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 9P2000.L wire codec: see proto.h.  All integers are little endian;
 * strings are a 16-bit length and that many bytes, which this server
 * requires to be free of NUL bytes (the Linux client never sends one, and
 * a NUL would make a name mean something else to the host's C library).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static bool need(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return false;
	}
	return true;
}

static uint8_t get8(struct rd *r)
{
	if (!need(r, 1))
		return 0;
	return r->p[r->off++];
}

static uint16_t get16(struct rd *r)
{
	uint16_t v;

	if (!need(r, 2))
		return 0;
	v = r->p[r->off] | r->p[r->off + 1] << 8;
	r->off += 2;
	return v;
}

static uint32_t get32(struct rd *r)
{
	uint32_t v;

	if (!need(r, 4))
		return 0;
	v = p9_le32(r->p + r->off);
	r->off += 4;
	return v;
}

static uint64_t get64(struct rd *r)
{
	uint64_t lo = get32(r);

	return lo | (uint64_t)get32(r) << 32;
}

static void getstr(struct rd *r, struct p9_str *s)
{
	uint16_t n = get16(r);

	s->s = "";
	s->len = 0;
	if (!need(r, n))
		return;
	if (memchr(r->p + r->off, 0, n)) {
		r->bad = true;
		return;
	}
	s->s = (const char *)r->p + r->off;
	s->len = n;
	r->off += n;
}

int p9_decode(const uint8_t *msg, size_t len, struct p9_req *q)
{
	struct rd r = { .p = msg, .len = len };
	uint32_t size;
	int i;

	memset(q, 0, sizeof(*q));
	size = get32(&r);
	q->type = get8(&r);
	q->tag = get16(&r);
	if (r.bad || size != len)
		return -EBADMSG;

	switch (q->type) {
	case P9_TVERSION:
		q->u.version.msize = get32(&r);
		getstr(&r, &q->u.version.version);
		break;
	case P9_TAUTH:
		q->fid = get32(&r);		/* afid */
		getstr(&r, &q->u.attach.uname);
		getstr(&r, &q->u.attach.aname);
		q->u.attach.n_uname = get32(&r);
		break;
	case P9_TATTACH:
		q->fid = get32(&r);
		q->u.attach.afid = get32(&r);
		getstr(&r, &q->u.attach.uname);
		getstr(&r, &q->u.attach.aname);
		q->u.attach.n_uname = get32(&r);
		break;
	case P9_TFLUSH:
		q->u.flush.oldtag = get16(&r);
		break;
	case P9_TWALK:
		q->fid = get32(&r);
		q->u.walk.newfid = get32(&r);
		q->u.walk.nwname = get16(&r);
		if (q->u.walk.nwname > P9_MAXWELEM)
			return -EBADMSG;
		for (i = 0; i < q->u.walk.nwname; i++)
			getstr(&r, &q->u.walk.wname[i]);
		break;
	case P9_TLOPEN:
		q->fid = get32(&r);
		q->u.lopen.flags = get32(&r);
		break;
	case P9_TLCREATE:
		q->fid = get32(&r);
		getstr(&r, &q->u.lcreate.name);
		q->u.lcreate.flags = get32(&r);
		q->u.lcreate.mode = get32(&r);
		q->u.lcreate.gid = get32(&r);
		break;
	case P9_TSYMLINK:
		q->fid = get32(&r);
		getstr(&r, &q->u.symlink.name);
		getstr(&r, &q->u.symlink.target);
		q->u.symlink.gid = get32(&r);
		break;
	case P9_TMKNOD:
		q->fid = get32(&r);
		getstr(&r, &q->u.mknod.name);
		q->u.mknod.mode = get32(&r);
		q->u.mknod.major = get32(&r);
		q->u.mknod.minor = get32(&r);
		q->u.mknod.gid = get32(&r);
		break;
	case P9_TRENAME:
		q->fid = get32(&r);
		q->u.rename.dfid = get32(&r);
		getstr(&r, &q->u.rename.name);
		break;
	case P9_TREADLINK:
	case P9_TSTATFS:
	case P9_TCLUNK:
	case P9_TREMOVE:
		q->fid = get32(&r);
		break;
	case P9_TGETATTR:
		q->fid = get32(&r);
		q->u.getattr.mask = get64(&r);
		break;
	case P9_TSETATTR:
		q->fid = get32(&r);
		q->u.setattr.valid = get32(&r);
		q->u.setattr.mode = get32(&r);
		q->u.setattr.uid = get32(&r);
		q->u.setattr.gid = get32(&r);
		q->u.setattr.size = get64(&r);
		q->u.setattr.atime_sec = get64(&r);
		q->u.setattr.atime_nsec = get64(&r);
		q->u.setattr.mtime_sec = get64(&r);
		q->u.setattr.mtime_nsec = get64(&r);
		break;
	case P9_TXATTRWALK:
		q->fid = get32(&r);
		q->u.xattrwalk.newfid = get32(&r);
		getstr(&r, &q->u.xattrwalk.name);
		break;
	case P9_TXATTRCREATE:
		q->fid = get32(&r);
		getstr(&r, &q->u.xattrcreate.name);
		q->u.xattrcreate.size = get64(&r);
		q->u.xattrcreate.flags = get32(&r);
		break;
	case P9_TREADDIR:
	case P9_TREAD:
		q->fid = get32(&r);
		q->u.rw.offset = get64(&r);
		q->u.rw.count = get32(&r);
		break;
	case P9_TWRITE:
		q->fid = get32(&r);
		q->u.rw.offset = get64(&r);
		q->u.rw.count = get32(&r);
		if (!need(&r, q->u.rw.count))
			return -EBADMSG;
		q->u.rw.data = r.p + r.off;
		r.off += q->u.rw.count;
		break;
	case P9_TFSYNC:
		q->fid = get32(&r);
		q->u.fsync.datasync = get32(&r);
		break;
	case P9_TLOCK:
		q->fid = get32(&r);
		q->u.lock.type = get8(&r);
		q->u.lock.flags = get32(&r);
		q->u.lock.start = get64(&r);
		q->u.lock.length = get64(&r);
		q->u.lock.proc_id = get32(&r);
		getstr(&r, &q->u.lock.client_id);
		break;
	case P9_TGETLOCK:
		q->fid = get32(&r);
		q->u.lock.type = get8(&r);
		q->u.lock.start = get64(&r);
		q->u.lock.length = get64(&r);
		q->u.lock.proc_id = get32(&r);
		getstr(&r, &q->u.lock.client_id);
		break;
	case P9_TLINK:
		q->fid = get32(&r);		/* dfid */
		q->u.link.fid2 = get32(&r);
		getstr(&r, &q->u.link.name);
		break;
	case P9_TMKDIR:
		q->fid = get32(&r);
		getstr(&r, &q->u.mkdir.name);
		q->u.mkdir.mode = get32(&r);
		q->u.mkdir.gid = get32(&r);
		break;
	case P9_TRENAMEAT:
		q->fid = get32(&r);
		getstr(&r, &q->u.renameat.oldname);
		q->u.renameat.newdirfid = get32(&r);
		getstr(&r, &q->u.renameat.newname);
		break;
	case P9_TUNLINKAT:
		q->fid = get32(&r);
		getstr(&r, &q->u.unlinkat.name);
		q->u.unlinkat.flags = get32(&r);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (r.bad || r.off != r.len)
		return -EBADMSG;
	return 0;
}

/* ------------------------------------------------------------ encoder --- */

uint8_t *p9_reserve(struct p9_out *o, size_t n)
{
	uint8_t *p;

	if (o->overflow || o->cap - o->len < n) {
		o->overflow = true;
		return NULL;
	}
	p = o->buf + o->len;
	o->len += n;
	return p;
}

static void put_le(struct p9_out *o, uint64_t v, int n)
{
	uint8_t *p = p9_reserve(o, n);
	int i;

	if (!p)
		return;
	for (i = 0; i < n; i++)
		p[i] = v >> (8 * i);
}

void p9_put8(struct p9_out *o, uint8_t v)   { put_le(o, v, 1); }
void p9_put16(struct p9_out *o, uint16_t v) { put_le(o, v, 2); }
void p9_put32(struct p9_out *o, uint32_t v) { put_le(o, v, 4); }
void p9_put64(struct p9_out *o, uint64_t v) { put_le(o, v, 8); }

void p9_putstr(struct p9_out *o, const char *s, size_t len)
{
	uint8_t *p;

	if (len > 0xffff) {
		o->overflow = true;
		return;
	}
	p9_put16(o, len);
	p = p9_reserve(o, len);
	if (p && len)
		memcpy(p, s, len);
}

void p9_putqid(struct p9_out *o, const struct p9_qid *q)
{
	p9_put8(o, q->type);
	p9_put32(o, q->version);
	p9_put64(o, q->path);
}

void p9_begin(struct p9_out *o, uint8_t rtype, uint16_t tag)
{
	o->len = 0;
	o->overflow = false;
	p9_put32(o, 0);
	p9_put8(o, rtype);
	p9_put16(o, tag);
}

size_t p9_finish(struct p9_out *o)
{
	if (o->overflow || o->len < P9_HDRSZ)
		return 0;
	o->buf[0] = o->len;
	o->buf[1] = o->len >> 8;
	o->buf[2] = o->len >> 16;
	o->buf[3] = o->len >> 24;
	return o->len;
}

size_t p9_lerror(struct p9_out *o, uint16_t tag, uint32_t ecode)
{
	p9_begin(o, P9_RLERROR, tag);
	p9_put32(o, ecode);
	return p9_finish(o);
}

const char *p9_type_name(uint8_t type)
{
	switch (type) {
	case P9_TSTATFS: return "Tstatfs";
	case P9_TLOPEN: return "Tlopen";
	case P9_TLCREATE: return "Tlcreate";
	case P9_TSYMLINK: return "Tsymlink";
	case P9_TMKNOD: return "Tmknod";
	case P9_TRENAME: return "Trename";
	case P9_TREADLINK: return "Treadlink";
	case P9_TGETATTR: return "Tgetattr";
	case P9_TSETATTR: return "Tsetattr";
	case P9_TXATTRWALK: return "Txattrwalk";
	case P9_TXATTRCREATE: return "Txattrcreate";
	case P9_TREADDIR: return "Treaddir";
	case P9_TFSYNC: return "Tfsync";
	case P9_TLOCK: return "Tlock";
	case P9_TGETLOCK: return "Tgetlock";
	case P9_TLINK: return "Tlink";
	case P9_TMKDIR: return "Tmkdir";
	case P9_TRENAMEAT: return "Trenameat";
	case P9_TUNLINKAT: return "Tunlinkat";
	case P9_TVERSION: return "Tversion";
	case P9_TAUTH: return "Tauth";
	case P9_TATTACH: return "Tattach";
	case P9_TFLUSH: return "Tflush";
	case P9_TWALK: return "Twalk";
	case P9_TREAD: return "Tread";
	case P9_TWRITE: return "Twrite";
	case P9_TCLUNK: return "Tclunk";
	case P9_TREMOVE: return "Tremove";
	}
	return "?";
}
