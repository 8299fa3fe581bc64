// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The TLS side of the KMIP client: one SSL_CTX per configuration (CA,
 * client certificate and key, TLS 1.2 minimum), and one connection with
 * verification of the server's name or address.
 *
 * Time bounds are wall-clock deadlines, not per-call socket timeouts: the
 * socket is non-blocking and every wait polls for what is left of its
 * deadline, so a peer that trickles bytes (one a second inside one TLS
 * record, or through its handshake) is cut off at the deadline like a
 * silent one.  TCP connect: connect_timeout.  TLS handshake: io_timeout.
 * One request and its whole reply: io_timeout (client.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "kmip/kmip.h"
#include "kmip/tls.h"

static void ssl_errstr(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, size);
	else
		snprintf(buf, size, "unknown TLS error");
	ERR_clear_error();
}

/*
 * Can we read @path?  OpenSSL's own message for an unreadable file is a
 * bare "system lib"; say which file and why.  A private key must be
 * private: any group or other permission bit refuses it, as ssh does.
 */
static int check_file(const char *path, const char *what, bool secret,
		      char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	/* O_NONBLOCK: a FIFO named by mistake must not hang veild -t */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot read %s %s: %s", what, path,
			 strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot read %s %s: %s", what, path,
			 strerror(e));
		return -e;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		return -EINVAL;
	}
	if (secret && (st.st_mode & 077)) {
		snprintf(err, errlen, "%s %s is accessible by group or others (mode %04o): refusing it; fix with: chmod 600 %s",
			 what, path, (unsigned int)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

SSL_CTX *kmip_tls_ctx_new(const struct veil_kmip_conf *c, char *err,
			  size_t errlen)
{
	char e[200];
	SSL_CTX *ctx;

	if (check_file(c->ca, "CA certificates", false, err, errlen) ||
	    check_file(c->cert, "client certificate", false, err, errlen) ||
	    check_file(c->key, "client key", true, err, errlen))
		return NULL;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ssl_errstr(e, sizeof(e));
		snprintf(err, errlen, "cannot create a TLS context: %s", e);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* wipe decrypted records (key bytes) before OpenSSL frees them */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1) {
		ssl_errstr(e, sizeof(e));
		snprintf(err, errlen, "cannot load CA certificates from %s: %s",
			 c->ca, e);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
		ssl_errstr(e, sizeof(e));
		snprintf(err, errlen, "cannot load client certificate %s: %s",
			 c->cert, e);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1) {
		ssl_errstr(e, sizeof(e));
		snprintf(err, errlen, "cannot load client key %s: %s", c->key, e);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errstr(e, sizeof(e));
		snprintf(err, errlen, "client key %s does not match certificate %s",
			 c->key, c->cert);
		goto fail;
	}
	return ctx;

fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

void kmip_deadline(struct timespec *d, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

static int tcp_connect_one(const struct addrinfo *ai, int timeout_ms,
			   int cancel_fd, int *fdp)
{
	struct timespec deadline;
	struct pollfd pfd[2];
	socklen_t sl;
	int fd, err = 0, r;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	kmip_deadline(&deadline, timeout_ms);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		err = -errno;
		goto fail;
	}
	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLOUT };
	pfd[1] = (struct pollfd){ .fd = cancel_fd, .events = POLLIN };
	for (;;) {
		long left = ms_left(&deadline);

		if (left <= 0) {
			err = -ETIMEDOUT;
			goto fail;
		}
		r = poll(pfd, cancel_fd >= 0 ? 2 : 1, (int)left);
		if (r > 0 && pfd[1].revents) {
			err = -ECANCELED;
			goto fail;
		}
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR) {
			err = -errno;
			goto fail;
		}
	}
	sl = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl)) {
		err = -errno;
		goto fail;
	}
	if (err) {
		err = -err;
		goto fail;
	}
	*fdp = fd;
	return 0;

fail:
	close(fd);
	return err;
}

static int tcp_connect(const struct kmip_server *s, int timeout_ms,
		       int cancel_fd, int *fdp, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	}, *res, *ai;
	int r, e = -EHOSTUNREACH;

	r = getaddrinfo(s->host, s->port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "cannot resolve %s: %s", s->host,
			 gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		e = tcp_connect_one(ai, timeout_ms, cancel_fd, fdp);
		if (!e || e == -ECANCELED)
			break;
	}
	freeaddrinfo(res);
	if (e)
		snprintf(err, errlen, "connect to %s:%s: %s", s->host, s->port,
			 strerror(-e));
	return e;
}

