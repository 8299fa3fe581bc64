// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: a minimal streaming JSON writer for `status --json` and
 * `list --json`.  Output is one document, compact, ending in a newline
 * when the outermost value closes.  Strings are escaped per RFC 8259;
 * bytes >= 0x80 pass through (veilctl's strings are ASCII or UTF-8).
 */
#include <inttypes.h>
#include <string.h>

#include "veilctl.h"

void vc_json_init(struct vc_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

void vc_json_quote(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Comma and key before a value. */
static void item(struct vc_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		vc_json_quote(j->f, key);
		fputc(':', j->f);
	}
}

static void open_(struct vc_json *j, const char *key, char c)
{
	item(j, key);
	fputc(c, j->f);
	if (j->depth < 15)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct vc_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth)
		j->depth--;
	if (!j->depth)
		fputc('\n', j->f);
}

void vc_json_begin_obj(struct vc_json *j, const char *key)
{
	open_(j, key, '{');
}

void vc_json_end_obj(struct vc_json *j)
{
	close_(j, '}');
}

void vc_json_begin_arr(struct vc_json *j, const char *key)
{
	open_(j, key, '[');
}

void vc_json_end_arr(struct vc_json *j)
{
	close_(j, ']');
}

void vc_json_str(struct vc_json *j, const char *key, const char *val)
{
	item(j, key);
	vc_json_quote(j->f, val);
}

void vc_json_u64(struct vc_json *j, const char *key, uint64_t val)
{
	item(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void vc_json_i64(struct vc_json *j, const char *key, int64_t val)
{
	item(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void vc_json_bool(struct vc_json *j, const char *key, bool val)
{
	item(j, key);
	fputs(val ? "true" : "false", j->f);
}

void vc_json_null(struct vc_json *j, const char *key)
{
	item(j, key);
	fputs("null", j->f);
}
