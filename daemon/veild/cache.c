// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veild's optional offline key cache: see cache.h for the API and
 * docs/veild.md ("Offline key cache") for the format and threat model.
 *
 * Entry file, little-endian, VCACHE_HDR bytes of header then the sealed
 * key:
 *
 *     0  magic       8  "VEILKC\r\n"
 *     8  version     2  1
 *    10  key_id_len  2  1..VEIL_KEY_ID_MAX
 *    12  key_len     4  1..VEIL_KEY_MAX
 *    16  created     8  Unix seconds
 *    24  expires     8  Unix seconds
 *    32  cipher     32  NUL padded
 *    64  key_id     64  zero padded
 *   128  nonce      12  random, one per write
 *   140  ciphertext key_len bytes, then the 16-byte GCM tag
 *
 * AES-256-GCM under the KEK, the whole 140-byte header as AAD, so nothing
 * in it can be changed without the tag failing.  The file must be exactly
 * 140 + key_len + 16 bytes long.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <linux/veil.h>

#include "cache.h"

#define VCACHE_MAGIC	"VEILKC\r\n"
#define VCACHE_VERSION	1
#define VCACHE_HDR	140
#define VCACHE_NONCE	12
#define VCACHE_TAG	16
#define VCACHE_FILE_MAX	(VCACHE_HDR + VEIL_KEY_MAX + VCACHE_TAG)

struct vcache {
	struct veil_cache_conf conf;
	uint8_t *kek;			/* veil_secmem, VCACHE_KEK_LEN */
};

static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---------------------------------------------------------- the lockbox --- */

static int read_lockbox(struct vcache *c, char *err, size_t errlen)
{
	const char *p = c->conf.lockbox;
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			return errf(err, errlen, r,
				    "cache_lockbox %s is a symbolic link: refusing it (it must be a regular file owned by root, mode 0600)",
				    p);
		return errf(err, errlen, r, "cache_lockbox %s: %s", p,
			    strerror(-r));
	}
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return errf(err, errlen, r, "cache_lockbox %s: %s", p,
			    strerror(-r));
	}
	r = -EPERM;
	if (!S_ISREG(st.st_mode))
		errf(err, errlen, r,
		     "cache_lockbox %s is not a regular file: refusing it", p);
	else if (st.st_uid != 0)
		errf(err, errlen, r,
		     "cache_lockbox %s is owned by uid %u, not root: refusing it (chown root:root it, or remove it to have a new one made, which discards the cache)",
		     p, (unsigned int)st.st_uid);
	else if (st.st_mode & 077)
		errf(err, errlen, r,
		     "cache_lockbox %s has mode %04o, with group/other permission bits: refusing it (chmod 600 it, and consider the KEK exposed)",
		     p, (unsigned int)(st.st_mode & 07777));
	else if (st.st_size != VCACHE_KEK_LEN)
		errf(err, errlen, r = -EINVAL,
		     "cache_lockbox %s holds %lld bytes, not a %d-byte KEK: refusing it",
		     p, (long long)st.st_size, VCACHE_KEK_LEN);
	else
		r = 0;
	if (r) {
		close(fd);
		return r;
	}
	n = read(fd, c->kek, VCACHE_KEK_LEN);
	r = n == VCACHE_KEK_LEN ? 0 : n < 0 ? -errno : -EIO;
	close(fd);
	if (r) {
		OPENSSL_cleanse(c->kek, VCACHE_KEK_LEN);
		return errf(err, errlen, r, "cache_lockbox %s: short read", p);
	}
	return 0;
}

