// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: the block devices veilctl is pointed at -- their size, whether
 * anyone uses them, and their metadata (read through libveil's md_io, the
 * one metadata path).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "md_io.h"
#include "veiltab.h"
#include "veilctl.h"

int vc_dev_open_info(const char *path, struct vc_dev *d)
{
	struct stat st;
	u64 sectors;
	int fd, r;

	memset(d, 0, sizeof(*d));
	if (stat(path, &st)) {
		vc_err("%s: %s", path, strerror(errno));
		return VC_ENODEV;
	}
	if (!S_ISBLK(st.st_mode)) {
		vc_err("%s: not a block device (for an image file, use losetup first)",
		       path);
		return VC_ENODEV;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			return vc_open_err(path, errno);
		vc_err("%s: %s", path, strerror(errno));
		return VC_ENODEV;
	}
	r = veil_md_dev_sectors(fd, &sectors);
	close(fd);
	if (r) {
		vc_err("%s: cannot get the size: %s", path, strerror(-r));
		return VC_EFAIL;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->major = major(st.st_rdev);
	d->minor = minor(st.st_rdev);
	d->sectors = sectors;
	return VC_OK;
}

#define MAX_DEVS 128

/* The device and its partitions, as "maj:min" strings. */
static int dev_and_parts(const struct vc_dev *d, char (*devs)[24])
{
	char dir[64], p[PATH_MAX], buf[24];
	struct dirent *e;
	int n = 0;
	DIR *dh;
	FILE *f;

	snprintf(devs[n++], 24, "%u:%u", d->major, d->minor);
	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u", d->major, d->minor);
	dh = opendir(dir);
	if (!dh)
		return n;
	while ((e = readdir(dh)) && n < MAX_DEVS) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/partition", dir, e->d_name);
		if (access(p, F_OK))
			continue;
		snprintf(p, sizeof(p), "%s/%s/dev", dir, e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(devs[n++], 24, "%s", buf);
		}
		fclose(f);
	}
	closedir(dh);
	return n;
}

static bool in_list(char (*devs)[24], int n, const char *dev)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(devs[i], dev))
			return true;
	return false;
}

static int check_mounts(const char *path, char (*devs)[24], int n)
{
	char line[4096], dev[24], mnt[2048];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int busy = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %23s %*s %2047s", dev, mnt) == 2 &&
		    in_list(devs, n, dev)) {
			vc_err("%s: refusing: mounted on %s (device %s); unmount it first",
			       path, mnt, dev);
			busy = 1;
			break;
		}
	}
	fclose(f);
	return busy;
}

static int check_swaps(const char *path, char (*devs)[24], int n)
{
	char line[4096], sw[4096], dev[24];
	FILE *f = fopen("/proc/swaps", "r");
	struct stat st;
	int busy = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%4095s", sw) != 1 || stat(sw, &st) ||
		    !S_ISBLK(st.st_mode))
			continue;
		snprintf(dev, sizeof(dev), "%u:%u", major(st.st_rdev),
			 minor(st.st_rdev));
		if (in_list(devs, n, dev)) {
			vc_err("%s: refusing: in use as swap (%s); swapoff first",
			       path, sw);
			busy = 1;
			break;
		}
	}
	fclose(f);
	return busy;
}

/* Read the first line of a sysfs file; false if there is none. */
static bool read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	bool ok;

	buf[0] = '\0';
	if (!f)
		return false;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* Is block device @kname (a holder) a multipath map (DM_UUID mpath-*)? */
static bool holder_is_mpath(const char *kname)
{
	char p[PATH_MAX], uuid[160];

	snprintf(p, sizeof(p), "/sys/block/%s/dm/uuid", kname);
	return read_line(p, uuid, sizeof(uuid)) && !strncmp(uuid, "mpath-", 6);
}

bool vc_dev_mpath_holder(const struct vc_dev *d, char *map, size_t size)
{
	char dir[64], p[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *dh;

	snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/holders", d->major,
		 d->minor);
	dh = opendir(dir);
	if (!dh)
		return false;
	while (!found && (e = readdir(dh))) {
		if (e->d_name[0] == '.' || !holder_is_mpath(e->d_name))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/dm/name", e->d_name);
		if (!read_line(p, map, size) || !map[0])
			snprintf(map, size, "%s", e->d_name);
		found = true;
	}
	closedir(dh);
	return found;
}

