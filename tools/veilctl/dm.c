// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: every device-mapper ioctl veilctl issues, through libdevmapper.
 *
 * udev.  create, resume and remove generate uevents; with udev running,
 * libdevmapper hands out a cookie (a SysV semaphore) that udev's rules
 * release when they have processed the event.  Every path that asks for
 * a cookie -- the error paths included -- ends in dm_udev_wait(), which
 * also destroys the semaphore: otherwise semaphores leak until the system
 * runs out of them.  dm_udev_wait(0) is a no-op, so the wait is
 * unconditional.  Without udev (DM_DISABLE_UDEV=1) libdevmapper makes the
 * /dev/mapper nodes itself and no cookie is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <libdevmapper.h>

#include "veilctl.h"

/* Run @dmt with a udev cookie; always waits on the cookie it took. */
static int run_cookie(struct dm_task *dmt)
{
	uint32_t cookie = 0;
	int ok = 0;

	if (dm_task_set_cookie(dmt, &cookie, 0))
		ok = dm_task_run(dmt);
	(void)dm_udev_wait(cookie);
	return ok;
}

int vc_dm_target_check(bool *present)
{
	struct dm_versions *t, *last;
	struct dm_task *dmt;
	int ret = VC_OK;

	*present = false;
	dmt = dm_task_create(DM_DEVICE_LIST_VERSIONS);
	if (!dmt)
		return VC_EFAIL;
	if (!dm_task_run(dmt)) {
		vc_err("cannot list device-mapper targets (is dm-mod loaded?)");
		ret = VC_ENOMOD;
		goto out;
	}
	t = dm_task_get_versions(dmt);
	do {
		last = t;
		if (!strcmp(t->name, VC_TARGET)) {
			*present = true;
			if (t->version[0] != VC_TARGET_MAJOR) {
				vc_err("dm-veil target version %u.%u.%u, this veilctl speaks %u.x: install matching veil modules and tools",
				       t->version[0], t->version[1],
				       t->version[2], VC_TARGET_MAJOR);
				ret = VC_ENOMOD;
			}
			break;
		}
		t = (struct dm_versions *)((char *)t + t->next);
	} while (last != t);
out:
	dm_task_destroy(dmt);
	return ret;
}

int vc_dm_create(const char *name, const char *uuid, uint64_t sectors,
		 const char *params)
{
	return vc_dm_create_flags(name, uuid, sectors, params, false);
}

int vc_dm_create_flags(const char *name, const char *uuid, uint64_t sectors,
		       const char *params, bool ro)
{
	struct dm_task *dmt;
	int ok = 0;

	dmt = dm_task_create(DM_DEVICE_CREATE);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name) && (!ro || dm_task_set_ro(dmt)) &&
	    (!uuid || dm_task_set_uuid(dmt, uuid)) &&
	    dm_task_add_target(dmt, 0, sectors, VC_TARGET, params))
		ok = run_cookie(dmt);
	dm_task_destroy(dmt);
	return ok ? 0 : -EIO;
}

int vc_dm_remove(const char *name)
{
	struct dm_task *dmt;
	int ok = 0;

	dmt = dm_task_create(DM_DEVICE_REMOVE);
	if (!dmt)
		return -ENOMEM;
	/* udev's blkid may hold the device open for a moment: retry. */
	if (dm_task_set_name(dmt, name) && dm_task_retry_remove(dmt))
		ok = run_cookie(dmt);
	dm_task_destroy(dmt);
	return ok ? 0 : -EIO;
}

int vc_dm_message(const char *name, const char *msg)
{
	struct dm_task *dmt;
	int ok = 0;

	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, msg))
		ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	return ok ? 0 : -EIO;
}

/* libdevmapper's log, silenced while a caller explains the failure itself. */
static void quiet_log(int level, const char *file, int line, int dm_errno,
		      const char *f, ...)
{
}

int vc_dm_message_resp(const char *name, const char *msg, char *resp,
		       size_t resp_size, bool quiet)
{
	struct dm_task *dmt;
	const char *answer;
	int r = -EIO;

	if (resp && resp_size)
		resp[0] = '\0';
	dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	if (!dmt)
		return -ENOMEM;
	if (quiet)
		dm_log_with_errno_init(quiet_log);
	if (dm_task_set_name(dmt, name) && dm_task_set_sector(dmt, 0) &&
	    dm_task_set_message(dmt, msg)) {
		if (dm_task_run(dmt)) {
			r = 0;
			answer = dm_task_get_message_response(dmt);
			if (resp && resp_size && answer)
				snprintf(resp, resp_size, "%s", answer);
		} else if (dm_task_get_errno(dmt) > 0) {
			r = -dm_task_get_errno(dmt);
		}
	}
	if (quiet)
		dm_log_with_errno_init(NULL);
	dm_task_destroy(dmt);
	return r;
}

