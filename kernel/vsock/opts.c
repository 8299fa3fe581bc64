// SPDX-License-Identifier: GPL-2.0
/*
 * Mount options of trans=vsock.  The 9p client hands every transport the
 * whole option string; options that belong to v9fs or the client (msize=,
 * version=, aname=, cache=, ...) are not ours and are skipped.
 *
 *   <CID>            device name: the server's vsock CID (decimal or 0x hex)
 *   port=N           server port, default 564
 *   keyid=HEX        1..64 bytes of key-id: do the proof handshake with the
 *                    secret veil.ko obtains for this key-id
 *   keytimeout=S     how long to wait for that secret, 1..3600 s, default 30
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vsock9p.h"

static int vs9p_parse_key_id(const char *hex, struct vs9p_opts *opts)
{
	size_t n = strlen(hex);

	if (!n || n % 2 || n / 2 > VEIL_KEY_ID_MAX) {
		pr_err("keyid= wants 2 to %d hex digits, an even number\n",
		       2 * VEIL_KEY_ID_MAX);
		return -EINVAL;
	}
	if (hex2bin(opts->key_id, hex, n / 2)) {
		pr_err("keyid= is not hexadecimal\n");
		return -EINVAL;
	}
	opts->key_id_len = n / 2;
	return 0;
}

static int vs9p_parse_one(char *opt, struct vs9p_opts *opts)
{
	char *val = strchr(opt, '=');
	unsigned int u;

	if (!val)
		return 0;
	*val++ = '\0';

	if (!strcmp(opt, "port")) {
		if (kstrtou32(val, 0, &opts->port)) {
			pr_err("port= wants a number, not \"%s\"\n", val);
			return -EINVAL;
		}
	} else if (!strcmp(opt, "keyid")) {
		return vs9p_parse_key_id(val, opts);
	} else if (!strcmp(opt, "keytimeout")) {
		if (kstrtouint(val, 0, &u) || !u || u > VS9P_MAX_KEY_TIMEOUT) {
			pr_err("keytimeout= wants 1 to %d seconds\n",
			       VS9P_MAX_KEY_TIMEOUT);
			return -EINVAL;
		}
		opts->key_timeout = u;
	}
	return 0;
}

int vs9p_opts_parse(const char *devname, const char *args,
		    struct vs9p_opts *opts)
{
	char *copy, *cur, *opt;
	int err = 0;

	memset(opts, 0, sizeof(*opts));
	opts->port = VS9P_DEFAULT_PORT;
	opts->key_timeout = VS9P_DEFAULT_KEY_TIMEOUT;

	if (!devname || kstrtou32(devname, 0, &opts->cid)) {
		pr_err("the device name must be the server's CID (a number), not \"%s\"\n",
		       devname ? devname : "");
		return -EINVAL;
	}
	if (!args)
		return 0;

	copy = kstrdup(args, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = copy;
	while (!err && (opt = strsep(&cur, ",")) != NULL)
		if (*opt)
			err = vs9p_parse_one(opt, opts);
	kfree(copy);
	return err;
}
