// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl resize DEV|NAME [--size SECTORS] [--shrink]: fit an eVLU's data
 * area to its LU after the LU was grown (or before it is shrunk).
 *
 * SECTORS is the new length of the data area, which is what the mapping
 * exposes; by default, all the LU holds between its two metadata areas.
 * Both metadata copies are rewritten for the LU's current size (the
 * alternate at its current end, docs/format.md section 2) through
 * veil_md_write_dev(), whose order keeps a valid copy at every moment; a
 * mapping, if there is one, is reloaded with the new length through
 * vc_dm_reload(): the new table takes the key the live one holds, so the
 * key manager is not asked and I/O never fails, it only waits for the
 * moment of the swap.
 *
 * Order, so that a crash between any two steps leaves a valid copy that
 * describes a data area no shorter than any table that may be live:
 *   grow:   metadata (both copies), wipe the alternate copy left at the
 *           LU's old end (now inside the data area), reload the mapping;
 *   shrink: reload the mapping, then metadata.
 * A crash leaves the old or the new metadata, never a mix; running resize
 * again finishes the job.
 *
 * Shrinking needs --shrink, and is only safe once nothing above the new
 * end is in use: shrinking the filesystem first is the caller's duty,
 * veilctl cannot see what the data area holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "md_io.h"
#include "veilctl.h"

struct resize {
	const char *arg;	/* what the user named */
	bool mapped;
	struct vc_map m;
	struct vc_dev d;
	struct veil_md_copies *c;
	const struct veil_md *cur;
	uint64_t size;		/* new data_sectors */
};

/* The LU behind @arg, and its mapping if it has one.  VC_OK or VC_E*. */
static int resize_find(struct resize *rs)
{
	char path[300];
	int r;

	/* no device-mapper in this kernel: no mapping to look for */
	r = vc_dm_available() ? vc_dm_find(rs->arg, &rs->m) : -ENODEV;
	if (r == -ENOTTY) {
		vc_err("%s: not a veil mapping", rs->arg);
		return VC_ENOTEVLU;
	}
	rs->mapped = !r;
	if (rs->mapped) {
		vc_devno_path(rs->m.dev, path, sizeof(path));
		if (!path[0]) {
			vc_err("%s: cannot find the device %s under mapping %s",
			       rs->arg, rs->m.dev, rs->m.name);
			return VC_ENODEV;
		}
	} else if (!strchr(rs->arg, '/')) {
		vc_err("%s: no such veil mapping", rs->arg);
		return VC_ENODEV;
	} else {
		snprintf(path, sizeof(path), "%s", rs->arg);
	}
	r = vc_dev_open_info(path, &rs->d);
	if (r)
		return r;
	/* mounted or held by anything but our own mapping: refuse */
	return vc_dev_check_free(&rs->d, rs->mapped ? rs->m.name : NULL);
}

/* Is the new size acceptable?  VC_OK or VC_EUSAGE, said why. */
static int resize_check(struct resize *rs, bool have_size, bool shrink)
{
	const struct veil_md *cur = rs->cur;
	const struct veil_md_extent *last;
	uint64_t unit = cur->sector_size / 512, max, from;

	max = (rs->d.sectors - VEIL_MD_AREA_SECTORS - cur->data_offset) /
	      unit * unit;
	if (!have_size) {
		rs->size = max;
	} else if (!rs->size || rs->size % unit) {
		vc_err("--size %" PRIu64 ": want a positive multiple of the encryption sector (%u bytes: %" PRIu64 " sector%s)",
		       rs->size, cur->sector_size, unit, unit == 1 ? "" : "s");
		return VC_EUSAGE;
	} else if (rs->size > max) {
		vc_err("--size %" PRIu64 ": beyond the device: %s (%" PRIu64 " sectors) holds at most %" PRIu64 " sectors of data area after the metadata areas",
		       rs->size, rs->d.path, rs->d.sectors, max);
		return VC_EUSAGE;
	}
	if (cur->n_plaintext) {
		last = &cur->plaintext[cur->n_plaintext - 1];
		if (last->start + last->len > rs->size) {
			vc_err("%s: a data area of %" PRIu64 " sectors would cut the plaintext range %" PRIu64 ":%" PRIu64 " (it ends at sector %" PRIu64 ")",
			       rs->d.path, rs->size, (uint64_t)last->start,
			       (uint64_t)last->len,
			       (uint64_t)(last->start + last->len));
			return VC_EUSAGE;
		}
	}
	from = cur->data_sectors;
	if (rs->mapped && rs->m.sectors > from)
		from = rs->m.sectors;
	if (rs->size < from && !shrink) {
		vc_err("%s: refusing to shrink the data area from %" PRIu64 " to %" PRIu64 " sectors without --shrink; shrink what is on it (the filesystem) first",
		       rs->d.path, from, rs->size);
		return VC_EUSAGE;
	}
	return VC_OK;
}

