// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's side of the vsock proof handshake (include/uapi/linux/veil.h,
 * "vsock proof handshake"), run on the fresh socket before any 9P message:
 *
 *   hello  ->   magic, version, key-id
 *          <-   nonce (32 bytes)
 *   mac    ->   HMAC-SHA256(secret, label || nonce || le32 our CID ||
 *                            le32 server port)
 *          <-   result: 0, or a positive errno
 *
 * Every read is bounded by the socket's receive timeout
 * (VS9P_HANDSHAKE_TIMEOUT), so a server that says nothing fails the mount
 * instead of hanging it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/string.h>

#include "vsock9p.h"

#define VS9P_MAGIC_LEN	8

static int vs9p_proof_mac(struct vs9p_conn *conn,
			  const struct vs9p_secret *secret,
			  const u8 *nonce, u8 *mac)
{
	struct crypto_shash *tfm;
	__le32 cid = cpu_to_le32(conn->local_cid);
	__le32 port = cpu_to_le32(conn->opts.port);
	int err;

	tfm = crypto_alloc_shash("hmac(sha256)", 0, 0);
	if (IS_ERR(tfm)) {
		pr_err("%s: no hmac(sha256) in this kernel: %ld\n",
		       conn->name, PTR_ERR(tfm));
		return PTR_ERR(tfm);
	}
	err = crypto_shash_setkey(tfm, secret->key, secret->len);
	if (err)
		goto out_free;

	{
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		err = crypto_shash_init(desc);
		if (!err)
			err = crypto_shash_update(desc, VEIL_PROOF_LABEL,
						  strlen(VEIL_PROOF_LABEL));
		if (!err)
			err = crypto_shash_update(desc, nonce,
						  VEIL_PROOF_NONCE_LEN);
		if (!err)
			err = crypto_shash_update(desc, (u8 *)&cid, sizeof(cid));
		if (!err)
			err = crypto_shash_update(desc, (u8 *)&port,
						  sizeof(port));
		if (!err)
			err = crypto_shash_final(desc, mac);
		shash_desc_zero(desc);
	}

out_free:
	/* Frees (and zeroes) the tfm's copy of the key. */
	crypto_free_shash(tfm);
	return err;
}

static const char *vs9p_proof_step(int step)
{
	static const char * const steps[] = {
		"sending the hello", "reading the nonce",
		"sending the proof", "reading the result",
	};

	return steps[step];
}

static int vs9p_proof_io_err(struct vs9p_conn *conn, int step, int err)
{
	if (err == -EAGAIN) {
		pr_err("%s: proof handshake: no answer within %d s while %s\n",
		       conn->name, VS9P_HANDSHAKE_TIMEOUT, vs9p_proof_step(step));
		return -ETIMEDOUT;
	}
	if (err == -ECONNRESET || err == -EPIPE)
		pr_err("%s: proof handshake: the server closed the connection while %s (does it speak the veil proof?)\n",
		       conn->name, vs9p_proof_step(step));
	else
		pr_err("%s: proof handshake: error %d while %s\n",
		       conn->name, err, vs9p_proof_step(step));
	return err;
}

int vs9p_proof_run(struct vs9p_conn *conn, const struct vs9p_secret *secret)
{
	struct veil_proof_hello hello = {};
	struct veil_proof_nonce nonce;
	struct veil_proof_mac mac = {};
	struct veil_proof_result result;
	u32 status;
	int err;

	memcpy(hello.magic, "VEILHELO", VS9P_MAGIC_LEN);
	hello.version = cpu_to_le32(VEIL_PROOF_VERSION);
	hello.key_id_len = cpu_to_le16(conn->opts.key_id_len);
	memcpy(hello.key_id, conn->opts.key_id, conn->opts.key_id_len);
	err = vs9p_sock_send(conn->sock, &hello, sizeof(hello));
	if (err)
		return vs9p_proof_io_err(conn, 0, err);

	err = vs9p_sock_recv(conn->sock, &nonce, sizeof(nonce));
	if (err)
		return vs9p_proof_io_err(conn, 1, err);
	if (memcmp(nonce.magic, "VEILNONC", VS9P_MAGIC_LEN)) {
		pr_err("%s: proof handshake: the server answered the hello with something other than a nonce\n",
		       conn->name);
		return -EPROTO;
	}

	memcpy(mac.magic, "VEILPROF", VS9P_MAGIC_LEN);
	err = vs9p_proof_mac(conn, secret, nonce.nonce, mac.mac);
	if (err)
		goto out_wipe;
	err = vs9p_sock_send(conn->sock, &mac, sizeof(mac));
	if (err) {
		err = vs9p_proof_io_err(conn, 2, err);
		goto out_wipe;
	}

	err = vs9p_sock_recv(conn->sock, &result, sizeof(result));
	if (err) {
		err = vs9p_proof_io_err(conn, 3, err);
		goto out_wipe;
	}
	if (memcmp(result.magic, "VEILRSLT", VS9P_MAGIC_LEN)) {
		pr_err("%s: proof handshake: the server answered the proof with something other than a result\n",
		       conn->name);
		err = -EPROTO;
		goto out_wipe;
	}
	status = le32_to_cpu(result.status);
	if (status) {
		pr_err("%s: the server refused our proof (status %u%s)\n",
		       conn->name, status,
		       status == EACCES ? ": wrong secret" :
		       status == ENOKEY ? ": it has no secret for this VM" : "");
		/* Only the documented answers pass through as they are. */
		err = status == ENOKEY ? -ENOKEY : -EACCES;
		goto out_wipe;
	}
	pr_info("%s: proof accepted (key-id of %u bytes, our CID %u)\n",
		conn->name, conn->opts.key_id_len, conn->local_cid);

out_wipe:
	memzero_explicit(&mac, sizeof(mac));
	return err;
}
