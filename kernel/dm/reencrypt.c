// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: online re-encryption, one window at a time.
 *
 * While an LU is being re-encrypted its metadata names two key-ids and a
 * boundary: data-area sectors below the boundary are encrypted with the new
 * key, the rest with the old one.  The device holds both keys (the new key
 * holds the old one as key->prev, keys.c) and the I/O path picks the key
 * per crypto unit from the boundary the bio was mapped with (crypt.c).
 *
 * veilctl moves the boundary up a window at a time.  The kernel never
 * writes metadata and never sees the journal; it only keeps the window's
 * I/O out of the way and rewrites the window, so each step is:
 *
 *   reencrypt_lock S L   hold every new bio touching [S, S+L) (S must be
 *                        the boundary) and wait until every bio mapped
 *                        before has completed;
 *      (veilctl copies the window's ciphertext to the journal and writes
 *       metadata naming it)
 *   reencrypt_convert    read the window from the device, decrypt it with
 *                        the old key, encrypt it with the new one (plaintext
 *                        ranges left alone), write it back with FUA;
 *      (veilctl writes metadata with the boundary at S+L, no journal)
 *   reencrypt_commit E   E = S+L: move the boundary, release the held bios.
 *
 * "reencrypt_unlock" gives up a window that was not converted (if convert
 * failed part-way, veilctl copies the journal back first).  A window stays
 * locked across everything else; held bios wait at most key_timeout, like
 * bios waiting for a key, and suspend treats them alike (state.c).  While
 * a window is locked no other table of the LU can be loaded (share.c) and
 * "update" is refused, so the window's bios cannot slip past the lock.
 *
 * Locking: the messages run under ctl_lock; win_start, win_len and the
 * boundary are written under ctl_lock and vc->lock together, so the I/O
 * path reads them under vc->lock and the control paths under ctl_lock.
 */
#include <linux/blkdev.h>
#include <linux/kstrtox.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "dm-veil.h"

/* Under vc->lock: does [sector, sector + nr) touch the locked window? */
bool vdm_in_window(struct vdm_c *vc, sector_t sector, unsigned int nr)
{
	lockdep_assert_held(&vc->lock);
	return vc->win_len && sector < vc->win_start + vc->win_len &&
	       sector + nr > vc->win_start;
}

/*
 * The device's key pair, with a reference, or NULL if it is not
 * re-encrypting with both keys.
 */
static struct vdm_key *vdm_reenc_key(struct vdm_c *vc)
{
	struct vdm_key *key = NULL;

	spin_lock_irq(&vc->lock);
	if (vc->state == VEIL_STATE_ENCRYPTED && vc->key->prev &&
	    vc->md->reencrypting) {
		key = vc->key;
		kref_get(&key->ref);
	}
	spin_unlock_irq(&vc->lock);
	return key;
}

/* Under ctl_lock: close the window (@end: the new boundary, or 0). */
static void vdm_reenc_close(struct vdm_c *vc, u64 end)
{
	lockdep_assert_held(&vc->ctl_lock);
	spin_lock_irq(&vc->lock);
	if (end)
		vc->boundary = end;
	vc->win_start = 0;
	vc->win_len = 0;
	vdm_release_held(vc);
	spin_unlock_irq(&vc->lock);
	vc->win_converted = false;
	vdm_share_busy(vc->win_key, false);
	vdm_key_put(vc->win_key);
	vc->win_key = NULL;
}

static int vdm_reenc_lock(struct vdm_c *vc, u64 start, u64 len)
{
	u64 mask = (vc->layout.sector_size >> SECTOR_SHIFT) - 1;
	struct vdm_key *key;
	unsigned int old;
	int r;

	lockdep_assert_held(&vc->ctl_lock);
	might_sleep();
	if (vc->win_len)
		return -EBUSY;
	key = vdm_reenc_key(vc);
	if (!key) {
		DMWARN("%s: reencrypt_lock: not re-encrypting with both keys",
		       vc->name);
		return -EINVAL;
	}
	if (start != READ_ONCE(vc->boundary) || !len ||
	    len > VEIL_MD_JOURNAL_SECTORS || (len & mask) ||
	    start + len > vc->layout.data_sectors) {
		/* at the boundary, whole units, 1..1024 sectors, in the area */
		DMWARN("%s: reencrypt_lock %llu %llu: bad window (boundary %llu)",
		       vc->name, start, len, READ_ONCE(vc->boundary));
		vdm_key_put(key);
		return -EINVAL;
	}
	vdm_share_busy(key, true);
	vc->win_key = key;	/* the reference is the window's */

	spin_lock_irq(&vc->lock);
	vc->win_start = start;
	vc->win_len = len;
	old = vc->epoch;
	vc->epoch ^= 1;
	spin_unlock_irq(&vc->lock);
	vc->win_converted = false;

	/* Bios mapped before the window was set may still touch it. */
	r = wait_event_killable(vc->drain_wq,
				!atomic_read(&vc->inflight[old]));
	if (r) {
		vdm_reenc_close(vc, 0);
		return r;
	}
	return 0;
}

