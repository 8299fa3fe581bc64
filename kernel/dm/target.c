// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: the device-mapper target "veil".
 *
 * Table line:
 *   <start> <len> veil <dev> [<#opt_args> <opt_args>...]
 * Optional arguments:
 *   key_timeout:<s>  how long a bio for the encrypted region may wait for
 *                    the key, 1..60 seconds (default 60: longer than a key
 *                    manager round trip with the daemon's retries and a
 *                    SCSI command timeout; at most half the 120 s after
 *                    which the kernel reports hung tasks, dm-veil.h).
 *                    A larger value refuses the table.  There is no
 *                    "wait forever": every wait is bounded.  Suspend and
 *                    remove never wait for a key: a noflush suspend hands
 *                    held bios back to dm (mapped again after resume),
 *                    any other suspend fails them (state.c).
 *   allow_discards   pass discards down (off by default, as in dm-crypt:
 *                    discards reveal which blocks are unused).
 * Numbers (the count, the seconds) are plain decimal digits; a sign, a
 * space, a prefix or a value out of range refuses the table.
 * <len> may not exceed the data area recorded in the metadata: the device
 * exposes the data area only, never the metadata.
 *
 * What happens to a bio depends on the state and on the region it falls
 * in (a bio straddling a plaintext range boundary is split there):
 *
 *   state            encrypted region           plaintext ranges
 *   unknown          EIO                        reads pass, writes EIO
 *   unencrypted      pass through               pass through
 *   waiting-for-key  held until key or timeout  pass through
 *   no-key           EIO                        pass through
 *   encrypted        encrypt/decrypt            pass through
 *
 * Status INFO:
 *   <state> <key-id hex|-> <held bios> <sector size> <cipher|-> <reason|->
 * where the reason (why the device is not unlocked, free text that may
 * contain spaces) comes last.  Status TABLE reproduces the table line.
 * Nothing ever prints key bytes.
 *
 * Messages:
 *   "update"    re-read the metadata.  A changed key-id drops the key and
 *               asks for the new one; an unchanged key-id keeps the key,
 *               and in no-key asks for it again as "retry" does (so after
 *               the key manager comes back, "update" unlocks the device
 *               without re-creating it).
 *   "wipe_key"  forget the key now (no-key).
 *   "retry"     ask for the key again (no-key or waiting-for-key).
 *   "reencrypt_lock <start> <len>", "reencrypt_convert",
 *   "reencrypt_commit <end>", "reencrypt_unlock", "reencrypt_status"
 *               one step of an online re-encryption (reencrypt.c); the
 *               status answer is returned as the message's result.
 */
#include <linux/blkdev.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/stringify.h>

#include "dm-veil.h"

/* ------------------------------------------------------------- I/O --- */

/*
 * Under vc->lock: is @sector in a plaintext range of the metadata?  *run
 * is how many of the @nr sectors from @sector lie on the same side of a
 * range boundary (the codec answers for a whole range; a bio straddling a
 * boundary is rare, so its first run is found by halving).
 */
static bool vdm_region(struct vdm_c *vc, sector_t sector,
		       unsigned int nr, unsigned int *run)
{
	const struct veil_md *md = vc->md;
	unsigned int lo, hi;
	bool plain, partial;

	lockdep_assert_held(&vc->lock);
	*run = nr;
	if (!md || !md->n_plaintext)
		return false;
	plain = veil_md_is_plaintext(md, sector, nr, &partial);
	if (plain || !partial)
		return plain;
	/* Straddling: the longest prefix on the first sector's side. */
	plain = veil_md_is_plaintext(md, sector, 1, NULL);
	lo = 1;
	hi = nr - 1;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo + 1) / 2;
		bool p2, part2;

		p2 = veil_md_is_plaintext(md, sector, mid, &part2);
		if (plain ? p2 : !part2)
			lo = mid;
		else
			hi = mid - 1;
	}
	*run = lo;
	return plain;
}

/*
 * Under vc->lock: count a bio that goes on to the device in the current
 * epoch; vdm_end_io() uncounts it.  Locking a re-encryption window flips
 * the epoch and waits for the other count to drain (reencrypt.c).
 */
static void vdm_count(struct vdm_c *vc, struct vdm_io *io)
{
	lockdep_assert_held(&vc->lock);
	io->epoch = vc->epoch;
	atomic_inc(&vc->inflight[io->epoch]);
}

