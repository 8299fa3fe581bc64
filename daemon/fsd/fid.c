// SPDX-License-Identifier: GPL-2.0-or-later
/* Fid table and fd budget: see fid.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fid.h"
#include "path.h"

void fid_pool_init(struct fid_pool *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
}

int fid_pool_charge(struct fid_pool *p, unsigned long long max_mem, long long bytes, bool force)
{
	long long now = __atomic_add_fetch(&p->mem, bytes, __ATOMIC_RELAXED);

	if (bytes > 0 && !force && (unsigned long long)now > max_mem) {
		__atomic_sub_fetch(&p->mem, bytes, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	return 0;
}

/* A shared path from path (freed), charged unless force; NULL: -ENOMEM. */
static struct fid_path *path_get(struct fidtab *t, char *path, bool force)
{
	size_t len = strlen(path), cost = FSD_MEM_PATH(len);
	struct fid_path *fp;

	if (fid_pool_charge(t->pool, t->max_mem, cost, force)) {
		free(path);
		return NULL;
	}
	fp = malloc(sizeof(*fp) + len + 1);
	if (!fp) {
		fid_pool_charge(t->pool, t->max_mem, -(long long)cost, false);
		free(path);
		return NULL;
	}
	fp->refs = 1;
	fp->cost = cost;
	memcpy(fp->s, path, len + 1);
	free(path);
	return fp;
}

static void path_put(struct fidtab *t, struct fid_path *fp)
{
	if (fp && !--fp->refs) {
		fid_pool_charge(t->pool, t->max_mem, -(long long)fp->cost, false);
		free(fp);
	}
}

int fidtab_init(struct fidtab *t, int rootfd, struct fid_pool *pool, unsigned int max_fds,
		size_t max_fids, unsigned long long max_mem)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 256;
	t->hash = calloc(t->nbuckets, sizeof(*t->hash));
	if (!t->hash)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->max = max_fids;
	t->lru.lnext = t->lru.lprev = &t->lru;
	t->rootfd = rootfd;
	t->pool = pool;
	t->max_fds = max_fds;
	t->max_mem = max_mem;
	pthread_mutex_lock(&pool->lock);
	t->pnext = pool->tabs;
	pool->tabs = t;
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

static size_t bucket(const struct fidtab *t, uint32_t num)
{
	return (num * 2654435761u) & (t->nbuckets - 1);
}

static void grow(struct fidtab *t)
{
	size_t n = t->nbuckets * 2, i;
	struct fid **h = calloc(n, sizeof(*h)), *f, *next;
	struct fidtab tmp = *t;

	if (!h)
		return;		/* longer chains, still correct */
	tmp.hash = h;
	tmp.nbuckets = n;
	for (i = 0; i < t->nbuckets; i++)
		for (f = t->hash[i]; f; f = next) {
			next = f->hnext;
			f->hnext = h[bucket(&tmp, f->num)];
			h[bucket(&tmp, f->num)] = f;
		}
	free(t->hash);
	t->hash = h;
	t->nbuckets = n;
}

struct fid *fid_lookup(struct fidtab *t, uint32_t num)
{
	struct fid *f;

	for (f = t->hash[bucket(t, num)]; f; f = f->hnext)
		if (f->num == num)
			return f;
	return NULL;
}

/* A fid numbered num with path fp (its reference is taken over). */
static int fid_add(struct fidtab *t, uint32_t num, struct fid_path *fp, struct fid **out)
{
	struct fid *f;

	if (fid_lookup(t, num)) {
		path_put(t, fp);
		return -EEXIST;
	}
	if (t->count >= t->max) {
		path_put(t, fp);
		return -EMFILE;
	}
	if (fid_pool_charge(t->pool, t->max_mem, FSD_MEM_FID, false)) {
		path_put(t, fp);
		return -ENOMEM;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		fid_pool_charge(t->pool, t->max_mem, -(long long)FSD_MEM_FID, false);
		path_put(t, fp);
		return -ENOMEM;
	}
	if (t->count >= t->nbuckets * 2 && t->nbuckets < (1u << 20))
		grow(t);
	f->num = num;
	f->fp = fp;
	f->path = fp->s;
	f->fd = -1;
	f->hnext = t->hash[bucket(t, num)];
	t->hash[bucket(t, num)] = f;
	t->count++;
	*out = f;
	return 0;
}

int fid_new(struct fidtab *t, uint32_t num, char *path, struct fid **out)
{
	struct fid_path *fp;

	if (!path)
		return -ENOMEM;
	if (fid_lookup(t, num)) {
		free(path);
		return -EEXIST;
	}
	if (t->count >= t->max) {
		free(path);
		return -EMFILE;
	}
	if (!(fp = path_get(t, path, false)))
		return -ENOMEM;
	return fid_add(t, num, fp, out);
}

int fid_clone(struct fidtab *t, uint32_t num, struct fid *src, struct fid **out)
{
	src->fp->refs++;
	return fid_add(t, num, src->fp, out);
}

int fid_set_path(struct fidtab *t, struct fid *f, char *path, bool force)
{
	struct fid_path *fp;

	if (!path)
		return -ENOMEM;
	if (!(fp = path_get(t, path, force)))
		return -ENOMEM;
	path_put(t, f->fp);
	f->fp = fp;
	f->path = fp->s;
	return 0;
}