/* Build a bio of @b's pages over @bytes at LU sector @sector. */
static void vdm_reenc_bio(struct vdm_c *vc, struct bio *bio,
			  struct bio_vec *bv, struct page **pages,
			  unsigned int npages, blk_opf_t opf, sector_t sector,
			  unsigned int bytes)
{
	unsigned int i;

	bio_init(bio, vc->dev->bdev, bv, npages, opf);
	bio->bi_iter.bi_sector = sector;
	for (i = 0; i < npages; i++)
		__bio_add_page(bio, pages[i],
			       min_t(unsigned int, PAGE_SIZE,
				     bytes - i * PAGE_SIZE), 0);
}

/*
 * Re-encrypt the window in @bio (read, its iterator at the start): each
 * run of units outside the plaintext ranges is decrypted with the old key
 * and encrypted with the new one, in place.
 */
static int vdm_reenc_crypt(struct vdm_c *vc, struct vdm_key *key,
			   struct bio *bio, struct bvec_iter it)
{
	unsigned int spu = key->unit >> SECTOR_SHIFT;	/* sectors per unit */
	u64 sector = vc->win_start, end = vc->win_start + vc->win_len;
	unsigned int cpus = num_online_cpus();
	int r;

	lockdep_assert_held(&vc->ctl_lock);
	while (sector < end) {
		bool plain = veil_md_is_plaintext(vc->md, sector, spu, NULL);
		u64 run = sector;
		unsigned int bytes;

		while (run < end &&
		       veil_md_is_plaintext(vc->md, run, spu, NULL) == plain)
			run += spu;
		bytes = (run - sector) << SECTOR_SHIFT;
		if (!plain) {
			r = vdm_crypt(vc, key->prev, NULL, false, false, cpus,
				      bio, it, bio, it,
				      sector >> key->unit_shift, bytes);
			if (!r)
				r = vdm_crypt(vc, key, NULL, true, false, cpus,
					      bio, it, bio, it,
					      sector >> key->unit_shift,
					      bytes);
			if (r)
				return r;
		}
		bio_advance_iter(bio, &it, bytes);
		sector = run;
	}
	return 0;
}

static int vdm_reenc_convert(struct vdm_c *vc)
{
	unsigned int bytes, npages, i, noio;
	struct page **pages = NULL;
	struct bio_vec *bv = NULL;
	struct bvec_iter it;
	struct vdm_key *key;
	struct bio bio;
	sector_t where;
	int r = -ENOMEM;

	lockdep_assert_held(&vc->ctl_lock);
	might_sleep();
	if (!vc->win_len || vc->win_converted)
		return -EINVAL;
	key = vdm_reenc_key(vc);
	if (!key)
		return -ENOKEY;
	bytes = vc->win_len << SECTOR_SHIFT;
	npages = DIV_ROUND_UP(bytes, PAGE_SIZE);
	where = vc->layout.data_offset + vc->win_start;

	/* The window's bios are held: nothing allocated here may wait on them. */
	noio = memalloc_noio_save();
	pages = kcalloc(npages, sizeof(*pages), GFP_KERNEL);
	bv = kcalloc(npages, sizeof(*bv), GFP_KERNEL);
	if (!pages || !bv)
		goto out;
	for (i = 0; i < npages; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i])
			goto out;
	}

	vdm_reenc_bio(vc, &bio, bv, pages, npages, REQ_OP_READ | REQ_SYNC,
		      where, bytes);
	it = bio.bi_iter;
	r = submit_bio_wait(&bio);
	if (!r)
		r = vdm_reenc_crypt(vc, key, &bio, it);
	bio_uninit(&bio);
	if (r) {
		DMERR("%s: reencrypt_convert: reading or re-encrypting %llu+%llu failed: %d",
		      vc->name, vc->win_start, vc->win_len, r);
		goto out;
	}
	vdm_reenc_bio(vc, &bio, bv, pages, npages,
		      REQ_OP_WRITE | REQ_SYNC | REQ_FUA, where, bytes);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	if (r) {
		DMERR("%s: reencrypt_convert: writing %llu+%llu failed: %d (window may be torn)",
		      vc->name, vc->win_start, vc->win_len, r);
		goto out;
	}
	vc->win_converted = true;