static void fsync_dir_of(const char *path)
{
	char d[PATH_MAX], *slash;
	int fd;

	snprintf(d, sizeof(d), "%s", path);
	slash = strrchr(d, '/');
	if (!slash)
		return;
	if (slash == d)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A new random KEK, mode 0600; -EEXIST if someone was quicker. */
static int create_lockbox(struct vcache *c, char *err, size_t errlen)
{
	const char *p = c->conf.lockbox;
	int fd, r = 0;

	if (RAND_priv_bytes(c->kek, VCACHE_KEK_LEN) != 1)
		return errf(err, errlen, -EIO,
			    "cache_lockbox %s: no random bytes for a KEK", p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		r = -errno;
		OPENSSL_cleanse(c->kek, VCACHE_KEK_LEN);
		if (r == -EEXIST)
			return r;
		return errf(err, errlen, r, "cache_lockbox %s: cannot create it: %s",
			    p, strerror(-r));
	}
	if (fchmod(fd, 0600) ||
	    write(fd, c->kek, VCACHE_KEK_LEN) != VCACHE_KEK_LEN || fsync(fd))
		r = errno ? -errno : -EIO;
	close(fd);
	OPENSSL_cleanse(c->kek, VCACHE_KEK_LEN);
	if (r) {
		unlink(p);
		return errf(err, errlen, r, "cache_lockbox %s: cannot write it: %s",
			    p, strerror(-r));
	}
	fsync_dir_of(p);
	return 0;
}

/* mkdir -p, 0700 for what is created. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
	char d[PATH_MAX], *s;
	struct stat st;

	snprintf(d, sizeof(d), "%s", dir);
	for (s = d + 1; ; s++) {
		if (*s && *s != '/')
			continue;
		if (*s == '/' && s[1] == '\0')
			*s = '\0';
		{
			char save = *s;

			*s = '\0';
			if (mkdir(d, 0700) && errno != EEXIST)
				return errf(err, errlen, -errno,
					    "cache_dir %s: cannot create %s: %m",
					    dir, d);
			*s = save;
		}
		if (!*s)
			break;
	}
	if (lstat(dir, &st))
		return errf(err, errlen, -errno, "cache_dir %s: %m", dir);
	if (!S_ISDIR(st.st_mode))
		return errf(err, errlen, -ENOTDIR,
			    "cache_dir %s is not a directory", dir);
	return 0;
}

struct vcache *vcache_open(const struct veil_cache_conf *cc, char *err,
			   size_t errlen)
{
	struct vcache *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	c->conf = *cc;
	c->kek = veil_secmem_alloc(VCACHE_KEK_LEN);
	if (!c->kek) {
		errf(err, errlen, -ENOMEM,
		     "no locked memory for the cache KEK (RLIMIT_MEMLOCK?)");
		free(c);
		return NULL;
	}
	r = read_lockbox(c, err, errlen);
	if (r == -ENOENT) {
		r = create_lockbox(c, err, errlen);
		if (!r || r == -EEXIST)
			r = read_lockbox(c, err, errlen);
	}
	if (!r)
		r = make_dir(cc->dir, err, errlen);
	if (r) {
		vcache_close(c);
		return NULL;
	}
	return c;
}

void vcache_close(struct vcache *c)
{
	if (!c)
		return;
	veil_secmem_free(c->kek, VCACHE_KEK_LEN);
	free(c);
}

/* ------------------------------------------------------------- entries --- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int entry_path(const struct vcache *c, const uint8_t *id,
		      size_t id_len, char *path, size_t size)
{
	char hex[2 * VEIL_KEY_ID_MAX + 1];
	size_t i;

	if (!id_len || id_len > VEIL_KEY_ID_MAX)
		return -EINVAL;
	for (i = 0; i < id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	if ((size_t)snprintf(path, size, "%s/%s", c->conf.dir, hex) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* AES-256-GCM over @in into @out; @tag written (enc) or checked (dec). */
static int gcm(const struct vcache *c, bool enc, const uint8_t *hdr,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const uint8_t *nonce = hdr + 128;
	int ok, outl;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
			       enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, VCACHE_NONCE,
				 NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, c->kek, nonce, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &outl, hdr, VCACHE_HDR) == 1 &&
	     EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1 &&
	     (size_t)outl == len;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, VCACHE_TAG,
					 tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + outl, &outl) == 1 &&
		     outl == 0;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, VCACHE_TAG,
					 tag) == 1;
	EVP_CIPHER_CTX_free(ctx);	/* cleanses the key schedule */
	if (!ok && !enc)
		OPENSSL_cleanse(out, len);
	return ok ? 0 : enc ? -EIO : -EBADMSG;
}

