// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The key daemon's configuration file (also read by veil-kmip):
 *
 *   # comment
 *   key = value   # comment
 *
 * tokenized by lib/conf.c (one setting per line, the comment rule, no
 * quoting, no sections).  docs/veild.md lists the keys.  Every error
 * names the file and line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "kmip/kmip.h"

void veil_kmip_conf_defaults(struct veil_kmip_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = 5000;
	c->io_timeout_ms = 10000;
	c->kmip_minor = 2;
	c->max_response = 64 * 1024;
	c->key_bits = 512;
	c->workers = 16;
	c->retry_budget_ms = 30000;
	c->idle_timeout_ms = 60000;
	c->log = VEIL_LOG_STDERR;
	c->cache.on = false;
	strcpy(c->cache.dir, VEIL_CACHE_DIR_DEFAULT);
	strcpy(c->cache.lockbox, VEIL_CACHE_LOCKBOX_DEFAULT);
	c->cache.ttl = VEIL_CACHE_TTL_DEFAULT;
}

struct conf_ctx {
	const char *path;
	int line;
	char *err;
	size_t errlen;
};

static int conf_err(struct conf_ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(x->err, x->errlen, "%s:%d: ", x->path, x->line);
	if (n < 0 || (size_t)n >= x->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Whole seconds (possibly fractional: "0.5") into milliseconds. */
static int conf_secs(struct conf_ctx *x, const char *key, const char *v,
		     int min_ms, int max_ms, int *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || d * 1000 < min_ms ||
	    d * 1000 > max_ms)
		return conf_err(x, "%s must be a number of seconds from %g to %g, not '%s'",
				key, min_ms / 1000.0, max_ms / 1000.0, v);
	*out = (int)(d * 1000 + 0.5);
	return 0;
}

static int conf_int(struct conf_ctx *x, const char *key, const char *v,
		    long min, long max, long *out)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(v, &end, 10);
	if (errno || end == v || *end || l < min || l > max)
		return conf_err(x, "%s must be an integer from %ld to %ld, not '%s'",
				key, min, max, v);
	*out = l;
	return 0;
}

static int conf_str(struct conf_ctx *x, const char *key, const char *v,
		    char *dst, size_t size)
{
	if (!*v)
		return conf_err(x, "%s needs a value", key);
	if (strlen(v) >= size)
		return conf_err(x, "%s is too long", key);
	strcpy(dst, v);
	return 0;
}

/* "host", "host:port", "[v6addr]", "[v6addr]:port" */
static int conf_server(struct conf_ctx *x, struct veil_kmip_conf *c,
		       const char *v)
{
	struct kmip_server *s;
	const char *host = v, *port = NULL, *colon;
	size_t hlen;
	long p;

	if (c->nservers == KMIP_SERVERS_MAX)
		return conf_err(x, "at most %d servers", KMIP_SERVERS_MAX);
	s = &c->servers[c->nservers];
	if (*v == '[') {
		const char *rb = strchr(v, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return conf_err(x, "server '%s': bad [address]:port", v);
		host = v + 1;
		hlen = (size_t)(rb - host);
		if (rb[1] == ':')
			port = rb + 2;
	} else {
		colon = strchr(v, ':');
		if (colon && strchr(colon + 1, ':'))
			return conf_err(x, "server '%s': write an IPv6 address as [address]:port", v);
		hlen = colon ? (size_t)(colon - v) : strlen(v);
		if (colon)
			port = colon + 1;
	}
	if (!hlen || hlen >= sizeof(s->host))
		return conf_err(x, "server '%s': bad host", v);
	memcpy(s->host, host, hlen);
	s->host[hlen] = '\0';
	if (port) {
		if (conf_int(x, "server port", port, 1, 65535, &p))
			return -EINVAL;
		snprintf(s->port, sizeof(s->port), "%ld", p);
	} else {
		strcpy(s->port, KMIP_DEFAULT_PORT);
	}
	c->nservers++;
	return 0;
}

static int conf_bool(struct conf_ctx *x, const char *key, const char *v,
		     bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return conf_err(x, "%s must be yes or no, not '%s'", key, v);
	return 0;
}

/* "90", "90s", "30m", "12h", "7d": seconds, at most ten years. */
static int conf_ttl(struct conf_ctx *x, const char *key, const char *v,
		    long *out)
{
	char *end;
	long n, mult = 1;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || n <= 0)
		goto bad;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mult = 60, end++;
	else if (*end == 'h')
		mult = 3600, end++;
	else if (*end == 'd')
		mult = 86400, end++;
	if (*end || n > 3650L * 86400 / mult)
		goto bad;
	*out = n * mult;
	return 0;
bad:
	return conf_err(x, "%s must be a time like 3600, 90m, 12h or 7d (at most 3650d), not '%s'",
			key, v);
}

