// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl header backup DEV FILE / veilctl header restore DEV FILE [--force]
 *
 * The backup file (docs/format.md, "Header backup file") is 12288 bytes: a
 * 4096-byte file header (magic, version, CRC-32C of the whole file, the
 * LU's size and uuid), then the 4096-byte block of the primary copy (LU
 * byte 0) and that of the alternate copy (LU byte (L - 2048) * 512), as
 * they were on the LU.  The rest of the metadata areas is reserved zeros
 * and not saved.
 *
 * restore checks the file (checksum, and that a copy in it is valid for
 * this LU) before it writes anything, refuses a backup of another LU's
 * uuid unless --force, and refuses a device that is mapped, mounted, held
 * or open.  It writes the backup's current copy (the valid one with the
 * higher seqno) to both slots, primary first, each followed by
 * fdatasync(), so both copies agree afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "md_io.h"
#include "veilctl.h"

static void *aligned(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, size))
		return NULL;
	memset(p, 0, size);
	return p;
}

static int open_dev(const char *path, int flags)
{
	struct stat st;

	if (!stat(path, &st) && S_ISBLK(st.st_mode))
		flags |= O_DIRECT;
	return open(path, flags | O_CLOEXEC);
}

static int full_pread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
}

static int full_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return fdatasync(fd) ? -errno : 0;
}

static int backup(const char *dev, const char *file)
{
	struct veil_md_copies *c = calloc(1, sizeof(*c));
	u8 *buf = aligned(VC_HB_SIZE);
	u8 *blk[2] = { aligned(VEIL_MD_BLOCK_SIZE), aligned(VEIL_MD_BLOCK_SIZE) };
	uint64_t sectors = 0;
	char uuid[37];
	int r, fd = -1, out = -1;

	if (!c || !buf || !blk[0] || !blk[1]) {
		r = VC_EFAIL;
		goto done;
	}
	r = vc_md_read(dev, c, &sectors);
	if (r) {
		r = vc_open_err(dev, -r);
		goto done;
	}
	if (c->pick < 0) {
		r = vc_md_explain(dev, c);
		vc_err("%s: nothing to back up: no valid metadata copy", dev);
		goto done;
	}
	fd = open_dev(dev, O_RDONLY);
	if (fd < 0) {
		r = vc_open_err(dev, errno);
		goto done;
	}
	r = full_pread(fd, blk[0], VEIL_MD_BLOCK_SIZE, 0);
	if (!r)
		r = full_pread(fd, blk[1], VEIL_MD_BLOCK_SIZE,
			       veil_md_alt_offset(sectors) * 512);
	if (r) {
		vc_err("%s: cannot read the metadata blocks: %s", dev,
		       strerror(-r));
		r = VC_EFAIL;
		goto done;
	}
	vc_hb_build(buf, sectors, c->md[c->pick].uuid, blk[0], blk[1]);
	out = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		vc_err("%s: %s%s", file, strerror(errno),
		       errno == EEXIST ? " (refusing to overwrite)" : "");
		r = errno == EEXIST ? VC_EUSAGE : VC_EFAIL;
		goto done;
	}
	if (write(out, buf, VC_HB_SIZE) != VC_HB_SIZE || fsync(out)) {
		vc_err("%s: write failed: %s", file, strerror(errno));
		close(out);
		unlink(file);
		r = VC_EFAIL;
		goto done;
	}
	close(out);
	vc_fmt_uuid(c->md[c->pick].uuid, uuid);
	vc_info("%s: header backed up to %s (uuid %s, seqno %" PRIu64 "; primary %s, alternate %s)",
		dev, file, uuid, (uint64_t)c->md[c->pick].seqno,
		c->err[0] ? "damaged" : "valid",
		c->err[1] ? "damaged" : "valid");
	if (c->err[0] || c->err[1])
		vc_warn("%s: one copy is not valid; restore writes the valid one to both slots",
			dev);
	r = VC_OK;
done:
	if (fd >= 0)
		close(fd);
	free(blk[0]);
	free(blk[1]);
	free(buf);
	free(c);
	return r;
}

