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

#define HB_MAGIC	"VEILHBAK"
#define HB_VERSION	1
#define HB_SIZE		(3 * VEIL_MD_BLOCK_SIZE)

/* The first 48 bytes of the file; the rest of its first block is zero. */
struct hb_header {
	char magic[8];
	__le32 version;
	__le32 csum;		/* CRC-32C of the file, this field as zero */
	__le64 lu_sectors;	/* LU size at backup time */
	__le64 alt_offset;	/* byte offset the alternate block came from */
	u8 uuid[16];
} __attribute__((packed));

static u32 hb_csum(u8 *file)
{
	struct hb_header *h = (struct hb_header *)file;
	__le32 saved = h->csum;
	u32 c;

	h->csum = 0;
	c = ~veil_crc32c(~0u, file, HB_SIZE);
	h->csum = saved;
	return c;
}

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
	u8 *buf = aligned(HB_SIZE);
	struct hb_header *h = (struct hb_header *)buf;
	uint64_t sectors = 0;
	char uuid[37];
	int r, fd = -1, out = -1;

	if (!c || !buf) {
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
	memcpy(h->magic, HB_MAGIC, 8);
	h->version = cpu_to_le32(HB_VERSION);
	h->lu_sectors = cpu_to_le64(sectors);
	h->alt_offset = cpu_to_le64(veil_md_alt_offset(sectors) * 512);
	memcpy(h->uuid, c->md[c->pick].uuid, 16);
	r = full_pread(fd, buf + VEIL_MD_BLOCK_SIZE, VEIL_MD_BLOCK_SIZE, 0);
	if (!r)
		r = full_pread(fd, buf + 2 * VEIL_MD_BLOCK_SIZE,
			       VEIL_MD_BLOCK_SIZE,
			       veil_md_alt_offset(sectors) * 512);
	if (r) {
		vc_err("%s: cannot read the metadata blocks: %s", dev,
		       strerror(-r));
		r = VC_EFAIL;
		goto done;
	}
	h->csum = cpu_to_le32(hb_csum(buf));
	out = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		vc_err("%s: %s%s", file, strerror(errno),
		       errno == EEXIST ? " (refusing to overwrite)" : "");
		r = errno == EEXIST ? VC_EUSAGE : VC_EFAIL;
		goto done;
	}
	if (write(out, buf, HB_SIZE) != HB_SIZE || fsync(out)) {
		vc_err("%s: write failed: %s", file, strerror(errno));
		close(out);
		unlink(file);
		r = VC_EFAIL;
		goto done;
	}
	close(out);
	vc_fmt_uuid(h->uuid, uuid);
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
	free(buf);
	free(c);
	return r;
}

/* Read and check the file.  VC_OK with @md the copy to restore. */
static int load_backup(const char *file, uint64_t lu_sectors, u8 *buf,
		       struct veil_md *m2, struct veil_md *md)
{
	struct hb_header *h = (struct hb_header *)buf;
	const char *why[2] = { NULL, NULL };
	int err[2], i, fd, pick;
	ssize_t n;
	u8 extra;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vc_open_err(file, errno);
	n = read(fd, buf, HB_SIZE);
	if (n == HB_SIZE && read(fd, &extra, 1) == 1)
		n = -2;
	close(fd);
	if (n != HB_SIZE || memcmp(h->magic, HB_MAGIC, 8)) {
		vc_err("%s: not a veil header backup (want %d bytes starting with %s)",
		       file, HB_SIZE, HB_MAGIC);
		return VC_EBACKUP;
	}
	if (le32_to_cpu(h->version) != HB_VERSION) {
		vc_err("%s: header backup version %u, this veilctl reads %d",
		       file, le32_to_cpu(h->version), HB_VERSION);
		return VC_EBACKUP;
	}
	if (le32_to_cpu(h->csum) != hb_csum(buf)) {
		vc_err("%s: header backup damaged (checksum mismatch): nothing written",
		       file);
		return VC_EBACKUP;
	}
	for (i = 0; i < 2; i++) {
		err[i] = veil_md_decode_at(buf + (i + 1) * VEIL_MD_BLOCK_SIZE,
					   VEIL_MD_BLOCK_SIZE, i, lu_sectors,
					   i ? m2 : md, &why[i]);
		if (!err[i] && memcmp((i ? m2 : md)->uuid, h->uuid, 16))
			err[i] = -EINVAL, why[i] = "uuid differs from the file's";
	}
	pick = veil_md_pick(md, err[0], m2, err[1]);
	if (pick < 0) {
		vc_err("%s: no copy in the backup is valid for this LU of %" PRIu64 " sectors (primary: %s; alternate: %s): nothing written",
		       file, lu_sectors, why[0] ? why[0] : "-",
		       why[1] ? why[1] : "-");
		return VC_EBACKUP;
	}
	if (pick == VEIL_MD_COPY_ALTERNATE)
		*md = *m2;
	return VC_OK;
}

static int restore(const char *dev, const char *file, bool force)
{
	struct veil_md_copies *c = calloc(1, sizeof(*c));
	struct veil_md *md = calloc(2, sizeof(*md));
	u8 *buf = aligned(HB_SIZE), *blk = aligned(VEIL_MD_BLOCK_SIZE);
	const char *why = NULL;
	char u_old[37], u_new[37];
	struct vc_dev d;
	int r, fd = -1, i;

	if (!c || !md || !buf || !blk) {
		r = VC_EFAIL;
		goto done;
	}
	r = vc_dev_open_info(dev, &d);
	if (r)
		goto done;
	r = load_backup(file, d.sectors, buf, &md[1], &md[0]);
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
