// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit test of veilctl's re-encryption journal (tools/veilctl/reenc.c) on
 * an image file: window read/write, the journal and its CRC-32C, recovery
 * (restores the window's bytes and records no window; a bad checksum or a
 * window outside the data area writes nothing; no window is a no-op), and
 * the parsers of dm-veil's reencrypt_status answer and of --rate.  Then the
 * veilctl binary next to it: dmcrypt-table refuses an LU being
 * re-encrypted, and reencrypt's argument checks.
 *
 * Checks that read back the reencrypt property need a codec that encodes
 * it; with one that does not, they are skipped (and say so).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "md_io.h"
#include "tap.h"
#include "veilctl.h"

#define LU	16384ull		/* 8 MiB image */
#define BSTART	64ull			/* the window's first data sector */
#define WIN	32ull			/* the window, sectors */

static char img[4096];

static void skip(const char *why)
{
	printf("ok %d - # SKIP %s\n", ++t_num, why);
	t_skip++;
}

/* The whole image, for "nothing was written" checks. */
static void *snapshot(int fd)
{
	void *p = malloc(LU * 512);

	if (!p || pread(fd, p, LU * 512, 0) != (ssize_t)(LU * 512)) {
		perror("test_reenc: snapshot");
		exit(1);
	}
	return p;
}

static bool same_as(int fd, const void *snap)
{
	void *now = snapshot(fd);
	bool same = !memcmp(now, snap, LU * 512);

	free(now);
	return same;
}

/* Fill data-area sectors [s, s + n) with @v ^ sector number. */
static void fill(int fd, const struct veil_md *md, uint64_t s, uint64_t n,
		 uint8_t v)
{
	uint8_t sec[512];
	uint64_t i;

	for (i = 0; i < n; i++) {
		memset(sec, v ^ (uint8_t)(s + i), sizeof(sec));
		if (pwrite(fd, sec, 512, (off_t)((md->data_offset + s + i) * 512)) != 512) {
			perror("test_reenc: fill");
			exit(1);
		}
	}
}

static bool holds(int fd, const struct veil_md *md, uint64_t s, uint64_t n,
		  uint8_t v)
{
	uint8_t sec[512], want[512];
	uint64_t i;

	for (i = 0; i < n; i++) {
		memset(want, v ^ (uint8_t)(s + i), sizeof(want));
		if (pread(fd, sec, 512, (off_t)((md->data_offset + s + i) * 512)) != 512 ||
		    memcmp(sec, want, sizeof(sec)))
			return false;
	}
	return true;
}

/* The copy in use on the image (NULL if none). */
static struct veil_md_copies copies;
static const struct veil_md *current(int fd)
{
	if (veil_md_read_copies(fd, LU, &copies) || copies.pick < 0)
		return NULL;
	return &copies.md[copies.pick];
}

/* Does this codec carry the reencrypt property through encode/decode? */
static bool codec_has_reencrypt(const struct veil_md *md)
{
	static uint8_t blk[VEIL_MD_BLOCK_SIZE];
	static struct veil_md back;

	return !veil_md_encode(md, blk, sizeof(blk), NULL) &&
	       !veil_md_decode(blk, sizeof(blk), &back, NULL) &&
	       back.reencrypting && back.reenc_boundary == md->reenc_boundary &&
	       back.reenc_window == md->reenc_window &&
	       back.reenc_journal_csum == md->reenc_journal_csum &&
	       back.old_key_id_len == md->old_key_id_len;
}

