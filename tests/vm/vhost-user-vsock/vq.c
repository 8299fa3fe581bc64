// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory translation, split virtqueue walking and virtio-vsock
 * packet checks for vhost-user-vsock.  Everything here reads memory the
 * guest can change under us: each field is copied once, then checked.
 */
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "vq.h"

static void *region_lookup(const struct vuv_mem *m, uint64_t a, uint64_t len, bool uva)
{
	for (unsigned int i = 0; i < m->n && i < VUV_MAX_REGIONS; i++) {
		const struct vuv_region *r = &m->r[i];
		uint64_t start = uva ? r->uva : r->gpa;

		if (a < start || a - start >= r->size)
			continue;
		if (len > r->size - (a - start))
			return NULL;	/* runs off the end of its region */
		return r->hva + (a - start);
	}
	return NULL;
}

void *vuv_gpa(const struct vuv_mem *m, uint64_t gpa, uint64_t len)
{
	return region_lookup(m, gpa, len, false);
}

void *vuv_uva(const struct vuv_mem *m, uint64_t uva, uint64_t len)
{
	return region_lookup(m, uva, len, true);
}

void vuv_vq_fail(struct vuv_vq *vq, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!vq->broken)
		veil_log(LOG_ERR, "queue %s failed: %s", vq->name, msg);
	vq->broken = true;
}

bool vuv_vq_map(struct vuv_vq *vq, const struct vuv_mem *m)
{
	uint64_t n = vq->num;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	if (n == 0 || n > 32768 || (n & (n - 1))) {
		vuv_vq_fail(vq, "queue size %u is not a power of two up to 32768", vq->num);
		return false;
	}
	vq->desc = vuv_uva(m, vq->desc_uva, 16 * n);
	vq->avail = vuv_uva(m, vq->avail_uva, 6 + 2 * n);
	vq->used = vuv_uva(m, vq->used_uva, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used ||
	    ((uintptr_t)vq->avail & 1) || ((uintptr_t)vq->used & 3)) {
		vuv_vq_fail(vq, "ring addresses outside guest memory or misaligned");
		return false;
	}
	return true;
}

static uint16_t avail_idx(const struct vuv_vq *vq)
{
	uint16_t v = le16toh(__atomic_load_n(&vq->avail[1], __ATOMIC_RELAXED));

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return v;
}

