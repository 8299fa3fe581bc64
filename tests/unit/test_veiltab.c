// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The veiltab parser (lib/veiltab.c): what each good line means, and the
 * exact message each bad line gets ("FILE:LINE: what is wrong"); bad
 * lines are left out and parsing goes on, so every one is reported.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veiltab.h"
#include "tap.h"

#define U "0c2a8c1e4a4b4b0e9a551d7e0f7f1a11"
#define UD "0C2A8C1E-4A4B-4B0E-9A55-1D7E0F7F1A11"

static char err[8192];

static int parse(struct veiltab *t, const char *text)
{
	return veiltab_parse_text(t, "vt", text, err, sizeof(err));
}

static void test_good(void)
{
	struct veiltab t;
	char b[256];
	int rc;

	rc = parse(&t, "");
	check(rc == 0 && t.n == 0 && t.auto_attach == VEILTAB_AUTO_ALL &&
	      t.names == VEILTAB_NAMES_METADATA, "empty: no LUs, auto-attach all, names metadata");
	veiltab_free(&t);

	rc = parse(&t, "# veiltab\n"
		   "auto-attach = listed   # only these\n"
		   "names = kernel\n"
		   "data = UUID=" UD " discard,key-timeout=45,nofail\n"
		   "  logs\t=\tLABEL=my\\x20logs\tro,noauto\n"
		   "boot = PARTUUID=6B1D2A3C-01 x-initrd.attach\n"
		   "byid = /dev/disk/by-id/wwn-0x5000c500a1b2c3d4 defaults\n"
		   "plain = UUID=ffffffffffffffffffffffffffffffff\n");
	check(rc == 0 && t.n == 5, "five good lines, no error (%d: %.*s)", rc, (int)strcspn(err, "\n"), err);
	check(t.auto_attach == VEILTAB_AUTO_LISTED && t.auto_line == 2 &&
	      t.names == VEILTAB_NAMES_KERNEL && t.names_line == 3,
	      "auto-attach = listed, names = kernel, with their lines");
	if (t.n == 5) {
		check(!strcmp(t.e[0].name, "data") && t.e[0].kind == VEILTAB_UUID &&
		      !strcmp(t.e[0].lu, U) && t.e[0].uuid[0] == 0x0c && t.e[0].uuid[15] == 0x11 &&
		      t.e[0].flags == (VEILTAB_DISCARD | VEILTAB_NOFAIL) &&
		      t.e[0].key_timeout == 45 && t.e[0].line == 4,
		      "UUID= with dashes and upper case: uuid bytes, discard, key-timeout, nofail");
		check(t.e[1].kind == VEILTAB_LABEL && !strcmp(t.e[1].lu, "my logs") &&
		      t.e[1].flags == (VEILTAB_RO | VEILTAB_NOAUTO),
		      "LABEL= decodes \\x20; tabs around '='; ro,noauto");
		check(t.e[2].kind == VEILTAB_PARTUUID && !strcmp(t.e[2].lu, "6b1d2a3c-01") &&
		      t.e[2].flags == VEILTAB_INITRD, "PARTUUID= lower-cased; x-initrd.attach");
		check(t.e[3].kind == VEILTAB_PATH &&
		      !strcmp(t.e[3].lu, "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4") &&
		      t.e[3].flags == 0, "a /dev/disk/by-id path; 'defaults' sets nothing");
		check(t.e[4].flags == 0 && t.e[4].key_timeout == 0, "no options: defaults");
		veiltab_opts_str(&t.e[0], b, sizeof(b));
		check(!strcmp(b, "discard,key-timeout=45,nofail"), "options print back (%s)", b);
		veiltab_opts_str(&t.e[4], b, sizeof(b));
		check(!strcmp(b, "defaults"), "no options print as defaults");
		veiltab_lu_str(&t.e[0], b, sizeof(b));
		check(!strcmp(b, "UUID=" U), "LU prints back (%s)", b);
	}
	veiltab_free(&t);

	rc = parse(&t, "auto-attach = none\n");
	check(rc == 0 && t.auto_attach == VEILTAB_AUTO_NONE, "auto-attach = none");
	veiltab_free(&t);
	rc = parse(&t, "auto-attach = all\n");
	check(rc == 0 && t.auto_attach == VEILTAB_AUTO_ALL, "auto-attach = all");
	veiltab_free(&t);
}

