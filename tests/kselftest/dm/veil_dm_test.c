// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of dm-veil.ko, the device-mapper target "veil".
 *
 * Runs as root in the QEMU guest.  The LU is a brd RAM disk (/dev/ram0)
 * formatted with veil-mdtool; dm devices are made with dmsetup (udev off).
 * The test process (or a child it forks) plays the key daemon on the
 * "veil" generic netlink family, so each test decides exactly when and how
 * a key request is answered.  All I/O is O_DIRECT so nothing is served
 * from a page cache.  Every test removes its dm device in teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/fs.h>

#include "../core/veil_nl_test.h"
#include "kselftest_harness.h"
#include "../veil_ksft.h"

#define RAM	"/dev/ram0"
#define DMNAME	"veil_t"
#define DMDEV	"/dev/mapper/" DMNAME
#define AREA	2048ULL			/* VEIL_MD_AREA_SECTORS */

static const char kid_hex[] = "00112233445566778899aabbccddeeff";
static const char kid2_hex[] = "ffeeddccbbaa99887766554433221100";
static uint8_t kid[16], kid2[16];
static uint8_t key[64], key2[64];
static char key_hex[129];

/* ------------------------------------------------------------ helpers --- */

static void init_keys(void)
{
	int i;

	vnl_unhex(kid_hex, kid, sizeof(kid));
	vnl_unhex(kid2_hex, kid2, sizeof(kid2));
	for (i = 0; i < 64; i++) {
		key[i] = (uint8_t)(i * 7 + 1);
		key2[i] = (uint8_t)(i * 13 + 5);
	}
	vnl_hex(key, sizeof(key), key_hex);
}

/* modprobe, or insmod from /veil/ko; sysfs name and file name differ. */
static int load(const char *sysname, const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", sysname);
	if (!access(path, F_OK))
		return 0;
	sh("modprobe %s 2>/dev/null || insmod /veil/ko/%s.ko 2>/dev/null",
	   file, file);
	return access(path, F_OK);
}

static unsigned long long dev_sectors(const char *path)
{
	unsigned long long bytes = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (ioctl(fd, BLKGETSIZE64, &bytes))
		bytes = 0;
	close(fd);
	return bytes / 512;
}

/* O_DIRECT I/O of len bytes at byte offset off: 0 or -errno. */
static int dio(const char *path, bool write, unsigned long long off,
	       void *buf, size_t len)
{
	void *a;
	ssize_t r;
	int fd, err = 0;

	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return -errno;
	if (posix_memalign(&a, 4096, len)) {
		close(fd);
		return -ENOMEM;
	}
	if (write)
		memcpy(a, buf, len);
	r = write ? pwrite(fd, a, len, off) : pread(fd, a, len, off);
	if (r < 0)
		err = -errno;
	else if ((size_t)r != len)
		err = -EIO;
	else if (!write)
		memcpy(buf, a, len);
	free(a);
	close(fd);
	return err;
}

static void pattern(void *buf, size_t len, unsigned long long off,
		    uint32_t seed)
{
	uint32_t *w = buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = (uint32_t)(off / 4 + i) * 2654435761u ^ seed;
}

static int dm_create(const char *table)
{
	return sh("echo '%s' | dmsetup create " DMNAME " >/dev/null 2>&1",
		  table);
}

static void dm_remove(void)
{
	int i;

	for (i = 0; i < 20; i++) {
		if (access(DMDEV, F_OK) && sh("dmsetup info " DMNAME
					      " >/dev/null 2>&1"))
			return;
		if (!sh("dmsetup remove " DMNAME " >/dev/null 2>&1"))
			return;
		usleep(200000);
	}
}

static int dm_msg(const char *msg)
{
	return sh("dmsetup message " DMNAME " 0 %s >/dev/null 2>&1", msg);
}

struct vstatus {
	char state[32];
	char key_id[160];
	unsigned int held;
	unsigned int sector_size;
	char cipher[80];
	char reason[160];
};

/* Parse "0 <len> veil <state> <key-id> <held> <ss> <cipher> <reason>". */
static int dm_status(struct vstatus *s)
{
	char out[512];
	int n;

	memset(s, 0, sizeof(*s));
	if (sh_out(out, sizeof(out), "dmsetup status " DMNAME))
		return -1;
	n = sscanf(out, "%*u %*u veil %31s %159s %u %u %79s %159[^\n]",
		   s->state, s->key_id, &s->held, &s->sector_size, s->cipher,
		   s->reason);
	return n == 6 ? 0 : -1;
}

static bool state_is(const char *want)
{
	struct vstatus s;

	return !dm_status(&s) && !strcmp(s.state, want);
}

/* Wait up to ms for the state to become want. */
static bool wait_state(const char *want, int ms)
{
	long end = vnl_ms_now() + ms;

	do {
		if (state_is(want))
			return true;
		usleep(50000);
	} while (vnl_ms_now() < end);
	return false;
}

static int mdtool(const char *args)
{
	return sh("veil-mdtool %s >/dev/null 2>&1", args);
}

/* Format @dev: key-id (NULL for none), sector size, extra args. */
static int format_dev(const char *dev, const char *kidhex, int ss,
		      const char *extra)
{
	char args[512];

	snprintf(args, sizeof(args), "format %s --force --sector-size %d%s%s %s",
		 dev, ss, kidhex ? " --key-id " : "", kidhex ? kidhex : "",
		 extra ? extra : "");
	return mdtool(args);
}

/* Format the LU (the RAM disk). */
static int format(const char *kidhex, int ss, const char *extra)
{
	return format_dev(RAM, kidhex, ss, extra);
}

/* Wipe both metadata areas (an LU that was never formatted). */
static void unformat(unsigned long long lu)
{
	static char zero[AREA * 512];

	dio(RAM, true, 0, zero, sizeof(zero));
	dio(RAM, true, (lu - AREA) * 512, zero, sizeof(zero));
}

/* Does request @r ask for the 16-byte key-id @id (kid or kid2)? */
static bool is_key_id(const struct vnl_kreq *r, const uint8_t *id)
{
	return r->key_id_len == sizeof(kid) &&
	       !memcmp(r->key_id, id, sizeof(kid));
}

/*
 * Key daemon in a child: registers, then answers every request whose
 * key-id is kid with k1 and kid2 with k2 (NULL: fail it), and fails others
 * with ENOKEY, until killed.  Returns its pid once it is registered.
 */
static pid_t key_server2(const uint8_t *k1, const uint8_t *k2, int klen)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct vnl v;
		struct vnl_kreq r;

		close(p[0]);
		if (vnl_open(&v) < 0 || vnl_register(&v, VEIL_ABI_VERSION))
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			vnl_wait_reqs(&v, 1, 200);
			while (vnl_take(&v, &r)) {
				const uint8_t *k = NULL;

				if (is_key_id(&r, kid))
					k = k1;
				if (is_key_id(&r, kid2))
					k = k2;
				if (k)
					vnl_push(&v, r.id, r.key_id, r.key_id_len,
						 k, klen, NULL);
				else
					vnl_fail(&v, r.id, r.key_id, r.key_id_len,
						 ENOKEY, "not in test store");
			}
		}
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(p[0]);
	return pid;
}

static pid_t key_server(const uint8_t *k, int klen)
{
	return key_server2(k, NULL, klen);
}

