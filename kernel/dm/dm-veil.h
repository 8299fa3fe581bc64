/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-veil: the device-mapper target "veil".
 *
 * One target instance (struct vdm_c) sits on one logical unit (LU) that
 * carries veil metadata (common/veil_md.h).  It exposes only the LU's data
 * area, and handles each bio according to the device state and to whether
 * the bio lies in a plaintext region or in the encrypted region (see the
 * table in target.c).
 *
 * Files:
 *   target.c    table constructor/destructor, map, status, messages
 *   metadata.c  reading both metadata copies and choosing one
 *   crypt.c     cipher specs, key contexts, encrypting writes and
 *               decrypting reads
 *   state.c     the state machine: states, events, the one transition
 *               function, held bios
 *   keys.c      key requests to veil.ko, key answers, key messages
 *   share.c     keys shared by the tables of one LU across reloads
 *   reencrypt.c online re-encryption: the window lock, converting a
 *               window from the old key to the new one, the boundary
 *   md_codec.c  the shared metadata codec compiled into this module
 *
 * Words: a "req" here is always a crypto (skcipher) request; a request to
 * veil.ko for a key is a "key_req".
 *
 * Names: this module's own functions and types start with vdm_ (veil.ko's
 * internals with vcore_, 9pnet_vsock's with vs9p_); veil_ is left to what
 * the modules share: veil.ko's exported API (core/veil_core.h), the
 * metadata codec (veil_md_*) and the UAPI.
 */
#ifndef _DM_VEIL_H
#define _DM_VEIL_H

#include <linux/bio.h>
#include <linux/crypto.h>
#include <linux/device-mapper.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/completion.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>
#include <linux/veil.h>

#include "veil_md.h"
#include "core/veil_core.h"

#define DM_MSG_PREFIX "veil"

/*
 * The key_timeout table option defaults to, and may not exceed,
 * VEIL_KEY_TIMEOUT_MAX (the UAPI header says why).  The default is
 * longer than the key daemon's retry budget (30 s) and a SCSI command
 * timeout, so a slow key manager shows its own reason rather than a
 * timeout.
 */
#define VEIL_KEY_TIMEOUT_DEFAULT	VEIL_KEY_TIMEOUT_MAX

/* A write is encrypted into bounce pages of at most one bio's worth. */
#define VEIL_MAX_WRITE_SECTORS	(BIO_MAX_VECS << (PAGE_SHIFT - SECTOR_SHIFT))

/* IV generators. */
enum vdm_iv {
	VEIL_IV_NONE,		/* ecb only */
	VEIL_IV_PLAIN,		/* 32-bit little-endian sector number */
	VEIL_IV_PLAIN64,	/* 64-bit little-endian sector number */
};

/* A dm-crypt style cipher spec, parsed: "aes-xts-plain64" -> "xts(aes)". */
struct vdm_cipher {
	char api_name[CRYPTO_MAX_ALG_NAME];
	enum vdm_iv iv;
};

/*
 * A key context: a tfm holding one key, shared by every bio that is being
 * encrypted or decrypted with it.  It is built, without a key, when the
 * metadata is read (the device's spare), and the key is set when it
 * arrives.  The last reference frees the tfm (whose key schedule the
 * crypto API frees with kfree_sensitive), in process context.  A table
 * drops its key with vdm_key_drop() (share.c), a bio with vdm_key_put().
 */
struct vdm_key {
	struct kref ref;
	struct crypto_skcipher *tfm;
	/*
	 * While the LU is being re-encrypted, the key (same cipher) of the
	 * sectors at or above the boundary; this key holds its reference.
	 */
	struct vdm_key *prev;
	mempool_t req_pool;		/* skcipher requests for this tfm */
	unsigned int unit;		/* bytes per crypto unit (sector_size) */
	unsigned int unit_shift;	/* log2(unit / 512) */
	enum vdm_iv iv;
	unsigned int iv_size;
	unsigned int req_size;	/* bytes of one skcipher request */
	/*
	 * ecb(cipher_null): every unit is its own ciphertext.  In place (a
	 * read) there is nothing to do, so neither a crypto API call per
	 * segment nor a second CPU; a write still copies into its bounce
	 * pages through the cipher.
	 */
	bool identity;

