// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: checks of what encrypt is about to write (cipher spec, key size,
 * plaintext ranges), the key parser and the dm-crypt table of the rescue
 * path.  No I/O: what the kernel offers comes in as /proc/crypto's text and
 * a module-alias callback, so tests/unit/test_veilctl.c drives every branch.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "veil_md.h"
#include "veilctl.h"

/*
 * Block ciphers whose key sizes are known exactly.  A cipher that is not
 * listed is accepted when the kernel has it, with the key size checked
 * against /proc/crypto's min/max keysize of the chained algorithm.
 */
static const struct {
	const char *name;
	uint32_t sizes[3];	/* 0-terminated */
} known[] = {
	{ "aes", { 16, 24, 32 } },
	{ "serpent", { 16, 24, 32 } },
	{ "twofish", { 16, 24, 32 } },
	{ "camellia", { 16, 24, 32 } },
	{ "sm4", { 16 } },
};

int vc_cipher_split(const char *spec, struct vc_cipher_spec *s,
		    const char **why)
{
	struct veil_md_cipher_spec p;

	memset(s, 0, sizeof(*s));
	if (veil_md_cipher_split(spec, &p, why))
		return -EINVAL;
	snprintf(s->cipher, sizeof(s->cipher), "%s", p.cipher);
	snprintf(s->chain, sizeof(s->chain), "%s", p.chain);
	snprintf(s->iv, sizeof(s->iv), "%s", p.iv);
	snprintf(s->api, sizeof(s->api), "%s(%s)", p.chain, p.cipher);
	return 0;
}

/*
 * Find "name : @name" in /proc/crypto's text; on success the entry's
 * min/max keysize (if it lists them) go to *min / *max.
 */
static bool proc_crypto_find(const char *text, const char *name,
			     bool prefix, uint32_t *min, uint32_t *max)
{
	const char *p = text, *nl, *v;
	size_t n = strlen(name);
	bool in = false, found = false;
	char key[32];
	unsigned long x;

	if (!text)
		return false;
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		v = memchr(p, ':', nl - p);
		if (v && sscanf(p, "%31s", key) == 1) {
			for (v++; *v == ' '; v++)
				;
			if (!strcmp(key, "name")) {
				in = (size_t)(nl - v) >= n && !strncmp(v, name, n) &&
				     (prefix || (size_t)(nl - v) == n);
				if (in && !found) {
					found = true;
					if (min)
						*min = 0;
					if (max)
						*max = 0;
				}
			} else if (in && found && (!strcmp(key, "min") ||
						    !strcmp(key, "max"))) {
				v = strchr(p, ':') + 1;
				x = strtoul(v, NULL, 10);
				if (!strcmp(key, "min") && min)
					*min = (uint32_t)x;
				if (!strcmp(key, "max") && max)
					*max = (uint32_t)x;
			}
		}
		if (!*nl)
			break;
	}
	return found;
}

int vc_cipher_check(const char *spec, uint32_t key_bytes,
		    const char *proc_crypto, bool (*have_alias)(const char *),
		    char *why, size_t why_size)
{
	struct vc_cipher_spec s;
	const char *w = NULL;
	uint32_t min = 0, max = 0, want[3] = { 0 };
	char alias[80];
	bool have_api, have_cipher, have_chain, xts, single, nokey;
	size_t i;
	int k;

	if (vc_cipher_split(spec, &s, &w)) {
		snprintf(why, why_size, "--cipher %s: %s", spec, w);
		return -EINVAL;
	}
	/* cipher_null takes no key: any key_bytes is ignored */
	nokey = !strcmp(s.cipher, "cipher_null");
	if (!key_bytes)
		nokey = true;	/* size not known yet: availability only */
	else if (!nokey && key_bytes > VEIL_KEY_MAX) {
		snprintf(why, why_size, "key size %" PRIu32 " bytes: want 1 to %d",
			 key_bytes, VEIL_KEY_MAX);
		return -EINVAL;
	}
	xts = !strcmp(s.chain, "xts");
	/* chaining modes whose key is the cipher's (xts: two of them) */
	single = !strcmp(s.chain, "cbc") || !strcmp(s.chain, "ecb") ||
		 !strcmp(s.chain, "ctr") || !strcmp(s.chain, "pcbc") ||
		 !strcmp(s.chain, "cts");
	i = sizeof(known) / sizeof(known[0]);
	if (xts || single)
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(known[i].name, s.cipher))
				break;
	if (!nokey && i < sizeof(known) / sizeof(known[0])) {
		char list[64];
		size_t len = 0;

		for (k = 0; k < 3 && known[i].sizes[k]; k++) {
			want[k] = known[i].sizes[k] * (xts ? 2 : 1);
			if (want[k] == key_bytes)
				break;
			len += snprintf(list + len, sizeof(list) - len,
					"%s%" PRIu32, !k ? "" :
					k == 2 || !known[i].sizes[k + 1] ?
					" or " : ", ", want[k]);
		}
		if (k == 3 || !known[i].sizes[k]) {
			snprintf(why, why_size,
				 "%s takes a key of %s bytes, not %" PRIu32,
				 spec, list, key_bytes);
			return -EINVAL;
		}
	}
	have_api = proc_crypto_find(proc_crypto, s.api, false, &min, &max);
	have_cipher = have_api ||
		proc_crypto_find(proc_crypto, s.cipher, false, NULL, NULL);
	if (!have_cipher && have_alias) {
		snprintf(alias, sizeof(alias), "crypto-%s", s.cipher);
		have_cipher = have_alias(alias);
	}
	snprintf(alias, sizeof(alias), "%s(", s.chain);
	have_chain = have_api ||
		proc_crypto_find(proc_crypto, alias, true, NULL, NULL);
	if (!have_chain && have_alias) {
		snprintf(alias, sizeof(alias), "crypto-%s", s.chain);
		have_chain = have_alias(alias);
	}
	if (!have_cipher || !have_chain) {
		snprintf(why, why_size,
			 "--cipher %s: %s not available in this kernel (not in /proc/crypto, no module for crypto-%s)",
			 spec, s.api, !have_cipher ? s.cipher : s.chain);
		return -ENOENT;
	}
	if (nokey)
		return 0;
	if (max && (key_bytes < min || key_bytes > max)) {
		snprintf(why, why_size,
			 "%s takes a key of %" PRIu32 " to %" PRIu32 " bytes (/proc/crypto), not %" PRIu32,
			 spec, min, max, key_bytes);
		return -EINVAL;
	}
	if (xts && key_bytes % 2) {
		snprintf(why, why_size,
			 "%s: an xts key is two keys of equal size; %" PRIu32 " bytes is odd",
			 spec, key_bytes);
		return -EINVAL;
	}
	return 0;
}

