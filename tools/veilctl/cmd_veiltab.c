// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl veiltab [--initrd] [--quiet] [--veiltab FILE]: check veiltab and
 * print it as veil reads it (the policy, then one line per LU with its
 * options in canonical form), as `veild -t` does for veild.conf.  The
 * initramfs hook asks `veiltab --initrd --quiet` whether any LU needs the
 * initramfs.
 *
 * Exit: 0 when the file is valid and (with --initrd) names an
 * x-initrd.attach LU; 11 (no such device) when it is valid and names
 * none; 12 when a line is bad (each named FILE:LINE on stderr).
 */
#include <getopt.h>
#include <stdio.h>

#include "veilctl.h"
#include "veiltab.h"

int cmd_veiltab(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "initrd", no_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "veiltab", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct veiltab *t;
	bool initrd = false, quiet = false;
	char lu[VEILTAB_LU_MAX + 16], opt[256];
	size_t i, n = 0;
	int c;

	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'i': initrd = true; break;
		case 'q': quiet = true; break;
		case 'V': vc_veiltab_path = optarg; break;
		default: return vc_usage("veiltab");
		}
	}
	if (optind != argc)
		return vc_usage("veiltab");
	t = vc_veiltab();
	if (!t)
		return VC_ECERT;
	if (!quiet)
		printf("# %s\nauto-attach = %s\nnames = %s\n", t->path,
		       veiltab_auto_str(t->auto_attach),
		       t->names == VEILTAB_NAMES_KERNEL ? "kernel" : "metadata");
	for (i = 0; i < t->n; i++) {
		const struct veiltab_entry *e = &t->e[i];

		if (initrd && !(e->flags & VEILTAB_INITRD))
			continue;
		n++;
		if (quiet)
			continue;
		veiltab_lu_str(e, lu, sizeof(lu));
		veiltab_opts_str(e, opt, sizeof(opt));
		printf("%s = %s %s\n", e->name, lu, opt);
	}
	if (t->errors)
		return VC_ECERT;
	return n ? VC_OK : VC_ENODEV;
}
