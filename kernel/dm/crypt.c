// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: encryption of the data area.
 *
 * Cipher specs are written the way dm-crypt writes them,
 * "<cipher>-<chainmode>-<ivmode>" ("aes-xts-plain64", "aes-cbc-plain64",
 * "cipher_null-ecb").  Each crypto unit is one sector of the metadata's
 * sector_size (512 or 4096 bytes); its IV is the unit's number counted in
 * sector_size units from the start of the data area.  For 512-byte sectors
 * this is exactly dm-crypt with iv_offset 0; for 4096-byte sectors it is
 * dm-crypt's "sector_size:4096 iv_large_sectors".
 *
 * Where the work runs.  dm-crypt by default moves every bio to a workqueue
 * (and writes to a further thread): that spreads large I/O over CPUs and
 * keeps crypto out of interrupt context, but costs several context switches
 * per bio, which dominates small I/O.  dm-veil instead:
 *   - encrypts a small write in the submitter's context (the caller pays
 *     for its own I/O, like any CPU-bound filesystem work) into bounce
 *     pages, then submits the bounce bio;
 *   - decrypts a read in pieces, one per online CPU for a large read
 *     with nothing else of the device in flight while that proves faster
 *     (vdm_split_pays()), else in one (a read with cipher_null is passed
 *     on as dm-linear would: its data stays as it is): the first in its
 *     completion context when that is a task with interrupts on (e.g.
 *     brd's submitter), without sleeping there, the others on a
 *     workqueue, as dm-crypt does; a large read in one piece goes to the
 *     workqueue whole unless nothing else is in flight.  After an
 *     interrupt, a small read is decrypted in a softirq (as dm-crypt's
 *     no_read_workqueue), a large one on the workqueue.  The last piece
 *     done ends the read;
 *   - hands a write of VEIL_SPLIT_MIN or more with others in flight
 *     whole to a worker, as dm-crypt does, and cuts one with nothing else
 *     in flight in pieces, one per CPU (up to VEIL_MAX_JOBS) with a bounce
 *     clone each, so that it uses several CPUs (only while that proves
 *     faster).  Above a request-based device workers encrypt and submit
 *     them and the submitter goes on at once (a lone write's first piece
 *     it does itself): at queue depth the next writes are encrypted
 *     meanwhile, as dm-crypt's write queue does (the workqueue, like
 *     dm-crypt's, runs one item per CPU at a time, so writes are served
 *     in the order they came).  Above a bio-based device the same, but
 *     the device's submit thread submits what the workers encrypted;
 *     while the device has no such thread, the submitter encrypts a write
 *     at depth itself, and a lone write's first piece while workers do
 *     the others, and submits them all;
 *   - takes back, once the context that does a split read's or lone
 *     write's first piece is done with it, every other piece no worker
 *     has begun, and does it there: on a busy host the CPU woken for a
 *     piece may run long after;
 *   - keeps one skcipher request in each bio's per-bio data, so I/O that
 *     is not split allocates nothing for its crypto.
 * The workqueues have rescuers (WQ_MEM_RECLAIM): they may be needed to
 * complete writeback.  All devices share them (dm-veil.h says why that is
 * safe).
 */
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/interrupt.h>
#include <linux/kthread.h>
#include <linux/llist.h>
#include <linux/log2.h>
#include <linux/sched/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "compat.h"
#include "dm-veil.h"

#define VEIL_SPLIT_MIN		(128 * 1024)
#define VEIL_REQ_POOL		4
#define VEIL_BIO_POOL		64
#define VEIL_BOUNCE_ORDER	3	/* largest bounce allocation: 32 KiB */

/* ------------------------------------------------------------ specs --- */

int vdm_cipher_parse(const char *spec, struct vdm_cipher *c,
		     const char **why)
{
	struct veil_md_cipher_spec s;
	int n;

	if (veil_md_cipher_split(spec, &s, why))
		return -EINVAL;
	if (!strcmp(s.iv, "plain64"))
		c->iv = VEIL_IV_PLAIN64;
	else if (!strcmp(s.iv, "plain"))
		c->iv = VEIL_IV_PLAIN;
	else
		c->iv = VEIL_IV_NONE;

	n = snprintf(c->api_name, sizeof(c->api_name), "%s(%s)", s.chain, s.cipher);
	if (n >= sizeof(c->api_name)) {
		*why = "cipher name too long";
		return -EINVAL;
	}
	if (!crypto_has_skcipher(c->api_name, 0, 0)) {
		*why = "cipher not available in this kernel";
		return -ENOENT;
	}
	return 0;
}

/* ------------------------------------------------------------- keys --- */

/*
 * A key context for cipher @c without a key yet: built when the metadata
 * is read (constructor, "update", or a control path that asks for the key
 * again), so that a key's arrival only sets the key.  Process context; the
 * caller says with memalloc_noio_save() when bios may be waiting.
 */
struct vdm_key *vdm_key_alloc(const struct vdm_cipher *c,
			      unsigned int sector_size, const char **why)
{
	struct vdm_key *key;
	int r;

	might_sleep();
	key = kzalloc(sizeof(*key), GFP_KERNEL);
	if (!key) {
		*why = "out of memory";
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&key->ref);
	INIT_LIST_HEAD(&key->share_node);
	key->unit = sector_size;
	key->unit_shift = ilog2(sector_size) - SECTOR_SHIFT;
	key->iv = c->iv;
	key->identity = !strcmp(c->api_name, "ecb(cipher_null)");

	key->tfm = crypto_alloc_skcipher(c->api_name, 0, 0);
	if (IS_ERR(key->tfm)) {
		r = PTR_ERR(key->tfm);
		key->tfm = NULL;
		*why = "cannot allocate the cipher";
		goto bad;
	}
	key->iv_size = crypto_skcipher_ivsize(key->tfm);
	if (key->iv_size > VEIL_IV_MAX ||
	    (c->iv != VEIL_IV_NONE && key->iv_size < sizeof(u64))) {
		r = -EINVAL;
		*why = "cipher IV size does not suit the IV mode";
		goto bad;
	}
	key->req_size = sizeof(struct skcipher_request) +
			crypto_skcipher_reqsize(key->tfm);
	r = mempool_init_kmalloc_pool(&key->req_pool, VEIL_REQ_POOL,
				      key->req_size);
	if (r) {
		*why = "out of memory";
		goto bad;
	}
	return key;
bad:
	crypto_free_skcipher(key->tfm);
	kfree(key);
	return ERR_PTR(r);
}

/*
 * Set the key of a context from vdm_key_alloc() that nothing else uses
 * yet.  Bios may be waiting for this key, so whatever the cipher allocates
 * here does no I/O.
 */
int vdm_key_setkey(struct vdm_key *key, const u8 *k, unsigned int key_len,
		   const char **why)
{
	unsigned int noio;
	int r;

	/*
	 * cipher_null takes no key at all (dm-crypt spells it "-"); the
	 * keyblob still had to arrive, so the queueing cost is measured.
	 */
	if (!crypto_skcipher_max_keysize(key->tfm))
		key_len = 0;
	crypto_skcipher_set_flags(key->tfm, CRYPTO_TFM_REQ_FORBID_WEAK_KEYS);
	noio = memalloc_noio_save();
	r = crypto_skcipher_setkey(key->tfm, k, key_len);
	memalloc_noio_restore(noio);
	if (r)
		*why = "key refused by the cipher (wrong size or weak key)";
	return r;
}

