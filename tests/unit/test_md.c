// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the eVLU metadata codec (common/veil_md.c) and of the write
 * path (lib/md_io.c) on temporary image files.  Output is TAP 13 with a
 * kselftest-style "# Totals" line; the exit status is 1 if anything failed.
 *
 * Malformed blocks are built here by hand (prop_put() below is written
 * independently of the encoder) and, where the point is to reach the
 * parser, given a correct checksum with fix_csum().  Each error test names
 * the reason the decoder must give, so a test cannot pass because an
 * earlier, unrelated check fired.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "md_io.h"
#include "tap.h"

/* ------------------------------------------------------------ harness --- */


#define LU		16384ull	/* 8 MiB test LU, in sectors */
#define BLK		VEIL_MD_BLOCK_SIZE

static u8 blk[BLK], blk2[BLK];
static struct veil_md md, md2, out;

static struct veil_md_header *hdr(void *b)
{
	return b;
}

static void fix_csum(void *b)
{
	u32 props_len = le32_to_cpu(hdr(b)->props_len);

	if (props_len <= VEIL_MD_PROPS_MAX)
		hdr(b)->csum = cpu_to_le32(veil_md_csum(b, props_len));
}

/* A fully populated, valid struct: every well-known property set. */
static void sample_md(struct veil_md *m)
{
	const char *why;
	int i;

	veil_md_init(m, LU, 512, &why);
	m->seqno = 7;
	strcpy(m->cipher, "aes-xts-plain64");
	m->key_bytes = 64;
	for (i = 0; i < 16; i++) {
		m->uuid[i] = 0xa0 + i;
		m->key_id[i] = 0x10 + i;
	}
	m->key_id_len = 16;
	m->n_plaintext = 2;
	m->plaintext[0].start = 0;
	m->plaintext[0].len = 8;
	m->plaintext[1].start = 100;
	m->plaintext[1].len = 28;
	strcpy(m->label, "test LU");
	strcpy(m->key_hint, "4711");
}

/* A valid struct with no properties at all. */
static void bare_md(struct veil_md *m)
{
	sample_md(m);
	m->key_id_len = 0;
	memset(m->key_id, 0, sizeof(m->key_id));
	m->n_plaintext = 0;
	memset(m->plaintext, 0, sizeof(m->plaintext));
	memset(m->label, 0, sizeof(m->label));
	memset(m->key_hint, 0, sizeof(m->key_hint));
}

/* Append one property record the way the format says; returns its size. */
static u32 prop_put(u8 *p, const char *name, u16 flags, const void *val,
		    u32 value_len)
{
	struct veil_md_prop ph;
	u32 n = strlen(name), size = (8 + n + value_len + 7) & ~7u;

	ph.name_len = cpu_to_le16(n);
	ph.flags = cpu_to_le16(flags);
	ph.value_len = cpu_to_le32(value_len);
	memset(p, 0, size);
	memcpy(p, &ph, sizeof(ph));
	memcpy(p + 8, name, n);
	if (val)
		memcpy(p + 8 + n, val, value_len);
	return size;
}

/* blk = a bare valid header followed by @props, checksum correct. */
static void with_props(const u8 *props, u32 len)
{
	bare_md(&md);
	veil_md_encode(&md, blk, BLK, NULL);
	memcpy(blk + VEIL_MD_HEADER_SIZE, props, len);
	hdr(blk)->props_len = cpu_to_le32(len);
	fix_csum(blk);
}

static bool expect_decode_len(size_t len, int want, const char *want_why,
			      const char *name)
{
	const char *why = NULL;
	int err = veil_md_decode(blk, len, &out, &why);
	bool pass = err == want &&
		    (!want_why || (why && strstr(why, want_why)));

	if (!check(pass, "%s", name))
		printf("#   got %d (%s), want %d (%s)\n", err,
		       why ? why : "-", want, want_why ? want_why : "-");
	return pass;
}

static bool expect_decode(int want, const char *want_why, const char *name)
{
	return expect_decode_len(BLK, want, want_why, name);
}

/* Encode @m, decode, and demand the decoded struct equal @m. */
static bool round_trip(const struct veil_md *m, const char *name)
{
	const char *why = NULL;
	int err = veil_md_encode(m, blk, BLK, &why);

	if (!err)
		err = veil_md_decode(blk, BLK, &out, &why);
	if (!check(!err && !memcmp(m, &out, sizeof(out)), "%s", name)) {
		printf("#   err %d (%s)\n", err, why ? why : "-");
		return false;
	}
	return true;
}

/* ------------------------------------------------------- codec: valid --- */

static void test_crc(void)
{
	u32 c = ~veil_crc32c(~0u, "123456789", 9);

	check(c == 0xE3069283u, "crc32c test vector (got 0x%08x)", c);
	memset(blk, 0, 32);
	c = ~veil_crc32c(~0u, blk, 32);
	check(c == 0x8A9136AAu, "crc32c of 32 zero bytes (got 0x%08x)", c);

	/* The example block of docs/format.md section 4. */
	veil_md_init(&md, 1ull << 21, 512, NULL);
	md.seqno = 1;
	veil_md_encode(&md, blk, BLK, NULL);
	c = le32_to_cpu(hdr(blk)->csum);
	check(c == 0xB2A3ECBBu, "format.md example block checksum (got 0x%08x)",
	      c);
}

static void test_round_trips(void)
{
	int i;

	sample_md(&md);
	round_trip(&md, "round trip: all well-known properties");
	check(le32_to_cpu(hdr(blk)->props_len) % 8 == 0 &&
	      !memcmp(blk, VEIL_MD_MAGIC, 8),
	      "encoded block: magic and aligned props_len");

	bare_md(&md);
	round_trip(&md, "round trip: unencrypted, no properties");
	check(hdr(blk)->props_len == 0, "no properties => props_len 0");

	sample_md(&md);
	md.key_id_len = VEIL_KEY_ID_MAX;
	md.n_plaintext = VEIL_MD_PLAINTEXT_MAX;
	for (i = 0; i < VEIL_MD_PLAINTEXT_MAX; i++) {
		md.plaintext[i].start = 16 * i;
		md.plaintext[i].len = 8;
	}
	memset(md.label, 'x', VEIL_MD_LABEL_MAX);
	md.label[VEIL_MD_LABEL_MAX] = '\0';
	round_trip(&md, "round trip: every property at its maximum");

	sample_md(&md);
	md.sector_size = 4096;
	md.plaintext[1].start = 96;
	md.plaintext[1].len = 32;
	round_trip(&md, "round trip: 4096-byte sectors");

	sample_md(&md);
	md.compat_flags = 0x80000001u;
	round_trip(&md, "unknown compat flags accepted and kept");

	sample_md(&md);
	md.copy = VEIL_MD_COPY_ALTERNATE;
	veil_md_encode(&md, blk, BLK, NULL);
	check(veil_md_decode_at(blk, BLK, VEIL_MD_COPY_ALTERNATE, LU, &out,
				NULL) == 0,
	      "decode_at: alternate copy in its slot");
	check(veil_md_decode_at(blk, BLK, VEIL_MD_COPY_PRIMARY, LU, &out,
				NULL) == -EINVAL,
	      "decode_at: copy index not matching its slot refused");
	check(veil_md_decode_at(blk, BLK, VEIL_MD_COPY_ALTERNATE, LU - 8,
				&out, NULL) == -EINVAL,
	      "decode_at: LU now smaller than the layout refused");
	check(veil_md_decode_at(blk, BLK, VEIL_MD_COPY_ALTERNATE, 2 * LU,
				&out, NULL) == 0,
	      "decode_at: LU grown since format accepted");

	memset(blk, 0, sizeof(blk));
	sample_md(&md);
	veil_md_encode(&md, blk, BLK, NULL);
	check(veil_md_decode(blk, VEIL_MD_HEADER_SIZE +
			     le32_to_cpu(hdr(blk)->props_len), &out,
			     NULL) == 0,
	      "decode from a buffer of exactly header + props_len");
}

