// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: the re-encryption journal (docs/format.md, "reencrypt").
 *
 * While a window of the data area is rewritten with the new key, its old
 * ciphertext is kept in the journal (LU sectors VEIL_MD_JOURNAL_OFFSET..,
 * the unused second half of the primary metadata area) and the metadata
 * records the window and the journal's CRC-32C.  After a crash, copying
 * the journal back over the window returns those sectors to the old key,
 * which is what the metadata's boundary says they use; no key is needed.
 *
 * Nothing here talks to device-mapper or prints: reencrypt and attach
 * call it, tests/unit/test_reenc.c runs it on image files.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "md_io.h"
#include "veilctl.h"

#define SECTOR	512ull

int vc_parse_reenc_status(const char *s, struct vc_reenc_status *st)
{
	unsigned long long b, d, ws, wl;
	unsigned int conv;
	int n = 0;

	memset(st, 0, sizeof(*st));
	while (isspace((unsigned char)*s))
		s++;
	if (!strncmp(s, "none", 4)) {
		s += 4;
		while (isspace((unsigned char)*s))
			s++;
		return *s ? -EINVAL : 0;
	}
	if (sscanf(s, "boundary=%llu data=%llu window=%n", &b, &d, &n) != 2 ||
	    !n)
		return -EINVAL;
	s += n;
	if (*s == '-') {
		s++;
	} else {
		n = 0;
		if (sscanf(s, "%llu+%llu%n", &ws, &wl, &n) != 2 || !n || !wl)
			return -EINVAL;
		s += n;
		st->locked = true;
		st->win_start = ws;
		st->win_len = wl;
	}
	n = 0;
	if (sscanf(s, " converted=%u%n", &conv, &n) != 1 || !n || conv > 1)
		return -EINVAL;
	s += n;
	while (isspace((unsigned char)*s))
		s++;
	if (*s || b > d || (st->locked && (st->win_start > d ||
					   st->win_len > d - st->win_start)) ||
	    (conv && !st->locked))
		return -EINVAL;
	st->active = true;
	st->boundary = b;
	st->data_sectors = d;
	st->converted = conv;
	return 0;
}

int64_t vc_parse_rate(const char *s)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (shift && *end == 'i' && end[1] == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (!strcmp(end, "/s"))
		end += 2;
	if (*end || !v || v > (1ull << 62) >> shift)
		return -1;
	return (int64_t)(v << shift);
}

/* Byte offset on the LU of data-area sector @s. */
static off_t data_off(const struct veil_md *md, uint64_t s)
{
	return (off_t)((md->data_offset + s) * SECTOR);
}

int vc_reenc_read_window(int fd, const struct veil_md *md, uint64_t start,
			 uint64_t len, void *buf)
{
	if (!len || len > VEIL_MD_JOURNAL_SECTORS || start > md->data_sectors ||
	    len > md->data_sectors - start)
		return -EINVAL;
	return veil_pread_full(fd, buf, len * SECTOR, data_off(md, start));
}

int vc_reenc_write_window(int fd, const struct veil_md *md, uint64_t start,
			  uint64_t len, const void *buf)
{
	int r;

	if (!len || len > VEIL_MD_JOURNAL_SECTORS || start > md->data_sectors ||
	    len > md->data_sectors - start)
		return -EINVAL;
	r = veil_pwrite_full(fd, buf, len * SECTOR, data_off(md, start));
	if (!r && fdatasync(fd))
		r = -errno;
	return r;
}

int vc_reenc_journal_write(int fd, const void *buf, uint64_t len)
{
	int r;

	if (!len || len > VEIL_MD_JOURNAL_SECTORS)
		return -EINVAL;
	r = veil_pwrite_full(fd, buf, len * SECTOR,
			     (off_t)(VEIL_MD_JOURNAL_OFFSET * SECTOR));
	if (!r && fdatasync(fd))
		r = -errno;
	return r;
}

int vc_reenc_journal_clear(int fd)
{
	size_t len = VEIL_MD_JOURNAL_SECTORS * SECTOR;
	void *zero;
	int r;

	if (posix_memalign(&zero, 4096, len))
		return -ENOMEM;
	memset(zero, 0, len);
	r = veil_pwrite_full(fd, zero, len,
			     (off_t)(VEIL_MD_JOURNAL_OFFSET * SECTOR));
	if (!r && fdatasync(fd))
		r = -errno;
	free(zero);
	return r;
}

int vc_reenc_recover(int fd, uint64_t lu_sectors, struct veil_md *md,
		     const char **why)
{
	struct veil_md *next = NULL;
	uint64_t len = md->reenc_window;
	void *buf = NULL;
	int r;

	*why = NULL;
	if (!md->reencrypting || !len)
		return 0;
	/* the codec checked these; a caller's hand-made md is checked here */
	if (len > VEIL_MD_JOURNAL_SECTORS ||
	    md->reenc_boundary > md->data_sectors ||
	    len > md->data_sectors - md->reenc_boundary) {
		*why = "the journaled window lies outside the data area";
		return -EINVAL;
	}
	next = malloc(sizeof(*next));
	if (!next || posix_memalign(&buf, 4096, len * SECTOR)) {
		*why = "out of memory";
		r = -ENOMEM;
		goto out;
	}
	r = veil_pread_full(fd, buf, len * SECTOR,
			    (off_t)(VEIL_MD_JOURNAL_OFFSET * SECTOR));
	if (r) {
		*why = "cannot read the journal";
		goto out;
	}
	if (veil_md_crc32c(buf, len * SECTOR) != md->reenc_journal_csum) {
		*why = "the re-encryption journal fails its checksum: nothing was written; the window's sectors may be unreadable (restore from backup)";
		r = -EBADMSG;
		goto out;
	}
	r = vc_reenc_write_window(fd, md, md->reenc_boundary, len, buf);
	if (r) {
		*why = "cannot write the journal back over the window";
		goto out;
	}
	*next = *md;
	next->reenc_window = 0;
	next->reenc_journal_csum = 0;
	r = veil_md_write_dev_why(fd, lu_sectors, next, 0, why);
	if (r) {
		if (!*why)
			*why = "cannot write the metadata";
		goto out;
	}
	*md = *next;
	r = 1;
out:
	free(buf);
	free(next);
	return r;
}