static void stop_server(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

/* Register as the daemon in this process; answer by hand. */
static int daemon_open(struct vnl *v)
{
	if (vnl_open(v) < 0)
		return -1;
	return vnl_register(v, VEIL_ABI_VERSION);
}

/* Wait for one key request and take it. */
static bool take_req(struct vnl *v, struct vnl_kreq *r, int ms)
{
	vnl_wait_reqs(v, 1, ms);
	return vnl_take(v, r);
}

/* In a child: O_DIRECT I/O on the dm device; its exit status is -errno. */
static pid_t bg_io(bool write, unsigned long long off, size_t len,
		   uint32_t seed)
{
	pid_t pid = fork();

	if (!pid) {
		char *buf = malloc(len), *want = malloc(len);
		int r;

		pattern(want, len, off, seed);
		if (write) {
			r = dio(DMDEV, true, off, want, len);
		} else {
			r = dio(DMDEV, false, off, buf, len);
			if (!r && memcmp(buf, want, len))
				r = -EILSEQ;
		}
		_exit(-r);
	}
	return pid;
}

/* Wait for a bg_io child for up to ms: its -errno, or 1 if still running. */
static int bg_wait(pid_t pid, int ms)
{
	long end = vnl_ms_now() + ms;
	int st;

	do {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? -WEXITSTATUS(st) : -EINTR;
		usleep(20000);
	} while (vnl_ms_now() < end);
	return 1;
}

static bool has_bytes(const void *hay, size_t n, const void *needle, size_t k)
{
	return memmem(hay, n, needle, k) != NULL;
}

/* --------------------------------------------------------- fixtures --- */

FIXTURE(dm) {
	unsigned long long lu;		/* sectors of the LU */
	unsigned long long data;	/* sectors of the data area (512) */
	pid_t server;
	char table[128];		/* "0 <data> veil /dev/ram0" */
};

FIXTURE_SETUP(dm)
{
	setenv("DM_DISABLE_UDEV", "1", 1);
	init_keys();
	if (access(RAM, F_OK))
		sh("modprobe brd rd_nr=1 rd_size=32768");
	if (access(RAM, F_OK))
		SKIP(return, "no brd RAM disk");
	sh("modprobe -a crypto_null ecb cbc xts dm-crypt 2>/dev/null");
	if (load("veil", "veil") || load("dm_veil", "dm-veil"))
		SKIP(return, "veil.ko / dm-veil.ko not loadable");
	if (sh("command -v dmsetup >/dev/null && command -v veil-mdtool >/dev/null"))
		SKIP(return, "dmsetup or veil-mdtool missing");
	dm_remove();
	self->lu = dev_sectors(RAM);
	ASSERT_GE(self->lu, 4 * AREA);
	self->data = (self->lu - 2 * AREA) & ~7ULL;
	self->server = 0;
	snprintf(self->table, sizeof(self->table), "0 %llu veil " RAM,
		 self->data);
}

FIXTURE_TEARDOWN(dm)
{
	stop_server(&self->server);
	dm_remove();
	/* a device stacked under veil by a test that stopped half-way */
	sh("dmsetup remove veil_low >/dev/null 2>&1");
}

/* ------------------------------------------------------------- tests --- */

/* The LU formatted (512-byte sectors, defaults), its key served, mapped. */
static void unlocked(struct __test_metadata *_metadata,
		     FIXTURE_DATA(dm) * self)
{
	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	self->server = key_server(key, 64);
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
}

/* Write, read back, and check what lies on the LU underneath. */
static void round_trip(struct __test_metadata *_metadata,
		       FIXTURE_DATA(dm) * self, int ss, const char *cipher,
		       int key_bytes, bool null_cipher)
{
	const size_t len = 256 * 1024;
	const unsigned long long off = 1024 * 1024;
	char *buf = malloc(len), *want = malloc(len), *raw = malloc(4096);
	char extra[128], table[512], khex[2 * sizeof(key) + 1];
	struct vstatus s;

	snprintf(extra, sizeof(extra), "--cipher %s --key-bytes %d", cipher,
		 key_bytes);
	ASSERT_EQ(0, format(kid_hex, ss, extra));
	self->server = key_server(key, key_bytes);
	ASSERT_GT(self->server, 0);
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ(kid_hex, s.key_id);
	EXPECT_EQ((unsigned int)ss, s.sector_size);
	EXPECT_STREQ(cipher, s.cipher);
	EXPECT_EQ(self->data, dev_sectors(DMDEV));

	pattern(want, len, off, 0x5eed);
	ASSERT_EQ(0, dio(DMDEV, true, off, want, len));
	/* small, unaligned-to-the-chunk I/O too */
	ASSERT_EQ(0, dio(DMDEV, true, off + len, want, ss));
	ASSERT_EQ(0, dio(DMDEV, false, off, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	ASSERT_EQ(0, dio(DMDEV, false, off + len, buf, ss));
	EXPECT_EQ(0, memcmp(buf, want, ss));

	/* The data area on the LU holds ciphertext (unless cipher_null). */
	ASSERT_EQ(0, dio(RAM, false, AREA * 512 + off, buf, len));
	if (null_cipher) {
		EXPECT_EQ(0, memcmp(buf, want, len));
	} else {
		EXPECT_NE(0, memcmp(buf, want, 64));
	}

	/* Both metadata copies are plaintext and carry the key-id. */
	ASSERT_EQ(0, dio(RAM, false, 0, raw, 4096));
	EXPECT_EQ(0, memcmp(raw, "VEILeVLU", 8));
	EXPECT_TRUE(has_bytes(raw, 4096, kid, sizeof(kid)));
	ASSERT_EQ(0, dio(RAM, false, (self->lu - AREA) * 512, raw, 4096));
	EXPECT_EQ(0, memcmp(raw, "VEILeVLU", 8));
	EXPECT_TRUE(has_bytes(raw, 4096, kid, sizeof(kid)));

	/*
	 * The on-disk format is dm-crypt's: dm-crypt with the same key over
	 * the data area reads the plaintext back.
	 */
	if (!null_cipher) {
		vnl_hex(key, key_bytes, khex);
		snprintf(table, sizeof(table),
			 "0 %llu crypt %s %s 0 " RAM " %llu%s", self->data,
			 cipher, khex, AREA,
			 ss == 4096 ? " 2 sector_size:4096 iv_large_sectors" : "");
		ASSERT_EQ(0, sh("modprobe dm-crypt 2>/dev/null; echo '%s' | "
				"dmsetup create veil_crypt_t", table));
		EXPECT_EQ(0, dio("/dev/mapper/veil_crypt_t", false, off, buf,
				 len));
		EXPECT_EQ(0, memcmp(buf, want, len));
		sh("dmsetup remove veil_crypt_t");
	}

	/* A reload keeps the data readable with the key fetched again. */
	ASSERT_EQ(0, sh("echo '%s' | dmsetup reload " DMNAME
			" && dmsetup resume " DMNAME, self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	ASSERT_EQ(0, dio(DMDEV, false, off, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	free(buf);
	free(want);
	free(raw);
}

TEST_F(dm, round_trip_xts_512)
{
	round_trip(_metadata, self, 512, "aes-xts-plain64", 64, false);
}

TEST_F(dm, round_trip_xts_4096)
{
	round_trip(_metadata, self, 4096, "aes-xts-plain64", 64, false);
}

TEST_F(dm, round_trip_cbc_256)
{
	round_trip(_metadata, self, 512, "aes-cbc-plain64", 32, false);
}

/* No IV: whole page segments go to the cipher in one request each. */
TEST_F(dm, round_trip_ecb_512)
{
	round_trip(_metadata, self, 512, "aes-ecb", 32, false);
}

TEST_F(dm, round_trip_null_cipher)
{
	round_trip(_metadata, self, 512, "cipher_null-ecb", 16, true);
}

/* Large bios are split across CPUs; every split point must line up. */
TEST_F(dm, large_and_odd_sizes)
{
	static const size_t sizes[] = { 512, 4096, 65536, 131072, 135680,
					 1048576, 1052672 };
	char *buf = malloc(1 << 21), *want = malloc(1 << 21);
	unsigned long long off = 3 * 512;
	unsigned int i;

	unlocked(_metadata, self);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pattern(want, sizes[i], off, i);
		ASSERT_EQ(0, dio(DMDEV, true, off, want, sizes[i]));
		ASSERT_EQ(0, dio(DMDEV, false, off, buf, sizes[i]));
		EXPECT_EQ(0, memcmp(buf, want, sizes[i])) {
			TH_LOG("size %zu mismatched", sizes[i]);
		}
		off += sizes[i] + 512;
	}
	free(buf);
	free(want);
}

/*
 * A read the device below fails reaches the reader as EIO, whether it is
 * decrypted whole or in pieces, and the rest of the LU still reads back.
 * Below veil: RAM with a 2 MiB hole of dm-error in its data area.
 */
TEST_F(dm, lower_read_errors_reach_the_reader)
{
	const unsigned long long hole = AREA + 4096, holelen = 4096;
	const unsigned long long hole_off = (hole - AREA) * 512;
	const size_t mib = 1 << 20;
	char *buf = malloc(mib), *want = malloc(mib), table[128];

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	sh("dmsetup remove veil_low >/dev/null 2>&1");
	ASSERT_EQ(0, sh("printf '0 %llu linear " RAM " 0\n%llu %llu error\n"
			"%llu %llu linear " RAM " %llu\n' | "
			"dmsetup create veil_low", hole, hole, holelen,
			hole + holelen, self->lu - hole - holelen,
			hole + holelen));
	self->server = key_server(key, 64);
	snprintf(table, sizeof(table), "0 %llu veil /dev/mapper/veil_low",
		 self->data);
	ASSERT_EQ(0, dm_create(table));
	ASSERT_TRUE(wait_state("encrypted", 10000));

	pattern(want, mib, 0, 11);
	ASSERT_EQ(0, dio(DMDEV, true, 0, want, mib));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, mib));
	EXPECT_EQ(0, memcmp(buf, want, mib));
	/* small (one piece), large (pieces), and straddling the hole */
	EXPECT_EQ(-EIO, dio(DMDEV, false, hole_off, buf, 4096));
	EXPECT_EQ(-EIO, dio(DMDEV, false, hole_off + mib / 2, buf, mib));
	EXPECT_EQ(-EIO, dio(DMDEV, false, hole_off - mib / 2, buf, mib));
	/* a write there fails too, and nothing is held */
	EXPECT_EQ(-EIO, dio(DMDEV, true, hole_off, want, mib));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, mib));
	EXPECT_EQ(0, memcmp(buf, want, mib));
	EXPECT_TRUE(state_is("encrypted"));
	free(buf);
	free(want);
}

/* The device exposes the data area only; a longer table is refused. */
TEST_F(dm, size_spoofing)
{
	char table[256];

	ASSERT_EQ(0, format(NULL, 512, NULL));
	snprintf(table, sizeof(table), "0 %llu veil " RAM, self->data + 8);
	EXPECT_NE(0, dm_create(table));
	EXPECT_EQ(0, sh("dmesg | grep -q 'veil: Table is longer than the data area'"));
	ASSERT_EQ(0, dm_create(self->table));
	EXPECT_EQ(self->data, dev_sectors(DMDEV));
	EXPECT_TRUE(state_is("unencrypted"));
}

TEST_F(dm, bad_tables)
{
	static const char *const bad[] = {
		"veil",
		"veil /dev/nonexistent",
		"veil " RAM " 1",
		"veil " RAM " 1 key_timeout:0",
		"veil " RAM " 1 key_timeout:61",
		"veil " RAM " 1 key_timeout:600",
		"veil " RAM " 1 key_timeout:5x",
		"veil " RAM " 1 no_such_option",
		"veil " RAM " 2 allow_discards allow_discards",
		"veil " RAM " 3 allow_discards key_timeout:5 x",
		"veil " RAM " 1 allow_discards extra",
	};
	char table[256];
	unsigned int i;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(table, sizeof(table), "0 %llu %s", self->data, bad[i]);
		EXPECT_NE(0, dm_create(table)) {
			TH_LOG("accepted: %s", table);
		}
		dm_remove();
	}
	EXPECT_EQ(0, sh("dmesg | grep -q 'veil: key_timeout must be 1 to 60 seconds'"));
	EXPECT_EQ(0, sh("dmesg | grep -q 'veil: key_timeout may be at most 60 seconds'"));
	EXPECT_EQ(0, sh("dmesg | grep -q 'veil: Unknown or repeated optional argument'"));

	/* Unsupported cipher in otherwise valid metadata: refused, said why. */
	ASSERT_EQ(0, format(kid_hex, 512, "--cipher aes-xts-essiv:sha256"));
	EXPECT_NE(0, dm_create(self->table));
	dm_remove();
	ASSERT_EQ(0, format(kid_hex, 512, "--cipher aes-xts-benbi"));
	EXPECT_NE(0, dm_create(self->table));
	dm_remove();
	EXPECT_EQ(0, sh("dmesg | grep -q 'unsupported IV mode'"));
}

/* TABLE status reproduces the table line; good options are accepted. */
TEST_F(dm, table_round_trip)
{
	char table[256], out[512], want[256];
	dev_t rdev;
	struct stat st;

	ASSERT_EQ(0, format(NULL, 512, NULL));
	ASSERT_EQ(0, stat(RAM, &st));
	rdev = st.st_rdev;
	snprintf(table, sizeof(table), "%s 2 key_timeout:7 allow_discards",
		 self->table);
	ASSERT_EQ(0, dm_create(table));
	ASSERT_EQ(0, sh_out(out, sizeof(out), "dmsetup table " DMNAME));
	snprintf(want, sizeof(want),
		 "0 %llu veil %u:%u 2 key_timeout:7 allow_discards\n",
		 self->data, major(rdev), minor(rdev));
	EXPECT_STREQ(want, out);
	dm_remove();
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_EQ(0, sh_out(out, sizeof(out), "dmsetup table " DMNAME));
	snprintf(want, sizeof(want), "0 %llu veil %u:%u\n", self->data,
		 major(rdev), minor(rdev));
	EXPECT_STREQ(want, out);
}

/* How many kernel log lines contain @what (fixed string). */
static int dmesg_count(const char *what)
{
	char out[32];

	if (sh_out(out, sizeof(out), "dmesg | grep -c -F -e '%s'", what) > 1)
		return -1;
	return atoi(out);
}

/*
 * Every number in a table line is read whole: what does not fit in 32 bits
 * is refused, never reduced modulo 2^32 (or 2^64) into the valid range, and
 * so are signs, spaces and base prefixes.  The optional-argument count is a
 * number too.  Each refusal says why.  Some 25 tables are tried, each with
 * dmsetup and a look at the log: more than the default 30 s on a busy host.
 */
TEST_F_TIMEOUT(dm, numbers_never_wrap, 120)
{
	static const struct {
		const char *args;
		const char *why;
	} bad[] = {
		{ "1 key_timeout:4294967297", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:4294967356", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:4294967896", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:18446744073709551621", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:99999999999999999999999999", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:61", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:600", "key_timeout may be at most 60 seconds" },
		{ "1 key_timeout:0", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:-1", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:-4294967295", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:+5", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:\\ 5", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:5\\ ", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:0x10", "key_timeout must be 1 to 60 seconds" },
		{ "1 key_timeout:", "key_timeout must be 1 to 60 seconds" },
		{ "4294967297 allow_discards", "Invalid number of optional arguments" },
		{ "4294967298 allow_discards key_timeout:5", "Invalid number of optional arguments" },
		{ "18446744073709551617 allow_discards", "Invalid number of optional arguments" },
		{ "-1 allow_discards", "Invalid number of optional arguments" },
		{ "+1 allow_discards", "Invalid number of optional arguments" },
		{ "\\ 1 allow_discards", "Invalid number of optional arguments" },
		{ "3 allow_discards key_timeout:5 x", "Invalid number of optional arguments" },
	};
	static const char *const good[] = { "1", "59", "60" };
	char table[256], out[512], want[256];
	struct stat st;
	unsigned int i;
	int before;

	ASSERT_EQ(0, format(NULL, 512, NULL));
	ASSERT_EQ(0, stat(RAM, &st));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(table, sizeof(table), "%s %s", self->table, bad[i].args);
		before = dmesg_count(bad[i].why);
		EXPECT_NE(0, dm_create(table)) {
			sh_out(out, sizeof(out), "dmsetup table " DMNAME);
			TH_LOG("accepted: %s (table now: %s)", table, out);
		}
		EXPECT_EQ(before + 1, dmesg_count(bad[i].why)) {
			TH_LOG("'%s' refused without saying '%s'", table, bad[i].why);
		}
		dm_remove();
	}

	/* Valid values are kept as given: TABLE status shows them again. */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(table, sizeof(table), "%s 1 key_timeout:%s",
			 self->table, good[i]);
		ASSERT_EQ(0, dm_create(table)) TH_LOG("refused: %s", table);
		ASSERT_EQ(0, sh_out(out, sizeof(out), "dmsetup table " DMNAME));
		snprintf(want, sizeof(want), "0 %llu veil %u:%u 1 key_timeout:%s\n",
			 self->data, major(st.st_rdev), minor(st.st_rdev), good[i]);
		EXPECT_STREQ(want, out);
		dm_remove();
	}
}

