// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of veild's offline key cache (daemon/veild/cache.c) in a
 * temporary directory: round trip, tampering anywhere (ciphertext, tag,
 * header, nonce), another KEK, expiry, truncation, an entry renamed to
 * another key-id, the lockbox checks, and the cache_* configuration
 * settings.  TAP 13 with a kselftest-style "# Totals" line; exit status 1
 * if anything failed.  The lockbox owner test needs root (chown).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/veil.h>

#include "../../daemon/veild/cache.h"
#include "tap.h"


static char top[64], dir[128], lockbox[128], lockbox2[128], ent[512];
static char err[VCACHE_ERR_MAX];
static const uint8_t id[16] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
				5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t id2[16] = { 0xca, 0xfe };
static uint8_t key[64], out[VEIL_KEY_MAX];
static const time_t T0 = 1700000000;

static struct veil_cache_conf conf_for(const char *lb)
{
	struct veil_kmip_conf kc;
	struct veil_cache_conf cc;

	veil_kmip_conf_defaults(&kc);
	cc = kc.cache;
	cc.on = true;
	snprintf(cc.dir, sizeof(cc.dir), "%s", dir);
	snprintf(cc.lockbox, sizeof(cc.lockbox), "%s", lb);
	return cc;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static void put_file(const char *p, const void *b, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, b, n) != (ssize_t)n)
		perror(p);
	close(fd);
}

static size_t get_file(const char *p, void *b, size_t size)
{
	int fd = open(p, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, b, size);

	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static int load(struct vcache *c, const uint8_t *kid, time_t now)
{
	struct vcache_entry e;

	return vcache_load(c, kid, 16, out, sizeof(out), &e, now, err,
			   sizeof(err));
}

static bool all_zero(const uint8_t *b, size_t n)
{
	while (n--)
		if (*b++)
			return false;
	return true;
}

/* Store a fresh entry, flip byte @off of its file, expect a rejection. */
static void tamper(struct vcache *c, size_t off, const char *what)
{
	uint8_t b[512];
	size_t n;
	int r;

	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	n = get_file(ent, b, sizeof(b));
	b[off] ^= 0x20;
	put_file(ent, b, n);
	r = load(c, id, T0 + 1);
	check(r == -EBADMSG && all_zero(out, sizeof(out)),
	      "tampered %s (byte %zu): rejected (%d: %s)", what, off, r, err);
	check(!exists(ent), "... and the entry removed");
}

static void test_entries(void)
{
	struct veil_cache_conf cc = conf_for(lockbox), cc2;
	struct vcache_entry e;
	struct vcache *c, *c2;
	struct stat st;
	uint8_t b[512];
	char ent2[512];
	size_t n;
	int r;

	c = vcache_open(&cc, err, sizeof(err));
	if (!check(c != NULL, "open creates the lockbox and the cache directory (%s)",
		   c ? "" : err))
		return;
	check(!stat(lockbox, &st) && S_ISREG(st.st_mode) &&
	      (st.st_mode & 07777) == 0600 && st.st_size == VCACHE_KEK_LEN,
	      "the new lockbox is a 0600 file of %d bytes", VCACHE_KEK_LEN);
	check(!stat(dir, &st) && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 0700, "the cache directory is 0700");

	/* round trip */
	r = vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
			 sizeof(err));
	check(r == 0, "store (%s)", r ? err : "");
	check(exists(ent), "the entry is named by the hex key-id");
	n = get_file(ent, b, sizeof(b));
	check(n == 140 + sizeof(key) + 16 && !memmem(b, n, key, 16),
	      "the file is header + ciphertext + tag, no key bytes in clear");
	memset(&e, 0, sizeof(e));
	r = vcache_load(c, id, 16, out, sizeof(out), &e, T0 + 5, err,
			sizeof(err));
	check(r == 0 && e.key_len == sizeof(key) &&
	      !memcmp(out, key, sizeof(key)), "load gives the key back (%d %s)",
	      r, r ? err : "");
	check(e.created == T0 && e.expires == T0 + VCACHE_TTL_DEFAULT &&
	      !strcmp(e.cipher, "AES-512"),
	      "... with its created/expiry times and cipher name");
	check(load(c, id2, T0) == -ENOENT, "no entry: -ENOENT");

	/* refreshing replaces the entry atomically (a new nonce each time) */
	memcpy(b + 256, b + 128, 12);
	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0 + 10, err,
		     sizeof(err));
	get_file(ent, b, sizeof(b));
	check(memcmp(b + 256, b + 128, 12) != 0 && load(c, id, T0 + 11) == 0,
	      "a refresh writes a new nonce and still loads");

	/* tampering */
	tamper(c, 140 + 3, "ciphertext");
	tamper(c, 140 + sizeof(key) + 2, "tag");
	tamper(c, 24, "header (expiry time)");
	tamper(c, 35, "header (cipher name)");
	tamper(c, 128 + 5, "nonce");

	/* another key-id's entry renamed to this one */
	vcache_store(c, id2, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	snprintf(ent2, sizeof(ent2), "%s/cafe0000000000000000000000000000", dir);
	r = rename(ent2, ent);
	r = r ? r : load(c, id, T0 + 1);
	check(r == -EBADMSG, "an entry renamed to another key-id: rejected (%s)",
	      err);

	/* truncation */
	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	n = get_file(ent, b, sizeof(b));
	{
		size_t cuts[] = { 0, 7, 100, 140, 140 + sizeof(key), n - 1 };
		size_t i;

		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			put_file(ent, b, cuts[i]);
			r = load(c, id, T0 + 1);
			check(r == -EBADMSG && !exists(ent),
			      "truncated to %zu bytes: rejected, removed (%s)",
			      cuts[i], err);
		}
		memcpy(b + n, "x", 1);
		put_file(ent, b, n + 1);
		check(load(c, id, T0 + 1) == -EBADMSG,
		      "one byte appended: rejected");
	}

	/* expiry */
	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	check(load(c, id, T0 + VCACHE_TTL_DEFAULT - 1) == 0,
	      "usable one second before cache_ttl");
	r = load(c, id, T0 + VCACHE_TTL_DEFAULT);
	check(r == -ESTALE && !exists(ent) && all_zero(out, sizeof(out)),
	      "expired at cache_ttl: ignored, removed, nothing returned (%d)", r);
	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	cc2 = cc;
	cc2.ttl = 60;
	c2 = vcache_open(&cc2, err, sizeof(err));
	r = c2 ? load(c2, id, T0 + 61) : -1;
	check(r == -ESTALE, "a lowered cache_ttl applies to older entries");
	vcache_close(c2);

	/* another KEK */
	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	cc2 = conf_for(lockbox2);
	c2 = vcache_open(&cc2, err, sizeof(err));
	r = c2 ? load(c2, id, T0 + 1) : -1;
	check(r == -EBADMSG && all_zero(out, sizeof(out)),
	      "an entry sealed under another KEK: rejected (%s)", err);
	vcache_close(c2);

	/* remove */
	vcache_store(c, id, 16, key, sizeof(key), "AES-512", T0, err,
		     sizeof(err));
	check(vcache_remove(c, id, 16) == 0 && !exists(ent) &&
	      vcache_remove(c, id, 16) == -ENOENT,
	      "remove deletes the entry; a second remove: -ENOENT");
	vcache_close(c);
}

