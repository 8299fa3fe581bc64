// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-user protocol, back-end side, as far as a vsock device needs
 * it: features, the memory table (regions passed as fds and mapped
 * here), the rx and tx vrings with their kick and call eventfds, and
 * GET_CONFIG for the guest CID.  Messages are checked for size before
 * their payload is used; a front end that breaks the protocol is
 * disconnected.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "vuv.h"

enum {
	VU_GET_FEATURES = 1, VU_SET_FEATURES, VU_SET_OWNER, VU_RESET_OWNER,
	VU_SET_MEM_TABLE, VU_SET_LOG_BASE, VU_SET_LOG_FD, VU_SET_VRING_NUM,
	VU_SET_VRING_ADDR, VU_SET_VRING_BASE, VU_GET_VRING_BASE, VU_SET_VRING_KICK,
	VU_SET_VRING_CALL, VU_SET_VRING_ERR, VU_GET_PROTOCOL_FEATURES,
	VU_SET_PROTOCOL_FEATURES, VU_GET_QUEUE_NUM, VU_SET_VRING_ENABLE,
	VU_GET_CONFIG = 24, VU_SET_CONFIG = 25,
};

#define VU_VERSION		0x1
#define VU_FLAG_REPLY		0x4
#define VU_FLAG_NEED_REPLY	0x8
#define VU_F_PROTOCOL_FEATURES	(1ULL << 30)
#define VIRTIO_F_VERSION_1	(1ULL << 32)
#define VU_PROTOCOL_F_CONFIG	(1ULL << 9)
#define VU_VRING_NOFD		0x100
#define VU_MAX_PAYLOAD		4096

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vu_region_msg {
	uint64_t gpa, size, uva, mmap_offset;
} __attribute__((packed));

static const uint64_t dev_features = VIRTIO_F_VERSION_1 | VU_F_PROTOCOL_FEATURES;
static const uint64_t dev_protocol_features = VU_PROTOCOL_F_CONFIG;

void vuv_ring_notify(struct vuv_dev *d, int q)
{
	uint64_t one = 1;

	if (d->ring[q].call >= 0 && write(d->ring[q].call, &one, sizeof(one)) < 0 && errno != EAGAIN)
		veil_log(LOG_WARNING, "call eventfd of queue %d: %m", q);
}

bool vuv_ring_ready(const struct vuv_dev *d, int q)
{
	const struct vuv_ring *r = &d->ring[q];

	return r->started && r->enabled && !r->vq.broken && r->vq.desc;
}

static void ring_stop(struct vuv_dev *d, int q)
{
	struct vuv_ring *r = &d->ring[q];

	if (r->kick >= 0) {
		vuv_epoll_del(d, r->kick);
		close(r->kick);
	}
	r->kick = -1;
	r->started = false;
}

static void ring_reset(struct vuv_dev *d, int q)
{
	struct vuv_ring *r = &d->ring[q];

	ring_stop(d, q);
	if (r->call >= 0)
		close(r->call);
	memset(&r->vq, 0, sizeof(r->vq));
	strcpy(r->vq.name, q == VUV_RXQ ? "rx" : "tx");
	r->call = -1;
	/* Without protocol features a ring starts enabled. */
	r->enabled = !(d->features & VU_F_PROTOCOL_FEATURES);
}

static void mem_unmap(struct vuv_dev *d)
{
	for (unsigned int i = 0; i < d->mem.n; i++)
		munmap(d->maps[i], d->map_len[i]);
	memset(&d->mem, 0, sizeof(d->mem));
}

void vuv_vu_disconnect(struct vuv_dev *d)
{
	if (d->vu_fd < 0)
		return;
	veil_log(LOG_INFO, "front end disconnected");
	vuv_conns_reset(d);
	for (int q = 0; q < VUV_NQ; q++)
		ring_reset(d, q);
	mem_unmap(d);
	vuv_epoll_del(d, d->vu_fd);
	close(d->vu_fd);
	d->vu_fd = -1;
	d->features = d->protocol_features = 0;
}

int vuv_vu_accept(struct vuv_dev *d)
{
	int fd = accept4(d->vu_listen, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return -1;
	if (d->vu_fd >= 0) {
		veil_log(LOG_WARNING, "a second front end tried to connect; refused");
		close(fd);
		return -1;
	}
	d->vu_fd = fd;
	for (int q = 0; q < VUV_NQ; q++) {
		d->ring[q].kick = d->ring[q].call = -1;
		ring_reset(d, q);
	}
	vuv_epoll_set(d, fd, EPOLLIN, TAG_VU);
	veil_log(LOG_INFO, "front end connected");
	return 0;
}

static bool reply(struct vuv_dev *d, const struct vu_hdr *req, const void *p, uint32_t len)
{
	uint8_t buf[sizeof(struct vu_hdr) + VU_MAX_PAYLOAD];
	struct vu_hdr h = { req->request, VU_VERSION | VU_FLAG_REPLY, len };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), p, len);
	return send(d->vu_fd, buf, sizeof(h) + len, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len);
}