/* STATUS or TABLE of @name: the one target's type and parameters. */
static int get_params(const char *name, int type, bool inactive,
		      struct dm_info *info, uint64_t *len, char *ttype,
		      size_t tsize, char *params, size_t psize)
{
	char *target_type = NULL, *p = NULL;
	uint64_t start, length = 0;
	struct dm_task *dmt;
	int ret = -EIO;
	void *next;

	dmt = dm_task_create(type);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) ||
	    (inactive && !dm_task_query_inactive_table(dmt)) ||
	    !dm_task_run(dmt) || !dm_task_get_info(dmt, info))
		goto out;
	ret = -ENODEV;
	if (!info->exists)
		goto out;
	next = dm_get_next_target(dmt, NULL, &start, &length, &target_type,
				  &p);
	ret = -ENOTTY;
	if (next || !target_type || strcmp(target_type, VC_TARGET))
		goto out;	/* not exactly one veil target */
	snprintf(ttype, tsize, "%s", target_type);
	snprintf(params, psize, "%s", p ? p : "");
	*len = length;
	ret = 0;
out:
	dm_task_destroy(dmt);
	return ret;
}

int vc_dm_get(const char *name_arg, struct vc_map *m)
{
	char ttype[32], params[1024], name[128];
	struct dm_info info;
	const char *uuid;
	struct dm_task *dmt;
	int r;

	/* name_arg may be m->name: copy it before clearing *m. */
	if (!vc_valid_name(name_arg))
		return -ENODEV;
	snprintf(name, sizeof(name), "%s", name_arg);
	memset(m, 0, sizeof(*m));
	r = get_params(name, DM_DEVICE_STATUS, false, &info, &m->sectors, ttype,
		       sizeof(ttype), params, sizeof(params));
	if (r)
		return r;
	if (vc_parse_info(params, &m->info)) {
		vc_warn("%s: unexpected status line '%s'", name, params);
		return -EPROTO;
	}
	m->major = info.major;
	m->minor = info.minor;
	m->open_count = info.open_count;
	m->suspended = info.suspended;
	snprintf(m->name, sizeof(m->name), "%s", name);
	r = get_params(name, DM_DEVICE_TABLE, false, &info, &m->sectors, ttype,
		       sizeof(ttype), params, sizeof(params));
	if (r)
		return r;
	if (vc_parse_table_dev(params, m->dev, sizeof(m->dev)))
		return -EPROTO;
	/* The uuid (INFO has it; only for display and udev). */
	dmt = dm_task_create(DM_DEVICE_INFO);
	if (dmt) {
		if (dm_task_set_name(dmt, name) && dm_task_run(dmt)) {
			uuid = dm_task_get_uuid(dmt);
			if (uuid)
				snprintf(m->uuid, sizeof(m->uuid), "%s", uuid);
		}
		dm_task_destroy(dmt);
	}
	return 0;
}

/* A task that names only the device: suspend, resume, clear. */
static int name_task(int type, const char *name)
{
	struct dm_task *dmt;
	int ok = 0;

	dmt = dm_task_create(type);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name))
		ok = type == DM_DEVICE_RESUME ? run_cookie(dmt) :
		     dm_task_run(dmt);
	dm_task_destroy(dmt);
	return ok ? 0 : -EIO;
}