/*
 * Messages take no numeric argument; a number, sign or extra word after a
 * message is refused rather than read, and changes nothing.
 */
TEST_F(dm, messages_take_no_numbers)
{
	static const char *const bad[] = {
		"retry 4294967297", "update 1", "wipe_key 0", "update +1",
		"retry 18446744073709551617", "update\\ 1", "4294967297",
		"key_timeout:5", "update update",
	};
	char before[512], after[512];
	unsigned int i;

	ASSERT_EQ(0, format(NULL, 512, NULL));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_EQ(0, sh_out(before, sizeof(before), "dmsetup table " DMNAME
			    "; dmsetup status " DMNAME));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_NE(0, dm_msg(bad[i])) TH_LOG("accepted: %s", bad[i]);
	}
	EXPECT_EQ(0, sh("dmesg | grep -qF 'unrecognised message (expected update, wipe_key, retry or reencrypt_*)'"));
	ASSERT_EQ(0, sh_out(after, sizeof(after), "dmsetup table " DMNAME
			    "; dmsetup status " DMNAME));
	EXPECT_STREQ(before, after);
	EXPECT_EQ(0, dm_msg("update"));
}

/* Valid metadata without a key-id: pass through over the data area. */
TEST_F(dm, unencrypted_pass_through)
{
	char want[8192], buf[8192];

	ASSERT_EQ(0, format(NULL, 512, NULL));
	ASSERT_EQ(0, dm_create(self->table));
	EXPECT_TRUE(state_is("unencrypted"));
	pattern(want, sizeof(want), 0, 1);
	ASSERT_EQ(0, dio(DMDEV, true, 0, want, sizeof(want)));
	ASSERT_EQ(0, dio(RAM, false, AREA * 512, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));
}

/* No metadata at all: unencrypted, the whole LU from sector 0. */
TEST_F(dm, no_metadata_pass_through)
{
	char want[4096], buf[4096], table[256];

	unformat(self->lu);
	snprintf(table, sizeof(table), "0 %llu veil " RAM, self->lu);
	ASSERT_EQ(0, dm_create(table));
	EXPECT_TRUE(state_is("unencrypted"));
	EXPECT_EQ(self->lu, dev_sectors(DMDEV));
	pattern(want, sizeof(want), 0, 2);
	ASSERT_EQ(0, dio(DMDEV, true, 8192, want, sizeof(want)));
	ASSERT_EQ(0, dio(RAM, false, 8192, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));
	/* formatting under it: the layout changed, reload needed: unknown */
	dm_remove();
	snprintf(table, sizeof(table), "0 %llu veil " RAM, self->lu + 1);
	EXPECT_NE(0, dm_create(table));
}

/* Both copies corrupt: unknown, all data I/O fails; repair + update. */
TEST_F(dm, corrupt_both_unknown)
{
	static const char *const kinds[] = { "csum", "torn", "version",
					     "props-len" };
	char buf[4096];
	struct vstatus s;
	unsigned int i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char a[128];

		ASSERT_EQ(0, format(kid_hex, 512, NULL));
		snprintf(a, sizeof(a), "corrupt " RAM " primary %s", kinds[i]);
		ASSERT_EQ(0, mdtool(a));
		snprintf(a, sizeof(a), "corrupt " RAM " alternate %s", kinds[i]);
		ASSERT_EQ(0, mdtool(a));
		if (!strcmp(kinds[i], "version")) {
			/* a newer veil's metadata: refused outright */
			EXPECT_NE(0, dm_create(self->table));
			EXPECT_EQ(0, sh("dmesg | grep -q 'veil: Metadata was written by a newer veil'"));
			dm_remove();
			continue;
		}
		ASSERT_EQ(0, dm_create(self->table)) {
			TH_LOG("kind %s", kinds[i]);
		}
		ASSERT_EQ(0, dm_status(&s));
		EXPECT_STREQ("unknown", s.state);
		EXPECT_STRNE("-", s.reason);
		EXPECT_EQ(-EIO, dio(DMDEV, false, 0, buf, sizeof(buf)));
		EXPECT_EQ(-EIO, dio(DMDEV, true, 0, buf, sizeof(buf)));
		dm_remove();
	}

	/* LU repaired (resynced) while the device is up: update recovers. */
	ASSERT_EQ(0, dm_create(self->table));
	EXPECT_TRUE(state_is("unknown"));
	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	self->server = key_server(key, 64);
	EXPECT_EQ(0, dm_msg("update"));
	EXPECT_TRUE(wait_state("encrypted", 10000));
}

/* One copy damaged: the other one is used, whatever the damage. */
TEST_F(dm, one_copy_corrupt)
{
	static const char *const kinds[] = { "magic", "csum", "torn", "zero",
					     "props-len", "incompat" };
	struct vstatus s;
	unsigned int i, c;

	for (c = 0; c < 2; c++) {
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			char a[128];

			ASSERT_EQ(0, format(kid_hex, 512, NULL));
			snprintf(a, sizeof(a), "corrupt " RAM " %s %s",
				 c ? "alternate" : "primary", kinds[i]);
			ASSERT_EQ(0, mdtool(a));
			if (!strcmp(kinds[i], "incompat") &&
			    dm_create(self->table)) {
				/*
				 * A newer veil wrote one copy: the codec may
				 * refuse both (never pick stale metadata) or
				 * use the other; either way, a clear refusal.
				 */
				EXPECT_EQ(0, sh("dmesg | grep -q 'newer veil'"));
				continue;
			}
			dm_remove();
			ASSERT_EQ(0, dm_create(self->table)) {
				TH_LOG("%s %s", c ? "alternate" : "primary",
				       kinds[i]);
			}
			ASSERT_EQ(0, dm_status(&s));
			EXPECT_STREQ("waiting-for-key", s.state) {
				TH_LOG("%s %s", c ? "alternate" : "primary",
				       kinds[i]);
			}
			EXPECT_STREQ(kid_hex, s.key_id);
			dm_remove();
		}
	}
	EXPECT_EQ(0, sh("dmesg | grep -q 'primary metadata copy unusable'"));
}

/* A crash between the writes of a key-id change: old or new, never none. */
TEST_F(dm, crash_between_writes)
{
	static const char *const crashes[] = {
		"--crash-after 0", "--crash-after 0 --torn 300",
		"--crash-after 1", "--crash-after 1 --torn 300",
		"--crash-after 2",
	};
	struct vstatus s;
	unsigned int i;

	for (i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++) {
		char a[256];

		ASSERT_EQ(0, format(kid_hex, 512, NULL));
		snprintf(a, sizeof(a), "%s set-key-id " RAM " %s", crashes[i],
			 kid2_hex);
		mdtool(a);
		ASSERT_EQ(0, dm_create(self->table)) {
			TH_LOG("%s", crashes[i]);
		}
		ASSERT_EQ(0, dm_status(&s));
		EXPECT_STREQ("waiting-for-key", s.state);
		EXPECT_TRUE(!strcmp(s.key_id, kid_hex) ||
			    !strcmp(s.key_id, kid2_hex)) {
			TH_LOG("%s: key-id %s", crashes[i], s.key_id);
		}
		dm_remove();
	}
}

/* Held I/O: waits (not failed) and completes once the key arrives. */
TEST_F(dm, held_until_key)
{
	const unsigned long long off = 65536;
	char buf[8192], want[8192];
	struct vnl_kreq r;
	struct vstatus s;
	struct vnl v;
	pid_t w;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	EXPECT_EQ(0, memcmp(r.key_id, kid, sizeof(kid)));
	EXPECT_EQ(0, strncmp(r.object, "dm-", 3));
	EXPECT_TRUE(state_is("waiting-for-key"));

	w = bg_io(true, off, sizeof(want), 9);
	EXPECT_EQ(1, bg_wait(w, 1500));		/* still held */
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_EQ(1U, s.held);
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	EXPECT_EQ(0, bg_wait(w, 10000));
	EXPECT_TRUE(state_is("encrypted"));
	pattern(want, sizeof(want), off, 9);
	ASSERT_EQ(0, dio(DMDEV, false, off, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));
	vnl_close(&v);
}

/*
 * A reload of the same LU (the same table, or one with a changed flag)
 * takes the key the live table holds: with the key daemon gone, I/O keeps
 * flowing and no key request is posted.  Metadata with another key-id
 * waits for its own key.
 */
TEST_F(dm, reload_keeps_key_without_daemon)
{
	char table[256], buf[4096], want[4096];
	const unsigned long long off = 16384;
	struct vnl_kreq r;
	struct vnl v, q;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	pattern(want, sizeof(want), off, 11);
	ASSERT_EQ(0, dio(DMDEV, true, off, want, sizeof(want)));
	vnl_close(&v);			/* the key daemon is gone */
	ASSERT_LT(0, vnl_open(&q));	/* only to read the pending count */

	ASSERT_EQ(0, sh("echo '%s' | dmsetup reload " DMNAME
			" && dmsetup resume " DMNAME, self->table));
	EXPECT_TRUE(state_is("encrypted"));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0, dio(DMDEV, false, off, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));

	snprintf(table, sizeof(table), "%s 1 allow_discards", self->table);
	ASSERT_EQ(0, sh("echo '%s' | dmsetup reload " DMNAME
			" && dmsetup resume " DMNAME, table));
	EXPECT_TRUE(state_is("encrypted"));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0, dio(DMDEV, false, off, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));
	ASSERT_EQ(0, vnl_get_info(&q));
	EXPECT_EQ(0, q.pending);

	/* another key-id in the metadata: the reloaded table asks for it */
	ASSERT_EQ(0, format(kid2_hex, 512, NULL));
	ASSERT_EQ(0, sh("echo '%s' | dmsetup reload " DMNAME
			" && dmsetup resume " DMNAME, self->table));
	EXPECT_TRUE(state_is("waiting-for-key"));
	ASSERT_EQ(0, vnl_get_info(&q));
	EXPECT_EQ(1, q.pending);
	vnl_close(&q);
}

/*
 * Suspend never waits for the key: with I/O held and a long key_timeout, a
 * flush suspend fails the held bio and a noflush suspend hands it back to
 * dm (mapped again after resume, and served once the key arrives); both
 * return in a small fraction of key_timeout.
 */
TEST_F(dm, suspend_with_held_io_returns)
{
	const int timeout_s = 30;
	const unsigned long long off = 8192;
	char table[256];
	struct vnl_kreq r;
	struct vnl v;
	long t0, dt;
	pid_t w;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	snprintf(table, sizeof(table), "%s 1 key_timeout:%d", self->table,
		 timeout_s);
	ASSERT_EQ(0, dm_create(table));
	ASSERT_TRUE(take_req(&v, &r, 5000));

	/* flush suspend: the held read fails at once */
	w = bg_io(false, off, 4096, 3);
	EXPECT_EQ(1, bg_wait(w, 1000));		/* held */
	t0 = vnl_ms_now();
	EXPECT_EQ(0, sh("dmsetup suspend " DMNAME));
	dt = vnl_ms_now() - t0;
	EXPECT_LT(dt, timeout_s * 1000 / 3);
	EXPECT_EQ(-EIO, bg_wait(w, timeout_s * 1000 / 3));
	EXPECT_EQ(0, sh("dmsetup resume " DMNAME));
	EXPECT_TRUE(state_is("waiting-for-key"));

	/* noflush suspend: the held write waits out the suspend, then gets
	 * the key
	 */
	w = bg_io(true, off, 4096, 3);
	EXPECT_EQ(1, bg_wait(w, 1000));		/* held */
	t0 = vnl_ms_now();
	EXPECT_EQ(0, sh("dmsetup suspend --noflush " DMNAME));
	dt = vnl_ms_now() - t0;
	EXPECT_LT(dt, timeout_s * 1000 / 3);
	EXPECT_EQ(1, bg_wait(w, 500));		/* inside dm, not failed */
	EXPECT_EQ(0, sh("dmsetup resume " DMNAME));
	EXPECT_EQ(1, bg_wait(w, 500));		/* held again */
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	EXPECT_EQ(0, bg_wait(w, 10000));
	w = bg_io(false, off, 4096, 3);
	EXPECT_EQ(0, bg_wait(w, 10000));	/* the write landed */
	vnl_close(&v);
}