	/* Sharing between the tables of one LU (share.c). */
	struct list_head share_node;	/* under vdm_share_lock */
	unsigned int tables;		/* tables holding it, ditto */
	bool win_busy;			/* a table has a window locked, ditto */
	u8 lu_uuid[16];			/* set once, before it is listed */
	u32 key_id_len;
	u8 key_id[VEIL_KEY_ID_MAX];
	char cipher[VEIL_CIPHER_MAX];
};

/* What a suspend in progress does to bios for a device without its key. */
enum vdm_suspend {
	VEIL_RUNNING,		/* not suspending: hold them */
	VEIL_SUSPEND_REQUEUE,	/* noflush: hand them back to dm, to map again
				 * after resume
				 */
	VEIL_SUSPEND_FAIL,	/* flush (and remove): fail them */
};

/* What a control path or a key answer tells the state machine (state.c). */
enum vdm_event {
	VEIL_EV_MD_PLAIN,	/* metadata read: no key-id, or no metadata */
	VEIL_EV_MD_KEYED,	/* metadata read: a key-id to ask the key for */
	VEIL_EV_MD_BAD,		/* metadata unusable, or layout no longer fits */
	VEIL_EV_ASK,		/* ask for the key again */
	VEIL_EV_KEY,		/* the key arrived */
	VEIL_EV_NO_KEY,		/* the lookup failed or could not be posted */
	VEIL_EV_WIPE,		/* the administrator wiped the key */
	__VEIL_EV_MAX,
};

/*
 * Where a bio is being handled, which says whether the crypto may sleep:
 *   VEIL_CTX_MAP     the target's map, in the submitter's context, where dm
 *                    core itself allocates with GFP_NOIO: may sleep, unless
 *                    (never expected) interrupts are off;
 *   VEIL_CTX_WORKER  the release work: process context, but it must not
 *                    wait for the device's pools (see vdm_wq).
 * Read completions have their own rule (crypt.c).
 */
enum vdm_ctx {
	VEIL_CTX_MAP,
	VEIL_CTX_WORKER,
};

/* The part of the LU the target exposes. */
struct vdm_layout {
	bool known;		/* false: metadata unreadable when constructed */
	u64 data_offset;	/* 512-byte sectors from the start of the LU */
	u64 data_sectors;
	unsigned int sector_size;
};

struct vdm_c {
	struct dm_target *ti;
	struct dm_dev *dev;
	u64 lu_sectors;
	const char *name;	/* the dm device's disk name, "dm-3": logs, key requests */

	/* Table options, as given (status TABLE reproduces them). */
	unsigned int key_timeout;	/* seconds */
	bool key_timeout_set;
	bool allow_discards;

	/*
	 * Logical block size advertised to the layers above, fixed for the
	 * life of the table: the metadata's sector size, or 4096 when no
	 * metadata could be read (so a later "update" may adopt either size).
	 */
	unsigned int io_block;

	/*
	 * ctl_lock serialises the control paths (constructor, messages,
	 * destructor); the key answer never takes it (state.c, keys.c).
	 */
	struct mutex ctl_lock;
	struct veil_key_req *key_req;	/* under ctl_lock */
	struct veil_key_req *old_key_req; /* under ctl_lock: re-encryption */
	bool win_converted;		/* under ctl_lock: the window is rewritten */
	struct vdm_key *win_key;	/* under ctl_lock: marked busy (share.c) */

