// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vsock proof handshake, host side.  The guest CID the proof must name is
 * the socket's peer CID (AF_VSOCK) or the VM's configured CID (a hybrid
 * unix socket, which already names the VM); the port is the one the
 * guest connected to.  The secret is read from the VM's secret_file at
 * each handshake (so a reload or a rotated file takes effect) and wiped
 * after use.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <linux/veil.h>

#include "util.h"
#include "fsd.h"
#include "proof.h"

int proof_mac(const uint8_t *secret, size_t secret_len,
	      const uint8_t nonce[32], uint32_t cid, uint32_t port, uint8_t mac[32])
{
	uint8_t msg[sizeof(VEIL_PROOF_LABEL) - 1 + VEIL_PROOF_NONCE_LEN + 8];
	size_t l = sizeof(VEIL_PROOF_LABEL) - 1;
	unsigned int maclen = 0;
	int i;

	memcpy(msg, VEIL_PROOF_LABEL, l);
	memcpy(msg + l, nonce, VEIL_PROOF_NONCE_LEN);
	l += VEIL_PROOF_NONCE_LEN;
	for (i = 0; i < 4; i++) {
		msg[l + i] = cid >> (8 * i);
		msg[l + 4 + i] = port >> (8 * i);
	}
	l += 8;
	if (!HMAC(EVP_sha256(), secret, secret_len, msg, l, mac, &maclen) ||
	    maclen != VEIL_PROOF_MAC_LEN)
		return -EIO;
	return 0;
}

int proof_read_secret(const char *path, uint8_t *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, len);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENOKEY;
	return n;
}

static int send_result(struct conn *c, uint32_t status)
{
	struct veil_proof_result r;
	int i;

	memcpy(r.magic, "VEILRSLT", 8);
	for (i = 0; i < 4; i++)
		((uint8_t *)&r.status)[i] = status >> (8 * i);
	if (veil_send_full(c->sock, &r, sizeof(r)))
		return -1;
	if (status)
		fsd_log(LOG_NOTICE, "%s: proof refused (%s)", c->peer, strerror(status));
	return status ? -1 : 0;
}

int proof_serve(struct conn *c)
{
	const struct vm_conf *vm = c->vm;
	struct veil_proof_hello h;
	struct veil_proof_nonce n;
	struct veil_proof_mac m;
	uint8_t secret[VEIL_PROOF_SECRET_MAX], want[VEIL_PROOF_MAC_LEN];
	uint32_t cid, klen;
	int slen, rc;

	memcpy(h.magic, PROOF_MAGIC4, 4);
	if (veil_read_full(c->sock, h.magic + 4, sizeof(h) - 4) ||
	    memcmp(h.magic, "VEILHELO", 8)) {
		fsd_log(LOG_NOTICE, "%s: malformed proof hello", c->peer);
		return -1;
	}
	klen = ((uint8_t *)&h.key_id_len)[0] | ((uint8_t *)&h.key_id_len)[1] << 8;
	if (p9_le32((uint8_t *)&h.version) != VEIL_PROOF_VERSION ||
	    !klen || klen > VEIL_KEY_ID_MAX) {
		fsd_log(LOG_NOTICE, "%s: proof hello of an unknown version or key-id length", c->peer);
		return -1;
	}
	/* The exchange always runs to the end; the verdict comes last. */
	memcpy(n.magic, "VEILNONC", 8);
	if (RAND_bytes(n.nonce, sizeof(n.nonce)) != 1 ||
	    veil_send_full(c->sock, &n, sizeof(n)) ||
	    veil_read_full(c->sock, &m, sizeof(m)) || memcmp(m.magic, "VEILPROF", 8))
		return -1;
	if (vm->key_id_len && (klen != vm->key_id_len || memcmp(h.key_id, vm->key_id, klen)))
		return send_result(c, ENOKEY);
	/* Without a secret (or, on a hybrid socket, the guest's CID) there is
	 * nothing to verify; config.c makes sure require_proof has both. */
	if (!vm->secret_file || (c->bind == BIND_UDS && vm->cid < 0))
		return send_result(c, 0);
	slen = proof_read_secret(vm->secret_file, secret, sizeof(secret));
	if (slen < 0) {
		fsd_log(LOG_ERR, "vm %s: secret file %s: %s", vm->name, vm->secret_file,
			slen == -EPERM ? "must be a regular file owned by root, mode 0600 or stricter"
				       : strerror(-slen));
		return send_result(c, ENOKEY);
	}
	cid = c->bind == BIND_CID ? c->cid : (uint32_t)vm->cid;
	rc = proof_mac(secret, slen, n.nonce, cid, c->port, want);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (rc)
		return send_result(c, EIO);
	rc = CRYPTO_memcmp(want, m.mac, sizeof(want));
	OPENSSL_cleanse(want, sizeof(want));
	return send_result(c, rc ? EACCES : 0);
}
