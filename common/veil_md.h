/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The eVLU metadata codec, shared by dm-veil.ko and libveil.
 *
 * The format is specified in docs/format.md; the on-disk structs and
 * constants are in include/uapi/linux/veil.h.  This codec only converts
 * between one VEIL_MD_BLOCK_SIZE block and struct veil_md and checks every
 * rule of the format.  It never allocates, never sleeps, and keeps no state:
 * callers own all buffers (struct veil_md is several KiB: kernel callers
 * kmalloc it, never put it on the stack).
 *
 * Errors.  Every function that can fail returns 0 or a negative errno and,
 * if why is not NULL, sets *why to a static sentence naming the problem
 * ("checksum mismatch", "plaintext ranges overlap").  The errno tells the
 * caller what kind of problem it is:
 *
 *   -ENODATA     no veil metadata in this block (bad magic): e.g. a blank or
 *                never-formatted LU.
 *   -EBADMSG     magic present but the checksum does not match: torn write
 *                or media damage.
 *   -EINVAL      checksum good but a field breaks a rule of the format (or,
 *                for encode, struct veil_md is not encodable).
 *   -EOPNOTSUPP  well-formed but written by a newer veil: other version,
 *                unknown incompat flag, or unknown required property.
 */
#ifndef _VEIL_MD_H
#define _VEIL_MD_H

#include "veil_port.h"
#include <linux/veil.h>

/* A plaintext range in 512-byte sectors relative to the data area. */
struct veil_md_extent {
	u64 start;
	u64 len;
};

/* The decoded contents of one metadata copy, in CPU byte order. */
struct veil_md {
	u64 seqno;
	u64 lu_sectors;		/* LU size when the copy was written */
	u64 data_offset;	/* sectors from the start of the LU */
	u64 data_sectors;
	u32 sector_size;	/* 512 or 4096 */
	u32 key_bytes;		/* key size the cipher takes, 0 if unencrypted */
	u32 copy;		/* VEIL_MD_COPY_*: which slot this copy was for */
	u32 incompat_flags;
	u32 compat_flags;	/* unknown bits are kept on re-encode */
	u8 uuid[16];
	char cipher[VEIL_CIPHER_MAX];		/* NUL-terminated, "" if none */
	u32 key_id_len;				/* 0: no key-id, unencrypted */
	u8 key_id[VEIL_KEY_ID_MAX];
	u32 n_plaintext;
	struct veil_md_extent plaintext[VEIL_MD_PLAINTEXT_MAX]; /* sorted */
	char label[VEIL_MD_LABEL_MAX + 1];	/* NUL-terminated, "" if none */
	char key_hint[VEIL_KEY_HINT_MAX];	/* NUL-terminated, "" if none */
	/*
	 * A re-encryption in progress (incompat flag REENCRYPT and the
	 * reencrypt property): data-area sectors below reenc_boundary use
	 * key_id, the rest old_key_id; reenc_window sectors from the
	 * boundary are journaled (see struct veil_md_reencrypt), the
	 * journal's CRC-32C in reenc_journal_csum.  reencrypting must agree
	 * with the REENCRYPT bit of incompat_flags.  Decode leaves the other
	 * fields zero when not re-encrypting, and encode ignores them then.
	 */
	bool reencrypting;
	u64 reenc_boundary;
	u64 reenc_window;
	u32 reenc_journal_csum;
	u32 old_key_id_len;
	u8 old_key_id[VEIL_KEY_ID_MAX];
	/*
	 * Properties this version does not know (optional ones only), as the
	 * complete on-disk records (struct veil_md_prop, name, value, zero
	 * padding), in the order read.  Encode writes them back verbatim, so
	 * a decode -> change -> encode cycle by an older tool keeps them.
	 */
	u32 extra_len;
	u8 extra[VEIL_MD_PROPS_MAX];
};

/*
 * Decode and fully validate one copy.  len is the size of the buffer at
 * block (normally VEIL_MD_BLOCK_SIZE; at least VEIL_MD_HEADER_SIZE plus the
 * header's props_len).  The layout is checked against the lu_sectors
 * recorded in the header; see veil_md_decode_at() for the check against the
 * real LU.  On error *md is left partly filled and must not be used.
 */
int veil_md_decode(const void *block, size_t len, struct veil_md *md,
		   const char **why);

/*
 * What a reader of a device calls for each copy: veil_md_decode(), then
 * check that the copy says it belongs in slot @copy (VEIL_MD_COPY_*) and
 * that its layout fits an LU of @lu_sectors (the real, current size).
 * A mismatch is -EINVAL.
 */