	/*
	 * lock guards what the I/O path reads.  The fields marked "both" are
	 * written under ctl_lock and lock together, so a control path holding
	 * ctl_lock may read them without lock.  The rest is under lock.
	 */
	spinlock_t lock;
	enum veil_state state;		/* only vdm_transition() writes it */
	struct vdm_layout layout;	/* both; status and iterate_devices
					 * read single words of it unlocked
					 */
	struct veil_md *md;		/* both: last good metadata, or NULL */
	struct vdm_cipher cipher;	/* both */
	struct vdm_key *key;		/* set only in state encrypted */
	struct vdm_key *spare;		/* both: no key yet, the next key's */
	struct vdm_key *old_spare;	/* both: the same for the old key */
	struct vdm_key *got;		/* one key of a pair, arrived first */
	bool got_old;			/* ...and which one */
	/*
	 * Re-encryption: data-area sectors below the boundary use the key,
	 * the rest key->prev; bios touching the window [win_start, +win_len)
	 * are held (win_len 0: none).  Bios mapped since the last flip count
	 * in inflight[epoch]; locking a window waits for the other count.
	 */
	u64 boundary;
	u64 win_start, win_len;
	unsigned int epoch;
	char reason[VEIL_REASON_MAX];	/* why not encrypted, "-" if none */
	struct bio_list held;		/* encrypted-region bios waiting for a key */
	unsigned int n_held;
	struct bio_list release;	/* bios to re-dispatch after a change */
	enum vdm_suspend suspend;	/* from presuspend to resume */

	/* Set by the constructor before the table goes live, then fixed. */
	unsigned int req_room;		/* see struct vdm_io */

	struct delayed_work timeout_work;	/* fails held bios past the timeout */
	struct delayed_work release_work;	/* re-dispatches vc->release */
	bool release_starved;		/* the release work waits for the pool */

	atomic_t inflight[2];		/* no lock */
	wait_queue_head_t drain_wq;

	/*
	 * Lone large reads [0] and writes [1] (crypt.c): how long one took,
	 * in ns per MiB, a running average for those done on one CPU [][0]
	 * and for those split over the CPUs [][1] (0: none yet); when the
	 * last one ended (ns); how many there were; and until when (ns) the
	 * caller is taken to have more than one in flight.  No lock: a lost
	 * update only slows the estimate.
	 */
	unsigned int split_ns[2][2];
	atomic64_t split_last[2];
	atomic_t split_count[2];
	atomic64_t split_deep[2];

	bool workers_submit;		/* the device below is request-based */
	/*
	 * Above a bio-based device: the thread that submits the pieces the
	 * workers encrypted, while large writes come (crypt.c).
	 */
	spinlock_t submit_lock;
	struct task_struct *submit_task;	/* under submit_lock */
	struct bio_list submit_list;		/* under submit_lock */
	unsigned int submit_users;		/* under submit_lock */
	bool submit_recent;			/* under submit_lock */
	bool submit_spawning;			/* under submit_lock */
	unsigned long submit_retry;		/* under submit_lock */
	struct delayed_work submit_ctl;		/* starts and stops it */
	struct bio_set bs;		/* write bounce bios */
	mempool_t page_pool;		/* write bounce pages */
	struct mutex bounce_lock;	/* one blocking bounce allocation at a time */
};

/* Large bios are decrypted or encrypted in up to this many pieces at once. */
#define VEIL_MAX_JOBS		4

/* The largest IV of a cipher dm-veil accepts, in bytes. */
#define VEIL_IV_MAX		32

/* One piece of a read's decryption (crypt.c). */
struct vdm_piece {
	struct work_struct work;
	struct vdm_io *io;
	struct bvec_iter iter;		/* its data */
	u64 unit;			/* its first crypto unit */
	unsigned int bytes;
};

/*
 * Per-bio data (ti->per_io_data_size).  dm places per-bio data immediately
 * before the bio, so struct vdm_io sits at the end of it and
 * dm_per_bio_data(bio, sizeof(struct vdm_io)) finds it whatever the total
 * size; the vc->req_room bytes in front of it hold one skcipher request,
 * so small I/O needs no allocation for its crypto (as in dm-crypt).
 */