/* Held I/O times out to EIO; the device keeps waiting. */
TEST_F(dm, held_times_out)
{
	char table[256], buf[4096];
	struct vnl_kreq r;
	struct vnl v;
	long t0, dt;
	int err;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	snprintf(table, sizeof(table), "%s 1 key_timeout:2", self->table);
	ASSERT_EQ(0, dm_create(table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	t0 = vnl_ms_now();
	err = dio(DMDEV, false, 0, buf, sizeof(buf));
	dt = vnl_ms_now() - t0;
	EXPECT_EQ(-EIO, err);
	EXPECT_GE(dt, 1500);
	EXPECT_LE(dt, 8000);
	EXPECT_TRUE(state_is("waiting-for-key"));
	/* and a late key still unlocks the device */
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	EXPECT_TRUE(wait_state("encrypted", 5000));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	vnl_close(&v);
}

/* Plaintext ranges pass in every state; a straddling bio is split. */
TEST_F(dm, plaintext_regions)
{
	char buf[16384], want[16384], raw[16384];
	struct vnl_kreq r;
	struct vstatus s;
	struct vnl v;
	pid_t w;

	/* sectors [0, 16) of the data area stay plaintext */
	ASSERT_EQ(0, format(kid_hex, 512, "--plaintext 0:16"));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));

	/* waiting-for-key: plaintext passes at once, the rest is held */
	pattern(want, 8192, 0, 3);
	EXPECT_EQ(0, dio(DMDEV, true, 0, want, 8192));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, 8192));
	EXPECT_EQ(0, memcmp(buf, want, 8192));
	ASSERT_EQ(0, dio(RAM, false, AREA * 512, raw, 8192));
	EXPECT_EQ(0, memcmp(raw, want, 8192));

	/* a write across the boundary at 8 KiB: held until the key */
	w = bg_io(true, 4096, 8192, 4);
	EXPECT_EQ(1, bg_wait(w, 1000));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	EXPECT_EQ(0, bg_wait(w, 10000));
	pattern(want, 8192, 4096, 4);
	ASSERT_EQ(0, dio(DMDEV, false, 4096, buf, 8192));
	EXPECT_EQ(0, memcmp(buf, want, 8192));
	ASSERT_EQ(0, dio(RAM, false, AREA * 512 + 4096, raw, 8192));
	EXPECT_EQ(0, memcmp(raw, want, 4096));		/* plaintext half */
	EXPECT_NE(0, memcmp(raw + 4096, want + 4096, 64)); /* encrypted half */

	/* no-key: plaintext still passes, the encrypted region fails */
	ASSERT_EQ(0, dm_msg("wipe_key"));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("no-key", s.state);
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, 8192));
	EXPECT_EQ(0, dio(DMDEV, true, 0, want, 4096));
	EXPECT_EQ(-EIO, dio(DMDEV, false, 8192, buf, 4096));

	/* unknown (metadata gone bad under the device): plaintext read-only */
	ASSERT_EQ(0, mdtool("corrupt " RAM " primary csum"));
	ASSERT_EQ(0, mdtool("corrupt " RAM " alternate csum"));
	EXPECT_NE(0, dm_msg("update"));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("unknown", s.state);
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, 4096));
	EXPECT_EQ(-EIO, dio(DMDEV, true, 0, buf, 4096));
	EXPECT_EQ(-EIO, dio(DMDEV, false, 8192, buf, 4096));
	vnl_close(&v);
	(void)memset(buf, 0, sizeof(buf));
	(void)memset(raw, 0, sizeof(raw));
}

/* Lookup refused: no-key with the reason, EIO at once; retry recovers. */
TEST_F(dm, no_key_and_retry)
{
	char buf[4096];
	struct vnl_kreq r;
	struct vstatus s;
	struct vnl v;
	long t0;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_fail(&v, r.id, r.key_id, r.key_id_len, EKEYREJECTED,
			      "host not authorised"));
	ASSERT_TRUE(wait_state("no-key", 5000));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("host not authorised", s.reason);
	t0 = vnl_ms_now();
	EXPECT_EQ(-EIO, dio(DMDEV, false, 0, buf, sizeof(buf)));
	EXPECT_LT(vnl_ms_now() - t0, 1000);

	EXPECT_EQ(0, dm_msg("retry"));
	EXPECT_TRUE(state_is("waiting-for-key"));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	EXPECT_TRUE(wait_state("encrypted", 5000));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	vnl_close(&v);
}

/*
 * Key manager down: no-key after the daemon's retry budget.  Once it is
 * back, "update" (metadata unchanged) asks again and the device unlocks
 * without being re-created; held reads of a second wait are served.
 */
TEST_F(dm, no_key_then_update)
{
	char buf[4096], want[4096];
	struct vnl_kreq r;
	struct vstatus s;
	struct vnl v;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_fail(&v, r.id, r.key_id, r.key_id_len, EHOSTUNREACH,
			      "key manager unreachable"));
	ASSERT_TRUE(wait_state("no-key", 5000));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("key manager unreachable", s.reason);
	EXPECT_EQ(-EIO, dio(DMDEV, false, 0, buf, sizeof(buf)));

	/* the key manager is back: update posts the request again */
	EXPECT_EQ(0, dm_msg("update"));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("waiting-for-key", s.state);
	EXPECT_STREQ(kid_hex, s.key_id);
	EXPECT_STREQ("-", s.reason);
	ASSERT_TRUE(take_req(&v, &r, 5000));
	EXPECT_EQ(0, memcmp(r.key_id, kid, sizeof(kid)));
	/* a second update while waiting posts nothing new */
	EXPECT_EQ(0, dm_msg("update"));
	EXPECT_EQ(0, vnl_wait_reqs(&v, 1, 300));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	ASSERT_TRUE(wait_state("encrypted", 5000));
	pattern(want, sizeof(want), 0, 9);
	ASSERT_EQ(0, dio(DMDEV, true, 0, want, sizeof(want)));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));

	/* after wipe_key, update fetches the key again too */
	ASSERT_EQ(0, dm_msg("wipe_key"));
	EXPECT_TRUE(state_is("no-key"));
	EXPECT_EQ(0, dm_msg("update"));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	ASSERT_TRUE(wait_state("encrypted", 5000));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));
	vnl_close(&v);
}

/* A push for another key-id is refused; a wrong-size key gives no-key. */
TEST_F(dm, wrong_pushes)
{
	struct vnl_kreq r;
	struct vstatus s;
	struct vnl v;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	EXPECT_EQ(-EKEYREJECTED, vnl_push(&v, r.id, kid2, sizeof(kid2), key,
					  64, NULL));
	usleep(200000);
	EXPECT_TRUE(state_is("waiting-for-key"));
	/* right key-id, key of the wrong size for aes-xts-plain64/64 */
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 32, NULL));
	ASSERT_TRUE(wait_state("no-key", 5000));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("key size does not match the metadata", s.reason);
	/* a key meant for another cipher */
	ASSERT_EQ(0, dm_msg("retry"));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64,
			      "aes-cbc-essiv:sha256"));
	ASSERT_TRUE(wait_state("no-key", 5000));
	vnl_close(&v);
}

/* update: unchanged key-id is a no-op; a changed one waits for its key. */
TEST_F(dm, update_key_id_change)
{
	char buf[4096], want[4096];
	struct vnl_kreq r;
	struct vstatus s;
	struct vnl v;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL));
	ASSERT_TRUE(wait_state("encrypted", 5000));
	pattern(want, sizeof(want), 0, 7);
	ASSERT_EQ(0, dio(DMDEV, true, 0, want, sizeof(want)));

	EXPECT_EQ(0, dm_msg("update"));
	EXPECT_TRUE(state_is("encrypted"));
	EXPECT_EQ(0, vnl_wait_reqs(&v, 1, 500));	/* no new request */

	ASSERT_EQ(0, mdtool("set-key-id " RAM " ffeeddccbbaa99887766554433221100"));
	EXPECT_EQ(0, dm_msg("update"));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("waiting-for-key", s.state);
	EXPECT_STREQ(kid2_hex, s.key_id);
	ASSERT_TRUE(take_req(&v, &r, 5000));
	EXPECT_EQ(0, memcmp(r.key_id, kid2, sizeof(kid2)));
	ASSERT_EQ(0, vnl_push(&v, r.id, r.key_id, r.key_id_len, key2, 64, NULL));
	ASSERT_TRUE(wait_state("encrypted", 5000));
	/* the old data under the new key is not the old plaintext */
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	EXPECT_NE(0, memcmp(buf, want, sizeof(buf)));

	/* key-id removed: unencrypted */
	ASSERT_EQ(0, mdtool("set-key-id " RAM " none"));
	EXPECT_EQ(0, dm_msg("update"));
	EXPECT_TRUE(state_is("unencrypted"));
	EXPECT_NE(0, dm_msg("bogus"));
	vnl_close(&v);
}

/* wipe_key drops the key at once; retry fetches it again. */
TEST_F(dm, wipe_key)
{
	char buf[4096], want[4096];
	struct vstatus s;

	unlocked(_metadata, self);
	pattern(want, sizeof(want), 0, 8);
	ASSERT_EQ(0, dio(DMDEV, true, 0, want, sizeof(want)));
	ASSERT_EQ(0, dm_msg("wipe_key"));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_STREQ("no-key", s.state);
	EXPECT_STREQ("key wiped", s.reason);
	EXPECT_EQ(-EIO, dio(DMDEV, false, 0, buf, sizeof(buf)));
	ASSERT_EQ(0, dm_msg("retry"));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(buf)));
}

/* No interface returns key bytes: table, status, messages, kernel log. */
TEST_F(dm, no_key_bytes_anywhere)
{
	char out[8192];

	unlocked(_metadata, self);
	sh_out(out, sizeof(out), "dmsetup table " DMNAME "; dmsetup status "
	       DMNAME "; dmsetup info " DMNAME "; dmsetup message " DMNAME
	       " 0 update");
	EXPECT_EQ(NULL, strstr(out, key_hex));
	EXPECT_EQ(NULL, strstr(out, "0f161d24"));	/* key bytes 2..5 */
	EXPECT_NE(NULL, strstr(out, kid_hex));		/* the key-id, yes */
	EXPECT_NE(0, sh("dmesg | grep -qi '%s'", key_hex));
	EXPECT_NE(0, sh("grep -rqs '%.16s' /sys/kernel/debug/veil* 2>/dev/null",
			key_hex));
}

