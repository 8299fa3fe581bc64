// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-kmip: provision and inspect veil keys on the key manager, with
 * veild's configuration file.  What veilctl calls (or links: the same
 * functions are in libveil, lib/kmip/provision.c).
 *
 *   veil-kmip [-c CONF] create [--bits N] [--local] [--id-len N] [--count N]
 *        print the new key-id (hex) on stdout, its KMIP identifier on stderr
 *        (--count: N keys on one connection, one key-id a line)
 *   veil-kmip [-c CONF] info KEYID     name, identifier, state, algorithm
 *   veil-kmip [-c CONF] check [--repeat N [--interval MS]] [--timing]
 *                             [--hint UID] KEYID
 *        fetch the key as veild would (N times on one client, to test a
 *        key manager's idle close), through the key-hint UID if given;
 *        print its length and whether the hint served, never its bytes;
 *        --timing: after one warm-up fetch, the mean Locate and Get round
 *        trips of the N fetches on the persistent connection
 *   veil-kmip [-c CONF] destroy KEYID  revoke and destroy
 *
 * Exit status: 0 ok, 1 operation failed, 2 usage or configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/veil.h>

#include "kmip/kmip.h"
#include "util.h"
#include "version.h"

#include "cache.h"

#define DEFAULT_CONF "/etc/veil/veild.conf"

struct tool {
	struct veil_kmip_conf conf;
	SSL_CTX *ctx;
	struct kmip_client *kc;
};

static int fail(struct tool *t, const char *what, int r)
{
	fprintf(stderr, "veil-kmip: %s: %s (%s)\n", what,
		kmip_client_error(t->kc)[0] ? kmip_client_error(t->kc) :
		strerror(-r), strerror(-r));
	return 1;
}

static int parse_id(const char *arg, uint8_t *id)
{
	int n = veil_kmip_keyid_parse(arg, id, VEIL_KEY_ID_MAX);

	if (n < 0)
		fprintf(stderr, "veil-kmip: '%s' is not a key-id (1 to %d bytes in hex)\n",
			arg, VEIL_KEY_ID_MAX);
	return n;
}

static int cmd_create(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bits", required_argument, NULL, 'b' },
		{ "local", no_argument, NULL, 'l' },
		{ "id-len", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int bits = t->conf.key_bits;
	size_t id_len = VEIL_KEY_ID_DEFAULT;
	uint8_t id[VEIL_KEY_ID_MAX];
	char hex[2 * VEIL_KEY_ID_MAX + 1], uid[KMIP_UID_MAX];
	char euid[VEIL_ESCAPED_SIZE(KMIP_UID_MAX)];
	bool local = false;
	long count = 1, i;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "b:li:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			count = strtol(optarg, NULL, 10);
			if (count < 1 || count > 100000) {
				fprintf(stderr, "veil-kmip: --count must be 1 to 100000\n");
				return 2;
			}
			break;
		case 'b':
			bits = (unsigned int)strtoul(optarg, NULL, 10);
			if (bits < 128 || bits > 8 * VEIL_KEY_MAX || bits % 64) {
				fprintf(stderr, "veil-kmip: --bits must be a multiple of 64 from 128 to %d\n",
					8 * VEIL_KEY_MAX);
				return 2;
			}
			break;
		case 'l':
			local = true;
			break;
		case 'i':
			id_len = strtoul(optarg, NULL, 10);
			if (id_len < 8 || id_len > 32) {
				fprintf(stderr, "veil-kmip: --id-len must be 8 to 32\n");
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	for (i = 0; i < count; i++) {
		r = veil_kmip_provision(t->kc, bits, local, id, id_len, uid);
		if (r)
			return fail(t, "create", r);
		veil_kmip_keyid_hex(id, id_len, hex, sizeof(hex));
		printf("%s\n", hex);
		fflush(stdout);
		fprintf(stderr, "veil-kmip: created %u-bit AES key %s%s, KMIP identifier %s on %s\n",
			bits, VEIL_KMIP_NAME_PREFIX, hex,
			veil_escape_str(euid, sizeof(euid), uid),
			kmip_client_peer(t->kc));
	}
	return 0;
}

static int cmd_info(struct tool *t, int argc, char **argv)
{
	char uid[KMIP_UID_MAX], euid[VEIL_ESCAPED_SIZE(KMIP_UID_MAX)];
	uint8_t id[VEIL_KEY_ID_MAX];
	struct kmip_attrs a;
	int n, r;

	if (argc != 2 || (n = parse_id(argv[1], id)) < 0)
		return 2;
	r = veil_kmip_resolve(t->kc, id, (size_t)n, 0, uid);
	if (r)
		return fail(t, "info", r);
	r = kmip_get_attributes(t->kc, uid, &a);
	if (r)
		return fail(t, "info", r);
	/* a.name is escaped by the parser; identifiers are kept raw for requests */
	printf("name: %s\nuid: %s\nserver: %s\nstate: %s\nalgorithm: %s\nbits: %d\n",
	       a.name, veil_escape_str(euid, sizeof(euid), a.uid),
	       kmip_client_peer(t->kc), kmip_state_str(a.state),
	       a.algorithm ? kmip_alg_str(a.algorithm) : "-", a.bits);
	return 0;
}

static int cmd_check(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timing", no_argument, NULL, 't' },
		{ "hint", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	long repeat = 1, interval_ms = 0, i;
	const char *hint = NULL;
	bool hinted = false;
	uint8_t id[VEIL_KEY_ID_MAX], *key;
	double locate_us = 0, get_us = 0;
	char uid[KMIP_UID_MAX];
	struct kmip_key info;
	bool timing = false;
	int c, n, r = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:i:tH:", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			hint = optarg;
			break;
		case 't':
			timing = true;
			break;
		case 'r':
			repeat = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval_ms = strtol(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (repeat < 1 || repeat > 10000 || interval_ms < 0 ||
	    interval_ms > 600000 || optind != argc - 1 ||
	    (n = parse_id(argv[optind], id)) < 0)
		return 2;
	key = veil_secmem_alloc(VEIL_KEY_MAX);
	if (!key) {
		perror("veil-kmip: locked memory");
		return 1;
	}
	for (i = 0; i < repeat && !r; i++) {
		if (i && interval_ms) {
			struct timespec ts = {
				.tv_sec = interval_ms / 1000,
				.tv_nsec = (interval_ms % 1000) * 1000000,
			};

			nanosleep(&ts, NULL);
		}
		r = veil_kmip_fetch_hinted(t->kc, id, (size_t)n, hint, key,
					   VEIL_KEY_MAX, &info, &hinted);
	}
	/* timing: the same two round trips, each timed, after the warm-up */
	for (i = 0; timing && i < repeat && !r; i++) {
		struct timespec a, b, c2;

		clock_gettime(CLOCK_MONOTONIC, &a);
		r = veil_kmip_resolve(t->kc, id, (size_t)n, KMIP_STATE_ACTIVE,
				      uid);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!r)
			r = kmip_get_symkey(t->kc, uid, key, VEIL_KEY_MAX,
					    &info);
		clock_gettime(CLOCK_MONOTONIC, &c2);
		locate_us += (b.tv_sec - a.tv_sec) * 1e6 +
			     (b.tv_nsec - a.tv_nsec) / 1e3;
		get_us += (c2.tv_sec - b.tv_sec) * 1e6 +
			  (c2.tv_nsec - b.tv_nsec) / 1e3;
	}
	veil_secmem_free(key, VEIL_KEY_MAX);
	if (r)
		return fail(t, "check", r);
	if (timing)
		printf("timing: locate_ms=%.2f get_ms=%.2f n=%ld\n",
		       locate_us / 1e3 / (double)repeat,
		       get_us / 1e3 / (double)repeat, repeat);
	printf("ok: %zu-byte key (hidden) from %s", info.len,
	       kmip_client_peer(t->kc));
	if (hint)
		printf(", key-hint %s", hinted ? "used" :
		       "stale: located by name");
	if (repeat > 1)
		printf(", %ld lookups over %lu connection(s)", repeat,
		       kmip_client_connects(t->kc));
	printf("\n");
	return 0;
}

static int cmd_destroy(struct tool *t, int argc, char **argv)
{
	uint8_t id[VEIL_KEY_ID_MAX];
	int n, r;

	if (argc != 2 || (n = parse_id(argv[1], id)) < 0)
		return 2;
	r = veil_kmip_destroy_keyid(t->kc, id, (size_t)n);
	if (r)
		return fail(t, "destroy", r);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct tool *t, int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "create", cmd_create, "[--bits N] [--local] [--id-len N] [--count N]" },
	{ "info", cmd_info, "KEYID" },
	{ "check", cmd_check, "[--repeat N [--interval MS]] [--timing] [--hint UID] KEYID" },
	{ "destroy", cmd_destroy, "KEYID" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: veil-kmip [-c CONF] COMMAND [ARGS]\n"
		"       veil-kmip --help | --version\n"
		"  -c, --config CONF  veild's configuration file (default " DEFAULT_CONF ")\n"
		"commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "exit status: 0 ok, 1 operation failed, 2 usage or configuration error.\n"
		"See veil-kmip(8).\n");
}

int main(int argc, char **argv)
{
	const char *conf = DEFAULT_CONF;
	struct tool t;
	char err[VCACHE_ERR_MAX];
	size_t i;
	int c, r;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'V':
			veil_print_version(stdout, "veil-kmip");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		fprintf(stderr, "veil-kmip: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);	/* a key manager closing mid-write */
	veil_kmip_conf_defaults(&t.conf);
	if (veil_kmip_conf_load(&t.conf, conf, err, sizeof(err))) {
		fprintf(stderr, "veil-kmip: %s\n", err);
		return 2;
	}
	t.ctx = kmip_tls_ctx_new(&t.conf, err, sizeof(err));
	if (!t.ctx) {
		fprintf(stderr, "veil-kmip: %s\n", err);
		return 2;
	}
	t.kc = kmip_client_new(&t.conf, t.ctx);
	if (!t.kc) {
		perror("veil-kmip");
		SSL_CTX_free(t.ctx);
		return 1;
	}
	r = cmds[i].fn(&t, argc - optind, argv + optind);
	kmip_client_free(t.kc);
	SSL_CTX_free(t.ctx);
	return r;
}
