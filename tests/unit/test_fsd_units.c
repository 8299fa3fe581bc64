// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd pure parts: the 9P codec (hostile bytes), the token-bucket
 * shaper on a fake clock, and the config parser's errors.  TAP out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../daemon/fsd/config.h"
#include "../../daemon/fsd/proto.h"
#include "../../daemon/fsd/shape.h"
#include "tap.h"


/* ------------------------------------------------------------- codec --- */
static uint8_t m[256];
static size_t ml;

static void le(uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		m[ml++] = v >> (8 * i);
}

static void str(const char *s, size_t n)
{
	le(n, 2);
	memcpy(m + ml, s, n);
	ml += n;
}

static void fix(void)
{
	m[0] = ml; m[1] = ml >> 8; m[2] = 0; m[3] = 0;
}

static void test_codec(void)
{
	struct p9_req q;
	struct p9_out o;
	uint8_t ob[64];
	size_t full, i;
	int bad = 0;

	ml = 0; le(0, 4); le(P9_TWALK, 1); le(7, 2); le(1, 4); le(2, 4); le(2, 2);
	str("a", 1); str("bc", 2); fix();
	full = ml;
	check(!p9_decode(m, ml, &q) && q.tag == 7 && q.fid == 1 && q.u.walk.newfid == 2 &&
	      q.u.walk.nwname == 2 && q.u.walk.wname[1].len == 2 &&
	      !memcmp(q.u.walk.wname[1].s, "bc", 2), "Twalk decodes");
	for (i = 0; i < full; i++) {
		m[0] = i;
		if (p9_decode(m, i, &q) != -EBADMSG)
			bad++;
	}
	check(!bad, "every truncation of a Twalk is refused");
	m[ml++] = 0; fix();
	check(p9_decode(m, ml, &q) == -EBADMSG, "a trailing byte is refused");
	ml = full; fix();
	check(p9_decode(m, ml - 1, &q) == -EBADMSG, "size field and length must agree");

	ml = 0; le(0, 4); le(P9_TWALK, 1); le(7, 2); le(1, 4); le(2, 4); le(17, 2); fix();
	check(p9_decode(m, ml, &q) == -EBADMSG, "more than 16 walk names are refused");

	ml = 0; le(0, 4); le(P9_TLCREATE, 1); le(1, 2); le(1, 4); str("a\0b", 3);
	le(0, 4); le(0, 4); le(0, 4); fix();
	check(p9_decode(m, ml, &q) == -EBADMSG, "a string with a NUL byte is refused");

	ml = 0; le(0, 4); le(P9_TWRITE, 1); le(1, 2); le(1, 4); le(0, 8); le(100, 4);
	le(0, 4); fix();
	check(p9_decode(m, ml, &q) == -EBADMSG, "a Twrite count past the message is refused");
	ml = 0; le(0, 4); le(P9_TWRITE, 1); le(1, 2); le(1, 4); le(0, 8); le(3, 4);
	str("", 0); m[ml++] = 'x'; fix();
	check(!p9_decode(m, ml, &q) && q.u.rw.count == 3 && q.u.rw.data == m + 23,
	      "a Twrite's data points into the message");

	ml = 0; le(0, 4); le(0x55, 1); le(1, 2); fix();
	check(p9_decode(m, ml, &q) == -EOPNOTSUPP, "an unknown type is EOPNOTSUPP, not malformed");
	ml = 0; le(0, 4); le(P9_TSTATFS, 1); le(1, 2); le(0xdeadbeef, 4); fix();
	check(!p9_decode(m, ml, &q) && q.fid == 0xdeadbeef, "Tstatfs decodes");
	ml = 0; le(0, 4); le(P9_TSETATTR, 1); le(1, 2); le(1, 4); le(0x1ff, 4); le(0755, 4);
	le(1, 4); le(2, 4); le(0x1122334455667788ull, 8); for (i = 0; i < 4; i++) le(i, 8); fix();
	check(!p9_decode(m, ml, &q) && q.u.setattr.size == 0x1122334455667788ull &&
	      q.u.setattr.mtime_nsec == 3, "Tsetattr decodes 64-bit fields");

	o = (struct p9_out){ .buf = ob, .cap = 16 };
	p9_begin(&o, 9, 1);
	p9_putstr(&o, "0123456789", 10);
	check(p9_finish(&o) == 0 && o.overflow, "the encoder refuses to overflow its buffer");
	o.cap = sizeof(ob);
	check(p9_lerror(&o, 3, EPERM) == 11 && ob[4] == P9_RLERROR && p9_le32(ob + 7) == EPERM,
	      "Rlerror encodes");
}