/* Only a privileged process may push keys. */
TEST_F(dm, unprivileged_cannot_push)
{
	struct vnl_kreq r;
	struct vnl v;
	pid_t pid;
	int st;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_req(&v, &r, 5000));
	pid = fork();
	if (!pid) {
		struct vnl u;

		if (setgid(65534) || setuid(65534) || vnl_open(&u) < 0)
			_exit(2);
		_exit(vnl_push(&u, r.id, r.key_id, r.key_id_len, key, 64,
			       NULL) == -EPERM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_TRUE(state_is("waiting-for-key"));
	vnl_close(&v);
}

/* fio verify over the whole device, before and after a table reload. */
TEST_F(dm, fio_verify_reload)
{
	static const char fio[] = "fio --name=v --filename=" DMDEV
		" --direct=1 --ioengine=psync --rw=randwrite --bs=4k"
		" --verify=crc32c --verify_fatal=1 --size=100%";

	if (sh("command -v fio >/dev/null"))
		SKIP(return, "no fio in the guest");
	unlocked(_metadata, self);
	EXPECT_EQ(0, sh("%s >/dev/null 2>&1", fio));
	ASSERT_EQ(0, sh("echo '%s' | dmsetup reload " DMNAME
			" && dmsetup resume " DMNAME, self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	EXPECT_EQ(0, sh("%s --verify_only=1 >/dev/null 2>&1", fio));
}

/*
 * Large I/O through libaio at depth: writes encrypted whole by workers
 * while the writer queues the next, reads decrypted whole beside each
 * other, several bios queued at once.  Every block written must read back the same at
 * depth 8 and at depth 1.
 */
TEST_F(dm, large_io_at_depth_verify)
{
	static const char fio[] = "fio --name=v --filename=" DMDEV
		" --direct=1 --ioengine=libaio --bs=1M --rw=write"
		" --verify=crc32c --verify_fatal=1 --size=100%";

	if (sh("command -v fio >/dev/null"))
		SKIP(return, "no fio in the guest");
	unlocked(_metadata, self);
	EXPECT_EQ(0, sh("%s --iodepth=8 >/dev/null 2>&1", fio));
	EXPECT_EQ(0, sh("%s --iodepth=8 --verify_only=1 >/dev/null 2>&1", fio));
	EXPECT_EQ(0, sh("%s --iodepth=1 --verify_only=1 >/dev/null 2>&1", fio));
}

/* ------------------------------------- reads completed by interrupts --- */

#define NULLB	"/dev/nullb0"
#define VAC	"/sys/module/veil_async_cipher/parameters/"

/*
 * null_blk as the LU: memory backed, completing each I/O from a timer
 * interrupt (@irqmode 2) or in the block softirq (1), as hardware does,
 * where brd completes in the submitter.  0, or -1 if it cannot be had.
 */
static int nullb_load(int irqmode)
{
	int i;

	sh("rmmod null_blk 2>/dev/null");
	/* one hardware queue (no poll queue): blk-mq then completes in the
	 * block softirq, not in the submitter
	 */
	if (sh("modprobe null_blk nr_devices=1 queue_mode=2 memory_backed=1"
	       " gb=1 submit_queues=1 poll_queues=0 irqmode=%d"
	       " >/dev/null 2>&1", irqmode))
		return -1;
	for (i = 0; i < 50 && access(NULLB, F_OK); i++)
		usleep(100000);
	return access(NULLB, F_OK) ? -1 : 0;
}

/* A counter or setting of veil_async_cipher, -1 if unreadable. */
static long vac_get(const char *name)
{
	char out[32];

	if (sh_out(out, sizeof(out), "cat " VAC "%s", name))
		return -1;
	return strtol(out, NULL, 10);
}

static int vac_set(const char *name, int v)
{
	return sh("echo %d > " VAC "%s", v, name);
}

/*
 * null_blk completing in @irqmode, formatted with key-id kid and mapped as
 * DMNAME (its key served by the caller): the data area's sectors.
 */
static unsigned long long nullb_map(struct __test_metadata *_metadata,
				    int irqmode)
{
	unsigned long long lu, data;
	char table[128];

	EXPECT_EQ(0, nullb_load(irqmode));
	lu = dev_sectors(NULLB);
	EXPECT_GE(lu, 4 * AREA);
	data = (lu - 2 * AREA) & ~7ULL;
	EXPECT_EQ(0, format_dev(NULLB, kid_hex, 512, NULL));
	snprintf(table, sizeof(table), "0 %llu veil " NULLB, data);
	EXPECT_EQ(0, dm_create(table));
	EXPECT_TRUE(wait_state("encrypted", 10000));
	return data;
}

/*
 * What lies on the LU (@data sectors mapped by nullb_map(), now unmapped)
 * is dm-crypt's format: its first @len bytes, read through dm-crypt with
 * the test key, are @want.
 */
static void nullb_is_dm_crypt(struct __test_metadata *_metadata,
			      unsigned long long data, const char *want,
			      size_t len)
{
	char khex[2 * sizeof(key) + 1], table[512];
	char *buf = malloc(len);

	vnl_hex(key, 64, khex);
	snprintf(table, sizeof(table), "0 %llu crypt aes-xts-plain64 %s 0 "
		 NULLB " %llu", data, khex, AREA);
	EXPECT_EQ(0, sh("echo '%s' | dmsetup create veil_crypt_t", table));
	EXPECT_EQ(0, dio("/dev/mapper/veil_crypt_t", false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	sh("dmsetup remove veil_crypt_t");
	free(buf);
}

/*
 * On null_blk completing in @irqmode, map an encrypted device (key served
 * by self->server), write a pattern, and read it back in one-piece and
 * many-piece reads, at depth with fio, and through dm-crypt.  Returns how
 * many cipher requests veil_async_cipher saw made in softirq context
 * during the reads.
 */
static long nullb_reads(struct __test_metadata *_metadata,
			FIXTURE_DATA(dm) * self, int irqmode)
{
	const size_t mib = 1 << 20;
	char *buf = malloc(mib), *want = malloc(mib);
	unsigned long long data, off;
	double t0 = now_s();
	long soft, big;

	data = nullb_map(_metadata, irqmode);

	pattern(want, mib, 0, 0x1000 + irqmode);
	EXPECT_EQ(0, dio(DMDEV, true, 0, want, mib));
	soft = vac_get("softirq");
	/* one piece each */
	for (off = 0; off < 64 * 1024; off += 4096) {
		EXPECT_EQ(0, dio(DMDEV, false, off, buf, 4096));
		EXPECT_EQ(0, memcmp(buf, want + off, 4096));
	}
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, 64 * 1024));
	EXPECT_EQ(0, memcmp(buf, want, 64 * 1024));
	/* in pieces, on the workqueue */
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, mib));
	EXPECT_EQ(0, memcmp(buf, want, mib));
	soft = vac_get("softirq") - soft;
	if (!sh("command -v fio >/dev/null")) {
		static const char fio[] = "fio --name=v --filename=" DMDEV
			" --direct=1 --ioengine=libaio --bs=4k --offset=2M"
			" --size=8M --iodepth=32 --verify=crc32c"
			" --verify_fatal=1 >/dev/null 2>&1";

		EXPECT_EQ(0, sh("%s --rw=randwrite", fio));
		EXPECT_EQ(0, sh("%s --rw=randread --verify_only=1"
				" --numjobs=2", fio));
		/* reads of every size at depth, in pieces or not */
		EXPECT_EQ(0, sh("%s --rw=randwrite --bsrange=4k-1m", fio));
		EXPECT_EQ(0, sh("%s --rw=randread --bsrange=4k-1m"
				" --verify_only=1", fio));
		/* 1 MiB reads at depth, each whole: never in a softirq */
		big = vac_get("softirq");
		EXPECT_EQ(0, sh("fio --name=v --filename=" DMDEV " --direct=1"
				" --ioengine=libaio --bs=1m --size=16M"
				" --loops=4 --iodepth=8 --rw=read"
				" >/dev/null 2>&1"));
		EXPECT_EQ(big, vac_get("softirq"));
	} else {
		TH_LOG("no fio in the guest: reads at depth not checked");
	}
	EXPECT_EQ(0, sh("dmsetup remove " DMNAME));
	TH_LOG("irqmode %d: %ld requests in softirq, %.1f s", irqmode, soft,
	       now_s() - t0);

	nullb_is_dm_crypt(_metadata, data, want, mib);
	free(buf);
	free(want);
	return soft;
}

/*
 * Reads whose lower device completes from an interrupt are decrypted in
 * a softirq: right in a softirq completion, and after a hard interrupt
 * on the BH workqueue (6.9) or dm-veil's own tasklets (before).
 * veil_async_cipher, synchronous here, counts where it is called from.
 */
TEST_F_TIMEOUT(dm, reads_completed_by_interrupts, 240)
{
	long backlogged;

	if (nullb_load(2))
		SKIP(return, "no null_blk");
	if (load("veil_async_cipher", "veil_async_cipher"))
		SKIP(return, "veil_async_cipher.ko not available");
	ASSERT_EQ(0, vac_set("async", 0));
	backlogged = vac_get("backlogged");
	self->server = key_server(key, 64);
	ASSERT_GT(self->server, 0);

	EXPECT_GT(nullb_reads(_metadata, self, 2), 16);
	EXPECT_GT(nullb_reads(_metadata, self, 1), 16);
	EXPECT_EQ(backlogged, vac_get("backlogged"));

	sh("rmmod null_blk 2>/dev/null");
	EXPECT_EQ(0, sh("rmmod veil_async_cipher"));
}

/*
 * An asynchronous cipher (as an accelerator, or a SIMD cipher handing
 * work to cryptd) answering later, sometimes after a backlog, wherever
 * the read is decrypted: the data still comes back right; a cipher that
 * fails a decryption fails the read, and nothing else.
 */
TEST_F_TIMEOUT(dm, reads_with_an_async_cipher, 240)
{
	const size_t mib = 1 << 20;
	char *buf = malloc(mib), *want;
	long reqs, backlogged;

	if (nullb_load(2))
		SKIP(return, "no null_blk");
	if (load("veil_async_cipher", "veil_async_cipher"))
		SKIP(return, "veil_async_cipher.ko not available");
	ASSERT_EQ(0, vac_set("async", 1));
	ASSERT_EQ(0, vac_set("fail", 0));
	self->server = key_server(key, 64);
	ASSERT_GT(self->server, 0);
	reqs = vac_get("requests");
	backlogged = vac_get("backlogged");

	/* the first unit of each one-piece read is asked in a softirq */
	EXPECT_GT(nullb_reads(_metadata, self, 2), 0);
	EXPECT_GT(nullb_reads(_metadata, self, 1), 0);
	EXPECT_GT(vac_get("requests") - reqs, 1000);
	EXPECT_GT(vac_get("backlogged") - backlogged, 100);

	/* A cipher failing decryption fails the reads, then recovers. */
	nullb_map(_metadata, 2);
	ASSERT_TRUE(state_is("encrypted"));
	ASSERT_EQ(0, vac_set("fail", 1));
	EXPECT_EQ(-EIO, dio(DMDEV, false, 0, buf, 4096));
	EXPECT_EQ(-EIO, dio(DMDEV, false, 0, buf, mib));
	ASSERT_EQ(0, vac_set("fail", 0));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, 4096));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, mib));
	EXPECT_TRUE(state_is("encrypted"));
	dm_remove();

	/* brd: decrypted in the submitter's completion, which may wait */
	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	pattern(buf, mib, 0, 77);
	ASSERT_EQ(0, dio(DMDEV, true, 0, buf, mib));
	memset(buf, 0, mib);
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, 4096));
	ASSERT_EQ(0, dio(DMDEV, false, 4096, buf + 4096, mib - 4096));
	want = malloc(mib);
	pattern(want, mib, 0, 77);
	EXPECT_EQ(0, memcmp(buf, want, mib));
	free(want);
	free(buf);
	/*
	 * 1 MiB reads at depth: a read alone is split, its first piece done
	 * in the submitter, but one beside others goes whole to a worker, so
	 * the submitter makes well under half of the requests (it made at
	 * least half when it decrypted every read's first piece).  Until the
	 * device has seen the depth it may do up to 16 reads on one CPU, in
	 * the submitter (vdm_split_pays()): 64 reads leave room for that.
	 */
	if (!sh("command -v fio >/dev/null")) {
		long reqs = vac_get("requests"), task = vac_get("task");

		EXPECT_EQ(0, sh("fio --name=v --filename=" DMDEV " --direct=1"
				" --ioengine=libaio --bs=1m --size=16M"
				" --loops=4 --iodepth=8 --rw=read"
				" >/dev/null 2>&1"));
		reqs = vac_get("requests") - reqs;
		task = vac_get("task") - task;
		TH_LOG("brd, 1 MiB reads at depth 8: %ld of %ld requests in"
		       " the submitter", task, reqs);
		EXPECT_GT(reqs, 0);
		EXPECT_LT(task * 2, reqs);
	} else {
		TH_LOG("no fio in the guest: brd reads at depth not checked");
	}

	dm_remove();
	sh("rmmod null_blk 2>/dev/null");
	EXPECT_EQ(0, sh("rmmod veil_async_cipher"));
}

