// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: the host's identity towards the key manager -- its key pair,
 * certificate request and certificate (libcrypto).  The key manager knows
 * a host by its certificate's common name and insists on the clientAuth
 * extended key usage, so both are checked before a certificate is
 * installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "veilctl.h"

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		errno = EINVAL;
	return x;
}

int vc_cert_days_left(const char *pem, long *days, char *subject,
		      size_t subject_size)
{
	int d = 0, s = 0;
	X509 *x = read_cert(pem);

	if (!x)
		return -errno;
	if (!ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(x))) {
		X509_free(x);
		return -EINVAL;
	}
	/* Whole days left; an expired certificate counts negative. */
	*days = d - (s < 0 ? 1 : 0);
	if (subject)
		X509_NAME_oneline(X509_get_subject_name(x), subject,
				  (int)subject_size);
	X509_free(x);
	return 0;
}

int vc_cert_make_csr(const char *key_path, const char *csr_path,
		     const char *cn)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name;
	FILE *f = NULL;
	int fd, r = -EIO;

	if (!pk || !req)
		goto out;
	fd = open(key_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (!PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)) {
		fclose(f);
		goto out;
	}
	if (fclose(f))
		goto out;
	name = X509_REQ_get_subject_name(req);
	if (!X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_pubkey(req, pk) ||
	    !X509_REQ_sign(req, pk, EVP_sha256()))
		goto out;
	f = fopen(csr_path, "w");
	if (!f) {
		r = -errno;
		goto out;
	}
	if (PEM_write_X509_REQ(f, req) && !fclose(f))
		r = 0;
	else
		fclose(f);
out:
	X509_REQ_free(req);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return r;
}

int vc_cert_check_pair(const char *cert_path, const char *key_path,
		       char *why, size_t why_size)
{
	EVP_PKEY *pk = NULL;
	X509 *x = read_cert(cert_path);
	FILE *f;
	int r = -EINVAL;

	if (!x) {
		snprintf(why, why_size, "%s: not a PEM certificate", cert_path);
		return -EINVAL;
	}
	f = fopen(key_path, "r");
	if (f) {
		pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!pk)
		snprintf(why, why_size, "%s: not a readable PEM private key",
			 key_path);
	else if (X509_check_private_key(x, pk) != 1)
		snprintf(why, why_size, "%s does not belong to the key %s",
			 cert_path, key_path);
	else if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) ||
		 !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT))
		snprintf(why, why_size, "%s lacks the clientAuth extended key usage the key manager requires",
			 cert_path);
	else
		r = 0;
	EVP_PKEY_free(pk);
	X509_free(x);
	ERR_clear_error();
	return r;
}

void vc_conf_cert_path(const char *etc, char *path, size_t size)
{
	char conf[4096], line[4352], *k, *v, *e;
	FILE *f;

	path[0] = '\0';
	snprintf(conf, sizeof(conf), "%s/%s", etc, VC_CONF_NAME);
	f = fopen(conf, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		k = line + strspn(line, " \t");
		if (strncmp(k, "cert", 4))
			continue;
		v = k + 4 + strspn(k + 4, " \t");
		if (*v != '=')
			continue;
		v += 1 + strspn(v + 1, " \t");
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		snprintf(path, size, "%s", v);
	}
	fclose(f);
}

int vc_cert_cn(const char *pem, char *cn, size_t size)
{
	X509 *x = read_cert(pem);
	int r;

	if (!x)
		return -errno;
	r = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
				      NID_commonName, cn, (int)size);
	X509_free(x);
	return r > 0 ? 0 : -ENOENT;
}
