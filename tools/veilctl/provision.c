// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: create a new key on the key manager for encrypt and migrate,
 * with libveil's KMIP client and veild's configuration file (the same
 * identity and CA veild uses on this host).  veilctl learns the key-id,
 * never the key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/kmip.h"
#include "util.h"
#include "veil_md.h"
#include "veilctl.h"

int vc_provision(const char *conf, bool local, uint8_t *id, size_t id_len,
		 uint32_t *key_bytes, char hint[VEIL_KEY_HINT_MAX])
{
	struct veil_kmip_conf *c;
	struct kmip_client *kc = NULL;
	char err[512], uid[KMIP_UID_MAX], shown[VEIL_ESCAPED_SIZE(KMIP_UID_MAX)];
	SSL_CTX *ctx = NULL;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	veil_kmip_conf_defaults(c);
	r = veil_kmip_conf_load(c, conf, err, sizeof(err));
	if (r) {
		vc_err("key manager configuration: %s (run 'veilctl setup', or give --key-id for a key provisioned already)",
		       err);
		r = VC_ECERT;
		goto out;
	}
	ctx = kmip_tls_ctx_new(c, err, sizeof(err));
	if (!ctx) {
		vc_err("TLS setup with %s: %s", conf, err);
		r = VC_ECERT;
		goto out;
	}
	kc = kmip_client_new(c, ctx);
	if (!kc) {
		r = VC_EFAIL;
		goto out;
	}
	r = veil_kmip_provision(kc, c->key_bits, local, id, id_len, uid);
	if (r) {
		vc_err("key manager refused to create a key: %s (%s)",
		       kmip_client_error(kc)[0] ? kmip_client_error(kc) :
		       strerror(-r), strerror(-r));
		r = VC_EKM;
		goto out;
	}
	*key_bytes = c->key_bits / 8;
	vc_info("key manager %s: created key %s", kmip_client_peer(kc),
		veil_escape_str(shown, sizeof(shown), uid));
	hint[0] = '\0';
	if (veil_md_key_hint_ok(uid))
		memcpy(hint, uid, strlen(uid) + 1);
	else
		vc_info("key manager's identifier %s cannot be a key-hint: unlocking will locate the key by name",
			veil_escape_str(shown, sizeof(shown), uid));
	r = VC_OK;
out:
	kmip_client_free(kc);
	if (ctx)
		SSL_CTX_free(ctx);
	free(c);
	return r;
}

int vc_provision_key_bytes(const char *conf, uint32_t *key_bytes)
{
	struct veil_kmip_conf *c = calloc(1, sizeof(*c));
	char err[512];
	int r = VC_OK;

	if (!c)
		return VC_EFAIL;
	veil_kmip_conf_defaults(c);
	if (veil_kmip_conf_load(c, conf, err, sizeof(err))) {
		vc_err("key manager configuration: %s (run 'veilctl setup', or give --key-id for a key provisioned already)",
		       err);
		r = VC_ECERT;
	} else {
		*key_bytes = c->key_bits / 8;
	}
	free(c);
	return r;
}
