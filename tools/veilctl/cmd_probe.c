// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl probe DEV: the udev helper.  Recognises an eVLU by its metadata
 * (magic, checksum, layout: the md_io read path) and prints udev
 * properties for IMPORT{program}:
 *
 *   VEIL_EVLU=1  VEIL_UUID=<hex>  VEIL_KEY_ID=<hex>  (if encrypted)
 *   ID_FS_TYPE=veil  ID_FS_USAGE=crypto  ID_FS_UUID=<uuid>  ID_FS_VERSION=1
 *   VEIL_BAD=1   metadata present but no valid copy, or from a newer veil
 *
 * Exit 0 if the device is an eVLU (VEIL_BAD included), 5 if not.
 *
 * veilctl probe --mapping NAME: for the dm device of veil mapping NAME,
 * VEIL_MAP_UUID=<uuid> and VEIL_MAP_LABEL_ENC=<label, \xNN-escaped>, from
 * which the rule makes /dev/disk/by-veil-uuid and by-veil-label links.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "md_io.h"
#include "veilctl.h"

int cmd_probe(int argc, char **argv)
{
	struct veil_md_copies *c;
	const struct veil_md *md;
	char hex[2 * VEIL_KEY_ID_MAX + 1];
	const u8 *u;
	int r;

	if (argc == 3 && !strcmp(argv[1], "--mapping"))
		return vc_probe_mapping(argv[2]);
	if (getopt_long(argc, argv, "", (struct option[]){ { 0 } }, NULL) != -1 ||
	    argc - optind != 1)
		return vc_usage("probe");
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	r = vc_md_read(argv[optind], c, NULL);
	if (r) {
		free(c);
		return r == -ENOENT || r == -ENXIO ? VC_ENODEV : VC_EFAIL;
	}
	if (c->pick == -ENODATA) {
		free(c);
		return VC_ENOTEVLU;
	}
	printf("VEIL_EVLU=1\nID_FS_TYPE=veil\nID_FS_USAGE=crypto\nID_FS_VERSION=%d\n",
	       VEIL_MD_VERSION);
	if (c->pick < 0) {
		printf("VEIL_BAD=1\n");
		free(c);
		return VC_OK;
	}
	md = &c->md[c->pick];
	u = md->uuid;
	veil_hex_encode(u, 16, hex);
	printf("VEIL_UUID=%s\n", hex);
	printf("ID_FS_UUID=%.8s-%.4s-%.4s-%.4s-%.12s\n", hex, hex + 8,
	       hex + 12, hex + 16, hex + 20);
	if (md->key_id_len) {
		veil_hex_encode(md->key_id, md->key_id_len, hex);
		printf("VEIL_KEY_ID=%s\n", hex);
	}
	free(c);
	return VC_OK;
}