/* Holders of the device or a partition; @allow may hold it.  */
static int check_holders(const char *path, char (*devs)[24], int n,
			 const char *allow, bool *allowed)
{
	char dir[96], p[PATH_MAX], name[256];
	struct dirent *e;
	int i, busy = 0;
	DIR *dh;

	for (i = 0; i < n && !busy; i++) {
		snprintf(dir, sizeof(dir), "/sys/dev/block/%.23s/holders",
			 devs[i]);
		dh = opendir(dir);
		if (!dh)
			continue;
		while ((e = readdir(dh))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "/sys/block/%s/dm/name",
				 e->d_name);
			read_line(p, name, sizeof(name));
			if (allow && !strcmp(name, allow)) {
				*allowed = true;
				continue;
			}
			if (holder_is_mpath(e->d_name)) {
				vc_err("%s: refusing: a path of multipath map %s (%s): attach /dev/mapper/%s instead",
				       path, name[0] ? name : e->d_name, e->d_name,
				       name[0] ? name : e->d_name);
				busy = 1;
				break;
			}
			vc_err("%s: refusing: in use by %s%s%s%s (see /sys/dev/block/%s/holders)",
			       path, e->d_name, name[0] ? " (" : "",
			       name, name[0] ? ")" : "", devs[i]);
			busy = 1;
			break;
		}
		closedir(dh);
	}
	return busy;
}

int vc_dev_check_free(const struct vc_dev *d, const char *allow_holder)
{
	static char devs[MAX_DEVS][24];
	bool allowed = false;
	int n, fd;

	n = dev_and_parts(d, devs);
	if (check_mounts(d->path, devs, n) || check_swaps(d->path, devs, n) ||
	    check_holders(d->path, devs, n, allow_holder, &allowed))
		return VC_EBUSY;
	if (allowed)
		return VC_OK;	/* our own mapping holds it exclusively */
	fd = open(d->path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EBUSY) {
			vc_err("%s: refusing: opened exclusively by another program (a mount, a mapping or a RAID member?)",
			       d->path);
			return VC_EBUSY;
		}
		vc_err("%s: %s", d->path, strerror(errno));
		return VC_EFAIL;
	}
	close(fd);
	return VC_OK;
}

int vc_md_read(const char *path, struct veil_md_copies *c, uint64_t *sectors)
{
	struct stat st;
	int fd, r, flags = O_RDONLY | O_CLOEXEC;
	u64 n;

	/* Bypass the page cache: dm-veil writes metadata-adjacent data with bios. */
	if (!stat(path, &st) && S_ISBLK(st.st_mode))
		flags |= O_DIRECT;
	fd = open(path, flags);
	if (fd < 0)
		return -errno;
	r = veil_md_dev_sectors(fd, &n);
	if (!r)
		r = veil_md_read_copies(fd, n, c);
	close(fd);
	if (!r && sectors)
		*sectors = n;
	return r;
}

int vc_md_explain(const char *path, const struct veil_md_copies *c)
{
	const char *wp = c->why[0] ? c->why[0] : "no metadata";
	const char *wa = c->why[1] ? c->why[1] : "no metadata";

	switch (c->pick) {
	case -ENODATA:
		vc_err("%s: not an eVLU (no veil metadata)", path);
		return VC_ENOTEVLU;
	case -EOPNOTSUPP:
		vc_err("%s: metadata written by a newer veil: upgrade veil's tools and modules",
		       path);
		return VC_EBADMD;
	default:
		vc_err("%s: veil metadata damaged, no valid copy (primary: %s; alternate: %s)",
		       path, wp, wa);
		return VC_EBADMD;
	}
}

