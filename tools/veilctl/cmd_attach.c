// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl attach DEV [NAME] | --all: read the eVLU's metadata and create
 * its device-mapper mapping; the key path (veil.ko -> veild -> key
 * manager) then unlocks it.  An interrupted re-encryption's journaled
 * window is put back before the mapping is made.  veiltab (veiltab(5)) gives the name and
 * options of the LUs it lists and says which LUs udev attaches.  Also the
 * core shared with encrypt and migrate.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "md_io.h"
#include "veiltab.h"
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

/*
 * veiltab, read once per run: the file named by --veiltab, VEIL_VEILTAB
 * or /etc/veil/veiltab.  Its bad lines are reported (each FILE:LINE) and
 * left out.  NULL only when the file exists but cannot be read.
 */
const char *vc_veiltab_path;
static struct veiltab tab;
static int tab_state;	/* 0: not read; 1: read; -1: unreadable */

const struct veiltab *vc_veiltab(void)
{
	char *err, *line, *save = NULL;
	const char *path = vc_veiltab_path ? vc_veiltab_path : veiltab_default_path();
	int r;

	if (tab_state)
		return tab_state > 0 ? &tab : NULL;
	/* a file named on the command line must exist; the default may not */
	if (vc_veiltab_path && access(vc_veiltab_path, F_OK)) {
		vc_err("%s: %s", vc_veiltab_path, strerror(errno));
		tab_state = -1;
		return NULL;
	}
	err = malloc(16384);
	if (!err) {
		tab_state = -1;
		return NULL;
	}
	r = veiltab_load(&tab, path, err, 16384);
	for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		vc_err("%s", line);
	if (r > 0)
		vc_warn("%s: %d bad line%s left out (see veiltab(5))", path, r,
			r == 1 ? "" : "s");
	free(err);
	tab_state = r < 0 ? -1 : 1;
	return tab_state > 0 ? &tab : NULL;
}

/* A name dm and udev accept, from the LU's metadata: label, else uuid. */
static void meta_name(const struct veil_md *md, char *name, size_t size)
{
	char u[37];

	if (md->label[0] && veiltab_valid_name(md->label)) {
		snprintf(name, size, "%s", md->label);
		return;
	}
	vc_fmt_uuid(md->uuid, u);
	snprintf(name, size, VC_NAME_PREFIX "%s", u);
}

/*
 * Should the automatic attach (udev, veil-attach@) take this LU?  1 yes;
 * 0 no, with the reason printed.  Explicit attaches never ask.
 */
static int auto_ok(const char *path, const struct vc_dev *d,
		   const struct veiltab *t, const struct veiltab_entry *e)
{
	const char *mp = getenv("DM_MULTIPATH_DEVICE_PATH");
	const char *fs = getenv("ID_FS_TYPE");
	char dmuuid[160], map[128];

	if (mp && !strcmp(mp, "1")) {
		vc_info("%s: not attached: a multipath path (DM_MULTIPATH_DEVICE_PATH=1); its multipath map is attached instead",
			path);
		return 0;
	}
	/*
	 * Under systemd the unit runs after udev's rules, and multipathd may
	 * have built the map over this path in between.
	 */
	if (vc_dev_mpath_holder(d, map, sizeof(map))) {
		vc_info("%s: not attached: a path of multipath map %s; the map is attached instead",
			path, map);
		return 0;
	}
	if (fs && !strcmp(fs, "linux_raid_member")) {
		vc_info("%s: not attached: an md RAID member (ID_FS_TYPE=linux_raid_member)",
			path);
		return 0;
	}
	if (!vc_dev_dm_uuid(d, dmuuid, sizeof(dmuuid)) &&
	    strncmp(dmuuid, "mpath-", 6)) {
		vc_info("%s: not attached: a device-mapper device that is not a multipath map",
			path);
		return 0;
	}
	if (!t) {
		/* as for a bad auto-attach line: only what is listed, so nothing */
		vc_info("%s: not attached: %s is unreadable", path,
			vc_veiltab_path ? vc_veiltab_path : veiltab_default_path());
		return 0;
	}
	if (e && (e->flags & VEILTAB_NOAUTO)) {
		vc_info("%s: not attached: noauto (%s:%d)", path, t->path, e->line);
		return 0;
	}
	if (t->auto_attach == VEILTAB_AUTO_NONE) {
		vc_info("%s: not attached: auto-attach = none (%s:%d)", path,
			t->path, t->auto_line);
		return 0;
	}
	if (!e && t->auto_attach == VEILTAB_AUTO_LISTED) {
		vc_info("%s: not attached: not listed in %s (auto-attach = listed)",
			path, t->path);
		return 0;
	}
	return 1;
}

