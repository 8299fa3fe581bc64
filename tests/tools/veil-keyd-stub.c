// SPDX-License-Identifier: GPL-2.0
/*
 * veil-keyd-stub: a fake key daemon for tests.  It speaks the "veil"
 * generic netlink family like veild does, but answers key requests from a
 * table given on the command line instead of a key manager.
 *
 *   veil-keyd-stub info
 *   veil-keyd-stub serve --key-id HEX=KEYHEX ... [--fail HEX=ERRNO[:REASON]]
 *                        [--cipher SPEC] [--count N] [--timeout S]
 *                        [--delay-ms N]
 *   veil-keyd-stub push --req ID --key-id HEX --key KEYHEX [--cipher SPEC]
 *   veil-keyd-stub fail --req ID --key-id HEX --errno ERRNO [--reason TEXT]
 *
 * ERRNO is a number or a name (ENOKEY, EKEYREJECTED, EHOSTUNREACH, ...).
 * serve answers a key-id it has no entry for with ENOKEY.  Key bytes are
 * never printed.  Exit status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veil_nl_test.h"

#define MAX_ENTRIES 64

struct entry {
	uint8_t key_id[VEIL_KEY_ID_MAX];
	int key_id_len;
	uint8_t key[VEIL_KEY_MAX];	/* empty for a --fail entry */
	int key_len;
	int err;
	char reason[VEIL_REASON_MAX];
};

static const struct {
	const char *name;
	int value;
} errnames[] = {
	{ "ENOKEY", ENOKEY }, { "EKEYREJECTED", EKEYREJECTED },
	{ "EHOSTUNREACH", EHOSTUNREACH }, { "EKEYREVOKED", EKEYREVOKED },
	{ "EKEYEXPIRED", EKEYEXPIRED }, { "EACCES", EACCES },
	{ "EPERM", EPERM }, { "ETIMEDOUT", ETIMEDOUT },
	{ "ECONNREFUSED", ECONNREFUSED }, { "ENETUNREACH", ENETUNREACH },
	{ "EPROTO", EPROTO }, { "EINVAL", EINVAL }, { "EIO", EIO },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: veil-keyd-stub info\n"
		"       veil-keyd-stub serve --key-id HEX=KEYHEX ... [--fail HEX=ERRNO[:REASON]] ...\n"
		"                            [--cipher SPEC] [--count N] [--timeout S] [--delay-ms N]\n"
		"       veil-keyd-stub push --req ID --key-id HEX --key KEYHEX [--cipher SPEC]\n"
		"       veil-keyd-stub fail --req ID --key-id HEX --errno ERRNO [--reason TEXT]\n");
}

