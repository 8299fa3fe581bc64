// SPDX-License-Identifier: LGPL-2.1-or-later
/* The configuration-file tokenizer: see conf.h for the syntax. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static int verror(struct veil_conf *r, int line, const char *fmt, va_list ap)
{
	int n;

	if (!r->err || !r->errlen)
		return -EINVAL;
	n = line ? snprintf(r->err, r->errlen, "%s:%d: ", r->path, line)
		 : snprintf(r->err, r->errlen, "%s: ", r->path);
	if (n < 0 || (size_t)n >= r->errlen)
		return -EINVAL;
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	return -EINVAL;
}

int veil_conf_error(struct veil_conf *r, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(r, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int veil_conf_open_text(struct veil_conf *r, const char *path, const char *text,
			bool sections, char *err, size_t errlen)
{
	size_t n = strlen(text);

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->sections = sections;
	r->err = err;
	r->errlen = errlen;
	if (n > VEIL_CONF_MAX_BYTES)
		return veil_conf_error(r, 0, "larger than %d bytes", VEIL_CONF_MAX_BYTES);
	r->text = strdup(text);
	if (!r->text) {
		veil_conf_error(r, 0, "out of memory");
		return -ENOMEM;
	}
	r->pos = r->text;
	return 0;
}

int veil_conf_open_file(struct veil_conf *r, const char *path, bool sections,
			char *err, size_t errlen)
{
	size_t len = 0;
	char *text;
	ssize_t n;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->err = err;
	r->errlen = errlen;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		veil_conf_error(r, 0, "%s", strerror(errno));
		return rc;
	}
	text = malloc(VEIL_CONF_MAX_BYTES + 2);
	if (!text) {
		close(fd);
		veil_conf_error(r, 0, "out of memory");
		return -ENOMEM;
	}
	while (len <= VEIL_CONF_MAX_BYTES &&
	       (n = read(fd, text + len, VEIL_CONF_MAX_BYTES + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			veil_conf_error(r, 0, "%s", strerror(errno));
			close(fd);
			free(text);
			return rc;
		}
		len += n;
	}
	close(fd);
	text[len] = 0;
	if (len > VEIL_CONF_MAX_BYTES)
		rc = veil_conf_error(r, 0, "larger than %d bytes", VEIL_CONF_MAX_BYTES);
	else if (memchr(text, 0, len))
		rc = veil_conf_error(r, 0, "contains a NUL byte");
	else
		rc = veil_conf_open_text(r, path, text, sections, err, errlen);
	free(text);
	return rc;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static char *trim(char *s)
{
	char *e;

	while (blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && (blank(e[-1]) || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* Cut the comment off a line: a '#' first on the line or after a blank. */
static void cut_comment(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if (*p == '#' && (p == s || blank(p[-1]))) {
			*p = 0;
			return;
		}
}

int veil_conf_next(struct veil_conf *r, struct veil_conf_item *it)
{
	while (r->pos) {
		char *ln = r->pos, *nl = strchr(ln, '\n'), *eq, *k;

		if (nl)
			*nl = 0;
		r->pos = nl ? nl + 1 : NULL;
		r->line++;
		if (strlen(ln) > VEIL_CONF_MAX_LINE)
			return veil_conf_error(r, r->line, "line longer than %d bytes",
					       VEIL_CONF_MAX_LINE);
		cut_comment(ln);
		k = trim(ln);
		if (!*k)
			continue;
		if (*k == '[') {
			char *end = k + strlen(k) - 1;

			if (!r->sections)
				return veil_conf_error(r, r->line, "sections ([...]) are not used in this file");
			if (*end != ']' || end == k)
				return veil_conf_error(r, r->line, "a section header must end with ']'");
			*end = 0;
			it->kind = VEIL_CONF_SECTION;
			it->key = trim(k + 1);
			it->value = NULL;
			return 1;
		}
		eq = strchr(k, '=');
		if (!eq)
			return veil_conf_error(r, r->line, "expected 'key = value', got '%.40s'", k);
		*eq = 0;
		it->kind = VEIL_CONF_SETTING;
		it->key = trim(k);
		it->value = trim(eq + 1);
		if (!*it->key)
			return veil_conf_error(r, r->line, "missing key before '='");
		return 1;
	}
	return 0;
}

void veil_conf_close(struct veil_conf *r)
{
	free(r->text);
	r->text = r->pos = NULL;
}