void vc_table_params(const struct vc_dev *d, unsigned int key_timeout,
		     bool discards, char *buf, size_t size)
{
	int n = (key_timeout ? 1 : 0) + (discards ? 1 : 0);
	int len;

	len = snprintf(buf, size, "%u:%u", d->major, d->minor);
	if (n)
		len += snprintf(buf + len, size - len, " %d", n);
	if (key_timeout)
		len += snprintf(buf + len, size - len, " key_timeout:%u",
				key_timeout);
	if (discards)
		snprintf(buf + len, size - len, " allow_discards");
}

void vc_devno_path(const char *majmin, char *out, size_t size)
{
	char p[96], line[256];
	FILE *f;

	out[0] = '\0';
	snprintf(p, sizeof(p), "/sys/dev/block/%s/uevent", majmin);
	f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, size, "/dev/%s", line + 8);
		}
	fclose(f);
}

int vc_open_err(const char *path, int err)
{
	if (err == EACCES || err == EPERM) {
		vc_err("%s: permission denied: run as root (CAP_SYS_ADMIN)",
		       path);
		return VC_EPERM;
	}
	vc_err("%s: %s", path, strerror(err));
	return err == ENOENT || err == ENXIO || err == ENODEV ?
		VC_ENODEV : err == EBUSY ? VC_EBUSY : VC_EFAIL;
}

void vc_dev_label(const char *majmin, char *label, size_t size)
{
	struct veil_md_copies *c = calloc(1, sizeof(*c));
	char path[300];

	label[0] = '\0';
	vc_devno_path(majmin, path, sizeof(path));
	if (c && path[0] && !vc_md_read(path, c, NULL) && c->pick >= 0)
		snprintf(label, size, "%s", c->md[c->pick].label);
	free(c);
}

int vc_dev_dm_uuid(const struct vc_dev *d, char *uuid, size_t size)
{
	char p[96];

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/dm/uuid", d->major, d->minor);
	if (access(p, F_OK))
		return -ENOENT;
	read_line(p, uuid, size);
	return 0;
}

static bool same_dev(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && S_ISBLK(sa.st_mode) &&
	       S_ISBLK(sb.st_mode) && sa.st_rdev == sb.st_rdev;
}

static bool partuuid_is(const char *path, const char *want)
{
	const char *env = getenv("ID_PART_ENTRY_UUID");
	const char *dev = getenv("DEVNAME");
	char link[PATH_MAX + 32];

	snprintf(link, sizeof(link), "/dev/disk/by-partuuid/%s", want);
	if (same_dev(link, path))
		return true;
	/* under udev, before its links exist: the event's own properties */
	return env && dev && !strcasecmp(env, want) && same_dev(dev, path);
}

const struct veiltab_entry *vc_veiltab_match(const struct veiltab *t,
					     const char *path,
					     const struct veil_md *md)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct veiltab_entry *e = &t->e[i];
		bool hit = false;

		switch (e->kind) {
		case VEILTAB_UUID:
			hit = !memcmp(e->uuid, md->uuid, sizeof(md->uuid));
			break;
		case VEILTAB_LABEL:
			hit = md->label[0] && !strcmp(e->lu, md->label);
			break;
		case VEILTAB_PATH:
			hit = same_dev(e->lu, path);
			break;
		case VEILTAB_PARTUUID:
			hit = partuuid_is(path, e->lu);
			break;
		}
		if (hit)
			return e;
	}
	return NULL;
}

/*
 * May block device @kname hold an eVLU that attach --all looks at?  Not a
 * dm device other than a multipath map, not empty, not held by anything
 * but a veil mapping (a multipath path, md member or LVM PV is held).
 */
