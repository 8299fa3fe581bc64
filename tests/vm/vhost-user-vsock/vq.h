/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory and split virtqueues as a vhost-user back end sees them,
 * with the guest treated as hostile: every address the guest (or the
 * front end) names is checked against the mapped regions before use,
 * every ring field is read once, and a chain that is out of bounds,
 * loops or is oversized fails the queue rather than being followed.
 */
#ifndef VUV_VQ_H
#define VUV_VQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VUV_MAX_REGIONS	8

struct vuv_region {
	uint64_t gpa;		/* guest physical address */
	uint64_t size;
	uint64_t uva;		/* front end's (QEMU's) virtual address */
	uint8_t *hva;		/* where it is mapped here */
};

struct vuv_mem {
	unsigned int n;
	struct vuv_region r[VUV_MAX_REGIONS];
};

/* Host pointer for [gpa, gpa+len) inside one region, or NULL. */
void *vuv_gpa(const struct vuv_mem *m, uint64_t gpa, uint64_t len);
/* Same for a front-end virtual address (vring addresses). */
void *vuv_uva(const struct vuv_mem *m, uint64_t uva, uint64_t len);

struct vring_desc_le {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4

struct vuv_vq {
	/* Set by the front end (SET_VRING_*). */
	unsigned int num;		/* queue size, power of two */
	uint64_t desc_uva, avail_uva, used_uva;
	/* Resolved against the memory table (vuv_vq_map). */
	struct vring_desc_le *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[num] */
	volatile uint8_t *used;		/* flags, idx, ring[num] of {u32 id, u32 len} */
	uint16_t last_avail;
	uint16_t used_idx;
	bool broken;			/* failed: never touched again */
	char name[8];
};

/* Resolve a queue's ring addresses; false (queue broken, logged) if any is outside guest RAM. */
bool vuv_vq_map(struct vuv_vq *vq, const struct vuv_mem *m);

#define VUV_MAX_IOV	64
/* Largest chain accepted, in bytes: a packet header plus 64 KiB payload, rounded up. */
#define VUV_MAX_CHAIN	(128u << 10)

struct vuv_iov {
	uint8_t *base;
	uint32_t len;
};

struct vuv_chain {
	uint16_t head;
	unsigned int nout, nin;		/* readable then writable descriptors */
	struct vuv_iov out[VUV_MAX_IOV];
	struct vuv_iov in[VUV_MAX_IOV];
	uint32_t out_len, in_len;
};

/*
 * Next available chain, without consuming it: 1 and *c filled, 0 if the
 * queue is empty, -1 if the queue is (now) broken.  vuv_vq_push() consumes
 * it, reporting len bytes written.
 */
int vuv_vq_peek(struct vuv_vq *vq, const struct vuv_mem *m, struct vuv_chain *c);
void vuv_vq_push(struct vuv_vq *vq, const struct vuv_chain *c, uint32_t len);

/* Fail a queue with one log line. */
void vuv_vq_fail(struct vuv_vq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy up to len bytes of a chain's readable part starting at off; returns bytes copied. */
size_t vuv_chain_read(const struct vuv_chain *c, size_t off, void *dst, size_t len);
/* Copy len bytes into a chain's writable part starting at off; returns bytes copied. */
size_t vuv_chain_write(const struct vuv_chain *c, size_t off, const void *src, size_t len);

/* ---- virtio-vsock packets (virtio 1.2 section 5.10.6) ---- */

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

#define VSOCK_HDR_LEN		44
#define VSOCK_TYPE_STREAM	1
#define VSOCK_OP_REQUEST	1
#define VSOCK_OP_RESPONSE	2
#define VSOCK_OP_RST		3
#define VSOCK_OP_SHUTDOWN	4
#define VSOCK_OP_RW		5
#define VSOCK_OP_CREDIT_UPDATE	6
#define VSOCK_OP_CREDIT_REQUEST	7
#define VSOCK_SHUTDOWN_RCV	1
#define VSOCK_SHUTDOWN_SEND	2
#define VSOCK_HOST_CID		2
#define VSOCK_MAX_PAYLOAD	(64u << 10)

enum vuv_verdict {
	VUV_PKT_OK,		/* well formed, from the guest's own CID to the host */
	VUV_PKT_DROP,		/* malformed beyond answering (short header) */
	VUV_PKT_RST,		/* answer with RST: forged CID, wrong type, bad op or length */
};

/*
 * Read and check the packet in a tx chain; host-endian header in *h.
 * *why says what was wrong for anything but VUV_PKT_OK.
 */
enum vuv_verdict vuv_pkt_parse(const struct vuv_chain *c, uint64_t guest_cid,
			       struct vsock_hdr *h, const char **why);

#endif
