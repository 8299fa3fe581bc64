/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libveil's KMIP client: configuration, a connection to a key manager over
 * mutual TLS (OpenSSL, TLS 1.2 or later), the operations veil needs, and
 * the provisioning API veilctl and veil-kmip use.  docs/kmip.md describes
 * the protocol subset, docs/veild.md the configuration file.
 *
 * Errors are negative errnos, chosen so veild can hand them to the kernel
 * as they are, with the client's last error text as the reason:
 *   -ENOKEY        no such key (or not visible to this host's identity)
 *   -EKEYREJECTED  the key manager refused: permission denied, or it
 *                  rejected this host's certificate
 *   -EHOSTUNREACH, -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET, -ENETUNREACH
 *                  transport failures (kmip_client_transient() is true)
 *   -EPROTO        the peer is not a KMIP server veil can talk to, its
 *                  certificate failed verification, or its reply was
 *                  malformed
 *   -EIO           the key manager failed the operation for another reason
 *   -ECANCELED     abandoned through kmip_client_set_cancel()'s descriptor
 *   -EINVAL, -ENOMEM, -EMSGSIZE, -EOPNOTSUPP as usual
 *
 * A kmip_client is one persistent connection, used by one thread at a time.
 * Several clients may share one SSL_CTX (kmip_tls_ctx_new).
 */
#ifndef VEIL_KMIP_H
#define VEIL_KMIP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "kmip/proto.h"

#define KMIP_SERVERS_MAX	4
#define KMIP_DEFAULT_PORT	"5696"
#define KMIP_ERR_MAX		160	/* fits VEIL_REASON_MAX with a prefix */

struct kmip_server {
	char host[256];
	char port[8];
};

enum veil_log_dest { VEIL_LOG_STDERR, VEIL_LOG_SYSLOG };

/* One configuration file serves veild and veil-kmip; see docs/veild.md. */
/* veild's optional offline key cache (daemon/veild/cache.h). */
#define VEIL_CACHE_DIR_DEFAULT		"/var/lib/veil/cache"
#define VEIL_CACHE_LOCKBOX_DEFAULT	"/etc/veil/cache.kek"
#define VEIL_CACHE_TTL_DEFAULT		(7 * 86400L)

struct veil_cache_conf {
	bool on;			/* cache = on|off (default off) */
	char dir[PATH_MAX];		/* cache_dir */
	char lockbox[PATH_MAX];		/* cache_lockbox */
	long ttl;			/* cache_ttl, seconds */
};

struct veil_kmip_conf {
	struct kmip_server servers[KMIP_SERVERS_MAX];
	int nservers;
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	char server_name[256];		/* "" = verify each server's host */
	int connect_timeout_ms;
	int io_timeout_ms;
	int kmip_minor;			/* KMIP 1.x */
	uint32_t max_response;		/* bytes */
	unsigned int key_bits;		/* new keys (create) */
	/* veild */
	int workers;
	int retry_budget_ms;
	int idle_timeout_ms;		/* close a pooled connection idle longer */
	enum veil_log_dest log;
	bool debug;
	struct veil_cache_conf cache;
};

void veil_kmip_conf_defaults(struct veil_kmip_conf *c);
/*
 * Read @path over the defaults already in @c.  0, or -errno with err set to
 * "PATH:LINE: what is wrong".  A missing server, CA, cert or key is an
 * error here too.
 */
int veil_kmip_conf_load(struct veil_kmip_conf *c, const char *path,
			char *err, size_t errlen);

/* ---- TLS and client ---- */

SSL_CTX *kmip_tls_ctx_new(const struct veil_kmip_conf *c, char *err,
			  size_t errlen);

struct kmip_client;

/* @ctx is referenced, not copied; @c must outlive the client. */
struct kmip_client *kmip_client_new(const struct veil_kmip_conf *c,
				    SSL_CTX *ctx);
void kmip_client_free(struct kmip_client *kc);
/* Last error, "" if none.  Never contains key bytes. */
const char *kmip_client_error(const struct kmip_client *kc);
/* Replace the error text (a caller that knows better why it failed). */
void kmip_client_set_error(struct kmip_client *kc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Is the last error worth retrying (key manager down, connection lost)? */
bool kmip_client_transient(const struct kmip_client *kc);
/*
 * @fd (-1: none) becoming readable abandons every network wait of the
 * client at once: the operation fails with -ECANCELED.  veild's stop.
 */
void kmip_client_set_cancel(struct kmip_client *kc, int fd);
/* Close the connection if it has been idle longer than idle_timeout. */
void kmip_client_idle(struct kmip_client *kc);
void kmip_client_close(struct kmip_client *kc);
/* "host:port" of the server last connected to ("" if none yet). */
const char *kmip_client_peer(const struct kmip_client *kc);
/* Connections made so far (for tests and statistics). */
unsigned long kmip_client_connects(const struct kmip_client *kc);

int kmip_create_aes(struct kmip_client *kc, unsigned int bits,
		    const char *name, char uid[KMIP_UID_MAX]);
int kmip_register_aes(struct kmip_client *kc, const uint8_t *key,
		      size_t len, const char *name, char uid[KMIP_UID_MAX]);
/* state 0: any.  *n: how many matched; at most @max copied. */
int kmip_locate_name(struct kmip_client *kc, const char *name,
		     uint32_t state, char (*uids)[KMIP_UID_MAX], int max,
		     int *n);
/* @key should be veil_secmem memory; wiped on error. */
int kmip_get_symkey(struct kmip_client *kc, const char *uid, uint8_t *key,
		    size_t size, struct kmip_key *info);
int kmip_get_attributes(struct kmip_client *kc, const char *uid,
			struct kmip_attrs *a);
/*
 * Get Attributes and Get of @uid in one request message (one round trip):
 * the caller checks @a before using the key.  @key as for Get.
 */
int kmip_get_attributes_symkey(struct kmip_client *kc, const char *uid,
			       struct kmip_attrs *a, uint8_t *key,
			       size_t size, struct kmip_key *info);
int kmip_activate(struct kmip_client *kc, const char *uid);
int kmip_revoke(struct kmip_client *kc, const char *uid, uint32_t code);
int kmip_destroy(struct kmip_client *kc, const char *uid);

/* ---- locked memory for key bytes ---- */

/*
 * Zeroed memory that is never swapped (mlock) nor in a core dump
 * (MADV_DONTDUMP); memfd_secret(2) memory, out of even the kernel's direct
 * map, where the kernel offers it.  NULL with errno on failure.
 */
void *veil_secmem_alloc(size_t size);
/* Wipes, unlocks and unmaps. */
void veil_secmem_free(void *p, size_t size);
/* What veil_secmem_alloc uses: "memfd_secret" or "mlock". */
const char *veil_secmem_kind(void);

/* ---- provisioning: veil key-ids on a key manager ---- */

/*
 * A veil key-id (the bytes in the eVLU metadata, VEIL_KEY_ID_DEFAULT = 16
 * random bytes by default) names its key on every key manager by the KMIP
 * Name attribute "veil-" + lowercase hex of the key-id.  See docs/kmip.md.
 */
#define VEIL_KMIP_NAME_PREFIX	"veil-"

int veil_kmip_keyid_name(const uint8_t *id, size_t len, char *name,
			 size_t size);
/* Parse hex into id[0..size); returns the length or -EINVAL. */
int veil_kmip_keyid_parse(const char *hex, uint8_t *id, size_t size);
void veil_kmip_keyid_hex(const uint8_t *id, size_t len, char *hex,
			 size_t size);

/*
 * Create an AES key of @bits on the key manager under a fresh random
 * key-id of @id_len bytes, and activate it.  local: generate the bytes here
 * (OpenSSL RAND_bytes) and Register them, for key managers whose Create
 * refuses the length.  Fills id[] and uid.
 */
int veil_kmip_provision(struct kmip_client *kc, unsigned int bits,
			bool local, uint8_t *id, size_t id_len,
			char uid[KMIP_UID_MAX]);

/*
 * The one active key named after @id: -ENOKEY if none is visible, -EPROTO
 * if more than one is.
 */
int veil_kmip_resolve(struct kmip_client *kc, const uint8_t *id,
		      size_t id_len, uint32_t state, char uid[KMIP_UID_MAX]);

/* Resolve (active keys only) and Get: the key bytes into key[0..size). */
int veil_kmip_fetch(struct kmip_client *kc, const uint8_t *id, size_t id_len,
		    uint8_t *key, size_t size, struct kmip_key *info);

/*
 * veil_kmip_fetch(), trying first the object @hint names (an LU's key-hint,
 * may be NULL or ""), which must carry @id's name and be active.  *hinted
 * tells whether the hint was the way.  See docs/kmip.md section 3.
 */
int veil_kmip_fetch_hinted(struct kmip_client *kc, const uint8_t *id,
			   size_t id_len, const char *hint, uint8_t *key,
			   size_t size, struct kmip_key *info, bool *hinted);

/* Revoke (if active) and Destroy every key named after @id. */
int veil_kmip_destroy_keyid(struct kmip_client *kc, const uint8_t *id,
			    size_t id_len);

#endif /* VEIL_KMIP_H */
