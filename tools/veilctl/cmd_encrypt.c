// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl encrypt DEV [NAME]: turn a blank LU into an eVLU.  Gets a
 * key-id (a new key on the key manager, or --key-id for a key provisioned
 * already), writes both metadata copies through libveil's md_io, and
 * attaches the mapping.  The LU's previous contents are not converted:
 * they become unreadable (use migrate to carry data over).
 *
 * Refuses a device that is mounted, used as swap, held by another device
 * or open exclusively, and one that is an eVLU already.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "md_io.h"
#include "veilctl.h"

#define DEFAULT_CIPHER "aes-xts-plain64"
#define DEFAULT_KEY_BYTES 64

/*
 * Would dm-veil take @spec with a @key_bytes key (0: only the spec)?  What
 * this kernel offers is read from /proc/crypto and the module aliases.
 */
static int check_cipher(const char *spec, uint32_t key_bytes)
{
	char *pc = vc_proc_crypto(), why[256];
	int r;

	r = vc_cipher_check(spec, key_bytes, pc, vc_have_alias, why,
			    sizeof(why));
	free(pc);
	if (r) {
		vc_err("%s", why);
		return VC_EUSAGE;
	}
	return VC_OK;
}

int vc_encrypt_dev(const char *path, const struct vc_encrypt_opts *o,
		   struct vc_map *out)
{
	struct veil_md_copies *c;
	struct veil_md *md;
	const char *why = NULL;
	uint8_t id[VEIL_KEY_ID_MAX];
	uint32_t key_bytes = o->key_bytes ? o->key_bytes : DEFAULT_KEY_BYTES;
	char hex[2 * VEIL_KEY_ID_MAX + 1];
	struct vc_dev d;
	int id_len = VEIL_KEY_ID_DEFAULT;
	int r, fd = -1;

	if (o->key_id) {
		id_len = veil_hex_decode(o->key_id, id, VEIL_KEY_ID_MAX);
		if (id_len < 0) {
			vc_err("--key-id: want 1 to %d bytes in hex",
			       VEIL_KEY_ID_MAX);
			return VC_EUSAGE;
		}
	} else {
		/* the size of the key the key manager would create */
		r = check_cipher(o->cipher ? o->cipher : DEFAULT_CIPHER, 0);
		if (r)
			return r;
		r = vc_provision_key_bytes(o->conf, &key_bytes);
		if (r)
			return r;
	}
	/* nothing is created or written before this */
	r = check_cipher(o->cipher ? o->cipher : DEFAULT_CIPHER, key_bytes);
	if (r)
		return r;
	if (o->attach) {
		r = vc_modules_ensure();
		if (r)
			return r;
	}
	r = vc_dev_open_info(path, &d);
	if (r)
		return r;
	r = vc_dev_check_free(&d, NULL);
	if (r)
		return r;
	c = calloc(1, sizeof(*c));
	md = calloc(1, sizeof(*md));
	if (!c || !md) {
		r = VC_EFAIL;
		goto out;
	}
	r = vc_md_read(path, c, NULL);
	if (r) {
		vc_err("%s: cannot read: %s", path, strerror(-r));
		r = VC_EFAIL;
		goto out;
	}
	if (c->pick >= 0 && c->md[c->pick].key_id_len) {
		veil_hex_encode(c->md[c->pick].key_id,
			      c->md[c->pick].key_id_len, hex);
		vc_err("%s: refusing: already an eVLU (key-id %s); attach it, or decrypt-off first",
		       path, hex);
		r = VC_EISEVLU;
		goto out;
	}
	if (c->pick == -ENOENT || c->pick == -EOPNOTSUPP) {
		vc_err("%s: refusing: already an eVLU, but its metadata is %s; see veilctl(8), TROUBLESHOOTING",
		       path, c->pick == -EOPNOTSUPP ?
		       "from a newer veil" : "damaged");
		r = VC_EISEVLU;
		goto out;
	}
	r = veil_md_init(md, d.sectors, o->sector_size ? o->sector_size : 512,
			 &why);
	if (r) {
		vc_err("%s: %s", path, why);
		r = VC_EUSAGE;
		goto out;
	}
	if (o->n_plaintext) {
		char rwhy[256];

		memcpy(md->plaintext, o->plaintext,
		       o->n_plaintext * sizeof(*o->plaintext));
		md->n_plaintext = o->n_plaintext;
		if (vc_ranges_check(md->plaintext, md->n_plaintext,
				    md->data_sectors, md->sector_size, rwhy,
				    sizeof(rwhy))) {
			vc_err("%s: --plaintext: %s", path, rwhy);
			r = VC_EUSAGE;
			goto out;
		}
	}
	if (getrandom(md->uuid, sizeof(md->uuid), 0) != sizeof(md->uuid)) {
		vc_err("getrandom: %s", strerror(errno));
		r = VC_EFAIL;
		goto out;
	}
	snprintf(md->cipher, sizeof(md->cipher), "%s",
		 o->cipher ? o->cipher : DEFAULT_CIPHER);
	if (o->label)
		snprintf(md->label, sizeof(md->label), "%s", o->label);
	if (!o->key_id) {
		r = vc_provision(o->conf, o->local, id, id_len, &key_bytes,
				 md->key_hint);
		if (r)
			goto out;
	}
	memcpy(md->key_id, id, id_len);
	md->key_id_len = id_len;
	md->key_bytes = key_bytes;
	veil_hex_encode(id, id_len, hex);

