/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Reading and writing the two eVLU metadata copies of a device or image
 * file (userspace only).  veil_md_write_dev() is the one place in veil that
 * writes metadata; the update protocol is described in docs/format.md.
 */
#ifndef _VEIL_MD_IO_H
#define _VEIL_MD_IO_H

#include "veil_md.h"

/* Both copies of a device as read, and which one to use. */
struct veil_md_copies {
	struct veil_md md[2];	/* indexed by VEIL_MD_COPY_* */
	int err[2];		/* veil_md_decode_at() result of each copy */
	const char *why[2];	/* what was wrong, when err[i] != 0 */
	int pick;		/* veil_md_pick(): copy index or -errno */
};

/*
 * Size of what @fd refers to in 512-byte sectors: BLKGETSIZE64 for a block
 * device, st_size (rounded down) for a regular file.  0 or -errno.
 */
int veil_md_dev_sectors(int fd, u64 *lu_sectors);

/*
 * Read and decode both copies of an LU of @lu_sectors.  Returns -errno only
 * when the device could not be read; a copy that is missing or damaged is
 * reported in c->err[] / c->why[], never as a failure of the call.  On an
 * LU too small to hold metadata the alternate reads as -ENODATA and the
 * primary as what its first block holds: -ENODATA without the magic, and
 * an error (unusable) with it, as the kernel sees such an LU.
 */
int veil_md_read_copies(int fd, u64 lu_sectors, struct veil_md_copies *c);

/* The same, for callers that want only the two copies and their errors. */
int veil_md_read_dev(int fd, u64 lu_sectors, struct veil_md *primary,
		     int *p_err, struct veil_md *alt, int *a_err);

/*
 * Write @md_new to both copies.  The caller sets the layout and properties;
 * this function sets seqno (one more than the highest seqno found on the
 * device or in md_new), lu_sectors and copy, and writes the copies one at a
 * time, each followed by fdatasync().  The copy written first is the
 * primary unless the primary is the only copy holding the current state, in
 * which case the alternate is brought up to date first: at every moment one
 * valid copy holds either the old or the new metadata.
 *
 * Returns 0, -EINVAL (md_new not encodable for this LU), -EOPNOTSUPP (a
 * copy on the device was written by a newer veil: it is not overwritten
 * unless VEIL_MD_WRITE_FORCE is given), -EOVERFLOW (seqno exhausted), -ECANCELED (test
 * hook below fired) or the -errno of a failed read, write or sync.
 * @fd may be opened with O_DIRECT: all I/O uses 4096-aligned buffers.
 */
int veil_md_write_dev(int fd, u64 lu_sectors, const struct veil_md *md_new);

/* Overwrite copies written by a newer veil instead of failing (format). */
#define VEIL_MD_WRITE_FORCE	0x1u

/* The same with VEIL_MD_WRITE_* flags, and *why set on failure. */
int veil_md_write_dev_why(int fd, u64 lu_sectors,
			  const struct veil_md *md_new, unsigned int flags,
			  const char **why);

/*
 * Test hooks (used by tests/unit/test_md.c and veil-mdtool --crash-after;
 * nothing else may set them).  When veil_md_crash_after is N >= 0,
 * veil_md_write_dev() stops with -ECANCELED once N block writes have
 * completed, as if the machine lost power there.  If veil_md_torn_bytes is
 * also nonzero, the interrupted write is torn instead of skipped: its first
 * veil_md_torn_bytes bytes reach the disk, the rest of the block keeps its
 * old contents.  With O_DIRECT, veil_md_torn_bytes must be a multiple of
 * the device's logical block size.
 */
extern int veil_md_crash_after;
extern unsigned int veil_md_torn_bytes;

#endif /* _VEIL_MD_IO_H */
