// SPDX-License-Identifier: LGPL-2.1-or-later
/* The veiltab parser: see veiltab.h and veiltab(5). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/veil.h>

#include "conf.h"
#include "util.h"
#include "veiltab.h"

struct parse {
	struct veiltab *t;
	struct veil_conf r;
	char msg[512];		/* the tokenizer's and our message for one line */
	char *err;		/* all messages, one a line */
	size_t errlen, errused;
};

const char *veiltab_default_path(void)
{
	const char *p = getenv(VEILTAB_ENV);

	return p && *p ? p : VEILTAB_FILE;
}

bool veiltab_valid_name(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n > VEILTAB_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, "..") || !strcmp(name, "control"))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._+-", name[i]))
			return false;
	return true;
}

const char *veiltab_auto_str(enum veiltab_auto a)
{
	return a == VEILTAB_AUTO_ALL ? "all" : a == VEILTAB_AUTO_LISTED ? "listed" : "none";
}

/* Keep the message of the line just rejected; count it. */
static void keep_error(struct parse *p)
{
	size_t n = strlen(p->msg);

	p->t->errors++;
	if (!p->err || p->errused + n + 2 > p->errlen)
		return;
	memcpy(p->err + p->errused, p->msg, n);
	p->errused += n;
	p->err[p->errused++] = '\n';
	p->err[p->errused] = '\0';
}

#define bad(p, ...) (veil_conf_error(&(p)->r, (p)->r.line, __VA_ARGS__), keep_error(p))

/* 32 hex digits, or 8-4-4-4-12 with dashes; @hex gets lower case. */
static int parse_uuid(const char *s, uint8_t uuid[16], char hex[33])
{
	size_t len = strlen(s), i, j = 0;

	if (len != 32 && len != 36)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		hex[j++] = (char)tolower((unsigned char)s[i]);
	}
	hex[32] = '\0';
	return veil_hex_decode(hex, uuid, 16) == 16 ? 0 : -EINVAL;
}

/* Decode \xNN escapes (how udev and blkid write a label with blanks). */
static int decode_label(const char *s, char *out, size_t size)
{
	size_t n = 0;

	while (*s) {
		char c = *s;

		if (c == '\\') {
			unsigned int v;

			if (s[1] != 'x' || !isxdigit((unsigned char)s[2]) ||
			    !isxdigit((unsigned char)s[3]) ||
			    sscanf(s + 2, "%2x", &v) != 1 || !v)
				return -EINVAL;
			c = (char)v;
			s += 4;
		} else {
			s++;
		}
		if (n + 1 >= size)
			return -E2BIG;
		out[n++] = c;
	}
	out[n] = '\0';
	return n ? 0 : -EINVAL;
}

static int parse_lu(struct parse *p, const char *w, struct veiltab_entry *e)
{
	const char *v;
	size_t i;
	int r;

	if (!strncmp(w, "UUID=", 5)) {
		e->kind = VEILTAB_UUID;
		if (parse_uuid(w + 5, e->uuid, e->lu)) {
			bad(p, "'%.60s' is not a uuid: UUID= wants the eVLU's uuid, 32 hex digits (dashes allowed as 8-4-4-4-12; see veilctl dump)",
			    w + 5);
			return -EINVAL;
		}
		return 0;
	}
	if (!strncmp(w, "PARTUUID=", 9)) {
		e->kind = VEILTAB_PARTUUID;
		v = w + 9;
		for (i = 0; v[i]; i++)
			if (!isxdigit((unsigned char)v[i]) && v[i] != '-')
				break;
		if (!*v || v[i] || i > 36) {
			bad(p, "'%.60s' is not a partition uuid: PARTUUID= wants hex digits and dashes (see blkid or /dev/disk/by-partuuid)",
			    v);
			return -EINVAL;
		}
		for (i = 0; v[i]; i++)
			e->lu[i] = (char)tolower((unsigned char)v[i]);
		e->lu[i] = '\0';
		return 0;
	}
	if (!strncmp(w, "LABEL=", 6)) {
		e->kind = VEILTAB_LABEL;
		r = decode_label(w + 6, e->lu, sizeof(e->lu));
		if (r == -E2BIG || (!r && strlen(e->lu) > VEIL_MD_LABEL_MAX)) {
			bad(p, "LABEL= longer than an eVLU label can be (%d bytes)",
			    VEIL_MD_LABEL_MAX);
			return -EINVAL;
		}
		if (r) {
			bad(p, "LABEL=%.60s: %s", w + 6, !w[6] ? "empty label" :
			    "bad escape: write a blank as \\x20 and a backslash as \\x5c");
			return -EINVAL;
		}
		return 0;
	}
	if (w[0] == '/') {
		e->kind = VEILTAB_PATH;
		if (strncmp(w, "/dev/", 5) || !w[5]) {
			bad(p, "'%.60s': a device path must be under /dev/ (a /dev/disk/by-id/ link names the same LU at every boot)",
			    w);
			return -EINVAL;
		}
		if (strlen(w) > VEILTAB_LU_MAX) {
			bad(p, "device path longer than %d bytes", VEILTAB_LU_MAX);
			return -EINVAL;
		}
		snprintf(e->lu, sizeof(e->lu), "%s", w);
		return 0;
	}
	bad(p, "'%.60s' is not an LU: write UUID=, PARTUUID=, LABEL= or a /dev/disk/by-id/ path",
	    w);
	return -EINVAL;
}