struct vdm_io {
	struct vdm_c *vc;
	struct vdm_key *key;
	sector_t sector;		/* target-relative 512-byte sector */
	u64 boundary;			/* vc->boundary when the bio was mapped */
	int epoch;			/* inflight count it is in, -1: none */
	unsigned long held_since;	/* jiffies, 0 if never held */
	bio_end_io_t *orig_end_io;	/* reads: restored before completing */
	void *orig_private;
	/* reads: the data, for decryption; lone large writes: its size */
	struct bvec_iter iter;
	u64 lone_start;			/* ns: a lone large I/O (crypt.c) */
	bool lone_split;		/* ...split over the CPUs */
	struct work_struct work;
	/* writes: the clones, reads: the pieces not yet done; the first error */
	atomic_t pending;
	blk_status_t status;
	union {
		struct {	/* a large write's pieces, each for a worker */
			struct vdm_wpiece {
				struct work_struct work;
				struct vdm_io *io;
				struct bio *clone;	/* its ciphertext */
				u64 unit;		/* its first crypto unit */
				struct bvec_iter iter;	/* its plaintext */
				int err;
			} wp[VEIL_MAX_JOBS];
			/* the writer submits: it waits here for the workers */
			struct completion *wp_done;
			atomic_t crypting;	/* pieces not yet encrypted */
			bool wp_thread;		/* holds vc->submit_task */
		};
		struct vdm_piece pieces[VEIL_MAX_JOBS];	/* a read's */
		/*
		 * A read decrypted in softirq context (crypt.c), one piece:
		 * what an asynchronous cipher still reads after the call
		 * returns, and its answer.
		 */
		struct {
			struct vdm_piece piece;
			struct llist_node node;	/* before 6.9 (crypt.c) */
			struct scatterlist sg;
			__le64 iv[VEIL_IV_MAX / sizeof(__le64)];
			int err;
		} bh;
	};
};

/*
 * Every dm-veil device shares three workqueues (crypt.c), so an idle
 * device costs no worker and no rescuer.  Sharing is safe because of one
 * rule: a work item never sleeps waiting for something only another item
 * of its own workqueue could provide.
 *   vdm_crypt_wq  pieces of a read's decryption, and of a large request's
 *                 en- or decryption (vdm_crypt()): they wait for nothing
 *                 but the cipher.
 *   vdm_write_wq  the pieces of a large write: they wait for the cipher,
 *                 and a piece submits its clone itself only to a
 *                 request-based device, whose submission waits for
 *                 nothing but that device's own requests (a bio-based
 *                 device's map, perhaps another dm-veil's, runs in its
 *                 submitter and could wait for a pool that only pieces
 *                 on this queue refill); above a bio-based device a piece
 *                 goes to the device's own submit thread, or its writer.
 *   vdm_wq        the release and timeout work of held bios, which never
 *                 wait for a device's pools (a write the pools cannot
 *                 serve at once waits on the release list, and the next
 *                 write completion of the device starts the work again),
 *                 and the put of a read's key that was the last reference.
 * What sharing cannot rule out is a chain of three stacked dm-veil devices:
 * a release work submitting to the middle one waits, in its map like any
 * submitter, for the middle one's pool, which the bottom one may be
 * holding for a key while memory is too tight for another worker.
 */
extern struct workqueue_struct *vdm_wq;
extern struct workqueue_struct *vdm_crypt_wq;
extern struct workqueue_struct *vdm_write_wq;

/*
 * vdm_write()'s verdict for a write that cannot be encrypted now without
 * sleeping (a worker with empty pools, or interrupts off): the bio is as
 * it was before vdm_dispatch() (no key reference, not counted) and goes
 * to the release list.  Never returned to dm.
 */
#define VDM_MAPIO_DEFER	0x100

/* The request room in front of @io, or NULL if @key's request won't fit. */
static inline void *vdm_io_req(struct vdm_io *io, struct vdm_key *key)
{
	if (key->req_size > io->vc->req_room)
		return NULL;
	return (u8 *)io - io->vc->req_room;
}

