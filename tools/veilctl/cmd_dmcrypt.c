// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl dmcrypt-table DEV < KEY: the escape hatch.  Prints the
 * device-mapper table that maps the data area of an eVLU with stock
 * dm-crypt (and dm-linear for its plaintext ranges), for a rescue system
 * without veil's modules:
 *
 *   dmsetup create rescue --table "$(veilctl dmcrypt-table /dev/sdb < key)"
 *
 * The key comes on standard input, as 2 * key_bytes hex digits (a trailing
 * newline is fine) or as exactly key_bytes raw bytes; the lengths differ,
 * so the two cannot be confused.  The table holds the key in hex, as every
 * dm-crypt table does: it goes to stdout only, never to a file or a log.
 * There is no key check value on disk, so a wrong key is not detected
 * here: the mapping then reads as noise.  During a re-encryption the data
 * area uses two keys, which one dm-crypt table cannot express: refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "md_io.h"
#include "veilctl.h"

#define KEY_IN_MAX	(2 * VEIL_KEY_MAX + 64)

int cmd_dmcrypt_table(int argc, char **argv)
{
	struct veil_md_copies *c = NULL;
	struct veil_md *md;
	uint8_t in[KEY_IN_MAX], key[VEIL_KEY_MAX];
	size_t len = 0, tsize = 0;
	char *table = NULL;
	ssize_t n;
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return vc_usage("dmcrypt-table");
	if (isatty(STDIN_FILENO)) {
		vc_err("the key is read from standard input (hex or raw): redirect it, e.g. < keyfile");
		return VC_EUSAGE;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	mlock(in, sizeof(in));
	mlock(key, sizeof(key));
	r = vc_md_read(argv[1], c, NULL);
	if (r) {
		r = vc_open_err(argv[1], -r);
		goto out;
	}
	if (c->pick < 0) {
		r = vc_md_explain(argv[1], c);
		goto out;
	}
	md = &c->md[c->pick];
	if (!md->key_id_len) {
		vc_err("%s: not encrypted (no key-id): the data area is plain; map it with: 0 %llu linear %s %llu",
		       argv[1], (unsigned long long)md->data_sectors, argv[1],
		       (unsigned long long)md->data_offset);
		r = VC_ENOTEVLU;
		goto out;
	}
	if (md->reencrypting) {
		char nhex[2 * VEIL_KEY_ID_MAX + 1], ohex[2 * VEIL_KEY_ID_MAX + 1];

		veil_hex_encode(md->key_id, md->key_id_len, nhex);
		veil_hex_encode(md->old_key_id, md->old_key_id_len, ohex);
		vc_err("%s: refusing: a re-encryption is in progress, so the data area uses two keys (sectors below %llu key-id %s, the rest key-id %s) and one dm-crypt table cannot map it; finish it first: veilctl reencrypt %s --resume",
		       argv[1], (unsigned long long)md->reenc_boundary, nhex,
		       ohex, argv[1]);
		r = VC_EREENC;
		goto out;
	}
	while (len < sizeof(in) &&
	       (n = read(STDIN_FILENO, in + len, sizeof(in) - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			vc_err("reading the key from standard input: %s",
			       strerror(errno));
			r = VC_EFAIL;
			goto out;
		}
		len += n;
	}
	if (vc_key_parse(in, len, md->key_bytes, key)) {
		vc_err("the key on standard input is neither %u hex digits nor %u raw bytes (%s takes a %u-byte key)",
		       2 * md->key_bytes, md->key_bytes, md->cipher,
		       md->key_bytes);
		r = VC_EUSAGE;
		goto out;
	}
	tsize = (md->n_plaintext * 2 + 1) *
		(2 * VEIL_KEY_MAX + strlen(argv[1]) + VEIL_CIPHER_MAX + 160);
	table = malloc(tsize);
	if (!table) {
		r = VC_EFAIL;
		goto out;
	}
	mlock(table, tsize);
	r = vc_dmcrypt_table(md, argv[1], key, table, tsize);
	if (r) {
		vc_err("%s: cannot build the table: %s", argv[1], strerror(-r));
		r = VC_EFAIL;
		goto out;
	}
	printf("%s\n", table);
	fflush(stdout);
	r = ferror(stdout) ? VC_EFAIL : VC_OK;
out:
	explicit_bzero(in, sizeof(in));
	explicit_bzero(key, sizeof(key));
	if (table) {
		explicit_bzero(table, tsize);
		free(table);
	}
	free(c);
	return r;
}