/* Each bad line alone: the one message it gets. */
static void test_bad_lines(void)
{
	static const struct { const char *text; const char *want; } cases[] = {
		{ "data UUID=" U " discard\n",
		  "vt:1: 'data UUID' is not a mapping name: write NAME = LU [OPTIONS]" },
		{ "data /dev/sdb\n", "vt:1: expected 'key = value', got 'data /dev/sdb'" },
		{ "\n[data]\n", "vt:2: sections ([...]) are not used in this file" },
		{ "= UUID=" U "\n", "vt:1: missing key before '='" },
		{ "my data = UUID=" U "\n",
		  "vt:1: 'my data' is not a mapping name: write NAME = LU [OPTIONS]" },
		{ "control = UUID=" U "\n",
		  "vt:1: 'control' is not a usable mapping name (1 to 127 of A-Z a-z 0-9 . _ + -, not 'control')" },
		{ "da/ta = UUID=" U "\n",
		  "vt:1: 'da/ta' is not a usable mapping name (1 to 127 of A-Z a-z 0-9 . _ + -, not 'control')" },
		{ "data =\n",
		  "vt:1: data: no LU after '=' (UUID=, PARTUUID=, LABEL= or a /dev/disk/by-id/ path)" },
		{ "data = UUID=" U " discard ro\n",
		  "vt:1: data: unexpected 'ro' after the options (options are one comma-separated word)" },
		{ "data = UUID=1234\n",
		  "vt:1: '1234' is not a uuid: UUID= wants the eVLU's uuid, 32 hex digits (dashes allowed as 8-4-4-4-12; see veilctl dump)" },
		{ "data = UUID=0c2a8c1e-4a4b-4b0e-9a55_1d7e0f7f1a11\n",
		  "vt:1: '0c2a8c1e-4a4b-4b0e-9a55_1d7e0f7f1a11' is not a uuid: UUID= wants the eVLU's uuid, 32 hex digits (dashes allowed as 8-4-4-4-12; see veilctl dump)" },
		{ "data = PARTUUID=xyz\n",
		  "vt:1: 'xyz' is not a partition uuid: PARTUUID= wants hex digits and dashes (see blkid or /dev/disk/by-partuuid)" },
		{ "data = LABEL=\n", "vt:1: LABEL=: empty label" },
		{ "data = LABEL=a\\x2\n",
		  "vt:1: LABEL=a\\x2: bad escape: write a blank as \\x20 and a backslash as \\x5c" },
		{ "data = LABEL=a\\x00b\n",
		  "vt:1: LABEL=a\\x00b: bad escape: write a blank as \\x20 and a backslash as \\x5c" },
		{ "data = sdb\n",
		  "vt:1: 'sdb' is not an LU: write UUID=, PARTUUID=, LABEL= or a /dev/disk/by-id/ path" },
		{ "data = /srv/img\n",
		  "vt:1: '/srv/img': a device path must be under /dev/ (a /dev/disk/by-id/ link names the same LU at every boot)" },
		{ "data = UUID=" U " discard,,ro\n",
		  "vt:1: empty option in 'discard,,ro' (options are one comma-separated word)" },
		{ "data = UUID=" U " discard,\n",
		  "vt:1: empty option in 'discard,' (options are one comma-separated word)" },
		{ "data = UUID=" U " discards\n",
		  "vt:1: unknown option 'discards' (known: discard, key-timeout=SECONDS, ro, noauto, nofail, x-initrd.attach, defaults)" },
		{ "data = UUID=" U " key-timeout=0\n",
		  "vt:1: key-timeout=0: want whole seconds, 1 or more" },
		{ "data = UUID=" U " key-timeout=30s\n",
		  "vt:1: key-timeout=30s: want whole seconds, 1 or more" },
		{ "data = UUID=" U " key-timeout=61\n",
		  "vt:1: key-timeout=61: dm-veil takes at most 60 seconds" },

		{ "data = UUID=" U " key-timeout=-5\n",
		  "vt:1: key-timeout=-5: want whole seconds, 1 or more" },
		{ "data = UUID=" U " key-timeout=99999999999999999999\n",
		  "vt:1: key-timeout=99999999999999999999: dm-veil takes at most 60 seconds" },
		{ "data = UUID=" U "\ndata = LABEL=x\n", "vt:2: name data is listed already on line 1" },
		{ "a = UUID=" U "\nb = UUID=" UD "\n",
		  "vt:2: this LU is listed already on line 1 (as a)" },
		{ "auto-attach = some\n",
		  "vt:1: auto-attach = 'some': want all, listed or none (acting as listed)" },
		{ "auto-attach = all\nauto-attach = none\n",
		  "vt:2: auto-attach is set already on line 1" },
		{ "names = label\n", "vt:1: names = 'label': want metadata or kernel" },
		{ "names = kernel\nnames = kernel\n", "vt:2: names is set already on line 1" },
	};
	struct veiltab t;
	char want[1024];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = parse(&t, cases[i].text);
		snprintf(want, sizeof(want), "%s\n", cases[i].want);
		check(rc == 1 && !strcmp(err, want), "bad line %zu: \"%s\" (got %d: \"%.*s\")", i,
		      cases[i].want, rc, (int)strcspn(err, "\n"), err);
		veiltab_free(&t);
	}
}