/* Bytes to reserve in each bio's data for one request of @key. */
unsigned int vdm_req_room(const struct vdm_key *key)
{
	return ALIGN(key->req_size, __alignof__(struct vdm_io));
}

static void vdm_key_release(struct kref *ref)
{
	struct vdm_key *key = container_of(ref, struct vdm_key, ref);

	might_sleep();
	vdm_key_put(key->prev);
	mempool_exit(&key->req_pool);
	/* Frees the key schedule with kfree_sensitive(). */
	crypto_free_skcipher(key->tfm);
	kfree(key);
}

void vdm_key_put(struct vdm_key *key)
{
	if (key)
		kref_put(&key->ref, vdm_key_release);
}

/* ----------------------------------------------------------- crypto --- */

/* One contiguous run of crypto units of one bio (or of a bio pair). */
struct vdm_job {
	struct work_struct work;
	struct vdm_key *key;
	bool encrypt;
	bool atomic;			/* must not sleep: req given, no MAY_SLEEP */
	struct bio *src, *dst;		/* dst == src: in place */
	struct bvec_iter si, di;
	struct skcipher_request *req;	/* NULL: take one from the pool */
	u64 unit;			/* number of the first unit */
	unsigned int bytes;
	int err;
	atomic_t *pending;
	struct completion *done;
};

static void vdm_iv(const struct vdm_key *key, __le64 *iv, u64 unit)
{
	memset(iv, 0, key->iv_size);
	if (key->iv == VEIL_IV_PLAIN64)
		iv[0] = cpu_to_le64(unit);
	else if (key->iv == VEIL_IV_PLAIN)
		iv[0] = cpu_to_le64(unit & 0xffffffff);
}

/*
 * Bytes of the next request from segment @in to segment @out with at most
 * @left bytes to go: one unit, or with ecb every whole unit the two share.
 * 0 if a unit does not lie within each segment (io_hints prevent that).
 */
static unsigned int vdm_unit_len(const struct vdm_key *key,
				 const struct bio_vec *in,
				 const struct bio_vec *out, unsigned int left)
{
	if (unlikely(in->bv_len < key->unit || out->bv_len < key->unit))
		return 0;
	/*
	 * Without an IV (ecb) a unit's ciphertext does not depend on its
	 * number: every whole unit the two segments share goes in one
	 * request, which is the same as one request per unit.
	 */
	if (key->iv == VEIL_IV_NONE)
		return rounddown(min3(in->bv_len, out->bv_len, left), key->unit);
	return key->unit;
}

/*
 * Point @req at @len bytes from @in to @out (@sg_out NULL: in place), the
 * first unit being number @unit; @sg_in, @sg_out and @iv must last until
 * the cipher has answered.
 */
static void vdm_req_set(const struct vdm_key *key,
			struct skcipher_request *req,
			struct scatterlist *sg_in, struct scatterlist *sg_out,
			const struct bio_vec *in, const struct bio_vec *out,
			unsigned int len, u64 unit, __le64 *iv)
{
	sg_init_table(sg_in, 1);
	sg_set_page(sg_in, in->bv_page, len, in->bv_offset);
	if (sg_out) {
		sg_init_table(sg_out, 1);
		sg_set_page(sg_out, out->bv_page, len, out->bv_offset);
	}
	vdm_iv(key, iv, unit);
	skcipher_request_set_crypt(req, sg_in, sg_out ? sg_out : sg_in, len,
				   iv);
}

static int vdm_job_run(struct vdm_job *j)
{
	struct vdm_key *key = j->key;
	bool inplace = j->src == j->dst;
	struct scatterlist sg_in, sg_out;
	struct skcipher_request *req;
	__le64 iv[VEIL_IV_MAX / sizeof(__le64)];
	DECLARE_CRYPTO_WAIT(wait);
	unsigned int left = j->bytes;
	u64 unit = j->unit;
	int r = 0;

	req = j->req;
	if (!req) {
		might_sleep();
		req = mempool_alloc(&key->req_pool, GFP_NOIO);
	}
	skcipher_request_set_tfm(req, key->tfm);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				      (j->atomic ? 0 : CRYPTO_TFM_REQ_MAY_SLEEP),
				      crypto_req_done, &wait);

	while (left) {
		struct bio_vec in = bio_iter_iovec(j->src, j->si);
		struct bio_vec out = bio_iter_iovec(j->dst, j->di);
		unsigned int len = vdm_unit_len(key, &in, &out, left);

		if (unlikely(!len)) {
			r = -EIO;
			break;
		}
		/* In place, the null cipher leaves the data as it is. */
		if (!key->identity || !inplace) {
			vdm_req_set(key, req, &sg_in, inplace ? NULL : &sg_out,
				    &in, &out, len, unit, iv);
			r = crypto_wait_req(j->encrypt ?
					    crypto_skcipher_encrypt(req) :
					    crypto_skcipher_decrypt(req), &wait);
			if (r)
				break;
		}
		bio_advance_iter_single(j->src, &j->si, len);
		bio_advance_iter_single(j->dst, &j->di, len);
		unit += len / key->unit;
		left -= len;
	}
	if (!j->req)
		mempool_free(req, &key->req_pool);
	return r;
}

/*
 * How many pieces @bytes of crypto are cut in, with up to @max CPUs to
 * take them: pieces of at least VEIL_SPLIT_MIN / 2, at most VEIL_MAX_JOBS.
 */
static unsigned int vdm_pieces(unsigned int max, unsigned int bytes)
{
	return min3(max, bytes / (VEIL_SPLIT_MIN / 2),
		    (unsigned int)VEIL_MAX_JOBS);
}

/* The crypto units of piece @i when @units are cut in @n pieces. */
static unsigned int vdm_piece_units(unsigned int units, unsigned int n,
				    unsigned int i)
{
	return units / n + (i < units % n);
}

static void vdm_job_end(struct vdm_job *j, int r)
{
	j->err = r;
	if (atomic_dec_and_test(j->pending))
		complete(j->done);
}

static void vdm_job_work(struct work_struct *w)
{
	struct vdm_job *j = container_of(w, struct vdm_job, work);

	vdm_job_end(j, vdm_job_run(j));
}

/*
 * Encrypt or decrypt @bytes of @src (from @si) into @dst (from @di), the
 * first unit being number @unit.  @req, if not NULL, is a request of @key's
 * size for the pieces the caller does: the first (often the only one) and
 * any the workers have not begun when it is done.  @atomic: the caller may
 * not sleep, so one piece only, in @req (which must be given), and the
 * cipher may not sleep either; otherwise the caller is in process context.
 */