static bool reply_u64(struct vuv_dev *d, const struct vu_hdr *req, uint64_t v)
{
	v = htole64(v);
	return reply(d, req, &v, sizeof(v));
}

static bool set_mem_table(struct vuv_dev *d, const uint8_t *p, uint32_t size, int *fds, int nfds)
{
	uint32_t n;

	if (size < 8)
		return false;
	memcpy(&n, p, 4);
	n = le32toh(n);
	if (n == 0 || n > VUV_MAX_REGIONS || size < 8 + n * sizeof(struct vu_region_msg) ||
	    (int)n != nfds) {
		veil_log(LOG_ERR, "memory table of %u regions with %d fds", n, nfds);
		return false;
	}
	mem_unmap(d);
	for (uint32_t i = 0; i < n; i++) {
		struct vu_region_msg r;
		void *map;

		memcpy(&r, p + 8 + i * sizeof(r), sizeof(r));
		r.gpa = le64toh(r.gpa);
		r.size = le64toh(r.size);
		r.uva = le64toh(r.uva);
		r.mmap_offset = le64toh(r.mmap_offset);
		if (r.size == 0 || r.size + r.mmap_offset < r.size) {
			veil_log(LOG_ERR, "memory region %u: bad size", i);
			mem_unmap(d);
			return false;
		}
		map = mmap(NULL, r.size + r.mmap_offset, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fds[i], 0);
		if (map == MAP_FAILED) {
			veil_log(LOG_ERR, "mapping memory region %u (%llu bytes): %m", i,
				 (unsigned long long)r.size);
			mem_unmap(d);
			return false;
		}
		d->maps[i] = map;
		d->map_len[i] = r.size + r.mmap_offset;
		d->mem.r[i] = (struct vuv_region){ r.gpa, r.size, r.uva,
						   (uint8_t *)map + r.mmap_offset };
		d->mem.n = i + 1;
		veil_log(LOG_DEBUG, "region %u: gpa %#llx size %#llx", i,
			 (unsigned long long)r.gpa, (unsigned long long)r.size);
	}
	for (int q = 0; q < VUV_NQ; q++)
		if (d->ring[q].started)
			vuv_vq_map(&d->ring[q].vq, &d->mem);
	return true;
}

static bool vring_fd(struct vuv_dev *d, uint32_t req, const uint8_t *p, uint32_t size,
		     int *fds, int *nfds)
{
	uint64_t v;
	unsigned int q;
	int fd = -1;

	if (size != 8)
		return false;
	memcpy(&v, p, 8);
	v = le64toh(v);
	q = v & 0xff;
	if (q >= VUV_NQ)
		return false;
	if (!(v & VU_VRING_NOFD)) {
		if (*nfds != 1)
			return false;
		fd = fds[0];
		*nfds = 0;	/* taken */
	}
	struct vuv_ring *r = &d->ring[q];

	if (req == VU_SET_VRING_KICK) {
		ring_stop(d, q);
		r->kick = fd;
		if (fd >= 0) {
			r->started = true;
			if (vuv_vq_map(&r->vq, &d->mem))
				vuv_epoll_set(d, fd, EPOLLIN, q == VUV_RXQ ? TAG_KICK_RX : TAG_KICK_TX);
		}
	} else if (req == VU_SET_VRING_CALL) {
		if (r->call >= 0)
			close(r->call);
		r->call = fd;
	} else if (fd >= 0) {
		close(fd);	/* SET_VRING_ERR: this device never reports one */
	}
	return true;
}

