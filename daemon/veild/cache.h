/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * veild's optional offline key cache (off by default; docs/veild.md,
 * "Offline key cache", has the format and the threat model).
 *
 * One file per key-id in cache_dir, named by the key-id in lowercase hex:
 * a versioned header, then the key encrypted with AES-256-GCM under a KEK
 * read from the root-only lockbox file, the header as additional data.
 * The KEK lives in veil_secmem memory for the daemon's lifetime and is
 * wiped at close; keys are decrypted straight into the caller's buffer,
 * which should be veil_secmem memory too.
 *
 * Its settings (cache, cache_dir, cache_lockbox, cache_ttl) are read by
 * libveil's veil_kmip_conf_load() with the rest of veild.conf, so every
 * program reading that file (veild, veil-kmip, veilctl) accepts them.
 */
#ifndef VEILD_CACHE_H
#define VEILD_CACHE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kmip/kmip.h"

#define VCACHE_TTL_DEFAULT	VEIL_CACHE_TTL_DEFAULT
#define VCACHE_KEK_LEN		32	/* AES-256 */
#define VCACHE_CIPHER_MAX	32	/* cipher name in the header, NUL padded */
#define VCACHE_ERR_MAX		(PATH_MAX + 200)

struct vcache;

/*
 * Read the lockbox (creating it, mode 0600, with a random KEK if it does
 * not exist) and create cache_dir (0700) if missing.  A lockbox that is not
 * a regular file owned by root without group/other permission bits is
 * refused: NULL with err naming the file and what is wrong.
 */
struct vcache *vcache_open(const struct veil_cache_conf *cc, char *err,
			   size_t errlen);
/* Wipes the KEK. */
void vcache_close(struct vcache *c);

/* Store or replace the entry for @id, valid ttl seconds from @now. */
int vcache_store(struct vcache *c, const uint8_t *id, size_t id_len,
		 const uint8_t *key, size_t key_len, const char *cipher,
		 time_t now, char *err, size_t errlen);

struct vcache_entry {
	time_t created, expires;
	char cipher[VCACHE_CIPHER_MAX + 1];
	size_t key_len;
};

/*
 * Decrypt the entry for @id into key[0..size).  0 on success; -ENOENT no
 * entry; -ESTALE expired (now removed); -EBADMSG malformed, truncated,
 * tampered with or encrypted under another KEK (removed too); -EMSGSIZE
 * key larger than @size; other -errno for I/O errors.  @key is wiped on
 * every failure.
 */
int vcache_load(struct vcache *c, const uint8_t *id, size_t id_len,
		uint8_t *key, size_t size, struct vcache_entry *e, time_t now,
		char *err, size_t errlen);

/* 0 removed, -ENOENT there was none, or -errno. */
int vcache_remove(struct vcache *c, const uint8_t *id, size_t id_len);

/* pool.c: answer from @c when the key manager stays unreachable (NULL: off). */
void pool_set_cache(struct vcache *c);

#endif /* VEILD_CACHE_H */
