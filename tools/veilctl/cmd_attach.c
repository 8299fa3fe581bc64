// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl attach DEV [NAME]: read the eVLU's metadata and create its
 * device-mapper mapping; the key path (veil.ko -> veild -> key manager)
 * then unlocks it.  Also the core shared with encrypt and migrate.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "md_io.h"
#include "veilctl.h"

void vc_print_state(const struct vc_map *m)
{
	const struct vc_info *i = &m->info;

	vc_info("%s: %s%s%s%s%s", m->name, i->state,
		i->key_id[0] ? ", key-id " : "", i->key_id,
		i->reason[0] ? ": " : "", i->reason);
}

int vc_wait_state(const char *name, long secs, struct vc_map *m)
{
	struct timespec t0, now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		r = vc_dm_get(name, m);
		if (r)
			return r;
		if (strcmp(m->info.state, "waiting-for-key"))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= secs)
			return 0;
		usleep(100 * 1000);
	}
}

int vc_attach_dev(const char *path, const struct vc_attach_opts *o,
		  struct vc_map *out)
{
	struct veil_md_copies *c;
	char name[128], uuid[129], uhex[33], params[128];
	const struct veil_md *md;
	struct vc_dev d;
	struct vc_map m;
	int r;

	r = vc_modules_ensure();
	if (r)
		return r;
	r = vc_dev_open_info(path, &d);
	if (r)
		return r;
	if (!vc_dm_find(path, &m)) {
		vc_info("%s: already attached as %s", path, m.name);
		if (o->wait > 0 && !strcmp(m.info.state, "waiting-for-key"))
			vc_wait_state(m.name, o->wait, &m);
		vc_print_state(&m);
		if (out)
			*out = m;
		return o->wait > 0 ? vc_state_exit(m.info.state) : VC_OK;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	r = vc_md_read(path, c, NULL);
	if (r) {
		vc_err("%s: cannot read metadata: %s", path, strerror(-r));
		r = VC_EFAIL;
		goto out;
	}
	if (c->pick < 0) {
		r = vc_md_explain(path, c);
		goto out;
	}
	md = &c->md[c->pick];
	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else if (vc_default_name(path, name, sizeof(name))) {
		vc_err("%s: cannot make a mapping name from it: give NAME", path);
		r = VC_EUSAGE;
		goto out;
	}
	if (!vc_valid_name(name)) {
		vc_err("'%s' is not a usable mapping name", name);
		r = VC_EUSAGE;
		goto out;
	}
	r = vc_dev_check_free(&d, NULL);
	if (r)
		goto out;
	if (vc_dm_get(name, &m) != -ENODEV) {
		vc_err("a mapping named %s exists already: give another NAME", name);
		r = VC_EBUSY;
		goto out;
	}
	veil_hex_encode(md->uuid, sizeof(md->uuid), uhex);
	snprintf(uuid, sizeof(uuid), VC_DM_UUID_PREFIX "%s-%s", uhex,
		 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	vc_table_params(&d, o->key_timeout, o->discards, params,
			sizeof(params));
	if (vc_dm_create(name, uuid, md->data_sectors, params)) {
		vc_err("%s: cannot create mapping %s (see the kernel log: dmesg | grep veil)",
		       path, name);
		r = VC_EFAIL;
		goto out;
	}
	r = vc_dm_get(name, &m);
	if (r) {
		vc_err("%s: mapping created but unreadable: %s", name,
		       strerror(-r));
		r = VC_EFAIL;
		goto out;
	}
	vc_info("%s: attached as /dev/mapper/%s (%llu sectors)", path, name,
		(unsigned long long)m.sectors);
	if (!strcmp(m.info.state, "waiting-for-key")) {
		vc_daemon_warn(name);
		if (o->wait > 0)
			vc_wait_state(name, o->wait, &m);
	}
	vc_print_state(&m);
	if (out)
		*out = m;
	r = o->wait > 0 ? vc_state_exit(m.info.state) : VC_OK;
out:
	free(c);
	return r;
}

int vc_parse_attach_opt(int c, const char *arg, struct vc_attach_opts *o)
{
	long v;

	switch (c) {
	case 'T':
		v = vc_parse_seconds(arg);
		if (v < 1 || v > 600) {
			vc_err("--key-timeout must be 1 to 600 seconds");
			return VC_EUSAGE;
		}
		o->key_timeout = (unsigned int)v;
		return VC_OK;
	case 'D':
		o->discards = true;
		return VC_OK;
	case 'w':
		o->wait = vc_parse_seconds(arg);
		if (o->wait < 0) {
			vc_err("--wait wants seconds");
			return VC_EUSAGE;
		}
		return VC_OK;
	}
	return VC_EUSAGE;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-timeout", required_argument, NULL, 'T' },
		{ "allow-discards", no_argument, NULL, 'D' },
		{ "wait", required_argument, NULL, 'w' },
		{ "background", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_attach_opts o = { 0 };
	bool bg = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "w:", opts, NULL)) != -1) {
		if (c == 'b') {
			bg = true;
			continue;
		}
		if (c == '?' || vc_parse_attach_opt(c, optarg, &o))
			return vc_usage("attach");
	}
	if (argc - optind < 1 || argc - optind > 2)
		return vc_usage("attach");
	o.name = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (bg) {
		/*
		 * From a udev RUN rule without systemd: udev waits for RUN
		 * programs, and our create waits for udev to process the new
		 * dm device, so do the work in a detached child.
		 */
		pid_t pid = fork();

		if (pid < 0) {
			vc_err("fork: %s", strerror(errno));
			return VC_EFAIL;
		}
		if (pid > 0)
			return VC_OK;
		setsid();
		r = vc_attach_dev(argv[optind], &o, NULL);
		_exit(r);
	}
	return vc_attach_dev(argv[optind], &o, NULL);
}
