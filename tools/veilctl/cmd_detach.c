// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl detach NAME|DEV: remove a veil mapping (DEV may be the LU, or
 * the multipath map /dev/mapper/NAME the mapping sits on).  The kernel
 * wipes the key (dm-veil frees it with kfree_sensitive); the LU keeps its
 * metadata and can be attached again.  Refuses while the mapping is open.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "veilctl.h"

struct on_arg {
	char dev[32];
	struct vc_map *m;
	bool found;
};

static int on_one(const struct vc_map *m, void *arg)
{
	struct on_arg *a = arg;

	if (!a->found && !strcmp(m->dev, a->dev)) {
		*a->m = *m;
		a->found = true;
	}
	return 0;
}

/* The veil mapping on another dm device (a multipath map): 0 or -ENODEV. */
static int on_dm_device(const char *path, struct vc_map *m)
{
	struct on_arg a = { .m = m };
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode))
		return -ENODEV;
	snprintf(a.dev, sizeof(a.dev), "%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	return !vc_dm_each(on_one, &a) && a.found ? 0 : -ENODEV;
}

int cmd_detach(int argc, char **argv)
{
	struct vc_map m;
	int r;

	if (getopt_long(argc, argv, "", (struct option[]){ { 0 } }, NULL) != -1 ||
	    argc - optind != 1)
		return vc_usage("detach");
	r = vc_dm_ready();
	if (r)
		return r;
	r = vc_dm_find(argv[optind], &m);
	if (r == -ENOTTY && !strncmp(argv[optind], "/dev/mapper/", 12) &&
	    !on_dm_device(argv[optind], &m))
		r = 0;
	if (r == -ENOTTY) {
		vc_err("%s: not a veil mapping", argv[optind]);
		return VC_ENOTEVLU;
	}
	if (r) {
		vc_err("%s: no such veil mapping", argv[optind]);
		return VC_ENODEV;
	}
	if (m.open_count > 0) {
		vc_err("%s: refusing: /dev/mapper/%s is open %d time%s (mounted or in use); unmount it first",
		       argv[optind], m.name, m.open_count,
		       m.open_count == 1 ? "" : "s");
		return VC_EBUSY;
	}
	if (vc_dm_remove(m.name)) {
		vc_err("%s: cannot remove the mapping", m.name);
		return VC_EFAIL;
	}
	vc_info("%s: detached", m.name);
	return VC_OK;
}
