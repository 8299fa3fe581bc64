// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for vhost-user-vsock's view of guest memory: the split
 * virtqueue walker and the virtio-vsock packet checks
 * (tests/vm/vhost-user-vsock/vq.c), the code a hostile guest reaches.
 *
 * Input: two control bytes, then guest RAM.  Byte 0 picks the queue size
 * (1 to 16, a power of two) and which ring the writes go to; byte 1 splits
 * RAM into two regions at a 64-byte boundary (0: one region).  Each region
 * is its own heap buffer of exactly its size, so ASan sees any access
 * outside guest memory.  The rings sit at the start of the first region:
 * descriptors, then the avail ring, then the used ring.
 *
 * Properties checked: every chain the walker returns lies inside one
 * region per segment, within the chain size limit and the segment count;
 * a broken queue is never walked again; a packet accepted as OK came from
 * the guest's CID to the host with a payload that fits in its chain.
 *
 * Built with -DFUZZ_VSOCK_WRITE_SEEDS and a plain compiler, this file is
 * instead a program that writes a seed corpus into the directory given as
 * its argument (tests/fuzz/corpus/fuzz_vsock holds its output).
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "../vm/vhost-user-vsock/vq.h"

#define GUEST_CID	3
#define GPA_BASE	0x100000ULL
#define UVA_BASE	0x7f0000000000ULL
#define MAX_RAM		(64u << 10)

static void layout(unsigned int num, uint64_t *desc, uint64_t *avail, uint64_t *used)
{
	*desc = 0;
	*avail = 16 * num;
	*used = (*avail + 6 + 2 * num + 3) & ~3ULL;
}

#ifndef FUZZ_VSOCK_WRITE_SEEDS
static bool inside(const struct vuv_mem *m, const uint8_t *p, uint32_t len)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (p >= m->r[i].hva && len <= m->r[i].size &&
		    (uint64_t)(p - m->r[i].hva) <= m->r[i].size - len)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool opened;
	struct vuv_mem m = { 0 };
	struct vuv_vq vq = { 0 };
	struct vuv_chain c;
	uint64_t d, a, u;
	size_t ram, split;
	uint8_t *r0, *r1 = NULL;
	static uint8_t buf[VUV_MAX_CHAIN];

	if (!opened) {
		veil_log_open("fuzz_vsock", 0, LOG_CRIT);	/* queue failures are expected */
		opened = true;
	}
	if (size < 2 || size - 2 > MAX_RAM)
		return 0;
	ram = size - 2;
	split = (size_t)data[1] * 64;
	if (!split || split >= ram)
		split = ram;
	vq.num = 1u << (data[0] % 5);
	layout(vq.num, &d, &a, &u);
	if (u + 6 + 8 * vq.num > split)
		return 0;
	r0 = malloc(split);
	memcpy(r0, data + 2, split);
	m.r[0] = (struct vuv_region){ GPA_BASE, split, UVA_BASE, r0 };
	m.n = 1;
	if (split < ram) {
		r1 = malloc(ram - split);
		memcpy(r1, data + 2 + split, ram - split);
		/* a second region with a hole before it */
		m.r[1] = (struct vuv_region){ GPA_BASE + split + 4096, ram - split,
					      UVA_BASE + split + 4096, r1 };
		m.n = 2;
	}
	vq.desc_uva = UVA_BASE + d;
	vq.avail_uva = UVA_BASE + a;
	vq.used_uva = UVA_BASE + u;
	strcpy(vq.name, "fuzz");
	if (!vuv_vq_map(&vq, &m))
		abort();	/* the layout always fits */
	for (unsigned int i = 0; i < 2 * vq.num + 2; i++) {
		int rc = vuv_vq_peek(&vq, &m, &c);

		if (rc < 0) {
			if (!vq.broken || vuv_vq_peek(&vq, &m, &c) != -1)
				abort();
			break;
		}
		if (rc == 0)
			break;
		if (c.out_len + c.in_len > VUV_MAX_CHAIN || c.nout > VUV_MAX_IOV ||
		    c.nin > VUV_MAX_IOV)
			abort();
		for (unsigned int k = 0; k < c.nout; k++)
			if (!inside(&m, c.out[k].base, c.out[k].len))
				abort();
		for (unsigned int k = 0; k < c.nin; k++)
			if (!inside(&m, c.in[k].base, c.in[k].len))
				abort();
		struct vsock_hdr h;
		const char *why;

		if (vuv_pkt_parse(&c, GUEST_CID, &h, &why) == VUV_PKT_OK) {
			if (h.src_cid != GUEST_CID || h.dst_cid != VSOCK_HOST_CID ||
			    VSOCK_HDR_LEN + (uint64_t)h.len > c.out_len)
				abort();
			if (vuv_chain_read(&c, VSOCK_HDR_LEN, buf, h.len) != h.len)
				abort();
		} else if (!why) {
			abort();
		}
		if (vuv_chain_write(&c, 0, buf, c.in_len) != c.in_len)
			abort();
		vuv_vq_push(&vq, &c, c.in_len);
	}
	free(r0);
	free(r1);
	return 0;
}
#else
/* Seeds: a ring of 4 with a tx chain (header + payload) and an rx buffer. */
static void put_desc(uint8_t *ram, unsigned int i, uint64_t gpa, uint32_t len, uint16_t fl,
		     uint16_t next)
{
	struct vring_desc_le dl = { htole64(gpa), htole32(len), htole16(fl), htole16(next) };

	memcpy(ram + 16 * i, &dl, sizeof(dl));
}

static void write_seed(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static uint8_t in[2 + 1024];
	uint8_t *ram = in + 2;
	uint64_t d, a, u;
	struct vsock_hdr h = { htole64(GUEST_CID), htole64(2), htole32(1024), htole32(564),
			       htole32(5), htole16(1), htole16(VSOCK_OP_RW), 0, htole32(65536), 0 };
	uint16_t v;

	if (argc != 2)
		return 2;
	in[0] = 2;	/* num 4 */
	in[1] = 0;
	layout(4, &d, &a, &u);
	memcpy(ram + 256, &h, sizeof(h));
	memcpy(ram + 300, "hello", 5);
	put_desc(ram, 0, GPA_BASE + 256, 44, VRING_DESC_F_NEXT, 1);
	put_desc(ram, 1, GPA_BASE + 300, 5, 0, 0);
	put_desc(ram, 2, GPA_BASE + 512, 256, VRING_DESC_F_WRITE, 0);
	v = htole16(0);
	memcpy(ram + a + 4, &v, 2);
	v = htole16(2);
	memcpy(ram + a + 6, &v, 2);
	v = htole16(2);
	memcpy(ram + a + 2, &v, 2);
	write_seed(argv[1], "rw-and-rx", in, sizeof(in));
	h.src_cid = htole64(4);
	memcpy(ram + 256, &h, sizeof(h));
	write_seed(argv[1], "forged-cid", in, sizeof(in));
	in[1] = 8;	/* second region from byte 512: the rx buffer crosses the hole */
	write_seed(argv[1], "two-regions", in, sizeof(in));
	return 0;
}
#endif