/*
 * Large writes at queue depth are encrypted by workers while the writer
 * goes on submitting.  With an asynchronous cipher that backlogs, on a
 * device completing from interrupts, every write of every size still
 * reads back and lies on the LU as dm-crypt writes it; a cipher failing
 * encryption fails the writes (one at a time, and at depth) and leaves
 * what the device held.
 */
TEST_F_TIMEOUT(dm, writes_at_depth_with_an_async_cipher, 240)
{
	static const char fio[] = "fio --name=w --filename=" DMDEV
		" --direct=1 --ioengine=libaio";
	const size_t mib = 1 << 20;
	char *buf = malloc(mib), *old = malloc(mib), *got = malloc(mib);
	unsigned long long data;
	long reqs;

	if (sh("command -v fio >/dev/null"))
		SKIP(return, "no fio in the guest");
	if (load("veil_async_cipher", "veil_async_cipher"))
		SKIP(return, "veil_async_cipher.ko not available");
	ASSERT_EQ(0, vac_set("async", 1));
	ASSERT_EQ(0, vac_set("fail", 0));
	self->server = key_server(key, 64);
	ASSERT_GT(self->server, 0);
	data = nullb_map(_metadata, 2);
	ASSERT_TRUE(state_is("encrypted"));
	reqs = vac_get("requests");

	EXPECT_EQ(0, sh("%s --size=32M --bs=1M --rw=write --iodepth=8"
			" --verify=crc32c --verify_fatal=1 >/dev/null 2>&1",
			fio));
	EXPECT_EQ(0, sh("%s --offset=32M --size=32M --bsrange=4k-1m"
			" --rw=randwrite --iodepth=16 --verify=crc32c"
			" --verify_fatal=1 >/dev/null 2>&1", fio));
	EXPECT_GT(vac_get("requests") - reqs, 8192);

	/* A cipher failing encryption: the writes fail, the data stays. */
	EXPECT_EQ(0, dio(DMDEV, false, 0, old, mib));
	pattern(buf, mib, 0, 99);
	ASSERT_EQ(0, vac_set("fail", 2));
	EXPECT_EQ(-EIO, dio(DMDEV, true, 0, buf, 4096));
	EXPECT_EQ(-EIO, dio(DMDEV, true, 0, buf, mib));
	EXPECT_NE(0, sh("%s --size=8M --bs=1M --rw=write --iodepth=8"
			" >/dev/null 2>&1", fio));
	ASSERT_EQ(0, vac_set("fail", 0));
	EXPECT_EQ(0, dio(DMDEV, false, 0, got, mib));
	EXPECT_EQ(0, memcmp(old, got, mib));
	EXPECT_TRUE(state_is("encrypted"));
	EXPECT_EQ(0, dio(DMDEV, true, 0, buf, mib));
	EXPECT_EQ(0, dio(DMDEV, false, 0, got, mib));
	EXPECT_EQ(0, memcmp(buf, got, mib));
	EXPECT_EQ(0, sh("dmsetup remove " DMNAME));

	nullb_is_dm_crypt(_metadata, data, buf, mib);
	free(buf);
	free(old);
	free(got);
	sh("rmmod null_blk 2>/dev/null");
	EXPECT_EQ(0, sh("rmmod veil_async_cipher"));
}

#define SUBMIT_THREADS	"kveil_w/"

/*
 * The submit threads of dm-veil devices ("kveil_w/<disk>"): how many run,
 * and in @nvcsw the most times one of them slept (once per batch of
 * writes it was woken to submit, and twice as it started).
 */
static int submit_threads(long *nvcsw)
{
	return ksft_threads(SUBMIT_THREADS, nvcsw, NULL);
}

/*
 * Above a bio-based device (brd, or another dm device) the writes workers
 * encrypt are submitted by a thread of the device's own, which runs only
 * while large writes come: none for an idle device, one while writing at
 * depth, none again after a few idle seconds, and none after a remove.
 * Two dm-veil devices stacked each have their own, and every block written
 * through the top one reads back.  Above a request-based device (null_blk)
 * workers submit and no thread runs.
 */
TEST_F_TIMEOUT(dm, write_submit_thread, 240)
{
	static const char fio[] = "fio --name=s --filename=" DMDEV
		" --direct=1 --ioengine=libaio --bs=1M --rw=write"
		" --iodepth=8 --size=100% --verify=crc32c --verify_fatal=1"
		" >/dev/null 2>&1";
	char table[128];
	long nvcsw;

	if (sh("command -v fio >/dev/null"))
		SKIP(return, "no fio in the guest");
	ASSERT_EQ(0, ksft_threads_gone(SUBMIT_THREADS, 30000));
	unlocked(_metadata, self);
	EXPECT_EQ(0, submit_threads(&nvcsw));

	/*
	 * Writes only: fio's verify pass reads, and a read pass longer than
	 * the idle time (a slow host) would have the thread stopped and a
	 * new one counted.  --verify_only below checks what was written.
	 */
	EXPECT_EQ(0, sh("%s --loops=2 --do_verify=0", fio));
	EXPECT_EQ(1, submit_threads(&nvcsw));
	TH_LOG("brd: the submit thread slept %ld times", nvcsw);
	EXPECT_GE(nvcsw, 8);
	EXPECT_EQ(0, ksft_threads_gone(SUBMIT_THREADS, 30000));
	EXPECT_TRUE(state_is("encrypted"));

	/* Removed while its thread runs. */
	EXPECT_EQ(0, sh("%s --verify_only=1", fio));
	EXPECT_EQ(0, sh("%s --loops=1", fio));
	EXPECT_EQ(1, submit_threads(&nvcsw));
	EXPECT_EQ(0, sh("dmsetup remove " DMNAME));
	EXPECT_EQ(0, submit_threads(&nvcsw));

	/* Stacked: the top one's thread submits into the bottom one's map. */
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	ASSERT_EQ(0, sh("dmsetup rename " DMNAME " veil_low"));
	ASSERT_EQ(0, format_dev("/dev/mapper/veil_low", kid_hex, 512, NULL));
	snprintf(table, sizeof(table), "0 %llu veil /dev/mapper/veil_low",
		 (self->data - 2 * AREA) & ~7ULL);
	ASSERT_EQ(0, dm_create(table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	EXPECT_EQ(0, sh("%s --loops=2", fio));
	EXPECT_EQ(2, submit_threads(&nvcsw));
	EXPECT_EQ(0, sh("%s --verify_only=1 --iodepth=1", fio));
	EXPECT_EQ(0, sh("dmsetup remove " DMNAME));
	EXPECT_EQ(0, sh("dmsetup remove veil_low"));
	EXPECT_EQ(0, submit_threads(&nvcsw));

	/* Request-based below: no thread. */
	nullb_map(_metadata, 2);
	EXPECT_EQ(0, sh("%s --size=64M", fio));
	EXPECT_EQ(0, submit_threads(&nvcsw));
	EXPECT_EQ(0, sh("dmsetup remove " DMNAME));
	sh("rmmod null_blk 2>/dev/null");
}

/* ------------------------------------------- splitting large I/O --- */

#define WQ_CPUMASK	"/sys/devices/virtual/workqueue/cpumask"

/* A child spinning at real-time priority on CPU @cpu until killed. */
static pid_t rt_hog(int cpu)
{
	struct sched_param sp = { .sched_priority = 1 };
	cpu_set_t set;
	pid_t pid = fork();

	if (pid)
		return pid;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) ||
	    sched_setscheduler(0, SCHED_FIFO, &sp))
		_exit(1);
	for (;;)
		;
}

/* An I/O that took longer waited for the slow CPU, not for the host. */
#define LONE_LONG_NS	100000000

/*
 * Lone 1 MiB reads or writes of DMDEV from CPU 0 for @secs s: their rate
 * in KiB/s, how many there were, and how many of them took longer than
 * LONE_LONG_NS.  0, or -1.
 */
static int lone_io(bool write, int secs, long *kibs, long *ios, long *waited)
{
	char out[128];

	/* terse v3: the rate is field 7 for reads, 48 for writes */
	if (sh_out(out, sizeof(out), "fio --name=l --filename=" DMDEV
		   " --direct=1 --ioengine=psync --bs=1M --rw=%s --size=24M"
		   " --runtime=%d --time_based --cpus_allowed=0"
		   " --write_lat_log=/tmp/lone --log_avg_msec=0"
		   " --minimal --terse-version=3 2>/dev/null"
		   " | awk -F';' '{ print $%d }'", write ? "write" : "read",
		   secs, write ? 48 : 7) ||
	    sscanf(out, "%ld", kibs) != 1 || *kibs <= 0)
		return -1;
	/* one line per I/O: time, latency in ns, direction, size, offset */
	if (sh_out(out, sizeof(out), "awk -F', ' '{ n++; if ($2 > %d) l++ }"
		   " END { print n + 0, l + 0 }' /tmp/lone_clat.1.log",
		   LONE_LONG_NS) ||
	    sscanf(out, "%ld %ld", ios, waited) != 2 || *ios <= 0)
		return -1;
	sh("rm -f /tmp/lone_*.log");
	return 0;
}

/*
 * A large read or write with nothing else of the device in flight is split
 * over the CPUs while that is faster than one CPU alone, and only then.
 * Here the other CPU is made slow: it runs a real-time spinner, and every
 * unbound worker, so a worker there runs only when the spinner is
 * throttled, up to most of a second later.  Always split, about one lone
 * I/O in five waits that long (those that come while the spinner is
 * throttled pass), and the rate falls to a fourteenth or less.  The device
 * instead finds one CPU faster and keeps to it, and splits only one I/O
 * in 16, to see whether splitting pays again.  Even that one waits for no
 * worker that has not begun its piece: the submitter takes the piece back
 * once its own is done.  So an I/O waits for the slow CPU only if a worker
 * began a piece there just before the spinner took the CPU back: fewer
 * than one in 30 takes over LONE_LONG_NS (0 to 2 of 217 to 487 in runs
 * here; 7 of 84 writes and 7 of 97 reads while split I/O waited for its
 * workers).  A host busy elsewhere slows every I/O a little, which this
 * count leaves out where a bound on the mean would not.
 */
