// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: load dm-veil.ko (and, as its dependency, veil.ko) through
 * libkmod when the "veil" device-mapper target is not registered yet.
 * A missing module is a clear error naming the fix, not a retry loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <libkmod.h>

#include "veilctl.h"

static int load(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL, *l;
	int r, loaded = 0;

	r = kmod_module_new_from_lookup(ctx, name, &list);
	if (r < 0 || !list) {
		struct utsname u;

		uname(&u);
		vc_err("kernel module %s not found for kernel %s: install veil's modules (make install, or the veil DKMS package)",
		       name, u.release);
		return VC_ENOMOD;
	}
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		r = kmod_module_probe_insert_module(mod,
				KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL, NULL,
				NULL);
		if (r == 0 || r == -EEXIST)
			loaded = 1;
		else
			vc_err("cannot load kernel module %s: %s", name,
			       r == KMOD_PROBE_APPLY_BLACKLIST ?
			       "blacklisted" : strerror(-r));
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	return loaded ? VC_OK : VC_ENOMOD;
}

int vc_modules_ensure(void)
{
	struct kmod_ctx *ctx;
	bool present;
	int r;

	r = vc_dm_ready();
	if (r)
		return r;
	r = vc_dm_target_check(&present);
	if (r || present)
		return r;
	ctx = kmod_new(NULL, NULL);
	if (!ctx) {
		vc_err("libkmod: cannot initialise");
		return VC_ENOMOD;
	}
	r = load(ctx, "dm-veil");
	kmod_unref(ctx);
	if (r)
		return r;
	r = vc_dm_target_check(&present);
	if (!r && !present) {
		vc_err("dm-veil is loaded but the \"veil\" target is not registered");
		r = VC_ENOMOD;
	}
	return r;
}

bool vc_have_alias(const char *alias)
{
	struct kmod_list *list = NULL;
	struct kmod_ctx *ctx;
	bool found;

	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return false;
	found = kmod_module_new_from_lookup(ctx, alias, &list) >= 0 && list;
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return found;
}

char *vc_proc_crypto(void)
{
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *nb;
	FILE *f = fopen("/proc/crypto", "r");

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			nb = realloc(buf, cap + 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	return buf;
}
