// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: getting the key, and what happens to I/O meanwhile.
 *
 * A device whose metadata has a key-id asks veil.ko for the key (state
 * waiting-for-key).  Bios for the encrypted region are then held on a list
 * (not failed, not polled) until the key arrives, the lookup fails, or they
 * have waited key_timeout seconds; each of those events moves them on.
 *
 * Every state change that affects held bios moves them to the release list
 * and the release work dispatches them again from scratch, so one function
 * (veil_dispatch) decides what each state does with a bio.  A bio keeps the
 * time it was first held, so even a bio that is held again (the device went
 * back to waiting meanwhile) waits at most key_timeout in total.
 *
 * Locking: ctl_lock (a mutex) serialises the control paths that replace the
 * key request: constructor, messages, destructor.  The key callback never
 * takes it, because veil_key_cancel() (called under it) waits for a running
 * callback.  vc->lock (a spinlock) protects the state and the bio lists.
 *
 * Key bytes: the keyblob is only passed to crypto_skcipher_setkey() in the
 * callback and never copied; the tfm's copy is freed with kfree_sensitive()
 * when the last bio using it is done.
 */
#include <linux/ctype.h>
#include <linux/jiffies.h>

#include "dm-veil.h"

/* Copy a reason for status output: printable ASCII only, never empty. */
void veil_set_reason(struct veil_c *vc, const char *reason)
{
	char *p;

	strscpy(vc->reason, reason && *reason ? reason : "-",
		sizeof(vc->reason));
	for (p = vc->reason; *p; p++)
		if (!isprint(*p))
			*p = '?';
}

static void veil_kick_release(struct veil_c *vc)
{
	bio_list_merge(&vc->release, &vc->held);
	bio_list_init(&vc->held);
	vc->n_held = 0;
	if (!bio_list_empty(&vc->release))
		queue_work(vc->wq, &vc->release_work);
}

/* Under vc->lock: let held bios see the new state. */
void veil_release_held(struct veil_c *vc)
{
	veil_kick_release(vc);
}

/* Under vc->lock, in state waiting-for-key. */
void veil_hold(struct veil_c *vc, struct bio *bio)
{
	struct veil_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long deadline;

	if (!io->held_since)
		io->held_since = jiffies | 1;	/* 0 means never held */
	deadline = io->held_since + vc->key_timeout * HZ;
	if (bio_list_empty(&vc->held))
		mod_delayed_work(vc->wq, &vc->timeout_work,
				 time_after(deadline, jiffies) ?
				 deadline - jiffies : 0);
	bio_list_add(&vc->held, bio);
	vc->n_held++;
}

static void veil_release_work(struct work_struct *w)
{
	struct veil_c *vc = container_of(w, struct veil_c, release_work);
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&vc->lock);
	list = vc->release;
	bio_list_init(&vc->release);
	spin_unlock_irq(&vc->lock);

	while ((bio = bio_list_pop(&list))) {
		switch (veil_dispatch(vc, bio, false)) {
		case DM_MAPIO_REMAPPED:
			dm_submit_bio_remap(bio, NULL);
			break;
		case DM_MAPIO_KILL:
			bio_io_error(bio);
			break;
		default:	/* submitted or held again */
			break;
		}
	}
}

/* Fail every held bio that has waited key_timeout; re-arm for the rest. */
static void veil_timeout_work(struct work_struct *w)
{
	struct veil_c *vc = container_of(to_delayed_work(w), struct veil_c,
					 timeout_work);
	unsigned long now = jiffies, next = 0, limit = vc->key_timeout * HZ;
	struct bio_list keep, expired;
	struct bio *bio;
	unsigned int n = 0;

	bio_list_init(&keep);
	bio_list_init(&expired);
	spin_lock_irq(&vc->lock);
	while ((bio = bio_list_pop(&vc->held))) {
		struct veil_io *io = dm_per_bio_data(bio, sizeof(*io));
		unsigned long deadline = io->held_since + limit;

		if (!time_before(now, deadline)) {
			bio_list_add(&expired, bio);
			n++;
			continue;
		}
		if (bio_list_empty(&keep) || time_before(deadline, next))
			next = deadline;
		bio_list_add(&keep, bio);
	}
	vc->held = keep;
	vc->n_held -= n;
	if (!bio_list_empty(&keep))
		mod_delayed_work(vc->wq, &vc->timeout_work, next - now);
	spin_unlock_irq(&vc->lock);

	if (n)
		DMWARN("%s: %u bio(s) failed after waiting %us for the key",
		       vc->name, n, vc->key_timeout);
	while ((bio = bio_list_pop(&expired)))
		bio_io_error(bio);
}