int vdm_crypt(struct vdm_c *vc, struct vdm_key *key,
	      struct skcipher_request *req, bool encrypt, bool atomic,
	      unsigned int max_jobs,
	      struct bio *src, struct bvec_iter si,
	      struct bio *dst, struct bvec_iter di,
	      u64 unit, unsigned int bytes)
{
	struct vdm_job jobs[VEIL_MAX_JOBS];
	struct completion done;
	unsigned int units = bytes / key->unit;
	unsigned int n = 1, i;
	atomic_t pending;
	int r;

	if (atomic) {
		if (WARN_ON_ONCE(!req))
			return -EIO;
		max_jobs = 1;
	} else {
		might_sleep();
	}
	if (bytes >= VEIL_SPLIT_MIN && max_jobs > 1)
		n = vdm_pieces(max_jobs, bytes);

	for (i = 0; i < n; i++) {
		unsigned int cnt = vdm_piece_units(units, n, i);
		struct vdm_job *j = &jobs[i];

		j->key = key;
		j->encrypt = encrypt;
		j->atomic = atomic;
		j->src = src;
		j->dst = dst;
		j->si = si;
		j->di = di;
		j->req = i ? NULL : req;
		j->unit = unit;
		j->bytes = cnt * key->unit;
		j->err = 0;
		j->pending = &pending;
		j->done = &done;
		if (i + 1 < n) {
			bio_advance_iter(src, &si, j->bytes);
			bio_advance_iter(dst, &di, j->bytes);
			unit += cnt;
		}
	}
	if (n == 1)
		return vdm_job_run(&jobs[0]);

	atomic_set(&pending, n - 1);
	init_completion(&done);
	for (i = 1; i < n; i++) {
		INIT_WORK_ONSTACK(&jobs[i].work, vdm_job_work);
		queue_work(vdm_crypt_wq, &jobs[i].work);
	}
	r = vdm_job_run(&jobs[0]);
	/* As for a split read: take back the jobs no worker has begun. */
	for (i = n - 1; i > 0; i--) {
		if (!cancel_work(&jobs[i].work))
			continue;
		jobs[i].req = req;
		vdm_job_end(&jobs[i], vdm_job_run(&jobs[i]));
	}
	wait_for_completion(&done);
	for (i = 1; i < n; i++) {
		destroy_work_on_stack(&jobs[i].work);
		if (!r)
			r = jobs[i].err;
	}
	return r;
}

/*
 * vdm_crypt() for the data of @io, choosing the key per unit: units below
 * the boundary the bio was mapped with use @key, the others @key->prev
 * (only while re-encrypting), so a bio may straddle the boundary.  @room:
 * the first piece may use the request room of @io (not for a write's
 * other pieces, which run beside the first).
 */
static int vdm_crypt_io(struct vdm_io *io, struct vdm_key *key, bool room,
			bool encrypt, bool atomic, unsigned int max_jobs,
			struct bio *src, struct bvec_iter si,
			struct bio *dst, struct bvec_iter di,
			u64 unit, unsigned int bytes)
{
	u64 bound = io->boundary >> key->unit_shift;
	struct vdm_key *prev = key->prev;
	unsigned int first;
	int r;

	if (!prev || unit + bytes / key->unit <= bound)
		return vdm_crypt(io->vc, key, room ? vdm_io_req(io, key) : NULL,
				 encrypt, atomic, max_jobs, src, si, dst, di,
				 unit, bytes);
	if (unit >= bound)
		return vdm_crypt(io->vc, prev,
				 room ? vdm_io_req(io, prev) : NULL, encrypt,
				 atomic, max_jobs, src, si, dst, di, unit, bytes);
	/* Straddling: the new key's part, then the old key's. */
	first = (bound - unit) * key->unit;
	r = vdm_crypt(io->vc, key, room ? vdm_io_req(io, key) : NULL, encrypt,
		      atomic, max_jobs, src, si, dst, di, unit, first);
	if (r)
		return r;
	bio_advance_iter(src, &si, first);
	bio_advance_iter(dst, &di, first);
	return vdm_crypt(io->vc, prev, room ? vdm_io_req(io, prev) : NULL,
			 encrypt, atomic, max_jobs, src, si, dst, di,
			 bound, bytes - first);
}

/* Can a read of @io be decrypted without sleeping (requests in the room)? */
static bool vdm_io_room_ok(struct vdm_io *io)
{
	return vdm_io_req(io, io->key) &&
	       (!io->key->prev || vdm_io_req(io, io->key->prev));
}

/*
 * Is the I/O asking the only one of @vc in flight (mapped, not ended)?
 * Then splitting its work over the CPUs pays; with others in flight, they
 * keep the other CPUs busy already.
 */
static bool vdm_alone(struct vdm_c *vc)
{
	return atomic_read(&vc->inflight[0]) +
	       atomic_read(&vc->inflight[1]) <= 1;
}

/*
 * Does splitting a lone large I/O over the CPUs pay?  On a quiet machine
 * it does.  Where the CPUs are shared with others (a guest's vCPUs on a
 * busy host) the CPUs woken for the other pieces run late and take time
 * from the first, and one CPU alone is faster.  Nothing inside tells the
 * two apart but the result, so a device times both ways, per direction:
 * a running average (1/8 per I/O) for lone large I/O on one CPU and for
 * that split.  It splits but for the second such I/O, which gives the
 * first time on one CPU, and then takes the faster way.  To see whether
 * the other has become faster it goes that way every VEIL_SPLIT_PROBE-th
 * time while splitting, and every VEIL_SPLIT_PROBE_ONE-th time while on
 * one CPU, so that a caller with more than one I/O in flight (below) is
 * seen soon.  While splitting is half again as fast as one CPU (a quiet
 * machine), only a large change could turn that round, and each probe
 * costs a whole I/O's worth of time: it probes every VEIL_SPLIT_PROBE_FAR-th
 * time.  The moment the split time rises, the next probe comes sooner.
 *
 * An I/O is timed from the end of the one before if the device was kept
 * busy (the gap before its map no longer than the I/O itself), else from
 * its map, to its end: a CPU woken for a piece also slows what the caller
 * does between two I/Os, and only the whole cycle shows it.
 *
 * One CPU is for callers that wait for each I/O.  Above a device that
 * ends I/O inside its submission (brd), an I/O done on one CPU has ended
 * before its caller can submit the next, so a caller with more to submit
 * looks the same as one that waits.  A split I/O stays in flight until its
 * last piece is done: a large I/O arriving meanwhile shows the caller has
 * depth (vdm_lone()), and for VEIL_SPLIT_DEEP after that the device
 * splits its lone I/O, which lets the next one in.
 */
#define VEIL_SPLIT_PROBE	32
#define VEIL_SPLIT_PROBE_FAR	128
#define VEIL_SPLIT_PROBE_ONE	16
#define VEIL_SPLIT_DEEP		NSEC_PER_SEC

/*
 * Is a large I/O in direction @dir alone in flight?  If not, its caller
 * has depth: note that for vdm_split_pays().
 */
static bool vdm_lone(struct vdm_c *vc, int dir)
{
	if (vdm_alone(vc))
		return true;
	atomic64_set(&vc->split_deep[dir], ktime_get_ns() + VEIL_SPLIT_DEEP);
	return false;
}