static inline struct bio *vdm_io_bio(struct vdm_io *io)
{
	return dm_bio_from_per_bio_data(io, sizeof(*io));
}

/* target.c */
int vdm_dispatch(struct vdm_c *vc, struct bio *bio, enum vdm_ctx ctx);

/* metadata.c */
int vdm_md_load(struct vdm_c *vc, struct veil_md *md, const char **why);
int vdm_md_setup(struct vdm_c *vc);
int vdm_msg_update(struct vdm_c *vc);

/* crypt.c */
int vdm_cipher_parse(const char *spec, struct vdm_cipher *c,
		     const char **why);
struct vdm_key *vdm_key_alloc(const struct vdm_cipher *c,
			      unsigned int sector_size, const char **why);
int vdm_key_setkey(struct vdm_key *key, const u8 *k, unsigned int key_len,
		   const char **why);
void vdm_key_put(struct vdm_key *key);
void vdm_submit_init(struct vdm_c *vc);
int vdm_crypt_init(struct vdm_c *vc);
int vdm_crypt_module_init(void);
void vdm_crypt_module_exit(void);
unsigned int vdm_req_room(const struct vdm_key *key);
void vdm_crypt_exit(struct vdm_c *vc);
int vdm_crypt(struct vdm_c *vc, struct vdm_key *key,
	      struct skcipher_request *req, bool encrypt, bool atomic,
	      unsigned int max_jobs, struct bio *src, struct bvec_iter si,
	      struct bio *dst, struct bvec_iter di, u64 unit,
	      unsigned int bytes);
int vdm_read_prepare(struct vdm_c *vc, struct vdm_io *io, struct bio *bio);
int vdm_write(struct vdm_c *vc, struct vdm_io *io, struct bio *bio,
	      enum vdm_ctx ctx);

/* share.c */
struct vdm_key *vdm_share_find(const struct veil_md *md);
void vdm_share_busy(struct vdm_key *key, bool busy);
void vdm_share_add(struct vdm_key *key, const struct veil_md *md);
void vdm_share_forget(struct vdm_key *key);
void vdm_key_drop(struct vdm_key *key);

/* state.c */
const char *vdm_state_name(enum veil_state state);
bool vdm_event_allowed(enum veil_state state, enum vdm_event ev);
int vdm_transition(struct vdm_c *vc, enum vdm_event ev,
		   struct vdm_key *key, const char *reason,
		   struct vdm_key **old);
void vdm_hold(struct vdm_c *vc, struct bio *bio);
void vdm_release_held(struct vdm_c *vc);
void vdm_defer(struct vdm_c *vc, struct bio *bio);
void vdm_release_kick(struct vdm_c *vc);
void vdm_suspend_held(struct vdm_c *vc, enum vdm_suspend how);
void vdm_state_init(struct vdm_c *vc);
void vdm_state_exit(struct vdm_c *vc);

/* keys.c */
void vdm_keys_init(struct vdm_c *vc);
void vdm_keys_exit(struct vdm_c *vc);
void vdm_cancel_request(struct vdm_c *vc);
struct vdm_key *vdm_spare_alloc(struct vdm_c *vc,
				const struct vdm_cipher *c,
				unsigned int sector_size);
void vdm_post_request(struct vdm_c *vc);
int vdm_key_event(struct vdm_c *vc, enum vdm_event ev, const char *reason);
int vdm_msg_wipe_key(struct vdm_c *vc);
int vdm_msg_retry(struct vdm_c *vc);

/* reencrypt.c */
bool vdm_in_window(struct vdm_c *vc, sector_t sector, unsigned int nr);
int vdm_reenc_message(struct vdm_c *vc, unsigned int argc, char **argv,
		      char *result, unsigned int maxlen);
void vdm_reenc_exit(struct vdm_c *vc);

#endif /* _DM_VEIL_H */