int vc_parse_range(const char *s, struct veil_md_extent *e)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	e->start = strtoull(s, &end, 10);
	if (errno || *end != ':' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	e->len = strtoull(end + 1, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static int cmp_ext(const void *a, const void *b)
{
	const struct veil_md_extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int vc_ranges_check(struct veil_md_extent *r, unsigned int n,
		    uint64_t data_sectors, uint32_t sector_size,
		    char *why, size_t why_size)
{
	u64 unit = sector_size / 512;
	unsigned int i;

	if (n > VEIL_MD_PLAINTEXT_MAX) {
		snprintf(why, why_size, "more than %d plaintext ranges",
			 VEIL_MD_PLAINTEXT_MAX);
		return -EINVAL;
	}
	qsort(r, n, sizeof(*r), cmp_ext);
	for (i = 0; i < n; i++) {
		if (!r[i].len) {
			snprintf(why, why_size,
				 "plaintext range %llu:0 is empty", r[i].start);
			return -EINVAL;
		}
		if (r[i].start % unit || r[i].len % unit) {
			snprintf(why, why_size,
				 "plaintext range %llu:%llu is not aligned to the %" PRIu32 "-byte sector size (multiples of %llu sectors)",
				 r[i].start, r[i].len, sector_size, unit);
			return -EINVAL;
		}
		if (r[i].start >= data_sectors ||
		    r[i].len > data_sectors - r[i].start) {
			snprintf(why, why_size,
				 "plaintext range %llu:%llu ends beyond the data area (%llu sectors)",
				 r[i].start, r[i].len, (u64)data_sectors);
			return -EINVAL;
		}
		if (i && r[i].start < r[i - 1].start + r[i - 1].len) {
			snprintf(why, why_size,
				 "plaintext ranges %llu:%llu and %llu:%llu overlap",
				 r[i - 1].start, r[i - 1].len, r[i].start,
				 r[i].len);
			return -EINVAL;
		}
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int vc_key_parse(const uint8_t *in, size_t len, uint32_t key_bytes,
		 uint8_t *key)
{
	size_t t = len, i;

	while (t && isspace(in[t - 1]))
		t--;
	if (t == 2 * (size_t)key_bytes) {
		for (i = 0; i < t; i++)
			if (hexval(in[i]) < 0)
				break;
		if (i == t) {
			for (i = 0; i < key_bytes; i++)
				key[i] = (uint8_t)(hexval(in[2 * i]) << 4 |
						   hexval(in[2 * i + 1]));
			return 0;
		}
	}
	if (len == key_bytes) {
		memcpy(key, in, len);
		return 0;
	}
	return -EINVAL;
}

/* Append to buf; -ENOSPC once it is full. */
static int add(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return -ENOSPC;
	*len += n;
	return 0;
}

int vc_dmcrypt_table(const struct veil_md *md, const char *dev,
		     const uint8_t *key, char *buf, size_t size)
{
	char *hex = NULL;
	const char *opts = md->sector_size == 4096 ?
		" 2 sector_size:4096 iv_large_sectors" : "";
	u64 pos = 0, end;
	size_t len = 0;
	unsigned int i;
	int r = 0;

	if (!md->key_id_len || !md->cipher[0])
		return -EINVAL;
	if (!strncmp(md->cipher, "cipher_null-", 12)) {
		hex = strdup("-");
	} else {
		hex = malloc(2 * (size_t)md->key_bytes + 1);
		if (hex)
			veil_hex_encode(key, md->key_bytes, hex);
	}
	if (!hex)
		return -ENOMEM;
	buf[0] = '\0';
	for (i = 0; i <= md->n_plaintext && !r; i++) {
		end = i < md->n_plaintext ? md->plaintext[i].start :
			md->data_sectors;
		if (end > pos)
			r = add(buf, size, &len,
				"%s%llu %llu crypt %s %s %llu %s %llu%s",
				len ? "\n" : "", pos, end - pos, md->cipher,
				hex, pos, dev, md->data_offset + pos, opts);
		if (i == md->n_plaintext || r)
			break;
		pos = md->plaintext[i].start;
		r = add(buf, size, &len,
			"%s%llu %llu linear %s %llu",
			len ? "\n" : "", pos, md->plaintext[i].len, dev,
			md->data_offset + pos);
		pos += md->plaintext[i].len;
	}
	explicit_bzero(hex, strlen(hex));
	free(hex);
	if (r)
		explicit_bzero(buf, size);
	return r;
}

void vc_fmt_uuid(const uint8_t *u, char *out)
{
	char hex[33];

	veil_hex_encode(u, 16, hex);
	sprintf(out, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		hex + 16, hex + 20);
}
