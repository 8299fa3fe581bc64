// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd configuration parser and the installed snapshot.
 *
 *   # global settings first
 *   port = 564
 *   vsock = yes
 *   control = /run/veil-fsd.ctl
 *   msize_max = 1M
 *
 *   [vm NAME]
 *   cid = 3                      and/or   uds = /run/vm1.sock
 *   root = /srv/tenants/a
 *   access = rw | ro
 *   uid_map = passthrough | squash      squash_uid = N   squash_gid = N
 *   bytes_avg/bytes_peak/bytes_burst, ops_avg/ops_peak/ops_burst, iops_size
 *   require_proof = yes | no     secret_file = PATH   key_id = HEX
 *   max_fds = N   max_conns = N   max_fids = N
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "config.h"

#define CONF_MAX_BYTES	(1 << 20)
#define CONF_MAX_VMS	4096

static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (line)
		n = snprintf(err, errlen, "line %d: ", line);
	if (n < 0 || (size_t)n >= errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int conf_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "off"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (conf_parse_size(s, &v) || v > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	int n = veil_hex_decode(s, out, max);

	if (n < 0)
		return n;
	*len = n;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static void vm_defaults(struct vm_conf *v)
{
	memset(v, 0, sizeof(*v));
	v->cid = -1;
	v->ro = true;			/* writable only when the admin says so */
	v->uid_map = UIDMAP_PASSTHROUGH;
	v->squash_uid = v->squash_gid = 65534;
	v->max_fds = 1024;
	v->max_conns = 16;
	v->max_fids = 262144;	/* cache=loose: a fid per cached dentry */
}

static int vm_key(struct vm_conf *v, const char *k, const char *val,
		  char *err, size_t errlen, int line)
{
	struct { const char *name; uint64_t *p; } sizes[] = {
		{ "bytes_avg", &v->shape.bytes.avg },
		{ "bytes_peak", &v->shape.bytes.peak },
		{ "bytes_burst", &v->shape.bytes.burst },
		{ "ops_avg", &v->shape.ops.avg },
		{ "ops_peak", &v->shape.ops.peak },
		{ "ops_burst", &v->shape.ops.burst },
		{ "iops_size", &v->shape.iops_size },
	};
	struct { const char *name; unsigned int *p; unsigned int min; } counts[] = {
		{ "max_fds", &v->max_fds, 8 },
		{ "max_conns", &v->max_conns, 1 },
		{ "max_fids", &v->max_fids, 16 },
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (!strcmp(k, sizes[i].name)) {
			if (conf_parse_size(val, sizes[i].p))
				return fail(err, errlen, line, "%s: not a size: \"%s\"", k, val);
			return 0;
		}
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (!strcmp(k, counts[i].name)) {
			uint32_t n;

			if (parse_u32(val, &n) || n < counts[i].min)
				return fail(err, errlen, line, "%s: want a number >= %u, got \"%s\"",
					    k, counts[i].min, val);
			*counts[i].p = n;
			return 0;
		}
	if (!strcmp(k, "cid")) {
		uint32_t cid;

		if (parse_u32(val, &cid) || cid == UINT32_MAX)
			return fail(err, errlen, line, "cid: not a CID: \"%s\"", val);
		v->cid = cid;
	} else if (!strcmp(k, "uds")) {
		if (val[0] != '/' || strlen(val) > 90)
			return fail(err, errlen, line, "uds: want an absolute path of at most 90 bytes");
		free(v->uds);
		v->uds = strdup(val);
	} else if (!strcmp(k, "root")) {
		if (val[0] != '/')
			return fail(err, errlen, line, "root: want an absolute path");
		free(v->root);
		v->root = strdup(val);
	} else if (!strcmp(k, "access")) {
		if (!strcmp(val, "ro"))
			v->ro = true;
		else if (!strcmp(val, "rw"))
			v->ro = false;
		else
			return fail(err, errlen, line, "access: want ro or rw, got \"%s\"", val);
	} else if (!strcmp(k, "uid_map")) {
		if (!strcmp(val, "passthrough"))
			v->uid_map = UIDMAP_PASSTHROUGH;
		else if (!strcmp(val, "squash"))
			v->uid_map = UIDMAP_SQUASH;
		else
			return fail(err, errlen, line, "uid_map: want passthrough or squash, got \"%s\"", val);
	} else if (!strcmp(k, "squash_uid") || !strcmp(k, "squash_gid")) {
		uint32_t id;

		if (parse_u32(val, &id) || id == UINT32_MAX)
			return fail(err, errlen, line, "%s: not an id: \"%s\"", k, val);
		*(k[7] == 'u' ? &v->squash_uid : &v->squash_gid) = id;
	} else if (!strcmp(k, "require_proof")) {
		if (parse_bool(val, &v->require_proof))
			return fail(err, errlen, line, "require_proof: want yes or no");
	} else if (!strcmp(k, "secret_file")) {
		if (val[0] != '/')
			return fail(err, errlen, line, "secret_file: want an absolute path");
		free(v->secret_file);
		v->secret_file = strdup(val);
	} else if (!strcmp(k, "key_id")) {
		if (parse_hex(val, v->key_id, sizeof(v->key_id), &v->key_id_len))
			return fail(err, errlen, line, "key_id: want 1..64 bytes in hex");
	} else {
		return fail(err, errlen, line, "unknown setting \"%s\" in a [vm] section", k);
	}
	return 0;
}

static int global_key(struct fsd_conf *c, const char *k, const char *val,
		      char *err, size_t errlen, int line)
{
	if (!strcmp(k, "port")) {
		if (parse_u32(val, &c->port) || !c->port || c->port == UINT32_MAX)
			return fail(err, errlen, line, "port: not a vsock port: \"%s\"", val);
	} else if (!strcmp(k, "vsock")) {
		if (parse_bool(val, &c->vsock))
			return fail(err, errlen, line, "vsock: want yes or no");
	} else if (!strcmp(k, "control")) {
		if (val[0] != '/' || strlen(val) > 100)
			return fail(err, errlen, line, "control: want an absolute path of at most 100 bytes");
		free(c->control);
		c->control = strdup(val);
	} else if (!strcmp(k, "msize_max")) {
		if (parse_u32(val, &c->msize_max) || c->msize_max < 8192 ||
		    c->msize_max > (16u << 20))
			return fail(err, errlen, line, "msize_max: want 8K..16M, got \"%s\"", val);
	} else {
		return fail(err, errlen, line, "unknown global setting \"%s\"", k);
	}
	return 0;
}

static int vm_finish(struct fsd_conf *c, struct vm_conf *v, char *err, size_t errlen, int line)
{
	const char *why = shape_check(&v->shape);
	size_t i;

	if (why)
		return fail(err, errlen, line, "vm %s: %s", v->name, why);
	if (!v->root)
		return fail(err, errlen, line, "vm %s: no root", v->name);
	if (v->cid < 0 && !v->uds)
		return fail(err, errlen, line, "vm %s: neither cid nor uds: nothing can reach it", v->name);
	if (v->require_proof && !v->secret_file)
		return fail(err, errlen, line, "vm %s: require_proof without a secret_file", v->name);
	if (v->require_proof && v->cid < 0)
		return fail(err, errlen, line, "vm %s: require_proof needs the guest's cid (the proof names it)",
			    v->name);
	for (i = 0; i + 1 < c->n_vms; i++) {
		const struct vm_conf *o = &c->vms[i];

		if (!strcmp(o->name, v->name))
			return fail(err, errlen, line, "vm %s: defined twice", v->name);
		if (v->cid >= 0 && o->cid == v->cid)
			return fail(err, errlen, line, "vm %s: cid %lld already belongs to vm %s",
				    v->name, (long long)v->cid, o->name);
		if (v->uds && o->uds && !strcmp(v->uds, o->uds))
			return fail(err, errlen, line, "vm %s: uds %s already belongs to vm %s",
				    v->name, v->uds, o->name);
	}
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > FSD_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

int conf_parse(const char *text, struct fsd_conf **out, char *err, size_t errlen)
{
	struct fsd_conf *c = calloc(1, sizeof(*c));
	char *copy = strdup(text), *save = NULL, *ln;
	struct vm_conf *cur = NULL;
	int line = 0, vm_line = 0, rc = 0;

	if (!c || !copy) {
		free(c);
		free(copy);
		return fail(err, errlen, 0, "out of memory");
	}
	c->refs = 1;
	c->port = 564;
	c->vsock = true;
	c->msize_max = 1 << 20;
	/* strtok_r would merge empty lines and break the line numbers */
	for (ln = copy; ln && !rc; ln = save) {
		char *eq, *k, *val;

		save = strchr(ln, '\n');
		if (save)
			*save++ = 0;
		line++;
		k = ln;
		if (strchr(k, '#'))
			*strchr(k, '#') = 0;
		k = trim(k);
		if (!*k)
			continue;
		if (*k == '[') {
			char *end = strchr(k, ']');

			if (cur && (rc = vm_finish(c, cur, err, errlen, vm_line)))
				break;
			if (!end || end[1] || strncmp(k, "[vm ", 4)) {
				rc = fail(err, errlen, line, "want a section header \"[vm NAME]\"");
				break;
			}
			*end = 0;
			k = trim(k + 4);
			if (!valid_name(k)) {
				rc = fail(err, errlen, line, "vm name \"%s\": want 1..63 of [A-Za-z0-9._-]", k);
				break;
			}
			if (c->n_vms >= CONF_MAX_VMS) {
				rc = fail(err, errlen, line, "more than %d VMs", CONF_MAX_VMS);
				break;
			}
			cur = realloc(c->vms, (c->n_vms + 1) * sizeof(*c->vms));
			if (!cur) {
				rc = fail(err, errlen, line, "out of memory");
				break;
			}
			c->vms = cur;
			cur = &c->vms[c->n_vms++];
			vm_defaults(cur);
			strcpy(cur->name, k);
			vm_line = line;
			continue;
		}
		eq = strchr(k, '=');
		if (!eq) {
			rc = fail(err, errlen, line, "want \"key = value\"");
			break;
		}
		*eq = 0;
		val = trim(eq + 1);
		k = trim(k);
		if (!*val) {
			rc = fail(err, errlen, line, "%s: empty value", k);
			break;
		}
		rc = cur ? vm_key(cur, k, val, err, errlen, line)
			 : global_key(c, k, val, err, errlen, line);
	}
	if (!rc && cur)
		rc = vm_finish(c, cur, err, errlen, vm_line);
	free(copy);
	if (rc) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int conf_validate(struct fsd_conf *c, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < c->n_vms; i++) {
		struct vm_conf *v = &c->vms[i];
		char *real = realpath(v->root, NULL);
		struct stat st;

		if (!real || stat(real, &st) || !S_ISDIR(st.st_mode)) {
			free(real);
			return fail(err, errlen, 0, "vm %s: root %s is not a directory", v->name, v->root);
		}
		free(v->root);
		v->root = real;
	}
	for (i = 0; i < c->n_vms; i++)
		for (j = 0; j < c->n_vms; j++) {
			const char *a = c->vms[i].root, *b = c->vms[j].root;
			size_t la = strlen(a);

			if (i == j || !strcmp(a, b))
				continue;
			if (!strncmp(a, b, la) && (b[la] == '/' || !strcmp(a, "/")))
				return fail(err, errlen, 0, "vm %s: root %s lies inside the root %s of vm %s",
					    c->vms[j].name, b, a, c->vms[i].name);
		}
	return 0;
}

int conf_load(const char *path, struct fsd_conf **out, char *err, size_t errlen)
{
	char *text;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	text = malloc(CONF_MAX_BYTES + 1);
	if (!text) {
		close(fd);
		return fail(err, errlen, 0, "out of memory");
	}
	n = read(fd, text, CONF_MAX_BYTES + 1);
	close(fd);
	if (n < 0 || n > CONF_MAX_BYTES) {
		free(text);
		return fail(err, errlen, 0, "%s: %s", path, n < 0 ? strerror(errno) : "larger than 1 MiB");
	}
	text[n] = 0;
	if (memchr(text, 0, n)) {
		free(text);
		return fail(err, errlen, 0, "%s: contains a NUL byte", path);
	}
	rc = conf_parse(text, out, err, errlen);
	free(text);
	if (!rc && (rc = conf_validate(*out, err, errlen))) {
		conf_free(*out);
		*out = NULL;
	}
	return rc;
}

void conf_free(struct fsd_conf *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_vms; i++) {
		free(c->vms[i].uds);
		free(c->vms[i].root);
		free(c->vms[i].secret_file);
	}
	free(c->vms);
	free(c->control);
	free(c);
}

const struct vm_conf *conf_vm_by_cid(const struct fsd_conf *c, uint32_t cid)
{
	size_t i;

	for (i = 0; i < c->n_vms; i++)
		if (c->vms[i].cid == (int64_t)cid)
			return &c->vms[i];
	return NULL;
}

const struct vm_conf *conf_vm_by_uds(const struct fsd_conf *c, const char *uds)
{
	size_t i;

	for (i = 0; i < c->n_vms; i++)
		if (c->vms[i].uds && !strcmp(c->vms[i].uds, uds))
			return &c->vms[i];
	return NULL;
}

/* ---------------------------------------------------- installed snapshot --- */

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fsd_conf *installed;
static unsigned long generation;

struct fsd_conf *conf_get(void)
{
	struct fsd_conf *c;

	pthread_mutex_lock(&conf_lock);
	c = installed;
	if (c)
		c->refs++;
	pthread_mutex_unlock(&conf_lock);
	return c;
}

void conf_put(struct fsd_conf *c)
{
	int last;

	if (!c)
		return;
	pthread_mutex_lock(&conf_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&conf_lock);
	if (last)
		conf_free(c);
}

void conf_install(struct fsd_conf *c)
{
	struct fsd_conf *old;

	pthread_mutex_lock(&conf_lock);
	old = installed;
	installed = c;
	__atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&conf_lock);
	conf_put(old);
}

unsigned long conf_generation(void)
{
	return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}
