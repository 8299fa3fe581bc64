// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The eVLU metadata codec: one VEIL_MD_BLOCK_SIZE block <-> struct veil_md.
 * Compiled into dm-veil.ko (kernel/dm/ includes this file) and libveil.
 * The format is in docs/format.md; the API is described in veil_md.h.
 *
 * Reading order: the header is checked first (magic, version, sizes,
 * checksum, raw fields), then the property list is walked record by record,
 * then the decoded values are checked together (md_validate()), which is
 * also what veil_md_encode() runs before writing anything.  Every length
 * read from disk is compared with what is left of the buffer before it is
 * used, using subtraction only, so no sum can wrap.
 */
#include "veil_md.h"

#define MD_SECTOR		512u
#define MD_CSUM_OFF		12u
#define MD_PROP_HDR		((u32)sizeof(struct veil_md_prop))
#define MD_RANGE_SIZE		((u32)sizeof(struct veil_md_range))
#define MD_REENC_SIZE		((u32)sizeof(struct veil_md_reencrypt))

static_assert(sizeof(struct veil_md_header) == VEIL_MD_HEADER_SIZE,
	      "header must be 512 bytes");
static_assert(__builtin_offsetof(struct veil_md_header, csum) == MD_CSUM_OFF,
	      "csum offset");
static_assert(sizeof(struct veil_md_prop) == 8, "prop header is 8 bytes");
static_assert(sizeof(struct veil_md_range) == 16, "range is 16 bytes");
static_assert(sizeof(struct veil_md_reencrypt) == 24,
	      "reencrypt value header is 24 bytes");
static_assert(VEIL_MD_PROPS_MAX % VEIL_MD_PROP_ALIGN == 0, "props align");

static int md_fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

static u32 md_pad(u32 n)
{
	return (n + VEIL_MD_PROP_ALIGN - 1) & ~(u32)(VEIL_MD_PROP_ALIGN - 1);
}

