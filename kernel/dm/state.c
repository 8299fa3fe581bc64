// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: the device state, and what happens to I/O held meanwhile.
 *
 * One function, vdm_transition(), changes a device's state.  It applies
 * the table below under vc->lock and owns, with the state, the key the
 * device uses, the reason shown in status, and the held-bio lists.  The
 * control paths (constructor, messages, key answers) only say which event
 * happened; docs/dm-veil-states.md draws the same table as a diagram.
 *
 * States (enum veil_state, shown by status):
 *   unknown          metadata unusable, or a layout the live table cannot
 *                    follow: data I/O fails, plaintext ranges of the last
 *                    good metadata stay readable
 *   unencrypted      no key-id (or no metadata): everything passes through
 *   waiting-for-key  a key request is posted: encrypted-region bios are
 *                    held, each for at most key_timeout seconds
 *   no-key           the lookup failed, or the key was wiped: encrypted-
 *                    region bios fail at once
 *   encrypted        the key is set: encrypted-region bios are encrypted
 *                    or decrypted
 *
 * While the LU is being re-encrypted its metadata names two key-ids; the
 * device asks for both and "the key" of this table is then the pair (the
 * new key, holding the old one as key->prev): KEY is the event of the
 * second one arriving, NO_KEY that of either failing (keys.c).
 *
 * Events (enum vdm_event):
 *   MD_PLAIN  metadata read (constructor or "update"): no key-id
 *   MD_KEYED  metadata read: a key-id whose key the device must ask for
 *   MD_BAD    metadata unusable, or its layout no longer fits the table
 *   ASK       "retry", or "update" with the same key-id in no-key
 *   KEY       the key arrived (and suits the metadata)
 *   NO_KEY    the lookup failed, the key did not suit, or the request
 *             could not be posted
 *   WIPE      "wipe_key"
 *
 *   state \ event  MD_PLAIN  MD_KEYED  MD_BAD   ASK      KEY      NO_KEY   WIPE
 *   unknown        unenc     waiting   unknown  -        -        -        -
 *   unencrypted    unenc     waiting   unknown  -        -        -        -
 *   waiting        unenc     waiting   unknown  waiting  encr     no-key   no-key
 *   no-key         unenc     waiting   unknown  waiting  -        -        no-key
 *   encrypted      unenc     waiting   unknown  encr     -        -        no-key
 *
 * "-" refuses the event (-EINVAL), leaving everything as it was.  A key is
 * set only on entering encrypted and dropped on any other transition; the
 * caller of a transition that leaves waiting-for-key has cancelled the key
 * request first, except the key answer itself.
 *
 * Every transition moves the held bios to the release list and the release
 * work dispatches them again from scratch, so one function (vdm_dispatch)
 * decides what each state does with a bio.  A bio keeps the time it was
 * first held, so even a bio that is held again (waiting-for-key entered
 * anew) waits at most key_timeout in total.
 *
 * Suspend never waits for a key.  From presuspend to resume, bios that
 * would be held are not: on a noflush suspend they go back to dm, which
 * maps them again after resume (where their wait starts anew); on any
 * other suspend (and on remove) they fail, as dm-multipath fails bios it
 * would queue without a path.  So suspend and remove wait only for bios
 * already being encrypted or decrypted, whatever key_timeout is.
 */
#include <linux/ctype.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>

#include "dm-veil.h"

/* How soon a release work that found the pools empty tries again. */
#define VEIL_RELEASE_RETRY	(HZ / 50 ?: 1)

#define X __VEIL_STATE_MAX	/* refused */
#define UNK VEIL_STATE_UNKNOWN
#define UNE VEIL_STATE_UNENCRYPTED
#define WAI VEIL_STATE_WAITING
#define NOK VEIL_STATE_NO_KEY
#define ENC VEIL_STATE_ENCRYPTED

static const u8 vdm_next[__VEIL_STATE_MAX][__VEIL_EV_MAX] = {
	/*		MD_PLAIN MD_KEYED MD_BAD ASK  KEY  NO_KEY WIPE */
	[UNK] =		{ UNE,	 WAI,	  UNK,	 X,   X,   X,	  X },
	[UNE] =		{ UNE,	 WAI,	  UNK,	 X,   X,   X,	  X },
	[WAI] =		{ UNE,	 WAI,	  UNK,	 WAI, ENC, NOK,	  NOK },
	[NOK] =		{ UNE,	 WAI,	  UNK,	 WAI, X,   X,	  NOK },
	[ENC] =		{ UNE,	 WAI,	  UNK,	 ENC, X,   X,	  NOK },
};

#undef X
#undef UNK
#undef UNE
#undef WAI
#undef NOK
#undef ENC