int vuv_vq_peek(struct vuv_vq *vq, const struct vuv_mem *m, struct vuv_chain *c)
{
	uint16_t ai, head, idx;
	unsigned int steps = 0;
	uint64_t total = 0;

	if (vq->broken || !vq->desc)
		return vq->broken ? -1 : 0;
	ai = avail_idx(vq);
	if ((uint16_t)(ai - vq->last_avail) > vq->num) {
		vuv_vq_fail(vq, "avail index %u is more than %u ahead of %u", ai, vq->num,
			    vq->last_avail);
		return -1;
	}
	if (ai == vq->last_avail)
		return 0;
	head = le16toh(__atomic_load_n(&vq->avail[2 + vq->last_avail % vq->num],
				       __ATOMIC_RELAXED));
	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	idx = head;
	for (;;) {
		struct vring_desc_le d;
		uint16_t flags;
		uint32_t len;
		uint8_t *p;

		if (idx >= vq->num) {
			vuv_vq_fail(vq, "descriptor index %u out of a ring of %u", idx, vq->num);
			return -1;
		}
		if (++steps > vq->num) {
			vuv_vq_fail(vq, "descriptor chain from %u loops", head);
			return -1;
		}
		memcpy(&d, (const void *)&vq->desc[idx], sizeof(d));
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		if (flags & VRING_DESC_F_INDIRECT) {
			vuv_vq_fail(vq, "indirect descriptor %u (not negotiated)", idx);
			return -1;
		}
		total += len;
		if (total > VUV_MAX_CHAIN) {
			vuv_vq_fail(vq, "descriptor chain from %u longer than %u bytes", head,
				    VUV_MAX_CHAIN);
			return -1;
		}
		p = vuv_gpa(m, le64toh(d.addr), len);
		if (!p && len) {
			vuv_vq_fail(vq, "descriptor %u [%#llx+%u] outside guest memory", idx,
				    (unsigned long long)le64toh(d.addr), len);
			return -1;
		}
		if (len) {
			if (flags & VRING_DESC_F_WRITE) {
				if (c->nin == VUV_MAX_IOV)
					goto too_many;
				c->in[c->nin++] = (struct vuv_iov){ p, len };
				c->in_len += len;
			} else {
				if (c->nin) {
					vuv_vq_fail(vq, "readable descriptor %u after a writable one", idx);
					return -1;
				}
				if (c->nout == VUV_MAX_IOV)
					goto too_many;
				c->out[c->nout++] = (struct vuv_iov){ p, len };
				c->out_len += len;
			}
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		idx = le16toh(d.next);
	}
	return 1;
too_many:
	vuv_vq_fail(vq, "descriptor chain from %u has more than %u segments", head, VUV_MAX_IOV);
	return -1;
}

void vuv_vq_push(struct vuv_vq *vq, const struct vuv_chain *c, uint32_t len)
{
	volatile uint8_t *e = vq->used + 4 + 8 * (vq->used_idx % vq->num);
	uint32_t id = htole32(c->head), l = htole32(len);
	uint16_t ui;

	memcpy((void *)e, &id, 4);
	memcpy((void *)(e + 4), &l, 4);
	vq->last_avail++;
	vq->used_idx++;
	ui = htole16(vq->used_idx);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n((volatile uint16_t *)(vq->used + 2), ui, __ATOMIC_RELAXED);
}

size_t vuv_chain_read(const struct vuv_chain *c, size_t off, void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < c->nout && done < len; i++) {
		size_t seg = c->out[i].len;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		size_t n = seg - off < len - done ? seg - off : len - done;

		memcpy((uint8_t *)dst + done, c->out[i].base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t vuv_chain_write(const struct vuv_chain *c, size_t off, const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < c->nin && done < len; i++) {
		size_t seg = c->in[i].len;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		size_t n = seg - off < len - done ? seg - off : len - done;

		memcpy(c->in[i].base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

enum vuv_verdict vuv_pkt_parse(const struct vuv_chain *c, uint64_t guest_cid,
			       struct vsock_hdr *h, const char **why)
{
	struct vsock_hdr le;

	if (vuv_chain_read(c, 0, &le, sizeof(le)) != sizeof(le)) {
		*why = "shorter than a packet header";
		return VUV_PKT_DROP;
	}
	h->src_cid = le64toh(le.src_cid);
	h->dst_cid = le64toh(le.dst_cid);
	h->src_port = le32toh(le.src_port);
	h->dst_port = le32toh(le.dst_port);
	h->len = le32toh(le.len);
	h->type = le16toh(le.type);
	h->op = le16toh(le.op);
	h->flags = le32toh(le.flags);
	h->buf_alloc = le32toh(le.buf_alloc);
	h->fwd_cnt = le32toh(le.fwd_cnt);
	if (h->src_cid != guest_cid) {
		*why = "source CID is not the guest's";
		return VUV_PKT_RST;
	}
	if (h->dst_cid != VSOCK_HOST_CID) {
		*why = "destination is not the host";
		return VUV_PKT_RST;
	}
	if (h->type != VSOCK_TYPE_STREAM) {
		*why = "not a stream packet";
		return VUV_PKT_RST;
	}
	if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST) {
		*why = "unknown operation";
		return VUV_PKT_RST;
	}
	if (h->len > VSOCK_MAX_PAYLOAD || h->len > c->out_len - sizeof(le) ||
	    (h->op != VSOCK_OP_RW && h->len)) {
		*why = "payload length does not match the packet";
		return VUV_PKT_RST;
	}
	*why = NULL;
	return VUV_PKT_OK;
}
