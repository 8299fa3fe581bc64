// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Reading both eVLU metadata copies of a device, and the one write path
 * (see md_io.h and the update protocol in docs/format.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "md_io.h"
#include "util.h"

int veil_md_crash_after = -1;
unsigned int veil_md_torn_bytes;

#define MD_IO_ALIGN	4096

int veil_md_dev_sectors(int fd, u64 *lu_sectors)
{
	struct stat st;
	u64 bytes;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		bytes = st.st_size;
	} else {
		return -ENOTBLK;
	}
	*lu_sectors = bytes / 512;
	return 0;
}

static off_t md_copy_offset(u64 lu_sectors, int copy)
{
	if (copy == VEIL_MD_COPY_PRIMARY)
		return 0;
	return (off_t)(veil_md_alt_offset(lu_sectors) * 512);
}

/*
 * Read the block of copy @copy into @buf, or say why there is none.  The
 * primary is read from any LU (a short one zero-padded), so that an LU too
 * small for metadata that nevertheless carries the magic reads as present
 * but unusable (unknown), as the kernel reads it, rather than as blank.
 */
static int md_read_block(int fd, u64 lu_sectors, int copy, void *buf,
			 const char **why)
{
	u64 avail = lu_sectors * 512;
	size_t len = avail < VEIL_MD_BLOCK_SIZE ? avail : VEIL_MD_BLOCK_SIZE;

	if (copy == VEIL_MD_COPY_ALTERNATE &&
	    lu_sectors < 2 * (u64)VEIL_MD_AREA_SECTORS) {
		*why = "LU too small to hold veil metadata";
		return -ENODATA;
	}
	if (!len) {
		*why = "empty LU";
		return -ENODATA;
	}
	memset(buf, 0, VEIL_MD_BLOCK_SIZE);
	return veil_pread_full(fd, buf, len, md_copy_offset(lu_sectors, copy));
}

int veil_md_read_copies(int fd, u64 lu_sectors, struct veil_md_copies *c)
{
	void *buf;
	int i, err = 0;

	memset(c, 0, sizeof(*c));
	if (posix_memalign(&buf, MD_IO_ALIGN, VEIL_MD_BLOCK_SIZE))
		return -ENOMEM;
	for (i = 0; i < 2; i++) {
		err = md_read_block(fd, lu_sectors, i, buf, &c->why[i]);
		if (err == -ENODATA) {
			c->err[i] = err;
			err = 0;
			continue;
		}
		if (err)
			break;
		c->err[i] = veil_md_decode_at(buf, VEIL_MD_BLOCK_SIZE, i,
					      lu_sectors, &c->md[i],
					      &c->why[i]);
	}
	free(buf);
	if (err)
		return err;
	c->pick = veil_md_pick(&c->md[0], c->err[0], &c->md[1], c->err[1]);
	return 0;
}

int veil_md_read_dev(int fd, u64 lu_sectors, struct veil_md *primary,
		     int *p_err, struct veil_md *alt, int *a_err)
{
	struct veil_md_copies *c = malloc(sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = veil_md_read_copies(fd, lu_sectors, c);
	if (!err) {
		*primary = c->md[VEIL_MD_COPY_PRIMARY];
		*p_err = c->err[VEIL_MD_COPY_PRIMARY];
		*alt = c->md[VEIL_MD_COPY_ALTERNATE];
		*a_err = c->err[VEIL_MD_COPY_ALTERNATE];
	}
	free(c);
	return err;
}

/*
 * Write one encoded block, honouring the crash hook.  *writes counts the
 * blocks completely written by this update so far.
 */
static int md_write_block(int fd, const void *blk, off_t off, int *writes)
{
	int err;

	if (veil_md_crash_after >= 0 && *writes >= veil_md_crash_after) {
		if (veil_md_torn_bytes) {
			size_t n = veil_md_torn_bytes < VEIL_MD_BLOCK_SIZE ?
				   veil_md_torn_bytes : VEIL_MD_BLOCK_SIZE;

			err = veil_pwrite_full(fd, blk, n, off);
			if (!err && fdatasync(fd))
				err = -errno;
			if (err)
				return err;
		}
		return -ECANCELED;	/* "power lost" here */
	}
	err = veil_pwrite_full(fd, blk, VEIL_MD_BLOCK_SIZE, off);
	if (err)
		return err;
	if (fdatasync(fd))
		return -errno;
	(*writes)++;
	return 0;
}

/* Which copy to write first; see veil_md_write_dev() in md_io.h. */
static int md_first_copy(const struct veil_md_copies *c)
{
	const struct veil_md *p = &c->md[VEIL_MD_COPY_PRIMARY];
	const struct veil_md *a = &c->md[VEIL_MD_COPY_ALTERNATE];

	if (c->pick == VEIL_MD_COPY_PRIMARY &&
	    (c->err[VEIL_MD_COPY_ALTERNATE] || a->seqno != p->seqno))
		return VEIL_MD_COPY_ALTERNATE;
	return VEIL_MD_COPY_PRIMARY;
}

int veil_md_write_dev_why(int fd, u64 lu_sectors,
			  const struct veil_md *md_new, unsigned int flags,
			  const char **why)
{
	struct veil_md_copies *c = NULL;
	struct veil_md *md = NULL;
	void *blk = NULL;
	u64 seqno;
	int i, first, writes = 0, err;

	if (why)
		*why = NULL;
	err = veil_md_check_layout(md_new, lu_sectors, why);
	if (err)
		return err;
	c = malloc(sizeof(*c));
	md = malloc(sizeof(*md));
	if (!c || !md || posix_memalign(&blk, MD_IO_ALIGN, VEIL_MD_BLOCK_SIZE)) {
		err = -ENOMEM;
		goto out;
	}
	err = veil_md_read_copies(fd, lu_sectors, c);
	if (err)
		goto out;
	if (!(flags & VEIL_MD_WRITE_FORCE) &&
	    (c->err[0] == -EOPNOTSUPP || c->err[1] == -EOPNOTSUPP)) {
		if (why)
			*why = "the device holds metadata of a newer veil";
		err = -EOPNOTSUPP;
		goto out;
	}

	seqno = md_new->seqno;
	for (i = 0; i < 2; i++)
		if (!c->err[i] && c->md[i].seqno > seqno)
			seqno = c->md[i].seqno;
	if (seqno == ~0ull) {
		if (why)
			*why = "seqno exhausted";
		err = -EOVERFLOW;
		goto out;
	}
	*md = *md_new;
	md->seqno = seqno + 1;
	md->lu_sectors = lu_sectors;

	first = md_first_copy(c);
	for (i = 0; i < 2; i++) {
		md->copy = i ? !first : first;
		err = veil_md_encode(md, blk, VEIL_MD_BLOCK_SIZE, why);
		if (err)
			goto out;
		err = md_write_block(fd, blk, md_copy_offset(lu_sectors,
							     md->copy),
				     &writes);
		if (err) {
			if (why)
				*why = err == -ECANCELED ?
				       "simulated crash (test hook)" :
				       "metadata write failed";
			goto out;
		}
	}
out:
	free(blk);
	free(md);
	free(c);
	return err;
}

int veil_md_write_dev(int fd, u64 lu_sectors, const struct veil_md *md_new)
{
	return veil_md_write_dev_why(fd, lu_sectors, md_new, 0, NULL);
}