static void vdm_uncount(struct vdm_c *vc, struct vdm_io *io)
{
	if (io->epoch >= 0) {
		if (atomic_dec_and_test(&vc->inflight[io->epoch]) &&
		    wq_has_sleeper(&vc->drain_wq))
			wake_up(&vc->drain_wq);
		io->epoch = -1;
	}
}

/*
 * Decide what to do with a data bio (and do it).  Called from map
 * (VEIL_CTX_MAP) and again, from the release work (VEIL_CTX_WORKER), for
 * bios that were held.  Returns DM_MAPIO_REMAPPED (the caller submits),
 * DM_MAPIO_SUBMITTED (held, or taken over), DM_MAPIO_REQUEUE (back to dm
 * during a noflush suspend) or DM_MAPIO_KILL (fail with EIO).
 */
int vdm_dispatch(struct vdm_c *vc, struct bio *bio, enum vdm_ctx ctx)
{
	bool in_map = ctx == VEIL_CTX_MAP;
	struct vdm_io *io = dm_per_bio_data(bio, sizeof(*io));
	bool discard = bio_op(bio) == REQ_OP_DISCARD;
	bool write = op_is_write(bio_op(bio));
	unsigned int nr = bio_sectors(bio), run;
	bool irqs_off;
	enum veil_state state;
	unsigned long flags;
	u64 offset;
	bool plain;

	/* dm-crypt makes the same check (never expected); not under the lock */
	irqs_off = write && in_map && (in_hardirq() || irqs_disabled());
	spin_lock_irqsave(&vc->lock, flags);
	if (unlikely(vc->win_len) && vdm_in_window(vc, io->sector, nr))
		goto hold;
	plain = vdm_region(vc, io->sector, nr, &run);
	state = vc->state;
	if (run < nr) {
		if (discard) {
			plain = false;	/* a discard is never split: strictest rule */
		} else if (in_map) {
			dm_accept_partial_bio(bio, run);
			nr = run;
		} else {
			/* Held, then the plaintext ranges changed under it. */
			goto kill;
		}
	}
	if (write && !discard && nr > VEIL_MAX_WRITE_SECTORS) {
		if (!in_map)
			goto kill;
		dm_accept_partial_bio(bio, VEIL_MAX_WRITE_SECTORS);
	}
	if (io->sector + nr > vc->layout.data_sectors)
		goto kill;	/* the data area shrank under a held bio */
	offset = vc->layout.data_offset;

	if (plain || state == VEIL_STATE_UNENCRYPTED) {
		if (state == VEIL_STATE_UNKNOWN && write)
			goto kill;
		goto remap;
	}
	switch (state) {
	case VEIL_STATE_WAITING:
		goto hold;
	case VEIL_STATE_ENCRYPTED:
		/*
		 * A discard carries no data; the null cipher reads in place
		 * (unless a second key, while re-encrypting, covers part).
		 * Neither needs the key once the state let it through.
		 */
		if (discard || (!write && vc->key->identity && !vc->key->prev))
			goto remap;
		/* before the key: the release work maps it again */
		if (unlikely(irqs_off)) {
			spin_unlock_irqrestore(&vc->lock, flags);
			vdm_defer(vc, bio);
			return DM_MAPIO_SUBMITTED;
		}
		io->key = vc->key;
		kref_get(&io->key->ref);
		io->boundary = vc->boundary;
		vdm_count(vc, io);
		spin_unlock_irqrestore(&vc->lock, flags);
		bio_set_dev(bio, vc->dev->bdev);
		bio->bi_iter.bi_sector = offset + io->sector;
		if (!write)
			return vdm_read_prepare(vc, io, bio);
		if (vdm_write(vc, io, bio, ctx) == DM_MAPIO_SUBMITTED)
			return DM_MAPIO_SUBMITTED;
		/* Deferred from a worker: undo, the caller keeps it. */
		vdm_key_put(io->key);
		io->key = NULL;
		vdm_uncount(vc, io);
		return VDM_MAPIO_DEFER;
	default:		/* unknown, no-key */
		goto kill;
	}

remap:
	vdm_count(vc, io);
	spin_unlock_irqrestore(&vc->lock, flags);
	bio_set_dev(bio, vc->dev->bdev);
	bio->bi_iter.bi_sector = offset + io->sector;
	return DM_MAPIO_REMAPPED;
hold:
	if (unlikely(vc->suspend != VEIL_RUNNING)) {
		/* Suspend waits for no key and no window (state.c). */
		int r = vc->suspend == VEIL_SUSPEND_REQUEUE ?
			DM_MAPIO_REQUEUE : DM_MAPIO_KILL;

		spin_unlock_irqrestore(&vc->lock, flags);
		return r;
	}
	vdm_hold(vc, bio);
	spin_unlock_irqrestore(&vc->lock, flags);
	return DM_MAPIO_SUBMITTED;
kill:
	spin_unlock_irqrestore(&vc->lock, flags);
	return DM_MAPIO_KILL;
}