/* Read and check the file (vc_hb_parse).  VC_OK with @md the copy to restore. */
static int load_backup(const char *file, uint64_t lu_sectors, u8 *buf,
		       struct vc_hb *hb, struct veil_md *md)
{
	char why[512];
	ssize_t n;
	u8 extra;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_open_err(file, errno);
	n = read(fd, buf, VC_HB_SIZE);
	if (n == VC_HB_SIZE && read(fd, &extra, 1) == 1)
		n = VC_HB_SIZE + 1;
	close(fd);
	if (n < 0) {
		vc_err("%s: %s", file, strerror(errno));
		return VC_EFAIL;
	}
	if (vc_hb_parse(buf, (size_t)n, lu_sectors, hb, why, sizeof(why))) {
		vc_err("%s: %s: nothing written", file, why);
		return VC_EBACKUP;
	}
	*md = hb->md[hb->pick];
	return VC_OK;
}

static int restore(const char *dev, const char *file, bool force)
{
	struct veil_md_copies *c = calloc(1, sizeof(*c));
	struct veil_md *md = calloc(1, sizeof(*md));
	struct vc_hb *hb = calloc(1, sizeof(*hb));
	u8 *buf = aligned(VC_HB_SIZE), *blk = aligned(VEIL_MD_BLOCK_SIZE);
	const char *why = NULL;
	char u_old[37], u_new[37];
	struct vc_dev d;
	int r, fd = -1, i;

	if (!c || !md || !hb || !buf || !blk) {
		r = VC_EFAIL;
		goto done;
	}
	r = vc_dev_open_info(dev, &d);
	if (r)
		goto done;
	r = load_backup(file, d.sectors, buf, hb, md);
	if (r)
		goto done;
	/* never under a mapping, a mount or another holder */
	r = vc_dev_check_free(&d, NULL);
	if (r)
		goto done;
	r = vc_md_read(dev, c, NULL);
	if (r) {
		r = vc_open_err(dev, -r);
		goto done;
	}
	vc_fmt_uuid(md[0].uuid, u_new);
	if (c->pick == -ENOENT || c->pick == -EOPNOTSUPP)
		vc_warn("%s: no valid metadata on the device (%s): its uuid cannot be compared with the backup's",
			dev, c->pick == -EOPNOTSUPP ? "written by a newer veil" :
			"damaged");
	if (c->pick >= 0 && memcmp(c->md[c->pick].uuid, md[0].uuid, 16)) {
		vc_fmt_uuid(c->md[c->pick].uuid, u_old);
		if (!force) {
			vc_err("%s: refusing: the backup is of LU %s, this LU is %s (--force to overwrite)",
			       dev, u_new, u_old);
			r = VC_EBACKUP;
			goto done;
		}
		vc_warn("%s: overwriting the metadata of LU %s with that of LU %s (--force)",
			dev, u_old, u_new);
	}
	fd = open(dev, O_RDWR | O_DIRECT | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		r = vc_open_err(dev, errno);
		goto done;
	}
	for (i = 0; i < 2; i++) {
		md[0].copy = i;
		r = veil_md_encode(&md[0], blk, VEIL_MD_BLOCK_SIZE, &why);
		if (r) {
			vc_err("%s: cannot encode the %s copy: %s", dev,
			       i ? "alternate" : "primary", why);
			r = VC_EBACKUP;
			goto done;
		}
		r = full_pwrite(fd, blk, VEIL_MD_BLOCK_SIZE,
				i ? veil_md_alt_offset(d.sectors) * 512 : 0);
		if (r) {
			vc_err("%s: writing the %s copy failed: %s", dev,
			       i ? "alternate" : "primary", strerror(-r));
			r = VC_EFAIL;
			goto done;
		}
	}
	vc_info("%s: header restored from %s (uuid %s, seqno %" PRIu64 ", both copies)",
		dev, file, u_new, (uint64_t)md[0].seqno);
	r = VC_OK;
done:
	if (fd >= 0)
		close(fd);
	free(blk);
	free(buf);
	free(hb);
	free(md);
	free(c);
	return r;
}

int cmd_header(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return vc_usage("header");
		force = true;
	}
	if (argc - optind != 3)
		return vc_usage("header");
	if (!strcmp(argv[optind], "backup") && !force)
		return backup(argv[optind + 1], argv[optind + 2]);
	if (!strcmp(argv[optind], "restore"))
		return restore(argv[optind + 1], argv[optind + 2], force);
	return vc_usage("header");
}