static void test_parsers(void)
{
	struct vc_reenc_status st;

	check(veil_md_crc32c("123456789", 9) == 0xE3069283,
	      "journal checksum is the standard CRC-32C (check value)");
	check(!vc_parse_reenc_status("none", &st) && !st.active,
	      "status: none");
	check(!vc_parse_reenc_status("none\n", &st) && !st.active,
	      "status: none with a newline");
	check(!vc_parse_reenc_status("boundary=2048 data=26624 window=- converted=0",
				     &st) && st.active && !st.locked &&
	      st.boundary == 2048 && st.data_sectors == 26624 && !st.converted,
	      "status: active, no window");
	check(!vc_parse_reenc_status("boundary=1024 data=26624 window=1024+1024 converted=1\n",
				     &st) && st.locked && st.converted &&
	      st.win_start == 1024 && st.win_len == 1024,
	      "status: a converted window");
	check(vc_parse_reenc_status("boundary=9 data=8 window=- converted=0", &st) == -EINVAL,
	      "status: boundary past the data refused");
	check(vc_parse_reenc_status("boundary=0 data=8 window=4+8 converted=0", &st) == -EINVAL,
	      "status: window past the data refused");
	check(vc_parse_reenc_status("boundary=0 data=8 window=- converted=1", &st) == -EINVAL,
	      "status: converted without a window refused");
	check(vc_parse_reenc_status("boundary=0 data=8 window=0+0 converted=0", &st) == -EINVAL,
	      "status: an empty window refused");
	check(vc_parse_reenc_status("boundary=0 data=8 window=- converted=0 x", &st) == -EINVAL &&
	      vc_parse_reenc_status("nonesuch", &st) == -EINVAL &&
	      vc_parse_reenc_status("", &st) == -EINVAL,
	      "status: trailing or unknown words refused");

	check(vc_parse_rate("1048576") == 1048576, "rate: plain bytes");
	check(vc_parse_rate("512K") == 512 * 1024 && vc_parse_rate("64M") == 64 << 20 &&
	      vc_parse_rate("2G") == 2ll << 30 && vc_parse_rate("10MB/s") == 10 << 20 &&
	      vc_parse_rate("3k") == 3072 && vc_parse_rate("10MiB/s") == 10 << 20,
	      "rate: K, M, G suffixes, optional B and /s");
	check(vc_parse_rate("0") < 0 && vc_parse_rate("") < 0 &&
	      vc_parse_rate("5X") < 0 && vc_parse_rate("-1") < 0 &&
	      vc_parse_rate("M") < 0 && vc_parse_rate("1M/h") < 0 &&
	      vc_parse_rate("1iB") < 0 && vc_parse_rate("1Mi") < 0 &&
	      vc_parse_rate("99999999999999999999") < 0 &&
	      vc_parse_rate("9999999999G") < 0,
	      "rate: zero, junk, negative and overflowing values refused");
}