out:
	if (pages)
		for (i = 0; i < npages && pages[i]; i++)
			__free_page(pages[i]);
	kfree(pages);
	kfree(bv);
	memalloc_noio_restore(noio);
	vdm_key_put(key);
	return r;
}

static void vdm_reenc_status(struct vdm_c *vc, char *result,
			     unsigned int maxlen)
{
	unsigned int sz = 0;
	bool pair;

	lockdep_assert_held(&vc->ctl_lock);
	spin_lock_irq(&vc->lock);
	pair = vc->md && vc->md->reencrypting;
	spin_unlock_irq(&vc->lock);
	if (!pair) {
		DMEMIT("none");
		return;
	}
	DMEMIT("boundary=%llu data=%llu window=", vc->boundary,
	       vc->layout.data_sectors);
	if (vc->win_len)
		DMEMIT("%llu+%llu", vc->win_start, vc->win_len);
	else
		DMEMIT("-");
	DMEMIT(" converted=%d", vc->win_converted);
}

/* A sector count argument: plain decimal digits. */
static int vdm_reenc_arg(const char *s, u64 *v)
{
	if (!*s || s[strspn(s, "0123456789")] != '\0')
		return -EINVAL;
	return kstrtou64(s, 10, v);
}

int vdm_reenc_message(struct vdm_c *vc, unsigned int argc, char **argv,
		      char *result, unsigned int maxlen)
{
	const char *cmd = argv[0] + 10;		/* after "reencrypt_" */
	u64 a = 0, b = 0;
	int r = -EINVAL;

	if (argc > 1 && vdm_reenc_arg(argv[1], &a))
		goto bad;
	if (argc > 2 && vdm_reenc_arg(argv[2], &b))
		goto bad;

	mutex_lock(&vc->ctl_lock);
	if (!strcasecmp(cmd, "lock") && argc == 3) {
		r = vdm_reenc_lock(vc, a, b);
	} else if (!strcasecmp(cmd, "convert") && argc == 1) {
		r = vdm_reenc_convert(vc);
	} else if (!strcasecmp(cmd, "commit") && argc == 2) {
		if (!vc->win_len || !vc->win_converted ||
		    a != vc->win_start + vc->win_len)
			r = -EINVAL;
		else
			r = 0;
		if (!r)
			vdm_reenc_close(vc, a);
	} else if (!strcasecmp(cmd, "unlock") && argc == 1) {
		r = !vc->win_len ? -EINVAL : vc->win_converted ? -EBUSY : 0;
		if (!r)
			vdm_reenc_close(vc, 0);
	} else if (!strcasecmp(cmd, "status") && argc == 1) {
		vdm_reenc_status(vc, result, maxlen);
		r = 1;		/* dm: the message has a result */
	} else {
		mutex_unlock(&vc->ctl_lock);
		goto bad;
	}
	mutex_unlock(&vc->ctl_lock);
	if (r < 0)
		DMWARN("%s: %s refused: %d", vc->name, argv[0], r);
	return r;
bad:
	DMWARN("%s: expected reencrypt_lock|convert|commit|unlock|status",
	       vc->name);
	return -EINVAL;
}

/*
 * Destructor side: a window still locked (the table is being removed: its
 * held bios have been failed by suspend) no longer blocks other tables.
 */
void vdm_reenc_exit(struct vdm_c *vc)
{
	mutex_lock(&vc->ctl_lock);
	if (vc->win_len)
		vdm_reenc_close(vc, 0);
	mutex_unlock(&vc->ctl_lock);
}