int vcache_store(struct vcache *c, const uint8_t *id, size_t id_len,
		 const uint8_t *key, size_t key_len, const char *cipher,
		 time_t now, char *err, size_t errlen)
{
	uint8_t buf[VCACHE_FILE_MAX];
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	size_t total = VCACHE_HDR + key_len + VCACHE_TAG;
	int fd, r;

	r = entry_path(c, id, id_len, path, sizeof(path));
	if (r)
		return errf(err, errlen, r, "bad key-id length %zu", id_len);
	if (!key_len || key_len > VEIL_KEY_MAX)
		return errf(err, errlen, -EINVAL, "bad key length %zu", key_len);
	memset(buf, 0, VCACHE_HDR);
	memcpy(buf, VCACHE_MAGIC, 8);
	put16(buf + 8, VCACHE_VERSION);
	put16(buf + 10, (uint16_t)id_len);
	put32(buf + 12, (uint32_t)key_len);
	put64(buf + 16, (uint64_t)now);
	put64(buf + 24, (uint64_t)(now + c->conf.ttl));
	strncpy((char *)buf + 32, cipher ? cipher : "", VCACHE_CIPHER_MAX);
	memcpy(buf + 64, id, id_len);
	if (RAND_bytes(buf + 128, VCACHE_NONCE) != 1)
		return errf(err, errlen, -EIO, "no random bytes for a nonce");
	r = gcm(c, true, buf, key, key_len, buf + VCACHE_HDR,
		buf + VCACHE_HDR + key_len);
	if (r)
		return errf(err, errlen, r, "AES-256-GCM failed");

	snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, -errno, "%s: %m", tmp);
	if (write(fd, buf, total) != (ssize_t)total || fsync(fd)) {
		r = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		return errf(err, errlen, r, "%s: %s", tmp, strerror(-r));
	}
	close(fd);
	if (rename(tmp, path)) {
		r = -errno;
		unlink(tmp);
		return errf(err, errlen, r, "%s: %s", path, strerror(-r));
	}
	fsync_dir_of(path);
	return 0;
}

int vcache_load(struct vcache *c, const uint8_t *id, size_t id_len,
		uint8_t *key, size_t size, struct vcache_entry *e, time_t now,
		char *err, size_t errlen)
{
	uint8_t buf[VCACHE_FILE_MAX + 1];
	char path[PATH_MAX];
	uint32_t key_len;
	ssize_t n;
	int fd, r;

	OPENSSL_cleanse(key, size);
	memset(e, 0, sizeof(*e));
	r = entry_path(c, id, id_len, path, sizeof(path));
	if (r)
		return errf(err, errlen, r, "bad key-id length %zu", id_len);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		return errf(err, errlen, r == -ELOOP ? -EBADMSG : r, "%s: %s",
			    path, strerror(-r));
	}
	n = read(fd, buf, sizeof(buf));
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r)
		return errf(err, errlen, r, "%s: %s", path, strerror(-r));

	key_len = n >= VCACHE_HDR ? get32(buf + 12) : 0;
	if (n < VCACHE_HDR || memcmp(buf, VCACHE_MAGIC, 8)) {
		r = errf(err, errlen, -EBADMSG, "%s: not a cache entry (%zd bytes)",
			 path, n);
	} else if (get16(buf + 8) != VCACHE_VERSION) {
		r = errf(err, errlen, -EBADMSG, "%s: entry version %u, not %d",
			 path, get16(buf + 8), VCACHE_VERSION);
	} else if (!key_len || key_len > VEIL_KEY_MAX ||
		   (size_t)n != VCACHE_HDR + key_len + VCACHE_TAG) {
		r = errf(err, errlen, -EBADMSG,
			 "%s: truncated or malformed (%zd bytes)", path, n);
	} else if (get16(buf + 10) != id_len ||
		   memcmp(buf + 64, id, id_len)) {
		r = errf(err, errlen, -EBADMSG,
			 "%s: the entry is for another key-id", path);
	} else if (key_len > size) {
		return errf(err, errlen, -EMSGSIZE, "%s: %u-byte key too large",
			    path, key_len);
	} else if (gcm(c, false, buf, buf + VCACHE_HDR, key_len, key,
		       buf + VCACHE_HDR + key_len)) {
		r = errf(err, errlen, -EBADMSG,
			 "%s: authentication failed (tampered with, or sealed under another KEK)",
			 path);
	}
	if (r) {
		unlink(path);
		return r;
	}
	e->created = (time_t)get64(buf + 16);
	e->expires = (time_t)get64(buf + 24);
	if (e->expires > e->created + c->conf.ttl)	/* cache_ttl lowered */
		e->expires = e->created + c->conf.ttl;
	memcpy(e->cipher, buf + 32, VCACHE_CIPHER_MAX);
	e->cipher[VCACHE_CIPHER_MAX] = '\0';
	e->key_len = key_len;
	if (now >= e->expires) {
		OPENSSL_cleanse(key, size);
		unlink(path);
		return errf(err, errlen, -ESTALE, "%s: expired", path);
	}
	return 0;
}

int vcache_remove(struct vcache *c, const uint8_t *id, size_t id_len)
{
	char path[PATH_MAX];
	int r;

	r = entry_path(c, id, id_len, path, sizeof(path));
	if (r)
		return r;
	if (unlink(path))
		return -errno;
	fsync_dir_of(path);
	return 0;
}
