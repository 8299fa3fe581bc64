// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd configuration parser and the installed snapshot.
 *
 *   # global settings first (comments and tokens: lib/conf.h)
 *   port = 564
 *   vsock = yes
 *   control = /run/veil-fsd/control
 *   msize_max = 1M
 *   frame_timeout = 10
 *   loopback_cid = no
 *
 *   [vm NAME]
 *   cid = 3                      and/or   uds = /run/vm1.sock
 *   root = /srv/tenants/a
 *   access = rw | ro
 *   uid_map = passthrough | squash      squash_uid = N   squash_gid = N
 *   bytes_avg/bytes_peak/bytes_burst, ops_avg/ops_peak/ops_burst, iops_size
 *   require_proof = yes | no     secret_file = PATH   key_id = HEX
 *   max_fds = N   max_conns = N   max_fids = N   max_mem = SIZE   max_workers = N
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

#include <linux/veil.h>

#include "conf.h"
#include "util.h"
#include "config.h"

#define CONF_MAX_VMS	4096
#define SECRET_MIN	16	/* bytes: a shorter secret is guessable */

#define fail veil_conf_error

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
	v->max_mem = FSD_MAX_MEM_DEFAULT;
	v->max_workers = FSD_WORKERS_DEFAULT;
}

static int vm_key(struct fsd_conf *c, struct vm_conf *v, const char *k, const char *val,
		  struct veil_conf *r, int line)
{
	struct { const char *name; uint64_t *p; } sizes[] = {
		{ "bytes_avg", &v->shape.bytes.avg },
		{ "bytes_peak", &v->shape.bytes.peak },
		{ "bytes_burst", &v->shape.bytes.burst },
		{ "ops_avg", &v->shape.ops.avg },
		{ "ops_peak", &v->shape.ops.peak },
		{ "ops_burst", &v->shape.ops.burst },
		{ "iops_size", &v->shape.iops_size },
		{ "max_mem", &v->max_mem },
	};
	struct { const char *name; unsigned int *p; unsigned int min; } counts[] = {
		{ "max_fds", &v->max_fds, 8 },
		{ "max_conns", &v->max_conns, 1 },
		{ "max_fids", &v->max_fids, 16 },
		{ "max_workers", &v->max_workers, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (!strcmp(k, sizes[i].name)) {
			if (conf_parse_size(val, sizes[i].p))
				return fail(r, line, "%s: not a size: \"%s\"", k, val);
			return 0;
		}
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (!strcmp(k, counts[i].name)) {
			uint32_t n;

			if (parse_u32(val, &n) || n < counts[i].min)
				return fail(r, line, "%s: want a number >= %u, got \"%s\"",
					    k, counts[i].min, val);
			*counts[i].p = n;
			return 0;
		}
	if (!strcmp(k, "cid")) {
		uint32_t cid;

		if (parse_u32(val, &cid) || cid == UINT32_MAX)
			return fail(r, line, "cid: not a CID: \"%s\"", val);
		if (cid == 1 && !c->loopback_cid)
			return fail(r, line, "cid: 1 is the local (loopback) CID; set loopback_cid = yes before the [vm] sections to serve guests on this host's own loopback (tests only)");
		if (cid <= 2 && cid != 1)
			return fail(r, line, "cid: %u is reserved (0 hypervisor, 1 loopback, 2 host): no guest has it", cid);
		v->cid = cid;
	} else if (!strcmp(k, "uds")) {
		if (val[0] != '/' || strlen(val) > 90)
			return fail(r, line, "uds: want an absolute path of at most 90 bytes");
		free(v->uds);
		v->uds = strdup(val);
	} else if (!strcmp(k, "root")) {
		if (val[0] != '/')
			return fail(r, line, "root: want an absolute path");
		free(v->root);
		v->root = strdup(val);
		v->root_line = line;
	} else if (!strcmp(k, "access")) {
		if (!strcmp(val, "ro"))
			v->ro = true;
		else if (!strcmp(val, "rw"))
			v->ro = false;
		else
			return fail(r, line, "access: want ro or rw, got \"%s\"", val);
	} else if (!strcmp(k, "uid_map")) {
		if (!strcmp(val, "passthrough"))
			v->uid_map = UIDMAP_PASSTHROUGH;
		else if (!strcmp(val, "squash"))
			v->uid_map = UIDMAP_SQUASH;
		else
			return fail(r, line, "uid_map: want passthrough or squash, got \"%s\"", val);
	} else if (!strcmp(k, "squash_uid") || !strcmp(k, "squash_gid")) {
		uint32_t id;

		if (parse_u32(val, &id) || id == UINT32_MAX)
			return fail(r, line, "%s: not an id: \"%s\"", k, val);
		if (!id)
			return fail(r, line, "%s: 0 would make every guest user root on the host", k);
		*(k[7] == 'u' ? &v->squash_uid : &v->squash_gid) = id;
	} else if (!strcmp(k, "require_proof")) {
		if (parse_bool(val, &v->require_proof))
			return fail(r, line, "require_proof: want yes or no");
	} else if (!strcmp(k, "secret_file")) {
		if (val[0] != '/')
			return fail(r, line, "secret_file: want an absolute path");
		free(v->secret_file);
		v->secret_file = strdup(val);
		v->secret_line = line;
	} else if (!strcmp(k, "key_id")) {
		if (parse_hex(val, v->key_id, sizeof(v->key_id), &v->key_id_len))
			return fail(r, line, "key_id: want 1..64 bytes in hex");
	} else {
		return fail(r, line, "unknown setting \"%s\" in a [vm] section", k);
	}
	return 0;
}

static int global_key(struct fsd_conf *c, const char *k, const char *val,
		      struct veil_conf *r, int line)
{
	if (!strcmp(k, "port")) {
		if (parse_u32(val, &c->port) || !c->port || c->port == UINT32_MAX)
			return fail(r, line, "port: not a vsock port: \"%s\"", val);
	} else if (!strcmp(k, "vsock")) {
		if (parse_bool(val, &c->vsock))
			return fail(r, line, "vsock: want yes or no");
	} else if (!strcmp(k, "control")) {
		if (val[0] != '/' || strlen(val) > 100)
			return fail(r, line, "control: want an absolute path of at most 100 bytes");
		free(c->control);
		c->control = strdup(val);
	} else if (!strcmp(k, "msize_max")) {
		if (parse_u32(val, &c->msize_max) || c->msize_max < 8192 ||
		    c->msize_max > (16u << 20))
			return fail(r, line, "msize_max: want 8K..16M, got \"%s\"", val);
	} else if (!strcmp(k, "frame_timeout")) {
		if (parse_u32(val, &c->frame_timeout) || !c->frame_timeout ||
		    c->frame_timeout > 3600)
			return fail(r, line, "frame_timeout: want 1..3600 seconds, got \"%s\"", val);
	} else if (!strcmp(k, "loopback_cid")) {
		if (parse_bool(val, &c->loopback_cid))
			return fail(r, line, "loopback_cid: want yes or no");
	} else {
		return fail(r, line, "unknown global setting \"%s\"", k);
	}
	return 0;
}

static int vm_finish(struct fsd_conf *c, struct vm_conf *v, struct veil_conf *r, int line)
{
	const char *why = shape_check(&v->shape);
	size_t i;

	if (why)
		return fail(r, line, "vm %s: %s", v->name, why);
	if (!v->root)
		return fail(r, line, "vm %s: no root", v->name);
	if (v->cid < 0 && !v->uds)
		return fail(r, line, "vm %s: neither cid nor uds: nothing can reach it", v->name);
	if (v->require_proof && !v->secret_file)
		return fail(r, line, "vm %s: require_proof without a secret_file", v->name);
	if (v->require_proof && v->cid < 0)
		return fail(r, line, "vm %s: require_proof needs the guest's cid (the proof names it)",
			    v->name);
	if (v->max_workers > FSD_WORKERS_MAX)
		return fail(r, line, "vm %s: max_workers %u: at most %u", v->name, v->max_workers,
			    FSD_WORKERS_MAX);
	if (v->max_mem < FSD_MEM_CONN_FIXED + 2ull * c->msize_max + FSD_MEM_FID_MAX)
		return fail(r, line, "vm %s: max_mem %llu cannot hold one connection (%llu bytes at msize_max %u)",
			    v->name, (unsigned long long)v->max_mem,
			    (unsigned long long)(FSD_MEM_CONN_FIXED + 2ull * c->msize_max +
						 FSD_MEM_FID_MAX), c->msize_max);
	for (i = 0; i + 1 < c->n_vms; i++) {
		const struct vm_conf *o = &c->vms[i];

		if (!strcmp(o->name, v->name))
			return fail(r, line, "vm %s: defined twice", v->name);
		if (v->cid >= 0 && o->cid == v->cid)
			return fail(r, line, "vm %s: cid %lld already belongs to vm %s",
				    v->name, (long long)v->cid, o->name);
		if (v->uds && o->uds && !strcmp(v->uds, o->uds))
			return fail(r, line, "vm %s: uds %s already belongs to vm %s",
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

static int parse_items(struct fsd_conf *c, struct veil_conf *r)
{
	struct vm_conf *cur = NULL;
	struct veil_conf_item it;
	int rc, vm_line = 0;

	while ((rc = veil_conf_next(r, &it)) > 0) {
		if (it.kind == VEIL_CONF_SECTION) {
			if (cur && (rc = vm_finish(c, cur, r, vm_line)))
				return rc;
			if (strncmp(it.key, "vm ", 3) && strncmp(it.key, "vm\t", 3))
				return fail(r, r->line, "want a section header \"[vm NAME]\"");
			it.key += 3;
			while (*it.key == ' ' || *it.key == '\t')
				it.key++;
			if (!valid_name(it.key))
				return fail(r, r->line, "vm name \"%s\": want 1..63 of [A-Za-z0-9._-]", it.key);
			if (c->n_vms >= CONF_MAX_VMS)
				return fail(r, r->line, "more than %d VMs", CONF_MAX_VMS);
			cur = realloc(c->vms, (c->n_vms + 1) * sizeof(*c->vms));
			if (!cur)
				return fail(r, r->line, "out of memory");
			c->vms = cur;
			cur = &c->vms[c->n_vms++];
			vm_defaults(cur);
			strcpy(cur->name, it.key);
			cur->line = vm_line = r->line;
			continue;
		}
		if (!*it.value)
			return fail(r, r->line, "%s: empty value", it.key);
		rc = cur ? vm_key(c, cur, it.key, it.value, r, r->line)
			 : global_key(c, it.key, it.value, r, r->line);
		if (rc)
			return rc;
	}
	if (!rc && cur)
		rc = vm_finish(c, cur, r, vm_line);
	return rc;
}

int conf_parse(const char *name, const char *text, struct fsd_conf **out,
	       char *err, size_t errlen)
{
	struct fsd_conf *c = calloc(1, sizeof(*c));
	struct veil_conf r;
	int rc;

	if (!c || !(c->path = strdup(name))) {
		free(c);
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	c->refs = 1;
	c->port = 564;
	c->vsock = true;
	c->msize_max = 1 << 20;
	c->frame_timeout = 10;
	rc = veil_conf_open_text(&r, c->path, text, true, err, errlen);
	if (!rc)
		rc = parse_items(c, &r);
	veil_conf_close(&r);
	if (rc) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/*
 * The tenant root must be closed to other host users by something the
 * guest cannot change: some directory above it owned by root (or by the
 * user veil-fsd runs as) with no search permission for others, nor for a
 * group other than root's.  The guest can never reach that directory, so
 * no chmod from inside undoes it.
 */
static int check_ancestors(struct fsd_conf *c, const struct vm_conf *v, struct veil_conf *r)
{
	char *p = strdup(v->root), *slash;
	struct stat st;
	int rc = -EINVAL;

	if (!p)
		return fail(r, v->root_line, "out of memory");
	while ((slash = strrchr(p, '/'))) {
		slash[slash == p] = 0;		/* "/a/b" -> "/a" -> "/" */
		if (stat(p, &st))
			break;
		if ((st.st_uid == 0 || st.st_uid == geteuid()) && !(st.st_mode & S_IXOTH) &&
		    (st.st_gid == 0 || !(st.st_mode & S_IXGRP))) {
			rc = 0;
			break;
		}
		if (!strcmp(p, "/"))
			break;
	}
	free(p);
	if (rc)
		return fail(r, v->root_line,
			    "vm %s: root %s: no directory above it is closed to other host users (owned by root, mode 0700 or 0750 with group root); e.g. install -d -m 0700 a parent directory and put the root inside it",
			    v->name, v->root);
	return 0;
}

/* uid_map = squash acts as squash_uid: it must at least enter the root. */
static int check_squash_access(const struct vm_conf *v, struct veil_conf *r)
{
	struct stat st;
	mode_t x;

	if (v->uid_map != UIDMAP_SQUASH || stat(v->root, &st))
		return 0;
	if (st.st_uid == v->squash_uid)
		x = S_IXUSR;
	else if (st.st_gid == v->squash_gid)
		x = S_IXGRP;
	else
		x = S_IXOTH;
	if (!(st.st_mode & x))
		return fail(r, v->root_line,
			    "vm %s: uid_map = squash acts as %u:%u, which cannot enter root %s (owner %u:%u, mode %04o): chown %u:%u it",
			    v->name, v->squash_uid, v->squash_gid, v->root, st.st_uid, st.st_gid,
			    st.st_mode & 07777, v->squash_uid, v->squash_gid);
	return 0;
}

/* What proof_read_secret demands at every handshake, checked up front. */
static int check_secret(const struct vm_conf *v, struct veil_conf *r)
{
	const char *f = v->secret_file;
	struct stat st;

	if (!f)
		return 0;
	if (lstat(f, &st))
		return fail(r, v->secret_line, "vm %s: secret_file %s: %s", v->name, f, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return fail(r, v->secret_line, "vm %s: secret_file %s is a symbolic link", v->name, f);
	if (!S_ISREG(st.st_mode))
		return fail(r, v->secret_line, "vm %s: secret_file %s is not a regular file", v->name, f);
	if (st.st_uid != 0)
		return fail(r, v->secret_line, "vm %s: secret_file %s is owned by uid %u, not root",
			    v->name, f, st.st_uid);
	if ((st.st_mode & 07777) != 0600 && (st.st_mode & 07777) != 0400)
		return fail(r, v->secret_line, "vm %s: secret_file %s has mode %04o: want 0600 or 0400",
			    v->name, f, st.st_mode & 07777);
	if (st.st_size < SECRET_MIN || st.st_size > VEIL_KEY_MAX)
		return fail(r, v->secret_line, "vm %s: secret_file %s holds %lld bytes: want %d..%d",
			    v->name, f, (long long)st.st_size, SECRET_MIN, VEIL_KEY_MAX);
	return 0;
}

int conf_validate(struct fsd_conf *c, char *err, size_t errlen)
{
	struct veil_conf r = { .path = c->path, .err = err, .errlen = errlen };
	size_t i, j;
	int rc;

	for (i = 0; i < c->n_vms; i++) {
		struct vm_conf *v = &c->vms[i];
		char *real = realpath(v->root, NULL);
		struct stat st;

		if (!real || stat(real, &st) || !S_ISDIR(st.st_mode)) {
			free(real);
			return fail(&r, v->root_line, "vm %s: root %s is not a directory", v->name, v->root);
		}
		free(v->root);
		v->root = real;
		if ((rc = check_ancestors(c, v, &r)) || (rc = check_squash_access(v, &r)) ||
		    (rc = check_secret(v, &r)))
			return rc;
	}
	for (i = 0; i < c->n_vms; i++)
		for (j = 0; j < c->n_vms; j++) {
			const char *a = c->vms[i].root, *b = c->vms[j].root;
			size_t la = strlen(a);

			if (i == j || !strcmp(a, b))
				continue;
			if (!strncmp(a, b, la) && (b[la] == '/' || !strcmp(a, "/")))
				return fail(&r, c->vms[j].root_line,
					    "vm %s: root %s lies inside the root %s of vm %s",
					    c->vms[j].name, b, a, c->vms[i].name);
		}
	return 0;
}

int conf_load(const char *path, struct fsd_conf **out, char *err, size_t errlen)
{
	struct veil_conf r;
	int rc;

	rc = veil_conf_open_file(&r, path, true, err, errlen);
	if (rc)
		return rc;
	rc = conf_parse(path, r.text, out, err, errlen);
	veil_conf_close(&r);
	if (!rc && (rc = conf_validate(*out, err, errlen))) {
		conf_free(*out);
		*out = NULL;
	}
	return rc;
}

unsigned long long conf_fds_needed(const struct fsd_conf *c)
{
	unsigned long long need = 64;	/* listeners, control, logs, stdio */
	size_t i;

	/* per VM: its fid budget, and per connection the socket and the root fd */
	for (i = 0; i < c->n_vms; i++)
		need += (unsigned long long)c->vms[i].max_fds + 2ull * c->vms[i].max_conns;
	return need;
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
	free(c->path);
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