bool vuv_vu_message(struct vuv_dev *d)
{
	uint8_t p[VU_MAX_PAYLOAD];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * VUV_MAX_REGIONS)];
	} cb;
	struct vu_hdr h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cb.b, .msg_controllen = sizeof(cb.b) };
	int fds[VUV_MAX_REGIONS], nfds = 0;
	bool ok = true, replied = false;
	ssize_t n;
	struct cmsghdr *cm;

	n = recvmsg(d->vu_fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (int i = 0; i < k && nfds < VUV_MAX_REGIONS; i++)
				memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		}
	}
	if (n != sizeof(h) || (mh.msg_flags & MSG_CTRUNC))
		goto fail;
	h.request = le32toh(h.request);
	h.flags = le32toh(h.flags);
	h.size = le32toh(h.size);
	if ((h.flags & 0x3) != VU_VERSION || h.size > VU_MAX_PAYLOAD) {
		veil_log(LOG_ERR, "front end sent a bad message header (request %u, size %u)",
			 h.request, h.size);
		goto fail;
	}
	if (h.size && recv(d->vu_fd, p, h.size, MSG_WAITALL) != (ssize_t)h.size)
		goto fail;
	veil_log(LOG_DEBUG, "request %u size %u fds %d", h.request, h.size, nfds);

	struct { uint32_t index, num; } st;
	uint64_t v;

	switch (h.request) {
	case VU_GET_FEATURES:
		ok = reply_u64(d, &h, dev_features);
		replied = true;
		break;
	case VU_SET_FEATURES:
		if (h.size != 8)
			goto bad;
		memcpy(&v, p, 8);
		d->features = le64toh(v);
		if (d->features & ~dev_features) {
			veil_log(LOG_ERR, "front end set features %#llx we did not offer",
				 (unsigned long long)d->features);
			goto fail;
		}
		break;
	case VU_GET_PROTOCOL_FEATURES:
		ok = reply_u64(d, &h, dev_protocol_features);
		replied = true;
		break;
	case VU_SET_PROTOCOL_FEATURES:
		if (h.size != 8)
			goto bad;
		memcpy(&v, p, 8);
		d->protocol_features = le64toh(v) & dev_protocol_features;
		break;
	case VU_GET_QUEUE_NUM:
		ok = reply_u64(d, &h, VUV_NQ);
		replied = true;
		break;
	case VU_SET_OWNER:
		break;
	case VU_RESET_OWNER:
		vuv_conns_reset(d);
		for (int q = 0; q < VUV_NQ; q++)
			ring_reset(d, q);
		break;
	case VU_SET_MEM_TABLE:
		if (!set_mem_table(d, p, h.size, fds, nfds))
			goto fail;
		break;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
	case VU_GET_VRING_BASE:
		if (h.size != sizeof(st))
			goto bad;
		memcpy(&st, p, sizeof(st));
		st.index = le32toh(st.index);
		st.num = le32toh(st.num);
		if (st.index >= VUV_NQ)
			goto bad;
		struct vuv_ring *r = &d->ring[st.index];

		if (h.request == VU_SET_VRING_NUM) {
			r->vq.num = st.num;
			if (r->started)
				vuv_vq_map(&r->vq, &d->mem);
		} else if (h.request == VU_SET_VRING_BASE) {
			r->vq.last_avail = r->vq.used_idx = st.num;
		} else if (h.request == VU_SET_VRING_ENABLE) {
			r->enabled = st.num != 0;
			vuv_rx_pump(d);
		} else {
			ring_stop(d, st.index);
			if (st.index == VUV_RXQ)
				vuv_conns_reset(d);
			st.num = htole32(r->vq.last_avail);
			st.index = htole32(st.index);
			ok = reply(d, &h, &st, sizeof(st));
			replied = true;
		}
		break;
	case VU_SET_VRING_ADDR: {
		struct { uint32_t index, flags; uint64_t desc, used, avail, log; } __attribute__((packed)) a;

		if (h.size != sizeof(a))
			goto bad;
		memcpy(&a, p, sizeof(a));
		if (le32toh(a.index) >= VUV_NQ)
			goto bad;
		struct vuv_vq *vq = &d->ring[le32toh(a.index)].vq;

		vq->desc_uva = le64toh(a.desc);
		vq->used_uva = le64toh(a.used);
		vq->avail_uva = le64toh(a.avail);
		if (d->ring[le32toh(a.index)].started)
			vuv_vq_map(vq, &d->mem);
		break;
	}
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		if (!vring_fd(d, h.request, p, h.size, fds, &nfds))
			goto bad;
		break;
	case VU_GET_CONFIG: {
		struct { uint32_t offset, size, flags; uint8_t cfg[8]; } __attribute__((packed)) c;
		uint64_t cid = htole64(d->cid);
		uint32_t off, sz;

		if (h.size < 12 || h.size > sizeof(c))
			goto bad;
		memset(&c, 0, sizeof(c));
		memcpy(&c, p, h.size);
		off = le32toh(c.offset);
		sz = le32toh(c.size);
		if (off > 8 || sz > 8 - off || h.size != 12 + sz)
			goto bad;
		memcpy(c.cfg, (uint8_t *)&cid + off, sz);
		ok = reply(d, &h, &c, h.size);
		replied = true;
		break;
	}
	case VU_SET_CONFIG:
		veil_log(LOG_WARNING, "front end tried to write the read-only config space");
		break;
	default:
		veil_log(LOG_WARNING, "unhandled vhost-user request %u ignored", h.request);
		break;
	}
	if (ok && !replied && (h.flags & VU_FLAG_NEED_REPLY))
		ok = reply_u64(d, &h, 0);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return ok;
bad:
	veil_log(LOG_ERR, "malformed vhost-user request %u (size %u)", h.request, h.size);
fail:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return false;
}