/*
 * The alternate copy the LU had at its old end now lies inside the grown
 * data area: wipe it, so that no stale copy reappears if the LU is ever cut
 * back to that size.  Only a block that decodes as this LU's copy for the
 * old size is touched, and only outside the live table.
 */
static void resize_wipe_old_alt(struct resize *rs, int fd, void *blk)
{
	const struct veil_md *cur = rs->cur;
	struct veil_md *old = malloc(sizeof(*old));
	uint64_t at;

	if (!old || cur->lu_sectors >= rs->d.sectors ||
	    cur->lu_sectors < 2 * (uint64_t)VEIL_MD_AREA_SECTORS)
		goto out;
	at = veil_md_alt_offset(cur->lu_sectors);
	if (rs->mapped && at < cur->data_offset + rs->m.sectors)
		goto out;
	if (veil_pread_full(fd, blk, VEIL_MD_BLOCK_SIZE, at * 512) ||
	    veil_md_decode_at(blk, VEIL_MD_BLOCK_SIZE, VEIL_MD_COPY_ALTERNATE,
			      cur->lu_sectors, old, NULL) ||
	    memcmp(old->uuid, cur->uuid, sizeof(old->uuid)))
		goto out;
	memset(blk, 0, VEIL_MD_BLOCK_SIZE);
	if (veil_pwrite_full(fd, blk, VEIL_MD_BLOCK_SIZE, at * 512) ||
	    fdatasync(fd))
		vc_warn("%s: could not wipe the old alternate copy at sector %" PRIu64 ": %s",
			rs->d.path, at, strerror(errno));
out:
	free(old);
}

/*
 * Test hook (veilctl(8)): VEIL_TEST_MD_CRASH_AFTER=N[:TORN] stops the
 * metadata write after N block writes, the next one landing its first
 * TORN bytes only, as a power cut there would.
 */
static void resize_test_hook(void)
{
	const char *env = getenv("VEIL_TEST_MD_CRASH_AFTER");
	char *end;
	long n;

	if (!env || !*env)
		return;
	n = strtol(env, &end, 10);
	if (n < 0 || n > 16 || (*end && *end != ':')) {
		vc_warn("VEIL_TEST_MD_CRASH_AFTER=%s: want N[:TORN]; ignored", env);
		return;
	}
	veil_md_crash_after = (int)n;
	if (*end == ':')
		veil_md_torn_bytes = (unsigned int)strtoul(end + 1, NULL, 10);
}

static int resize_write_md(struct resize *rs, int fd)
{
	struct veil_md *md = malloc(sizeof(*md));
	const char *why = NULL;
	int r;

	if (!md)
		return VC_EFAIL;
	resize_test_hook();
	*md = *rs->cur;
	md->data_sectors = rs->size;
	r = veil_md_write_dev_why(fd, rs->d.sectors, md, 0, &why);
	free(md);
	if (r) {
		vc_err("%s: cannot write metadata: %s (%s)", rs->d.path,
		       why ? why : "write failed", strerror(-r));
		return r == -EOPNOTSUPP ? VC_EBADMD : VC_EFAIL;
	}
	return VC_OK;
}

static int resize_reload(struct resize *rs)
{
	char state[24];
	int r;

	r = vc_dm_reload(rs->m.name, rs->size, state, sizeof(state));
	if (r == -EKEYREJECTED) {
		vc_err("%s: the new table would wait for its key (state %s): left as it was",
		       rs->m.name, state);
		return VC_EFAIL;
	}
	if (r) {
		vc_err("%s: cannot reload the mapping with %" PRIu64 " sectors (%s; see the kernel log)",
		       rs->m.name, rs->size, strerror(-r));
		return VC_EFAIL;
	}
	return VC_OK;
}

