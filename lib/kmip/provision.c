// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * veil key-ids on a key manager.  A key-id is random bytes stored in the
 * eVLU metadata; its key carries the KMIP Name "veil-<hex of key-id>".
 * Lookups go by that name (Locate, then Get), never by the key manager's
 * own Unique Identifier: a name travels with the key when it is copied to
 * another key manager (a DR site, a replacement cluster), a server-assigned
 * identifier does not.  docs/kmip.md has the reasoning.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "kmip/kmip.h"
#include "util.h"

#define RESOLVE_MAX	4

void veil_kmip_keyid_hex(const uint8_t *id, size_t len, char *hex,
			 size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!size)
		return;
	for (i = 0; i < len && 2 * i + 2 < size; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[2 * i] = '\0';
}

int veil_kmip_keyid_name(const uint8_t *id, size_t len, char *name,
			 size_t size)
{
	size_t pre = strlen(VEIL_KMIP_NAME_PREFIX);

	if (!len || size < pre + 2 * len + 1)
		return -EINVAL;
	memcpy(name, VEIL_KMIP_NAME_PREFIX, pre);
	veil_kmip_keyid_hex(id, len, name + pre, size - pre);
	return 0;
}

int veil_kmip_keyid_parse(const char *hex, uint8_t *id, size_t size)
{
	if (!strncmp(hex, VEIL_KMIP_NAME_PREFIX, strlen(VEIL_KMIP_NAME_PREFIX)))
		hex += strlen(VEIL_KMIP_NAME_PREFIX);
	return veil_hex_decode(hex, id, size);
}

int veil_kmip_provision(struct kmip_client *kc, unsigned int bits,
			bool local, uint8_t *id, size_t id_len,
			char uid[KMIP_UID_MAX])
{
	char name[KMIP_NAME_MAX];
	uint8_t *key;
	size_t klen = bits / 8;
	int r;

	if (!bits || bits % 8 || !id_len || RAND_bytes(id, (int)id_len) != 1)
		return -EINVAL;
	r = veil_kmip_keyid_name(id, id_len, name, sizeof(name));
	if (r)
		return r;
	if (local) {
		key = veil_secmem_alloc(klen);
		if (!key)
			return -ENOMEM;
		if (RAND_priv_bytes(key, (int)klen) != 1)
			r = -EIO;
		else
			r = kmip_register_aes(kc, key, klen, name, uid);
		veil_secmem_free(key, klen);
	} else {
		r = kmip_create_aes(kc, bits, name, uid);
	}
	if (r)
		return r;
	return kmip_activate(kc, uid);
}

int veil_kmip_resolve(struct kmip_client *kc, const uint8_t *id,
		      size_t id_len, uint32_t state, char uid[KMIP_UID_MAX])
{
	char uids[RESOLVE_MAX][KMIP_UID_MAX];
	char name[KMIP_NAME_MAX];
	int r, n;

	r = veil_kmip_keyid_name(id, id_len, name, sizeof(name));
	if (r)
		return r;
	r = kmip_locate_name(kc, name, state, uids, RESOLVE_MAX, &n);
	if (r)
		return r;
	/* kc's error text is the reason veild reports: make it say why */
	if (n == 0) {
		kmip_client_set_error(kc, "no %skey named %s visible to this host on %s",
			 state == KMIP_STATE_ACTIVE ? "active " : "", name,
			 kmip_client_peer(kc));
		return -ENOKEY;
	}
	if (n > 1) {
		kmip_client_set_error(kc, "%d keys named %s on %s: refusing to guess", n, name,
			 kmip_client_peer(kc));
		return -EPROTO;
	}
	memcpy(uid, uids[0], KMIP_UID_MAX);
	return 0;
}

int veil_kmip_fetch(struct kmip_client *kc, const uint8_t *id, size_t id_len,
		    uint8_t *key, size_t size, struct kmip_key *info)
{
	char uid[KMIP_UID_MAX];
	int r;

	r = veil_kmip_resolve(kc, id, id_len, KMIP_STATE_ACTIVE, uid);
	if (r)
		return r;
	return kmip_get_symkey(kc, uid, key, size, info);
}

/*
 * The fast path for an LU that carries a key-hint (its key's Unique
 * Identifier, recorded at enrolment): one request message with Get
 * Attributes and Get of that object, which must show the key-id's name, a
 * symmetric key and the Active state.  A Locate by name costs the key
 * manager a scan of its objects (PyKMIP evaluates every one) and a round
 * trip of its own; this is two look-ups of one object in one round trip.
 * The hint is never trusted on its own: anything but a match, except a
 * transient failure, falls back to the Locate, so a stale or forged hint
 * costs a round trip, never a wrong key, and errors read as without a
 * hint.  Returns 0 (key in @key), 1 (fall back) or a transient -errno.
 */
static int fetch_hinted(struct kmip_client *kc, const char *name,
			const char *hint, uint8_t *key, size_t size,
			struct kmip_key *info)
{
	struct kmip_attrs a;
	int r;

	if (strlen(hint) >= KMIP_UID_MAX)
		return 1;
	r = kmip_get_attributes_symkey(kc, hint, &a, key, size, info);
	if (r)
		return kmip_client_transient(kc) ? r : 1;
	if (strcmp(a.name, name) || a.state != KMIP_STATE_ACTIVE ||
	    a.object_type != KMIP_OBJ_SYMMETRIC_KEY) {
		OPENSSL_cleanse(key, size);
		return 1;
	}
	return 0;
}

int veil_kmip_fetch_hinted(struct kmip_client *kc, const uint8_t *id,
			   size_t id_len, const char *hint, uint8_t *key,
			   size_t size, struct kmip_key *info, bool *hinted)
{
	char name[KMIP_NAME_MAX];
	int r;

	*hinted = false;
	if (hint && *hint) {
		r = veil_kmip_keyid_name(id, id_len, name, sizeof(name));
		if (r)
			return r;
		r = fetch_hinted(kc, name, hint, key, size, info);
		if (r <= 0) {
			*hinted = !r;
			return r;
		}
	}
	return veil_kmip_fetch(kc, id, id_len, key, size, info);
}

int veil_kmip_destroy_keyid(struct kmip_client *kc, const uint8_t *id,
			    size_t id_len)
{
	char uids[RESOLVE_MAX][KMIP_UID_MAX];
	char name[KMIP_NAME_MAX];
	struct kmip_attrs a;
	int r, n, i;

	r = veil_kmip_keyid_name(id, id_len, name, sizeof(name));
	if (r)
		return r;
	r = kmip_locate_name(kc, name, 0, uids, RESOLVE_MAX, &n);
	if (r)
		return r;
	if (n == 0) {
		kmip_client_set_error(kc, "no key named %s visible to this host", name);
		return -ENOKEY;
	}
	for (i = 0; i < n && i < RESOLVE_MAX; i++) {
		r = kmip_get_attributes(kc, uids[i], &a);
		if (r)
			return r;
		if (a.state == KMIP_STATE_ACTIVE) {
			r = kmip_revoke(kc, uids[i], KMIP_REVOKE_CESSATION);
			if (r)
				return r;
		}
		r = kmip_destroy(kc, uids[i]);
		if (r)
			return r;
	}
	return 0;
}