static bool vdm_split_pays(struct vdm_c *vc, int dir)
{
	unsigned int one = READ_ONCE(vc->split_ns[dir][0]), split, n;

	if (ktime_get_ns() < (u64)atomic64_read(&vc->split_deep[dir]))
		return true;
	n = atomic_inc_return(&vc->split_count[dir]);
	if (!one)
		return n != 2;
	split = READ_ONCE(vc->split_ns[dir][1]);
	if (split <= one)
		return n % ((u64)split * 3 <= (u64)one * 2 ?
			    VEIL_SPLIT_PROBE_FAR : VEIL_SPLIT_PROBE) != 0;
	return n % VEIL_SPLIT_PROBE_ONE == 0;
}

/* A lone large I/O (io->lone_start set) has ended: note its time. */
static void vdm_split_note(struct vdm_io *io, int dir)
{
	unsigned int *avg = &io->vc->split_ns[dir][io->lone_split], old;
	u64 now = ktime_get_ns(), prev, ns;

	prev = atomic64_xchg(&io->vc->split_last[dir], now);
	if (now <= io->lone_start)
		return;
	ns = now - io->lone_start;
	if (prev <= io->lone_start && io->lone_start - prev <= ns)
		ns = now - prev;
	ns = min_t(u64, U32_MAX, div_u64(ns << 20, io->iter.bi_size));
	old = READ_ONCE(*avg);
	WRITE_ONCE(*avg, old ? old - old / 8 + ns / 8 : ns);
}

/* ------------------------------------------------------------ reads --- */

static void vdm_read_end(struct vdm_io *io)
{
	struct bio *bio = vdm_io_bio(io);

	bio->bi_end_io = io->orig_end_io;
	bio->bi_private = io->orig_private;
	bio_endio(bio);
}

/* The read held the last reference to its key: free it here, then end. */
static void vdm_read_put_work(struct work_struct *w)
{
	struct vdm_io *io = container_of(w, struct vdm_io, work);

	vdm_key_put(io->key);
	io->key = NULL;
	vdm_read_end(io);
}

/*
 * End a read whose pieces are all done; @atomic: in its completion
 * context, where the last reference to a key may not be dropped.
 */
static void vdm_read_done(struct vdm_io *io, bool atomic)
{
	struct bio *bio = vdm_io_bio(io);
	struct vdm_key *key = io->key;

	if (READ_ONCE(io->status))
		bio->bi_status = io->status;
	if (atomic && !refcount_dec_not_one(&key->ref.refcount)) {
		/*
		 * The last reference (the key was wiped or replaced while the
		 * read was in flight): a tfm is freed in process context.
		 */
		INIT_WORK(&io->work, vdm_read_put_work);
		queue_work(vdm_wq, &io->work);
		return;
	}
	io->key = NULL;
	if (!atomic)
		vdm_key_put(key);
	vdm_read_end(io);
}

/* A piece of a read is done (@r: how); the last piece done ends the read. */
static void vdm_read_piece_end(struct vdm_io *io, int r, bool atomic)
{
	if (r) {
		DMERR_LIMIT("%s: decryption failed at sector %llu: %d",
			    io->vc->name, (unsigned long long)io->sector, r);
		WRITE_ONCE(io->status, BLK_STS_IOERR);
	}
	if (!atomic_dec_and_test(&io->pending))
		return;
	if (io->lone_start)
		vdm_split_note(io, READ);
	vdm_read_done(io, atomic);
}

/* Decrypt one piece of a read; @room: with the request in io's room. */
static int vdm_read_piece_crypt(struct vdm_io *io, struct vdm_piece *p,
				bool room, bool atomic)
{
	struct bio *bio = vdm_io_bio(io);

	return vdm_crypt_io(io, io->key, room, false, atomic, 1, bio, p->iter,
			    bio, p->iter, p->unit, p->bytes);
}

static void vdm_read_piece_work(struct work_struct *w)
{
	struct vdm_piece *p = container_of(w, struct vdm_piece, work);

	vdm_read_piece_end(p->io, vdm_read_piece_crypt(p->io, p, false, false),
			   false);
}

/*
 * The completion context's part of a read in @n pieces, the others queued
 * to workers: piece 0, then every other piece whose worker has not begun
 * (cancel_work() takes it back).  On a busy host the CPU woken for a piece
 * may run long after this one is free; taking the piece back bounds a
 * split read by what it costs on one CPU.  The pieces done here end only
 * after all of them are done: the last piece to end ends the read, and
 * frees @io.
 */
static void vdm_read_pieces_here(struct vdm_io *io, unsigned int n)
{
	bool mine[VEIL_MAX_JOBS] = { true };
	int r[VEIL_MAX_JOBS] = { 0 };
	unsigned int i;

	r[0] = vdm_read_piece_crypt(io, &io->pieces[0], true, true);
	/* from the last queued: the one least likely to have begun */
	for (i = n - 1; i > 0; i--) {
		mine[i] = cancel_work(&io->pieces[i].work);
		if (mine[i])
			r[i] = vdm_read_piece_crypt(io, &io->pieces[i], true,
						    true);
	}
	for (i = 0; i < n; i++)
		if (mine[i])
			vdm_read_piece_end(io, r[i], true);
}

/*
 * Reads decrypted in softirq context.  A read whose completion comes from
 * an interrupt is decrypted in a softirq, as dm-crypt does with
 * no_read_workqueue: right in its completion if that already is a softirq,
 * else on the kernel's BH workqueue (veil_bh_wq in compat.h) or, before
 * 6.9, from a tasklet of ours (vdm_read_bh_queue()).  That saves a
 * worker's two context switches, most of what a small read costs beyond
 * its decryption.  It is done for a read below VEIL_SPLIT_MIN (a larger
 * one would keep the CPU's other softirqs waiting too long) with one key
 * whose request fits the room in front of its struct vdm_io.  Nothing may
 * wait there: the cipher is called without CRYPTO_TFM_REQ_MAY_SLEEP, and
 * when an asynchronous one queues a unit (a SIMD cipher hands it to cryptd
 * when the FPU is in use; hardware does so always), its answer,
 * vdm_read_bh_done(), hands the rest of the piece to vdm_crypt_wq.
 */
static bool vdm_read_bh_ok(struct vdm_io *io)
{
	return io->iter.bi_size < VEIL_SPLIT_MIN && !io->key->prev &&
	       vdm_io_room_ok(io);
}

/* The rest of a piece after an asynchronous answer: process context. */
static void vdm_read_bh_rest(struct work_struct *w)
{
	struct vdm_io *io = container_of(w, struct vdm_io, bh.piece.work);
	struct vdm_piece *p = &io->bh.piece;
	struct bio *bio = vdm_io_bio(io);
	int r = io->bh.err;

	if (!r && p->bytes)
		r = vdm_crypt_io(io, io->key, true, false, false, 1, bio,
				 p->iter, bio, p->iter, p->unit, p->bytes);
	vdm_read_piece_end(io, r, false);
}

/* An asynchronous cipher's answer for a unit of vdm_read_bh(). */
static void vdm_read_bh_done(veil_crypto_cb_arg arg, int err)
{
	struct vdm_io *io = veil_crypto_cb_data(arg);

	/* A backlogged request has been queued: the answer follows. */
	if (err == -EINPROGRESS)
		return;
	io->bh.err = err;
	INIT_WORK(&io->bh.piece.work, vdm_read_bh_rest);
	queue_work(vdm_crypt_wq, &io->bh.piece.work);
}