static int vdm_map(struct dm_target *ti, struct bio *bio)
{
	struct vdm_c *vc = ti->private;
	struct vdm_io *io = dm_per_bio_data(bio, sizeof(*io));

	/* Empty flushes carry no data: the device below gets them as is. */
	io->epoch = -1;
	if (unlikely(!bio_sectors(bio))) {
		bio_set_dev(bio, vc->dev->bdev);
		return DM_MAPIO_REMAPPED;
	}
	io->vc = vc;
	io->key = NULL;
	io->held_since = 0;
	io->sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	return vdm_dispatch(vc, bio, VEIL_CTX_MAP);
}

/* Every bio map passed on ends here (held bios that fail do too). */
static int vdm_end_io(struct dm_target *ti, struct bio *bio,
		      blk_status_t *error)
{
	struct vdm_c *vc = ti->private;
	struct vdm_io *io = dm_per_bio_data(bio, sizeof(*io));

	vdm_uncount(vc, io);
	return DM_ENDIO_DONE;
}

/* -------------------------------------------------------- ctr / dtr --- */

static void vdm_dtr(struct dm_target *ti)
{
	struct vdm_c *vc = ti->private;

	if (!vc)
		return;
	vdm_reenc_exit(vc);
	vdm_keys_exit(vc);
	vdm_crypt_exit(vc);
	kfree(vc->md);
	if (vc->dev)
		dm_put_device(ti, vc->dev);
	kfree(vc);
	ti->private = NULL;
}

/*
 * A table number: decimal digits only, within @min..@max.  No sign, no
 * spaces (an escaped "\ " reaches us inside the argument), no base prefix,
 * and nothing that wraps: sscanf("%u") and dm_read_arg() reduce 2^32 + 1
 * to 1, kstrtouint() refuses it.  -ERANGE: a number above @max (however
 * many digits); -EINVAL: anything else that is not a number in
 * [@min, @max].
 */