static void lru_unlink(struct fid *f)
{
	if (f->lnext) {
		f->lnext->lprev = f->lprev;
		f->lprev->lnext = f->lnext;
		f->lnext = f->lprev = NULL;
	}
}

static void lru_front(struct fidtab *t, struct fid *f)
{
	lru_unlink(f);
	f->lnext = t->lru.lnext;
	f->lprev = &t->lru;
	t->lru.lnext->lprev = f;
	t->lru.lnext = f;
}

void fid_drop_fd(struct fidtab *t, struct fid *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	f->fd = -1;
	lru_unlink(f);
	__atomic_sub_fetch(&t->pool->fds, 1, __ATOMIC_RELAXED);
}

static void fid_release(struct fidtab *t, struct fid *f)
{
	if (f->xa) {
		fid_pool_charge(t->pool, t->max_mem, -(long long)f->xa->cost, false);
		free(f->xa);
	}
	fid_drop_fd(t, f);
	fid_pool_charge(t->pool, t->max_mem, -(long long)FSD_MEM_FID, false);
	path_put(t, f->fp);
	free(f);
}

void fid_free(struct fidtab *t, struct fid *f)
{
	struct fid **pp = &t->hash[bucket(t, f->num)];

	if (f->clunked)
		return;
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	t->count--;
	f->clunked = true;
	f->hnext = NULL;
	if (!f->refs)
		fid_release(t, f);
}

void fid_get(struct fid *f)
{
	f->refs++;
}

void fid_put(struct fidtab *t, struct fid *f)
{
	if (!--f->refs && f->clunked)
		fid_release(t, f);
}

void fidtab_clear(struct fidtab *t)
{
	size_t i;

	for (i = 0; i < t->nbuckets; i++)
		while (t->hash[i])
			fid_free(t, t->hash[i]);
}

void fidtab_destroy(struct fidtab *t)
{
	struct fidtab **pp;

	if (!t->hash)
		return;
	/* out of the pool first: no other connection may evict from it now */
	pthread_mutex_lock(&t->pool->lock);
	for (pp = &t->pool->tabs; *pp && *pp != t; pp = &(*pp)->pnext)
		;
	if (*pp)
		*pp = t->pnext;
	pthread_mutex_unlock(&t->pool->lock);
	fidtab_clear(t);
	free(t->hash);
	t->hash = NULL;
	pthread_mutex_destroy(&t->lock);
}

static bool over_budget(struct fidtab *t)
{
	return __atomic_load_n(&t->pool->fds, __ATOMIC_RELAXED) >= (int)t->max_fds;
}

/* Close t's least recently used fds that are not in use, until under budget. */
static void evict_own(struct fidtab *t, struct fidtab *budget)
{
	struct fid *f = t->lru.lprev;

	while (over_budget(budget)) {
		while (f != &t->lru && (f->busy || f->refs))
			f = f->lprev;
		if (f == &t->lru)
			return;
		fid_drop_fd(t, f);
		f = t->lru.lprev;
	}
}

int fid_reserve(struct fidtab *t)
{
	struct fidtab *o;

	evict_own(t, t);
	if (!over_budget(t))
		return 0;
	/*
	 * The budget is held by the VM's other connections: take their fds
	 * not in use (a table whose lock is taken is in a request's hands
	 * right now and is skipped, and a fid pinned by a running read or
	 * write keeps its fd; trylock also keeps two evictors from waiting on
	 * each other).
	 */
	pthread_mutex_lock(&t->pool->lock);
	for (o = t->pool->tabs; o && over_budget(t); o = o->pnext) {
		if (o == t || pthread_mutex_trylock(&o->lock))
			continue;
		evict_own(o, t);
		pthread_mutex_unlock(&o->lock);
	}
	pthread_mutex_unlock(&t->pool->lock);
	return over_budget(t) ? -ENFILE : 0;
}

int fid_set_fd(struct fidtab *t, struct fid *f, int fd)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = fd;
	} else {
		f->fd = fd;
		__atomic_add_fetch(&t->pool->fds, 1, __ATOMIC_RELAXED);
	}
	lru_front(t, f);
	return fd;
}

int fid_fd(struct fidtab *t, struct fid *f)
{
	bool was_busy = f->busy;
	int pfd, fd, rc;

	if (f->fd >= 0) {
		lru_front(t, f);
		return f->fd;
	}
	f->busy = true;
	rc = fid_reserve(t);
	f->busy = was_busy;
	if (rc)
		return rc;
	pfd = path_open(t->rootfd, f->path, O_PATH, 0);
	if (pfd < 0 || !f->opened)
		return pfd < 0 ? pfd : fid_set_fd(t, f, pfd);
	fd = path_reopen(pfd, f->open_flags);
	close(pfd);
	return fd < 0 ? fd : fid_set_fd(t, f, fd);
}

void fid_rebase_all(struct fidtab *t, const char *from, const char *to)
{
	struct fid *f;
	size_t i;

	for (i = 0; i < t->nbuckets; i++)
		for (f = t->hash[i]; f; f = f->hnext) {
			char *p = path_rebase(f->path, from, to);

			/* the rename is done: the path must follow, budget or not */
			if (p)
				fid_set_path(t, f, p, true);
		}
}