/* ------------------------------------------------------------- shaper --- */
#define S	1000000000ull

/* Back-to-back requests of `size` for `secs` simulated seconds: bytes done. */
static double run(struct shaper *s, uint64_t *now, uint64_t size, double secs)
{
	uint64_t end = *now + secs * S;
	double done = 0;

	while (*now < end) {
		*now += shape_reserve(s, *now, size);
		done += size;
	}
	return done;
}

static void test_shape(void)
{
	struct shape_conf c = { .bytes = { .avg = 1 << 20 } };
	struct shaper s;
	uint64_t now = 0, t0, d;
	double got;
	int admitted = 0;

	shape_init(&s, &c, now);
	got = run(&s, &now, 65536, 20) / 20;
	check(got > 0.98 * (1 << 20) && got < 1.03 * (1 << 20),
	      "bytes avg 1 MiB/s: measured %.0f B/s over 20 s", got);

	c = (struct shape_conf){ .bytes = { .avg = 1 << 20, .peak = 8 << 20, .burst = 4 << 20 } };
	now = 0;
	shape_init(&s, &c, now);
	got = run(&s, &now, 65536, 0.5);
	check(got > 3.5 * (1 << 20) && got < 4.6 * (1 << 20),
	      "burst 4 MiB at peak 8 MiB/s: %.2f MiB in the first 0.5 s", got / (1 << 20));
	got = run(&s, &now, 65536, 20) / 20;
	check(got > 0.95 * (1 << 20) && got < 1.1 * (1 << 20),
	      "after the burst the average holds: %.0f B/s", got);

	c = (struct shape_conf){ .bytes = { .avg = 1000 } };
	now = 0;
	shape_init(&s, &c, now);
	shape_reserve(&s, now, 100);	/* empty the 100-byte bucket */
	d = shape_reserve(&s, now, 1 << 20);
	check(d > 0 && d <= S / 10 + 1, "a request larger than the bucket waits %.3f s, not forever",
	      (double)d / S);
	t0 = now + d;
	d = shape_reserve(&s, t0, 1);
	check(d > 1000 * S && d < 1100 * S, "its cost delays the next request in proportion (%.0f s)",
	      (double)d / S);

	c = (struct shape_conf){ .ops = { .avg = 1000 } };
	now = 0;
	shape_init(&s, &c, now);
	/* poll every microsecond: refills of 0.001 requests must add up */
	for (; now < S; now += 1000) {
		struct shaper probe = s;

		if (!shape_reserve(&probe, now, 0)) {
			s = probe;
			admitted++;
		}
	}
	check(admitted >= 1000 && admitted <= 1101,
	      "1 us refill steps never stall the limiter: %d requests in 1 s at 1000/s", admitted);

	c = (struct shape_conf){ .ops = { .avg = 100 }, .iops_size = 4096 };
	now = 0;
	shape_init(&s, &c, now);
	got = run(&s, &now, 65536, 10) / 10 / 65536;
	check(got > 6.0 && got < 6.6, "iops_size 4K: 64K requests at 100 ops/s go at %.2f/s (6.25)",
	      got);

	c = (struct shape_conf){ .ops = { .avg = 10, .burst = 10 } };
	now = 0;
	shape_init(&s, &c, now);
	run(&s, &now, 0, 1);
	c.ops.avg = 1000;
	c.ops.burst = 100;
	shape_update(&s, &c, now);
	got = run(&s, &now, 0, 5) / 5;
	(void)got;
	{
		uint64_t n0 = now;
		int k;

		for (k = 0; k < 5000; k++)
			now += shape_reserve(&s, now, 0);
		got = 5000.0 / ((double)(now - n0) / S);
	}
	check(got > 950 && got < 1050, "a reload's new rate applies at once: %.0f/s", got);
	c = (struct shape_conf){ .ops = { .avg = 10, .peak = 5 } };
	check(shape_check(&c) != NULL, "peak below average is refused");

	/* a directory read asks for 1 MiB and moves 300 bytes: it costs 300 */
	c = (struct shape_conf){ .bytes = { .avg = 256 << 10 }, .ops = { .avg = 100 },
				 .iops_size = 4096 };
	now = 0;
	shape_init(&s, &c, now);
	{
		uint64_t n0 = now;
		int k;

		for (k = 0; k < 100; k++) {
			now += shape_reserve(&s, now, 1 << 20);
			shape_refund(&s, now, 1 << 20, 300);
		}
		got = (double)(now - n0) / S;
	}
	check(got < 1.5, "100 reads of 1 MiB that moved 300 bytes each take %.2f s at 256 KiB/s "
	      "and 100 ops/s (charged what moved: about 1 s)", got);
	d = shape_reserve(&s, now, 300);
	check(d < S / 10, "the bucket holds what was given back (next request waits %.3f s)",
	      (double)d / S);
	shape_refund(&s, now, 300, 300);
	shape_refund(&s, now, 100, 1000);
	check(s.b[0].level <= s.b[0].cap, "a refund never fills a bucket beyond its capacity");
}