	fd = open(path, O_RDWR | O_DIRECT | O_EXCL | O_CLOEXEC);
	if (fd < 0) {
		vc_err("%s: %s", path, strerror(errno));
		r = errno == EBUSY ? VC_EBUSY : VC_EFAIL;
		goto out;
	}
	r = veil_md_write_dev_why(fd, d.sectors, md, 0, &why);
	close(fd);
	if (r) {
		vc_err("%s: cannot write metadata: %s (%s)", path,
		       why ? why : "write failed", strerror(-r));
		r = r == -EINVAL ? VC_EUSAGE : VC_EFAIL;
		goto out;
	}
	vc_info("%s: encrypted: key-id %s, %s, data area %llu sectors at sector %llu",
		path, hex, md->cipher, (unsigned long long)md->data_sectors,
		(unsigned long long)md->data_offset);
	r = o->attach ? vc_attach_dev(path, &o->at, out) : VC_OK;
out:
	free(md);
	free(c);
	return r;
}

int vc_parse_encrypt_opt(int c, const char *arg, struct vc_encrypt_opts *o)
{
	unsigned long v;
	char *end;

	switch (c) {
	case 'k':
		o->key_id = arg;
		return 0;
	case 'B':
		v = strtoul(arg, &end, 10);
		if (*end || !isdigit((unsigned char)*arg) || !v ||
		    v > VEIL_KEY_MAX) {
			vc_err("--key-bytes must be 1 to %d", VEIL_KEY_MAX);
			return VC_EUSAGE;
		}
		o->key_bytes = (uint32_t)v;
		return 0;
	case 'c':
		o->conf = arg;
		return 0;
	case 'L':
		o->local = true;
		return 0;
	case 'C':
		o->cipher = arg;
		return 0;
	case 'S':
		v = strtoul(arg, &end, 10);
		if (*end || (v != 512 && v != 4096)) {
			vc_err("--sector-size must be 512 or 4096");
			return VC_EUSAGE;
		}
		o->sector_size = (uint32_t)v;
		return 0;
	case 'l':
		if (strlen(arg) > VEIL_MD_LABEL_MAX) {
			vc_err("--label: at most %d bytes", VEIL_MD_LABEL_MAX);
			return VC_EUSAGE;
		}
		o->label = arg;
		return 0;
	case 'P':
		if (o->n_plaintext == VEIL_MD_PLAINTEXT_MAX) {
			vc_err("--plaintext: at most %d ranges",
			       VEIL_MD_PLAINTEXT_MAX);
			return VC_EUSAGE;
		}
		if (vc_parse_range(arg, &o->plaintext[o->n_plaintext])) {
			vc_err("--plaintext %s: want START:LEN in 512-byte sectors of the data area",
			       arg);
			return VC_EUSAGE;
		}
		o->n_plaintext++;
		return 0;
	}
	return -ENOENT;
}

int vc_encrypt_opts_done(struct vc_encrypt_opts *o)
{
	if (o->key_bytes && !o->key_id) {
		vc_err("--key-bytes goes with --key-id (a new key's size comes from the key manager configuration)");
		return VC_EUSAGE;
	}
	return VC_OK;
}

int cmd_encrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		VC_ENCRYPT_LONGOPTS,
		{ "no-attach", no_argument, NULL, 'N' },
		{ "key-timeout", required_argument, NULL, 'T' },
		{ "allow-discards", no_argument, NULL, 'D' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_encrypt_opts o = {
		.conf = VC_DEFAULT_ETC "/" VC_CONF_NAME,
		.attach = true,
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "c:w:", opts, NULL)) != -1) {
		if (c == 'N') {
			o.attach = false;
			continue;
		}
		r = vc_parse_encrypt_opt(c, optarg, &o);
		if (r > 0)
			return r;
		if (r < 0 && (c == '?' || vc_parse_attach_opt(c, optarg, &o.at)))
			return vc_usage("encrypt");
	}
	if (argc - optind < 1 || argc - optind > 2)
		return vc_usage("encrypt");
	r = vc_encrypt_opts_done(&o);
	if (r)
		return r;
	o.at.name = argc - optind == 2 ? argv[optind + 1] : NULL;
	return vc_encrypt_dev(argv[optind], &o, NULL);
}