/* Decrypt the one piece in io->bh in softirq context. */
static void vdm_read_bh(struct vdm_io *io)
{
	struct vdm_piece *p = &io->bh.piece;
	struct vdm_key *key = io->key;
	struct skcipher_request *req = vdm_io_req(io, key);
	struct bio *bio = vdm_io_bio(io);
	int r = 0;

	skcipher_request_set_tfm(req, key->tfm);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				      vdm_read_bh_done, io);
	while (p->bytes) {
		struct bio_vec bv = bio_iter_iovec(bio, p->iter);
		unsigned int len = vdm_unit_len(key, &bv, &bv, p->bytes);

		if (unlikely(!len)) {
			r = -EIO;
			break;
		}
		vdm_req_set(key, req, &io->bh.sg, NULL, &bv, &bv, len, p->unit,
			    io->bh.iv);
		/*
		 * Past the unit before the call: an asynchronous answer may
		 * come, on another CPU, before the call returns.
		 */
		bio_advance_iter_single(bio, &p->iter, len);
		p->unit += len / key->unit;
		p->bytes -= len;
		r = crypto_skcipher_decrypt(req);
		if (r == -EINPROGRESS || r == -EBUSY)
			return;
		if (r)
			break;
	}
	vdm_read_piece_end(io, r, true);
}

static void vdm_read_bh_work(struct work_struct *w)
{
	vdm_read_bh(container_of(w, struct vdm_io, bh.piece.work));
}

/*
 * Before 6.9 there is no BH workqueue: one tasklet per CPU decrypts the
 * reads queued on its CPU's list.  Not a tasklet per read, as dm-crypt
 * had then: the tasklet core still touches a tasklet after its callback
 * returns, and by then the read it ended may be freed.
 */
struct vdm_bh_cpu {
	struct llist_head reads;
	struct tasklet_struct tasklet;
};

static DEFINE_PER_CPU(struct vdm_bh_cpu, vdm_bh_cpu);

static void vdm_bh_tasklet(struct tasklet_struct *t)
{
	struct vdm_bh_cpu *c = container_of(t, struct vdm_bh_cpu, tasklet);
	struct llist_node *list = llist_del_all(&c->reads);
	struct vdm_io *io, *next;

	llist_for_each_entry_safe(io, next, llist_reverse_order(list), bh.node)
		vdm_read_bh(io);
}

/* Decrypt the read in io->bh in a softirq soon: from a hard interrupt. */
static void vdm_read_bh_queue(struct vdm_io *io)
{
	struct vdm_bh_cpu *c;

	if (veil_bh_wq) {
		INIT_WORK(&io->bh.piece.work, vdm_read_bh_work);
		queue_work(veil_bh_wq, &io->bh.piece.work);
		return;
	}
	/* this CPU's list and tasklet: nothing moves us off the CPU */
	lockdep_assert_irqs_disabled();
	c = this_cpu_ptr(&vdm_bh_cpu);
	if (llist_add(&io->bh.node, &c->reads))
		tasklet_schedule(&c->tasklet);
}

/*
 * A read's completion runs in the context of the driver below: its
 * interrupt, a softirq, or a task (brd completes in the submitter, loop in
 * the block softirq).  A large read that is the device's only I/O in
 * flight is decrypted in pieces, one per CPU, while that is faster
 * (vdm_split_pays()); any other read is one piece, as the reads beside it
 * keep the other CPUs busy.  In a task with interrupts on, if the requests
 * fit the per-bio room, the first piece is decrypted right here without
 * sleeping (no allocation, no CRYPTO_TFM_REQ_MAY_SLEEP; only an
 * asynchronous cipher that queued the request is waited for, which a task
 * may do), and the others go to vdm_crypt_wq, to be taken back if still
 * waiting there when the first is done (vdm_read_pieces_here()).  But a
 * large read left whole beside others goes to vdm_crypt_wq too, as
 * dm-crypt sends every read, so that the submitter (brd completes in it)
 * goes on queueing while the workers decrypt; one left whole alone has
 * nothing to go on with and is decrypted here.  After an interrupt, a
 * small read is decrypted in a softirq (vdm_read_bh()); otherwise all
 * pieces go to vdm_crypt_wq.  Whichever piece finishes last ends the
 * read, so no context waits for another.
 */
static void vdm_read_endio(struct bio *bio)
{
	struct vdm_io *io = bio->bi_private;
	struct vdm_key *key = io->key;
	unsigned int units = io->iter.bi_size / key->unit;
	struct bvec_iter it = io->iter;
	u64 unit = io->sector >> key->unit_shift;
	unsigned int n = 1, i, here = 0;
	bool task = in_task() && !irqs_disabled(), softirq, lone;

	io->status = BLK_STS_OK;
	/* A null-cipher read with one key never comes here (target.c). */
	if (bio->bi_status) {
		vdm_read_done(io, true);
		return;
	}
	lone = io->lone_start && !key->identity && vdm_lone(io->vc, READ);
	if (lone && vdm_split_pays(io->vc, READ))
		n = vdm_pieces(num_online_cpus(), io->iter.bi_size);
	if (!lone)
		io->lone_start = 0;
	io->lone_split = n > 1;
	atomic_set(&io->pending, n);
	softirq = !task && !in_hardirq() && !irqs_disabled();
	if (!task && vdm_read_bh_ok(io)) {
		struct vdm_piece *p = &io->bh.piece;

		p->io = io;
		p->iter = it;
		p->unit = unit;
		p->bytes = io->iter.bi_size;
		if (softirq)
			vdm_read_bh(io);
		else
			vdm_read_bh_queue(io);
		return;
	}
	here = task && vdm_io_room_ok(io) &&
	       (n > 1 || io->iter.bi_size < VEIL_SPLIT_MIN || lone);
	for (i = 0; i < n; i++) {
		struct vdm_piece *p = &io->pieces[i];
		unsigned int cnt = vdm_piece_units(units, n, i);

		p->io = io;
		p->iter = it;
		p->unit = unit;
		p->bytes = cnt * key->unit;
		if (i + 1 < n) {
			bio_advance_iter(bio, &it, p->bytes);
			unit += cnt;
		}
	}
	for (i = here; i < n; i++) {
		INIT_WORK(&io->pieces[i].work, vdm_read_piece_work);
		queue_work(vdm_crypt_wq, &io->pieces[i].work);
	}
	if (here)
		vdm_read_pieces_here(io, n);
}

/*
 * Arrange for a remapped read in the encrypted region (io->key held) to be
 * decrypted on completion.  Returns a DM_MAPIO_* verdict.
 */
int vdm_read_prepare(struct vdm_c *vc, struct vdm_io *io, struct bio *bio)
{
	io->iter = bio->bi_iter;
	io->lone_start = io->iter.bi_size >= VEIL_SPLIT_MIN ? ktime_get_ns() : 0;
	io->orig_end_io = bio->bi_end_io;
	io->orig_private = bio->bi_private;
	bio->bi_end_io = vdm_read_endio;
	bio->bi_private = io;
	return DM_MAPIO_REMAPPED;
}

/* ----------------------------------------------------------- writes --- */