/* ------------------------------------------------------------- config --- */
static const char *parse_err(const char *text)
{
	static char err[256];
	struct fsd_conf *c;

	if (!conf_parse("t.conf", text, &c, err, sizeof(err))) {
		conf_free(c);
		return "";
	}
	return err;
}

/* Validate text (with "%s" replaced by dir); "" if it passes, else the error. */
static const char *validate_err(const char *fmt, const char *dir)
{
	static char err[512];
	char text[1024];
	struct fsd_conf *c;

	snprintf(text, sizeof(text), fmt, dir, dir, dir);
	if (conf_parse("t.conf", text, &c, err, sizeof(err)))
		return err;
	if (conf_validate(c, err, sizeof(err))) {
		conf_free(c);
		return err;
	}
	conf_free(c);
	return "";
}

static void sh(const char *fmt, const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, dir, dir, dir, dir);
	if (system(cmd))
		printf("# command failed: %s\n", cmd);
}

/* What conf_validate checks on disk: roots, their ancestors, secrets. */
static void test_config_files(void)
{
	char d[] = "/tmp/fsd-conf-XXXXXX", want[512];
	const char *got;

	if (geteuid()) {
		printf("ok %d # SKIP the on-disk config checks need root\n", ++t_num);
		t_skip++;
		return;
	}
	if (!mkdtemp(d))
		return;
	sh("cd %s && mkdir -p a/b open/t sq && chmod 755 open && chmod 700 sq && "
	   "head -c 32 /dev/urandom > s && chmod 600 s && cp s s644 && chmod 644 s644 && "
	   "head -c 4 /dev/urandom > short && chmod 600 short && ln -s s link", d);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\n", d);
	check(!*got, "a root inside a root-owned 0700 directory passes (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\n[vm b]\ncid=4\nroot=%s/a/b\n", d);
	check(strstr(got, "t.conf:6: vm b: root ") && strstr(got, "lies inside the root"),
	      "nested tenant roots are refused, naming file and line (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=/tmp\n", d);
	check(!strcmp(got, "t.conf:3: vm a: root /tmp: no directory above it is closed to other host users (owned by root, mode 0700 or 0750 with group root); e.g. install -d -m 0700 a parent directory and put the root inside it"),
	      "a root whose every ancestor others may search is refused (%s)", got);
	sh("chmod 711 %s", d);
	got = validate_err("[vm a]\ncid=3\nroot=%s/open/t\n", d);
	check(strstr(got, "no directory above it is closed"), "a parent searchable by others does not count");
	sh("chmod 700 %s", d);
	got = validate_err("[vm a]\ncid=3\nroot=%s/sq\nuid_map=squash\n", d);
	snprintf(want, sizeof(want), "t.conf:3: vm a: uid_map = squash acts as 65534:65534, which cannot enter root %s/sq (owner 0:0, mode 0700): chown 65534:65534 it", d);
	check(!strcmp(got, want), "squash: a root the squash user cannot enter is refused (%s)", got);
	sh("chown 65534:65534 %s/sq", d);
	got = validate_err("[vm a]\ncid=3\nroot=%s/sq\nuid_map=squash\n", d);
	check(!*got, "squash: a 0700 root owned by the squash user passes (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\nsecret_file=%s/s\n", d);
	check(!*got, "a root-owned 0600 secret of 32 bytes passes (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\nsecret_file=%s/none\n", d);
	check(strstr(got, "t.conf:4: vm a: secret_file ") && strstr(got, "No such file"),
	      "a missing secret_file is refused at its line (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\nsecret_file=%s/link\n", d);
	check(strstr(got, "is a symbolic link"), "a symlinked secret_file is refused (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\nsecret_file=%s/s644\n", d);
	check(strstr(got, "has mode 0644: want 0600 or 0400"), "a 0644 secret_file is refused (%s)", got);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\nsecret_file=%s/short\n", d);
	check(strstr(got, "holds 4 bytes: want 16..128"), "a 4-byte secret_file is refused (%s)", got);
	sh("chown 65534 %s/s", d);
	got = validate_err("[vm a]\ncid=3\nroot=%s/a\nsecret_file=%s/s\n", d);
	check(strstr(got, "is owned by uid 65534, not root"), "a secret_file not owned by root is refused (%s)", got);
	sh("rm -rf %s", d);
}