struct same_lu {
	char prefix[64];
	struct vc_map m;
	bool found;
};

static int same_lu_one(const struct vc_map *m, void *arg)
{
	struct same_lu *s = arg;

	if (!s->found && !strncmp(m->uuid, s->prefix, strlen(s->prefix))) {
		s->m = *m;
		s->found = true;
	}
	return 0;
}

int vc_attach_dev(const char *path, const struct vc_attach_opts *o,
		  struct vc_map *out)
{
	const struct veiltab_entry *e = o->entry;
	const struct veiltab *t = vc_veiltab();
	struct veil_md_copies *c;
	char name[128], uuid[129], uhex[33], params[128], other[300];
	const struct veil_md *md;
	struct same_lu same;
	unsigned int key_timeout;
	struct vc_dev d;
	struct vc_map m;
	bool discards, ro;
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
	if (!e && t)
		e = vc_veiltab_match(t, path, md);
	if (o->auto_attach && !auto_ok(path, &d, t, e)) {
		r = VC_OK;
		goto out;
	}
	/* the command line, then the veiltab line, then the defaults */
	if (o->name)
		snprintf(name, sizeof(name), "%s", o->name);
	else if (e)
		snprintf(name, sizeof(name), "%s", e->name);
	else if (t && t->names == VEILTAB_NAMES_KERNEL) {
		if (vc_default_name(path, name, sizeof(name))) {
			vc_err("%s: cannot make a mapping name from it: give NAME", path);
			r = VC_EUSAGE;
			goto out;
		}
	} else {
		meta_name(md, name, sizeof(name));
	}
	key_timeout = o->key_timeout ? o->key_timeout : e ? e->key_timeout : 0;
	discards = o->discards || (e && (e->flags & VEILTAB_DISCARD));
	ro = o->ro || (e && (e->flags & VEILTAB_RO));
	if (!vc_valid_name(name) || !veiltab_valid_name(name)) {
		vc_err("'%s' is not a usable mapping name", name);
		r = VC_EUSAGE;
		goto out;
	}
	r = vc_dev_check_free(&d, NULL);
	if (r)
		goto out;
	veil_hex_encode(md->uuid, sizeof(md->uuid), uhex);
	/* the same LU through another device: a second path, or a copy */
	memset(&same, 0, sizeof(same));
	snprintf(same.prefix, sizeof(same.prefix), VC_DM_UUID_PREFIX "%s-", uhex);
	if (!vc_dm_each(same_lu_one, &same) && same.found) {
		vc_devno_path(same.m.dev, other, sizeof(other));
		vc_err("%s: refusing: this LU is attached already as %s through %s (another path to the same LU, or a copy of it)",
		       path, same.m.name, other[0] ? other : same.m.dev);
		r = VC_EBUSY;
		goto out;
	}
	if (vc_dm_get(name, &m) != -ENODEV) {
		vc_err("%s: a mapping named %s exists already: give another NAME, or name this LU in %s",
		       path, name, t ? t->path : veiltab_default_path());
		r = VC_EBUSY;
		goto out;
	}
	/*
	 * dm-veil refuses metadata with a journaled re-encryption window:
	 * put the journal back first (no key needed; the LU is ours now).
	 */
	if (md->reencrypting && md->reenc_window) {
		r = vc_reenc_recover_path(path);
		if (r)
			goto out;
	}
	snprintf(uuid, sizeof(uuid), VC_DM_UUID_PREFIX "%s-%s", uhex,
		 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	vc_table_params(&d, key_timeout, discards, params, sizeof(params));
	if (vc_dm_create_flags(name, uuid, md->data_sectors, params, ro)) {
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
	vc_info("%s: attached as /dev/mapper/%s (%llu sectors%s)", path, name,
		(unsigned long long)m.sectors, ro ? ", read-only" : "");
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

/* udev's encoding of a name in a link (as ID_FS_LABEL_ENC): \xNN. */
static void enc_link(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || strchr("#+-.:=@_", c))
			out[n++] = (char)c;
		else
			n += snprintf(out + n, size - n, "\\x%02x", c);
	}
	out[n] = '\0';
}

int vc_probe_mapping(const char *name)
{
	char label[VEIL_MD_LABEL_MAX + 1], enc[4 * VEIL_MD_LABEL_MAX + 1];
	const char *hex;
	struct vc_map m;
	uint8_t u[16];
	char dashed[37], h[33];

	if (vc_dm_get(name, &m))
		return VC_ENOTEVLU;
	hex = m.uuid + strlen(VC_DM_UUID_PREFIX);
	if (strncmp(m.uuid, VC_DM_UUID_PREFIX, strlen(VC_DM_UUID_PREFIX)) ||
	    strlen(hex) < 33 || hex[32] != '-')
		return VC_ENOTEVLU;
	snprintf(h, sizeof(h), "%.32s", hex);
	if (veil_hex_decode(h, u, sizeof(u)) != 16)
		return VC_ENOTEVLU;
	vc_fmt_uuid(u, dashed);
	printf("VEIL_MAP_UUID=%s\n", dashed);
	vc_dev_label(m.dev, label, sizeof(label));
	if (label[0]) {
		enc_link(label, enc, sizeof(enc));
		printf("VEIL_MAP_LABEL_ENC=%s\n", enc);
	}
	return VC_OK;
}

/*
 * attach --all: every LU veiltab lists, except noauto ones (and with
 * --initrd only the x-initrd.attach ones).  A missing or failed nofail LU
 * is reported and does not fail the command; bad veiltab lines do (12).
 */
static int attach_all(const struct vc_attach_opts *base, bool initrd)
{
	const struct veiltab *t = vc_veiltab();
	char path[4096], lu[4200];
	int r, rc = VC_OK, n = 0;
	size_t i;

	if (!t)
		return VC_ECERT;
	for (i = 0; i < t->n; i++) {
		const struct veiltab_entry *e = &t->e[i];
		struct vc_attach_opts o = *base;
		bool nofail = e->flags & VEILTAB_NOFAIL;

		if (e->flags & VEILTAB_NOAUTO)
			continue;
		if (initrd && !(e->flags & VEILTAB_INITRD))
			continue;
		n++;
		veiltab_lu_str(e, lu, sizeof(lu));
		r = vc_veiltab_find(e, path, sizeof(path));
		if (!r) {
			o.entry = e;
			o.name = NULL;
			r = vc_attach_dev(path, &o, NULL);
		} else if (r == -ENOENT) {
			vc_err("%s (%s, %s:%d): no such device", e->name, lu, t->path, e->line);
			r = VC_ENODEV;
		} else {
			r = VC_EBUSY;	/* ambiguous: the message is printed */
		}
		if (r && nofail) {
			vc_warn("%s: not attached; nofail, going on", e->name);
			continue;
		}
		if (r && rc == VC_OK)
			rc = r;
	}
	if (!n)
		vc_info("%s: no LU to attach%s", t->path, initrd ? " (x-initrd.attach)" : "");
	if (rc == VC_OK && t->errors)
		rc = VC_ECERT;
	return rc;
}

int vc_parse_attach_opt(int c, const char *arg, struct vc_attach_opts *o)
{
	long v;

	switch (c) {
	case 'T':
		v = vc_parse_seconds(arg);
		if (v < 1 || v > VEIL_KEY_TIMEOUT_MAX) {
			vc_err("--key-timeout must be 1 to %u seconds (dm-veil's bound)",
			       VEIL_KEY_TIMEOUT_MAX);
			return VC_EUSAGE;
		}
		o->key_timeout = (unsigned int)v;
		return VC_OK;
	case 'D':
		o->discards = true;
		return VC_OK;
	case 'r':
		o->ro = true;
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
		{ "read-only", no_argument, NULL, 'r' },
		{ "all", no_argument, NULL, 'a' },
		{ "initrd", no_argument, NULL, 'i' },
		{ "auto", no_argument, NULL, 'A' },
		{ "veiltab", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_attach_opts o = { 0 };
	bool bg = false, all = false, initrd = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "w:r", opts, NULL)) != -1) {
		if (c == 'b') {
			bg = true;
			continue;
		}
		if (c == 'a' || c == 'i') {
			all = true;
			initrd |= c == 'i';
			continue;
		}
		if (c == 'A') {
			o.auto_attach = true;
			continue;
		}
		if (c == 'V') {
			vc_veiltab_path = optarg;
			continue;
		}
		if (c == '?' || vc_parse_attach_opt(c, optarg, &o))
			return vc_usage("attach");
	}
	if (all) {
		if (argc != optind || o.auto_attach || bg)
			return vc_usage("attach");
		r = vc_modules_ensure();
		return r ? r : attach_all(&o, initrd);
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