static const char *veil_key_err_reason(int err)
{
	switch (err) {
	case -EKEYREJECTED:
		return "key refused by the key manager";
	case -ENOKEY:
		return "key not found";
	case -EHOSTUNREACH:
		return "key manager unreachable";
	case -ECANCELED:
		return "key service stopped";
	default:
		return "key lookup failed";
	}
}

/* veil.ko calls this once per request, in process context. */
static void veil_key_cb(void *ctx, int err, const struct veil_keyblob *kb,
			const char *reason)
{
	struct veil_c *vc = ctx;
	struct veil_key *key = NULL;
	const char *why = NULL;
	unsigned int sector_size;
	char md_cipher[VEIL_CIPHER_MAX];
	struct veil_cipher cipher;
	u32 key_bytes;

	/*
	 * The metadata cannot change under us: changing it cancels this
	 * request first, which waits for this callback.
	 */
	spin_lock_irq(&vc->lock);
	cipher = vc->cipher;
	sector_size = vc->layout.sector_size;
	key_bytes = vc->md->key_bytes;
	memcpy(md_cipher, vc->md->cipher, sizeof(md_cipher));
	spin_unlock_irq(&vc->lock);

	if (!err) {
		if (kb->key_len != key_bytes) {
			why = "key size does not match the metadata";
		} else if (kb->cipher[0] &&
			   strncmp(kb->cipher, md_cipher, VEIL_CIPHER_MAX)) {
			why = "key is for another cipher";
		} else {
			key = veil_key_create(&cipher, sector_size, kb->key,
					      kb->key_len, &why);
			if (IS_ERR(key))
				key = NULL;
		}
		err = key ? 0 : -EKEYREJECTED;
	} else {
		why = (reason && *reason) ? reason : veil_key_err_reason(err);
	}

	spin_lock_irq(&vc->lock);
	if (vc->state != VEIL_STATE_WAITING) {
		/* Cannot happen: every state change cancels the request. */
		spin_unlock_irq(&vc->lock);
		veil_key_put(key);
		return;
	}
	if (key) {
		vc->key = key;
		vc->state = VEIL_STATE_ENCRYPTED;
		veil_set_reason(vc, NULL);
	} else {
		vc->state = VEIL_STATE_NO_KEY;
		veil_set_reason(vc, why);
	}
	veil_kick_release(vc);
	spin_unlock_irq(&vc->lock);

	if (key)
		DMINFO("%s: key received, device unlocked", vc->name);
	else
		DMWARN("%s: no key (%d): %s", vc->name, err, why);
}

/* Under ctl_lock: release the current key request, if any. */
void veil_cancel_request(struct veil_c *vc)
{
	if (vc->req) {
		veil_key_cancel(vc->req);
		vc->req = NULL;
	}
}

/*
 * Under ctl_lock, with the metadata (key-id) in place: drop any key and
 * old request, enter waiting-for-key and post a new request.
 */