/* ----------------------------------------------------- codec: header --- */

static void test_header_errors(void)
{
	sample_md(&md);

	veil_md_encode(&md, blk, BLK, NULL);
	blk[0] ^= 1;
	expect_decode(-ENODATA, "bad magic", "bad magic => -ENODATA");

	memset(blk, 0, BLK);
	expect_decode(-ENODATA, "bad magic", "zeroed block => -ENODATA");

	veil_md_encode(&md, blk, BLK, NULL);
	blk[VEIL_MD_HEADER_SIZE + 20] ^= 0x40;
	expect_decode(-EBADMSG, "checksum", "flipped property byte: checksum");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->seqno ^= cpu_to_le64(1);
	expect_decode(-EBADMSG, "checksum", "flipped header byte: checksum");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->csum ^= cpu_to_le32(0x100);
	expect_decode(-EBADMSG, "checksum", "flipped csum field: checksum");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->version = cpu_to_le16(2);
	fix_csum(blk);
	expect_decode(-EOPNOTSUPP, "version", "version 2 => -EOPNOTSUPP");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->version = cpu_to_le16(0);
	fix_csum(blk);
	expect_decode(-EOPNOTSUPP, "version", "version 0 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->header_size = cpu_to_le16(1024);
	fix_csum(blk);
	expect_decode(-EINVAL, "header_size", "header_size 1024 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->incompat_flags = cpu_to_le32(0x2);
	fix_csum(blk);
	expect_decode(-EOPNOTSUPP, "incompat",
		      "unknown incompat flag 0x2 => -EOPNOTSUPP");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->incompat_flags = cpu_to_le32(0x80000000u);
	fix_csum(blk);
	expect_decode(-EOPNOTSUPP, "incompat",
		      "unknown incompat flag 0x80000000 => -EOPNOTSUPP");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->reserved[359] = 1;
	fix_csum(blk);
	expect_decode(-EINVAL, "reserved", "reserved byte nonzero refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->props_len = cpu_to_le32(5000);
	expect_decode(-EINVAL, "props_len exceeds",
		      "props_len 5000 > 3584 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->props_len = cpu_to_le32(0xfffffff8u);
	expect_decode(-EINVAL, "props_len exceeds",
		      "props_len near 2^32 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	expect_decode_len(VEIL_MD_HEADER_SIZE + 8, -EINVAL, "buffer",
			  "props_len past a short buffer refused");
	expect_decode_len(VEIL_MD_HEADER_SIZE - 1, -EINVAL, "shorter",
			  "buffer shorter than a header refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->props_len = cpu_to_le32(le32_to_cpu(hdr(blk)->props_len) - 4);
	fix_csum(blk);
	expect_decode(-EINVAL, "multiple of 8", "props_len not 8-aligned");

	veil_md_encode(&md, blk, BLK, NULL);
	memset(hdr(blk)->cipher, 'a', VEIL_CIPHER_MAX);
	fix_csum(blk);
	expect_decode(-EINVAL, "NUL-terminated",
		      "cipher without NUL refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->cipher[VEIL_CIPHER_MAX - 1] = 'z';
	hdr(blk)->cipher[VEIL_CIPHER_MAX - 2] = '\0';
	fix_csum(blk);
	expect_decode(-EINVAL, "padding", "garbage after cipher NUL refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->cipher[3] = ' ';
	fix_csum(blk);
	expect_decode(-EINVAL, "unprintable", "space in cipher refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->cipher[3] = '\x01';
	fix_csum(blk);
	expect_decode(-EINVAL, "unprintable", "control char in cipher refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->copy = cpu_to_le32(2);
	fix_csum(blk);
	expect_decode(-EINVAL, "copy index", "copy index 2 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->key_bytes = cpu_to_le32(VEIL_KEY_MAX + 1);
	fix_csum(blk);
	expect_decode(-EINVAL, "key_bytes", "key_bytes > 128 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	hdr(blk)->key_bytes = 0;
	fix_csum(blk);
	expect_decode(-EINVAL, "no cipher or key_bytes",
		      "key-id with key_bytes 0 refused");

	veil_md_encode(&md, blk, BLK, NULL);
	memset(hdr(blk)->cipher, 0, VEIL_CIPHER_MAX);
	fix_csum(blk);
	expect_decode(-EINVAL, "no cipher or key_bytes",
		      "key-id with empty cipher refused");
}

/* ----------------------------------------------------- codec: layout --- */

static void layout_case(void (*mutate)(struct veil_md_header *), int want,
			const char *want_why, const char *name)
{
	sample_md(&md);
	veil_md_encode(&md, blk, BLK, NULL);
	mutate(hdr(blk));
	fix_csum(blk);
	expect_decode(want, want_why, name);
}

static void l_off_low(struct veil_md_header *h)
{
	h->data_offset = cpu_to_le64(VEIL_MD_AREA_SECTORS - 8);
}

static void l_into_alt(struct veil_md_header *h)
{
	h->data_sectors = cpu_to_le64(le64_to_cpu(h->data_sectors) + 8);
}

static void l_huge_len(struct veil_md_header *h)
{
	h->data_sectors = cpu_to_le64(~0ull - 7);
}

static void l_huge_off(struct veil_md_header *h)
{
	h->data_offset = cpu_to_le64(~0ull - 7);
	h->data_sectors = cpu_to_le64(16);
}

static void l_zero_len(struct veil_md_header *h)
{
	h->data_sectors = 0;
}

static void l_misaligned(struct veil_md_header *h)
{
	h->sector_size = cpu_to_le32(4096);
	h->data_offset = cpu_to_le64(VEIL_MD_AREA_SECTORS + 1);
	h->data_sectors = cpu_to_le64(8);
}

static void l_sector_1024(struct veil_md_header *h)
{
	h->sector_size = cpu_to_le32(1024);
}

static void l_tiny_lu(struct veil_md_header *h)
{
	h->lu_sectors = cpu_to_le64(2 * VEIL_MD_AREA_SECTORS - 1);
}

static void l_shrunk_lu(struct veil_md_header *h)
{
	h->lu_sectors = cpu_to_le64(le64_to_cpu(h->lu_sectors) - 8);
}

static void test_layout_errors(void)
{
	const char *alt = "alternate metadata";

	layout_case(l_off_low, -EINVAL, "primary metadata",
		    "data area overlapping the primary copy refused");
	layout_case(l_into_alt, -EINVAL, alt,
		    "data area overlapping the alternate copy refused");
	layout_case(l_huge_len, -EINVAL, alt, "absurd data_sectors refused");
	layout_case(l_huge_off, -EINVAL, alt,
		    "absurd data_offset (sum would wrap) refused");
	layout_case(l_zero_len, -EINVAL, "empty", "empty data area refused");
	layout_case(l_misaligned, -EINVAL, "aligned",
		    "data area not aligned to 4096-byte sectors refused");
	layout_case(l_sector_1024, -EINVAL, "sector_size",
		    "sector_size 1024 refused");
	layout_case(l_tiny_lu, -EINVAL, "too small",
		    "LU smaller than two metadata areas refused");
	layout_case(l_shrunk_lu, -EINVAL, alt,
		    "lu_sectors too small for the data area refused");

	check(veil_md_init(&md, 2 * VEIL_MD_AREA_SECTORS, 512, NULL) ==
	      -EINVAL, "init: LU with no room for data refused");
	check(veil_md_init(&md, 2 * VEIL_MD_AREA_SECTORS + 7, 4096, NULL) ==
	      -EINVAL, "init: no room for one 4096-byte sector refused");
	check(veil_md_init(&md, LU + 5, 4096, NULL) == 0 &&
	      md.data_sectors == LU - 2 * VEIL_MD_AREA_SECTORS &&
	      md.data_offset == VEIL_MD_AREA_SECTORS,
	      "init: data area rounded down to the sector size");
	check(veil_md_alt_offset(LU) == LU - VEIL_MD_AREA_SECTORS,
	      "alternate copy in the last metadata area");
}

/* ------------------------------------------------- codec: properties --- */

static u8 props[VEIL_MD_PROPS_MAX];

static void raw_prop_case(u16 name_len, u32 value_len, u32 props_len,
			  const char *want_why, const char *name)
{
	struct veil_md_prop ph = {
		.name_len = cpu_to_le16(name_len),
		.value_len = cpu_to_le32(value_len),
	};

	memset(props, 0, sizeof(props));
	memcpy(props, &ph, sizeof(ph));
	memset(props + 8, 'a', props_len > 8 ? props_len - 8 : 0);
	with_props(props, props_len);
	expect_decode(-EINVAL, want_why, name);
}

static void test_prop_errors(void)
{
	u8 kid[VEIL_KEY_ID_MAX + 1] = { 1, 2, 3 };
	struct veil_md_range r[VEIL_MD_PLAINTEXT_MAX + 1];
	u32 n, i;

	/* Lengths. */
	raw_prop_case(0, 0, 8, "name length", "property name_len 0 refused");
	raw_prop_case(VEIL_MD_PROP_NAME_MAX + 1, 0, 48, "name length",
		      "property name_len 33 refused");
	raw_prop_case(12, 0, 16, "name runs past",
		      "property name past props_len refused");
	raw_prop_case(4, 5, 16, "value runs past",
		      "value_len one past props_len refused");
	raw_prop_case(4, 0xffffffffu, 16, "value runs past",
		      "value_len 0xffffffff (u32 wrap) refused");
	raw_prop_case(4, 0xfffffff4u, 16, "value runs past",
		      "value_len wrapping to a small total refused");
	raw_prop_case(4, VEIL_MD_PROPS_MAX, VEIL_MD_PROPS_MAX,
		      "value runs past", "value_len = props_len refused");

	memset(props, 0, sizeof(props));
	n = prop_put(props, "key-id", 0, kid, 3);
	memcpy(props + n, "\x01\x00\x00\x00", 4);
	with_props(props, n + 8);
	expect_decode(-EINVAL, "name runs past",
		      "trailing partial record refused");

	/* Padding and names. */
	memset(props, 0, sizeof(props));
	n = prop_put(props, "key-id", 0, kid, 3);
	props[n - 1] = 0xee;
	with_props(props, n);
	expect_decode(-EINVAL, "padding not zero", "nonzero padding refused");

	n = prop_put(props, "Key-id", 0, kid, 3);
	with_props(props, n);
	expect_decode(-EINVAL, "[a-z0-9-]", "uppercase property name refused");

	n = prop_put(props, "foo_bar", 0, kid, 3);
	with_props(props, n);
	expect_decode(-EINVAL, "[a-z0-9-]", "underscore in name refused");

	n = prop_put(props, "key-id", 0x2, kid, 3);
	with_props(props, n);
	expect_decode(-EOPNOTSUPP, "unknown flags",
		      "unknown property flag => -EOPNOTSUPP");

	/* Duplicates and unknown properties. */
	n = prop_put(props, "key-id", 0, kid, 3);
	n += prop_put(props + n, "label", 0, "x", 1);
	n += prop_put(props + n, "key-id", 0, kid, 4);
	with_props(props, n);
	expect_decode(-EINVAL, "duplicate", "duplicate key-id refused");

	n = prop_put(props, "zz-future", 0, "a", 1);
	n += prop_put(props + n, "zz-future", 0, "b", 1);
	with_props(props, n);
	expect_decode(-EINVAL, "duplicate",
		      "duplicate unknown property refused");

	n = prop_put(props, "zz-future", VEIL_MD_PROP_REQUIRED, "a", 1);
	with_props(props, n);
	expect_decode(-EOPNOTSUPP, "unknown required",
		      "unknown required property => -EOPNOTSUPP");

	/* Well-known value rules. */
	n = prop_put(props, "key-id", 0, kid, 0);
	with_props(props, n);
	expect_decode(-EINVAL, "key-id length", "empty key-id refused");

	n = prop_put(props, "key-id", 0, kid, VEIL_KEY_ID_MAX + 1);
	with_props(props, n);
	expect_decode(-EINVAL, "key-id length", "65-byte key-id refused");

	n = prop_put(props, "label", 0, "ab\0d", 4);
	with_props(props, n);
	expect_decode(-EINVAL, "label", "label with a NUL byte refused");

	n = prop_put(props, "label", 0, "ab\nd", 4);
	with_props(props, n);
	expect_decode(-EINVAL, "control", "label with a newline refused");

	memset(props + 1024, 'l', VEIL_MD_LABEL_MAX + 1);
	n = prop_put(props, "label", 0, props + 1024, VEIL_MD_LABEL_MAX + 1);
	with_props(props, n);
	expect_decode(-EINVAL, "label length", "257-byte label refused");

	n = prop_put(props, "label", 0, "", 0);
	with_props(props, n);
	expect_decode(-EINVAL, "label length", "empty label refused");

	n = prop_put(props, "key-id", 0, kid, 16);
	n += prop_put(props + n, "key-hint", 0, "", 0);
	with_props(props, n);
	expect_decode(-EINVAL, "key-hint length", "empty key-hint refused");

	memset(props + 2048, 'h', VEIL_KEY_HINT_MAX);
	n = prop_put(props, "key-id", 0, kid, 16);
	n += prop_put(props + n, "key-hint", 0, props + 2048, VEIL_KEY_HINT_MAX);
	with_props(props, n);
	expect_decode(-EINVAL, "key-hint length", "65-byte key-hint refused");

	n = prop_put(props, "key-id", 0, kid, 16);
	n += prop_put(props + n, "key-hint", 0, "47 11", 5);
	with_props(props, n);
	expect_decode(-EINVAL, "key-hint not printable", "key-hint with a space refused");

	n = prop_put(props, "key-id", 0, kid, 16);
	n += prop_put(props + n, "key-hint", 0, "c\0\2", 3);
	with_props(props, n);
	expect_decode(-EINVAL, "key-hint contains a NUL", "key-hint with a NUL byte refused");

	n = prop_put(props, "key-hint", 0, "4711", 4);
	with_props(props, n);
	expect_decode(-EINVAL, "key-hint set but no key-id", "key-hint without key-id refused");

	/* Plaintext ranges. */
	memset(r, 0, sizeof(r));
	n = prop_put(props, "plaintext", 0, r, 12);
	with_props(props, n);
	expect_decode(-EINVAL, "multiple of 16",
		      "plaintext length not a multiple of 16 refused");

	n = prop_put(props, "plaintext", 0, r, 0);
	with_props(props, n);
	expect_decode(-EINVAL, "multiple of 16", "empty plaintext refused");

	for (i = 0; i <= VEIL_MD_PLAINTEXT_MAX; i++) {
		r[i].start = cpu_to_le64(16 * i);
		r[i].len = cpu_to_le64(8);
	}
	n = prop_put(props, "plaintext", 0, r, sizeof(r));
	with_props(props, n);
	expect_decode(-EINVAL, "too many", "65 plaintext ranges refused");

#define RANGES(name, want, s0, l0, s1, l1) do {				\
		r[0].start = cpu_to_le64(s0);				\
		r[0].len = cpu_to_le64(l0);				\
		r[1].start = cpu_to_le64(s1);				\
		r[1].len = cpu_to_le64(l1);				\
		n = prop_put(props, "plaintext", 0, r, 32);		\
		with_props(props, n);					\
		expect_decode(-EINVAL, want, name);			\
	} while (0)

	RANGES("overlapping plaintext ranges refused", "overlapping",
	       0, 16, 8, 16);
	RANGES("unsorted plaintext ranges refused", "unsorted",
	       100, 8, 0, 8);
	RANGES("plaintext range past the data area refused", "outside",
	       0, 8, LU - 2 * VEIL_MD_AREA_SECTORS - 4, 8);
	RANGES("plaintext range starting past the data area refused",
	       "outside", 0, 8, LU, 8);
	RANGES("plaintext range whose end wraps refused", "outside",
	       0, 8, 16, ~0ull - 7);
	RANGES("empty plaintext range refused", "empty", 0, 8, 16, 0);
#undef RANGES

	r[0].start = cpu_to_le64(4);
	r[0].len = cpu_to_le64(8);
	n = prop_put(props, "plaintext", 0, r, 16);
	with_props(props, n);
	hdr(blk)->sector_size = cpu_to_le32(4096);
	fix_csum(blk);
	expect_decode(-EINVAL, "aligned",
		      "plaintext range not 4096-aligned refused");

	r[0].start = 0;
	r[0].len = cpu_to_le64(16);
	r[1].start = cpu_to_le64(16);
	r[1].len = cpu_to_le64(8);
	n = prop_put(props, "plaintext", 0, r, 32);
	with_props(props, n);
	expect_decode(0, NULL, "adjacent plaintext ranges accepted");
}

static void test_unknown_optional(void)
{
	u8 kid[4] = { 9, 8, 7, 6 };
	u32 n;

	n = prop_put(props, "zz-before", 0, "12345", 5);
	n += prop_put(props + n, "key-id", VEIL_MD_PROP_REQUIRED, kid, 4);
	n += prop_put(props + n, "zz-after", 0, "abcdefghijk", 11);
	with_props(props, n);
	hdr(blk)->key_bytes = cpu_to_le32(64);
	fix_csum(blk);
	if (!expect_decode(0, NULL, "unknown optional properties accepted"))
		return;
	check(out.key_id_len == 4 && !memcmp(out.key_id, kid, 4),
	      "known property among unknown ones decoded");
	check(out.extra_len == 24 + 32, "unknown records kept verbatim (%u)",
	      out.extra_len);
	md2 = out;
	check(veil_md_encode(&md2, blk2, BLK, NULL) == 0 &&
	      veil_md_decode(blk2, BLK, &out, NULL) == 0 &&
	      !memcmp(&md2, &out, sizeof(out)),
	      "unknown optional properties survive decode -> encode");
	check(memmem(blk2, BLK, "zz-afterabcdefghijk", 19) != NULL,
	      "unknown property bytes present in the re-encoded block");

	/* Encoder refuses extras it must not carry. */
	sample_md(&md);
	md.extra_len = prop_put(md.extra, "label", 0, "x", 1);
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: well-known name in extra refused");
	md.extra_len = prop_put(md.extra, "zz", VEIL_MD_PROP_REQUIRED, "x", 1);
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: required property in extra refused");
	md.extra_len = prop_put(md.extra, "zz", 0, NULL, 3500);
	check(veil_md_encode(&md, blk, BLK, NULL) == -ENOSPC,
	      "encode: properties larger than the block refused");
}

static void test_encode_errors(void)
{
	sample_md(&md);
	check(veil_md_encode(&md, blk, BLK - 1, NULL) == -EINVAL,
	      "encode: buffer smaller than a block refused");
	md.plaintext[1].start = 0;
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: overlapping plaintext refused");
	sample_md(&md);
	md.incompat_flags = 4;
	check(veil_md_encode(&md, blk, BLK, NULL) == -EOPNOTSUPP,
	      "encode: unknown incompat flag refused");
	sample_md(&md);
	memset(md.label, 'a', sizeof(md.label));
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: label without NUL refused");
	sample_md(&md);
	memset(md.key_hint, 'h', sizeof(md.key_hint));
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: key-hint without NUL refused");
	sample_md(&md);
	strcpy(md.key_hint, "a\tb");
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: key-hint with a tab refused");
	sample_md(&md);
	md.data_offset = 0;
	check(veil_md_encode(&md, blk, BLK, NULL) == -EINVAL,
	      "encode: data area over the primary copy refused");
}

/* ------------------------------------------------- codec: re-encryption --- */

/* sample_md() half-way through a rotation from key 0x50.. to 0x10.. */
static void reenc_md(struct veil_md *m)
{
	int i;

	sample_md(m);
	m->incompat_flags = VEIL_MD_INCOMPAT_REENCRYPT;
	m->reencrypting = true;
	m->reenc_boundary = 4096;
	m->reenc_window = 1024;
	m->reenc_journal_csum = 0xdeadbeef;
	m->old_key_id_len = 16;
	for (i = 0; i < 16; i++)
		m->old_key_id[i] = 0x50 + i;
}

/* Offset of the first record named @name in blk's property list, or -1. */
static int prop_off(const u8 *b, const char *name)
{
	u32 off = 0, len = le32_to_cpu(hdr((void *)b)->props_len);
	const u8 *list = b + VEIL_MD_HEADER_SIZE;

	while (off + 8 <= len) {
		const struct veil_md_prop *ph = (const void *)(list + off);
		u32 nl = le16_to_cpu(ph->name_len);
		u32 vl = le32_to_cpu(ph->value_len);

		if (nl == strlen(name) && !memcmp(list + off + 8, name, nl))
			return off;
		off += (8 + nl + vl + 7) & ~7u;
	}
	return -1;
}

/*
 * blk = an encrypted LU (key-id 0x10.., aes-xts-plain64) whose header
 * carries @flags, followed by a hand-made reencrypt record whose value is
 * the 24-byte head (old_len as written) and @copy_len bytes of old key-id
 * @old_base, @old_base + 1, ... (0x10 gives the key-id itself);
 * @with_prop false leaves the record out.  Checksum correct.
 */
static void reenc_block(u32 flags, bool with_prop, u64 boundary, u64 window,
			u32 csum, u32 old_len, u32 copy_len, u8 old_base)
{
	u8 val[24 + VEIL_KEY_ID_MAX + 8], kid[16];
	struct veil_md_reencrypt *v = (void *)val;
	u32 n, i;

	memset(val, 0, sizeof(val));
	for (i = 0; i < 16; i++)
		kid[i] = 0x10 + i;
	v->boundary = cpu_to_le64(boundary);
	v->window = cpu_to_le64(window);
	v->journal_csum = cpu_to_le32(csum);
	v->old_key_id_len = cpu_to_le32(old_len);
	for (i = 0; i < VEIL_KEY_ID_MAX + 8; i++)
		val[24 + i] = old_base + i;
	n = prop_put(props, "key-id", VEIL_MD_PROP_REQUIRED, kid, 16);
	if (with_prop)
		n += prop_put(props + n, "reencrypt", VEIL_MD_PROP_REQUIRED,
			      val, 24 + copy_len);
	with_props(props, n);
	strcpy(hdr(blk)->cipher, "aes-xts-plain64");
	hdr(blk)->key_bytes = cpu_to_le32(64);
	hdr(blk)->incompat_flags = cpu_to_le32(flags);
	fix_csum(blk);
}

#define RE	VEIL_MD_INCOMPAT_REENCRYPT
#define DATA	(LU - 2 * VEIL_MD_AREA_SECTORS)	/* data_sectors of bare_md() */

static void test_reencrypt_valid(void)
{
	const struct veil_md_reencrypt *v;
	int hint, re;
	u32 c;

	c = veil_md_crc32c("123456789", 9);
	check(c == 0xE3069283u, "veil_md_crc32c: check value (got 0x%08x)", c);
	memset(blk2, 0xff, 32);
	c = veil_md_crc32c(blk2, 32);
	check(c == 0x62A8AB43u, "veil_md_crc32c: 32 bytes of 0xff (got 0x%08x)",
	      c);
	check(veil_md_crc32c(blk2, 0) == 0, "veil_md_crc32c: empty buffer is 0");

	reenc_md(&md);
	if (round_trip(&md, "reencrypt: round trip with a journaled window")) {
		check(le32_to_cpu(hdr(blk)->incompat_flags) == RE,
		      "reencrypt: header carries the incompat flag");
		hint = prop_off(blk, "key-hint");
		re = prop_off(blk, "reencrypt");
		v = (const void *)(blk + VEIL_MD_HEADER_SIZE + re + 8 + 9);
		check(hint >= 0 && re > hint && prop_off(blk, "label") < hint &&
		      le16_to_cpu(((struct veil_md_prop *)(blk +
				VEIL_MD_HEADER_SIZE + re))->flags) ==
		      VEIL_MD_PROP_REQUIRED &&
		      le32_to_cpu(((struct veil_md_prop *)(blk +
				VEIL_MD_HEADER_SIZE + re))->value_len) == 40,
		      "reencrypt: written REQUIRED, after key-hint, 24 + 16 bytes");
		check(re >= 0 && le64_to_cpu(v->boundary) == 4096 &&
		      le64_to_cpu(v->window) == 1024 &&
		      le32_to_cpu(v->journal_csum) == 0xdeadbeef &&
		      le32_to_cpu(v->old_key_id_len) == 16 &&
		      !memcmp((const u8 *)v + 24, md.old_key_id, 16),
		      "reencrypt: value is le64 boundary, le64 window, le32 csum, le32 len, old key-id");
	}

	reenc_md(&md);
	md.reenc_window = 0;
	md.reenc_journal_csum = 0;
	md.reenc_boundary = 0;
	round_trip(&md, "reencrypt: round trip at boundary 0, no window");

	reenc_md(&md);
	md.reenc_boundary = md.data_sectors;
	md.reenc_window = 0;
	md.reenc_journal_csum = 0;
	round_trip(&md, "reencrypt: boundary at the end of the data area");

	reenc_md(&md);
	md.reenc_boundary = md.data_sectors - VEIL_MD_JOURNAL_SECTORS;
	round_trip(&md, "reencrypt: window of 1024 ending at the data area's end");

	reenc_md(&md);
	md.sector_size = 4096;
	md.plaintext[1].start = 96;
	md.plaintext[1].len = 32;
	md.reenc_boundary = 8;
	md.reenc_window = 8;
	round_trip(&md, "reencrypt: 4096-byte sectors");

	reenc_md(&md);
	md.old_key_id_len = VEIL_KEY_ID_MAX;
	memset(md.old_key_id, 0x77, VEIL_KEY_ID_MAX);
	md.key_id_len = VEIL_KEY_ID_MAX;
	memset(md.label, 'x', VEIL_MD_LABEL_MAX);
	md.label[VEIL_MD_LABEL_MAX] = '\0';
	memset(md.key_hint, 'h', VEIL_KEY_HINT_MAX - 1);
	md.key_hint[VEIL_KEY_HINT_MAX - 1] = '\0';
	round_trip(&md, "reencrypt: 64-byte key-ids beside every property at its maximum");

	reenc_md(&md);
	md.old_key_id_len = 15;	/* a prefix of a longer key-id is another key */
	memset(md.old_key_id, 0, sizeof(md.old_key_id));
	memcpy(md.old_key_id, md.key_id, 15);
	round_trip(&md, "reencrypt: old key-id a prefix of key-id accepted");

	reenc_md(&md);
	md.extra_len = prop_put(md.extra, "zz-later", 0, "abc", 3);
	if (round_trip(&md, "reencrypt: with an unknown optional property"))
		check(prop_off(blk, "zz-later") > prop_off(blk, "reencrypt"),
		      "reencrypt: unknown properties written after it");

	/* Fields beside a cleared reencrypting are not written. */
	reenc_md(&md);
	md.reencrypting = false;
	md.incompat_flags = 0;
	check(veil_md_encode(&md, blk, BLK, NULL) == 0 &&
	      veil_md_decode(blk, BLK, &out, NULL) == 0 &&
	      prop_off(blk, "reencrypt") < 0 && !out.reencrypting &&
	      !out.reenc_boundary && !out.reenc_window &&
	      !out.reenc_journal_csum && !out.old_key_id_len &&
	      hdr(blk)->incompat_flags == 0,
	      "reencrypt: finishing (reencrypting false) drops the property and flag");

	/* Hand-made blocks: the decoder reads what the format says. */
	reenc_block(RE, true, 64, 16, 0x1234, 16, 16, 0x50);
	if (expect_decode(0, NULL, "reencrypt: hand-made block accepted"))
		check(out.reencrypting && out.reenc_boundary == 64 &&
		      out.reenc_window == 16 &&
		      out.reenc_journal_csum == 0x1234 &&
		      out.old_key_id_len == 16 && out.old_key_id[0] == 0x50 &&
		      out.old_key_id[15] == 0x5f,
		      "reencrypt: hand-made block decoded field by field");
	reenc_block(RE, true, 64, 0, 0, 16, 16, 0x50);
	{
		int off = prop_off(blk, "reencrypt");

		((struct veil_md_prop *)(blk + VEIL_MD_HEADER_SIZE + off))->flags = 0;
		fix_csum(blk);
	}
	expect_decode(0, NULL, "reencrypt: record without REQUIRED accepted");
}

static void test_reencrypt_decode_errors(void)
{
	u64 d = DATA;

	reenc_block(0, true, 0, 0, 0, 16, 16, 0x50);
	expect_decode(-EINVAL, "reencrypt property without the incompat flag",
		      "decode: reencrypt property without the flag refused");
	reenc_block(RE, false, 0, 0, 0, 16, 16, 0x50);
	expect_decode(-EINVAL, "incompat flag without the reencrypt property",
		      "decode: flag without the reencrypt property refused");
	reenc_block(RE | 0x2, true, 0, 0, 0, 16, 16, 0x50);
	expect_decode(-EOPNOTSUPP, "unknown incompat",
		      "decode: known flag plus unknown bit 0x2 => -EOPNOTSUPP");
	reenc_block(RE, true, 0, 0, 0, 16, 16, 0x10);
	expect_decode(-EINVAL, "old key-id equals key-id",
		      "decode: old key-id equal to key-id refused");
	reenc_block(RE, true, 0, 0, 0, 0, 0, 0x50);
	expect_decode(-EINVAL, "old key-id length",
		      "decode: empty old key-id refused");
	reenc_block(RE, true, 0, 0, 0, VEIL_KEY_ID_MAX + 1,
		    VEIL_KEY_ID_MAX + 1, 0x50);
	expect_decode(-EINVAL, "old key-id length",
		      "decode: 65-byte old key-id refused");
	reenc_block(RE, true, 0, 0, 0, 0xffffffe8u, 16, 0x50);
	expect_decode(-EINVAL, "old key-id length",
		      "decode: old_key_id_len wrapping 24 + len refused");
	reenc_block(RE, true, 0, 0, 0, 16, 15, 0x50);
	expect_decode(-EINVAL, "does not match",
		      "decode: value one byte short of its old key-id refused");
	reenc_block(RE, true, 0, 0, 0, 16, 17, 0x50);
	expect_decode(-EINVAL, "does not match",
		      "decode: value one byte longer than 24 + old_key_id_len refused");
	{
		u8 kid[16] = { 0x10 }, v[20] = { 0 };
		u32 n;

		n = prop_put(props, "key-id", 0, kid, 16);
		n += prop_put(props + n, "reencrypt", 0, v, 20);
		with_props(props, n);
		strcpy(hdr(blk)->cipher, "aes-xts-plain64");
		hdr(blk)->key_bytes = cpu_to_le32(64);
		hdr(blk)->incompat_flags = cpu_to_le32(RE);
		fix_csum(blk);
		expect_decode(-EINVAL, "shorter than 24",
			      "decode: 20-byte reencrypt value refused");
	}
	reenc_block(RE, true, d + 8, 0, 0, 16, 16, 0x50);
	expect_decode(-EINVAL, "re-encryption boundary beyond the data area",
		      "decode: boundary past the data area refused");
	reenc_block(RE, true, ~0ull, 0, 0, 16, 16, 0x50);
	expect_decode(-EINVAL, "re-encryption boundary beyond the data area",
		      "decode: boundary 2^64-1 refused");
	reenc_block(RE, true, 0, VEIL_MD_JOURNAL_SECTORS + 8, 1, 16, 16, 0x50);
	expect_decode(-EINVAL, "journal window too long",
		      "decode: window of 1032 sectors refused");
	reenc_block(RE, true, 0, ~0ull, 1, 16, 16, 0x50);
	expect_decode(-EINVAL, "journal window too long",
		      "decode: window 2^64-1 refused");
	reenc_block(RE, true, d - 8, 16, 1, 16, 16, 0x50);
	expect_decode(-EINVAL, "journal window runs past the data area",
		      "decode: boundary + window past the data area refused");
	reenc_block(RE, true, 64, 0, 0x1234, 16, 16, 0x50);
	expect_decode(-EINVAL, "journal checksum set without a window",
		      "decode: checksum without a window refused");

	/* 4096-byte sectors: boundary and window on whole sectors. */
	reenc_block(RE, true, 12, 0, 0, 16, 16, 0x50);
	hdr(blk)->sector_size = cpu_to_le32(4096);
	fix_csum(blk);
	expect_decode(-EINVAL, "boundary not aligned",
		      "decode: boundary not a multiple of 8 with 4096-byte sectors refused");
	reenc_block(RE, true, 16, 4, 1, 16, 16, 0x50);
	hdr(blk)->sector_size = cpu_to_le32(4096);
	fix_csum(blk);
	expect_decode(-EINVAL, "window not aligned",
		      "decode: window not a multiple of 8 with 4096-byte sectors refused");

	/* No key-id at all: nothing to rotate to. */
	with_props(props, prop_put(props, "reencrypt", VEIL_MD_PROP_REQUIRED,
				   "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0"
				   "\0\0\0\0\x01\0\0\0" "\x42", 25));
	hdr(blk)->incompat_flags = cpu_to_le32(RE);
	fix_csum(blk);
	expect_decode(-EINVAL, "re-encryption without a key-id",
		      "decode: reencrypt on an unencrypted LU refused");

	/* Twice. */
	{
		u8 v[25] = { [20] = 1, [24] = 0x42 };
		u32 n;

		reenc_block(RE, true, 0, 0, 0, 16, 16, 0x50);
		n = le32_to_cpu(hdr(blk)->props_len);
		memcpy(props, blk + VEIL_MD_HEADER_SIZE, n);
		n += prop_put(props + n, "reencrypt", 0, v, 25);
		memcpy(blk + VEIL_MD_HEADER_SIZE, props, n);
		hdr(blk)->props_len = cpu_to_le32(n);
		fix_csum(blk);
		expect_decode(-EINVAL, "duplicate",
			      "decode: two reencrypt properties refused");
	}

	/* The helper itself makes a valid block when asked to. */
	reenc_block(RE, true, 0, 0, 0, 16, 16, 0x50);
	expect_decode(0, NULL, "decode: control block for the cases above accepted");
}

static void enc_case(void (*mutate)(struct veil_md *), int want,
		     const char *want_why, const char *name)
{
	const char *why = NULL;
	int err;

	reenc_md(&md);
	mutate(&md);
	memset(blk, 0xaa, BLK);
	err = veil_md_encode(&md, blk, BLK, &why);
	if (!check(err == want && why && strstr(why, want_why) &&
		   blk[0] == 0xaa, "%s", name))
		printf("#   got %d (%s)\n", err, why ? why : "-");
}

static void e_no_flag(struct veil_md *m) { m->incompat_flags = 0; }
static void e_no_prop(struct veil_md *m) { m->reencrypting = false; }
static void e_same(struct veil_md *m)
{
	memcpy(m->old_key_id, m->key_id, 16);
}
static void e_no_kid(struct veil_md *m)
{
	m->key_id_len = 0;
	m->key_hint[0] = '\0';
}
static void e_old_0(struct veil_md *m) { m->old_key_id_len = 0; }
static void e_old_65(struct veil_md *m)
{
	m->old_key_id_len = VEIL_KEY_ID_MAX + 1;
}
static void e_beyond(struct veil_md *m)
{
	m->reenc_boundary = m->data_sectors + 8;
	m->reenc_window = 0;
	m->reenc_journal_csum = 0;
}
static void e_long(struct veil_md *m)
{
	m->reenc_window = VEIL_MD_JOURNAL_SECTORS + 8;
}
static void e_past(struct veil_md *m)
{
	m->reenc_boundary = m->data_sectors - 8;
}
static void e_csum(struct veil_md *m) { m->reenc_window = 0; }
static void e_unaligned_b(struct veil_md *m)
{
	m->sector_size = 4096;
	m->plaintext[1].start = 96;
	m->plaintext[1].len = 32;
	m->reenc_boundary = 4100;
}
static void e_unaligned_w(struct veil_md *m)
{
	m->sector_size = 4096;
	m->plaintext[1].start = 96;
	m->plaintext[1].len = 32;
	m->reenc_window = 12;
}
static void e_extra(struct veil_md *m)
{
	m->extra_len = prop_put(m->extra, "reencrypt", 0, NULL, 25);
}
static void e_unknown_bit(struct veil_md *m) { m->incompat_flags |= 0x2; }

static void test_reencrypt_encode_errors(void)
{
	enc_case(e_no_flag, -EINVAL, "reencrypt property without the incompat flag",
		 "encode: reencrypting without the flag refused");
	enc_case(e_no_prop, -EINVAL, "incompat flag without the reencrypt property",
		 "encode: flag without reencrypting refused");
	enc_case(e_unknown_bit, -EOPNOTSUPP, "unknown incompat",
		 "encode: unknown incompat bit 0x2 beside it refused");
	enc_case(e_same, -EINVAL, "old key-id equals key-id",
		 "encode: old key-id equal to key-id refused");
	enc_case(e_no_kid, -EINVAL, "re-encryption without a key-id",
		 "encode: re-encryption without a key-id refused");
	enc_case(e_old_0, -EINVAL, "old key-id length",
		 "encode: empty old key-id refused");
	enc_case(e_old_65, -EINVAL, "old key-id length",
		 "encode: 65-byte old key-id refused");
	enc_case(e_beyond, -EINVAL, "re-encryption boundary beyond the data area",
		 "encode: boundary past the data area refused");
	enc_case(e_long, -EINVAL, "journal window too long",
		 "encode: window of 1032 sectors refused");
	enc_case(e_past, -EINVAL, "journal window runs past the data area",
		 "encode: window past the data area refused");
	enc_case(e_csum, -EINVAL, "journal checksum set without a window",
		 "encode: checksum without a window refused");
	enc_case(e_unaligned_b, -EINVAL, "boundary not aligned",
		 "encode: boundary off the 4096-byte sector grid refused");
	enc_case(e_unaligned_w, -EINVAL, "window not aligned",
		 "encode: window off the 4096-byte sector grid refused");
	enc_case(e_extra, -EINVAL, "well-known property",
		 "encode: a reencrypt record smuggled in extra refused");
}

/* -------------------------------------------------- selection, ranges --- */

static void test_pick(void)
{
	sample_md(&md);
	sample_md(&md2);
	md2.seqno = md.seqno + 1;
	check(veil_md_pick(&md, 0, &md2, 0) == VEIL_MD_COPY_ALTERNATE,
	      "pick: alternate with higher seqno wins");
	check(veil_md_pick(&md2, 0, &md, 0) == VEIL_MD_COPY_PRIMARY,
	      "pick: primary with higher seqno wins");
	check(veil_md_pick(&md, 0, &md, 0) == VEIL_MD_COPY_PRIMARY,
	      "pick: tie goes to the primary");
	check(veil_md_pick(&md2, -EBADMSG, &md, 0) == VEIL_MD_COPY_ALTERNATE,
	      "pick: invalid primary (even with higher seqno) falls back");
	check(veil_md_pick(&md, 0, &md2, -EINVAL) == VEIL_MD_COPY_PRIMARY,
	      "pick: invalid alternate ignored");
	check(veil_md_pick(&md, -EBADMSG, &md2, -EINVAL) == -ENOENT,
	      "pick: both invalid => -ENOENT");
	check(veil_md_pick(&md, -ENODATA, &md2, -EBADMSG) == -ENOENT,
	      "pick: blank + damaged => -ENOENT");
	check(veil_md_pick(&md, -ENODATA, &md2, -ENODATA) == -ENODATA,
	      "pick: both blank => -ENODATA (no metadata)");
	check(veil_md_pick(&md, -EOPNOTSUPP, &md2, 0) ==
	      VEIL_MD_COPY_ALTERNATE,
	      "pick: newer-format copy next to a valid one is skipped");
	check(veil_md_pick(&md, -EOPNOTSUPP, &md2, -EBADMSG) == -EOPNOTSUPP,
	      "pick: only a newer-format copy => -EOPNOTSUPP");
}

static void test_is_plaintext(void)
{
	bool partial;

	sample_md(&md);	/* ranges [0,8) and [100,128) */
	md.n_plaintext = 3;
	md.plaintext[2].start = 128;
	md.plaintext[2].len = 8;
	check(veil_md_is_plaintext(&md, 0, 8, &partial) && !partial,
	      "is_plaintext: exactly a range");
	check(veil_md_is_plaintext(&md, 104, 4, &partial) && !partial,
	      "is_plaintext: inside a range");
	check(veil_md_is_plaintext(&md, 120, 16, &partial) && !partial,
	      "is_plaintext: across two adjacent ranges");
	check(!veil_md_is_plaintext(&md, 4, 8, &partial) && partial,
	      "is_plaintext: straddling a range end is partial");
	check(!veil_md_is_plaintext(&md, 96, 8, &partial) && partial,
	      "is_plaintext: straddling a range start is partial");
	check(!veil_md_is_plaintext(&md, 0, 200, &partial) && partial,
	      "is_plaintext: covering several ranges and gaps is partial");
	check(!veil_md_is_plaintext(&md, 8, 92, &partial) && !partial,
	      "is_plaintext: the gap between ranges");
	check(!veil_md_is_plaintext(&md, 0, 0, &partial) && !partial,
	      "is_plaintext: empty bio range");
	check(!veil_md_is_plaintext(&md, ~0ull - 2, 8, &partial) && !partial,
	      "is_plaintext: range wrapping 2^64");
	md.n_plaintext = 0;
	check(!veil_md_is_plaintext(&md, 0, 8, &partial) && !partial,
	      "is_plaintext: no ranges");
}

/* --------------------------------------------------------- write path --- */

static char img_path[4096];
static struct veil_md_copies copies;

/* A sparse LU-sized image in $TMPDIR (or /tmp), already unlinked. */
static int img_open(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(img_path, sizeof(img_path), "%s/test_md.XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(img_path);
	if (fd < 0 || ftruncate(fd, LU * 512)) {
		perror("test_md: temp image");
		exit(1);
	}
	unlink(img_path);
	return fd;
}

static void set_kid(struct veil_md *m, u8 v)
{
	memset(m->key_id, v, 16);
	m->key_id_len = 16;
}

/* Key-id byte of the selected copy, 0 if none is selected. */
static int selected_kid(int fd)
{
	if (veil_md_read_copies(fd, LU, &copies) || copies.pick < 0)
		return 0;
	return copies.md[copies.pick].key_id[0];
}

static void zero_copy(int fd, int copy)
{
	static u8 zero[BLK];
	off_t off = copy ? (off_t)veil_md_alt_offset(LU) * 512 : 0;

	if (pwrite(fd, zero, BLK, off) != BLK)
		perror("test_md: zero_copy");
}

static void test_write_basic(void)
{
	int fd = img_open();
	u8 raw[8];

	check(veil_md_read_copies(fd, LU, &copies) == 0 &&
	      copies.pick == -ENODATA, "read: blank image has no metadata");
	sample_md(&md);
	md.seqno = 0;
	check(veil_md_write_dev(fd, LU, &md) == 0, "write: format");
	check(veil_md_read_copies(fd, LU, &copies) == 0 &&
	      !copies.err[0] && !copies.err[1] &&
	      copies.md[0].seqno == 1 && copies.md[1].seqno == 1 &&
	      copies.md[1].copy == VEIL_MD_COPY_ALTERNATE,
	      "write: both copies valid with seqno 1");
	check(pread(fd, raw, 8, (off_t)(LU - VEIL_MD_AREA_SECTORS) * 512) ==
	      8 && !memcmp(raw, VEIL_MD_MAGIC, 8),
	      "write: alternate at LU end minus one metadata area");
	md2 = copies.md[0];
	md2.seqno = 0;
	md2.copy = 0;
	check(!memcmp(&md2, &md, sizeof(md)), "write: contents as given");
	set_kid(&md, 0x42);
	check(veil_md_write_dev(fd, LU, &md) == 0 && selected_kid(fd) == 0x42 &&
	      copies.md[0].seqno == 2 && copies.md[1].seqno == 2,
	      "write: update bumps seqno on both copies");

	check(veil_md_read_dev(fd, LU, &md2, &copies.err[0], &out,
			       &copies.err[1]) == 0 &&
	      !copies.err[0] && !copies.err[1] && md2.key_id[0] == 0x42 &&
	      out.copy == VEIL_MD_COPY_ALTERNATE,
	      "read_dev: both copies returned");

	md.data_offset = 8;
	check(veil_md_write_dev(fd, LU, &md) == -EINVAL,
	      "write: bad layout refused before any I/O");
	check(veil_md_read_copies(fd, LU - 8, &copies) == 0 &&
	      copies.err[0] == -EINVAL && copies.err[1] == -ENODATA &&
	      copies.pick == -ENOENT,
	      "read: LU shrunk below the layout: primary refused, no alternate");
	check(veil_md_read_copies(fd, LU + 8, &copies) == 0 &&
	      copies.pick == VEIL_MD_COPY_PRIMARY && copies.err[1] == -ENODATA,
	      "read: LU grown: primary used, alternate not at the new end");
	check(veil_md_read_copies(fd, 1000, &copies) == 0 &&
	      copies.err[0] == -EINVAL && copies.err[1] == -ENODATA &&
	      copies.pick == -ENOENT,
	      "read: LU too small for metadata but carrying it: present, unusable");
	close(fd);
}

/* Through the write path: both copies carry the state, and finish it. */
static void test_reencrypt_write(void)
{
	int fd = img_open();

	reenc_md(&md);
	check(veil_md_write_dev(fd, LU, &md) == 0 &&
	      veil_md_read_copies(fd, LU, &copies) == 0 &&
	      !copies.err[0] && !copies.err[1] &&
	      copies.md[0].reencrypting && copies.md[1].reencrypting &&
	      copies.md[1].reenc_boundary == 4096 &&
	      copies.md[1].reenc_journal_csum == 0xdeadbeef &&
	      copies.md[1].old_key_id[0] == 0x50,
	      "write: both copies carry the re-encryption state");
	md.reencrypting = false;
	md.incompat_flags &= ~VEIL_MD_INCOMPAT_REENCRYPT;
	check(veil_md_write_dev(fd, LU, &md) == 0 &&
	      veil_md_read_copies(fd, LU, &copies) == 0 &&
	      copies.pick >= 0 && !copies.md[copies.pick].reencrypting &&
	      !copies.md[0].incompat_flags && !copies.md[1].incompat_flags,
	      "write: finishing clears the state on both copies");
	md.incompat_flags |= VEIL_MD_INCOMPAT_REENCRYPT;
	check(veil_md_write_dev(fd, LU, &md) == -EINVAL &&
	      veil_md_read_copies(fd, LU, &copies) == 0 &&
	      !copies.md[0].incompat_flags,
	      "write: flag without the property refused before any I/O");
	close(fd);
}

static void test_write_newer(void)
{
	const char *why;
	int fd = img_open();

	sample_md(&md);
	veil_md_write_dev(fd, LU, &md);
	veil_md_read_copies(fd, LU, &copies);
	md2 = copies.md[0];
	veil_md_encode(&md2, blk, BLK, NULL);
	hdr(blk)->version = cpu_to_le16(VEIL_MD_VERSION + 1);
	fix_csum(blk);
	if (pwrite(fd, blk, BLK, 0) != BLK)
		perror("test_md: pwrite");
	check(veil_md_write_dev(fd, LU, &md) == -EOPNOTSUPP,
	      "write: refuses to overwrite a newer-format copy");
	check(veil_md_write_dev_why(fd, LU, &md, VEIL_MD_WRITE_FORCE, &why) ==
	      0 && veil_md_read_copies(fd, LU, &copies) == 0 &&
	      !copies.err[0] && !copies.err[1],
	      "write: VEIL_MD_WRITE_FORCE overwrites it");
	close(fd);
}

/*
 * Starting state for crash tests, all with key-id 0x11 (old) before the
 * update to 0x22 (new):
 *   0  both copies valid and equal
 *   1  only the primary valid (alternate blank)
 *   2  only the alternate valid (primary blank)
 *   3  alternate one update behind the primary (old-old key 0x10)
 */
static const char *const start_names[] = {
	"both valid", "primary only", "alternate only", "alternate stale",
};

static int crash_setup(int state)
{
	int fd = img_open();

	sample_md(&md);
	if (state == 3) {
		set_kid(&md, 0x10);
		veil_md_write_dev(fd, LU, &md);
		set_kid(&md, 0x11);
		veil_md_crash_after = 1;
		/* primary first (both valid): stops with the primary new */
		veil_md_write_dev(fd, LU, &md);
		veil_md_crash_after = -1;
	} else {
		set_kid(&md, 0x11);
		veil_md_write_dev(fd, LU, &md);
		if (state == 1)
			zero_copy(fd, VEIL_MD_COPY_ALTERNATE);
		if (state == 2)
			zero_copy(fd, VEIL_MD_COPY_PRIMARY);
	}
	return fd;
}

static void crash_case(int state, int after, unsigned int torn)
{
	int fd = crash_setup(state), err, kid, want;
	bool pass;

	set_kid(&md, 0x22);
	veil_md_crash_after = after;
	veil_md_torn_bytes = torn;
	err = veil_md_write_dev(fd, LU, &md);
	veil_md_crash_after = -1;
	veil_md_torn_bytes = 0;
	kid = selected_kid(fd);
	/*
	 * Once one write completed, the copy it wrote is valid and newest;
	 * if none completed and none was torn, nothing changed.  A torn
	 * first write may leave either key-id, never none.
	 */
	want = after >= 1 ? 0x22 : !torn ? 0x11 : 0;
	pass = (kid == 0x11 || kid == 0x22) && (!want || kid == want) &&
	       err == (after >= 2 ? 0 : -ECANCELED);

	/* And the next update repairs both copies. */
	set_kid(&md, 0x33);
	err = veil_md_write_dev(fd, LU, &md);
	pass = pass && !err && selected_kid(fd) == 0x33 && !copies.err[0] &&
	       !copies.err[1] && copies.md[0].seqno == copies.md[1].seqno;
	if (torn)
		check(pass, "crash: %s, write %d torn at %u: key-id 0x%02x, then repaired",
		      start_names[state], after + 1, torn, kid);
	else
		check(pass, "crash: %s, after %d writes: key-id 0x%02x, then repaired",
		      start_names[state], after, kid);
	close(fd);
}

static void test_crash(void)
{
	int state, after;
	unsigned int torn;
	int before = t_fail, n = t_num;

	for (state = 0; state < 4; state++) {
		for (after = 0; after <= 2; after++)
			crash_case(state, after, 0);
		for (after = 0; after <= 1; after++)
			for (torn = 512; torn < BLK; torn += 512)
				crash_case(state, after, torn);
		crash_case(state, 0, 100);
	}
	printf("# crash cases: %d run, %d failed\n", t_num - n,
	       t_fail - before);
}

static void test_torn_primary(void)
{
	int fd = crash_setup(0);

	set_kid(&md, 0x22);
	veil_md_crash_after = 0;
	veil_md_torn_bytes = 512;
	veil_md_write_dev(fd, LU, &md);
	veil_md_crash_after = -1;
	veil_md_torn_bytes = 0;
	check(selected_kid(fd) == 0x11 && copies.err[0] == -EBADMSG &&
	      copies.pick == VEIL_MD_COPY_ALTERNATE,
	      "torn primary (new header, old properties): checksum mismatch, alternate used");
	close(fd);

	fd = crash_setup(1);
	set_kid(&md, 0x22);
	veil_md_crash_after = 0;
	veil_md_torn_bytes = 512;
	veil_md_write_dev(fd, LU, &md);
	veil_md_crash_after = -1;
	veil_md_torn_bytes = 0;
	check(selected_kid(fd) == 0x11 && !copies.err[0] &&
	      copies.err[1] == -EBADMSG,
	      "primary as sole valid copy: alternate written first, primary untouched");
	close(fd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	test_crc();
	test_round_trips();
	test_header_errors();
	test_layout_errors();
	test_prop_errors();
	test_unknown_optional();
	test_encode_errors();
	test_reencrypt_valid();
	test_reencrypt_decode_errors();
	test_reencrypt_encode_errors();
	test_pick();
	test_is_plaintext();
	test_write_basic();
	test_write_newer();
	test_reencrypt_write();
	test_crash();
	test_torn_primary();
	return tap_done();
}