static bool is_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* Did the server reject our certificate (a TLS alert about it)? */
static bool alert_about_our_cert(unsigned long e)
{
	int reason = ERR_GET_REASON(e);

	return reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
	       reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
	       reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
	       reason == SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED ||
	       reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
	       reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
	       reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED ||
	       reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED;
}

/*
 * Wait until the socket can do what OpenSSL asked for (@e is
 * SSL_ERROR_WANT_READ or SSL_ERROR_WANT_WRITE), at most until @deadline.
 * Every TLS call runs on a non-blocking socket through this, so a peer
 * that sends one byte at a time cannot stretch a call past its deadline.
 */
static int tls_wait(const struct kmip_tls *t, int e,
		    const struct timespec *deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = t->fd,
		  .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN },
		{ .fd = t->cancel_fd, .events = POLLIN },
	};
	long left;
	int r;

	for (;;) {
		left = ms_left(deadline);
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(pfd, t->cancel_fd >= 0 ? 2 : 1,
			 left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0 && pfd[1].revents)
			return -ECANCELED;
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Is @e a wait OpenSSL wants us to do (and not a failure)? */
static bool tls_want(int e)
{
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

int kmip_tls_connect(const struct veil_kmip_conf *c, SSL_CTX *ctx,
		     const struct kmip_server *s, struct kmip_tls *t,
		     char *err, size_t errlen, bool *transient)
{
	const char *name = c->server_name[0] ? c->server_name : s->host;
	struct timespec deadline;
	int fd = -1, one = 1, r, e, w = 0;
	unsigned long ssl_e;
	char es[160];
	long vr;

	*transient = true;
	r = tcp_connect(s, c->connect_timeout_ms, t->cancel_fd, &fd, err,
			errlen);
	if (r)
		return r;
	/* the socket stays non-blocking: every TLS call waits in tls_wait() */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));

	t->ssl = SSL_new(ctx);
	if (!t->ssl) {
		close(fd);
		snprintf(err, errlen, "out of memory for a TLS session");
		*transient = false;
		return -ENOMEM;
	}
	SSL_set_fd(t->ssl, fd);
	t->fd = fd;
	snprintf(t->peer, sizeof(t->peer), "%s:%s", s->host, s->port);
	if (is_ip(name)) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name);
	} else {
		SSL_set_tlsext_host_name(t->ssl, name);
		/* subjectAltName only: never fall back to the subject's CN */
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
		SSL_set1_host(t->ssl, name);
	}

	/* the whole handshake, however the server paces it, within io_timeout */
	kmip_deadline(&deadline, c->io_timeout_ms);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(t->ssl);
		if (r == 1)
			return 0;
		e = SSL_get_error(t->ssl, r);
		if (!tls_want(e))
			break;
		w = tls_wait(t, e, &deadline);
		if (w)
			break;
	}

	vr = SSL_get_verify_result(t->ssl);
	ssl_e = ERR_peek_last_error();
	if (w == -ETIMEDOUT) {
		snprintf(err, errlen, "%s:%s: TLS handshake not done within io_timeout (%d ms)",
			 s->host, s->port, c->io_timeout_ms);
		r = -ETIMEDOUT;
	} else if (w == -ECANCELED) {
		snprintf(err, errlen, "%s:%s: TLS handshake abandoned (cancelled)",
			 s->host, s->port);
		*transient = false;
		r = w;
	} else if (w) {
		snprintf(err, errlen, "%s:%s: TLS handshake: %s", s->host,
			 s->port, strerror(-w));
		r = w;
	} else if (vr != X509_V_OK) {
		snprintf(err, errlen, "%s:%s: server certificate rejected: %s (expected %s)",
			 s->host, s->port, X509_verify_cert_error_string(vr),
			 name);
		*transient = false;
		r = -EPROTO;
	} else if (e == SSL_ERROR_SSL && alert_about_our_cert(ssl_e)) {
		ssl_errstr(es, sizeof(es));
		snprintf(err, errlen, "%s:%s: key manager refused this host's certificate (%s)",
			 s->host, s->port, es);
		*transient = false;
		r = -EKEYREJECTED;
	} else if (e == SSL_ERROR_SSL &&
		   ERR_GET_REASON(ssl_e) != SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ssl_errstr(es, sizeof(es));
		snprintf(err, errlen, "%s:%s: TLS handshake failed (not a KMIP/TLS server?): %s",
			 s->host, s->port, es);
		*transient = false;
		r = -EPROTO;
	} else {
		snprintf(err, errlen, "%s:%s: connection closed during the TLS handshake%s%s",
			 s->host, s->port, errno ? ": " : "",
			 errno ? strerror(errno) : "");
		r = -ECONNRESET;
	}
	ERR_clear_error();
	kmip_tls_close(t);
	return r;
}

