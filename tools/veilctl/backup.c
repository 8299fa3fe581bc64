// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: the header backup file (docs/format.md, "Header backup file"),
 * built and parsed over a byte buffer.  No I/O here: cmd_header.c reads and
 * writes the file, tests/fuzz/fuzz_hb.c feeds the parser hostile bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "veil_md.h"
#include "veilctl.h"

#define HB_MAGIC	"VEILHBAK"

/* The first 48 bytes of the file; the rest of its first block is zero. */
struct hb_header {
	char magic[8];
	__le32 version;
	__le32 csum;		/* CRC-32C of the file, this field as zero */
	__le64 lu_sectors;	/* LU size at backup time */
	__le64 alt_offset;	/* byte offset the alternate block came from */
	u8 uuid[16];
} __attribute__((packed));

static_assert(sizeof(struct hb_header) == 48, "hb_header layout");

uint32_t vc_hb_csum(const u8 *file)
{
	static const u8 zero[4];
	u32 c;

	c = veil_crc32c(~0u, file, offsetof(struct hb_header, csum));
	c = veil_crc32c(c, zero, sizeof(zero));
	c = veil_crc32c(c, file + offsetof(struct hb_header, csum) + 4,
			VC_HB_SIZE - offsetof(struct hb_header, csum) - 4);
	return ~c;
}

void vc_hb_build(u8 *file, uint64_t lu_sectors, const u8 *uuid,
		 const void *primary, const void *alternate)
{
	struct hb_header *h = (struct hb_header *)file;

	memset(file, 0, VEIL_MD_BLOCK_SIZE);
	memcpy(h->magic, HB_MAGIC, sizeof(h->magic));
	h->version = cpu_to_le32(VC_HB_VERSION);
	h->lu_sectors = cpu_to_le64(lu_sectors);
	h->alt_offset = cpu_to_le64(veil_md_alt_offset(lu_sectors) * 512);
	memcpy(h->uuid, uuid, sizeof(h->uuid));
	memcpy(file + VEIL_MD_BLOCK_SIZE, primary, VEIL_MD_BLOCK_SIZE);
	memcpy(file + 2 * VEIL_MD_BLOCK_SIZE, alternate, VEIL_MD_BLOCK_SIZE);
	h->csum = cpu_to_le32(vc_hb_csum(file));
}

int vc_hb_parse(const u8 *file, size_t len, uint64_t lu_sectors,
		struct vc_hb *hb, char *why, size_t why_size)
{
	const struct hb_header *h = (const struct hb_header *)file;
	size_t i;
	int k;

	memset(hb, 0, sizeof(*hb));
	hb->pick = -ENOENT;
	if (len != VC_HB_SIZE || memcmp(h->magic, HB_MAGIC, 8)) {
		snprintf(why, why_size,
			 "not a veil header backup (want %d bytes starting with %s)",
			 VC_HB_SIZE, HB_MAGIC);
		return -EBADMSG;
	}
	if (le32_to_cpu(h->version) != VC_HB_VERSION) {
		snprintf(why, why_size,
			 "header backup version %" PRIu32 ", this veilctl reads %d",
			 le32_to_cpu(h->version), VC_HB_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (le32_to_cpu(h->csum) != vc_hb_csum(file)) {
		snprintf(why, why_size,
			 "header backup damaged (checksum mismatch)");
		return -EILSEQ;
	}
	hb->lu_sectors = le64_to_cpu(h->lu_sectors);
	hb->alt_offset = le64_to_cpu(h->alt_offset);
	memcpy(hb->uuid, h->uuid, sizeof(hb->uuid));
	for (i = sizeof(*h); i < VEIL_MD_BLOCK_SIZE; i++)
		if (file[i])
			break;
	if (i < VEIL_MD_BLOCK_SIZE ||
	    hb->lu_sectors < 2 * (uint64_t)VEIL_MD_AREA_SECTORS ||
	    hb->lu_sectors > UINT64_MAX / 512 ||
	    hb->alt_offset != veil_md_alt_offset(hb->lu_sectors) * 512) {
		snprintf(why, why_size,
			 "header backup inconsistent (LU size, alternate offset or reserved bytes)");
		return -EINVAL;
	}
	for (k = 0; k < 2; k++) {
		hb->err[k] = veil_md_decode_at(file + (k + 1) * VEIL_MD_BLOCK_SIZE,
					       VEIL_MD_BLOCK_SIZE, k, lu_sectors,
					       &hb->md[k], &hb->why[k]);
		if (!hb->err[k] && memcmp(hb->md[k].uuid, hb->uuid, 16)) {
			hb->err[k] = -EINVAL;
			hb->why[k] = "uuid differs from the file's";
		}
	}
	hb->pick = veil_md_pick(&hb->md[0], hb->err[0], &hb->md[1],
				hb->err[1]);
	if (hb->pick < 0) {
		snprintf(why, why_size,
			 "no copy in the backup is valid for this LU of %" PRIu64 " sectors (primary: %s; alternate: %s)",
			 lu_sectors, hb->why[0] ? hb->why[0] : "-",
			 hb->why[1] ? hb->why[1] : "-");
		return -ENOENT;
	}
	return 0;
}