static const char *const vdm_state_names[__VEIL_STATE_MAX] = {
	[VEIL_STATE_UNKNOWN] = "unknown",
	[VEIL_STATE_UNENCRYPTED] = "unencrypted",
	[VEIL_STATE_WAITING] = "waiting-for-key",
	[VEIL_STATE_NO_KEY] = "no-key",
	[VEIL_STATE_ENCRYPTED] = "encrypted",
};

const char *vdm_state_name(enum veil_state state)
{
	return state < __VEIL_STATE_MAX ? vdm_state_names[state] : "?";
}

/* Would @ev be accepted in @state? */
bool vdm_event_allowed(enum veil_state state, enum vdm_event ev)
{
	return state < __VEIL_STATE_MAX && ev < __VEIL_EV_MAX &&
	       vdm_next[state][ev] != __VEIL_STATE_MAX;
}

/* Copy a reason for status output: printable ASCII only, never empty. */
static void vdm_set_reason(struct vdm_c *vc, const char *reason)
{
	char *p;

	strscpy(vc->reason, reason && *reason ? reason : "-",
		sizeof(vc->reason));
	for (p = vc->reason; *p; p++)
		if (!isprint(*p))
			*p = '?';
}

/*
 * Under vc->lock: apply @ev.  @key (event KEY only) is taken over by the
 * device on success; any other caller passes NULL.  @reason says why the
 * device is not unlocked (NULL: none).  The key the device stops using, if
 * any, is returned in *@old for the caller to put once the lock is
 * dropped (with vdm_key_drop()).  Returns 0, or -EINVAL if the table refuses @ev in the current
 * state (nothing changed then).
 */
int vdm_transition(struct vdm_c *vc, enum vdm_event ev,
		   struct vdm_key *key, const char *reason,
		   struct vdm_key **old)
{
	enum veil_state to;

	lockdep_assert_held(&vc->lock);
	*old = NULL;
	if (WARN_ON_ONCE(ev >= __VEIL_EV_MAX || vc->state >= __VEIL_STATE_MAX))
		return -EINVAL;
	to = vdm_next[vc->state][ev];
	if (to == __VEIL_STATE_MAX)
		return -EINVAL;
	if (WARN_ON_ONCE(ev == VEIL_EV_KEY ? !key : !!key))
		return -EINVAL;

	if (ev == VEIL_EV_KEY) {
		*old = vc->key;
		vc->key = key;
	} else if (to != VEIL_STATE_ENCRYPTED) {
		*old = vc->key;
		vc->key = NULL;
	}
	vc->state = to;
	vdm_set_reason(vc, reason);

	/* Let held bios see the new state (and metadata). */
	vdm_release_held(vc);
	return 0;
}

/*
 * Under vc->lock: dispatch every held bio again (after a state change or
 * when a re-encryption window is unlocked); the ones that must still wait
 * are held again, keeping the time they were first held.
 */
void vdm_release_held(struct vdm_c *vc)
{
	lockdep_assert_held(&vc->lock);
	bio_list_merge(&vc->release, &vc->held);
	bio_list_init(&vc->held);
	vc->n_held = 0;
	if (!bio_list_empty(&vc->release))
		mod_delayed_work(vdm_wq, &vc->release_work, 0);
}

/*
 * A bio vdm_dispatch() could not finish now (VDM_MAPIO_DEFER): the release
 * work dispatches it again.
 */
void vdm_defer(struct vdm_c *vc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&vc->lock, flags);
	bio_list_add(&vc->release, bio);
	mod_delayed_work(vdm_wq, &vc->release_work, 0);
	spin_unlock_irqrestore(&vc->lock, flags);
}

/* A write of @vc completed: a release work waiting for the pools may go on. */
void vdm_release_kick(struct vdm_c *vc)
{
	unsigned long flags;

	spin_lock_irqsave(&vc->lock, flags);
	if (vc->release_starved) {
		vc->release_starved = false;
		mod_delayed_work(vdm_wq, &vc->release_work, 0);
	}
	spin_unlock_irqrestore(&vc->lock, flags);
}

/*
 * Under vc->lock, in state waiting-for-key or for a bio that touches a
 * locked re-encryption window: hold @bio until the next event.
 */
void vdm_hold(struct vdm_c *vc, struct bio *bio)
{
	struct vdm_io *io = dm_per_bio_data(bio, sizeof(*io));
	unsigned long deadline;

	lockdep_assert_held(&vc->lock);
	if (!io->held_since)
		io->held_since = jiffies | 1;	/* 0 means never held */
	deadline = io->held_since + vc->key_timeout * HZ;
	if (bio_list_empty(&vc->held))
		mod_delayed_work(vdm_wq, &vc->timeout_work,
				 time_after(deadline, jiffies) ?
				 deadline - jiffies : 0);
	bio_list_add(&vc->held, bio);
	vc->n_held++;
}