static bool candidate(const char *kname)
{
	char p[PATH_MAX], buf[160];
	struct dirent *h;
	bool ok = true;
	DIR *dh;

	if (!strncmp(kname, "sr", 2) || !strncmp(kname, "fd", 2))
		return false;
	snprintf(p, sizeof(p), "/sys/class/block/%s/size", kname);
	if (!read_line(p, buf, sizeof(buf)) || !strcmp(buf, "0"))
		return false;
	snprintf(p, sizeof(p), "/sys/class/block/%s/dm/uuid", kname);
	if (!access(p, F_OK) && (!read_line(p, buf, sizeof(buf)) ||
				 strncmp(buf, "mpath-", 6)))
		return false;
	snprintf(p, sizeof(p), "/sys/class/block/%s/holders", kname);
	dh = opendir(p);
	if (!dh)
		return true;
	while (ok && (h = readdir(dh))) {
		if (h->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/class/block/%s/dm/uuid", h->d_name);
		ok = read_line(p, buf, sizeof(buf)) &&
		     !strncmp(buf, VC_DM_UUID_PREFIX, strlen(VC_DM_UUID_PREFIX));
	}
	closedir(dh);
	return ok;
}

/*
 * Block devices in @dh whose metadata matches @one's entry; the first in
 * @path.  @cand: only candidate() devices (and stop at a second match,
 * with the message printed); else only the others.
 */
static int scan(DIR *dh, const struct veiltab *one, struct veil_md_copies *c,
		bool cand, char *path, size_t size)
{
	char p[PATH_MAX], majmin[32], dev[300];
	struct dirent *de;
	int found = 0;

	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.' || candidate(de->d_name) != cand)
			continue;
		if (!cand) {
			/* never read a veil mapping: its reads may wait for a key */
			snprintf(p, sizeof(p), "/sys/class/block/%s/dm/uuid", de->d_name);
			if (read_line(p, dev, sizeof(dev)) &&
			    !strncmp(dev, VC_DM_UUID_PREFIX, strlen(VC_DM_UUID_PREFIX)))
				continue;
			snprintf(p, sizeof(p), "/sys/class/block/%s/size", de->d_name);
			if (!strncmp(de->d_name, "sr", 2) || !strncmp(de->d_name, "fd", 2) ||
			    !read_line(p, majmin, sizeof(majmin)) || !strcmp(majmin, "0"))
				continue;
		}
		snprintf(p, sizeof(p), "/sys/class/block/%s/dev", de->d_name);
		if (!read_line(p, majmin, sizeof(majmin)))
			continue;
		vc_devno_path(majmin, dev, sizeof(dev));
		if (!dev[0] || vc_md_read(dev, c, NULL) || c->pick < 0 ||
		    !vc_veiltab_match(one, dev, &c->md[c->pick]))
			continue;
		if (found++) {
			vc_err("%s: refusing: both %s and %s hold this LU (two paths without multipath, or a copy): name one by its /dev/disk/by-id path",
			       one->e->name, path, dev);
			break;
		}
		snprintf(path, size, "%s", dev);
		if (!cand)
			break;
	}
	return found;
}

static int resolve(const char *link, char *path, size_t size)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(link, real) || stat(real, &st) || !S_ISBLK(st.st_mode))
		return -ENOENT;
	snprintf(path, size, "%s", real);
	return 0;
}

int vc_veiltab_find(const struct veiltab_entry *e, char *path, size_t size)
{
	struct veil_md_copies *c;
	char p[PATH_MAX + 32];
	struct veiltab one = { .n = 1, .e = (struct veiltab_entry *)e };
	int found;
	DIR *dh;

	if (e->kind == VEILTAB_PATH)
		return resolve(e->lu, path, size);
	if (e->kind == VEILTAB_PARTUUID) {
		snprintf(p, sizeof(p), "/dev/disk/by-partuuid/%s", e->lu);
		return resolve(p, path, size);
	}
	c = calloc(1, sizeof(*c));
	dh = opendir("/sys/class/block");
	if (!c || !dh) {
		free(c);
		if (dh)
			closedir(dh);
		return -ENOENT;
	}
	found = scan(dh, &one, c, true, path, size);
	if (!found) {
		/* say why, when the LU is there but on a device in use */
		rewinddir(dh);
		if (scan(dh, &one, c, false, p, sizeof(p)) > 0) {
			vc_err("%s: refusing: the LU is on %s, which is in use (held by another device: a multipath map, md, LVM) or a device-mapper device other than a multipath map",
			       e->name, p);
			found = -1;
		}
	}
	closedir(dh);
	free(c);
	return found == 1 ? 0 : found ? -EBUSY : -ENOENT;
}
