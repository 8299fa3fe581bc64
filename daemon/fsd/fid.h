/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fids of one connection, and the host file descriptors behind them.
 *
 * A fid keeps its path beneath the tenant root and, while it is cached,
 * an fd: an O_PATH fd for a walked fid, the real open fd for an opened
 * one.  Every cached fd counts against the VM's budget (max_fds, shared
 * by all its connections); when a new fd would exceed it, the connection
 * closes its own least recently used fds, and a fid that lost its fd
 * reopens it by path on its next use.  So a guest walking 100k files
 * never makes the host run out of descriptors.  The catch: a fid whose
 * fd was evicted and whose file was meanwhile unlinked or renamed by
 * another connection can no longer be reopened (ESTALE/ENOENT).
 */
#ifndef VEIL_FSD_FID_H
#define VEIL_FSD_FID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fid {
	uint32_t num;
	char *path;		/* beneath the root; "" is the root */
	int fd;			/* cached fd or -1 */
	bool opened;		/* Tlopen/Tlcreate done: fd is an I/O fd */
	int open_flags;		/* flags to reopen an opened fid with */
	uint32_t uid;		/* from the attach */
	bool ro;		/* the attach asked for read-only */
	bool busy;		/* in use by the current request: not evictable */
	struct fid *hnext;
	struct fid *lprev, *lnext;	/* LRU of fids holding an fd */
};

struct fidtab {
	struct fid **hash;
	size_t nbuckets, count, max;
	struct fid lru;		/* sentinel: lnext is most recent */
	int rootfd;		/* O_PATH fd of the tenant root (not counted) */
	int *vm_fds;		/* the VM's count of cached fds */
	unsigned int max_fds;	/* the VM's budget */
};

int fidtab_init(struct fidtab *t, int rootfd, int *vm_fds, unsigned int max_fds,
		size_t max_fids);
void fidtab_destroy(struct fidtab *t);
/* Clunk every fid (Tversion). */
void fidtab_clear(struct fidtab *t);

struct fid *fid_lookup(struct fidtab *t, uint32_t num);
/* A new fid (-EEXIST if in use, -ENFILE over max_fids); path is taken over. */
int fid_new(struct fidtab *t, uint32_t num, char *path, struct fid **out);
void fid_free(struct fidtab *t, struct fid *f);

/*
 * The fd of f, reopening it by path if it was evicted.  Returns an fd
 * owned by f (do not close) or -errno.
 */
int fid_fd(struct fidtab *t, struct fid *f);
/* Hand f an fd the caller opened (replacing any it had); counts it. */
int fid_set_fd(struct fidtab *t, struct fid *f, int fd);
/* Make room for one more fd in the VM budget (before opening one). */
int fid_reserve(struct fidtab *t);
/* Drop f's fd (counts down). */
void fid_drop_fd(struct fidtab *t, struct fid *f);

/* After a rename of from to to: fix the paths of the fids beneath it. */
void fid_rebase_all(struct fidtab *t, const char *from, const char *to);

#endif
