// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl update NAME|DEV: have dm-veil re-read the metadata (after a
 * replica was resynced from another source, or metadata was repaired).
 * A changed key-id drops the old key and asks for the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#include "veilctl.h"

/*
 * After a key change the mapping shows other data: drop what the page
 * cache still holds of the old contents (BLKFLSBUF), so that readers of
 * /dev/mapper/NAME see the new LU, not a mix.
 */
static void flush_cache(const char *name)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	if (ioctl(fd, BLKFLSBUF, 0))
		vc_warn("%s: cannot drop cached blocks: %s", path,
			strerror(errno));
	close(fd);
}

int cmd_update(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_attach_opts o = { 0 };
	char old[sizeof(((struct vc_info *)0)->key_id)];
	struct vc_map m;
	int c, r, mr;

	while ((c = getopt_long(argc, argv, "w:", opts, NULL)) != -1)
		if (c == '?' || vc_parse_attach_opt(c, optarg, &o))
			return vc_usage("update");
	if (argc - optind != 1)
		return vc_usage("update");
	r = vc_dm_ready();
	if (r)
		return r;
	r = vc_dm_find(argv[optind], &m);
	if (r) {
		vc_err("%s: no such veil mapping", argv[optind]);
		return r == -ENOTTY ? VC_ENOTEVLU : VC_ENODEV;
	}
	strcpy(old, m.info.key_id);
	mr = vc_dm_message(m.name, "update");
	r = vc_dm_get(m.name, &m);
	if (r) {
		vc_err("%s: mapping vanished: %s", argv[optind], strerror(-r));
		return VC_EFAIL;
	}
	if (mr && strcmp(m.info.state, "unknown")) {
		vc_err("%s: update failed", m.name);
		return VC_EFAIL;
	}
	if (!strcmp(m.info.state, "unknown")) {
		vc_err("%s: metadata unusable after update: %s", m.name,
		       m.info.reason[0] ? m.info.reason : "unknown reason");
		return VC_EBADMD;
	}
	if (strcmp(old, m.info.key_id)) {
		vc_info("%s: key-id changed (%s -> %s): old key discarded%s",
			m.name, old[0] ? old : "none",
			m.info.key_id[0] ? m.info.key_id : "none",
			m.info.key_id[0] ? ", asking for the new one" : "");
		flush_cache(m.name);
		if (!strcmp(m.info.state, "waiting-for-key")) {
			vc_daemon_warn(m.name);
			if (o.wait > 0)
				vc_wait_state(m.name, o.wait, &m);
		}
	} else {
		vc_info("%s: metadata re-read, key-id unchanged", m.name);
	}
	vc_print_state(&m);
	return o.wait > 0 ? vc_state_exit(m.info.state) : VC_OK;
}
