// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: getting the key, and what happens to I/O meanwhile.
 *
 * A device whose metadata has a key-id asks veil.ko for the key (state
 * waiting-for-key, see state.c); the answer, or an administrator's message,
 * becomes an event for vdm_transition().
 *
 * Locking: ctl_lock (a mutex) serialises the control paths that replace the
 * key request: constructor, messages, destructor.  The key callback never
 * takes it, because veil_key_cancel() (called under it) waits for a running
 * callback.  vc->lock (a spinlock) protects the state and the bio lists.
 *
 * Key contexts: the tfm for the metadata's cipher is built beforehand, by
 * the control path that reads the metadata or asks for the key (the
 * device's spare), so a key's arrival only sets the key on it, allocating
 * nothing that could wait on I/O.
 *
 * Key bytes: the keyblob is only passed to crypto_skcipher_setkey() in the
 * callback and never copied; the tfm's copy is freed with kfree_sensitive()
 * when the last table and the last bio using it are done.
 */
#include <linux/sched/mm.h>

#include "dm-veil.h"

static const char *vdm_key_err_reason(int err)
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

/*
 * Record on @key which key-id of @md it holds (@old: the old one of a
 * re-encryption), for share.c's matching.
 */
static void vdm_key_name(struct vdm_key *key, const struct veil_md *md,
			 bool old)
{
	memcpy(key->lu_uuid, md->uuid, sizeof(key->lu_uuid));
	key->key_id_len = old ? md->old_key_id_len : md->key_id_len;
	memcpy(key->key_id, old ? md->old_key_id : md->key_id,
	       key->key_id_len);
	strscpy(key->cipher, md->cipher, sizeof(key->cipher));
}

/*
 * An answer to the request for the key (@old false) or, while the LU is
 * being re-encrypted, for the old key.  veil.ko calls back once per
 * request, in process context; the two answers of a pair may run at once,
 * and the one that finds the other already arrived (vc->got) completes the
 * pair: the new key takes the old one as key->prev.
 */
static void vdm_key_arrived(struct vdm_c *vc, bool old, int err,
			    const struct veil_keyblob *kb, const char *reason)
{
	struct vdm_key *key = NULL, *prev, *partner = NULL;
	const char *why = NULL;
	char md_cipher[VEIL_CIPHER_MAX], buf[VEIL_REASON_MAX];
	bool pair;
	u32 key_bytes;
	int r;

	might_sleep();
	/*
	 * The metadata and the spares cannot change under us: changing them
	 * cancels the requests first, which waits for this callback.
	 */
	spin_lock_irq(&vc->lock);
	key_bytes = vc->md->key_bytes;
	pair = vc->md->reencrypting;
	memcpy(md_cipher, vc->md->cipher, sizeof(md_cipher));
	if (!err) {
		key = old ? vc->old_spare : vc->spare;
		if (old)
			vc->old_spare = NULL;
		else
			vc->spare = NULL;
	}
	spin_unlock_irq(&vc->lock);

	if (!err) {
		if (!key)
			why = "no cipher context (out of memory); retry";
		else if (kb->key_len != key_bytes)
			why = "key size does not match the metadata";
		else if (kb->cipher[0] &&
			 strncmp(kb->cipher, md_cipher, VEIL_CIPHER_MAX))
			why = "key is for another cipher";
		else if (vdm_key_setkey(key, kb->key, kb->key_len, &why))
			why = why ?: "key refused by the cipher";
		if (why) {
			vdm_key_put(key);
			key = NULL;
		}
		err = key ? 0 : -EKEYREJECTED;
		if (key)
			vdm_key_name(key, vc->md, old);
	} else {
		why = (reason && *reason) ? reason : vdm_key_err_reason(err);
	}
	if (why && old) {
		snprintf(buf, sizeof(buf), "old key (re-encryption): %s", why);
		why = buf;
	}

	spin_lock_irq(&vc->lock);
	if (key && pair && !vdm_event_allowed(vc->state, VEIL_EV_KEY)) {
		/* The other answer failed first: the device left waiting. */
		spin_unlock_irq(&vc->lock);
		vdm_key_put(key);
		return;
	}
	if (key && pair) {
		if (!vc->got || vc->got_old == old) {
			/* The first of the two: wait for the other one. */
			swap(vc->got, key);
			vc->got_old = old;
			spin_unlock_irq(&vc->lock);
			vdm_key_put(key);	/* a duplicate: cannot happen */
			DMINFO("%s: %s key received, waiting for the %s one",
			       vc->name, old ? "old" : "new",
			       old ? "new" : "old");
			return;
		}
		prev = old ? key : vc->got;
		key = old ? vc->got : key;
		vc->got = NULL;
		key->prev = prev;
	} else if (!key) {
		/* Either answer failing leaves the pair incomplete. */
		partner = vc->got;
		vc->got = NULL;
	}
	spin_unlock_irq(&vc->lock);
	vdm_key_put(partner);
	/* vc->md cannot change before we return (see above). */
	if (key)
		vdm_share_add(key, vc->md);

	spin_lock_irq(&vc->lock);
	r = vdm_transition(vc, key ? VEIL_EV_KEY : VEIL_EV_NO_KEY, key, why,
			   &prev);
	spin_unlock_irq(&vc->lock);
	vdm_key_drop(prev);
	if (r) {
		/*
		 * Refused: the device already left waiting-for-key on the
		 * other answer's failure; the requests are cancelled later.
		 */
		vdm_key_drop(key);
		return;
	}
	if (key)
		DMINFO("%s: key%s received, device unlocked", vc->name,
		       pair ? "s" : "");
	else
		DMWARN("%s: no key (%d): %s", vc->name, err, why);
}

static void vdm_key_cb(void *ctx, int err, const struct veil_keyblob *kb,
		       const char *reason)
{
	vdm_key_arrived(ctx, false, err, kb, reason);
}

static void vdm_old_key_cb(void *ctx, int err, const struct veil_keyblob *kb,
			   const char *reason)
{
	vdm_key_arrived(ctx, true, err, kb, reason);
}

/*
 * Under ctl_lock: release the key requests, if any, and a key of a pair
 * whose other half will now never come.
 */
void vdm_cancel_request(struct vdm_c *vc)
{
	struct vdm_key *got;

	lockdep_assert_held(&vc->ctl_lock);
	if (vc->key_req) {
		veil_key_cancel(vc->key_req);
		vc->key_req = NULL;
	}
	if (vc->old_key_req) {
		veil_key_cancel(vc->old_key_req);
		vc->old_key_req = NULL;
	}
	spin_lock_irq(&vc->lock);
	got = vc->got;
	vc->got = NULL;
	spin_unlock_irq(&vc->lock);
	vdm_key_put(got);
}

/*
 * A key context without a key for cipher @c, or NULL (logged).  Bios may
 * be held while a control path builds it, so nothing it allocates waits
 * on I/O.
 */
struct vdm_key *vdm_spare_alloc(struct vdm_c *vc,
				const struct vdm_cipher *c,
				unsigned int sector_size)
{
	struct vdm_key *key;
	const char *why = "";
	unsigned int noio;

	noio = memalloc_noio_save();
	key = vdm_key_alloc(c, sector_size, &why);
	memalloc_noio_restore(noio);
	if (IS_ERR(key)) {
		DMERR("%s: %s: %ld", vc->name, why, PTR_ERR(key));
		return NULL;
	}
	return key;
}

/*
 * Under ctl_lock, with no request pending: if the device is waiting for
 * its key, post the request for the key-id of its metadata and, while the
 * LU is being re-encrypted, the one for the old key-id (veild answers each
 * on its own).
 */
void vdm_post_request(struct vdm_c *vc)
{
	u8 key_id[VEIL_KEY_ID_MAX], old_id[VEIL_KEY_ID_MAX];
	char hint[VEIL_KEY_HINT_MAX];
	struct veil_key_req *kreq, *oreq = NULL;
	u32 key_id_len, old_id_len;
	struct vdm_key *old;
	long err;

	lockdep_assert_held(&vc->ctl_lock);
	might_sleep();
	spin_lock_irq(&vc->lock);
	if (vc->state != VEIL_STATE_WAITING ||
	    WARN_ON_ONCE(vc->key_req || vc->old_key_req)) {
		spin_unlock_irq(&vc->lock);
		return;
	}
	key_id_len = vc->md->key_id_len;
	memcpy(key_id, vc->md->key_id, key_id_len);
	old_id_len = vc->md->reencrypting ? vc->md->old_key_id_len : 0;
	memcpy(old_id, vc->md->old_key_id, old_id_len);
	memcpy(hint, vc->md->key_hint, sizeof(hint));
	spin_unlock_irq(&vc->lock);

	kreq = veil_key_request(VEIL_CONSUMER_DM, vc->name, key_id,
				key_id_len, hint, vdm_key_cb, vc);
	if (IS_ERR(kreq)) {
		err = PTR_ERR(kreq);
		goto fail;
	}
	vc->key_req = kreq;
	if (!old_id_len)
		return;
	oreq = veil_key_request(VEIL_CONSUMER_DM, vc->name, old_id,
				old_id_len, hint, vdm_old_key_cb, vc);
	if (IS_ERR(oreq)) {
		err = PTR_ERR(oreq);
		goto fail;
	}
	vc->old_key_req = oreq;
	return;
fail:
	/* The request already posted, if any, is cancelled on the next event. */
	DMERR("%s: cannot post the key request: %ld", vc->name, err);
	spin_lock_irq(&vc->lock);
	vdm_transition(vc, VEIL_EV_NO_KEY, NULL, "cannot post the key request",
		       &old);
	spin_unlock_irq(&vc->lock);
	vdm_key_drop(old);
}

/*
 * Under ctl_lock: apply @ev (ASK, WIPE or MD_BAD: no new metadata) with
 * @reason; the old request is cancelled first, and a new one posted if the
 * device is then waiting for its key.  Returns 0 or -EINVAL (refused in
 * this state, nothing changed).
 */
int vdm_key_event(struct vdm_c *vc, enum vdm_event ev, const char *reason)
{
	struct vdm_key *old, *spare = NULL, *old_spare = NULL;
	int r;

	lockdep_assert_held(&vc->ctl_lock);
	/* Only the key answer changes the state concurrently, and only
	 * between states that accept the same control events.
	 */
	if (!vdm_event_allowed(READ_ONCE(vc->state), ev))
		return -EINVAL;
	vdm_cancel_request(vc);
	/* Asking again: the last answer may have used up the spare. */
	if (ev == VEIL_EV_ASK && !vc->spare && vc->md && vc->md->key_id_len)
		spare = vdm_spare_alloc(vc, &vc->cipher,
					vc->layout.sector_size);
	if (ev == VEIL_EV_ASK && !vc->old_spare && vc->md &&
	    vc->md->reencrypting)
		old_spare = vdm_spare_alloc(vc, &vc->cipher,
					    vc->layout.sector_size);
	spin_lock_irq(&vc->lock);
	if (spare)
		vc->spare = spare;
	if (old_spare)
		vc->old_spare = old_spare;
	r = vdm_transition(vc, ev, NULL, reason, &old);
	spin_unlock_irq(&vc->lock);
	/* A wiped key must not reach a table loaded later either. */
	if (ev == VEIL_EV_WIPE)
		vdm_share_forget(old);
	vdm_key_drop(old);
	if (!r)
		vdm_post_request(vc);
	return r;
}

/*
 * "wipe_key": forget the key now.  The device goes to no-key (not waiting:
 * the administrator asked for the key to be gone, so no new request is
 * posted and I/O to the encrypted region fails at once); "retry" asks for
 * the key again.  Bios already being encrypted or decrypted finish with the
 * key they hold.  Allowed while active, unlike dm-crypt's "key wipe": with
 * no key there is nothing I/O could do wrong, it can only fail.
 */
int vdm_msg_wipe_key(struct vdm_c *vc)
{
	int r;

	mutex_lock(&vc->ctl_lock);
	r = vdm_key_event(vc, VEIL_EV_WIPE, "key wiped");
	mutex_unlock(&vc->ctl_lock);
	if (!r)
		DMINFO("%s: key wiped", vc->name);
	return r;
}

/* "retry": ask for the key again (no-key, waiting; a no-op when encrypted). */
int vdm_msg_retry(struct vdm_c *vc)
{
	int r;

	mutex_lock(&vc->ctl_lock);
	r = vdm_key_event(vc, VEIL_EV_ASK, NULL);
	mutex_unlock(&vc->ctl_lock);
	return r;
}

void vdm_keys_init(struct vdm_c *vc)
{
	mutex_init(&vc->ctl_lock);
	vdm_state_init(vc);
}

/* Destructor side: no request, then no work and no key (state.c). */
void vdm_keys_exit(struct vdm_c *vc)
{
	mutex_lock(&vc->ctl_lock);
	vdm_cancel_request(vc);
	mutex_unlock(&vc->ctl_lock);
	vdm_state_exit(vc);
}