static bool md_is_zero(const u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

u32 veil_md_csum(const void *block, u32 props_len)
{
	static const u8 zero_csum[4];
	const u8 *b = block;
	u32 crc = ~0u;

	crc = veil_crc32c(crc, b, MD_CSUM_OFF);
	crc = veil_crc32c(crc, zero_csum, sizeof(zero_csum));
	crc = veil_crc32c(crc, b + MD_CSUM_OFF + 4,
			  VEIL_MD_HEADER_SIZE - MD_CSUM_OFF - 4);
	crc = veil_crc32c(crc, b + VEIL_MD_HEADER_SIZE, props_len);
	return ~crc;
}

u32 veil_md_crc32c(const void *buf, size_t len)
{
	return ~veil_crc32c(~0u, buf, len);
}

/* ------------------------------------------------------------- layout --- */

int veil_md_check_layout(const struct veil_md *md, u64 lu_sectors,
			 const char **why)
{
	u64 spc, end, prev_end = 0;
	u32 i;

	if (md->sector_size != 512 && md->sector_size != 4096)
		return md_fail(why, "sector_size must be 512 or 4096", -EINVAL);
	spc = md->sector_size / MD_SECTOR;
	if (lu_sectors < 2 * (u64)VEIL_MD_AREA_SECTORS)
		return md_fail(why, "LU too small to hold both metadata copies",
			       -EINVAL);
	if (md->data_offset < VEIL_MD_AREA_SECTORS)
		return md_fail(why, "data area overlaps the primary metadata",
			       -EINVAL);
	if (md->data_offset % spc || md->data_sectors % spc)
		return md_fail(why, "data area not aligned to sector_size",
			       -EINVAL);
	if (!md->data_sectors)
		return md_fail(why, "data area is empty", -EINVAL);
	end = lu_sectors - VEIL_MD_AREA_SECTORS;
	if (md->data_offset > end || md->data_sectors > end - md->data_offset)
		return md_fail(why,
			       "data area overlaps the alternate metadata or runs past the LU",
			       -EINVAL);
	if (md->n_plaintext > VEIL_MD_PLAINTEXT_MAX)
		return md_fail(why, "too many plaintext ranges", -EINVAL);
	for (i = 0; i < md->n_plaintext; i++) {
		const struct veil_md_extent *r = &md->plaintext[i];

		if (!r->len)
			return md_fail(why, "empty plaintext range", -EINVAL);
		if (r->start % spc || r->len % spc)
			return md_fail(why,
				       "plaintext range not aligned to sector_size",
				       -EINVAL);
		if (r->start >= md->data_sectors ||
		    r->len > md->data_sectors - r->start)
			return md_fail(why,
				       "plaintext range outside the data area",
				       -EINVAL);
		if (i && r->start < prev_end)
			return md_fail(why,
				       "plaintext ranges unsorted or overlapping",
				       -EINVAL);
		prev_end = r->start + r->len;
	}
	return 0;
}

int veil_md_init(struct veil_md *md, u64 lu_sectors, u32 sector_size,
		 const char **why)
{
	u64 spc;

	memset(md, 0, sizeof(*md));
	if (sector_size != 512 && sector_size != 4096)
		return md_fail(why, "sector_size must be 512 or 4096", -EINVAL);
	spc = sector_size / MD_SECTOR;
	if (lu_sectors < 2 * (u64)VEIL_MD_AREA_SECTORS + spc)
		return md_fail(why, "LU too small for metadata and data",
			       -EINVAL);
	md->lu_sectors = lu_sectors;
	md->sector_size = sector_size;
	md->data_offset = VEIL_MD_AREA_SECTORS;
	md->data_sectors = lu_sectors - 2 * (u64)VEIL_MD_AREA_SECTORS;
	md->data_sectors -= md->data_sectors % spc;
	md->copy = VEIL_MD_COPY_PRIMARY;
	return 0;
}

/* --------------------------------------------------------- properties --- */

static bool md_name_ok(const u8 *name, u32 len)
{
	u32 i;

	if (!len || len > VEIL_MD_PROP_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		u8 c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool md_name_is(const u8 *name, u32 len, const char *known)
{
	return len == strlen(known) && !memcmp(name, known, len);
}

static bool md_name_known(const u8 *name, u32 len)
{
	return md_name_is(name, len, VEIL_MD_PROP_KEY_ID) ||
	       md_name_is(name, len, VEIL_MD_PROP_PLAINTEXT) ||
	       md_name_is(name, len, VEIL_MD_PROP_LABEL) ||
	       md_name_is(name, len, VEIL_MD_PROP_KEY_HINT) ||
	       md_name_is(name, len, VEIL_MD_PROP_REENCRYPT);
}

/* One property record, checked against the bytes left in its list. */
struct md_rec {
	const u8 *name;
	const u8 *value;
	u32 name_len;
	u32 value_len;
	u32 flags;
	u32 size;		/* whole record, padding included */
};

static int md_rec_parse(const u8 *p, u32 left, struct md_rec *rec,
			const char **why)
{
	const struct veil_md_prop *ph = (const void *)p;
	u32 used;

	if (left < MD_PROP_HDR)
		return md_fail(why, "truncated property header", -EINVAL);
	rec->name_len = le16_to_cpu(ph->name_len);
	rec->flags = le16_to_cpu(ph->flags);
	rec->value_len = le32_to_cpu(ph->value_len);
	left -= MD_PROP_HDR;
	if (!rec->name_len || rec->name_len > VEIL_MD_PROP_NAME_MAX)
		return md_fail(why, "property name length out of range",
			       -EINVAL);
	if (rec->name_len > left)
		return md_fail(why, "property name runs past props_len",
			       -EINVAL);
	left -= rec->name_len;
	if (rec->value_len > left)
		return md_fail(why, "property value runs past props_len",
			       -EINVAL);
	/* All three parts fit in left (< 4 KiB): the sum cannot wrap. */
	used = MD_PROP_HDR + rec->name_len + rec->value_len;
	rec->size = md_pad(used);
	if (rec->size - used > left - rec->value_len)
		return md_fail(why, "property padding runs past props_len",
			       -EINVAL);
	rec->name = p + MD_PROP_HDR;
	rec->value = rec->name + rec->name_len;
	if (!md_is_zero(p + used, rec->size - used))
		return md_fail(why, "property padding not zero", -EINVAL);
	if (!md_name_ok(rec->name, rec->name_len))
		return md_fail(why, "property name not [a-z0-9-]", -EINVAL);
	if (rec->flags & ~VEIL_MD_PROP_FLAGS_KNOWN)
		return md_fail(why, "property has unknown flags", -EOPNOTSUPP);
	return 0;
}

/* Whether a record before offset @upto in @list has this name. */
static bool md_rec_seen(const u8 *list, u32 upto, const struct md_rec *rec)
{
	struct md_rec prev;
	u32 off = 0;

	while (off < upto) {
		/* Already validated on the way here: cannot fail. */
		if (md_rec_parse(list + off, upto - off, &prev, NULL))
			return false;
		if (prev.name_len == rec->name_len &&
		    !memcmp(prev.name, rec->name, rec->name_len))
			return true;
		off += prev.size;
	}
	return false;
}

/* A text property's value into @dst (@max bytes and a NUL): 1..max bytes,
 * no NUL among them.
 */
static int md_copy_text(const struct md_rec *rec, char *dst, u32 max,
			const char *len_why, const char *nul_why,
			const char **why)
{
	if (!rec->value_len || rec->value_len > max)
		return md_fail(why, len_why, -EINVAL);
	if (memchr(rec->value, '\0', rec->value_len))
		return md_fail(why, nul_why, -EINVAL);
	memcpy(dst, rec->value, rec->value_len);
	dst[rec->value_len] = '\0';
	return 0;
}

/*
 * The reencrypt value: struct veil_md_reencrypt, then exactly
 * old_key_id_len bytes of the old key-id.  How the numbers fit the layout
 * is md_check_reencrypt()'s business.
 */
static int md_decode_reencrypt(const struct md_rec *rec, struct veil_md *md,
			       const char **why)
{
	const struct veil_md_reencrypt *v = (const void *)rec->value;
	u32 old_len;

	if (rec->value_len < MD_REENC_SIZE)
		return md_fail(why, "reencrypt value shorter than 24 bytes",
			       -EINVAL);
	old_len = le32_to_cpu(v->old_key_id_len);
	if (!old_len || old_len > VEIL_KEY_ID_MAX)
		return md_fail(why, "old key-id length out of range", -EINVAL);
	if (rec->value_len != MD_REENC_SIZE + old_len)
		return md_fail(why,
			       "reencrypt value length does not match its old key-id length",
			       -EINVAL);
	md->reencrypting = true;
	md->reenc_boundary = le64_to_cpu(v->boundary);
	md->reenc_window = le64_to_cpu(v->window);
	md->reenc_journal_csum = le32_to_cpu(v->journal_csum);
	md->old_key_id_len = old_len;
	memcpy(md->old_key_id, rec->value + MD_REENC_SIZE, old_len);
	return 0;
}

static int md_decode_known(const struct md_rec *rec, struct veil_md *md,
			   const char **why)
{
	const struct veil_md_range *r;
	u32 i;

	if (md_name_is(rec->name, rec->name_len, VEIL_MD_PROP_KEY_ID)) {
		if (!rec->value_len || rec->value_len > VEIL_KEY_ID_MAX)
			return md_fail(why, "key-id length out of range",
				       -EINVAL);
		memcpy(md->key_id, rec->value, rec->value_len);
		md->key_id_len = rec->value_len;
	} else if (md_name_is(rec->name, rec->name_len,
			      VEIL_MD_PROP_PLAINTEXT)) {
		if (!rec->value_len || rec->value_len % MD_RANGE_SIZE)
			return md_fail(why,
				       "plaintext length not a nonzero multiple of 16",
				       -EINVAL);
		if (rec->value_len / MD_RANGE_SIZE > VEIL_MD_PLAINTEXT_MAX)
			return md_fail(why, "too many plaintext ranges",
				       -EINVAL);
		md->n_plaintext = rec->value_len / MD_RANGE_SIZE;
		r = (const void *)rec->value;
		for (i = 0; i < md->n_plaintext; i++) {
			md->plaintext[i].start = le64_to_cpu(r[i].start);
			md->plaintext[i].len = le64_to_cpu(r[i].len);
		}
	} else if (md_name_is(rec->name, rec->name_len,
			      VEIL_MD_PROP_KEY_HINT)) {
		/* other characters are checked by md_validate() */
		return md_copy_text(rec, md->key_hint, VEIL_KEY_HINT_MAX - 1,
				    "key-hint length out of range",
				    "key-hint contains a NUL byte", why);
	} else if (md_name_is(rec->name, rec->name_len,
			      VEIL_MD_PROP_REENCRYPT)) {
		return md_decode_reencrypt(rec, md, why);
	} else {
		return md_copy_text(rec, md->label, VEIL_MD_LABEL_MAX,
				    "label length out of range",
				    "label contains a NUL byte", why);
	}
	return 0;
}

/*
 * Walk a property list.  With @md, decode it: known properties into their
 * fields, unknown optional ones appended to md->extra.  Without @md, check
 * that the list is fit to be md->extra: only unknown, optional properties.
 */
static int md_walk_props(const u8 *list, u32 len, struct veil_md *md,
			 const char **why)
{
	struct md_rec rec;
	u32 off = 0;
	int err;

	while (off < len) {
		err = md_rec_parse(list + off, len - off, &rec, why);
		if (err)
			return err;
		if (md_rec_seen(list, off, &rec))
			return md_fail(why, "duplicate property", -EINVAL);
		if (md_name_known(rec.name, rec.name_len)) {
			if (!md)
				return md_fail(why,
					       "extra holds a well-known property",
					       -EINVAL);
			err = md_decode_known(&rec, md, why);
			if (err)
				return err;
		} else if (rec.flags & VEIL_MD_PROP_REQUIRED) {
			if (!md)
				return md_fail(why,
					       "extra holds a required property",
					       -EINVAL);
			return md_fail(why, "unknown required property",
				       -EOPNOTSUPP);
		} else if (md) {
			/* Fits: the whole list is at most VEIL_MD_PROPS_MAX. */
			memcpy(md->extra + md->extra_len, list + off, rec.size);
			md->extra_len += rec.size;
		}
		off += rec.size;
	}
	return 0;
}

/* --------------------------------------------------- struct checking --- */

static int md_check_cipher(const char *cipher, const char **why)
{
	const char *nul = memchr(cipher, '\0', VEIL_CIPHER_MAX);
	const char *c;

	if (!nul)
		return md_fail(why, "cipher not NUL-terminated", -EINVAL);
	for (c = cipher; c < nul; c++)
		if (*c <= ' ' || *c > '~')
			return md_fail(why, "cipher has unprintable characters",
				       -EINVAL);
	return 0;
}

/*
 * The re-encryption rules, once the layout is known to be sound: the
 * incompat flag and the property come together, the old key differs from
 * the new one, and boundary and journal window lie in the data area on
 * whole encryption sectors.  Without the property the fields are ignored
 * (encode writes nothing for them; decode leaves them zero).
 */
static int md_check_reencrypt(const struct veil_md *md, const char **why)
{
	bool flag = md->incompat_flags & VEIL_MD_INCOMPAT_REENCRYPT;
	u64 spc = md->sector_size / MD_SECTOR;

	if (md->reencrypting && !flag)
		return md_fail(why, "reencrypt property without the incompat flag",
			       -EINVAL);
	if (!md->reencrypting && flag)
		return md_fail(why, "re-encryption incompat flag without the reencrypt property",
			       -EINVAL);
	if (!md->reencrypting)
		return 0;
	if (!md->key_id_len)
		return md_fail(why, "re-encryption without a key-id", -EINVAL);
	if (!md->old_key_id_len || md->old_key_id_len > VEIL_KEY_ID_MAX)
		return md_fail(why, "old key-id length out of range", -EINVAL);
	if (md->old_key_id_len == md->key_id_len &&
	    !memcmp(md->old_key_id, md->key_id, md->key_id_len))
		return md_fail(why, "old key-id equals key-id", -EINVAL);
	if (md->reenc_boundary > md->data_sectors)
		return md_fail(why, "re-encryption boundary beyond the data area",
			       -EINVAL);
	if (md->reenc_boundary % spc)
		return md_fail(why, "re-encryption boundary not aligned to sector_size",
			       -EINVAL);
	if (md->reenc_window > VEIL_MD_JOURNAL_SECTORS)
		return md_fail(why, "journal window too long", -EINVAL);
	if (md->reenc_window % spc)
		return md_fail(why, "journal window not aligned to sector_size",
			       -EINVAL);
	/* boundary <= data_sectors: the subtraction cannot wrap */
	if (md->reenc_window > md->data_sectors - md->reenc_boundary)
		return md_fail(why, "journal window runs past the data area",
			       -EINVAL);
	if (!md->reenc_window && md->reenc_journal_csum)
		return md_fail(why, "journal checksum set without a window",
			       -EINVAL);
	return 0;
}

/* Every rule that concerns the decoded values; shared by decode/encode. */
static int md_validate(const struct veil_md *md, const char **why)
{
	const char *nul;
	const u8 *c;
	int err;

	if (md->incompat_flags & ~VEIL_MD_INCOMPAT_KNOWN)
		return md_fail(why, "unknown incompat flags", -EOPNOTSUPP);
	if (md->copy != VEIL_MD_COPY_PRIMARY &&
	    md->copy != VEIL_MD_COPY_ALTERNATE)
		return md_fail(why, "copy index not 0 or 1", -EINVAL);
	err = md_check_cipher(md->cipher, why);
	if (err)
		return err;
	if (md->key_bytes > VEIL_KEY_MAX)
		return md_fail(why, "key_bytes too large", -EINVAL);
	if (md->key_id_len > VEIL_KEY_ID_MAX)
		return md_fail(why, "key-id length out of range", -EINVAL);
	if (md->key_id_len && (!md->cipher[0] || !md->key_bytes))
		return md_fail(why, "key-id set but no cipher or key_bytes",
			       -EINVAL);
	nul = memchr(md->label, '\0', sizeof(md->label));
	if (!nul)
		return md_fail(why, "label not NUL-terminated", -EINVAL);
	for (c = (const u8 *)md->label; c < (const u8 *)nul; c++)
		if (*c < ' ' || *c == 0x7f)
			return md_fail(why, "label has control characters",
				       -EINVAL);
	nul = memchr(md->key_hint, '\0', sizeof(md->key_hint));
	if (!nul)
		return md_fail(why, "key-hint not NUL-terminated", -EINVAL);
	if (md->key_hint[0] && !veil_md_key_hint_ok(md->key_hint))
		return md_fail(why, "key-hint not printable ASCII without spaces",
			       -EINVAL);
	if (md->key_hint[0] && !md->key_id_len)
		return md_fail(why, "key-hint set but no key-id", -EINVAL);
	if (md->extra_len > VEIL_MD_PROPS_MAX)
		return md_fail(why, "extra properties too long", -EINVAL);
	err = md_walk_props(md->extra, md->extra_len, NULL, why);
	if (err)
		return err;
	err = veil_md_check_layout(md, md->lu_sectors, why);
	if (err)
		return err;
	return md_check_reencrypt(md, why);
}

/* ------------------------------------------------------------- decode --- */

int veil_md_decode(const void *block, size_t len, struct veil_md *md,
		   const char **why)
{
	const struct veil_md_header *h = block;
	const u8 *b = block;
	u32 props_len;
	int err;

	if (len < VEIL_MD_HEADER_SIZE)
		return md_fail(why, "block shorter than the header", -EINVAL);
	if (memcmp(h->magic, VEIL_MD_MAGIC, VEIL_MD_MAGIC_LEN))
		return md_fail(why, "bad magic", -ENODATA);
	if (le16_to_cpu(h->version) != VEIL_MD_VERSION)
		return md_fail(why, "unsupported format version", -EOPNOTSUPP);
	if (le16_to_cpu(h->header_size) != VEIL_MD_HEADER_SIZE)
		return md_fail(why, "header_size is not 512", -EINVAL);
	props_len = le32_to_cpu(h->props_len);
	if (props_len > VEIL_MD_PROPS_MAX)
		return md_fail(why, "props_len exceeds 3584", -EINVAL);
	if (props_len > len - VEIL_MD_HEADER_SIZE)
		return md_fail(why, "props_len exceeds the buffer", -EINVAL);
	if (le32_to_cpu(h->csum) != veil_md_csum(block, props_len))
		return md_fail(why, "checksum mismatch", -EBADMSG);
	if (props_len % VEIL_MD_PROP_ALIGN)
		return md_fail(why, "props_len not a multiple of 8", -EINVAL);
	if (!md_is_zero(h->reserved, sizeof(h->reserved)))
		return md_fail(why, "reserved header bytes not zero", -EINVAL);
	if (!memchr(h->cipher, '\0', VEIL_CIPHER_MAX))
		return md_fail(why, "cipher not NUL-terminated", -EINVAL);
	if (!md_is_zero((const u8 *)h->cipher + strlen(h->cipher),
			VEIL_CIPHER_MAX - strlen(h->cipher)))
		return md_fail(why, "cipher padding not zero", -EINVAL);

	memset(md, 0, sizeof(*md));
	md->seqno = le64_to_cpu(h->seqno);
	md->incompat_flags = le32_to_cpu(h->incompat_flags);
	md->compat_flags = le32_to_cpu(h->compat_flags);
	md->lu_sectors = le64_to_cpu(h->lu_sectors);
	md->data_offset = le64_to_cpu(h->data_offset);
	md->data_sectors = le64_to_cpu(h->data_sectors);
	md->sector_size = le32_to_cpu(h->sector_size);
	md->key_bytes = le32_to_cpu(h->key_bytes);
	md->copy = le32_to_cpu(h->copy);
	memcpy(md->uuid, h->uuid, sizeof(md->uuid));
	memcpy(md->cipher, h->cipher, VEIL_CIPHER_MAX);
	if (md->incompat_flags & ~VEIL_MD_INCOMPAT_KNOWN)
		return md_fail(why, "unknown incompat flags", -EOPNOTSUPP);

	err = md_walk_props(b + VEIL_MD_HEADER_SIZE, props_len, md, why);
	if (err)
		return err;
	return md_validate(md, why);
}

int veil_md_decode_at(const void *block, size_t len, u32 copy,
		      u64 lu_sectors, struct veil_md *md, const char **why)
{
	int err = veil_md_decode(block, len, md, why);

	if (err)
		return err;
	if (md->copy != copy)
		return md_fail(why, "copy index does not match its location",
			       -EINVAL);
	return veil_md_check_layout(md, lu_sectors, why);
}

/* ------------------------------------------------------------- encode --- */

static u8 *md_put_prop_hdr(u8 *p, const char *name, u16 flags, u32 value_len)
{
	struct veil_md_prop *ph = (void *)p;
	u32 name_len = strlen(name);

	ph->name_len = cpu_to_le16(name_len);
	ph->flags = cpu_to_le16(flags);
	ph->value_len = cpu_to_le32(value_len);
	memcpy(p + MD_PROP_HDR, name, name_len);
	return p + MD_PROP_HDR + name_len;
}

static u32 md_prop_size(const char *name, u32 value_len)
{
	return md_pad(MD_PROP_HDR + strlen(name) + value_len);
}

int veil_md_encode(const struct veil_md *md, void *block, size_t len,
		   const char **why)
{
	struct veil_md_header *h = block;
	u8 *props = (u8 *)block + VEIL_MD_HEADER_SIZE;
	struct veil_md_range *r;
	struct veil_md_reencrypt *re;
	u32 label_len, hint_len, reenc_len = 0, props_len = 0, i;
	u8 *p;
	int err;

	if (len < VEIL_MD_BLOCK_SIZE)
		return md_fail(why, "buffer smaller than a metadata block",
			       -EINVAL);
	err = md_validate(md, why);
	if (err)
		return err;
	label_len = strlen(md->label);
	hint_len = strlen(md->key_hint);
	if (md->key_id_len)
		props_len += md_prop_size(VEIL_MD_PROP_KEY_ID, md->key_id_len);
	if (md->n_plaintext)
		props_len += md_prop_size(VEIL_MD_PROP_PLAINTEXT,
					  md->n_plaintext * MD_RANGE_SIZE);
	if (label_len)
		props_len += md_prop_size(VEIL_MD_PROP_LABEL, label_len);
	if (hint_len)
		props_len += md_prop_size(VEIL_MD_PROP_KEY_HINT, hint_len);
	if (md->reencrypting) {
		reenc_len = MD_REENC_SIZE + md->old_key_id_len;
		props_len += md_prop_size(VEIL_MD_PROP_REENCRYPT, reenc_len);
	}
	if (md->extra_len > VEIL_MD_PROPS_MAX - props_len)
		return md_fail(why, "properties do not fit in the block",
			       -ENOSPC);
	props_len += md->extra_len;

	memset(block, 0, VEIL_MD_BLOCK_SIZE);
	memcpy(h->magic, VEIL_MD_MAGIC, VEIL_MD_MAGIC_LEN);
	h->version = cpu_to_le16(VEIL_MD_VERSION);
	h->header_size = cpu_to_le16(VEIL_MD_HEADER_SIZE);
	h->seqno = cpu_to_le64(md->seqno);
	h->incompat_flags = cpu_to_le32(md->incompat_flags);
	h->compat_flags = cpu_to_le32(md->compat_flags);
	h->lu_sectors = cpu_to_le64(md->lu_sectors);
	h->data_offset = cpu_to_le64(md->data_offset);
	h->data_sectors = cpu_to_le64(md->data_sectors);
	h->sector_size = cpu_to_le32(md->sector_size);
	h->props_len = cpu_to_le32(props_len);
	h->key_bytes = cpu_to_le32(md->key_bytes);
	h->copy = cpu_to_le32(md->copy);
	memcpy(h->uuid, md->uuid, sizeof(h->uuid));
	memcpy(h->cipher, md->cipher, strlen(md->cipher));

	p = props;
	if (md->key_id_len) {
		memcpy(md_put_prop_hdr(p, VEIL_MD_PROP_KEY_ID,
				       VEIL_MD_PROP_REQUIRED, md->key_id_len),
		       md->key_id, md->key_id_len);
		p += md_prop_size(VEIL_MD_PROP_KEY_ID, md->key_id_len);
	}
	if (md->n_plaintext) {
		r = (void *)md_put_prop_hdr(p, VEIL_MD_PROP_PLAINTEXT,
					    VEIL_MD_PROP_REQUIRED,
					    md->n_plaintext * MD_RANGE_SIZE);
		for (i = 0; i < md->n_plaintext; i++) {
			r[i].start = cpu_to_le64(md->plaintext[i].start);
			r[i].len = cpu_to_le64(md->plaintext[i].len);
		}
		p += md_prop_size(VEIL_MD_PROP_PLAINTEXT,
				  md->n_plaintext * MD_RANGE_SIZE);
	}
	if (label_len) {
		memcpy(md_put_prop_hdr(p, VEIL_MD_PROP_LABEL, 0, label_len),
		       md->label, label_len);
		p += md_prop_size(VEIL_MD_PROP_LABEL, label_len);
	}
	if (hint_len) {
		memcpy(md_put_prop_hdr(p, VEIL_MD_PROP_KEY_HINT, 0, hint_len),
		       md->key_hint, hint_len);
		p += md_prop_size(VEIL_MD_PROP_KEY_HINT, hint_len);
	}
	if (reenc_len) {
		re = (void *)md_put_prop_hdr(p, VEIL_MD_PROP_REENCRYPT,
					     VEIL_MD_PROP_REQUIRED, reenc_len);
		re->boundary = cpu_to_le64(md->reenc_boundary);
		re->window = cpu_to_le64(md->reenc_window);
		re->journal_csum = cpu_to_le32(md->reenc_journal_csum);
		re->old_key_id_len = cpu_to_le32(md->old_key_id_len);
		memcpy((u8 *)re + MD_REENC_SIZE, md->old_key_id,
		       md->old_key_id_len);
		p += md_prop_size(VEIL_MD_PROP_REENCRYPT, reenc_len);
	}
	memcpy(p, md->extra, md->extra_len);

	h->csum = cpu_to_le32(veil_md_csum(block, props_len));
	return 0;
}

/* ---------------------------------------------------------- selection --- */

int veil_md_pick(const struct veil_md *p, int p_err,
		 const struct veil_md *a, int a_err)
{
	if (!p_err && !a_err)
		return a->seqno > p->seqno ? VEIL_MD_COPY_ALTERNATE :
					     VEIL_MD_COPY_PRIMARY;
	if (!p_err)
		return VEIL_MD_COPY_PRIMARY;
	if (!a_err)
		return VEIL_MD_COPY_ALTERNATE;
	if (p_err == -EOPNOTSUPP || a_err == -EOPNOTSUPP)
		return -EOPNOTSUPP;
	if (p_err == -ENODATA && a_err == -ENODATA)
		return -ENODATA;
	return -ENOENT;
}

bool veil_md_key_hint_ok(const char *s)
{
	const char *c;

	for (c = s; *c; c++)
		if (*c <= ' ' || (unsigned char)*c >= 0x7f)
			return false;
	return c > s && c - s < VEIL_KEY_HINT_MAX;
}

bool veil_md_is_plaintext(const struct veil_md *md, u64 sector,
			  u64 nr_sectors, bool *partial)
{
	u64 end, covered = 0, lo, hi;
	u32 i;

	if (partial)
		*partial = false;
	if (!nr_sectors)
		return false;
	/* Clamp a range that would wrap: nothing lies beyond U64_MAX. */
	end = sector + nr_sectors < sector ? ~0ull : sector + nr_sectors;
	for (i = 0; i < md->n_plaintext && i < VEIL_MD_PLAINTEXT_MAX; i++) {
		const struct veil_md_extent *r = &md->plaintext[i];

		if (r->start >= end)
			break;		/* sorted: nothing further overlaps */
		lo = r->start > sector ? r->start : sector;
		hi = r->start + r->len < end ? r->start + r->len : end;
		if (hi > lo)
			covered += hi - lo;
	}
	if (covered == end - sector)
		return true;
	if (covered && partial)
		*partial = true;
	return false;
}

int veil_md_cipher_split(const char *spec, struct veil_md_cipher_spec *s,
			 const char **why)
{
	char buf[VEIL_CIPHER_MAX];
	char *rest = buf, *cipher, *chain, *iv;
	size_t len = strlen(spec), i;
	bool ecb, has_iv;

	memset(s, 0, sizeof(*s));
	if (!len || len >= sizeof(buf)) {
		*why = "cipher spec empty or longer than 63 bytes";
		return -EINVAL;
	}
	memcpy(buf, spec, len + 1);
	if (strchr(buf, ':')) {
		*why = "IV options (\":...\") are not supported";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			*why = "cipher spec has spaces or non-ASCII bytes";
			return -EINVAL;
		}
	}
	cipher = strsep(&rest, "-");
	chain = strsep(&rest, "-");
	iv = strsep(&rest, "-");
	if (!*cipher || !chain || !*chain || rest || (iv && !*iv)) {
		*why = "cipher spec is not <cipher>-<chainmode>[-<ivmode>]";
		return -EINVAL;
	}
	if (iv && strcmp(iv, "plain64") && strcmp(iv, "plain") &&
	    strcmp(iv, "null")) {
		*why = "unsupported IV mode (supported: plain64, plain, or none with ecb)";
		return -EINVAL;
	}
	ecb = !strcmp(chain, "ecb");
	has_iv = iv && strcmp(iv, "null");
	if (ecb == has_iv) {
		*why = "ecb takes no IV mode and every other chaining mode needs one";
		return -EINVAL;
	}
	memcpy(s->cipher, cipher, strlen(cipher) + 1);
	memcpy(s->chain, chain, strlen(chain) + 1);
	if (iv)
		memcpy(s->iv, iv, strlen(iv) + 1);
	return 0;
}