TEST_F_TIMEOUT(dm, split_only_where_it_pays, 180)
{
	char mask[64], rt[32];
	int write;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "one CPU: nothing is split");
	if (sh("command -v fio >/dev/null"))
		SKIP(return, "no fio in the guest");
	/* Without throttling a spinner would keep the CPU for ever. */
	if (sh_out(rt, sizeof(rt), "cat /proc/sys/kernel/sched_rt_runtime_us") ||
	    atol(rt) < 0 || atol(rt) > 950000)
		SKIP(return, "real-time tasks are not throttled");
	ASSERT_EQ(0, sh_out(mask, sizeof(mask), "cat " WQ_CPUMASK));
	mask[strcspn(mask, "\n")] = '\0';
	unlocked(_metadata, self);

	for (write = 1; write >= 0; write--) {
		long quiet, quiet_ios, quiet_waited, slow, ios, waited;
		pid_t hog;
		int r;

		ASSERT_EQ(0, lone_io(write, 3, &quiet, &quiet_ios, &quiet_waited));
		ASSERT_EQ(0, sh("echo 2 > " WQ_CPUMASK));
		hog = rt_hog(1);
		ASSERT_GT(hog, 0);
		r = lone_io(write, 6, &slow, &ios, &waited);
		kill(hog, SIGKILL);
		waitpid(hog, NULL, 0);
		ASSERT_EQ(0, sh("echo %s > " WQ_CPUMASK, mask));
		ASSERT_EQ(0, r);
		/* the quiet phase's count is the host's own share of waits */
		TH_LOG("lone 1 MiB %s over %d ms: %ld KiB/s, %ld of %ld; with CPU 1 slow %ld KiB/s, %ld of %ld",
		       write ? "writes" : "reads", LONE_LONG_NS / 1000000,
		       quiet, quiet_waited, quiet_ios, slow, waited, ios);
		EXPECT_GT(slow * 10, quiet);
		EXPECT_LT(waited * 30, ios);
	}
	EXPECT_EQ(0, sh("fio --name=v --filename=" DMDEV " --direct=1"
			" --bs=1M --rw=write --size=24M --verify=crc32c"
			" --verify_fatal=1 >/dev/null 2>&1"));
	EXPECT_TRUE(state_is("encrypted"));
}

/* ------------------------------------------- key arrival, memory tight --- */

#define CG		"/sys/fs/cgroup"
#define CG_KEYD		CG "/veil_keyd_t"
#define KEYD_MAX	(12 << 20)	/* memory.max of the key daemon */
#define HOG_LEAVE_KB	(96 * 1024)	/* the hog stops at this MemAvailable */

/* Kernel log lines that must not appear while a key arrives. */
#define BAD_LOG	"Out of memory|oom-kill|blocked for more than|WARNING|BUG|" \
		"failed after waiting|no key \\("

/* A cgroup v2 with the memory controller for the key daemon: 0, or -1. */
static int keyd_cgroup(void)
{
	if (access(CG "/cgroup.controllers", F_OK) &&
	    sh("mount -t cgroup2 none " CG " 2>/dev/null"))
		return -1;
	if (sh("grep -qw memory " CG "/cgroup.controllers"))
		return -1;
	if (sh("grep -qw memory " CG "/cgroup.subtree_control || "
	       "echo +memory > " CG "/cgroup.subtree_control"))
		return -1;
	rmdir(CG_KEYD);
	if (mkdir(CG_KEYD, 0755))
		return -1;
	return sh("echo %d > " CG_KEYD "/memory.max", KEYD_MAX);
}

/* A counter ("max", "oom_kill") from the daemon cgroup's memory.events. */
static long keyd_event(const char *name)
{
	char out[64];

	if (sh_out(out, sizeof(out), "awk '$1 == \"%s\" { print $2 }' "
		   CG_KEYD "/memory.events", name))
		return -1;
	return *out ? atol(out) : -1;
}

/* How many kernel log lines match the extended regex @re. */
static int dmesg_count_re(const char *re)
{
	char out[32];

	if (sh_out(out, sizeof(out), "dmesg | grep -c -E '%s'", re) > 1)
		return -1;
	return atoi(out);
}

static long mem_available_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Memory pressure for the whole guest: a child that allocates and touches
 * memory until MemAvailable falls to HOG_LEAVE_KB, writes one byte on
 * @ready, then holds it (the first the OOM killer would take) until killed
 * or for 120 s at most.
 */
static pid_t hog(int ready)
{
	pid_t pid = fork();

	if (!pid) {
		const size_t chunk = 4 << 20;
		int i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sh("echo 1000 > /proc/%d/oom_score_adj", getpid());
		for (i = 0; i < 1024 && mem_available_kb() > HOG_LEAVE_KB; i++) {
			char *p = malloc(chunk);

			if (!p)
				break;
			memset(p, 0x5a, chunk);
		}
		if (write(ready, "h", 1) != 1)
			_exit(1);
		sleep(120);
		_exit(0);
	}
	return pid;
}

/*
 * The key daemon, in the memory cgroup (if @cg): fills the cgroup to its
 * memory.max with anonymous memory and page cache (buffered reads of the
 * RAM disk), says so on @ready, waits for a byte on @go, then registers,
 * takes the pending request and pushes the key.  Exit status 0 if the push
 * was accepted.
 */
static pid_t memcg_keyd(bool cg, int ready, int go)
{
	pid_t pid = fork();

	if (!pid) {
		char buf[65536], c;
		struct vnl_kreq r;
		struct vnl v;
		char *anon;
		int fd, i;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (cg && sh("echo %d > " CG_KEYD "/cgroup.procs", getpid()))
			_exit(2);
		anon = malloc(KEYD_MAX / 2);
		if (!anon)
			_exit(3);
		memset(anon, 0xa5, KEYD_MAX / 2);
		fd = open(RAM, O_RDONLY);
		for (i = 0; fd >= 0 && i < 2 * KEYD_MAX / (int)sizeof(buf); i++)
			if (read(fd, buf, sizeof(buf)) != sizeof(buf))
				break;
		if (fd >= 0)
			close(fd);
		if (write(ready, "k", 1) != 1 || read(go, &c, 1) != 1)
			_exit(4);
		if (vnl_open(&v) < 0 || vnl_register(&v, VEIL_ABI_VERSION))
			_exit(5);
		if (!take_req(&v, &r, 10000))
			_exit(6);
		if (vnl_push(&v, r.id, r.key_id, r.key_id_len, key, 64, NULL))
			_exit(7);
		/* Stay registered until the parent has seen the device unlock. */
		if (read(go, &c, 1) != 1)
			_exit(9);
		vnl_close(&v);
		_exit(anon[KEYD_MAX / 4] == (char)0xa5 ? 0 : 8);
	}
	return pid;
}

/* In a child: buffered writes of @len at @off, then fsync: exit -errno. */
static pid_t bg_buffered_write(unsigned long long off, size_t len,
			       uint32_t seed)
{
	pid_t pid = fork();

	if (!pid) {
		char *want = malloc(len);
		int fd, r = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pattern(want, len, off, seed);
		fd = open(DMDEV, O_WRONLY);
		if (fd < 0)
			_exit(errno);
		if (pwrite(fd, want, len, off) != (ssize_t)len)
			r = errno ? errno : EIO;
		if (!r && fsync(fd))
			r = errno;
		close(fd);
		_exit(r);
	}
	return pid;
}

/*
 * The key arrives while memory is tight: writes are held (O_DIRECT, and
 * page-cache writeback behind an fsync), the guest is under memory
 * pressure from a hog, and the key daemon runs in a memory cgroup filled
 * to its memory.max.  The device unlocks, every held write completes well
 * inside key_timeout and reads back, nothing is OOM-killed and the kernel
 * log stays clean.
 */
TEST_F_TIMEOUT(dm, key_push_memory_tight, 180)
{
	const int timeout_s = 60;	/* the cap: held writes must not need it */
	const unsigned long long doff[4] = { 0, 1 << 20, 2 << 20, 3 << 20 };
	const unsigned long long boff = 8 << 20;
	const size_t dlen = 256 << 10, blen = 8 << 20;
	pid_t w[4], bw, h, kd;
	int rp[2], gp[2], i, bad_before;
	char table[256], *buf, *want, c;
	bool cg;
	long ev_max;
	struct vstatus s;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	cg = !keyd_cgroup();
	if (!cg)
		TH_LOG("no cgroup v2 memory controller: the hog alone makes memory tight");
	bad_before = dmesg_count_re(BAD_LOG);
	ASSERT_LE(0, bad_before);
	ASSERT_EQ(0, pipe(rp));
	ASSERT_EQ(0, pipe(gp));

	/* no key daemon yet: the device posts its request and waits */
	snprintf(table, sizeof(table), "%s 1 key_timeout:%d", self->table,
		 timeout_s);
	ASSERT_EQ(0, dm_create(table));
	ASSERT_TRUE(state_is("waiting-for-key"));

	h = hog(rp[1]);
	ASSERT_LT(0, h);
	ASSERT_EQ(1, read(rp[0], &c, 1));
	kd = memcg_keyd(cg, rp[1], gp[0]);
	ASSERT_LT(0, kd);
	ASSERT_EQ(1, read(rp[0], &c, 1));
	ev_max = cg ? keyd_event("max") : 0;
	TH_LOG("MemAvailable %ld KiB with the hog; daemon cgroup hit memory.max %ld times",
	       mem_available_kb(), ev_max);
	if (cg)
		EXPECT_LT(0, ev_max) TH_LOG("the daemon's cgroup never reached memory.max");

	for (i = 0; i < 4; i++)
		w[i] = bg_io(true, doff[i], dlen, 40 + i);
	bw = bg_buffered_write(boff, blen, 50);
	for (i = 0; i < 100 && (dm_status(&s) || s.held < 4); i++)
		usleep(100000);
	EXPECT_LE(4U, s.held);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(1, bg_wait(w[i], 0));		/* held */
	EXPECT_EQ(1, bg_wait(bw, 0));

	TH_LOG("%u bio(s) held", s.held);
	ASSERT_EQ(1, write(gp[1], "g", 1));	/* the key now */
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, bg_wait(w[i], timeout_s * 1000 / 3));
	EXPECT_EQ(0, bg_wait(bw, timeout_s * 1000 / 3));
	EXPECT_TRUE(wait_state("encrypted", 1000));
	ASSERT_EQ(1, write(gp[1], "d", 1));	/* the daemon may go */
	EXPECT_EQ(0, bg_wait(kd, 10000));
	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	if (cg) {
		EXPECT_EQ(0, keyd_event("oom_kill"));
		rmdir(CG_KEYD);
	}

	/* everything written reads back, from the LU, not a cache */
	sh("echo 3 > /proc/sys/vm/drop_caches");
	buf = malloc(blen);
	want = malloc(blen);
	ASSERT_TRUE(buf && want);
	for (i = 0; i < 4; i++) {
		pattern(want, dlen, doff[i], 40 + i);
		ASSERT_EQ(0, dio(DMDEV, false, doff[i], buf, dlen));
		EXPECT_EQ(0, memcmp(buf, want, dlen)) TH_LOG("O_DIRECT write %d", i);
	}
	pattern(want, blen, boff, 50);
	ASSERT_EQ(0, dio(DMDEV, false, boff, buf, blen));
	EXPECT_EQ(0, memcmp(buf, want, blen)) TH_LOG("buffered write");
	ASSERT_EQ(0, dio(RAM, false, AREA * 512 + boff, buf, 4096));
	EXPECT_NE(0, memcmp(buf, want, 64));	/* ciphertext underneath */
	EXPECT_EQ(bad_before, dmesg_count_re(BAD_LOG));
	free(buf);
	free(want);
	close(rp[0]);
	close(rp[1]);
	close(gp[0]);
	close(gp[1]);
}

/* ------------------------------------------------------ re-encryption --- */