static int parse_opts(struct parse *p, char *w, struct veiltab_entry *e)
{
	static const struct { const char *name; unsigned int flag; } flags[] = {
		{ "discard", VEILTAB_DISCARD }, { "ro", VEILTAB_RO },
		{ "noauto", VEILTAB_NOAUTO }, { "nofail", VEILTAB_NOFAIL },
		{ "x-initrd.attach", VEILTAB_INITRD }, { "defaults", 0 },
	};
	char *o, *save = NULL;
	size_t i;

	if (!*w || w[0] == ',' || w[strlen(w) - 1] == ',' || strstr(w, ",,")) {
		bad(p, "empty option in '%.60s' (options are one comma-separated word)", w);
		return -EINVAL;
	}
	for (o = strtok_r(w, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (!strcmp(o, flags[i].name))
				break;
		if (i < sizeof(flags) / sizeof(flags[0])) {
			e->flags |= flags[i].flag;
			continue;
		}
		if (!strncmp(o, "key-timeout=", 12)) {
			const char *v = o + 12;
			char *end;
			unsigned long s;

			errno = 0;
			s = strtoul(v, &end, 10);
			if (!isdigit((unsigned char)*v) || *end || s < 1) {
				bad(p, "key-timeout=%.20s: want whole seconds, 1 or more", v);
				return -EINVAL;
			}
			if (errno == ERANGE || s > VEIL_KEY_TIMEOUT_MAX) {
				bad(p, "key-timeout=%.20s: dm-veil takes at most %u seconds",
				    v, (unsigned int)VEIL_KEY_TIMEOUT_MAX);
				return -EINVAL;
			}
			e->key_timeout = (unsigned int)s;
			continue;
		}
		bad(p, "unknown option '%.40s' (known: discard, key-timeout=SECONDS, ro, noauto, nofail, x-initrd.attach, defaults)",
		    o);
		return -EINVAL;
	}
	return 0;
}

static bool same_lu(const struct veiltab_entry *a, const struct veiltab_entry *b)
{
	return a->kind == b->kind && !strcmp(a->lu, b->lu);
}

static int parse_entry(struct parse *p, const char *key, char *value)
{
	struct veiltab *t = p->t;
	struct veiltab_entry e, *ne;
	char *lu, *opts, *extra, *save = NULL;
	size_t i;

	memset(&e, 0, sizeof(e));
	e.line = p->r.line;
	if (!veiltab_valid_name(key)) {
		if (strpbrk(key, " \t"))
			bad(p, "'%.60s' is not a mapping name: write NAME = LU [OPTIONS]", key);
		else
			bad(p, "'%.60s' is not a usable mapping name (1 to 127 of A-Z a-z 0-9 . _ + -, not 'control')",
			    key);
		return 0;
	}
	lu = strtok_r(value, " \t", &save);
	opts = lu ? strtok_r(NULL, " \t", &save) : NULL;
	extra = opts ? strtok_r(NULL, " \t", &save) : NULL;
	if (!lu) {
		bad(p, "%s: no LU after '=' (UUID=, PARTUUID=, LABEL= or a /dev/disk/by-id/ path)",
		    key);
		return 0;
	}
	if (extra) {
		bad(p, "%s: unexpected '%.40s' after the options (options are one comma-separated word)",
		    key, extra);
		return 0;
	}
	snprintf(e.name, sizeof(e.name), "%s", key);
	if (parse_lu(p, lu, &e) || (opts && parse_opts(p, opts, &e)))
		return 0;
	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->e[i].name, e.name)) {
			bad(p, "name %s is listed already on line %d", e.name, t->e[i].line);
			return 0;
		}
		if (same_lu(&t->e[i], &e)) {
			bad(p, "this LU is listed already on line %d (as %s)",
			    t->e[i].line, t->e[i].name);
			return 0;
		}
	}
	if (t->n >= VEILTAB_MAX_ENTRIES) {
		bad(p, "more than %d LUs", VEILTAB_MAX_ENTRIES);
		return 0;
	}
	ne = realloc(t->e, (t->n + 1) * sizeof(*t->e));
	if (!ne)
		return -ENOMEM;
	t->e = ne;
	t->e[t->n++] = e;
	return 0;
}

