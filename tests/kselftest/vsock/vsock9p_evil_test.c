// SPDX-License-Identifier: GPL-2.0
/*
 * 9pnet_vsock against a hostile server: a small AF_VSOCK listener in this
 * test reads the client's Tversion and answers with a broken frame.  Every
 * such mount must fail with an error, in bounded time, leaving a line in
 * the kernel log that says what was wrong, and no oops (the runner fails
 * the whole run on any kernel splat).
 */
#include <linux/types.h>

#include "kselftest_harness.h"
#include "vsock9p_util.h"

#define MNT	"/mnt/v9t-evil"
#define PORT	5650

#define P9_RVERSION	101
#define P9_TATTACH	104
#define P9_RATTACH	105
#define P9_NOTAG	0xffff

enum evil {
	EVIL_GARBAGE,		/* ASCII where a header should be */
	EVIL_SIZE_HUGE,		/* size 0xffffffff */
	EVIL_SIZE_MSIZE_PLUS_1,	/* one byte more than msize */
	EVIL_SIZE_TINY,		/* size 6: less than a header */
	EVIL_SIZE_ZERO,
	EVIL_WRONG_TAG,		/* a valid Rversion with another tag */
	EVIL_WRONG_TYPE,	/* Rattach in answer to Tversion */
	EVIL_TRUNCATED,		/* header says 100, 20 bytes then close */
	EVIL_CLOSE,		/* close without a word */
	EVIL_SILENT,		/* keep the connection, never answer */
	EVIL_BAD_STRING,	/* Rversion whose string runs past the frame */
	EVIL_ATTACH_HUGE,	/* good Rversion, then an oversized Rattach */
};

FIXTURE(evil) {
	pid_t server;
};

FIXTURE_VARIANT(evil) {
	enum evil what;
	const char *log;	/* expected kernel log text, or NULL */
	double min_secs;	/* the mount should take at least this long */
};

#define EVIL(name, w, text, secs)					\
	FIXTURE_VARIANT_ADD(evil, name) {				\
		.what = w, .log = text, .min_secs = secs,		\
	}

EVIL(garbage, EVIL_GARBAGE, "outside 7..65536 (msize)", 0);
EVIL(size_huge, EVIL_SIZE_HUGE, "frame of 4294967295 bytes", 0);
EVIL(size_msize_plus_1, EVIL_SIZE_MSIZE_PLUS_1, "frame of 65537 bytes", 0);
EVIL(size_tiny, EVIL_SIZE_TINY, "frame of 6 bytes", 0);
EVIL(size_zero, EVIL_SIZE_ZERO, "frame of 0 bytes", 0);
EVIL(wrong_tag, EVIL_WRONG_TAG, "tag 4660, which matches no request", 0);
EVIL(wrong_type, EVIL_WRONG_TYPE, "with type 105", 0);
EVIL(truncated, EVIL_TRUNCATED, "connection lost", 0);
EVIL(close, EVIL_CLOSE, "connection lost", 0);
EVIL(silent, EVIL_SILENT, "no reply from the server within", 10);
EVIL(bad_string, EVIL_BAD_STRING, NULL, 0);
EVIL(attach_huge, EVIL_ATTACH_HUGE, "frame of 16777216 bytes", 0);