/* Hand a bio back to dm, or fail it, as @how says (not VEIL_RUNNING). */
static void vdm_unhold(struct bio *bio, enum vdm_suspend how)
{
	bio->bi_status = how == VEIL_SUSPEND_REQUEUE ? BLK_STS_DM_REQUEUE :
						       BLK_STS_IOERR;
	bio_endio(bio);
}

/*
 * Presuspend (@how: REQUEUE or FAIL), presuspend undone or resume
 * (VEIL_RUNNING): what bios that would be held do from now on; the ones
 * held already get that treatment at once.
 */
void vdm_suspend_held(struct vdm_c *vc, enum vdm_suspend how)
{
	struct bio_list list;
	struct bio *bio;

	bio_list_init(&list);
	spin_lock_irq(&vc->lock);
	vc->suspend = how;
	if (how != VEIL_RUNNING) {
		bio_list_merge(&list, &vc->held);
		bio_list_init(&vc->held);
		vc->n_held = 0;
	}
	spin_unlock_irq(&vc->lock);
	while ((bio = bio_list_pop(&list)))
		vdm_unhold(bio, how);
}

static void vdm_release_work(struct work_struct *w)
{
	struct vdm_c *vc = container_of(to_delayed_work(w), struct vdm_c,
					 release_work);
	struct bio_list list;
	struct bio *bio;

	spin_lock_irq(&vc->lock);
	list = vc->release;
	bio_list_init(&vc->release);
	vc->release_starved = false;
	spin_unlock_irq(&vc->lock);

	while ((bio = bio_list_pop(&list))) {
		switch (vdm_dispatch(vc, bio, VEIL_CTX_WORKER)) {
		case DM_MAPIO_REMAPPED:
			dm_submit_bio_remap(bio, NULL);
			break;
		case DM_MAPIO_KILL:
			bio_io_error(bio);
			break;
		case DM_MAPIO_REQUEUE:
			vdm_unhold(bio, VEIL_SUSPEND_REQUEUE);
			break;
		case VDM_MAPIO_DEFER:
			/*
			 * The pools are empty: this and the rest wait, in
			 * order, for the next write completion of this device
			 * (vdm_release_kick()), or a retry in case none is
			 * left in flight to say so.
			 */
			bio_list_add_head(&list, bio);
			spin_lock_irq(&vc->lock);
			bio_list_merge(&list, &vc->release);
			vc->release = list;
			vc->release_starved = true;
			mod_delayed_work(vdm_wq, &vc->release_work,
					 VEIL_RELEASE_RETRY);
			spin_unlock_irq(&vc->lock);
			return;
		default:	/* submitted or held again */
			break;
		}
	}
}

/* Fail every held bio that has waited key_timeout; re-arm for the rest. */
static void vdm_timeout_work(struct work_struct *w)
{
	struct vdm_c *vc = container_of(to_delayed_work(w), struct vdm_c,
					 timeout_work);
	unsigned long now = jiffies, next = 0, limit = vc->key_timeout * HZ;
	struct bio_list keep, expired;
	struct bio *bio;
	unsigned int n = 0;

	bio_list_init(&keep);
	bio_list_init(&expired);
	spin_lock_irq(&vc->lock);
	while ((bio = bio_list_pop(&vc->held))) {
		struct vdm_io *io = dm_per_bio_data(bio, sizeof(*io));
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
		mod_delayed_work(vdm_wq, &vc->timeout_work, next - now);
	spin_unlock_irq(&vc->lock);

	if (n)
		DMWARN("%s: %u bio(s) failed after waiting %us (key or window)",
		       vc->name, n, vc->key_timeout);
	while ((bio = bio_list_pop(&expired)))
		bio_io_error(bio);
}

void vdm_state_init(struct vdm_c *vc)
{
	spin_lock_init(&vc->lock);
	init_waitqueue_head(&vc->drain_wq);
	vc->state = VEIL_STATE_UNKNOWN;
	bio_list_init(&vc->held);
	bio_list_init(&vc->release);
	INIT_DELAYED_WORK(&vc->timeout_work, vdm_timeout_work);
	INIT_DELAYED_WORK(&vc->release_work, vdm_release_work);
	vdm_set_reason(vc, NULL);
}

/*
 * Destructor side: no work left, no key.  dm suspends a table before
 * destroying it and suspend waits for every bio, held ones included, so
 * the lists are empty here.  The release work can re-arm the timeout (a
 * bio held again), so it is stopped first.
 */
void vdm_state_exit(struct vdm_c *vc)
{
	cancel_delayed_work_sync(&vc->release_work);
	cancel_delayed_work_sync(&vc->timeout_work);
	vdm_key_drop(vc->key);
	vc->key = NULL;
	vdm_key_put(vc->spare);
	vc->spare = NULL;
	vdm_key_put(vc->old_spare);
	vc->old_spare = NULL;
	WARN_ON_ONCE(!bio_list_empty(&vc->held) ||
		     !bio_list_empty(&vc->release));
}