static int parse_errno(const char *s)
{
	char *end;
	long v;
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (!strcmp(s, errnames[i].name))
			return errnames[i].value;
	v = strtol(s, &end, 0);
	if (*s && !*end && v > 0 && v < 4096)
		return (int)v;
	return -1;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (!*s || *end || errno || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Open the family; on failure say what to do about it. */
static int open_family(struct vnl *v)
{
	int r = vnl_open(v);

	if (r == -ENOENT)
		fprintf(stderr, "veil generic netlink family not found: load veil.ko (modprobe veil)\n");
	else if (r < 0)
		fprintf(stderr, "cannot talk generic netlink: %s\n", strerror(-r));
	return r < 0 ? -1 : 0;
}

static void report(const char *what, struct vnl *v, int r)
{
	if (r == -EPERM)
		fprintf(stderr, "%s: %s (needs CAP_SYS_ADMIN)\n", what, strerror(-r));
	else
		fprintf(stderr, "%s: %s%s%s\n", what, strerror(-r),
			v->ext_msg[0] ? ": " : "", v->ext_msg);
}

static int cmd_info(void)
{
	struct vnl v;
	int r;

	if (open_family(&v))
		return 1;
	r = vnl_get_info(&v);
	if (r) {
		report("GET_INFO", &v, r);
		vnl_close(&v);
		return 1;
	}
	printf("abi %d\ndaemon_pid %d\npending %d\n", v.abi, v.daemon_pid, v.pending);
	vnl_close(&v);
	return 0;
}

static const struct entry *lookup(const struct entry *t, int n, const struct vnl_kreq *r)
{
	int i;

	for (i = 0; i < n; i++)
		if (t[i].key_id_len == r->key_id_len &&
		    !memcmp(t[i].key_id, r->key_id, r->key_id_len))
			return &t[i];
	return NULL;
}

static const char *consumer_name(int c)
{
	switch (c) {
	case VEIL_CONSUMER_DM:
		return "dm";
	case VEIL_CONSUMER_VSOCK:
		return "vsock";
	default:
		return "?";
	}
}

/* Parse "HEX=KEYHEX" or, with is_fail, "HEX=ERRNO[:REASON]". */
static int parse_entry(char *arg, bool is_fail, struct entry *e)
{
	char *eq = strchr(arg, '=');

	memset(e, 0, sizeof(*e));
	if (!eq)
		return -1;
	*eq = '\0';
	e->key_id_len = vnl_unhex(arg, e->key_id, VEIL_KEY_ID_MAX);
	if (e->key_id_len <= 0)
		return -1;
	if (is_fail) {
		char *colon = strchr(eq + 1, ':');

		if (colon) {
			*colon = '\0';
			snprintf(e->reason, sizeof(e->reason), "%s", colon + 1);
		}
		e->err = parse_errno(eq + 1);
		return e->err > 0 ? 0 : -1;
	}
	e->key_len = vnl_unhex(eq + 1, e->key, VEIL_KEY_MAX);
	return e->key_len > 0 ? 0 : -1;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-id", required_argument, NULL, 'k' },
		{ "fail", required_argument, NULL, 'f' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	static struct entry table[MAX_ENTRIES];
	uint32_t count = 0, timeout = 0, delay = 0;
	const char *cipher = NULL;
	int n = 0, answered = 0, r, o;
	struct vnl v;
	long end;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
		case 'f':
			if (n >= MAX_ENTRIES || parse_entry(optarg, o == 'f', &table[n])) {
				fprintf(stderr, "bad --%s entry (or more than %d)\n",
					o == 'k' ? "key-id HEX=KEYHEX" : "fail HEX=ERRNO[:REASON]",
					MAX_ENTRIES);
				return 2;
			}
			n++;
			break;
		case 'c':
			cipher = optarg;
			break;
		case 'n':
		case 't':
		case 'd':
			if (parse_u32(optarg, o == 'n' ? &count : o == 't' ? &timeout : &delay)) {
				fprintf(stderr, "bad number '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if (open_family(&v))
		return 1;
	r = vnl_register(&v, VEIL_ABI_VERSION);
	if (r) {
		if (r == -EPROTO)
			fprintf(stderr, "veil.ko refuses ABI %d: %s\n", VEIL_ABI_VERSION, v.ext_msg);
		else
			report("REGISTER", &v, r);
		vnl_close(&v);
		return 1;
	}
	printf("registered (pid %d), kernel ABI %d\n", getpid(), v.abi);
	fflush(stdout);

	end = vnl_ms_now() + 1000L * timeout;
	while (!count || answered < (int)count) {
		struct vnl_kreq req;
		const struct entry *e;
		char hex[2 * VEIL_KEY_ID_MAX + 1];
		long left = timeout ? end - vnl_ms_now() : -1;

		if (timeout && left <= 0)
			break;
		if (!vnl_wait_reqs(&v, 1, timeout ? (int)left : -1))
			continue;
		vnl_take(&v, &req);
		vnl_hex(req.key_id, req.key_id_len, hex);
		printf("request %u consumer=%s object=%s key-id=%s", req.id,
		       consumer_name(req.consumer), req.object, hex);
		if (delay)
			usleep(delay * 1000);
		e = lookup(table, n, &req);
		if (e && e->key_len) {
			r = vnl_push(&v, req.id, req.key_id, req.key_id_len,
				     e->key, e->key_len, cipher);
			printf(" -> key (%d bytes)", e->key_len);
		} else {
			int err = e ? e->err : ENOKEY;
			const char *why = e ? e->reason : "veil-keyd-stub: no such key-id";

			r = vnl_fail(&v, req.id, req.key_id, req.key_id_len, err, why);
			printf(" -> fail %s", strerror(err));
		}
		if (r)
			printf(": refused: %s%s%s", strerror(-r),
			       v.ext_msg[0] ? ": " : "", v.ext_msg);
		printf("\n");
		fflush(stdout);
		answered++;
	}
	memset(table, 0, sizeof(table));
	vnl_close(&v);
	if (count && answered < (int)count) {
		fprintf(stderr, "timed out after %u s with %d of %u answers\n",
			timeout, answered, count);
		return 1;
	}
	return 0;
}

/* push and fail: one raw answer, for negative tests. */
static int cmd_answer(int argc, char **argv, bool is_fail)
{
	static const struct option opts[] = {
		{ "req", required_argument, NULL, 'r' },
		{ "key-id", required_argument, NULL, 'k' },
		{ "key", required_argument, NULL, 'K' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "errno", required_argument, NULL, 'e' },
		{ "reason", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t key_id[VEIL_KEY_ID_MAX], key[VEIL_KEY_MAX];
	int key_id_len = -1, key_len = -1, err = -1, o, r;
	const char *cipher = NULL, *reason = NULL;
	bool have_req = false;
	uint32_t id = 0;
	struct vnl v;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			have_req = !parse_u32(optarg, &id);
			break;
		case 'k':
			key_id_len = vnl_unhex(optarg, key_id, sizeof(key_id));
			break;
		case 'K':
			key_len = vnl_unhex(optarg, key, sizeof(key));
			break;
		case 'c':
			cipher = optarg;
			break;
		case 'e':
			err = parse_errno(optarg);
			break;
		case 'R':
			reason = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !have_req || key_id_len <= 0 ||
	    (is_fail ? err <= 0 : key_len <= 0)) {
		usage(stderr);
		return 2;
	}

	if (open_family(&v))
		return 1;
	if (is_fail)
		r = vnl_fail(&v, id, key_id, key_id_len, (uint32_t)err, reason);
	else
		r = vnl_push(&v, id, key_id, key_id_len, key, key_len, cipher);
	memset(key, 0, sizeof(key));
	if (r)
		report(is_fail ? "KEY_FAIL" : "KEY_PUSH", &v, r);
	vnl_close(&v);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "info") && argc == 2)
		return cmd_info();
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "push"))
		return cmd_answer(argc - 1, argv + 1, false);
	if (!strcmp(cmd, "fail"))
		return cmd_answer(argc - 1, argv + 1, true);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
