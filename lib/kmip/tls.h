/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to lib/kmip: one TLS connection to a key manager. */
#ifndef VEIL_KMIP_TLS_H
#define VEIL_KMIP_TLS_H

#include <stdbool.h>
#include <time.h>

#include <openssl/ssl.h>

#include "kmip/kmip.h"

struct kmip_tls {
	SSL *ssl;
	int fd;				/* non-blocking */
	int cancel_fd;			/* readable: abandon every wait; -1 none */
	char peer[300];			/* "host:port", for messages */
};

void kmip_deadline(struct timespec *d, int ms);
/*
 * Connect (within connect_timeout) and handshake (within io_timeout),
 * verifying the server against the CA and its name (server_name, else
 * the host, against subjectAltName only; an IP address is checked as
 * one).  0 or -errno with err set and *transient saying whether a retry
 * may help.
 */
int kmip_tls_connect(const struct veil_kmip_conf *c, SSL_CTX *ctx,
		     const struct kmip_server *s, struct kmip_tls *t,
		     char *err, size_t errlen, bool *transient);
void kmip_tls_close(struct kmip_tls *t);
bool kmip_tls_stale(struct kmip_tls *t);
/*
 * Write all of @buf, or read until *got == len (*got advances as bytes
 * arrive), giving up at @deadline (-ETIMEDOUT; @budget_ms is what the
 * message names).  A TLS alert refusing this host's certificate is
 * -EKEYREJECTED, as in the handshake.
 */
int kmip_tls_write(struct kmip_tls *t, const void *buf, size_t len,
		   const struct timespec *deadline, int budget_ms,
		   char *err, size_t errlen, bool *transient);
int kmip_tls_read(struct kmip_tls *t, void *buf, size_t len,
		  const struct timespec *deadline, int budget_ms, size_t *got,
		  char *err, size_t errlen, bool *transient);

#endif /* VEIL_KMIP_TLS_H */