static int vdm_parse_uint(const char *s, unsigned int min, unsigned int max,
			  unsigned int *out)
{
	unsigned int v;
	int r;

	if (!*s || s[strspn(s, "0123456789")] != '\0')
		return -EINVAL;
	r = kstrtouint(s, 10, &v);
	if (r)
		return r == -ERANGE ? -ERANGE : -EINVAL;
	if (v > max)
		return -ERANGE;
	if (v < min)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "key_timeout:<s>": 1 to VEIL_KEY_TIMEOUT_MAX seconds (dm-veil.h). */
static int vdm_parse_key_timeout(struct vdm_c *vc, const char *s)
{
	int r = vdm_parse_uint(s, 1, VEIL_KEY_TIMEOUT_MAX, &vc->key_timeout);

	if (r == -ERANGE)
		vc->ti->error = "key_timeout may be at most "
			__stringify(VEIL_KEY_TIMEOUT_MAX)
			" seconds (held I/O must stay well under the 120 s hung-task timeout)";
	else if (r)
		vc->ti->error = "key_timeout must be 1 to "
			__stringify(VEIL_KEY_TIMEOUT_MAX) " seconds";
	return r;
}

static int vdm_parse_opts(struct vdm_c *vc, struct dm_arg_set *as)
{
	struct dm_target *ti = vc->ti;
	unsigned int n;
	const char *arg;

	if (!as->argc)
		return 0;	/* no optional arguments */
	/* The count as dm_read_arg_group() reads it, minus the wrap. */
	arg = dm_shift_arg(as);
	if (vdm_parse_uint(arg, 0, 2, &n) || n > as->argc) {
		ti->error = "Invalid number of optional arguments";
		return -EINVAL;
	}
	while (n--) {
		arg = dm_shift_arg(as);
		if (!strcasecmp(arg, "allow_discards") && !vc->allow_discards) {
			vc->allow_discards = true;
		} else if (!strncasecmp(arg, "key_timeout:", 12) &&
			   !vc->key_timeout_set) {
			if (vdm_parse_key_timeout(vc, arg + 12))
				return -EINVAL;
			vc->key_timeout_set = true;
		} else {
			ti->error = "Unknown or repeated optional argument";
			return -EINVAL;
		}
	}
	if (as->argc) {
		ti->error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

static int vdm_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vdm_key *shared, *old;
	struct dm_arg_set as;
	struct vdm_c *vc;
	int r;

	if (argc < 1) {
		ti->error = "Not enough arguments: <dev> [<#opt_args> <opt_args>...]";
		return -EINVAL;
	}
	vc = kzalloc(sizeof(*vc), GFP_KERNEL);
	if (!vc) {
		ti->error = "Cannot allocate the target context";
		return -ENOMEM;
	}
	ti->private = vc;
	vc->ti = ti;
	vc->name = dm_disk(dm_table_get_md(ti->table))->disk_name;
	vc->key_timeout = VEIL_KEY_TIMEOUT_DEFAULT;
	vdm_keys_init(vc);
	vdm_submit_init(vc);

	as.argc = argc - 1;
	as.argv = argv + 1;
	r = vdm_parse_opts(vc, &as);
	if (r)
		goto bad;

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table),
			  &vc->dev);
	if (r) {
		ti->error = "Cannot open the device";
		goto bad;
	}

	/*
	 * A request-based device's submission waits only for its own
	 * requests, never for a worker of ours (vdm_write_do()).
	 */
	vc->workers_submit = queue_is_mq(bdev_get_queue(vc->dev->bdev));
	r = vdm_crypt_init(vc);
	if (r) {
		ti->error = "Cannot allocate I/O resources";
		goto bad;
	}

	r = vdm_md_setup(vc);
	if (r)
		goto bad;

	/*
	 * A reload of the same LU takes the key a live table holds (share.c);
	 * otherwise the cipher's tfm is built now, for the key to come.
	 */
	shared = vc->md ? vdm_share_find(vc->md) : NULL;
	if (IS_ERR(shared)) {
		ti->error = "A table of this LU is in a re-encryption step; retry";
		r = PTR_ERR(shared);
		goto bad;
	}
	if (shared) {
		spin_lock_irq(&vc->lock);
		r = vdm_transition(vc, VEIL_EV_KEY, shared, NULL, &old);
		spin_unlock_irq(&vc->lock);
		if (r) {
			vdm_key_drop(shared);
			ti->error = "Cannot take over the key of the LU";
			goto bad;
		}
		vc->req_room = vdm_req_room(shared);
		if (shared->prev)
			vc->req_room = max(vc->req_room,
					   vdm_req_room(shared->prev));
		DMINFO("%s: key taken over from the LU's live table", vc->name);
	} else if (vc->md && vc->md->key_id_len) {
		vc->spare = vdm_spare_alloc(vc, &vc->cipher,
					    vc->layout.sector_size);
		if (!vc->spare) {
			ti->error = "Cannot allocate the cipher of the metadata";
			r = -ENOMEM;
			goto bad;
		}
		vc->req_room = vdm_req_room(vc->spare);
		if (vc->md->reencrypting) {
			vc->old_spare = vdm_spare_alloc(vc, &vc->cipher,
							vc->layout.sector_size);
			if (!vc->old_spare) {
				ti->error = "Cannot allocate the cipher of the metadata";
				r = -ENOMEM;
				goto bad;
			}
			vc->req_room = max(vc->req_room,
					   vdm_req_room(vc->old_spare));
		}
	}
	ti->per_io_data_size = vc->req_room + sizeof(struct vdm_io);
	ti->num_flush_bios = 1;
	ti->num_discard_bios = vc->allow_discards ? 1 : 0;

	mutex_lock(&vc->ctl_lock);
	vdm_post_request(vc);
	mutex_unlock(&vc->ctl_lock);
	return 0;
bad:
	vdm_dtr(ti);
	return r;
}

/* ---------------------------------------------------------- suspend --- */

static void vdm_presuspend(struct dm_target *ti)
{
	struct vdm_c *vc = ti->private;

	vdm_suspend_held(vc, dm_noflush_suspending(ti) ?
			  VEIL_SUSPEND_REQUEUE : VEIL_SUSPEND_FAIL);
}

static void vdm_presuspend_undo(struct dm_target *ti)
{
	vdm_suspend_held(ti->private, VEIL_RUNNING);
}

static void vdm_resume(struct dm_target *ti)
{
	vdm_suspend_held(ti->private, VEIL_RUNNING);
}

/* --------------------------------------------------- status / message --- */