static void vdm_bounce_free(struct vdm_c *vc, struct bio *clone)
{
	unsigned short i;

	for (i = 0; i < clone->bi_vcnt; i++) {
		struct page *page = clone->bi_io_vec[i].bv_page;

		if (PageCompound(page))
			__free_pages(page, compound_order(page));
		else
			mempool_free(page, &vc->page_pool);
	}
	bio_put(clone);
}

/*
 * One bio of bounce pages, @bytes long, for @bio, or NULL if @gfp (which
 * never waits, or always succeeds) cannot have it.  Large writes get
 * compound pages of up to VEIL_BOUNCE_ORDER when the page allocator has
 * them at once (fewer, larger allocations: as dm-crypt does since 6.5);
 * otherwise single pages come from the page allocator, or else the pool.
 */
static struct bio *vdm_bounce_one(struct vdm_c *vc, struct bio *bio,
				  unsigned int bytes, gfp_t gfp)
{
	unsigned int order = VEIL_BOUNCE_ORDER;
	struct bio *clone;

	clone = bio_alloc_bioset(vc->dev->bdev, DIV_ROUND_UP(bytes, PAGE_SIZE),
				 bio->bi_opf, gfp, &vc->bs);
	if (!clone)
		return NULL;
	clone->bi_ioprio = bio->bi_ioprio;
	while (bytes) {
		struct page *page = NULL;
		unsigned int len;

		while (order && (PAGE_SIZE << order) > bytes)
			order--;
		if (order) {
			/* opportunistic: not worth waking kswapd for */
			page = alloc_pages((GFP_NOWAIT & ~__GFP_KSWAPD_RECLAIM) |
					   __GFP_NOWARN | __GFP_NORETRY |
					   __GFP_NOMEMALLOC | __GFP_COMP, order);
			if (!page) {
				order--;
				continue;
			}
		} else {
			page = mempool_alloc(&vc->page_pool, gfp);
			if (!page) {
				vdm_bounce_free(vc, clone);
				return NULL;
			}
		}
		len = min_t(unsigned int, bytes, PAGE_SIZE << order);
		__bio_add_page(clone, page, len, 0);
		bytes -= len;
	}
	return clone;
}

/*
 * The @n (up to VEIL_MAX_JOBS) bounce bios of a write, @bytes[i] long each,
 * all or none.  First without waiting; then, unless @nowait, waiting for the
 * pool, where only one caller at a time may wait and it takes all its bios
 * at once, so two large writes cannot each hold part of the pool and wait
 * for the rest.  Returns -EAGAIN if @nowait and the pool is empty.
 */
static int vdm_bounce_alloc(struct vdm_c *vc, struct bio *bio,
			    const unsigned int *bytes, struct bio **clones,
			    unsigned int n, bool nowait)
{
	gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	bool locked = false;
	unsigned int i;

	for (;;) {
		for (i = 0; i < n; i++) {
			clones[i] = vdm_bounce_one(vc, bio, bytes[i], gfp);
			if (!clones[i])
				break;
		}
		if (i == n)
			break;
		while (i--)
			vdm_bounce_free(vc, clones[i]);
		if (nowait)
			return -EAGAIN;
		gfp = GFP_NOIO;
		mutex_lock(&vc->bounce_lock);
		locked = true;
	}
	if (locked)
		mutex_unlock(&vc->bounce_lock);
	return 0;
}

/* Each clone of a write ends here; the last one ends the bio. */
static void vdm_write_endio(struct bio *clone)
{
	struct vdm_io *io = clone->bi_private;
	struct bio *bio = vdm_io_bio(io);

	if (clone->bi_status)
		WRITE_ONCE(io->status, clone->bi_status);
	vdm_bounce_free(io->vc, clone);
	/* Before the bio ends, while the device cannot go away. */
	if (unlikely(READ_ONCE(io->vc->release_starved)))
		vdm_release_kick(io->vc);
	if (atomic_dec_and_test(&io->pending)) {
		if (io->lone_start)
			vdm_split_note(io, WRITE);
		bio->bi_status = READ_ONCE(io->status);
		bio_endio(bio);
	}
}

/* Submit an encrypted clone of @io, or end it if encryption failed. */
static void vdm_write_submit(struct vdm_io *io, struct bio *clone, int r,
			     bool first)
{
	if (r) {
		DMERR_LIMIT("%s: encryption failed at sector %llu: %d",
			    io->vc->name,
			    (unsigned long long)clone->bi_iter.bi_sector, r);
		clone->bi_status = BLK_STS_IOERR;
		bio_endio(clone);
	} else if (first) {
		dm_submit_bio_remap(vdm_io_bio(io), clone);
	} else {
		submit_bio_noacct(clone);
	}
}

/*
 * The submit thread of a device above a bio-based one.  A worker of
 * vdm_write_wq may not submit there itself: the device's map runs in its
 * submitter and may wait for something only that workqueue provides
 * (dm-veil.h).  So, as dm-crypt's write thread does, a thread of the
 * device's own submits the pieces the workers encrypted, and a device
 * that copies in its submitter (brd) copies beside the next writes'
 * encryption, while the writer goes on at once.  Unlike dm-crypt's
 * it exists only while large writes come: vdm_submit_get() has it started
 * and vdm_submit_ctl() stops it after VEIL_SUBMIT_IDLE without one, so an
 * idle device costs no thread.  Until it runs, and if it cannot be started,
 * the writer submits all pieces itself.
 */
#define VEIL_SUBMIT_IDLE	(5 * HZ)

