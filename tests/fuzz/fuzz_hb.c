// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the header backup file parser (vc_hb_parse() in
 * tools/veilctl/backup.c, the code veilctl header restore runs on a file).
 *
 * Input: one control byte, then the file (the parser gets exactly those
 * bytes, in a buffer of that size, so ASan sees any read past it).
 * Control bits, so that mutations get past the checksums into the parsers
 * behind them (as cryptsetup's fuzzers fix up theirs):
 *   bit 0  recompute the file's own checksum;
 *   bit 1  first recompute the checksum of each saved metadata block;
 *   bit 2  decode the copies against the LU size the file records rather
 *          than a fixed 1 GiB LU.
 *
 * Properties checked: a refusal always says why, with an errno from the
 * documented set; an accepted file names a valid copy of the file's uuid,
 * and building a file from what was parsed gives back the same bytes (the
 * format has one encoding).
 *
 * Built with -DFUZZ_HB_WRITE_SEEDS and a plain compiler, this file is
 * instead a program that writes the seed corpus into the directory given
 * as its argument (tests/fuzz/corpus/fuzz_hb holds its output).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil_md.h"
#include "../../tools/veilctl/veilctl.h"

#define BLK	VEIL_MD_BLOCK_SIZE
#define LU_1G	(1ull << 21)

static uint8_t file2[VC_HB_SIZE];

#ifndef FUZZ_HB_WRITE_SEEDS

static struct vc_hb hb;

static void fix_md_csum(uint8_t *b)
{
	struct veil_md_header *h = (void *)b;
	u32 props_len = le32_to_cpu(h->props_len);

	if (props_len <= VEIL_MD_PROPS_MAX)
		h->csum = cpu_to_le32(veil_md_csum(b, props_len));
}

static void fix_file_csum(uint8_t *f)
{
	u32 c = cpu_to_le32(vc_hb_csum(f));

	memcpy(f + 12, &c, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512] = "";
	uint64_t lu = LU_1G;
	uint8_t *buf;
	size_t len;
	int err;

	if (size < 1)
		return 0;
	len = size - 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if (len == VC_HB_SIZE) {
		if (data[0] & 2) {
			fix_md_csum(buf + BLK);
			fix_md_csum(buf + 2 * BLK);
		}
		if (data[0] & 1)
			fix_file_csum(buf);
		if (data[0] & 4) {
			memcpy(&lu, buf + 16, 8);
			lu = le64_to_cpu(lu);
		}
	}

	err = vc_hb_parse(buf, len, lu, &hb, why, sizeof(why));
	if (err) {
		if (!why[0] || (err != -EBADMSG && err != -EPROTONOSUPPORT &&
				err != -EILSEQ && err != -EINVAL &&
				err != -ENOENT))
			__builtin_trap();
		free(buf);
		return 0;
	}
	if (hb.pick != 0 && hb.pick != 1)
		__builtin_trap();
	if (hb.err[hb.pick] || memcmp(hb.md[hb.pick].uuid, hb.uuid, 16))
		__builtin_trap();	/* picked a copy it should not have */
	if (hb.alt_offset != (hb.lu_sectors - VEIL_MD_AREA_SECTORS) * 512)
		__builtin_trap();
	vc_hb_build(file2, hb.lu_sectors, hb.uuid, buf + BLK, buf + 2 * BLK);
	if (memcmp(file2, buf, VC_HB_SIZE))
		__builtin_trap();	/* accepted a non-canonical file */
	free(buf);
	return 0;
}

#else /* FUZZ_HB_WRITE_SEEDS: write the seed corpus */

static struct veil_md md;
static uint8_t blk[2][BLK];

static int write_seed(const char *dir, const char *name, uint8_t ctl)
{
	char path[4096];
	FILE *f;

	vc_hb_build(file2, md.lu_sectors, md.uuid, blk[0], blk[1]);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&ctl, 1, 1, f) != 1 ||
	    fwrite(file2, 1, VC_HB_SIZE, f) != VC_HB_SIZE || fclose(f))
		return -1;
	return 0;
}

static int encode_both(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		md.copy = i;
		if (veil_md_encode(&md, blk[i], BLK, NULL))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 1;
	}
	veil_md_init(&md, LU_1G, 512, NULL);
	md.seqno = 7;
	strcpy(md.cipher, "aes-xts-plain64");
	md.key_bytes = 64;
	md.key_id_len = VEIL_KEY_ID_DEFAULT;
	for (i = 0; i < VEIL_KEY_ID_DEFAULT; i++)
		md.key_id[i] = 0x30 + i;
	for (i = 0; i < 16; i++)
		md.uuid[i] = 0xc0 + i;
	strcpy(md.label, "backup seed");
	rc |= encode_both() || write_seed(argv[1], "both-valid", 0);

	/* the alternate lost (a grown LU before resize): primary only */
	memset(blk[1], 0, BLK);
	rc |= write_seed(argv[1], "alternate-blank", 1);

	/* copies of different seqno, 4096-byte sectors, plaintext ranges */
	md.sector_size = 4096;
	md.n_plaintext = 2;
	md.plaintext[0].start = 0;
	md.plaintext[0].len = 64;
	md.plaintext[1].start = 4096;
	md.plaintext[1].len = 8;
	rc |= encode_both();
	md.seqno = 8;
	md.copy = 1;
	rc |= veil_md_encode(&md, blk[1], BLK, NULL) ||
	      write_seed(argv[1], "seqno-differs-4k", 7);
	if (rc)
		perror("write_seed");
	return rc ? 1 : 0;
}

#endif