static void test_journal(int fd, struct veil_md *md)
{
	struct veil_md *m = calloc(1, sizeof(*m));
	const struct veil_md *cur;
	const char *why;
	void *buf, *snap;
	uint64_t seq;
	int r;

	if (!m || posix_memalign(&buf, 4096, WIN * 512))
		exit(1);
	check(vc_reenc_read_window(fd, md, md->data_sectors - 8, 16, buf) == -EINVAL &&
	      vc_reenc_read_window(fd, md, 0, VEIL_MD_JOURNAL_SECTORS + 1, buf) == -EINVAL &&
	      vc_reenc_journal_write(fd, buf, 0) == -EINVAL,
	      "window I/O outside the data area or the journal refused");

	/* old ciphertext 0xA0, journaled; then "converted" to 0x5B */
	fill(fd, md, 0, BSTART + WIN + 8, 0xa0);
	r = vc_reenc_read_window(fd, md, BSTART, WIN, buf);
	check(!r && ((uint8_t *)buf)[0] == (0xa0 ^ BSTART) &&
	      ((uint8_t *)buf)[WIN * 512 - 1] == (uint8_t)(0xa0 ^ (BSTART + WIN - 1)),
	      "read_window reads the data area at data_offset + start");
	check(!vc_reenc_journal_write(fd, buf, WIN),
	      "journal written");
	snap = snapshot(fd);
	check(!memcmp((uint8_t *)snap + VEIL_MD_JOURNAL_OFFSET * 512, buf,
		      WIN * 512),
	      "journal lands at LU sector %d", VEIL_MD_JOURNAL_OFFSET);
	free(snap);
	*m = *md;
	m->reenc_window = WIN;
	m->reenc_journal_csum = veil_md_crc32c(buf, WIN * 512);
	check(!veil_md_write_dev(fd, LU, m), "metadata with a journaled window written");
	fill(fd, md, BSTART, WIN, 0x5b);

	/* a bad checksum: refused, and not one byte changes */
	snap = snapshot(fd);
	m->reenc_journal_csum ^= 1;
	r = vc_reenc_recover(fd, LU, m, &why);
	check(r == -EBADMSG && why && strstr(why, "checksum"),
	      "recover: CRC mismatch is -EBADMSG with a reason (%d, %s)", r,
	      why ? why : "-");
	check(same_as(fd, snap), "recover: CRC mismatch writes nothing");
	m->reenc_journal_csum ^= 1;

	/* a torn journal on disk: the same */
	check(pwrite(fd, "x", 1, VEIL_MD_JOURNAL_OFFSET * 512 + 700) == 1,
	      "one journal byte damaged");
	free(snap);
	snap = snapshot(fd);
	r = vc_reenc_recover(fd, LU, m, &why);
	check(r == -EBADMSG && same_as(fd, snap),
	      "recover: a damaged journal is refused, nothing written (%d)", r);
	check(!vc_reenc_journal_write(fd, buf, WIN), "journal rewritten");

	/* a window outside the data area: refused before any I/O */
	free(snap);
	snap = snapshot(fd);
	*m = *md;
	m->reenc_boundary = md->data_sectors - 8;
	m->reenc_window = 16;
	m->reenc_journal_csum = 1;
	check(vc_reenc_recover(fd, LU, m, &why) == -EINVAL && same_as(fd, snap),
	      "recover: window past the data area refused, nothing written");

	/* window 0, or not re-encrypting: nothing to do, nothing written */
	*m = *md;
	check(vc_reenc_recover(fd, LU, m, &why) == 0 && same_as(fd, snap),
	      "recover: window 0 is a no-op");
	m->reencrypting = false;
	m->reenc_window = WIN;
	check(vc_reenc_recover(fd, LU, m, &why) == 0 && same_as(fd, snap),
	      "recover: not re-encrypting is a no-op");

	/* the real thing: the old bytes come back, the window is forgotten */
	*m = *md;
	m->reenc_window = WIN;
	m->reenc_journal_csum = veil_md_crc32c(buf, WIN * 512);
	cur = current(fd);
	seq = cur ? cur->seqno : 0;
	r = vc_reenc_recover(fd, LU, m, &why);
	check(r == 1, "recover: returns 1 when it restored a window (%d, %s)",
	      r, r < 0 && why ? why : "-");
	check(holds(fd, md, BSTART, WIN, 0xa0),
	      "recover: the window holds the journaled (old) bytes again");
	check(holds(fd, md, 0, BSTART, 0xa0) &&
	      holds(fd, md, BSTART + WIN, 8, 0xa0),
	      "recover: the sectors around the window are untouched");
	check(m->reenc_window == 0 && m->reenc_journal_csum == 0 &&
	      m->reenc_boundary == BSTART,
	      "recover: caller's metadata has no window, same boundary");
	cur = current(fd);
	check(cur && cur->seqno == seq + 1 && cur->reenc_window == 0,
	      "recover: metadata written once more, with no window");
	if (codec_has_reencrypt(md))
		check(cur && cur->reencrypting && cur->reenc_boundary == BSTART &&
		      cur->reenc_journal_csum == 0,
		      "recover: the re-encryption and its boundary stay recorded");
	else
		skip("recover: boundary on disk (codec without the reencrypt property)");
	free(snap);
	snap = snapshot(fd);
	check(vc_reenc_recover(fd, LU, m, &why) == 0 && same_as(fd, snap),
	      "recover: a second run finds nothing to do");

	/* finishing clears the journal, and only the journal */
	check(!vc_reenc_journal_clear(fd), "journal cleared");
	memset((uint8_t *)snap + VEIL_MD_JOURNAL_OFFSET * 512, 0,
	       VEIL_MD_JOURNAL_SECTORS * 512);
	check(same_as(fd, snap),
	      "journal clear zeroes LU sectors %d..%d and nothing else",
	      VEIL_MD_JOURNAL_OFFSET,
	      VEIL_MD_JOURNAL_OFFSET + VEIL_MD_JOURNAL_SECTORS - 1);
	free(snap);
	free(buf);
	free(m);
}