int veil_md_decode_at(const void *block, size_t len, u32 copy,
		      u64 lu_sectors, struct veil_md *md, const char **why);

/*
 * Validate @md and encode it into block[0..len), len >= VEIL_MD_BLOCK_SIZE.
 * Exactly VEIL_MD_BLOCK_SIZE bytes are written: header, properties, zeros.
 * md->copy selects the slot recorded in the header.  Properties are written
 * in a fixed order: key-id, plaintext, label, key-hint, reencrypt, then
 * md->extra.
 */
int veil_md_encode(const struct veil_md *md, void *block, size_t len,
		   const char **why);

/*
 * Check the layout of @md against an LU of @lu_sectors: both metadata
 * areas fit, the data area lies between them, offsets and lengths are
 * multiples of sector_size, and every plaintext range lies inside the data
 * area.  Returns 0 or -EINVAL.
 */
int veil_md_check_layout(const struct veil_md *md, u64 lu_sectors,
			 const char **why);

/*
 * Fill @md with the standard layout for an LU of @lu_sectors (data area
 * between the two metadata areas, rounded down to sector_size) and no
 * properties.  Returns -EINVAL if the LU is too small or sector_size is
 * not 512 or 4096.
 */
int veil_md_init(struct veil_md *md, u64 lu_sectors, u32 sector_size,
		 const char **why);

/*
 * Choose the copy to use, given the results of veil_md_decode_at() for the
 * primary (p, p_err) and the alternate (a, a_err).  Returns
 *   VEIL_MD_COPY_PRIMARY or VEIL_MD_COPY_ALTERNATE: the valid copy with the
 *                  higher seqno (the primary on a tie);
 *   -EOPNOTSUPP    no valid copy, and at least one was written by a newer
 *                  veil (the caller should say "upgrade", not "corrupt");
 *   -ENODATA       neither block holds veil metadata (never formatted);
 *   -ENOENT        metadata present but no copy is valid.
 * A copy whose err is nonzero is never looked at.  A copy from a newer veil
 * next to a valid one counts as invalid, as a torn write would: the valid
 * copy is the state from before the interrupted update.
 */
int veil_md_pick(const struct veil_md *p, int p_err,
		 const struct veil_md *a, int a_err);

/* First sector of the metadata area of the alternate copy. */
static inline u64 veil_md_alt_offset(u64 lu_sectors)
{
	return lu_sectors - VEIL_MD_AREA_SECTORS;
}

/*
 * Can @s be a key-hint: 1..VEIL_KEY_HINT_MAX - 1 bytes of printable ASCII
 * without spaces (0x21..0x7e)?
 */
bool veil_md_key_hint_ok(const char *s);

/*
 * For the dm target: is [sector, sector + nr_sectors) (data-area relative)
 * entirely inside plaintext ranges?  *partial (if not NULL) is set when
 * the range is partly plaintext and partly not, i.e. it straddles a range
 * boundary and must be split.  An empty range is not plaintext.
 */
bool veil_md_is_plaintext(const struct veil_md *md, u64 sector,
			  u64 nr_sectors, bool *partial);

/*
 * A cipher spec split into its parts: "<cipher>-<chainmode>[-<ivmode>]"
 * as dm-crypt writes it, without IV options (":...").  @iv is "" when the
 * spec names none.
 */
struct veil_md_cipher_spec {
	char cipher[VEIL_CIPHER_MAX];
	char chain[VEIL_CIPHER_MAX];
	char iv[VEIL_CIPHER_MAX];
};

/*
 * The syntax dm-veil accepts for the cipher property: printable ASCII
 * without spaces, three parts at most, an IV mode of plain64, plain or
 * null, and an IV mode exactly when the chaining mode is not ecb ("null"
 * counts as none).  Returns 0, or -EINVAL with *why a sentence.  Whether
 * the algorithm exists is the caller's question (kernel crypto API or
 * /proc/crypto).
 */
int veil_md_cipher_split(const char *spec, struct veil_md_cipher_spec *s,
			 const char **why);

/* Standard CRC-32C (see docs/format.md) of a complete, encoded block. */
u32 veil_md_csum(const void *block, u32 props_len);

/*
 * Standard CRC-32C (docs/format.md section 4: initial value and final XOR
 * 0xFFFFFFFF) of @len bytes at @buf, with the primitive veil_md_csum()
 * uses.  The re-encryption journal's checksum (reenc_journal_csum) is this
 * over reenc_window * 512 bytes.
 */
u32 veil_md_crc32c(const void *buf, size_t len);

#endif /* _VEIL_MD_H */