int vc_dm_reload(const char *name, uint64_t sectors, char *state,
		 size_t state_size)
{
	char ttype[32], params[1024], want[24];
	struct vc_info inf;
	struct dm_info info;
	struct dm_task *dmt;
	uint64_t len;
	int r, ok = 0;

	state[0] = '\0';
	r = get_params(name, DM_DEVICE_STATUS, false, &info, &len, ttype,
		       sizeof(ttype), params, sizeof(params));
	if (r)
		return r;
	if (vc_parse_info(params, &inf))
		return -EPROTO;
	snprintf(want, sizeof(want), "%s", inf.state);
	r = get_params(name, DM_DEVICE_TABLE, false, &info, &len, ttype,
		       sizeof(ttype), params, sizeof(params));
	if (r)
		return r;

	dmt = dm_task_create(DM_DEVICE_RELOAD);
	if (!dmt)
		return -ENOMEM;
	if (dm_task_set_name(dmt, name) &&
	    dm_task_add_target(dmt, 0, sectors, VC_TARGET, params))
		ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	if (!ok)
		return -EIO;	/* the kernel log has the constructor's reason */

	/*
	 * The new instance either found the key the live one holds, or has
	 * posted a key request and would hold I/O: only the first may go live.
	 */
	r = get_params(name, DM_DEVICE_STATUS, true, &info, &len, ttype,
		       sizeof(ttype), params, sizeof(params));
	if (!r && vc_parse_info(params, &inf))
		r = -EPROTO;
	if (!r) {
		snprintf(state, state_size, "%s", inf.state);
		if (strcmp(inf.state, want))
			r = -EKEYREJECTED;
	}
	if (!r)
		r = name_task(DM_DEVICE_SUSPEND, name);
	if (r) {
		(void)name_task(DM_DEVICE_CLEAR, name);
		return r;
	}
	r = name_task(DM_DEVICE_RESUME, name);
	if (r) {
		/* back to the live table rather than stay suspended */
		(void)name_task(DM_DEVICE_CLEAR, name);
		(void)name_task(DM_DEVICE_RESUME, name);
	}
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vc_dm_each(int (*fn)(const struct vc_map *m, void *arg), void *arg)
{
	struct dm_names *names;
	struct dm_task *dmt;
	char **list = NULL;
	size_t n = 0, i;
	unsigned int next;
	struct vc_map m;
	int ret = 0;

	dmt = dm_task_create(DM_DEVICE_LIST);
	if (!dmt)
		return -EIO;	/* no device-mapper (libdevmapper said why) */
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	names = dm_task_get_names(dmt);
	if (names && names->dev) {
		do {
			char **nl = realloc(list, (n + 1) * sizeof(*list));

			if (!nl) {
				ret = -ENOMEM;
				break;
			}
			list = nl;
			list[n] = strdup(names->name);
			if (!list[n]) {
				ret = -ENOMEM;
				break;
			}
			n++;
			next = names->next;
			names = (struct dm_names *)((char *)names + next);
		} while (next);
	}
	dm_task_destroy(dmt);
	if (list)
		qsort(list, n, sizeof(*list), cmp_str);
	for (i = 0; i < n; i++) {
		if (!ret && !vc_dm_get(list[i], &m))
			ret = fn(&m, arg);
		free(list[i]);
	}
	free(list);
	return ret;
}

struct find_arg {
	unsigned int major, minor;
	struct vc_map *out;
	int found;
};

static int find_one(const struct vc_map *m, void *arg)
{
	struct find_arg *fa = arg;
	char dev[32];

	snprintf(dev, sizeof(dev), "%u:%u", fa->major, fa->minor);
	if ((m->major == fa->major && m->minor == fa->minor) ||
	    !strcmp(m->dev, dev)) {
		if (!fa->found)
			*fa->out = *m;
		fa->found++;
	}
	return 0;
}

int vc_dm_find(const char *what, struct vc_map *m)
{
	struct find_arg fa = { .out = m };
	struct stat st;
	int r;

	if (!strncmp(what, "/dev/mapper/", 12))
		what += 12;
	if (!strchr(what, '/')) {
		r = vc_dm_get(what, m);
		if (r != -ENODEV)
			return r;
		return -ENODEV;
	}
	if (stat(what, &st) || !S_ISBLK(st.st_mode))
		return -ENODEV;
	fa.major = major(st.st_rdev);
	fa.minor = minor(st.st_rdev);
	r = vc_dm_each(find_one, &fa);
	if (r)
		return r;
	return fa.found ? 0 : -ENODEV;
}

/* Is CAP_SYS_ADMIN (bit 21) in our effective set? */
static bool have_sys_admin(void)
{
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found ? !!(eff & (1ULL << 21)) : geteuid() == 0;
}

/*
 * Does the kernel have device-mapper?  /proc/misc lists its misc device;
 * /dev/mapper/control proves nothing (libdevmapper creates that node
 * whether or not a driver is behind it).
 */
bool vc_dm_available(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/misc", "r");

	if (!f)
		return true;	/* cannot tell: let libdevmapper try */
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " device-mapper\n"))
			found = true;
	fclose(f);
	return found;
}

int vc_dm_ready(void)
{
	/*
	 * Checked before the first ioctl: without them libdevmapper reports
	 * a missing permission as an incompatible kernel driver.
	 */
	if (!have_sys_admin()) {
		vc_err("permission denied: run as root (CAP_SYS_ADMIN)");
		return VC_EPERM;
	}
	if (!vc_dm_available()) {
		vc_err("device-mapper not available: modprobe dm-mod");
		return VC_ENOMOD;
	}
	return VC_OK;
}