void kmip_tls_close(struct kmip_tls *t)
{
	if (t->ssl) {
		/* a quiet close: never wait for the peer's close_notify */
		SSL_set_quiet_shutdown(t->ssl, 1);
		SSL_free(t->ssl);
		t->ssl = NULL;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The server closed (or wrote unasked) while we were idle. */
bool kmip_tls_stale(struct kmip_tls *t)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

	if (!t->ssl)
		return true;
	if (SSL_pending(t->ssl))
		return true;
	return poll(&pfd, 1, 0) != 0;
}

/*
 * An OpenSSL call failed (@e from SSL_get_error) or its wait did (@w).
 * A TLS 1.3 server checks the client's certificate after the client has
 * finished its handshake, so its refusal arrives as an alert on the
 * first read: it is EKEYREJECTED here as in the handshake.
 */
static int io_err(struct kmip_tls *t, int e, int w, const char *what,
		  int budget_ms, char *err, size_t errlen, bool *transient)
{
	unsigned long ssl_e = ERR_peek_last_error();
	char es[160];

	*transient = true;
	if (w == -ETIMEDOUT) {
		snprintf(err, errlen, "timed out %s (io_timeout %d ms)", what,
			 budget_ms);
		return -ETIMEDOUT;
	}
	if (w == -ECANCELED) {
		snprintf(err, errlen, "%s abandoned (cancelled)", what);
		*transient = false;
		return w;
	}
	if (w) {
		snprintf(err, errlen, "%s: %s", what, strerror(-w));
		return w;
	}
	if (e == SSL_ERROR_SSL && alert_about_our_cert(ssl_e)) {
		ssl_errstr(es, sizeof(es));
		snprintf(err, errlen, "%s: key manager refused this host's certificate (%s)",
			 t->peer, es);
		*transient = false;
		return -EKEYREJECTED;
	}
	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL && errno == 0) ||
	    (e == SSL_ERROR_SSL &&
	     ERR_GET_REASON(ssl_e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		/* closed, with or without close_notify: framing catches truncation */
		ERR_clear_error();
		snprintf(err, errlen, "connection closed by the key manager while %s",
			 what);
		return -ECONNRESET;
	}
	if (e == SSL_ERROR_SYSCALL) {
		int sv = errno;

		ERR_clear_error();
		snprintf(err, errlen, "%s: %s", what, strerror(sv));
		return -sv;
	}
	ssl_errstr(es, sizeof(es));
	snprintf(err, errlen, "TLS error %s: %s", what, es);
	*transient = false;
	return -EPROTO;
}

int kmip_tls_write(struct kmip_tls *t, const void *buf, size_t len,
		   const struct timespec *deadline, int budget_ms,
		   char *err, size_t errlen, bool *transient)
{
	size_t done = 0, n;
	int r, e, w;

	while (done < len) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write_ex(t->ssl, (const char *)buf + done, len - done, &n);
		if (r == 1) {
			done += n;
			continue;
		}
		e = SSL_get_error(t->ssl, r);
		w = tls_want(e) ? tls_wait(t, e, deadline) : 0;
		if (!tls_want(e) || w)
			return io_err(t, e, w, "sending the request",
				      budget_ms, err, errlen, transient);
	}
	return 0;
}

int kmip_tls_read(struct kmip_tls *t, void *buf, size_t len,
		  const struct timespec *deadline, int budget_ms, size_t *got,
		  char *err, size_t errlen, bool *transient)
{
	size_t n;
	int r, e, w;

	while (*got < len) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(t->ssl, (char *)buf + *got, len - *got, &n);
		if (r == 1) {
			*got += n;
			continue;
		}
		e = SSL_get_error(t->ssl, r);
		w = tls_want(e) ? tls_wait(t, e, deadline) : 0;
		if (!tls_want(e) || w)
			return io_err(t, e, w, "reading the reply",
				      budget_ms, err, errlen, transient);
	}
	return 0;
}
