// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: reading the metadata of an LU.
 *
 * Both copies are read straight from the underlying device (never through
 * the page cache, so a copy rewritten by veilctl is seen at once), decoded
 * and checked by the shared codec, and the codec picks the copy to use.
 * The kernel never writes metadata: repairing a bad copy is veilctl's job.
 */
#include <linux/blkdev.h>
#include <linux/gfp.h>

#include "dm-veil.h"

static int vdm_read_block(struct block_device *bdev, sector_t sector,
			  struct page *page)
{
	struct bio_vec bvec;
	struct bio bio;
	int r;

	bio_init(&bio, bdev, &bvec, 1, REQ_OP_READ | REQ_META | REQ_SYNC);
	bio.bi_iter.bi_sector = sector;
	__bio_add_page(&bio, page, VEIL_MD_BLOCK_SIZE, 0);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

/* Read and decode the copy in @slot into @md; returns the codec's verdict. */
static int vdm_read_copy(struct vdm_c *vc, u32 slot, struct page *page,
			 struct veil_md *md, const char **why)
{
	sector_t where = 0;
	int r;

	if (slot == VEIL_MD_COPY_ALTERNATE) {
		if (vc->lu_sectors < 2 * VEIL_MD_AREA_SECTORS) {
			*why = "device too small for metadata";
			return -ENODATA;
		}
		where = veil_md_alt_offset(vc->lu_sectors);
	}
	r = vdm_read_block(vc->dev->bdev, where, page);
	if (r) {
		*why = "read error";
		return -EIO;
	}
	return veil_md_decode_at(page_address(page), VEIL_MD_BLOCK_SIZE, slot,
				 vc->lu_sectors, md, why);
}

/*
 * Load the metadata of the LU into @md.  Returns 0 (@md valid), -ENODATA
 * (neither copy holds veil metadata: a never-formatted LU), -EOPNOTSUPP
 * (written by a newer veil) or another error (metadata present but no copy
 * is usable, or unreadable), with *why saying what was wrong.
 */
int vdm_md_load(struct vdm_c *vc, struct veil_md *md, const char **why)
{
	const char *dev = vc->name;
	const char *pwhy = "", *awhy = "";
	struct veil_md *alt;
	struct page *page;
	int perr, aerr, pick;

	vc->lu_sectors = bdev_nr_sectors(vc->dev->bdev);

	alt = kmalloc(sizeof(*alt), GFP_KERNEL);
	page = alloc_page(GFP_KERNEL);
	if (!alt || !page) {
		pick = -ENOMEM;
		*why = "out of memory reading metadata";
		goto out;
	}

	perr = vdm_read_copy(vc, VEIL_MD_COPY_PRIMARY, page, md, &pwhy);
	aerr = vdm_read_copy(vc, VEIL_MD_COPY_ALTERNATE, page, alt, &awhy);
	pick = veil_md_pick(md, perr, alt, aerr);

	switch (pick) {
	case VEIL_MD_COPY_PRIMARY:
		if (aerr && aerr != -ENODATA)
			DMWARN("%s: alternate metadata copy unusable (%s); using the primary",
			       dev, awhy);
		else if (aerr)
			DMWARN("%s: no alternate metadata copy; using the primary",
			       dev);
		pick = 0;
		break;
	case VEIL_MD_COPY_ALTERNATE:
		if (perr)
			DMWARN("%s: primary metadata copy unusable (%s); using the alternate",
			       dev, pwhy);
		memcpy(md, alt, sizeof(*md));
		pick = 0;
		break;
	case -ENODATA:
		*why = "no veil metadata on the device";
		break;
	case -EOPNOTSUPP:
		*why = (perr == -EOPNOTSUPP) ? pwhy : awhy;
		DMERR("%s: metadata written by a newer veil: %s", dev, *why);
		break;
	default:
		*why = (perr && perr != -ENODATA) ? pwhy : awhy;
		DMERR("%s: no usable metadata copy: primary: %s; alternate: %s",
		      dev, perr ? pwhy : "ok", aerr ? awhy : "ok");
		pick = -EBADMSG;
		break;
	}
out:
	if (page)
		__free_page(page);
	kfree(alt);
	return pick;
}

/*
 * Data-area sectors below this use the key of the key-id: all of them,
 * unless a re-encryption is in progress.
 */
static u64 vdm_md_boundary(const struct veil_md *md)
{
	return md->reencrypting ? md->reenc_boundary : md->data_sectors;
}

/* Cipher of @md, when it has a key-id; logs and returns an error if unusable. */
static int vdm_md_cipher(struct vdm_c *vc, const struct veil_md *md,
			 struct vdm_cipher *c)
{
	const char *why;
	int r;