static void expect_refused(const char *what, const char *needle)
{
	struct veil_cache_conf cc = conf_for(lockbox);
	struct vcache *c;

	err[0] = '\0';
	c = vcache_open(&cc, err, sizeof(err));
	check(!c && strstr(err, lockbox) && strstr(err, needle),
	      "lockbox %s: refused, naming the file and why (%s)", what, err);
	vcache_close(c);
}

static void test_lockbox(void)
{
	uint8_t kek[VCACHE_KEK_LEN] = { 1 };

	chmod(lockbox, 0640);
	expect_refused("mode 0640", "group/other permission bits");
	chmod(lockbox, 0604);
	expect_refused("mode 0604", "group/other permission bits");
	chmod(lockbox, 0600);
	if (geteuid() == 0) {
		if (chown(lockbox, 1, 0))
			perror("chown");
		expect_refused("owned by uid 1", "not root");
		if (chown(lockbox, 0, 0))
			perror("chown");
	} else {
		printf("ok %d - # SKIP lockbox owner test needs root\n", ++t_num);
		t_skip++;
	}
	unlink(lockbox);
	put_file(lockbox, kek, 10);
	expect_refused("of 10 bytes", "not a 32-byte KEK");
	unlink(lockbox);
	if (symlink(lockbox2, lockbox))
		perror("symlink");
	expect_refused("a symbolic link", "symbolic link");
	unlink(lockbox);
	mkdir(lockbox, 0700);
	expect_refused("a directory", "not a regular file");
	rmdir(lockbox);
}

static int conf_file(const char *text)
{
	char p[160];
	struct veil_kmip_conf kc;

	snprintf(p, sizeof(p), "%s/veild.conf", top);
	put_file(p, text, strlen(text));
	err[0] = '\0';
	veil_kmip_conf_defaults(&kc);
	return veil_kmip_conf_load(&kc, p, err, sizeof(err)) ? -1 :
	       (kc.cache.on ? 1 : 0) * 1000000 + (int)(kc.cache.ttl % 1000000);
}

static void test_conf(void)
{
	const char *base = "server = kms:5696\nca = /ca\ncert = /c\nkey = /k\n";
	char text[512];
	int r;

	r = conf_file(base);
	check(r == (int)(VCACHE_TTL_DEFAULT % 1000000),
	      "configuration without cache settings: cache off, ttl 7d (%s)", err);
	snprintf(text, sizeof(text), "%scache = on\ncache_ttl = 90m\ncache_dir = /x\n", base);
	r = conf_file(text);
	check(r == 1000000 + 5400, "cache = on, cache_ttl = 90m read (%s)", err);
	snprintf(text, sizeof(text), "%s# c\ncache = maybe\n", base);
	check(conf_file(text) < 0 && strstr(err, "veild.conf:6: cache must be on or off"),
	      "a bad cache value names file and line (%s)", err);
	snprintf(text, sizeof(text), "%scache_ttl = 7y\n", base);
	check(conf_file(text) < 0 && strstr(err, ":5: cache_ttl"),
	      "a bad cache_ttl is refused (%s)", err);
	snprintf(text, sizeof(text), "cache = on\n%sbogus = 1\n", base);
	check(conf_file(text) < 0 && strstr(err, "veild.conf:6: unknown setting 'bogus'"),
	      "other errors still name the real file and line (%s)", err);
}

int main(void)
{
	size_t i;

	printf("TAP version 13\n");
	snprintf(top, sizeof(top), "/tmp/test_keycache.XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/var/cache", top);
	snprintf(lockbox, sizeof(lockbox), "%s/cache.kek", top);
	snprintf(lockbox2, sizeof(lockbox2), "%s/other.kek", top);
	snprintf(ent, sizeof(ent), "%s/deadbeef0102030405060708090a0b0c", dir);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x41 + i);

	test_entries();
	test_lockbox();
	test_conf();

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", top);
	}
	return tap_done();
}