static void put_le32(unsigned char *p, __u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void put_le16(unsigned char *p, __u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

/* Read one 9P frame; returns its type and tag, -1 on error. */
static int read_frame(int fd, int *tag)
{
	unsigned char hdr[7], body[8192];
	__u32 size;

	if (v9t_read_all(fd, hdr, 7))
		return -1;
	size = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (__u32)hdr[3] << 24;
	if (size < 7 || size - 7 > sizeof(body) || v9t_read_all(fd, body, size - 7))
		return -1;
	*tag = hdr[5] | hdr[6] << 8;
	return hdr[4];
}

static int send_rversion(int fd, __u16 tag)
{
	unsigned char f[7 + 4 + 2 + 8];

	put_le32(f, sizeof(f));
	f[4] = P9_RVERSION;
	put_le16(f + 5, tag);
	put_le32(f + 7, 65536);
	put_le16(f + 11, 8);
	memcpy(f + 13, "9P2000.L", 8);
	return v9t_write_all(fd, f, sizeof(f));
}

static void serve_one(int fd, enum evil what)
{
	unsigned char f[64] = {};
	int tag;

	if (read_frame(fd, &tag) < 0)
		return;
	switch (what) {
	case EVIL_GARBAGE:
		v9t_write_all(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
		break;
	case EVIL_SIZE_HUGE:
	case EVIL_SIZE_MSIZE_PLUS_1:
	case EVIL_SIZE_TINY:
	case EVIL_SIZE_ZERO:
		put_le32(f, what == EVIL_SIZE_HUGE ? 0xffffffff :
			    what == EVIL_SIZE_MSIZE_PLUS_1 ? 65537 :
			    what == EVIL_SIZE_TINY ? 6 : 0);
		f[4] = P9_RVERSION;
		put_le16(f + 5, tag);
		v9t_write_all(fd, f, sizeof(f));
		break;
	case EVIL_WRONG_TAG:
		send_rversion(fd, 0x1234);
		break;
	case EVIL_WRONG_TYPE:
		put_le32(f, 7 + 13);
		f[4] = P9_RATTACH;
		put_le16(f + 5, tag);
		v9t_write_all(fd, f, 7 + 13);
		break;
	case EVIL_TRUNCATED:
		put_le32(f, 100);
		f[4] = P9_RVERSION;
		put_le16(f + 5, tag);
		v9t_write_all(fd, f, 20);
		break;
	case EVIL_CLOSE:
		break;
	case EVIL_SILENT:
		sleep(60);
		break;
	case EVIL_BAD_STRING:
		put_le32(f, 7 + 4 + 2 + 8);
		f[4] = P9_RVERSION;
		put_le16(f + 5, tag);
		put_le32(f + 7, 65536);
		put_le16(f + 11, 1000);	/* but only 8 bytes follow */
		memcpy(f + 13, "9P2000.L", 8);
		v9t_write_all(fd, f, 7 + 4 + 2 + 8);
		sleep(2);
		break;
	case EVIL_ATTACH_HUGE:
		if (send_rversion(fd, tag))
			return;
		if (read_frame(fd, &tag) != P9_TATTACH)
			return;
		put_le32(f, 1 << 24);
		f[4] = P9_RATTACH;
		put_le16(f + 5, tag);
		v9t_write_all(fd, f, sizeof(f));
		sleep(2);
		break;
	}
}

static pid_t start_evil(enum evil what)
{
	int lfd = v9t_vsock_listen(PORT);
	pid_t pid;

	if (lfd < 0)
		return -1;
	pid = fork();
	if (pid) {
		close(lfd);
		return pid;
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			_exit(1);
		serve_one(fd, what);
		close(fd);
	}
}

FIXTURE_SETUP(evil)
{
	if (getuid())
		SKIP(return, "needs root");
	ASSERT_EQ(0, v9t_run("modprobe 9pnet_vsock"));
	self->server = start_evil(variant->what);
	ASSERT_LT(0, self->server);
	v9t_klog_clear();
}

FIXTURE_TEARDOWN(evil)
{
	if (v9t_mounted(MNT))
		umount2(MNT, MNT_DETACH);
	v9t_stop(&self->server);
}

TEST_F_TIMEOUT(evil, mount_fails_cleanly, 60)
{
	char opts[256];
	double t0, took;
	int err;

	v9t_run("mkdir -p " MNT);
	snprintf(opts, sizeof(opts),
		 "trans=vsock,port=%d,version=9p2000.L,msize=65536,uname=root",
		 PORT);
	t0 = v9t_now();
	err = mount("1", MNT, "9p", 0, opts) ? errno : 0;
	took = v9t_now() - t0;
	TH_LOG("mount: %s after %.1f s", err ? strerror(err) : "succeeded",
	       took);
	ASSERT_NE(0, err);
	ASSERT_FALSE(v9t_mounted(MNT));
	ASSERT_GT(30.0, took);
	ASSERT_LE(variant->min_secs, took);
	if (variant->log) {
		ASSERT_TRUE(v9t_klog_has(variant->log));
	}

	/* Nothing was left behind: the next attempt fails the same way. */
	if (variant->what != EVIL_SILENT) {
		v9t_klog_clear();
		ASSERT_NE(0, mount("1", MNT, "9p", 0, opts));
		if (variant->log) {
			ASSERT_TRUE(v9t_klog_has(variant->log));
		}
	}
}

TEST_HARNESS_MAIN