	memset(c, 0, sizeof(*c));
	if (!md->key_id_len)
		return 0;
	if (!md->key_bytes || md->key_bytes > VEIL_KEY_MAX) {
		DMERR("%s: metadata key size %u is out of range",
		      vc->name, md->key_bytes);
		return -EINVAL;
	}
	r = vdm_cipher_parse(md->cipher, c, &why);
	if (r)
		DMERR("%s: cipher \"%s\" in metadata: %s", vc->name,
		      md->cipher, why);
	return r;
}

/*
 * Constructor: read the metadata and set the layout and the state (the key
 * request, if any, is posted by the caller).  Returns 0 or an error with
 * ti->error set.
 *
 * - Valid metadata: its data area, state unencrypted or waiting-for-key.
 * - No metadata at all (neither copy has the magic): the brief's "valid
 *   metadata (or none) without a key-id", i.e. unencrypted, and with no
 *   metadata there is nothing to hide, so the data area is the whole LU at
 *   offset 0 (like dm-linear).  A later "update" that finds metadata moves
 *   the device to unknown until the table is reloaded with the new layout.
 * - Metadata present but no valid copy (torn, corrupt, unreadable): state
 *   unknown.  The data area is not known, so every data bio fails; the
 *   table may be as long as the largest data area the LU could hold, and
 *   4096-byte blocks are advertised so that an "update" after repair can
 *   adopt either sector size without a reload.
 * - Written by a newer veil (unknown version, required flag or property):
 *   refused, as the format says.
 */
int vdm_md_setup(struct vdm_c *vc)
{
	struct dm_target *ti = vc->ti;
	enum vdm_event ev = VEIL_EV_MD_BAD;
	struct vdm_key *old;
	struct veil_md *md;
	const char *why = "";
	u64 max_data;
	int r;

	md = kmalloc(sizeof(*md), GFP_KERNEL);
	if (!md) {
		ti->error = "Cannot allocate metadata";
		return -ENOMEM;
	}
	r = vdm_md_load(vc, md, &why);
	switch (r) {
	case 0:
		if (ti->len > md->data_sectors) {
			DMERR("%s: table length %llu > data area %llu sectors",
			      vc->name, (unsigned long long)ti->len,
			      md->data_sectors);
			ti->error = "Table is longer than the data area recorded in the metadata";
			r = -EINVAL;
			break;
		}
		if (md->reencrypting && md->reenc_window) {
			DMERR("%s: re-encryption window of %llu sectors journaled",
			      vc->name, md->reenc_window);
			ti->error = "Re-encryption window journaled: recover it (veilctl attach)";
			r = -EINVAL;
			break;
		}
		r = vdm_md_cipher(vc, md, &vc->cipher);
		if (r) {
			ti->error = "Unsupported cipher or key size in the metadata";
			break;
		}
		vc->boundary = vdm_md_boundary(md);
		vc->layout.known = true;
		vc->layout.data_offset = md->data_offset;
		vc->layout.data_sectors = md->data_sectors;
		vc->layout.sector_size = md->sector_size;
		ev = md->key_id_len ? VEIL_EV_MD_KEYED : VEIL_EV_MD_PLAIN;
		why = NULL;
		vc->md = md;
		md = NULL;
		break;
	case -ENODATA:
		if (ti->len > vc->lu_sectors) {
			ti->error = "Table is longer than the device";
			r = -EINVAL;
			break;
		}
		DMINFO("%s: no veil metadata: whole device passed through unencrypted",
		       vc->name);
		vc->layout.known = true;
		vc->layout.data_offset = 0;
		vc->layout.data_sectors = vc->lu_sectors;
		vc->layout.sector_size = SECTOR_SIZE;
		ev = VEIL_EV_MD_PLAIN;
		why = NULL;
		r = 0;
		break;
	case -EOPNOTSUPP:
		ti->error = "Metadata was written by a newer veil";
		break;
	case -ENOMEM:
		ti->error = "Cannot allocate memory to read metadata";
		break;
	default:
		max_data = vc->lu_sectors > 2 * VEIL_MD_AREA_SECTORS ?
			   vc->lu_sectors - 2 * VEIL_MD_AREA_SECTORS : 0;
		if (ti->len > max_data) {
			ti->error = "Metadata unreadable and table too long for any data area";
			r = -EINVAL;
			break;
		}
		DMWARN("%s: metadata unusable (%s): state unknown",
		       vc->name, why);
		vc->layout.known = false;
		vc->layout.data_offset = VEIL_MD_AREA_SECTORS;
		vc->layout.data_sectors = max_data;
		vc->layout.sector_size = 4096;
		r = 0;
		break;
	}
	if (!r) {
		/* No bio and no request yet: this only sets the first state. */
		spin_lock_irq(&vc->lock);
		vdm_transition(vc, ev, NULL, why, &old);
		spin_unlock_irq(&vc->lock);
	}
	vc->io_block = vc->layout.known ? vc->layout.sector_size : 4096;
	kfree(md);
	return r;
}

/* Can the live table switch to the layout of @md? */
static const char *vdm_layout_change(struct vdm_c *vc,
				     const struct veil_md *md)
{
	const struct vdm_layout *l = &vc->layout;

	if (md->data_sectors < vc->ti->len)
		return "data area now shorter than the table; reload the table";
	if (!l->known) {
		if (md->sector_size > vc->io_block ||
		    md->data_offset & ((vc->io_block >> SECTOR_SHIFT) - 1))
			return "sector size does not suit the table; reload the table";
		return NULL;
	}
	if (md->data_offset != l->data_offset ||
	    md->sector_size != l->sector_size)
		return "metadata layout changed; reload the table";
	return NULL;
}

/*
 * Can a table that holds the key(s) of @a go on with @b?  The key-id must
 * be the same; a re-encryption in @b needs the same old key-id in @a (a
 * re-encryption that ended needs no more than the new key).
 */
static bool vdm_same_key(const struct veil_md *a, const struct veil_md *b)
{
	if (b->reencrypting &&
	    (!a->reencrypting || a->old_key_id_len != b->old_key_id_len ||
	     memcmp(a->old_key_id, b->old_key_id, b->old_key_id_len)))
		return false;
	return a->key_id_len == b->key_id_len &&
	       !memcmp(a->key_id, b->key_id, a->key_id_len) &&
	       a->key_bytes == b->key_bytes &&
	       !strncmp(a->cipher, b->cipher, VEIL_CIPHER_MAX);
}

/*
 * "update": re-read the metadata (veilctl after changing it, or after the
 * LU was resynced from a replica).
 *   same key-id, cipher and key size: the new metadata (plaintext ranges,
 *     label) is taken and the key, or the pending request, is kept; in
 *     no-key the key is requested again (waiting-for-key), as by "retry";
 *   another key-id: the key is dropped, the old request cancelled and a new
 *     one posted (waiting-for-key); no key-id any more: unencrypted;
 *   invalid, unreadable or gone, or a layout the live table cannot follow:
 *     unknown, the key dropped, the last good metadata kept so plaintext
 *     ranges stay readable; the message then fails with EIO.
 */
int vdm_msg_update(struct vdm_c *vc)
{
	struct veil_md *md, *old = NULL;
	struct vdm_key *oldkey, *spare, *oldspare, *ospare, *oldospare;
	const char *why = "";
	enum vdm_event ev;
	struct vdm_cipher c;
	int r;

	md = kmalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return -ENOMEM;

	mutex_lock(&vc->ctl_lock);
	if (READ_ONCE(vc->win_len)) {
		DMWARN("%s: update: refused during a re-encryption step",
		       vc->name);
		r = -EBUSY;
		goto out;
	}
	r = vdm_md_load(vc, md, &why);
	if (r == -ENOMEM)
		goto out;
	if (r == -ENODATA && vc->layout.known && !vc->md)
		goto out_ok;	/* still never formatted */
	if (r) {
		vdm_key_event(vc, VEIL_EV_MD_BAD, why);
		r = -EIO;
		goto out;
	}
	why = vdm_layout_change(vc, md);
	if (!why && md->reencrypting && md->reenc_window)
		why = "a re-encryption window is journaled; recover it first";
	if (!why && vdm_md_cipher(vc, md, &c))
		why = "unsupported cipher or key size in the metadata";
	if (why) {
		DMWARN("%s: update: %s", vc->name, why);
		vdm_key_event(vc, VEIL_EV_MD_BAD, why);
		r = -EIO;
		goto out;
	}

	if (vc->md && READ_ONCE(vc->state) != VEIL_STATE_UNKNOWN &&
	    vdm_same_key(vc->md, md)) {
		/* Same key: take the new metadata, keep key and request. */
		spin_lock_irq(&vc->lock);
		old = vc->md;
		vc->md = md;
		vc->boundary = vdm_md_boundary(md);
		spin_unlock_irq(&vc->lock);
		md = old;
		/*
		 * ...but a device left without its key (the key manager was
		 * down, or refused) asks again, as "retry" does: re-reading
		 * the metadata is how an administrator says "try now".
		 */
		if (READ_ONCE(vc->state) == VEIL_STATE_NO_KEY) {
			DMINFO("%s: update: no key yet, asking again",
			       vc->name);
			vdm_key_event(vc, VEIL_EV_ASK, NULL);
		}
		goto out_ok;
	}

	/*
	 * Another key (or none): nothing of the old one may survive.  The
	 * old request is cancelled first (so its callback cannot see the new
	 * metadata), then metadata and state change in one step, so no bio
	 * is ever handled with the old key under the new metadata.
	 */
	spare = NULL;
	ospare = NULL;
	if (md->key_id_len) {
		spare = vdm_spare_alloc(vc, &c, md->sector_size);
		if (md->reencrypting)
			ospare = vdm_spare_alloc(vc, &c, md->sector_size);
		if (!spare || (md->reencrypting && !ospare)) {
			vdm_key_put(spare);
			vdm_key_put(ospare);
			r = -ENOMEM;
			goto out;
		}
	}
	vdm_cancel_request(vc);
	ev = md->key_id_len ? VEIL_EV_MD_KEYED : VEIL_EV_MD_PLAIN;
	spin_lock_irq(&vc->lock);
	old = vc->md;
	oldspare = vc->spare;
	vc->spare = spare;
	oldospare = vc->old_spare;
	vc->old_spare = ospare;
	vc->md = md;
	vc->boundary = vdm_md_boundary(md);
	vc->cipher = c;
	vc->layout.known = true;
	vc->layout.data_offset = md->data_offset;
	vc->layout.data_sectors = md->data_sectors;
	vc->layout.sector_size = md->sector_size;
	vdm_transition(vc, ev, NULL, NULL, &oldkey);
	spin_unlock_irq(&vc->lock);
	vdm_key_drop(oldkey);
	vdm_key_put(oldspare);
	vdm_key_put(oldospare);
	if (md->reencrypting)
		DMINFO("%s: update: re-encrypting, waiting for the new and the old key",
		       vc->name);
	else if (md->key_id_len)
		DMINFO("%s: update: new key-id, waiting for its key",
		       vc->name);
	else
		DMINFO("%s: update: no key-id, unencrypted", vc->name);
	vdm_post_request(vc);
	md = old;
out_ok:
	r = 0;
out:
	mutex_unlock(&vc->ctl_lock);
	kfree(md);
	return r;
}
