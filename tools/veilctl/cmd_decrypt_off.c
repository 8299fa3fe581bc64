// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl decrypt-off DEV|NAME --yes-destroy-data: remove the key-id from
 * an eVLU's metadata.  The data is NOT decrypted: without the key-id
 * nothing can ask for the key, and what the data area holds is ciphertext
 * that stays unreadable.  (To keep data, migrate it to a plaintext LU
 * first.)  An attached mapping is told to re-read the metadata and
 * becomes "unencrypted"; the key itself stays on the key manager until
 * its administrator destroys it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "md_io.h"
#include "veilctl.h"

int cmd_decrypt_off(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes-destroy-data", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	char path[300], hex[2 * VEIL_KEY_ID_MAX + 1];
	struct veil_md_copies *c;
	struct veil_md *md;
	const char *why = NULL;
	bool yes = false, mapped;
	struct vc_map m;
	struct vc_dev d;
	int ch, r, fd;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'y')
			return vc_usage("decrypt-off");
		yes = true;
	}
	if (argc - optind != 1)
		return vc_usage("decrypt-off");
	r = vc_dm_ready();
	if (r)
		return r;
	mapped = !vc_dm_find(argv[optind], &m);
	if (mapped)
		vc_devno_path(m.dev, path, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s", argv[optind]);
	if (!yes) {
		vc_err("decrypt-off removes the key-id from %s: the data on it is NOT decrypted and becomes permanently unreadable.  Copy it elsewhere first if you need it; to go ahead, add --yes-destroy-data",
		       path);
		return VC_EUSAGE;
	}
	if (mapped && m.open_count > 0) {
		vc_err("%s: refusing: /dev/mapper/%s is open (mounted or in use)",
		       path, m.name);
		return VC_EBUSY;
	}
	r = vc_dev_open_info(path, &d);
	if (r)
		return r;
	if (!mapped) {
		r = vc_dev_check_free(&d, NULL);
		if (r)
			return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	r = vc_md_read(path, c, NULL);
	if (r) {
		vc_err("%s: cannot read metadata: %s", path, strerror(-r));
		free(c);
		return VC_EFAIL;
	}
	if (c->pick < 0) {
		r = vc_md_explain(path, c);
		free(c);
		return r;
	}
	md = &c->md[c->pick];
	if (!md->key_id_len) {
		vc_err("%s: not encrypted (no key-id in its metadata)", path);
		free(c);
		return VC_ENOTEVLU;
	}
	veil_hex_encode(md->key_id, md->key_id_len, hex);
	md->key_id_len = 0;
	md->key_hint[0] = '\0';
	md->key_bytes = 0;
	md->cipher[0] = '\0';
	fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC | (mapped ? 0 : O_EXCL));
	if (fd < 0) {
		vc_err("%s: %s", path, strerror(errno));
		free(c);
		return errno == EBUSY ? VC_EBUSY : VC_EFAIL;
	}
	r = veil_md_write_dev_why(fd, d.sectors, md, 0, &why);
	close(fd);
	free(c);
	if (r) {
		vc_err("%s: cannot write metadata: %s (%s)", path,
		       why ? why : "write failed", strerror(-r));
		return VC_EFAIL;
	}
	vc_info("%s: key-id %s removed; the data on it is now unreadable", path,
		hex);
	vc_info("the key still exists on the key manager: destroy it there (veil-kmip destroy %s) once no replica needs it",
		hex);
	if (mapped) {
		if (vc_dm_message(m.name, "update") || vc_dm_get(m.name, &m)) {
			vc_err("%s: the mapping did not take the new metadata; detach and attach it",
			       m.name);
			return VC_EFAIL;
		}
		vc_print_state(&m);
	}
	return VC_OK;
}
