// SPDX-License-Identifier: GPL-2.0-or-later
/* Fid table and fd budget: see fid.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fid.h"
#include "path.h"

int fidtab_init(struct fidtab *t, int rootfd, int *vm_fds, unsigned int max_fds,
		size_t max_fids)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 256;
	t->hash = calloc(t->nbuckets, sizeof(*t->hash));
	if (!t->hash)
		return -ENOMEM;
	t->max = max_fids;
	t->lru.lnext = t->lru.lprev = &t->lru;
	t->rootfd = rootfd;
	t->vm_fds = vm_fds;
	t->max_fds = max_fds;
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

int fid_new(struct fidtab *t, uint32_t num, char *path, struct fid **out)
{
	struct fid *f;

	if (!path)
		return -ENOMEM;
	if (fid_lookup(t, num)) {
		free(path);
		return -EEXIST;
	}
	if (t->count >= t->max) {
		free(path);
		return -ENFILE;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(path);
		return -ENOMEM;
	}
	if (t->count >= t->nbuckets * 2 && t->nbuckets < (1u << 20))
		grow(t);
	f->num = num;
	f->path = path;
	f->fd = -1;
	f->hnext = t->hash[bucket(t, num)];
	t->hash[bucket(t, num)] = f;
	t->count++;
	*out = f;
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
	__atomic_sub_fetch(t->vm_fds, 1, __ATOMIC_RELAXED);
}

void fid_free(struct fidtab *t, struct fid *f)
{
	struct fid **pp = &t->hash[bucket(t, f->num)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	fid_drop_fd(t, f);
	t->count--;
	free(f->path);
	free(f);
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
	if (!t->hash)
		return;
	fidtab_clear(t);
	free(t->hash);
	t->hash = NULL;
}

int fid_reserve(struct fidtab *t)
{
	struct fid *f = t->lru.lprev;

	while (__atomic_load_n(t->vm_fds, __ATOMIC_RELAXED) >= (int)t->max_fds) {
		while (f != &t->lru && f->busy)
			f = f->lprev;
		if (f == &t->lru)
			return -ENFILE;	/* the budget is held by other connections */
		fid_drop_fd(t, f);
		f = t->lru.lprev;
	}
	return 0;
}

int fid_set_fd(struct fidtab *t, struct fid *f, int fd)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = fd;
	} else {
		f->fd = fd;
		__atomic_add_fetch(t->vm_fds, 1, __ATOMIC_RELAXED);
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

			if (p) {
				free(f->path);
				f->path = p;
			}
		}
}