/* "dmsetup message ... reencrypt_status": the answer, or "" on failure. */
static void reenc_status(char *out, size_t n)
{
	if (sh_out(out, n, "dmsetup message " DMNAME " 0 reencrypt_status"))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* One step as veilctl takes it, without the journal: 0 or the failing step. */
static int reenc_step(unsigned long long start, unsigned long long len)
{
	char m[96];

	snprintf(m, sizeof(m), "reencrypt_lock %llu %llu", start, len);
	if (dm_msg(m))
		return 1;
	if (dm_msg("reencrypt_convert"))
		return 2;
	snprintf(m, sizeof(m), "reencrypt_commit %llu", start + len);
	if (dm_msg(m))
		return 3;
	return 0;
}

/* Read the data area through stock dm-crypt with key k: does it hold want? */
static bool crypt_reads(FIXTURE_DATA(dm) * self, const uint8_t *k,
			unsigned long long off, const void *want, size_t len)
{
	char khex[2 * sizeof(key) + 1], table[512];
	char *buf = malloc(len);
	bool same;

	vnl_hex(k, 64, khex);
	snprintf(table, sizeof(table),
		 "0 %llu crypt aes-xts-plain64 %s 0 " RAM " %llu", self->data,
		 khex, AREA);
	if (sh("echo '%s' | dmsetup create veil_crypt_t", table)) {
		free(buf);
		return false;
	}
	same = !dio("/dev/mapper/veil_crypt_t", false, off, buf, len) &&
	       !memcmp(buf, want, len);
	sh("dmsetup remove veil_crypt_t");
	free(buf);
	return same;
}

/* Format with kid, write a pattern, then start re-encrypting to kid2. */
static void reenc_start(struct __test_metadata *_metadata,
			FIXTURE_DATA(dm) * self, void *want, size_t len)
{
	char st[256];

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	self->server = key_server2(key, key2, 64);
	ASSERT_GT(self->server, 0);
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	pattern(want, len, 0, 0xfeed);
	ASSERT_EQ(0, dio(DMDEV, true, 0, want, len));
	reenc_status(st, sizeof(st));
	EXPECT_STREQ("none", st);

	ASSERT_EQ(0, mdtool("set-reencrypt " RAM " ffeeddccbbaa99887766554433221100 00112233445566778899aabbccddeeff 0"));
	ASSERT_EQ(0, dm_msg("update"));
	ASSERT_TRUE(wait_state("encrypted", 10000));
	reenc_status(st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "boundary=0 "));
}

/*
 * The whole data area moves from the old key to the new one window by
 * window while the device stays in use; at every boundary the data reads
 * back, the ciphertext below the boundary is the new key's and above it
 * the old key's (checked with stock dm-crypt), and the end of the
 * re-encryption keeps the key without asking the daemon.
 */
TEST_F_TIMEOUT(dm, reencrypt_online, 300)
{
	const size_t len = 4 << 20;
	char *want = malloc(len), *want2 = malloc(len), *buf = malloc(len);
	unsigned long long b, win = 1024, mid;
	char st[256], m[96];
	struct vnl_kreq r;
	struct vnl v;
	pid_t io;

	ASSERT_TRUE(want && want2 && buf);
	reenc_start(_metadata, self, want, len);
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));

	/* Half the pattern: the boundary then runs through it. */
	mid = len / 512 / 2 + 8;	/* not on a window edge */
	for (b = 0; b + win <= mid; b += win)
		ASSERT_EQ(0, reenc_step(b, win));
	ASSERT_EQ(0, reenc_step(b, mid - b));
	reenc_status(st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "window=- converted=0"));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	EXPECT_TRUE(crypt_reads(self, key2, 0, want, mid * 512));
	EXPECT_FALSE(crypt_reads(self, key, 0, want, 4096));
	EXPECT_TRUE(crypt_reads(self, key, mid * 512, want + mid * 512,
				len - mid * 512));
	/* A write straddling the boundary, read back by both halves. */
	pattern(want + (mid - 8) * 512, 8192, (mid - 8) * 512, 0xabcd);
	ASSERT_EQ(0, dio(DMDEV, true, (mid - 8) * 512,
			 want + (mid - 8) * 512, 8192));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	EXPECT_TRUE(crypt_reads(self, key2, (mid - 8) * 512,
				want + (mid - 8) * 512, 4096));
	EXPECT_TRUE(crypt_reads(self, key, mid * 512, want + mid * 512,
				4096));

	/* I/O into a locked window waits for the commit. */
	snprintf(m, sizeof(m), "reencrypt_lock %llu %llu", mid, win);
	ASSERT_EQ(0, dm_msg(m));
	io = bg_io(true, (mid + 96) * 512, 65536, 0x77);
	EXPECT_EQ(1, bg_wait(io, 500));
	ASSERT_EQ(0, dm_msg("reencrypt_convert"));
	EXPECT_EQ(1, bg_wait(io, 200));
	snprintf(m, sizeof(m), "reencrypt_commit %llu", mid + win);
	ASSERT_EQ(0, dm_msg(m));
	EXPECT_EQ(0, bg_wait(io, 10000));
	pattern(want + (mid + 96) * 512, 65536, (mid + 96) * 512, 0x77);

	/* The rest of the data area, with a writer going on beyond it. */
	io = bg_io(true, 2 * len, len, 0x99);
	for (b = mid + win; b < self->data; b += win) {
		unsigned long long n = self->data - b < win ?
				       self->data - b : win;

		ASSERT_EQ(0, reenc_step(b, n));
	}
	EXPECT_EQ(0, bg_wait(io, 60000));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	EXPECT_TRUE(crypt_reads(self, key2, 0, want, len));
	pattern(want2, len, 2 * len, 0x99);
	ASSERT_EQ(0, dio(DMDEV, false, 2 * len, buf, len));
	EXPECT_EQ(0, memcmp(buf, want2, len));
	EXPECT_TRUE(crypt_reads(self, key2, 2 * len, want2, len));

	/* Finished: the key stays, nothing is asked again. */
	stop_server(&self->server);
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, mdtool("set-reencrypt " RAM " ffeeddccbbaa99887766554433221100 none"));
	ASSERT_EQ(0, dm_msg("update"));
	EXPECT_TRUE(state_is("encrypted"));
	EXPECT_FALSE(take_req(&v, &r, 500));
	reenc_status(st, sizeof(st));
	EXPECT_STREQ("none", st);
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	vnl_close(&v);
	free(want);
	free(want2);
	free(buf);
}

/* Every message out of order or out of range is refused, changing nothing. */
TEST_F(dm, reencrypt_messages_refused)
{
	const size_t len = 1 << 20;
	char *want = malloc(len), *buf = malloc(len), st[256];

	ASSERT_TRUE(want && buf);
	unlocked(_metadata, self);
	/* not re-encrypting */
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 8"));
	stop_server(&self->server);
	dm_remove();

	reenc_start(_metadata, self, want, len);
	EXPECT_NE(0, dm_msg("reencrypt_lock 8 8"));	/* not at the boundary */
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 0"));
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 1025"));	/* beyond the journal */
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 -8"));
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 0x8"));
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 18446744073709551615"));
	EXPECT_NE(0, dm_msg("reencrypt_convert"));	/* nothing locked */
	EXPECT_NE(0, dm_msg("reencrypt_commit 8"));
	EXPECT_NE(0, dm_msg("reencrypt_unlock"));
	EXPECT_NE(0, dm_msg("reencrypt_bogus"));

	ASSERT_EQ(0, dm_msg("reencrypt_lock 0 16"));
	EXPECT_NE(0, dm_msg("reencrypt_lock 0 16"));	/* one at a time */
	EXPECT_NE(0, dm_msg("update"));			/* busy */
	/* no other table of the LU while a window is locked */
	EXPECT_NE(0, sh("echo '%s' | dmsetup reload " DMNAME " 2>/dev/null",
			self->table));
	EXPECT_NE(0, dm_msg("reencrypt_commit 16"));	/* not converted */
	EXPECT_EQ(0, dm_msg("reencrypt_unlock"));	/* give it up */
	reenc_status(st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "boundary=0 "));

	ASSERT_EQ(0, dm_msg("reencrypt_lock 0 16"));
	ASSERT_EQ(0, dm_msg("reencrypt_convert"));
	EXPECT_NE(0, dm_msg("reencrypt_convert"));	/* never twice */
	EXPECT_NE(0, dm_msg("reencrypt_unlock"));	/* only commit now */
	EXPECT_NE(0, dm_msg("reencrypt_commit 8"));
	/* veilctl writes the boundary to the metadata before the commit */
	ASSERT_EQ(0, mdtool("set-reencrypt " RAM " ffeeddccbbaa99887766554433221100 00112233445566778899aabbccddeeff 16"));
	EXPECT_EQ(0, dm_msg("reencrypt_commit 16"));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	/* a reload now takes both keys over, and the boundary */
	ASSERT_EQ(0, sh("echo '%s' | dmsetup reload " DMNAME
			" && dmsetup resume " DMNAME, self->table));
	EXPECT_TRUE(state_is("encrypted"));
	ASSERT_EQ(0, dio(DMDEV, false, 0, buf, len));
	EXPECT_EQ(0, memcmp(buf, want, len));
	free(want);
	free(buf);
}

/*
 * A journaled window must be copied back before the LU is used: the
 * kernel refuses such metadata.  With only the new key authorised the
 * device does not unlock, and says which key is missing.
 */
TEST_F(dm, reencrypt_journaled_and_old_key_missing)
{
	struct vstatus s;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, mdtool("set-reencrypt " RAM " ffeeddccbbaa99887766554433221100 00112233445566778899aabbccddeeff 64 16 0x1234"));
	EXPECT_NE(0, dm_create(self->table));
	EXPECT_LT(0, dmesg_count("journaled"));
	dm_remove();

	ASSERT_EQ(0, mdtool("set-reencrypt " RAM " ffeeddccbbaa99887766554433221100 00112233445566778899aabbccddeeff 64"));
	self->server = key_server2(NULL, key2, 64);	/* new key only */
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("no-key", 10000));
	ASSERT_EQ(0, dm_status(&s));
	EXPECT_NE(NULL, strstr(s.reason, "old key"));
	stop_server(&self->server);
	dm_remove();
	self->server = key_server2(key, NULL, 64);	/* old key only */
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(wait_state("no-key", 10000));
}

/* Take the two requests of a re-encrypting device: old key, new key. */
static bool take_pair(struct vnl *v, struct vnl_kreq *old,
		      struct vnl_kreq *new)
{
	struct vnl_kreq r[2];
	int i;

	vnl_wait_reqs(v, 2, 5000);
	if (!vnl_take(v, &r[0]) || !vnl_take(v, &r[1]))
		return false;
	i = is_key_id(&r[0], kid2);
	*old = r[i];
	*new = r[!i];
	return is_key_id(old, kid) && is_key_id(new, kid2);
}

/*
 * Re-encrypting, the device needs both keys.  When the old key's lookup
 * fails first the device is no-key, and the new key arriving after that is
 * dropped, not kept for later: after "retry" the old key alone does not
 * unlock the device; both keys, asked for again, do.
 */
TEST_F(dm, reencrypt_key_after_partner_failed_is_dropped)
{
	struct vnl_kreq o, n;
	char buf[4096];
	struct vnl v;
	int waiting;

	ASSERT_EQ(0, format(kid_hex, 512, NULL));
	ASSERT_EQ(0, mdtool("set-reencrypt " RAM " ffeeddccbbaa99887766554433221100 00112233445566778899aabbccddeeff 64"));
	ASSERT_EQ(0, daemon_open(&v));
	ASSERT_EQ(0, dm_create(self->table));
	ASSERT_TRUE(take_pair(&v, &o, &n));
	waiting = dmesg_count("key received, waiting for the");
	ASSERT_EQ(0, vnl_fail(&v, o.id, o.key_id, o.key_id_len, EKEYREJECTED,
			      "host not authorised"));
	ASSERT_TRUE(wait_state("no-key", 5000));
	ASSERT_EQ(0, vnl_push(&v, n.id, n.key_id, n.key_id_len, key2, 64,
			      NULL));
	usleep(500 * 1000);	/* answers are delivered from a workqueue */
	EXPECT_TRUE(state_is("no-key"));
	EXPECT_EQ(waiting, dmesg_count("key received, waiting for the"));

	EXPECT_EQ(0, dm_msg("retry"));
	ASSERT_TRUE(take_pair(&v, &o, &n));
	ASSERT_EQ(0, vnl_push(&v, o.id, o.key_id, o.key_id_len, key, 64,
			      NULL));
	usleep(500 * 1000);
	EXPECT_TRUE(state_is("waiting-for-key"));
	ASSERT_EQ(0, vnl_push(&v, n.id, n.key_id, n.key_id_len, key2, 64,
			      NULL));
	EXPECT_TRUE(wait_state("encrypted", 5000));
	EXPECT_EQ(0, dio(DMDEV, false, 0, buf, sizeof(buf)));
	vnl_close(&v);
}

TEST_HARNESS_MAIN
