// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl migrate SRC DST [NAME]: copy a plaintext LU into a new eVLU.
 * DST is encrypted (as by encrypt) and attached; once its key has
 * arrived, SRC is copied through the mapping (so the data lands
 * encrypted), then both are read back with O_DIRECT and compared, with a
 * SHA-256 of each side in the report.  SRC is left as it was.
 *
 * A progress bar goes to stderr when it is a terminal, or with --progress.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "md_io.h"
#include "util.h"
#include "veilctl.h"

#define CHUNK (1024 * 1024)

static int copy(const char *src, const char *dst, uint64_t bytes,
		struct vc_progress *p, void *buf)
{
	int in, out, r = 0;
	uint64_t off;
	size_t n;

	in = open(src, O_RDONLY | O_DIRECT | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (in < 0 || out < 0) {
		r = -errno;
		goto out;
	}
	vc_progress_start(p, "copying  ", 0);
	for (off = 0; off < bytes && !r; off += n) {
		n = bytes - off < CHUNK ? bytes - off : CHUNK;
		r = veil_pread_full(in, buf, n, off);
		if (r) {
			vc_err("%s: read at byte %llu: %s", src,
			       (unsigned long long)off, strerror(-r));
			break;
		}
		r = veil_pwrite_full(out, buf, n, off);
		if (r)
			vc_err("%s: write at byte %llu: %s", dst,
			       (unsigned long long)off, strerror(-r));
		vc_progress(p, off + n, false);
	}
	if (!r && fdatasync(out)) {
		r = -errno;
		vc_err("%s: sync: %s", dst, strerror(errno));
	}
	if (!r)
		vc_progress(p, bytes, true);
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

/* Read both back, compare, and hash each side. */
static int verify(const char *src, const char *dst, uint64_t bytes,
		  struct vc_progress *p, void *b1, void *b2, char *hex)
{
	unsigned char d1[EVP_MAX_MD_SIZE], d2[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *h1 = EVP_MD_CTX_new(), *h2 = EVP_MD_CTX_new();
	unsigned int l1 = 0, l2 = 0;
	int in = -1, out = -1, r = -ENOMEM;
	uint64_t off;
	size_t n;

	if (!h1 || !h2 || !EVP_DigestInit_ex(h1, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(h2, EVP_sha256(), NULL))
		goto out;
	in = open(src, O_RDONLY | O_DIRECT | O_CLOEXEC);
	out = open(dst, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (in < 0 || out < 0) {
		r = -errno;
		goto out;
	}
	vc_progress_start(p, "verifying", 0);
	r = 0;
	for (off = 0; off < bytes; off += n) {
		n = bytes - off < CHUNK ? bytes - off : CHUNK;
		r = veil_pread_full(in, b1, n, off);
		if (!r)
			r = veil_pread_full(out, b2, n, off);
		if (r) {
			vc_err("verify: read at byte %llu: %s",
			       (unsigned long long)off, strerror(-r));
			goto out;
		}
		EVP_DigestUpdate(h1, b1, n);
		EVP_DigestUpdate(h2, b2, n);
		if (memcmp(b1, b2, n)) {
			vc_err("verify: %s differs from %s in the MiB at byte %llu",
			       dst, src, (unsigned long long)off);
			r = -EIO;
			goto out;
		}
		vc_progress(p, off + n, false);
	}
	vc_progress(p, bytes, true);
	EVP_DigestFinal_ex(h1, d1, &l1);
	EVP_DigestFinal_ex(h2, d2, &l2);
	if (l1 != l2 || memcmp(d1, d2, l1)) {
		r = -EIO;
		goto out;
	}
	veil_hex_encode(d1, l1, hex);
out:
	EVP_MD_CTX_free(h1);
	EVP_MD_CTX_free(h2);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		VC_ENCRYPT_LONGOPTS,
		{ "wait", required_argument, NULL, 'w' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'q' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_encrypt_opts o = {
		.conf = VC_DEFAULT_ETC "/" VC_CONF_NAME,
		.attach = true,
		.at.wait = 60,
	};
	struct vc_progress p = { .on = isatty(2) };
	char dst[256], hex[2 * EVP_MAX_MD_SIZE + 1], size[32];
	bool check = true;
	struct veil_md *md = NULL;
	struct vc_dev s, d;
	struct vc_map m;
	void *b1 = NULL, *b2 = NULL;
	const char *why;
	double t0;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': p.on = true; break;
		case 'q': p.on = false; break;
		case 'V': check = false; break;
		default:
			r = vc_parse_encrypt_opt(c, optarg, &o);
			if (r > 0)
				return r;
			if (r < 0 && (c == '?' ||
				      vc_parse_attach_opt(c, optarg, &o.at)))
				return vc_usage("migrate");
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || o.at.wait < 1)
		return vc_usage("migrate");
	r = vc_encrypt_opts_done(&o);
	if (r)
		return r;
	o.at.name = argc - optind == 3 ? argv[optind + 2] : NULL;
	r = vc_dev_open_info(argv[optind], &s);
	if (!r)
		r = vc_dev_check_free(&s, NULL);
	if (!r)
		r = vc_dev_open_info(argv[optind + 1], &d);
	if (r)
		return r;
	if (s.major == d.major && s.minor == d.minor) {
		vc_err("source and destination are the same device");
		return VC_EUSAGE;
	}
	md = calloc(1, sizeof(*md));
	if (!md)
		return VC_EFAIL;
	if (veil_md_init(md, d.sectors, o.sector_size ? o.sector_size : 512,
			 &why) ||
	    md->data_sectors < s.sectors) {
		vc_err("%s is too small: %llu sectors of data area, %s needs %llu",
		       d.path, (unsigned long long)(d.sectors > 2 * VEIL_MD_AREA_SECTORS ?
		       md->data_sectors : 0), s.path,
		       (unsigned long long)s.sectors);
		free(md);
		return VC_EUSAGE;
	}
	free(md);

	r = vc_encrypt_dev(d.path, &o, &m);
	if (r && r != VC_EWAITING && r != VC_ENOKEY)
		return r;
	if (strcmp(m.info.state, "encrypted")) {
		vc_err("%s: the key did not arrive (%s%s%s): nothing copied; %s stays an (empty) eVLU",
		       m.name, m.info.state, m.info.reason[0] ? ": " : "",
		       m.info.reason, d.path);
		return vc_state_exit(m.info.state);
	}
	snprintf(dst, sizeof(dst), "/dev/mapper/%s", m.name);
	if (posix_memalign(&b1, 4096, CHUNK) || posix_memalign(&b2, 4096, CHUNK)) {
		free(b1);
		return VC_EFAIL;
	}
	p.total = s.sectors * 512;
	vc_fmt_size(p.total, size, sizeof(size));
	vc_info("migrating %s (%s) into %s", s.path, size, dst);
	t0 = vc_now();
	r = copy(s.path, dst, p.total, &p, b1);
	if (r) {
		r = VC_EFAIL;
		goto out;
	}
	vc_info("copied %s in %.1f s", size, vc_now() - t0);
	if (check) {
		r = verify(s.path, dst, p.total, &p, b1, b2, hex);
		if (r) {
			vc_err("verification FAILED: do not use %s", dst);
			r = VC_EFAIL;
			goto out;
		}
		vc_info("verified: sha256 %s on both sides", hex);
	}
	vc_info("%s now holds %s's data encrypted (key-id %s); %s itself is unchanged",
		d.path, s.path, m.info.key_id, s.path);
	r = VC_OK;
out:
	free(b1);
	free(b2);
	return r;
}
