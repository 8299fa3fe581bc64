// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: keys shared by the tables of one LU.
 *
 * A table reload (a resize, an LVM-style operation, a changed flag)
 * constructs a new target instance while the old one is still live.  If
 * the new table's metadata names the same LU (uuid), key-id, cipher and
 * sector size as a key some table already holds, the new table takes that
 * key at once: it never asks the key daemon again, so a reload neither
 * locks the device nor depends on the key manager being up.  Metadata with
 * another key-id (or cipher) finds nothing and waits for its own key.
 *
 * Each key a table uses is listed here while at least one table holds it;
 * 'tables' counts them (bios hold plain kref references and never look a
 * key up).  "wipe_key" takes the device's key off the list, so no later
 * table can find it; a table already holding it keeps it until it too is
 * told to wipe, or is removed.
 *
 * Locking: vdm_share_lock (a mutex: only control paths and the key
 * answer, all in process context, look keys up or drop them).
 */
#include <linux/list.h>
#include <linux/mutex.h>

#include "dm-veil.h"

static LIST_HEAD(vdm_shared);
static DEFINE_MUTEX(vdm_share_lock);

static bool vdm_share_match(const struct vdm_key *key,
			    const struct veil_md *md)
{
	const struct vdm_key *prev = key->prev;

	lockdep_assert_held(&vdm_share_lock);
	/* Re-encrypting, the old key must match too (a pair is one key). */
	if (md->reencrypting &&
	    (!prev || prev->key_id_len != md->old_key_id_len ||
	     memcmp(prev->key_id, md->old_key_id, md->old_key_id_len)))
		return false;
	return !memcmp(key->lu_uuid, md->uuid, sizeof(key->lu_uuid)) &&
	       key->key_id_len == md->key_id_len &&
	       !memcmp(key->key_id, md->key_id, md->key_id_len) &&
	       key->unit == md->sector_size &&
	       !strncmp(key->cipher, md->cipher, VEIL_CIPHER_MAX);
}

/*
 * A key another table of the LU of @md already holds, for @md's key-id(s),
 * cipher and sector size, with a table reference for the caller; NULL if
 * there is none, ERR_PTR(-EBUSY) while that table has a re-encryption
 * window locked (a new table would not hold the window's bios).
 */
struct vdm_key *vdm_share_find(const struct veil_md *md)
{
	struct vdm_key *key, *found = NULL;

	might_sleep();
	if (!md->key_id_len)
		return NULL;
	mutex_lock(&vdm_share_lock);
	list_for_each_entry(key, &vdm_shared, share_node) {
		if (vdm_share_match(key, md)) {
			if (key->win_busy) {
				found = ERR_PTR(-EBUSY);
				break;
			}
			key->tables++;
			kref_get(&key->ref);
			found = key;
			break;
		}
	}
	mutex_unlock(&vdm_share_lock);
	return found;
}

/*
 * List @key, just keyed for the metadata @md, as held by one table (the
 * caller's reference becomes that table's).
 */
void vdm_share_add(struct vdm_key *key, const struct veil_md *md)
{
	might_sleep();
	memcpy(key->lu_uuid, md->uuid, sizeof(key->lu_uuid));
	key->key_id_len = md->key_id_len;
	memcpy(key->key_id, md->key_id, md->key_id_len);
	strscpy(key->cipher, md->cipher, sizeof(key->cipher));
	mutex_lock(&vdm_share_lock);
	key->tables = 1;
	list_add(&key->share_node, &vdm_shared);
	mutex_unlock(&vdm_share_lock);
}

/* A table of @key's LU locks (@busy) or unlocks a re-encryption window. */
void vdm_share_busy(struct vdm_key *key, bool busy)
{
	might_sleep();
	mutex_lock(&vdm_share_lock);
	key->win_busy = busy;
	mutex_unlock(&vdm_share_lock);
}

/* Take @key off the list: no table found from now on gets it. */
void vdm_share_forget(struct vdm_key *key)
{
	if (!key)
		return;
	mutex_lock(&vdm_share_lock);
	list_del_init(&key->share_node);
	mutex_unlock(&vdm_share_lock);
}

/* Drop a table's reference to @key (NULL: none). */
void vdm_key_drop(struct vdm_key *key)
{
	if (!key)
		return;
	might_sleep();
	mutex_lock(&vdm_share_lock);
	if (key->tables && !--key->tables)
		list_del_init(&key->share_node);
	mutex_unlock(&vdm_share_lock);
	vdm_key_put(key);
}