static int conf_path(struct conf_ctx *x, const char *key, const char *v,
		     char *dst, size_t size)
{
	if (*v != '/')
		return conf_err(x, "%s must be an absolute path, not '%s'", key, v);
	/* room for the file names the cache puts under it */
	if (strlen(v) >= size - 200)
		return conf_err(x, "%s is too long", key);
	return conf_str(x, key, v, dst, size);
}

static int conf_set(struct conf_ctx *x, struct veil_kmip_conf *c,
		    const char *k, const char *v)
{
	long l;

	if (!strcmp(k, "server"))
		return conf_server(x, c, v);
	if (!strcmp(k, "ca"))
		return conf_str(x, k, v, c->ca, sizeof(c->ca));
	if (!strcmp(k, "cert"))
		return conf_str(x, k, v, c->cert, sizeof(c->cert));
	if (!strcmp(k, "key"))
		return conf_str(x, k, v, c->key, sizeof(c->key));
	if (!strcmp(k, "server_name"))
		return conf_str(x, k, v, c->server_name,
				sizeof(c->server_name));
	if (!strcmp(k, "connect_timeout"))
		return conf_secs(x, k, v, 100, 300000, &c->connect_timeout_ms);
	if (!strcmp(k, "io_timeout"))
		return conf_secs(x, k, v, 100, 300000, &c->io_timeout_ms);
	if (!strcmp(k, "retry_budget"))
		return conf_secs(x, k, v, 0, 3600000, &c->retry_budget_ms);
	if (!strcmp(k, "idle_timeout"))
		return conf_secs(x, k, v, 0, 86400000, &c->idle_timeout_ms);
	if (!strcmp(k, "workers")) {
		if (conf_int(x, k, v, 1, 256, &l))
			return -EINVAL;
		c->workers = (int)l;
		return 0;
	}
	if (!strcmp(k, "kmip_version")) {
		if (!strcmp(v, "1.0") || !strcmp(v, "1.1") ||
		    !strcmp(v, "1.2") || !strcmp(v, "1.3") ||
		    !strcmp(v, "1.4")) {
			c->kmip_minor = v[2] - '0';
			return 0;
		}
		return conf_err(x, "kmip_version must be 1.0 to 1.4, not '%s'", v);
	}
	if (!strcmp(k, "max_response")) {
		if (conf_int(x, k, v, 4096, 16 << 20, &l))
			return -EINVAL;
		c->max_response = (uint32_t)l;
		return 0;
	}
	if (!strcmp(k, "key_bits")) {
		if (conf_int(x, k, v, 128, 1024, &l))
			return -EINVAL;
		if (l % 64)
			return conf_err(x, "key_bits must be a multiple of 64");
		c->key_bits = (unsigned int)l;
		return 0;
	}
	if (!strcmp(k, "log")) {
		if (!strcmp(v, "stderr"))
			c->log = VEIL_LOG_STDERR;
		else if (!strcmp(v, "syslog"))
			c->log = VEIL_LOG_SYSLOG;
		else
			return conf_err(x, "log must be stderr or syslog, not '%s'", v);
		return 0;
	}
	if (!strcmp(k, "debug"))
		return conf_bool(x, k, v, &c->debug);
	if (!strcmp(k, "cache")) {
		if (!strcmp(v, "on") || !strcmp(v, "yes"))
			c->cache.on = true;
		else if (!strcmp(v, "off") || !strcmp(v, "no"))
			c->cache.on = false;
		else
			return conf_err(x, "cache must be on or off, not '%s'", v);
		return 0;
	}
	if (!strcmp(k, "cache_ttl"))
		return conf_ttl(x, k, v, &c->cache.ttl);
	if (!strcmp(k, "cache_dir"))
		return conf_path(x, k, v, c->cache.dir, sizeof(c->cache.dir));
	if (!strcmp(k, "cache_lockbox"))
		return conf_path(x, k, v, c->cache.lockbox,
				 sizeof(c->cache.lockbox));
	return conf_err(x, "unknown setting '%s'", k);
}

int veil_kmip_conf_load(struct veil_kmip_conf *c, const char *path,
			char *err, size_t errlen)
{
	struct conf_ctx x = { .path = path, .err = err, .errlen = errlen };
	struct veil_conf r;
	struct veil_conf_item it;
	int ret;

	ret = veil_conf_open_file(&r, path, false, err, errlen);
	if (ret)
		return ret;
	while ((ret = veil_conf_next(&r, &it)) > 0) {
		x.line = r.line;
		ret = conf_set(&x, c, it.key, it.value);
		if (ret)
			break;
	}
	veil_conf_close(&r);
	if (ret)
		return ret;
	x.line = 0;
	if (!c->nservers)
		ret = snprintf(err, errlen, "%s: no 'server = host[:port]' set", path);
	else if (!c->ca[0])
		ret = snprintf(err, errlen, "%s: no 'ca = FILE' set (the key manager's CA)", path);
	else if (!c->cert[0] || !c->key[0])
		ret = snprintf(err, errlen, "%s: 'cert = FILE' and 'key = FILE' (this host's client certificate) are required", path);
	else
		return 0;
	return -EINVAL;
}