static void vdm_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct vdm_c *vc = ti->private;
	char key_id[2 * VEIL_KEY_ID_MAX + 1] = "-";
	char cipher[VEIL_CIPHER_MAX] = "-";
	char reason[VEIL_REASON_MAX];
	enum veil_state state;
	unsigned int held, n;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_TABLE:
		n = vc->key_timeout_set + vc->allow_discards;
		DMEMIT("%s", vc->dev->name);
		if (n)
			DMEMIT(" %u", n);
		if (vc->key_timeout_set)
			DMEMIT(" key_timeout:%u", vc->key_timeout);
		if (vc->allow_discards)
			DMEMIT(" allow_discards");
		return;
	case STATUSTYPE_INFO:
	case STATUSTYPE_IMA:
		break;
	default:
		return;
	}

	spin_lock_irq(&vc->lock);
	state = vc->state;
	held = vc->n_held;
	if (vc->md && vc->md->key_id_len) {
		bin2hex(key_id, vc->md->key_id, vc->md->key_id_len);
		key_id[2 * vc->md->key_id_len] = '\0';
		strscpy(cipher, vc->md->cipher, sizeof(cipher));
	}
	strscpy(reason, vc->reason, sizeof(reason));
	spin_unlock_irq(&vc->lock);

	if (type == STATUSTYPE_INFO) {
		DMEMIT("%s %s %u %u %s %s", vdm_state_name(state), key_id,
		       held, vc->layout.sector_size, cipher, reason);
		return;
	}
	/* IMA: name=value pairs, no spaces; never the key. */
	DMEMIT_TARGET_NAME_VERSION(ti->type);
	DMEMIT(",device=%s,state=%s,key_id=%s,cipher=%s,sector_size=%u",
	       vc->dev->name, vdm_state_name(state), key_id, cipher,
	       vc->layout.sector_size);
	DMEMIT(",key_timeout=%u,allow_discards=%c;", vc->key_timeout,
	       vc->allow_discards ? 'y' : 'n');
}

static int vdm_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	struct vdm_c *vc = ti->private;

	if (argc >= 1 && !strncasecmp(argv[0], "reencrypt_", 10))
		return vdm_reenc_message(vc, argc, argv, result, maxlen);
	if (argc != 1)
		goto bad;
	if (!strcasecmp(argv[0], "update"))
		return vdm_msg_update(vc);
	if (!strcasecmp(argv[0], "wipe_key"))
		return vdm_msg_wipe_key(vc);
	if (!strcasecmp(argv[0], "retry"))
		return vdm_msg_retry(vc);
bad:
	DMWARN("%s: unrecognised message (expected update, wipe_key, retry or reencrypt_*)",
	       vc->name);
	return -EINVAL;
}

/* ---------------------------------------------------- device limits --- */

static int vdm_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct vdm_c *vc = ti->private;

	return fn(ti, vc->dev, vc->layout.data_offset, ti->len, data);
}

static void vdm_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vdm_c *vc = ti->private;
	unsigned int bs = vc->io_block;

	/* Bounce pages are single pages: keep segments within one. */
	limits->max_segment_size = PAGE_SIZE;
	limits->logical_block_size = max(limits->logical_block_size, bs);
	limits->physical_block_size = max(limits->physical_block_size, bs);
	limits->io_min = max(limits->io_min, bs);
	/* Every crypto unit must lie within one page segment. */
	limits->dma_alignment = limits->logical_block_size - 1;
}

static struct target_type vdm_target = {
	.name = "veil",
	.version = {1, 1, 0},
	.module = THIS_MODULE,
	.ctr = vdm_ctr,
	.dtr = vdm_dtr,
	.map = vdm_map,
	.end_io = vdm_end_io,
	.status = vdm_status,
	.message = vdm_message,
	.presuspend = vdm_presuspend,
	.presuspend_undo = vdm_presuspend_undo,
	.resume = vdm_resume,
	.iterate_devices = vdm_iterate_devices,
	.io_hints = vdm_io_hints,
};

static int __init dm_veil_init(void)
{
	int r;

	r = vdm_crypt_module_init();
	if (r)
		return r;
	r = dm_register_target(&vdm_target);
	if (r)
		vdm_crypt_module_exit();
	return r;
}

static void __exit dm_veil_exit(void)
{
	dm_unregister_target(&vdm_target);
	vdm_crypt_module_exit();
}

module_init(dm_veil_init);
module_exit(dm_veil_exit);

MODULE_DESCRIPTION("device-mapper target for veil encrypted logical units");
MODULE_LICENSE("GPL");