static void test_many_errors(void)
{
	struct veiltab t;
	char *big;
	int rc;

	/* every bad line reported; the good ones kept */
	rc = parse(&t, "a = UUID=" U "\nb = nonsense\nc = LABEL=ok zap\n"
		   "auto-attach = never\nd = LABEL=d nofail\n");
	check(rc == 3 && t.n == 2 && !strcmp(t.e[0].name, "a") && !strcmp(t.e[1].name, "d") &&
	      strstr(err, "vt:2: 'nonsense' is not an LU") &&
	      strstr(err, "vt:3: unknown option 'zap'") &&
	      strstr(err, "vt:4: auto-attach = 'never'") &&
	      t.auto_attach == VEILTAB_AUTO_LISTED,
	      "three bad lines: three messages, two LUs kept, bad policy acts as listed");
	veiltab_free(&t);

	/* a too-long line, then a good one */
	big = malloc(5000);
	memset(big, 'x', 4999);
	memcpy(big, "a = LABEL=", 10);
	big[4999] = 0;
	{
		char *text = malloc(6000);

		snprintf(text, 6000, "%s\nb = LABEL=b\n", big);
		rc = parse(&t, text);
		check(rc == 1 && t.n == 1 && strstr(err, "vt:1: line longer than 4095 bytes"),
		      "an overlong line is reported and the next line still read");
		veiltab_free(&t);
		free(text);
	}
	/* a label longer than an eVLU label */
	memset(big, 'x', 300);
	memcpy(big, "a = LABEL=", 10);
	big[300] = 0;
	rc = parse(&t, big);
	check(rc == 1 && strstr(err, "vt:1: LABEL= longer than an eVLU label can be (256 bytes)"),
	      "a 290-byte label is refused");
	veiltab_free(&t);
	free(big);

	/* a small error buffer: counted, truncated at a whole message */
	{
		char small[40];

		rc = veiltab_parse_text(&t, "vt", "a = x\nb = y\n", small, sizeof(small));
		check(rc == 2 && !strchr(small, 'b'), "more errors than fit: all counted (%d)", rc);
		veiltab_free(&t);
	}
}

static void test_load(void)
{
	char path[64];
	struct veiltab t;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/tmp/test_veiltab.%d", getpid());
	unlink(path);
	rc = veiltab_load(&t, path, err, sizeof(err));
	check(rc == 0 && t.n == 0 && t.auto_attach == VEILTAB_AUTO_ALL && !err[0],
	      "a missing file is an empty table: auto-attach all");
	veiltab_free(&t);
	f = fopen(path, "w");
	fputs("auto-attach = none\nx = LABEL=x\ny = oops\n", f);
	fclose(f);
	rc = veiltab_load(&t, path, err, sizeof(err));
	check(rc == 1 && t.n == 1 && t.auto_attach == VEILTAB_AUTO_NONE &&
	      !strncmp(err, path, strlen(path)) && strstr(err, ":3: 'oops' is not an LU"),
	      "the file's path names its error (%.*s)", (int)strcspn(err, "\n"), err);
	veiltab_free(&t);
	f = fopen(path, "w");
	fputs("x = LABEL=x\n\0y = LABEL=y\n", f);
	fwrite("\0", 1, 1, f);
	fclose(f);
	rc = veiltab_load(&t, path, err, sizeof(err));
	check(rc < 0 && strstr(err, "contains a NUL byte"), "a NUL byte is refused (%.*s)", (int)strcspn(err, "\n"), err);
	veiltab_free(&t);
	unlink(path);

	setenv(VEILTAB_ENV, "/x/y", 1);
	check(!strcmp(veiltab_default_path(), "/x/y"), "VEIL_VEILTAB overrides the path");
	unsetenv(VEILTAB_ENV);
	check(!strcmp(veiltab_default_path(), "/etc/veil/veiltab"), "default /etc/veil/veiltab");
}

static void test_names(void)
{
	char n128[130];

	memset(n128, 'a', 128);
	n128[128] = 0;
	check(veiltab_valid_name("veil-0c2a8c1e-4a4b-4b0e-9a55-1d7e0f7f1a11") &&
	      veiltab_valid_name("db_01.v+2"), "valid names");
	check(!veiltab_valid_name("") && !veiltab_valid_name(".") && !veiltab_valid_name("..") &&
	      !veiltab_valid_name("control") && !veiltab_valid_name("a b") &&
	      !veiltab_valid_name("a/b") && !veiltab_valid_name(n128),
	      "refused: empty, ., .., control, blank, slash, 128 bytes");
}

int main(void)
{
	test_good();
	test_bad_lines();
	test_many_errors();
	test_load();
	test_names();
	return tap_done();
}