/* The veilctl binary next to this test (dmcrypt-table, reencrypt checks). */
static char bindir[1024], out[8192];

static int run(const char *cmd)
{
	char full[6144];

	snprintf(full, sizeof(full), "B='%s'; I='%s'; %s", bindir, img, cmd);
	return tap_sh(out, sizeof(out), full);
}

static void test_binary(const struct veil_md *md)
{
	char self[1024], *slash;
	ssize_t n;
	int rc;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return skip("veilctl binary: /proc/self/exe unreadable");
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(bindir, sizeof(bindir), "%s", self);
	if (run("test -x \"$B/veilctl\""))
		return skip("veilctl binary: not built next to the test");

	if (codec_has_reencrypt(md)) {
		rc = run("head -c 64 /dev/zero | \"$B/veilctl\" dmcrypt-table \"$I\"");
		check(rc == VC_EREENC && strstr(out, "re-encryption is in progress") &&
		      !strstr(out, "crypt aes"),
		      "dmcrypt-table refuses an LU being re-encrypted: exit %d (want %d)",
		      rc, VC_EREENC);
	} else {
		skip("dmcrypt-table refusal (codec without the reencrypt property)");
	}
	rc = run("\"$B/veilctl\" reencrypt");
	check(rc == VC_EUSAGE && strstr(out, "usage: veilctl reencrypt"),
	      "reencrypt without DEV: usage, exit %d", rc);
	rc = run("\"$B/veilctl\" reencrypt --rate 10X \"$I\"");
	check(rc == VC_EUSAGE && strstr(out, "--rate 10X"),
	      "reencrypt --rate 10X refused: exit %d", rc);
	rc = run("\"$B/veilctl\" reencrypt --window 1025 \"$I\"");
	check(rc == VC_EUSAGE && strstr(out, "--window 1025"),
	      "reencrypt --window 1025 refused: exit %d", rc);
	rc = run("VEIL_TEST_CRASH_AT=nowhere \"$B/veilctl\" reencrypt \"$I\"");
	check(rc == VC_EUSAGE && strstr(out, "VEIL_TEST_CRASH_AT=nowhere"),
	      "an unknown crash point is refused: exit %d", rc);
	rc = run("\"$B/veilctl\" reencrypt --help");
	check(rc == 0 && strstr(out, "130"),
	      "reencrypt --help lists the interrupt exit status");
}

int main(void)
{
	const char *dir = getenv("TMPDIR");
	struct veil_md *md = calloc(1, sizeof(*md));
	const char *why = NULL;
	int fd;

	test_parsers();

	snprintf(img, sizeof(img), "%s/test_reenc.XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(img);
	if (!md || fd < 0 || ftruncate(fd, LU * 512)) {
		perror("test_reenc: image");
		return 1;
	}
	if (veil_md_init(md, LU, 512, &why)) {
		fprintf(stderr, "test_reenc: veil_md_init: %s\n", why);
		return 1;
	}
	snprintf(md->cipher, sizeof(md->cipher), "aes-xts-plain64");
	md->key_bytes = 64;
	memset(md->key_id, 0x22, 16);
	md->key_id_len = 16;
	memset(md->old_key_id, 0x11, 16);
	md->old_key_id_len = 16;
	md->reencrypting = true;
	md->incompat_flags |= VEIL_MD_INCOMPAT_REENCRYPT;
	md->reenc_boundary = BSTART;
	if (!check(!veil_md_write_dev(fd, LU, md),
		   "image with a re-encryption at sector %llu",
		   (unsigned long long)BSTART))
		return tap_done();
	test_journal(fd, md);
	test_binary(md);
	close(fd);
	unlink(img);
	free(md);
	return tap_done();
}