void veil_request_key(struct veil_c *vc)
{
	u8 key_id[VEIL_KEY_ID_MAX];
	char hint[VEIL_KEY_HINT_MAX];
	struct veil_key_req *req;
	struct veil_key *old;
	u32 key_id_len;

	veil_cancel_request(vc);

	spin_lock_irq(&vc->lock);
	old = vc->key;
	vc->key = NULL;
	vc->state = VEIL_STATE_WAITING;
	veil_set_reason(vc, NULL);
	key_id_len = vc->md->key_id_len;
	memcpy(key_id, vc->md->key_id, key_id_len);
	memcpy(hint, vc->md->key_hint, sizeof(hint));
	spin_unlock_irq(&vc->lock);
	veil_key_put(old);

	req = veil_key_request(VEIL_CONSUMER_DM, vc->name, key_id, key_id_len,
			       hint, veil_key_cb, vc);
	if (IS_ERR(req)) {
		DMERR("%s: cannot post the key request: %ld", vc->name,
		      PTR_ERR(req));
		spin_lock_irq(&vc->lock);
		vc->state = VEIL_STATE_NO_KEY;
		veil_set_reason(vc, "cannot post the key request");
		veil_kick_release(vc);
		spin_unlock_irq(&vc->lock);
		return;
	}
	vc->req = req;
}

/*
 * Under ctl_lock: drop the key and the request, enter @state (no-key,
 * unknown or unencrypted) and let held bios see it.
 */
void veil_drop_key(struct veil_c *vc, enum veil_state state,
		   const char *reason)
{
	struct veil_key *old;

	veil_cancel_request(vc);
	spin_lock_irq(&vc->lock);
	old = vc->key;
	vc->key = NULL;
	vc->state = state;
	veil_set_reason(vc, reason);
	veil_kick_release(vc);
	spin_unlock_irq(&vc->lock);
	veil_key_put(old);
}

/*
 * "wipe_key": forget the key now.  The device goes to no-key (not waiting:
 * the administrator asked for the key to be gone, so no new request is
 * posted and I/O to the encrypted region fails at once); "retry" asks for
 * the key again.  Bios already being encrypted or decrypted finish with the
 * key they hold.  Allowed while active, unlike dm-crypt's "key wipe": with
 * no key there is nothing I/O could do wrong, it can only fail.
 */
int veil_msg_wipe_key(struct veil_c *vc)
{
	int r = 0;

	mutex_lock(&vc->ctl_lock);
	switch (READ_ONCE(vc->state)) {
	case VEIL_STATE_WAITING:
	case VEIL_STATE_NO_KEY:
	case VEIL_STATE_ENCRYPTED:
		veil_drop_key(vc, VEIL_STATE_NO_KEY, "key wiped");
		DMINFO("%s: key wiped", vc->name);
		break;
	default:
		r = -EINVAL;
		break;
	}
	mutex_unlock(&vc->ctl_lock);
	return r;
}

/* "retry": ask for the key again (after no-key, or while waiting). */
int veil_msg_retry(struct veil_c *vc)
{
	int r = 0;

	mutex_lock(&vc->ctl_lock);
	switch (READ_ONCE(vc->state)) {
	case VEIL_STATE_WAITING:
	case VEIL_STATE_NO_KEY:
		veil_request_key(vc);
		break;
	case VEIL_STATE_ENCRYPTED:
		break;			/* already has its key */
	default:
		r = -EINVAL;
		break;
	}
	mutex_unlock(&vc->ctl_lock);
	return r;
}

void veil_keys_init(struct veil_c *vc)
{
	mutex_init(&vc->ctl_lock);
	spin_lock_init(&vc->lock);
	bio_list_init(&vc->held);
	bio_list_init(&vc->release);
	INIT_DELAYED_WORK(&vc->timeout_work, veil_timeout_work);
	INIT_WORK(&vc->release_work, veil_release_work);
	veil_set_reason(vc, NULL);
}

/*
 * Destructor side: no request, no key, no work left.  dm suspends a table
 * before destroying it and suspend waits for every bio, held ones included,
 * so the lists are empty here.
 */
void veil_keys_exit(struct veil_c *vc)
{
	mutex_lock(&vc->ctl_lock);
	veil_cancel_request(vc);
	mutex_unlock(&vc->ctl_lock);
	if (vc->wq) {
		cancel_delayed_work_sync(&vc->timeout_work);
		flush_work(&vc->release_work);
	}
	veil_key_put(vc->key);
	vc->key = NULL;
	WARN_ON_ONCE(!bio_list_empty(&vc->held) ||
		     !bio_list_empty(&vc->release));
}
