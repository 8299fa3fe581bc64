/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fids of one connection, and the host file descriptors behind them.
 *
 * A fid keeps its path beneath the tenant root and, while it is cached,
 * an fd: an O_PATH fd for a walked fid, the real open fd for an opened
 * one.  Every cached fd counts against the VM's budget (max_fds, shared
 * by all its connections); when a new fd would exceed it, the connection
 * closes its own least recently used fds, and a fid that lost its fd
 * reopens it by path on its next use; when the connection has nothing of
 * its own to close, it closes the least recently used fds of the VM's
 * other connections that no request is using.  So a guest walking 100k
 * files never makes the host run out of descriptors, and one connection
 * cannot starve another of the same VM.
 *
 * Memory: every fid (FSD_MEM_FID bytes) and every path (FSD_MEM_PATH of
 * its length) is charged to the VM's max_mem, shared by all its
 * connections; a fid or path that would exceed it is refused with ENOMEM.
 * A clone (Twalk with no names) shares its source's path, so it costs
 * FSD_MEM_FID whatever the path's length.  The catch: a fid whose
 * fd was evicted and whose file was meanwhile unlinked or renamed by
 * another connection can no longer be reopened (ESTALE/ENOENT).
 *
 * Concurrency: several requests of one connection run at once, each
 * holding the table lock while it walks, looks up or changes fids; only
 * the blocking data calls run without it, on a fid pinned by fid_get.
 */
#ifndef VEIL_FSD_FID_H
#define VEIL_FSD_FID_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The value (or name list) of an extended attribute a fid carries between
 * Txattrwalk and its Treads, or between Txattrcreate, its Twrites and the
 * Tclunk that sets it.
 */
struct fid_xattr {
	bool create;		/* Txattrcreate: set on clunk */
	int flags;		/* XATTR_CREATE / XATTR_REPLACE */
	size_t size, len;	/* value size; bytes written so far (create) */
	size_t cost;		/* bytes charged to the VM's max_mem */
	char name[256];
	uint8_t data[];
};

/* A path beneath the root, shared by a fid and its clones. */
struct fid_path {
	unsigned int refs;
	size_t cost;		/* bytes charged to the VM's max_mem */
	char s[];
};

struct fid {
	uint32_t num;
	char *path;		/* beneath the root ("" is the root): fp->s */
	struct fid_path *fp;
	int fd;			/* cached fd or -1 */
	bool opened;		/* Tlopen/Tlcreate done: fd is an I/O fd */
	int open_flags;		/* flags to reopen an opened fid with */
	uint32_t uid;		/* from the attach */
	bool ro;		/* the attach asked for read-only */
	bool busy;		/* in use by the request holding the table: not evictable */
	unsigned int refs;	/* requests using fd without the table lock (I/O) */
	bool clunked;		/* out of the table; freed when refs drops to 0 */
	struct fid_xattr *xa;	/* an xattr fid, or NULL */
	struct fid *hnext;
	struct fid *lprev, *lnext;	/* LRU of fids holding an fd */
};

/* What the connections of one VM share: the fd count and the memory charged. */
struct fid_pool {
	pthread_mutex_t lock;	/* the list of tables */
	struct fidtab *tabs;
	int fds;		/* cached fds of all connections */
	long long mem;		/* bytes charged (atomic) */
};

struct fidtab {
	pthread_mutex_t lock;	/* held while a request looks at or changes fids */
	struct fid **hash;
	size_t nbuckets, count, max;
	struct fid lru;		/* sentinel: lnext is most recent */
	int rootfd;		/* O_PATH fd of the tenant root (not counted) */
	struct fid_pool *pool;	/* the VM's */
	unsigned int max_fds;	/* the VM's budget */
	unsigned long long max_mem;	/* the VM's budget in bytes */
	struct fidtab *pnext;	/* in pool->tabs */
};

void fid_pool_init(struct fid_pool *p);
/*
 * Charge bytes to the pool against max_mem (negative: give back).  A
 * charge that would pass max_mem is refused with -ENOMEM unless force.
 */
int fid_pool_charge(struct fid_pool *p, unsigned long long max_mem, long long bytes, bool force);

int fidtab_init(struct fidtab *t, int rootfd, struct fid_pool *pool, unsigned int max_fds,
		size_t max_fids, unsigned long long max_mem);
void fidtab_destroy(struct fidtab *t);
/* Clunk every fid (Tversion). */
void fidtab_clear(struct fidtab *t);

struct fid *fid_lookup(struct fidtab *t, uint32_t num);
/*
 * A new fid (-EEXIST if in use, -EMFILE over max_fids, -ENOMEM over the
 * VM's max_mem); path is taken over.
 */
int fid_new(struct fidtab *t, uint32_t num, char *path, struct fid **out);
/* A new fid sharing src's path (and nothing else); as fid_new. */
int fid_clone(struct fidtab *t, uint32_t num, struct fid *src, struct fid **out);
/* Give f a new path (taken over), charged to max_mem unless force. */
int fid_set_path(struct fidtab *t, struct fid *f, char *path, bool force);
/*
 * Clunk f: its number is free at once; if a request still uses its fd
 * (refs), the fid itself, its fd and its memory live until fid_put.
 */
void fid_free(struct fidtab *t, struct fid *f);
/*
 * Keep f and its fd alive, and its fd out of eviction, while the table
 * lock is dropped for a system call that may block (Tread, Twrite,
 * Tfsync); fid_put, with the lock held again, lets go.
 */
void fid_get(struct fid *f);
void fid_put(struct fidtab *t, struct fid *f);

/*
 * The fd of f, reopening it by path if it was evicted.  Returns an fd
 * owned by f (do not close) or -errno.
 */
int fid_fd(struct fidtab *t, struct fid *f);
/* Hand f an fd the caller opened (replacing any it had); counts it. */
int fid_set_fd(struct fidtab *t, struct fid *f, int fd);
/*
 * Make room for one more fd in the VM budget (before opening one): close
 * this table's least recently used fds, then other idle tables' of the
 * VM; -ENFILE if the budget is held by requests in progress.
 */
int fid_reserve(struct fidtab *t);
/* Drop f's fd (counts down). */
void fid_drop_fd(struct fidtab *t, struct fid *f);

/* After a rename of from to to: fix the paths of the fids beneath it. */
void fid_rebase_all(struct fidtab *t, const char *from, const char *to);

#endif
