/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host side of the vsock proof handshake (include/uapi/linux/veil.h,
 * "vsock proof handshake"): the guest proves it holds its VM's secret by
 * an HMAC-SHA256 over a fresh nonce, its CID and the port.
 */
#ifndef VEIL_FSD_PROOF_H
#define VEIL_FSD_PROOF_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* The 4 bytes a hello starts with, as a 9P size field could never be. */
#define PROOF_MAGIC4	"VEIL"

/*
 * Run the handshake on c->sock after its first 4 bytes (already read,
 * and equal to PROOF_MAGIC4).  Returns 0 if the guest proved itself (or
 * the VM needs no proof and has no secret), else -1: the result was sent
 * (where the protocol allows) and the connection must close.
 */
int proof_serve(struct conn *c);

/* The MAC itself, shared with the tests' client. */
int proof_mac(const uint8_t *secret, size_t secret_len,
	      const uint8_t nonce[32], uint32_t cid, uint32_t port, uint8_t mac[32]);

/*
 * Read a root-only secret file (owner root, no group/other access).
 * Returns its length or -errno (-EPERM for a file others could read).
 */
int proof_read_secret(const char *path, uint8_t *buf, size_t len);

#endif