static void test_config(void)
{
	struct fsd_conf *c;
	char err[256];
	struct { const char *text, *want; } bad[] = {
		{ "bogus = 1\n", "t.conf:1: unknown global setting \"bogus\"" },
		{ "\n\n[vm a]\ncid = x\n", "t.conf:4: cid: not a CID: \"x\"" },
		{ "[vm a]\nroot = rel\n", "t.conf:2: root: want an absolute path" },
		{ "[vm a]\nroot = /r\n", "t.conf:1: vm a: neither cid nor uds: nothing can reach it" },
		{ "[vm a]\ncid = 3\n", "t.conf:1: vm a: no root" },
		{ "[vm a]\ncid=3\nroot=/r\n[vm b]\ncid=3\nroot=/s\n",
		  "t.conf:4: vm b: cid 3 already belongs to vm a" },
		{ "[vm a]\ncid=3\nroot=/r\n[vm a]\ncid=4\nroot=/s\n", "t.conf:4: vm a: defined twice" },
		{ "[vm a]\ncid=3\nroot=/r\nrequire_proof = yes\n",
		  "t.conf:1: vm a: require_proof without a secret_file" },
		{ "[vm a]\nuds=/run/a\nroot=/r\nrequire_proof=yes\nsecret_file=/s\n",
		  "t.conf:1: vm a: require_proof needs the guest's cid (the proof names it)" },
		{ "[vm a]\ncid=3\nroot=/r\nbytes_avg=10\nbytes_peak=5\n",
		  "t.conf:1: vm a: bytes peak is below bytes average" },
		{ "[vm a]\ncid=3\nroot=/r\nops_avg=1Q\n", "t.conf:4: ops_avg: not a size: \"1Q\"" },
		{ "[vm a]\naccess = rx\n", "t.conf:2: access: want ro or rw, got \"rx\"" },
		{ "[vm a/b]\n", "t.conf:1: vm name \"a/b\": want 1..63 of [A-Za-z0-9._-]" },
		{ "[host a]\n", "t.conf:1: want a section header \"[vm NAME]\"" },
		{ "[vm a]\nkey_id = abc\n", "t.conf:2: key_id: want 1..64 bytes in hex" },
		{ "[vm a]\nmax_fds = 2\n", "t.conf:2: max_fds: want a number >= 8, got \"2\"" },
		{ "msize_max = 1K\n", "t.conf:1: msize_max: want 8K..16M, got \"1K\"" },
		{ "[vm a]\ncid\n", "t.conf:2: expected 'key = value', got 'cid'" },
		{ "[vm a]\ncid = 2\n", "t.conf:2: cid: 2 is reserved (0 hypervisor, 1 loopback, 2 host): no guest has it" },
		{ "[vm a]\ncid = 0\n", "t.conf:2: cid: 0 is reserved (0 hypervisor, 1 loopback, 2 host): no guest has it" },
		{ "[vm a]\ncid = 1\n", "t.conf:2: cid: 1 is the local (loopback) CID; set loopback_cid = yes before the [vm] sections to serve guests on this host's own loopback (tests only)" },
		{ "loopback_cid = yes\n[vm a]\ncid = 0\n", "t.conf:3: cid: 0 is reserved (0 hypervisor, 1 loopback, 2 host): no guest has it" },
		{ "[vm a]\nsquash_uid = 0\n", "t.conf:2: squash_uid: 0 would make every guest user root on the host" },
		{ "[vm a]\nsquash_gid = 0\n", "t.conf:2: squash_gid: 0 would make every guest user root on the host" },
		{ "frame_timeout = 0\n", "t.conf:1: frame_timeout: want 1..3600 seconds, got \"0\"" },
		{ "msize_max = 1M\n[vm a]\ncid=3\nroot=/r\nmax_mem = 1M\n",
		  "t.conf:2: vm a: max_mem 1048576 cannot hold one connection (2117825 bytes at msize_max 1048576)" },
		{ "[vm a]\ncid=3 # the guest\nroot=/r#1\nbogus = x # y\n", "t.conf:4: unknown setting \"bogus\" in a [vm] section" },
		{ "[vm a\n", "t.conf:1: a section header must end with ']'" },
		{ "= 3\n", "t.conf:1: missing key before '='" },
	};
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = parse_err(bad[i].text);

		check(!strcmp(got, bad[i].want), "config error: %s%s%s", bad[i].want,
		      strcmp(got, bad[i].want) ? " -- got: " : "", strcmp(got, bad[i].want) ? got : "");
	}
	check(!conf_parse("t.conf", "# c\nport = 1024\nvsock = no\ncontrol = /run/x.ctl\n"
			  "[vm one]  # tenant A\ncid = 3\nuds = /run/one.sock\nroot = /tmp\n"
			  "access = rw\nuid_map = squash\nsquash_uid = 1000\nsquash_gid = 100\n"
			  "bytes_avg = 10M\nbytes_peak = 20M\nbytes_burst = 64M\nops_avg = 1000\n"
			  "iops_size = 64K\nrequire_proof = yes\nsecret_file = /etc/s\n"
			  "key_id = 00ff\nmax_fds = 64\n", &c, err, sizeof(err)) &&
	      c->port == 1024 && !c->vsock && c->n_vms == 1 && !c->vms[0].ro &&
	      c->vms[0].uid_map == UIDMAP_SQUASH && c->vms[0].squash_gid == 100 &&
	      c->vms[0].shape.bytes.burst == 64ull << 20 && c->vms[0].shape.iops_size == 65536 &&
	      c->vms[0].key_id_len == 2 && c->vms[0].key_id[1] == 0xff &&
	      conf_vm_by_cid(c, 3) == &c->vms[0] && conf_vm_by_uds(c, "/run/one.sock") &&
	      !conf_vm_by_cid(c, 4), "a full config parses");
	conf_free(c);
	check(!conf_parse("t.conf", "[vm a]\ncid=3\nroot=/tmp\n", &c, err, sizeof(err)) && c->vms[0].ro,
	      "access defaults to read-only");
	conf_free(c);
	check(!conf_parse("t.conf", "[vm a]\ncid=3\nroot=/nonexistent-veil\n", &c, err, sizeof(err)) &&
	      conf_validate(c, err, sizeof(err)) == -EINVAL, "a missing root is refused");
	conf_free(c);
	test_config_files();
	check(!conf_parse_size("16M", &v) && v == 16 << 20 && conf_parse_size("-1", &v) &&
	      conf_parse_size("99999999999T", &v), "sizes with suffixes; overflow refused");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	test_codec();
	test_shape();
	test_config();
	return tap_done();
}
