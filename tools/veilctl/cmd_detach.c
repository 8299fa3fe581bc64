// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl detach NAME|DEV: remove a veil mapping (DEV may be the LU, or
 * the multipath map /dev/mapper/NAME the mapping sits on).  The kernel
 * wipes the key (dm-veil frees it with kfree_sensitive); the LU keeps its
 * metadata and can be attached again.  Refuses while the mapping is open.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "veilctl.h"

int cmd_detach(int argc, char **argv)
{
	char real[PATH_MAX];
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
	    realpath(argv[optind], real))
		/* another dm device (a multipath map): the mapping on it */
		r = vc_dm_find(real, &m) ? -ENOTTY : 0;
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