static int vdm_submit_thread(void *data)
{
	struct vdm_c *vc = data;

	for (;;) {
		struct bio_list bios;
		struct blk_plug plug;
		struct bio *clone;

		set_current_state(TASK_IDLE);
		spin_lock(&vc->submit_lock);
		bios = vc->submit_list;
		bio_list_init(&vc->submit_list);
		spin_unlock(&vc->submit_lock);
		if (bio_list_empty(&bios)) {
			if (kthread_should_stop())
				break;
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		blk_start_plug(&plug);
		while ((clone = bio_list_pop(&bios))) {
			struct vdm_io *io = clone->bi_private;

			vdm_write_submit(io, clone, 0,
					 clone == io->wp[0].clone);
		}
		blk_finish_plug(&plug);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * Start the submit thread, or stop it once no write has used it for
 * VEIL_SUBMIT_IDLE; while it runs this checks again every VEIL_SUBMIT_IDLE.
 * Nothing waits for it: a write that finds no thread submits its pieces
 * itself.  A thread that cannot be started is asked for again by the
 * first write a second or more later.
 */
static void vdm_submit_ctl(struct work_struct *w)
{
	struct vdm_c *vc = container_of(to_delayed_work(w), struct vdm_c,
					submit_ctl);
	struct task_struct *task;

	spin_lock(&vc->submit_lock);
	task = vc->submit_task;
	if (task && (vc->submit_users || vc->submit_recent)) {
		vc->submit_recent = false;
		spin_unlock(&vc->submit_lock);
		queue_delayed_work(system_wq, &vc->submit_ctl,
				   VEIL_SUBMIT_IDLE);
		return;
	}
	vc->submit_task = NULL;
	spin_unlock(&vc->submit_lock);
	if (task) {
		/* No write holds it: its list is empty or being emptied. */
		kthread_stop(task);
		return;
	}

	task = kthread_create(vdm_submit_thread, vc, "kveil_w/%s", vc->name);
	spin_lock(&vc->submit_lock);
	vc->submit_spawning = false;
	if (IS_ERR(task)) {
		vc->submit_retry = jiffies + HZ;
		spin_unlock(&vc->submit_lock);
		return;
	}
	vc->submit_task = task;
	vc->submit_recent = true;
	spin_unlock(&vc->submit_lock);
	wake_up_process(task);
	queue_delayed_work(system_wq, &vc->submit_ctl, VEIL_SUBMIT_IDLE);
}

/*
 * Take the submit thread for the pieces of one write (true), or have it
 * started and let the writer submit them (false).
 */
static bool vdm_submit_get(struct vdm_c *vc)
{
	bool got;

	spin_lock(&vc->submit_lock);
	got = !!vc->submit_task;
	if (got) {
		vc->submit_users++;
		vc->submit_recent = true;
	} else if (!vc->submit_spawning &&
		   time_after_eq(jiffies, vc->submit_retry)) {
		vc->submit_spawning = true;
		queue_delayed_work(system_wq, &vc->submit_ctl, 0);
	}
	spin_unlock(&vc->submit_lock);
	return got;
}

/*
 * A piece of a write that took the submit thread is encrypted: hand its
 * @clone (if any) to the thread, and if it is the write's @last piece, give
 * the thread back.  The clone may end the bio: nothing may touch the
 * device after this.
 */
static void vdm_submit_hand(struct vdm_c *vc, struct bio *clone, bool last)
{
	spin_lock(&vc->submit_lock);
	if (last)
		vc->submit_users--;
	if (clone) {
		bio_list_add(&vc->submit_list, clone);
		wake_up_process(vc->submit_task);
	}
	spin_unlock(&vc->submit_lock);
}

void vdm_submit_init(struct vdm_c *vc)
{
	spin_lock_init(&vc->submit_lock);
	bio_list_init(&vc->submit_list);
	vc->submit_retry = jiffies;
	INIT_DELAYED_WORK(&vc->submit_ctl, vdm_submit_ctl);
}

/* Every bio of the device has ended: no write holds the thread. */
static void vdm_submit_exit(struct vdm_c *vc)
{
	cancel_delayed_work_sync(&vc->submit_ctl);
	if (vc->submit_task)
		kthread_stop(vc->submit_task);
	vc->submit_task = NULL;
}

/* Encrypt piece @p of a large write; @room: with the request in io's room. */
static int vdm_write_piece_crypt(struct vdm_wpiece *p, bool room)
{
	struct vdm_io *io = p->io;
	struct bio *clone = p->clone;

	return vdm_crypt_io(io, io->key, room, true, false, 1, vdm_io_bio(io),
			    p->iter, clone, clone->bi_iter, p->unit,
			    clone->bi_iter.bi_size);
}

/*
 * Piece @p of a large write is encrypted (@r: how), by a worker or @here
 * by the writer: hand it to the writer (io->wp_done), to the submit thread
 * (a worker's piece), or submit it.  The piece that finishes its
 * encryption last drops the key and the submit thread; a piece's clone
 * may end the bio, so nothing touches @io after its submission.
 */
static void vdm_write_piece_end(struct vdm_wpiece *p, int r, bool here)
{
	struct vdm_io *io = p->io;
	struct vdm_c *vc = io->vc;
	struct vdm_key *key = io->key;
	struct bio *clone = p->clone;
	bool first = p == &io->wp[0];
	bool thread = io->wp_thread;
	bool to_thread = thread && !here;
	bool last;

	if (io->wp_done) {
		p->err = r;
		if (atomic_dec_and_test(&io->crypting))
			complete(io->wp_done);
		return;
	}
	last = atomic_dec_and_test(&io->crypting);
	if (last) {
		io->key = NULL;
		vdm_key_put(key);
	}
	if (to_thread && !r) {
		vdm_submit_hand(vc, clone, last);
		return;
	}
	if (thread && last)
		vdm_submit_hand(vc, NULL, true);
	vdm_write_submit(io, clone, r, first);
}

/* A piece of a large write on vdm_write_wq. */
static void vdm_write_piece_work(struct work_struct *w)
{
	struct vdm_wpiece *p = container_of(w, struct vdm_wpiece, work);

	vdm_write_piece_end(p, vdm_write_piece_crypt(p, p == &p->io->wp[0]),
			    false);
}

/*
 * The writer's part of a lone write in @n pieces, the others queued to
 * workers: piece 0, then, as for a read, every other piece whose worker
 * has not begun (cancel_work() takes it back).  The writer submits these
 * itself: a submit thread could be woken on the very CPU that was too
 * busy for the workers.  Nothing is submitted before all of them are
 * encrypted: until piece 0's clone is submitted the bio cannot end, so
 * @io stays.
 */
static void vdm_write_pieces_here(struct vdm_io *io, unsigned int n)
{
	bool mine[VEIL_MAX_JOBS] = { true };
	int r[VEIL_MAX_JOBS];
	unsigned int i;

	r[0] = vdm_write_piece_crypt(&io->wp[0], true);
	/* from the last queued: the one least likely to have begun */
	for (i = n - 1; i > 0; i--) {
		mine[i] = cancel_work(&io->wp[i].work);
		if (mine[i])
			r[i] = vdm_write_piece_crypt(&io->wp[i], true);
	}
	/* in order; each piece still to end keeps @io */
	for (i = 0; i < n; i++)
		if (mine[i])
			vdm_write_piece_end(&io->wp[i], r[i], true);
}

/*
 * Encrypt a write into bounce pages and submit them; -EAGAIN (nothing
 * done) if @nowait and the pools are empty.  A small write is encrypted
 * and submitted right here, and so is a large one with nothing else in
 * flight while one CPU proves faster (vdm_split_pays()).  A large one with
 * others in flight goes whole to a worker, as in dm-crypt: the writes
 * beside it keep the other CPUs busy, and a split would only add clones
 * and hand-offs.  A lone large one that splitting pays for is cut in
 * pieces of at least VEIL_SPLIT_MIN / 2, one per CPU (up to VEIL_MAX_JOBS,
 * as a read), with a clone each (more pieces would only share the CPUs:
 * the work, encryption and the copy below, stays the same).  Worker or
 * pieces:
 *   - above a request-based device, workers encrypt and submit a piece
 *     each and the caller goes on at once: at queue depth the next writes
 *     are encrypted meanwhile, as dm-crypt's write queue does.  A write
 *     with nothing else in flight has its first piece, and every piece
 *     no worker has begun by then, done by the caller;
 *   - above a bio-based one, whose map runs in the submitter and may wait
 *     for something only vdm_write_wq provides (another dm-veil's pool,
 *     refilled by its own pieces), the same, but the workers hand their
 *     pieces to the device's submit thread; while the device has no such
 *     thread, a write at depth is encrypted by its caller, and for a lone
 *     one workers encrypt the other pieces while the caller encrypts the
 *     first, and the caller submits them all.
 */
static int vdm_write_do(struct vdm_c *vc, struct vdm_io *io,
			struct bio *bio, bool nowait)
{
	DECLARE_COMPLETION_ONSTACK(wp_done);
	struct vdm_key *key = io->key;
	unsigned int bytes[VEIL_MAX_JOBS] = { bio->bi_iter.bi_size };
	unsigned int cpus = num_online_cpus(), n = 1, i;
	u64 unit = io->sector >> key->unit_shift;
	struct bvec_iter iter = bio->bi_iter;
	sector_t sector = iter.bi_sector;
	struct bio *clones[VEIL_MAX_JOBS];
	bool thread = false, lone = false, deep = false;
	int r;

	might_sleep();
	if (bytes[0] >= VEIL_SPLIT_MIN && cpus > 1) {
		lone = vdm_lone(vc, WRITE);
		deep = !lone;
		if (lone && vdm_split_pays(vc, WRITE)) {
			unsigned int units = bytes[0] / key->unit;

			n = vdm_pieces(cpus, bytes[0]);
			for (i = 0; i < n; i++)
				bytes[i] = vdm_piece_units(units, n, i) *
					   key->unit;
		}
	}
	if (vdm_bounce_alloc(vc, bio, bytes, clones, n, nowait))
		return -EAGAIN;
	io->iter = bio->bi_iter;
	io->lone_start = lone ? ktime_get_ns() : 0;
	io->lone_split = n > 1;
	for (i = 0; i < n; i++) {
		clones[i]->bi_iter.bi_sector = sector;
		clones[i]->bi_private = io;
		clones[i]->bi_end_io = vdm_write_endio;
		sector += bytes[i] >> SECTOR_SHIFT;
	}
	io->status = BLK_STS_OK;
	atomic_set(&io->pending, n);
	if (n > 1 || deep)
		thread = !vc->workers_submit && vdm_submit_get(vc);
	if (n == 1 && !(deep && (vc->workers_submit || thread))) {
		r = vdm_crypt_io(io, key, true, true, false, 1, bio, iter,
				 clones[0], clones[0]->bi_iter, unit, bytes[0]);
		/* The clone may end the bio, and free @io. */
		io->key = NULL;
		vdm_write_submit(io, clones[0], r, true);
		vdm_key_put(key);
		return 0;
	}

	/*
	 * With nothing else in flight the writer has no next write to queue,
	 * and its CPU would only wait: it does piece 0 and any piece no
	 * worker has begun, and submits them.
	 */
	io->wp_thread = thread;
	io->wp_done = NULL;
	for (i = 0; i < n; i++) {
		struct vdm_wpiece *p = &io->wp[i];

		p->io = io;
		p->clone = clones[i];
		p->iter = iter;
		p->unit = unit;
		bio_advance_iter(bio, &iter, bytes[i]);
		unit += bytes[i] / key->unit;
		INIT_WORK(&p->work, vdm_write_piece_work);
	}
	atomic_set(&io->crypting, n);
	if (vc->workers_submit || thread) {
		for (i = 1; i < n; i++)
			queue_work(vdm_write_wq, &io->wp[i].work);
		if (lone)
			vdm_write_pieces_here(io, n);
		else
			queue_work(vdm_write_wq, &io->wp[0].work);
		return 0;
	}
	io->wp_done = &wp_done;
	for (i = 1; i < n; i++)
		queue_work(vdm_write_wq, &io->wp[i].work);
	vdm_write_pieces_here(io, n);
	vdm_write_submit(io, clones[0], io->wp[0].err, true);
	/* The last clone submitted may end the bio, and free @io. */
	wait_for_completion(&wp_done);
	io->key = NULL;
	for (i = 1; i < n; i++)
		vdm_write_submit(io, clones[i], io->wp[i].err, false);
	vdm_key_put(key);
	return 0;
}

/*
 * Encrypt a remapped write in the encrypted region (io->key held) and
 * submit the ciphertext, in the caller's context (@ctx says which).  In
 * map that is the submitter's, where dm core allocates with GFP_NOIO too
 * (vdm_dispatch() defers a write mapped with interrupts off); the release
 * work may not wait for the pools.  Returns DM_MAPIO_SUBMITTED or, with
 * nothing done, VDM_MAPIO_DEFER.
 */
int vdm_write(struct vdm_c *vc, struct vdm_io *io, struct bio *bio,
	      enum vdm_ctx ctx)
{
	if (vdm_write_do(vc, io, bio, ctx == VEIL_CTX_WORKER))
		return VDM_MAPIO_DEFER;
	return DM_MAPIO_SUBMITTED;
}

/* ------------------------------------------------------ setup/teardown --- */

struct workqueue_struct *vdm_wq;
struct workqueue_struct *vdm_crypt_wq;
struct workqueue_struct *vdm_write_wq;

int vdm_crypt_module_init(void)
{
	unsigned int cpu;

	/* the tasklets stand in for a BH workqueue: none where there is one */
	if (!veil_bh_wq) {
		for_each_possible_cpu(cpu) {
			struct vdm_bh_cpu *c = per_cpu_ptr(&vdm_bh_cpu, cpu);

			init_llist_head(&c->reads);
			tasklet_setup(&c->tasklet, vdm_bh_tasklet);
		}
	}
	vdm_wq = alloc_workqueue("kveild", WQ_MEM_RECLAIM | WQ_HIGHPRI |
				 WQ_UNBOUND, 0);
	/*
	 * Normal priority, as dm-crypt's default: high-priority workers
	 * would keep the submitter from queueing the next reads.  No
	 * max_active: a worker sleeps on an asynchronous cipher's answer.
	 */
	vdm_crypt_wq = alloc_workqueue("kveil_crypt", WQ_MEM_RECLAIM |
				       WQ_UNBOUND | WQ_CPU_INTENSIVE, 0);
	vdm_write_wq = alloc_workqueue("kveil_write", WQ_MEM_RECLAIM |
				       WQ_UNBOUND | WQ_CPU_INTENSIVE,
				       num_online_cpus());
	if (!vdm_wq || !vdm_crypt_wq || !vdm_write_wq) {
		vdm_crypt_module_exit();
		return -ENOMEM;
	}
	return 0;
}

void vdm_crypt_module_exit(void)
{
	unsigned int cpu;

	if (!veil_bh_wq) {
		for_each_possible_cpu(cpu)
			tasklet_kill(&per_cpu_ptr(&vdm_bh_cpu, cpu)->tasklet);
	}
	if (vdm_write_wq)
		destroy_workqueue(vdm_write_wq);
	vdm_write_wq = NULL;
	if (vdm_crypt_wq)
		destroy_workqueue(vdm_crypt_wq);
	if (vdm_wq)
		destroy_workqueue(vdm_wq);
	vdm_crypt_wq = NULL;
	vdm_wq = NULL;
}

int vdm_crypt_init(struct vdm_c *vc)
{
	int r;

	mutex_init(&vc->bounce_lock);
	r = bioset_init(&vc->bs, VEIL_BIO_POOL, 0, BIOSET_NEED_BVECS);
	if (r)
		return r;
	return mempool_init_page_pool(&vc->page_pool, BIO_MAX_VECS, 0);
}

/* Copes with any partly done vdm_crypt_init(). */
void vdm_crypt_exit(struct vdm_c *vc)
{
	vdm_submit_exit(vc);
	mempool_exit(&vc->page_pool);
	bioset_exit(&vc->bs);
}
