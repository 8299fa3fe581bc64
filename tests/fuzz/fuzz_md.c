// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the eVLU metadata decoder (common/veil_md.c).
 *
 * Input: one control byte, then a metadata block (at most 4096 bytes; the
 * decoder gets exactly that many, in a buffer of that size, so ASan sees
 * any read past it).  Control bit 0 set: the checksum field is recomputed
 * before decoding, so mutations get past the checksum into the parser
 * (cryptsetup's fuzzers do the same).
 *
 * Properties checked: decode never fails without a reason or with an
 * errno outside its documented set; whatever decodes re-encodes, the
 * re-encoded block decodes to the same struct, and encoding that struct
 * again gives the same bytes (the encoding is canonical).
 *
 * Built with -DFUZZ_MD_WRITE_SEEDS and a plain compiler, this file is
 * instead a program that writes the seed corpus into the directory given
 * as its argument (tests/fuzz/corpus/fuzz_md holds its output).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veil_md.h"

#define BLK	VEIL_MD_BLOCK_SIZE

static struct veil_md md;
static uint8_t enc[BLK];

#ifndef FUZZ_MD_WRITE_SEEDS

static struct veil_md md2;
static uint8_t enc2[BLK];

static void fix_csum(uint8_t *b, size_t len)
{
	struct veil_md_header *h = (void *)b;
	u32 props_len = le32_to_cpu(h->props_len);

	if (props_len <= VEIL_MD_PROPS_MAX &&
	    props_len <= len - VEIL_MD_HEADER_SIZE)
		h->csum = cpu_to_le32(veil_md_csum(b, props_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	uint8_t *buf;
	size_t len;
	bool partial;
	int err;

	if (size < 1)
		return 0;
	len = size - 1 > BLK ? BLK : size - 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) && len >= VEIL_MD_HEADER_SIZE)
		fix_csum(buf, len);

	err = veil_md_decode(buf, len, &md, &why);
	if (err) {
		if (!why || (err != -ENODATA && err != -EBADMSG &&
			     err != -EINVAL && err != -EOPNOTSUPP))
			__builtin_trap();
		free(buf);
		return 0;
	}

	/* Valid: the helpers the dm target uses must cope with it. */
	veil_md_is_plaintext(&md, md.data_sectors / 2, 8, &partial);
	veil_md_is_plaintext(&md, ~0ull - 3, 8, &partial);
	veil_md_decode_at(buf, len, md.copy, md.lu_sectors, &md2, &why);

	if (veil_md_encode(&md, enc, BLK, &why))
		__builtin_trap();	/* decoded but not encodable */
	if (veil_md_decode(enc, BLK, &md2, &why))
		__builtin_trap();	/* own output refused */
	if (memcmp(&md, &md2, sizeof(md)))
		__builtin_trap();	/* round trip changed a field */
	if (veil_md_encode(&md2, enc2, BLK, &why) || memcmp(enc, enc2, BLK))
		__builtin_trap();	/* encoding not canonical */
	free(buf);
	return 0;
}

#else /* FUZZ_MD_WRITE_SEEDS: write the seed corpus */

static int write_seed(const char *dir, const char *name, const struct veil_md *m,
		      uint8_t ctl)
{
	char path[4096];
	u32 len;
	FILE *f;

	if (veil_md_encode(m, enc, BLK, NULL))
		return -1;
	/* Trailing zeros carry nothing: keep header + properties only. */
	len = VEIL_MD_HEADER_SIZE +
	      le32_to_cpu(((struct veil_md_header *)enc)->props_len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&ctl, 1, 1, f) != 1 || fwrite(enc, 1, len, f) != len ||
	    fclose(f))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	u64 lu = 1ull << 21;	/* 1 GiB */
	int i, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 1;
	}
	veil_md_init(&md, lu, 512, NULL);
	md.seqno = 1;
	rc |= write_seed(argv[1], "bare", &md, 0);

	strcpy(md.cipher, "aes-xts-plain64");
	md.key_bytes = 64;
	md.key_id_len = VEIL_KEY_ID_DEFAULT;
	for (i = 0; i < VEIL_KEY_ID_DEFAULT; i++)
		md.key_id[i] = 0x30 + i;
	for (i = 0; i < 16; i++)
		md.uuid[i] = 0xc0 + i;
	rc |= write_seed(argv[1], "key-id", &md, 1);

	md.n_plaintext = 3;
	md.plaintext[0].start = 0;
	md.plaintext[0].len = 64;
	md.plaintext[1].start = 2048;
	md.plaintext[1].len = 8;
	md.plaintext[2].start = md.data_sectors - 64;
	md.plaintext[2].len = 64;
	strcpy(md.label, "seed LU");
	md.copy = VEIL_MD_COPY_ALTERNATE;
	md.compat_flags = 0x100;
	rc |= write_seed(argv[1], "all-props", &md, 1);

	md.sector_size = 4096;
	md.extra_len = 0;
	{
		/* one unknown optional property, kept verbatim */
		struct veil_md_prop ph = {
			.name_len = cpu_to_le16(6),
			.value_len = cpu_to_le32(3),
		};

		memcpy(md.extra, &ph, sizeof(ph));
		memcpy(md.extra + 8, "future" "abc", 9);
		md.extra_len = 24;
	}
	rc |= write_seed(argv[1], "unknown-prop-4k", &md, 1);

	/* half-way through a key rotation, a window journaled */
	md.incompat_flags = VEIL_MD_INCOMPAT_REENCRYPT;
	md.reencrypting = true;
	md.reenc_boundary = 4096;
	md.reenc_window = VEIL_MD_JOURNAL_SECTORS;
	md.reenc_journal_csum = 0x5eed5eed;
	md.old_key_id_len = VEIL_KEY_ID_DEFAULT;
	for (i = 0; i < VEIL_KEY_ID_DEFAULT; i++)
		md.old_key_id[i] = 0x60 + i;
	strcpy(md.key_hint, "kmip-7");
	rc |= write_seed(argv[1], "reencrypt-4k", &md, 1);

	/* the same at 512-byte sectors, between two windows */
	md.sector_size = 512;
	md.extra_len = 0;
	md.reenc_boundary = 1000;
	md.reenc_window = 0;
	md.reenc_journal_csum = 0;
	rc |= write_seed(argv[1], "reencrypt", &md, 1);
	if (rc)
		perror("write_seed");
	return rc ? 1 : 0;
}

#endif