static void parse_setting(struct parse *p, const char *key, const char *value)
{
	struct veiltab *t = p->t;

	if (!strcmp(key, "auto-attach")) {
		if (t->auto_line) {
			bad(p, "auto-attach is set already on line %d", t->auto_line);
			return;
		}
		t->auto_line = p->r.line;
		if (!strcmp(value, "all")) {
			t->auto_attach = VEILTAB_AUTO_ALL;
		} else if (!strcmp(value, "listed")) {
			t->auto_attach = VEILTAB_AUTO_LISTED;
		} else if (!strcmp(value, "none")) {
			t->auto_attach = VEILTAB_AUTO_NONE;
		} else {
			t->auto_attach = VEILTAB_AUTO_LISTED;
			bad(p, "auto-attach = '%.40s': want all, listed or none (acting as listed)",
			    value);
		}
		return;
	}
	if (t->names_line) {
		bad(p, "names is set already on line %d", t->names_line);
		return;
	}
	t->names_line = p->r.line;
	if (!strcmp(value, "metadata"))
		t->names = VEILTAB_NAMES_METADATA;
	else if (!strcmp(value, "kernel"))
		t->names = VEILTAB_NAMES_KERNEL;
	else
		bad(p, "names = '%.40s': want metadata or kernel", value);
}

int veiltab_parse_text(struct veiltab *t, const char *path, const char *text,
		       char *err, size_t errlen)
{
	struct parse p = { .t = t, .err = err, .errlen = errlen };
	struct veil_conf_item it;
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	if (err && errlen)
		err[0] = '\0';
	rc = veil_conf_open_text(&p.r, t->path, text, false, p.msg, sizeof(p.msg));
	if (rc) {
		keep_error(&p);
		return rc == -ENOMEM ? -ENOMEM : t->errors;
	}
	for (;;) {
		rc = veil_conf_next(&p.r, &it);
		if (rc == 0)
			break;
		if (rc < 0) {
			keep_error(&p);
			continue;
		}
		if (!strcmp(it.key, "auto-attach") || !strcmp(it.key, "names")) {
			parse_setting(&p, it.key, it.value);
			continue;
		}
		if (parse_entry(&p, it.key, it.value) == -ENOMEM) {
			veil_conf_close(&p.r);
			return -ENOMEM;
		}
	}
	veil_conf_close(&p.r);
	return t->errors;
}

int veiltab_load(struct veiltab *t, const char *path, char *err, size_t errlen)
{
	struct veil_conf r;
	int rc;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	if (err && errlen)
		err[0] = '\0';
	rc = veil_conf_open_file(&r, path, false, err, errlen);
	if (rc == -ENOENT) {
		if (err && errlen)
			err[0] = '\0';
		return 0;
	}
	if (rc)
		return rc;
	rc = veiltab_parse_text(t, path, r.text, err, errlen);
	veil_conf_close(&r);
	return rc;
}

void veiltab_free(struct veiltab *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

void veiltab_lu_str(const struct veiltab_entry *e, char *buf, size_t size)
{
	static const char *const pfx[] = { "UUID=", "PARTUUID=", "LABEL=", "" };

	snprintf(buf, size, "%s%s", pfx[e->kind], e->lu);
}

void veiltab_opts_str(const struct veiltab_entry *e, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
#define ADD(...) (n += snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__))
	if (e->flags & VEILTAB_DISCARD)
		ADD("%sdiscard", n ? "," : "");
	if (e->key_timeout)
		ADD("%skey-timeout=%u", n ? "," : "", e->key_timeout);
	if (e->flags & VEILTAB_RO)
		ADD("%sro", n ? "," : "");
	if (e->flags & VEILTAB_NOAUTO)
		ADD("%snoauto", n ? "," : "");
	if (e->flags & VEILTAB_NOFAIL)
		ADD("%snofail", n ? "," : "");
	if (e->flags & VEILTAB_INITRD)
		ADD("%sx-initrd.attach", n ? "," : "");
#undef ADD
	if (!n)
		snprintf(buf, size, "defaults");
}
