// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The config tokenizer (lib/conf.c): its comment rule, sections, errors
 * naming FILE:LINE, and that veild's and veil-fsd's parsers both follow
 * it (the same line means the same thing to both).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "kmip/kmip.h"
#include "../../daemon/fsd/config.h"
#include "tap.h"

/* Tokenize text; "k=v|[s]|..." of what came out, or "ERR:<message>". */
static const char *tokens(const char *text, bool sections)
{
	static char out[1024], err[256];
	struct veil_conf r;
	struct veil_conf_item it;
	size_t n = 0;
	int rc;

	out[0] = 0;
	if (veil_conf_open_text(&r, "x.conf", text, sections, err, sizeof(err)))
		return err;
	while ((rc = veil_conf_next(&r, &it)) > 0)
		n += snprintf(out + n, sizeof(out) - n, it.kind == VEIL_CONF_SECTION ? "[%s]|" : "%s=%s|",
			      it.key, it.value);
	veil_conf_close(&r);
	if (rc < 0) {
		snprintf(out, sizeof(out), "ERR:%s", err);
		return out;
	}
	return out;
}

static void test_tokenizer(void)
{
	static const struct { const char *text; bool sections; const char *want; } cases[] = {
		{ "a = 1\n", false, "a=1|" },
		{ "  a\t=\t1  \r\n\n# c\n   # c\nb=2", false, "a=1|b=2|" },
		{ "server = kms # primary\n", false, "server=kms|" },
		{ "server = kms\t# tab then comment\n", false, "server=kms|" },
		{ "root = /srv/a#b\n", false, "root=/srv/a#b|" },
		{ "k = a #b # c\n", false, "k=a|" },
		{ "k =# not a comment: no blank before it\n", false, "k=# not a comment: no blank before it|" },
		{ "k = \n", false, "k=|" },
		{ "k = a = b\n", false, "k=a = b|" },
		{ "[vm a]  # tenant\nroot = /r # its root\n[vm b]\n", true, "[vm a]|root=/r|[vm b]|" },
		{ "[vm a]\n", false, "ERR:x.conf:1: sections ([...]) are not used in this file" },
		{ "\n\n[vm a\n", true, "ERR:x.conf:3: a section header must end with ']'" },
		{ "a = 1\nnonsense\n", false, "ERR:x.conf:2: expected 'key = value', got 'nonsense'" },
		{ "= 1\n", false, "ERR:x.conf:1: missing key before '='" },
		{ "#only = comment\n", false, "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = tokens(cases[i].text, cases[i].sections);

		check(!strcmp(got, cases[i].want), "tokens of case %zu: \"%s\" (got \"%s\")", i,
		      cases[i].want, got);
	}
	{
		char *big = malloc(VEIL_CONF_MAX_LINE + 10);

		memset(big, 'x', VEIL_CONF_MAX_LINE + 8);
		big[0] = 'k';
		big[1] = '=';
		big[VEIL_CONF_MAX_LINE + 8] = 0;
		check(!strcmp(tokens(big, false), "ERR:x.conf:1: line longer than 4095 bytes"),
		      "an overlong line is refused");
		free(big);
	}
}

/* The same comment means the same to veild and to veil-fsd. */
static void test_both_parsers(void)
{
	char path[64], err[512];
	struct veil_kmip_conf k;
	struct fsd_conf *c;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/tmp/test_conf.%d.conf", getpid());
	f = fopen(path, "w");
	fputs("server = kms # primary\nserver = kms2:5697\t# secondary\n"
	      "ca = /etc/veil/ca#1.pem\ncert = /c # client\nkey = /k\n", f);
	fclose(f);
	veil_kmip_conf_defaults(&k);
	rc = veil_kmip_conf_load(&k, path, err, sizeof(err));
	check(!rc && k.nservers == 2 && !strcmp(k.servers[0].host, "kms") &&
	      !strcmp(k.servers[1].host, "kms2") && !strcmp(k.servers[1].port, "5697") &&
	      !strcmp(k.ca, "/etc/veil/ca#1.pem") && !strcmp(k.cert, "/c"),
	      "veild: 'server = kms # primary' is the host kms; '#' inside a path is kept (%s)",
	      rc ? err : "ok");
	f = fopen(path, "w");
	fputs("server = kms\nca = /a\ncert = /c\nkey = /k\n[vm a]\n", f);
	fclose(f);
	veil_kmip_conf_defaults(&k);
	rc = veil_kmip_conf_load(&k, path, err, sizeof(err));
	check(rc == -EINVAL && strstr(err, ":5: sections ([...]) are not used in this file"),
	      "veild: a section header is refused at its line (%s)", err);
	unlink(path);

	rc = conf_parse("fsd.conf", "port = 1024 # vsock port\n"
			"[vm a] # first\ncid = 3 # guest\nroot = /srv/a#1\n"
			"[vm b]\nuds = /run/b.sock\t# hybrid\nroot = /srv/b\n",
			&c, err, sizeof(err));
	check(!rc && c->port == 1024 && c->n_vms == 2 && c->vms[0].cid == 3 &&
	      !strcmp(c->vms[0].root, "/srv/a#1") && !strcmp(c->vms[1].uds, "/run/b.sock") &&
	      c->vms[1].line == 5, "veil-fsd: the same rule, in [vm] sections (%s)", rc ? err : "ok");
	if (!rc)
		conf_free(c);
	rc = conf_parse("fsd.conf", "[vm a]\ncid = 3\nroot = /r\nmax_fids = 1O\n", &c, err, sizeof(err));
	check(rc == -EINVAL && !strcmp(err, "fsd.conf:4: max_fids: want a number >= 16, got \"1O\""),
	      "veil-fsd: errors read FILE:LINE: (%s)", err);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	test_tokenizer();
	test_both_parsers();
	return tap_done();
}
