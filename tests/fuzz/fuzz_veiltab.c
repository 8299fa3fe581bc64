// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the veiltab parser (lib/veiltab.c on lib/conf.c).
 *
 * Input: the file's text (cut at the first NUL, as a file with a NUL is
 * refused before parsing).  Properties checked: the error count matches
 * the messages written; every entry kept has a valid, unique name and an
 * LU of its kind; and the table printed back as a veiltab parses without
 * error to the same table (names, LUs, options, policy).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veiltab.h"

static char err[1 << 16], err2[1 << 16];

/* LABEL= text for @label: anything but a plain printable as \xNN. */
static size_t enc_label(const char *label, char *out)
{
	size_t n = 0;

	for (; *label; label++) {
		unsigned char c = (unsigned char)*label;

		if (c > ' ' && c < 0x7f && c != '#' && c != '\\' && c != ',')
			out[n++] = (char)c;
		else
			n += sprintf(out + n, "\\x%02x", c);
	}
	out[n] = 0;
	return n;
}

static void print_table(const struct veiltab *t, FILE *f)
{
	static char lu[4 * VEILTAB_LU_MAX + 16];
	char opts[256];
	size_t i;

	if (t->auto_line)
		fprintf(f, "auto-attach = %s\n", veiltab_auto_str(t->auto_attach));
	if (t->names_line)
		fprintf(f, "names = %s\n", t->names == VEILTAB_NAMES_KERNEL ? "kernel" : "metadata");
	for (i = 0; i < t->n; i++) {
		const struct veiltab_entry *e = &t->e[i];

		if (e->kind == VEILTAB_LABEL) {
			strcpy(lu, "LABEL=");
			enc_label(e->lu, lu + 6);
		} else {
			veiltab_lu_str(e, lu, sizeof(lu));
		}
		veiltab_opts_str(e, opts, sizeof(opts));
		fprintf(f, "%s = %s %s\n", e->name, lu, opts);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct veiltab t, t2;
	char *text, *out = NULL;
	size_t outlen = 0, i, j, lines = 0;
	FILE *f;
	int rc, rc2;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	rc = veiltab_parse_text(&t, "fuzz", text, err, sizeof(err));
	free(text);
	if (rc < 0) {
		veiltab_free(&t);
		return 0;
	}
	for (i = 0; err[i]; i++)
		lines += err[i] == '\n';
	if ((size_t)rc != lines || (rc == 0) != (err[0] == 0))
		abort();	/* every bad line has exactly one message */
	for (i = 0; i < t.n; i++) {
		if (!veiltab_valid_name(t.e[i].name) || !t.e[i].lu[0] || t.e[i].line < 1)
			abort();
		for (j = 0; j < i; j++)
			if (!strcmp(t.e[i].name, t.e[j].name))
				abort();
	}
	f = open_memstream(&out, &outlen);
	if (!f)
		abort();
	print_table(&t, f);
	fclose(f);
	rc2 = veiltab_parse_text(&t2, "again", out, err2, sizeof(err2));
	if (rc2 != 0 || t2.n != t.n || t2.auto_attach != t.auto_attach ||
	    t2.names != t.names) {
		fprintf(stderr, "reparse of:\n%s\nfailed: %s\n", out, err2);
		abort();
	}
	for (i = 0; i < t.n; i++)
		if (strcmp(t.e[i].name, t2.e[i].name) || t.e[i].kind != t2.e[i].kind ||
		    strcmp(t.e[i].lu, t2.e[i].lu) || t.e[i].flags != t2.e[i].flags ||
		    t.e[i].key_timeout != t2.e[i].key_timeout ||
		    memcmp(t.e[i].uuid, t2.e[i].uuid, 16))
			abort();
	free(out);
	veiltab_free(&t);
	veiltab_free(&t2);
	return 0;
}
