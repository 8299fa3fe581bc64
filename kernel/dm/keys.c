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

/* veil.ko calls this once per request, in process context. */
static void vdm_key_cb(void *ctx, int err, const struct veil_keyblob *kb,
		       const char *reason)
{
	struct vdm_c *vc = ctx;
	struct vdm_key *key = NULL, *old;
	const char *why = NULL;
	char md_cipher[VEIL_CIPHER_MAX];
	u32 key_bytes;
	int r;

	might_sleep();
	/*
	 * The metadata and the spare cannot change under us: changing them
	 * cancels this request first, which waits for this callback.
	 */
	spin_lock_irq(&vc->lock);
	key_bytes = vc->md->key_bytes;
	memcpy(md_cipher, vc->md->cipher, sizeof(md_cipher));
	if (!err) {
		key = vc->spare;
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
		/* vc->md cannot change before we return (see above). */
		if (key)
			vdm_share_add(key, vc->md);
	} else {
		why = (reason && *reason) ? reason : vdm_key_err_reason(err);
	}

	spin_lock_irq(&vc->lock);
	r = vdm_transition(vc, key ? VEIL_EV_KEY : VEIL_EV_NO_KEY, key, why,
			   &old);
	spin_unlock_irq(&vc->lock);
	vdm_key_drop(old);
	if (r) {
		/* Cannot happen: leaving waiting-for-key cancels the request. */
		vdm_key_drop(key);
		return;
	}
	if (key)
		DMINFO("%s: key received, device unlocked", vc->name);
	else
		DMWARN("%s: no key (%d): %s", vc->name, err, why);
}

/* Under ctl_lock: release the current key request, if any. */
void vdm_cancel_request(struct vdm_c *vc)
{
	lockdep_assert_held(&vc->ctl_lock);
	if (vc->key_req) {
		veil_key_cancel(vc->key_req);
		vc->key_req = NULL;
	}
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
 * its key, post the request for the key-id of its metadata.
 */
void vdm_post_request(struct vdm_c *vc)
{
	u8 key_id[VEIL_KEY_ID_MAX];
	char hint[VEIL_KEY_HINT_MAX];
	struct veil_key_req *kreq;
	struct vdm_key *old;
	u32 key_id_len;

	lockdep_assert_held(&vc->ctl_lock);
	might_sleep();
	spin_lock_irq(&vc->lock);
	if (vc->state != VEIL_STATE_WAITING || WARN_ON_ONCE(vc->key_req)) {
		spin_unlock_irq(&vc->lock);
		return;
	}
	key_id_len = vc->md->key_id_len;
	memcpy(key_id, vc->md->key_id, key_id_len);
	memcpy(hint, vc->md->key_hint, sizeof(hint));
	spin_unlock_irq(&vc->lock);

	kreq = veil_key_request(VEIL_CONSUMER_DM, vc->name, key_id,
				key_id_len, hint, vdm_key_cb, vc);
	if (IS_ERR(kreq)) {
		DMERR("%s: cannot post the key request: %ld", vc->name,
		      PTR_ERR(kreq));
		spin_lock_irq(&vc->lock);
		vdm_transition(vc, VEIL_EV_NO_KEY, NULL,
			       "cannot post the key request", &old);
		spin_unlock_irq(&vc->lock);
		vdm_key_drop(old);
		return;
	}
	vc->key_req = kreq;
}

/*
 * Under ctl_lock: apply @ev (ASK, WIPE or MD_BAD: no new metadata) with
 * @reason; the old request is cancelled first, and a new one posted if the
 * device is then waiting for its key.  Returns 0 or -EINVAL (refused in
 * this state, nothing changed).
 */
int vdm_key_event(struct vdm_c *vc, enum vdm_event ev, const char *reason)
{
	struct vdm_key *old, *spare = NULL;
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
	spin_lock_irq(&vc->lock);
	if (spare) {
		vc->spare = spare;
		spare = NULL;
	}
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
