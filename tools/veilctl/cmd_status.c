// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl status [NAME|DEV] and veilctl list: what each veil mapping is
 * doing (state, key-id, reason, sizes, a re-encryption in progress, the
 * health of the LU's two metadata copies), whether a key daemon is there, and
 * how long the host certificate has left.  --json for scripts: one
 * object, documented in veilctl(8); fields are only ever added.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "md_io.h"
#include "veilctl.h"

struct out {
	bool json, brief;
	struct vc_json j;
	int n;
	struct veil_md_copies *c;	/* scratch for show() */
};

static int show(const struct vc_map *m, void *arg)
{
	struct out *o = arg;
	const struct vc_info *i = &m->info;
	char dev[300], size[32];
	const char *label = "";
	uint64_t lu = 0;
	int r;

	vc_devno_path(m->dev, dev, sizeof(dev));
	/* the LU's metadata as it is on disk now: label, both copies */
	memset(o->c, 0, sizeof(*o->c));
	o->c->pick = -ENODATA;
	r = dev[0] ? vc_md_read(dev, o->c, &lu) : -ENODEV;
	if (!r && o->c->pick >= 0)
		label = o->c->md[o->c->pick].label;
	o->n++;
	if (o->json) {
		vc_json_begin_obj(&o->j, NULL);
		vc_json_str(&o->j, "name", m->name);
		vc_json_str(&o->j, "device", dev);
		vc_json_str(&o->j, "devno", m->dev);
		vc_json_str(&o->j, "state", i->state);
		if (i->key_id[0])
			vc_json_str(&o->j, "key_id", i->key_id);
		else
			vc_json_null(&o->j, "key_id");
		if (label[0])
			vc_json_str(&o->j, "label", label);
		else
			vc_json_null(&o->j, "label");
		if (!o->brief) {
			vc_json_str(&o->j, "uuid", m->uuid);
			vc_json_str(&o->j, "cipher", i->cipher);
			vc_json_str(&o->j, "reason", i->reason);
			vc_json_u64(&o->j, "sectors", m->sectors);
			vc_json_u64(&o->j, "size_bytes", m->sectors * 512);
			vc_json_u64(&o->j, "sector_size", i->sector_size);
			vc_json_u64(&o->j, "held_bios", i->held);
			vc_json_i64(&o->j, "open_count", m->open_count);
			vc_json_bool(&o->j, "suspended", m->suspended);
			vc_json_begin_obj(&o->j, "metadata");
			vc_json_bool(&o->j, "readable", !r);
			if (!r) {
				vc_json_u64(&o->j, "lu_sectors", lu);
				vc_copies_json(&o->j, o->c);
				vc_reenc_json(&o->j, dev, o->c->pick >= 0 ?
					      &o->c->md[o->c->pick] : NULL);
			}
			vc_json_end_obj(&o->j);
		}
		vc_json_end_obj(&o->j);
		goto warn;
	}
	if (o->brief) {
		printf("%-20s %-16s %-32s %-12s %s\n", m->name, i->state,
		       i->key_id[0] ? i->key_id : "-", dev[0] ? dev : m->dev,
		       label[0] ? label : "-");
		goto warn;
	}
	vc_fmt_size(m->sectors * 512, size, sizeof(size));
	printf("%s\n", m->name);
	printf("  device:      %s (%s)\n", dev[0] ? dev : "?", m->dev);
	printf("  state:       %s\n", i->state);
	printf("  label:       %s\n", label[0] ? label : "-");
	printf("  key-id:      %s\n", i->key_id[0] ? i->key_id : "-");
	printf("  cipher:      %s\n", i->cipher[0] ? i->cipher : "-");
	printf("  size:        %s (%llu sectors, sector size %u)\n", size,
	       (unsigned long long)m->sectors, i->sector_size);
	printf("  held I/O:    %u\n", i->held);
	printf("  open:        %d\n", m->open_count);
	if (i->reason[0])
		printf("  reason:      %s\n", i->reason);
	if (r) {
		printf("  metadata:    unreadable (%s)\n", strerror(-r));
	} else {
		vc_reenc_text(dev, o->c->pick >= 0 ?
			      &o->c->md[o->c->pick] : NULL, 14);
		vc_copies_text(dev, o->c, lu);
	}
warn:
	if (!r && vc_copies_degraded(o->c))
		vc_warn("%s: %s runs on one metadata copy (primary %s, alternate %s): 'veilctl resize %s' rewrites both",
			m->name, dev, vc_copy_state(o->c, 0),
			vc_copy_state(o->c, 1), dev);
	return 0;
}

static void show_host(struct out *o, const char *etc)
{
	char cert[4096], subject[256] = "";
	struct vc_daemon d;
	long days = 0;
	int r, cr = -ENOENT;

	r = vc_daemon_info(&d);
	vc_conf_cert_path(etc, cert, sizeof(cert));
	if (cert[0])
		cr = vc_cert_days_left(cert, &days, subject, sizeof(subject));
	if (o->json) {
		vc_json_begin_obj(&o->j, "daemon");
		vc_json_bool(&o->j, "family", d.family);
		vc_json_bool(&o->j, "registered", !r && d.pid);
		vc_json_u64(&o->j, "pid", d.pid);
		vc_json_u64(&o->j, "pending", d.pending);
		vc_json_end_obj(&o->j);
		if (!cert[0]) {
			vc_json_null(&o->j, "host_cert");
		} else {
			vc_json_begin_obj(&o->j, "host_cert");
			vc_json_str(&o->j, "path", cert);
			vc_json_bool(&o->j, "readable", !cr);
			if (!cr) {
				vc_json_str(&o->j, "subject", subject);
				vc_json_i64(&o->j, "days_left", days);
				vc_json_bool(&o->j, "expiring",
					     days < VC_CERT_WARN_DAYS);
			}
			vc_json_end_obj(&o->j);
		}
	} else {
		if (r == -ENOENT)
			printf("key daemon:    veil.ko not loaded\n");
		else if (r)
			printf("key daemon:    unknown (%s)\n", strerror(-r));
		else if (!d.pid)
			printf("key daemon:    none registered (%u key request%s pending)\n",
			       d.pending, d.pending == 1 ? "" : "s");
		else
			printf("key daemon:    pid %u (%u pending)\n", d.pid,
			       d.pending);
		if (cert[0] && cr)
			printf("host cert:     %s: unreadable (%s)\n", cert,
			       strerror(-cr));
		else if (cert[0])
			printf("host cert:     %s, %s, %ld day%s left\n", cert,
			       subject, days, days == 1 ? "" : "s");
	}
	if (cert[0] && !cr && days < 0)
		vc_warn("host certificate %s has EXPIRED: the key manager will refuse this host; run 'veilctl renew'",
			cert);
	else if (cert[0] && !cr && days < VC_CERT_WARN_DAYS)
		vc_warn("host certificate %s expires in %ld day%s: run 'veilctl renew'",
			cert, days, days == 1 ? "" : "s");
}

static int run(int argc, char **argv, bool brief, const char *cmd)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "etc", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *etc = VC_DEFAULT_ETC;
	struct out o = { .brief = brief };
	struct vc_map m;
	int c, r = 0, dm_err;

	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j')
			o.json = true;
		else if (c == 'e')
			etc = optarg;
		else
			return vc_usage(cmd);
	}
	if (argc - optind > (brief ? 0 : 1))
		return vc_usage(cmd);
	/*
	 * Without device-mapper (or root) status still shows this host's
	 * enrolment, then exits with vc_dm_ready()'s code; list and a named
	 * device have nothing to show.
	 */
	dm_err = vc_dm_ready();
	if (dm_err && (brief || argc - optind == 1))
		return dm_err;
	if (argc - optind == 1) {
		r = vc_dm_find(argv[optind], &m);
		if (r) {
			vc_err("%s: %s", argv[optind], r == -ENOTTY ?
			       "not a veil mapping" : "no such veil mapping");
			return r == -ENOTTY ? VC_ENOTEVLU : VC_ENODEV;
		}
	}
	o.c = calloc(1, sizeof(*o.c));
	if (!o.c)
		return VC_EFAIL;
	if (o.json) {
		vc_json_init(&o.j, stdout);
		vc_json_begin_obj(&o.j, NULL);
		vc_json_u64(&o.j, "version", 1);
		vc_json_begin_arr(&o.j, "devices");
	} else if (brief) {
		printf("%-20s %-16s %-32s %-12s %s\n", "NAME", "STATE", "KEY-ID",
		       "DEVICE", "LABEL");
	}
	if (argc - optind == 1) {
		show(&m, &o);
		r = 0;
	} else if (!dm_err) {
		r = vc_dm_each(show, &o);
	}
	if (o.json)
		vc_json_end_arr(&o.j);
	if (!o.json && !brief && !o.n && !r && !dm_err)
		printf("no veil mappings\n");
	if (!brief)
		show_host(&o, etc);
	if (o.json)
		vc_json_end_obj(&o.j);
	free(o.c);
	if (r) {
		vc_err("cannot list device-mapper devices: %s", strerror(-r));
		return VC_EFAIL;
	}
	return dm_err;
}

int cmd_status(int argc, char **argv)
{
	return run(argc, argv, false, "status");
}

int cmd_list(int argc, char **argv)
{
	return run(argc, argv, true, "list");
}