/* Nothing to change: right size, both copies current for this LU size. */
static bool resize_noop(const struct resize *rs)
{
	const struct veil_md_copies *c = rs->c;

	return rs->size == rs->cur->data_sectors &&
	       rs->cur->lu_sectors == rs->d.sectors &&
	       !c->err[0] && !c->err[1] && c->md[0].seqno == c->md[1].seqno &&
	       (!rs->mapped || rs->m.sectors == rs->size);
}

static int resize_run(struct resize *rs, bool have_size, bool shrink)
{
	uint64_t was = rs->mapped ? rs->m.sectors : rs->cur->data_sectors;
	bool smaller;
	void *blk = NULL;
	int r, fd = -1;

	r = resize_check(rs, have_size, shrink);
	if (r)
		return r;
	if (rs->mapped && strcmp(rs->m.info.state, "encrypted") &&
	    strcmp(rs->m.info.state, "unencrypted")) {
		vc_err("%s: state %s: resize needs a mapping that holds its key (or needs none)",
		       rs->m.name, rs->m.info.state);
		r = vc_state_exit(rs->m.info.state);
		return r ? r : VC_EFAIL;
	}
	if (resize_noop(rs)) {
		vc_info("%s: data area already %" PRIu64 " sectors, both metadata copies current: nothing to do",
			rs->d.path, rs->size);
		return VC_OK;
	}
	if (posix_memalign(&blk, 4096, VEIL_MD_BLOCK_SIZE))
		return VC_EFAIL;
	/* unmapped: O_EXCL keeps attach away while the copies are written */
	fd = open(rs->d.path, O_RDWR | O_DIRECT | O_CLOEXEC |
		  (rs->mapped ? 0 : O_EXCL));
	if (fd < 0) {
		r = vc_open_err(rs->d.path, errno);
		goto out;
	}
	smaller = rs->mapped && rs->size < rs->m.sectors;
	if (smaller) {
		r = resize_reload(rs);
		if (r)
			goto out;
	}
	r = resize_write_md(rs, fd);
	if (r)
		goto out;
	resize_wipe_old_alt(rs, fd, blk);
	if (rs->mapped && !smaller && rs->size != rs->m.sectors) {
		r = resize_reload(rs);
		if (r) {
			vc_err("%s: the metadata says %" PRIu64 " sectors; run resize again to grow the mapping",
			       rs->d.path, rs->size);
			goto out;
		}
	}
	if (was == rs->size)
		vc_info("%s: data area unchanged (%" PRIu64 " sectors), both metadata copies rewritten for an LU of %" PRIu64 " sectors",
			rs->d.path, rs->size, rs->d.sectors);
	else
		vc_info("%s: data area %" PRIu64 " -> %" PRIu64 " sectors, both metadata copies written for an LU of %" PRIu64 " sectors",
			rs->d.path, was, rs->size, rs->d.sectors);
	if (rs->mapped)
		vc_info("%s: mapping now %" PRIu64 " sectors", rs->m.name,
			rs->size);
	r = VC_OK;
out:
	if (fd >= 0)
		close(fd);
	free(blk);
	return r;
}

int cmd_resize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "shrink", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct resize rs = { 0 };
	bool have_size = false, shrink = false;
	unsigned long long v;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-') {
				vc_err("--size %s: want a number of 512-byte sectors",
				       optarg);
				return VC_EUSAGE;
			}
			rs.size = v;
			have_size = true;
			break;
		case 'S':
			shrink = true;
			break;
		default:
			return vc_usage("resize");
		}
	}
	if (argc - optind != 1)
		return vc_usage("resize");
	rs.arg = argv[optind];
	if (vc_dm_available()) {
		r = vc_dm_ready();
		if (r)
			return r;
	}
	r = resize_find(&rs);
	if (r)
		return r;
	rs.c = calloc(1, sizeof(*rs.c));
	if (!rs.c)
		return VC_EFAIL;
	r = vc_md_read(rs.d.path, rs.c, NULL);
	if (r) {
		r = vc_open_err(rs.d.path, -r);
		goto out;
	}
	if (rs.c->pick < 0) {
		r = vc_md_explain(rs.d.path, rs.c);
		goto out;
	}
	rs.cur = &rs.c->md[rs.c->pick];
	r = resize_run(&rs, have_size, shrink);
out:
	free(rs.c);
	return r;
}
