// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 9P2000.L request handlers.  Each handler gets a decoded request and
 * either encodes its R-message into c->out and returns 0, or returns a
 * negative errno that becomes an Rlerror.  Paths are only ever resolved
 * through path.c (beneath the root, no symlinks followed); every write
 * path checks the connection's effective access first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "fsd.h"
#include "path.h"

struct ctx {
	struct conn *c;
	const struct p9_req *q;
	struct p9_out o;
};

/* Read-only if the VM is (now: a reload applies at once) or the attach asked. */
static bool is_ro(const struct ctx *x, const struct fid *f)
{
	return x->c->vm->ro || (f && f->ro);
}

/*
 * A qid path must name one file, but an inode number names one only
 * within its file system, and a tenant root may hold mounts.  So every
 * device the server meets gets a small index (in the order met, for the
 * life of the process) that goes into the top QID_DEV_BITS of the path,
 * and the inode number into the rest.  Collisions remain possible only
 * past the limits: an inode number of QID_INO_BITS or more bits is folded
 * into QID_INO_BITS, and past QID_DEVS distinct devices new devices share
 * the last index.
 */
#define QID_DEV_BITS	16
#define QID_INO_BITS	(64 - QID_DEV_BITS)
#define QID_DEVS	(1u << QID_DEV_BITS)
#define QID_SLOTS	(2 * QID_DEVS)		/* open addressing: half full at most */

static pthread_mutex_t qid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { dev_t dev; uint32_t idx1; } *qid_devs;	/* idx1: index + 1, 0 = free */
static uint32_t qid_ndevs;

static uint32_t qid_dev_index(dev_t dev)
{
	uint64_t h = (uint64_t)dev * 0x9E3779B97F4A7C15ull;
	uint32_t i = (uint32_t)(h >> 40) & (QID_SLOTS - 1), idx;

	pthread_mutex_lock(&qid_lock);
	if (!qid_devs && !(qid_devs = calloc(QID_SLOTS, sizeof(*qid_devs)))) {
		pthread_mutex_unlock(&qid_lock);
		return QID_DEVS - 1;
	}
	while (qid_devs[i].idx1 && qid_devs[i].dev != dev)
		i = (i + 1) & (QID_SLOTS - 1);
	if (!qid_devs[i].idx1) {
		if (qid_ndevs >= QID_DEVS - 1) {
			pthread_mutex_unlock(&qid_lock);
			return QID_DEVS - 1;	/* full: the shared last index */
		}
		qid_devs[i].dev = dev;
		qid_devs[i].idx1 = ++qid_ndevs;
	}
	idx = qid_devs[i].idx1 - 1;
	pthread_mutex_unlock(&qid_lock);
	return idx;
}

uint64_t fsd_qid_path(dev_t dev, ino_t ino)
{
	uint64_t i = ino, mask = (1ull << QID_INO_BITS) - 1;

	if (i > mask)
		i = (i ^ (i >> QID_INO_BITS)) & mask;
	return (uint64_t)qid_dev_index(dev) << QID_INO_BITS | i;
}

static void qid_from_stat(const struct stat *st, struct p9_qid *q)
{
	q->type = S_ISDIR(st->st_mode) ? P9_QTDIR :
		  S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
	q->version = 0;
	q->path = fsd_qid_path(st->st_dev, st->st_ino);
}

static int fd_qid(int fd, struct p9_qid *q)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	qid_from_stat(&st, q);
	return 0;
}

static struct fid *get_fid(struct ctx *x, uint32_t num)
{
	struct fid *f = fid_lookup(&x->c->fids, num);

	if (f)
		f->busy = true;
	return f;
}

static int name_arg(const struct p9_str *s, char *buf)
{
	return path_name(s->s, s->len, buf, NAME_MAX + 1);
}

/* Linux open flags from 9P2000.L ones (the numbers are x86's). */
static int open_flags(uint32_t f)
{
	int fl = f & 3;

	if ((fl & 3) == 3)
		fl = O_RDWR;
	if (f & 01000)
		fl |= O_TRUNC;
	if (f & 02000)
		fl |= O_APPEND;
	if (f & 04000000)
		fl |= O_SYNC;
	else if (f & 010000)
		fl |= O_DSYNC;
	return fl;
}

static bool wants_write(int fl)
{
	return (fl & O_ACCMODE) != O_RDONLY || (fl & O_TRUNC);
}

/* The guest's mode bits for a new object; squash never makes set-id files. */
static mode_t new_mode(struct ctx *x, uint32_t mode)
{
	mode_t m = mode & 07777;

	if (x->c->vm->uid_map == UIDMAP_SQUASH)
		m &= ~(S_ISUID | S_ISGID);
	return m;
}

/*
 * A new file must not keep a set-group-id bit for a group its creator is
 * not in (the CVE-2022-0358 class).  The kernel already strips it for a
 * non-root creator; this also holds where the server could hold
 * CAP_FSETID.  Guest root (fsuid 0) is root of its tenant.
 */
static void strip_foreign_sgid(struct ctx *x, int fd)
{
	struct stat st;
	char name[40];
	uint32_t uid, gid;

	if (fstat(fd, &st) || S_ISDIR(st.st_mode) || !(st.st_mode & S_ISGID))
		return;
	cred_current(&uid, &gid);
	if (uid == 0 || st.st_gid == gid)
		return;
	path_fdname(fd, name, sizeof(name));
	if (chmod(name, st.st_mode & 07777 & ~S_ISGID))
		fsd_log(LOG_WARNING, "%s: cannot strip setgid bit", x->c->peer);
}

/* ------------------------------------------------------------- session --- */

static int op_version(struct ctx *x)
{
	struct conn *c = x->c;
	uint32_t msize = x->q->u.version.msize;
	const struct p9_str *v = &x->q->u.version.version;
	bool dotl = v->len == 8 && !memcmp(v->s, "9P2000.L", 8);

	if (msize < P9_MSIZE_MIN)
		return -1;		/* no sensible reply: close */
	if (msize > c->conf->msize_max)
		msize = c->conf->msize_max;
	if (msize > c->bufsize)		/* msize_max raised since we connected */
		msize = c->bufsize;
	fidtab_clear(&c->fids);
	c->msize = msize;
	c->versioned = dotl;
	x->o.cap = msize;
	p9_begin(&x->o, P9_TVERSION + 1, x->q->tag);
	p9_put32(&x->o, msize);
	p9_putstr(&x->o, dotl ? "9P2000.L" : "unknown", dotl ? 8 : 7);
	return 0;
}

/* aname: "" or comma-separated options; "ro" asks for a read-only mount. */
static int parse_aname(const struct p9_str *a, bool *ro)
{
	size_t i = 0;

	*ro = false;
	while (i < a->len) {
		size_t j = i;

		while (j < a->len && a->s[j] != ',')
			j++;
		if (j - i == 2 && !memcmp(a->s + i, "ro", 2))
			*ro = true;
		else if (j - i == 2 && !memcmp(a->s + i, "rw", 2))
			*ro = false;
		else if (j > i)
			return -EINVAL;
		i = j + 1;
	}
	return 0;
}

static int op_attach(struct ctx *x)
{
	struct conn *c = x->c;
	struct p9_qid qid;
	struct fid *f;
	bool ro;
	int fd, rc;

	if (x->q->u.attach.afid != P9_NOFID)
		return -EOPNOTSUPP;
	if ((rc = parse_aname(&x->q->u.attach.aname, &ro)))
		return rc;
	if ((rc = cred_apply(c, x->q->u.attach.n_uname, -1)))
		return rc;
	if ((rc = fid_reserve(&c->fids)))
		return rc;
	fd = path_open(c->rootfd, "", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	if ((rc = fd_qid(fd, &qid)) || (rc = fid_new(&c->fids, x->q->fid, strdup(""), &f))) {
		close(fd);
		return rc;
	}
	fid_set_fd(&c->fids, f, fd);
	f->uid = x->q->u.attach.n_uname;
	f->ro = ro;
	p9_begin(&x->o, P9_TATTACH + 1, x->q->tag);
	p9_putqid(&x->o, &qid);
	return 0;
}

static int op_flush(struct ctx *x)
{
	/* Requests are answered in order: the flushed one already was. */
	p9_begin(&x->o, P9_TFLUSH + 1, x->q->tag);
	return 0;
}

/* ---------------------------------------------------------------- walk --- */

/* Twalk with no names: a new fid for the same file, sharing f's path. */
static int walk_clone(struct ctx *x, struct fid *f)
{
	struct fidtab *t = &x->c->fids;
	struct fid *nf;
	int fd, rc;

	if (x->q->u.walk.newfid != f->num) {
		/* its own O_PATH fd of the very inode, as a walk gives */
		if ((rc = fid_reserve(t)) || (fd = fid_fd(t, f)) < 0)
			return rc ? rc : fd;
		if ((fd = dup(fd)) < 0)
			return -errno;
		if ((rc = fid_clone(t, x->q->u.walk.newfid, f, &nf))) {
			close(fd);
			return rc;
		}
		fid_set_fd(t, nf, fd);
		nf->uid = f->uid;
		nf->ro = f->ro;
	}
	p9_begin(&x->o, P9_TWALK + 1, x->q->tag);
	p9_put16(&x->o, 0);
	return 0;
}

static int op_walk(struct ctx *x, struct fid *f)
{
	struct conn *c = x->c;
	const struct p9_req *q = x->q;
	struct p9_qid qids[P9_MAXWELEM];
	char *path, name[NAME_MAX + 1];
	int cur, i, rc = 0;
	struct fid *nf;

	if (q->u.walk.newfid != f->num && fid_lookup(&c->fids, q->u.walk.newfid))
		return -EEXIST;
	/* a walk in place replaces the fd a running read or write uses */
	if (q->u.walk.newfid == f->num && f->refs)
		return -EBUSY;
	if (!q->u.walk.nwname)
		return walk_clone(x, f);
	if (!(path = strdup(f->path)))
		return -ENOMEM;
	if ((rc = fid_reserve(&c->fids)) || (cur = fid_fd(&c->fids, f)) < 0) {
		free(path);
		return rc ? rc : cur;
	}
	cur = dup(cur);
	if (cur < 0) {
		free(path);
		return -errno;
	}
	for (i = 0; i < q->u.walk.nwname; i++) {
		const struct p9_str *w = &q->u.walk.wname[i];
		struct stat st;
		char *np;
		int nfd;

		if (fstat(cur, &st) || !S_ISDIR(st.st_mode)) {
			rc = -ENOTDIR;
			break;
		}
		if (w->len == 2 && !memcmp(w->s, "..", 2)) {
			/* ".." of the root is the root */
			np = path_dirname(path);
			nfd = np ? path_open(c->rootfd, np, O_PATH, 0) : -ENOMEM;
		} else if ((rc = name_arg(w, name))) {
			break;
		} else {
			np = path_join(path, name);
			nfd = np ? path_open(cur, name, O_PATH, 0) : -ENOMEM;
		}
		if (nfd < 0) {
			free(np);
			rc = nfd;
			break;
		}
		if ((rc = fd_qid(nfd, &qids[i]))) {
			free(np);
			close(nfd);
			break;
		}
		close(cur);
		cur = nfd;
		free(path);
		path = np;
	}
	if (i < q->u.walk.nwname && i == 0) {
		close(cur);
		free(path);
		return rc;
	}
	if (i == q->u.walk.nwname) {
		if (q->u.walk.newfid == f->num) {
			if ((rc = fid_set_path(&c->fids, f, path, false))) {
				close(cur);
				return rc;
			}
			fid_set_fd(&c->fids, f, cur);
		} else if ((rc = fid_new(&c->fids, q->u.walk.newfid, path, &nf))) {
			close(cur);
			return rc;
		} else {
			fid_set_fd(&c->fids, nf, cur);
			nf->uid = f->uid;
			nf->ro = f->ro;
		}
	} else {
		close(cur);
		free(path);
	}
	p9_begin(&x->o, P9_TWALK + 1, q->tag);
	p9_put16(&x->o, i);
	for (int k = 0; k < i; k++)
		p9_putqid(&x->o, &qids[k]);
	return 0;
}

/* ---------------------------------------------------------------- open --- */

static int op_lopen(struct ctx *x, struct fid *f)
{
	struct conn *c = x->c;
	int fl = open_flags(x->q->u.lopen.flags), pfd, fd;
	struct p9_qid qid;

	if (wants_write(fl) && is_ro(x, f))
		return -EROFS;
	if (f->opened)
		return -EBADF;
	pfd = fid_fd(&c->fids, f);
	if (pfd < 0)
		return pfd;
	fd = path_reopen(pfd, fl);
	if (fd < 0)
		return fd;
	fd_qid(fd, &qid);
	fid_set_fd(&c->fids, f, fd);
	f->opened = true;
	f->open_flags = fl & ~O_TRUNC;
	p9_begin(&x->o, P9_TLOPEN + 1, x->q->tag);
	p9_putqid(&x->o, &qid);
	p9_put32(&x->o, c->msize - P9_IOHDRSZ);
	return 0;
}

static int op_lcreate(struct ctx *x, struct fid *f)
{
	struct conn *c = x->c;
	const struct p9_req *q = x->q;
	int fl = open_flags(q->u.lcreate.flags), dfd, fd, rc;
	bool excl = q->u.lcreate.flags & 0200;
	char name[NAME_MAX + 1], *np;
	struct p9_qid qid;

	if (is_ro(x, f))
		return -EROFS;
	if (f->opened)
		return -EBADF;
	if ((rc = name_arg(&q->u.lcreate.name, name)))
		return rc;
	if ((rc = cred_apply(c, f->uid, q->u.lcreate.gid)))
		return rc;
	if ((dfd = fid_fd(&c->fids, f)) < 0)
		return dfd;
	if ((rc = fid_reserve(&c->fids)))
		return rc;
	/* Create exclusively, so nothing that already exists is opened here. */
	fd = path_open(dfd, name, fl | O_CREAT | O_EXCL, new_mode(x, q->u.lcreate.mode));
	if (fd == -EEXIST && !excl) {
		int pfd = path_open(dfd, name, O_PATH, 0);

		if (pfd < 0)
			return pfd;
		fd = path_reopen(pfd, fl);
		close(pfd);
	}
	if (fd < 0)
		return fd;
	strip_foreign_sgid(x, fd);
	np = path_join(f->path, name);
	if ((rc = fid_set_path(&c->fids, f, np, false))) {
		close(fd);
		return rc;
	}
	fd_qid(fd, &qid);
	fid_set_fd(&c->fids, f, fd);
	f->opened = true;
	f->open_flags = fl & ~O_TRUNC;
	p9_begin(&x->o, P9_TLCREATE + 1, q->tag);
	p9_putqid(&x->o, &qid);
	p9_put32(&x->o, c->msize - P9_IOHDRSZ);
	return 0;
}

/* -------------------------------------------------------------- read/write --- */

/*
 * The blocking data calls (read, write, fsync) run without the table
 * lock, so a slow file does not hold up the connection's other requests:
 * f is pinned (its fd is neither evicted nor closed by a clunk) meanwhile.
 */
static void unlock_io(struct ctx *x, struct fid *f)
{
	fid_get(f);
	pthread_mutex_unlock(&x->c->fids.lock);
}

static void relock_io(struct ctx *x, struct fid *f)
{
	pthread_mutex_lock(&x->c->fids.lock);
	fid_put(&x->c->fids, f);
}

static int xattr_read(struct ctx *x, struct fid *f);
static int xattr_write(struct ctx *x, struct fid *f);

static int op_read(struct ctx *x, struct fid *f)
{
	uint32_t count = x->q->u.rw.count, room = x->o.cap - P9_HDRSZ - 4;
	uint8_t *p, *cnt;
	ssize_t n;
	int fd;

	if (f->xa)
		return xattr_read(x, f);
	if (!f->opened || (f->open_flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	if (count > room)
		count = room;
	p9_begin(&x->o, P9_TREAD + 1, x->q->tag);
	cnt = p9_reserve(&x->o, 4);
	p = p9_reserve(&x->o, count);
	if (!cnt || !p)
		return -EIO;
	unlock_io(x, f);
	n = pread(fd, p, count, x->q->u.rw.offset);
	if (n < 0)
		n = -errno;
	relock_io(x, f);
	if (n < 0)
		return n;
	x->o.len -= count - n;
	cnt[0] = n; cnt[1] = n >> 8; cnt[2] = n >> 16; cnt[3] = n >> 24;
	return 0;
}

static int op_write(struct ctx *x, struct fid *f)
{
	ssize_t n;
	int fd;

	/* a read-only VM or attach: EROFS, even for a fid opened for reading */
	if (is_ro(x, f))
		return -EROFS;
	if (f->xa)
		return xattr_write(x, f);
	if (!f->opened || (f->open_flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	unlock_io(x, f);
	n = pwrite(fd, x->q->u.rw.data, x->q->u.rw.count, x->q->u.rw.offset);
	if (n < 0)
		n = -errno;
	relock_io(x, f);
	if (n < 0)
		return n;
	p9_begin(&x->o, P9_TWRITE + 1, x->q->tag);
	p9_put32(&x->o, n);
	return 0;
}

static int dirent_qtype(unsigned char t)
{
	return t == DT_DIR ? P9_QTDIR : t == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int op_readdir(struct ctx *x, struct fid *f)
{
	uint32_t count = x->q->u.rw.count, room = x->o.cap - P9_HDRSZ - 4, used = 0;
	size_t bufsz;
	struct stat dst;
	uint8_t *cnt;
	char *buf;
	long n, pos = 0;
	int fd;

	if (!f->opened)
		return -EBADF;
	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	if (fstat(fd, &dst))
		return -errno;
	if (count > room)
		count = room;
	if (lseek(fd, x->q->u.rw.offset, SEEK_SET) < 0)
		return -errno;
	bufsz = count < 512 ? 512 : count;
	if (!(buf = malloc(bufsz)))
		return -ENOMEM;
	n = syscall(SYS_getdents64, fd, buf, bufsz);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	p9_begin(&x->o, P9_TREADDIR + 1, x->q->tag);
	cnt = p9_reserve(&x->o, 4);
	while (pos < n && cnt) {
		struct linux_dirent64 *d = (void *)(buf + pos);
		size_t nl = strnlen(d->d_name, d->d_reclen);
		struct p9_qid q = { .type = dirent_qtype(d->d_type),
				    .path = fsd_qid_path(dst.st_dev, d->d_ino) };

		if (used + 24 + nl > count)
			break;
		p9_putqid(&x->o, &q);
		p9_put64(&x->o, d->d_off);
		p9_put8(&x->o, d->d_type);
		p9_putstr(&x->o, d->d_name, nl);
		used += 24 + nl;
		pos += d->d_reclen;
	}
	free(buf);
	if (!cnt)
		return -EIO;
	cnt[0] = used; cnt[1] = used >> 8; cnt[2] = used >> 16; cnt[3] = used >> 24;
	return 0;
}

static int op_fsync(struct ctx *x, struct fid *f)
{
	int fd, rc;

	if (!f->opened)
		return -EBADF;
	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	unlock_io(x, f);
	rc = (x->q->u.fsync.datasync ? fdatasync(fd) : fsync(fd)) && errno != EINVAL ? -errno : 0;
	relock_io(x, f);
	if (rc)
		return rc;
	p9_begin(&x->o, P9_TFSYNC + 1, x->q->tag);
	return 0;
}

/* ------------------------------------------------------------- metadata --- */

static int op_getattr(struct ctx *x, struct fid *f)
{
	struct p9_qid qid;
	struct stat st;
	int fd;

	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	if (fstat(fd, &st))
		return -errno;
	qid_from_stat(&st, &qid);
	p9_begin(&x->o, P9_TGETATTR + 1, x->q->tag);
	p9_put64(&x->o, P9_GETATTR_BASIC);
	p9_putqid(&x->o, &qid);
	p9_put32(&x->o, st.st_mode);
	p9_put32(&x->o, st.st_uid);
	p9_put32(&x->o, st.st_gid);
	p9_put64(&x->o, st.st_nlink);
	p9_put64(&x->o, st.st_rdev);
	p9_put64(&x->o, st.st_size);
	p9_put64(&x->o, st.st_blksize);
	p9_put64(&x->o, st.st_blocks);
	p9_put64(&x->o, st.st_atim.tv_sec);
	p9_put64(&x->o, st.st_atim.tv_nsec);
	p9_put64(&x->o, st.st_mtim.tv_sec);
	p9_put64(&x->o, st.st_mtim.tv_nsec);
	p9_put64(&x->o, st.st_ctim.tv_sec);
	p9_put64(&x->o, st.st_ctim.tv_nsec);
	p9_put64(&x->o, 0);	/* btime */
	p9_put64(&x->o, 0);
	p9_put64(&x->o, 0);	/* gen */
	p9_put64(&x->o, 0);	/* data_version */
	return 0;
}

static int op_setattr(struct ctx *x, struct fid *f)
{
	const struct p9_req *q = x->q;
	uint32_t v = q->u.setattr.valid;
	struct stat st;
	char name[40];
	int fd;

	if (is_ro(x, f))
		return -EROFS;
	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	if (fstat(fd, &st))
		return -errno;
	/*
	 * The tenant root's mode, owner and times are the host's: they keep
	 * it closed to other host users, which the guest must not undo.
	 */
	if (st.st_dev == x->c->root_dev && st.st_ino == x->c->root_ino)
		return -EPERM;
	path_fdname(fd, name, sizeof(name));
	if (v & P9_SETATTR_MODE) {
		if (S_ISLNK(st.st_mode))
			return -EOPNOTSUPP;
		if (chmod(name, new_mode(x, q->u.setattr.mode)))
			return -errno;
	}
	if (v & (P9_SETATTR_UID | P9_SETATTR_GID)) {
		uid_t uid = v & P9_SETATTR_UID ? q->u.setattr.uid : (uid_t)-1;
		gid_t gid = v & P9_SETATTR_GID ? q->u.setattr.gid : (gid_t)-1;

		if (x->c->vm->uid_map == UIDMAP_SQUASH) {
			/* one host owner: only a no-op change is possible */
			if ((uid != (uid_t)-1 && uid != x->c->vm->squash_uid) ||
			    (gid != (gid_t)-1 && gid != x->c->vm->squash_gid))
				return -EPERM;
		} else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
			return -errno;
		}
	}
	if (v & P9_SETATTR_SIZE) {
		if (!S_ISREG(st.st_mode))
			return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		if (f->opened && (f->open_flags & O_ACCMODE) != O_RDONLY ?
		    ftruncate(fd, q->u.setattr.size) : truncate(name, q->u.setattr.size))
			return -errno;
	}
	if (v & (P9_SETATTR_ATIME | P9_SETATTR_MTIME | P9_SETATTR_CTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (v & P9_SETATTR_ATIME) {
			ts[0].tv_nsec = UTIME_NOW;
			if (v & P9_SETATTR_ATIME_SET) {
				ts[0].tv_sec = q->u.setattr.atime_sec;
				ts[0].tv_nsec = q->u.setattr.atime_nsec;
			}
		}
		if (v & P9_SETATTR_MTIME) {
			ts[1].tv_nsec = UTIME_NOW;
			if (v & P9_SETATTR_MTIME_SET) {
				ts[1].tv_sec = q->u.setattr.mtime_sec;
				ts[1].tv_nsec = q->u.setattr.mtime_nsec;
			}
		}
		if ((ts[0].tv_nsec >= 1000000000 && ts[0].tv_nsec != UTIME_NOW &&
		     ts[0].tv_nsec != UTIME_OMIT) ||
		    (ts[1].tv_nsec >= 1000000000 && ts[1].tv_nsec != UTIME_NOW &&
		     ts[1].tv_nsec != UTIME_OMIT))
			return -EINVAL;
		/* a symlink's times: through its parent, never following it */
		if (S_ISLNK(st.st_mode)) {
			char *dir = path_dirname(f->path);
			int dfd = dir ? path_open(x->c->fids.rootfd, dir, O_PATH | O_DIRECTORY, 0) : -ENOMEM;
			int rc = 0;

			free(dir);
			if (dfd < 0)
				return dfd;
			if (utimensat(dfd, path_basename(f->path), ts, AT_SYMLINK_NOFOLLOW))
				rc = -errno;
			close(dfd);
			if (rc)
				return rc;
		} else if (utimensat(AT_FDCWD, name, ts, 0)) {
			return -errno;
		}
	}
	p9_begin(&x->o, P9_TSETATTR + 1, q->tag);
	return 0;
}

static int op_readlink(struct ctx *x, struct fid *f)
{
	char buf[PATH_MAX];
	ssize_t n;
	int fd;

	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		return errno == ENOENT ? -EINVAL : -errno;
	p9_begin(&x->o, P9_TREADLINK + 1, x->q->tag);
	p9_putstr(&x->o, buf, n);
	return 0;
}

static int op_statfs(struct ctx *x, struct fid *f)
{
	struct statfs s;
	int fd;

	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	if (fstatfs(fd, &s))
		return -errno;
	p9_begin(&x->o, P9_TSTATFS + 1, x->q->tag);
	p9_put32(&x->o, s.f_type);
	p9_put32(&x->o, s.f_bsize);
	p9_put64(&x->o, s.f_blocks);
	p9_put64(&x->o, s.f_bfree);
	p9_put64(&x->o, s.f_bavail);
	p9_put64(&x->o, s.f_files);
	p9_put64(&x->o, s.f_ffree);
	p9_put64(&x->o, (uint64_t)(uint32_t)s.f_fsid.__val[0] |
		       (uint64_t)(uint32_t)s.f_fsid.__val[1] << 32);
	p9_put32(&x->o, s.f_namelen);
	return 0;
}

/* --------------------------------------------------------- namespace --- */

/* The directory fd of dir fid f, ready for a change in it (or -errno). */
static int dir_for_change(struct ctx *x, struct fid *f, uint32_t gid)
{
	int rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = cred_apply(x->c, f->uid, gid)))
		return rc;
	return fid_fd(&x->c->fids, f);
}

static int reply_qid_of(struct ctx *x, int dfd, const char *name, uint8_t rtype)
{
	struct p9_qid qid;
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	qid_from_stat(&st, &qid);
	p9_begin(&x->o, rtype, x->q->tag);
	p9_putqid(&x->o, &qid);
	return 0;
}

static int op_mkdir(struct ctx *x, struct fid *f)
{
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = name_arg(&x->q->u.mkdir.name, name)))
		return rc;
	if ((dfd = dir_for_change(x, f, x->q->u.mkdir.gid)) < 0)
		return dfd;
	if (mkdirat(dfd, name, new_mode(x, x->q->u.mkdir.mode)))
		return -errno;
	return reply_qid_of(x, dfd, name, P9_TMKDIR + 1);
}

static int op_symlink(struct ctx *x, struct fid *f)
{
	const struct p9_str *t = &x->q->u.symlink.target;
	char name[NAME_MAX + 1], *target;
	int dfd, rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = name_arg(&x->q->u.symlink.name, name)))
		return rc;
	if (!t->len || t->len >= PATH_MAX)
		return -EINVAL;
	if ((dfd = dir_for_change(x, f, x->q->u.symlink.gid)) < 0)
		return dfd;
	/* The target is the guest's business: the server never follows it. */
	if (!(target = strndup(t->s, t->len)))
		return -ENOMEM;
	rc = symlinkat(target, dfd, name) ? -errno : 0;
	free(target);
	return rc ? rc : reply_qid_of(x, dfd, name, P9_TSYMLINK + 1);
}

static int op_mknod(struct ctx *x, struct fid *f)
{
	uint32_t mode = x->q->u.mknod.mode;
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = name_arg(&x->q->u.mknod.name, name)))
		return rc;
	/* Device nodes, FIFOs and sockets are never made on the host. */
	if ((mode & S_IFMT) && !S_ISREG(mode))
		return -EPERM;
	if ((dfd = dir_for_change(x, f, x->q->u.mknod.gid)) < 0)
		return dfd;
	if (mknodat(dfd, name, S_IFREG | new_mode(x, mode), 0))
		return -errno;
	return reply_qid_of(x, dfd, name, P9_TMKNOD + 1);
}

/* The parent directory of f, opened O_PATH (f must not be the root). */
static int parent_fd(struct ctx *x, struct fid *f)
{
	char *dir;
	int fd;

	if (!*f->path)
		return -EBUSY;
	if (!(dir = path_dirname(f->path)))
		return -ENOMEM;
	fd = path_open(x->c->fids.rootfd, dir, O_PATH | O_DIRECTORY, 0);
	free(dir);
	return fd;
}

static int do_rename(struct ctx *x, int odfd, const char *odir, const char *oname,
		     int ndfd, const char *ndir, const char *nname)
{
	char *from, *to;

	if (renameat(odfd, oname, ndfd, nname))
		return -errno;
	from = path_join(odir, oname);
	to = path_join(ndir, nname);
	if (from && to)
		fid_rebase_all(&x->c->fids, from, to);
	free(from);
	free(to);
	return 0;
}

static int op_rename(struct ctx *x, struct fid *f)
{
	struct fid *d = get_fid(x, x->q->u.rename.dfid);
	char name[NAME_MAX + 1], *odir;
	int pfd, dfd, rc;

	if (!d)
		return -EBADF;
	if (is_ro(x, f) || is_ro(x, d))
		return -EROFS;
	if ((rc = name_arg(&x->q->u.rename.name, name)))
		return rc;
	if ((dfd = dir_for_change(x, d, -1)) < 0)
		return dfd;
	if (is_ro(x, f))
		return -EROFS;
	if ((pfd = parent_fd(x, f)) < 0)
		return pfd;
	odir = path_dirname(f->path);
	rc = odir ? do_rename(x, pfd, odir, path_basename(f->path), dfd, d->path, name) : -ENOMEM;
	free(odir);
	close(pfd);
	if (!rc)
		p9_begin(&x->o, P9_TRENAME + 1, x->q->tag);
	return rc;
}

static int op_renameat(struct ctx *x, struct fid *f)
{
	const struct p9_req *q = x->q;
	struct fid *d = get_fid(x, q->u.renameat.newdirfid);
	char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
	int ofd, nfd, rc;

	if (!d)
		return -EBADF;
	if (is_ro(x, f) || is_ro(x, d))
		return -EROFS;
	if ((rc = name_arg(&q->u.renameat.oldname, oname)) ||
	    (rc = name_arg(&q->u.renameat.newname, nname)))
		return rc;
	if ((ofd = dir_for_change(x, f, -1)) < 0)
		return ofd;
	if ((nfd = dir_for_change(x, d, -1)) < 0)
		return nfd;
	/* fid_fd of d may have evicted f's fd: fetch it again */
	if ((ofd = fid_fd(&x->c->fids, f)) < 0)
		return ofd;
	if ((rc = do_rename(x, ofd, f->path, oname, nfd, d->path, nname)))
		return rc;
	p9_begin(&x->o, P9_TRENAMEAT + 1, q->tag);
	return 0;
}

static int op_unlinkat(struct ctx *x, struct fid *f)
{
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = name_arg(&x->q->u.unlinkat.name, name)))
		return rc;
	if ((dfd = dir_for_change(x, f, -1)) < 0)
		return dfd;
	if (unlinkat(dfd, name, x->q->u.unlinkat.flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0))
		return -errno;
	p9_begin(&x->o, P9_TUNLINKAT + 1, x->q->tag);
	return 0;
}

static int op_remove(struct ctx *x, struct fid *f)
{
	struct stat st;
	int pfd, fd, rc = 0;

	if (is_ro(x, f))
		rc = -EROFS;
	else if ((fd = fid_fd(&x->c->fids, f)) < 0)
		rc = fd;
	else if (fstat(fd, &st))
		rc = -errno;
	else if ((pfd = parent_fd(x, f)) < 0)
		rc = pfd;
	else {
		if (unlinkat(pfd, path_basename(f->path), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0))
			rc = -errno;
		close(pfd);
	}
	fid_free(&x->c->fids, f);	/* clunked whatever happened */
	if (!rc)
		p9_begin(&x->o, P9_TREMOVE + 1, x->q->tag);
	return rc;
}

static int op_link(struct ctx *x, struct fid *d)
{
	struct fid *f = get_fid(x, x->q->u.link.fid2);
	char name[NAME_MAX + 1];
	struct stat st;
	int dfd, pfd, fd, rc;

	if (!f)
		return -EBADF;
	if (is_ro(x, f) || is_ro(x, d))
		return -EROFS;
	if ((rc = name_arg(&x->q->u.link.name, name)))
		return rc;
	if ((dfd = dir_for_change(x, d, -1)) < 0)
		return dfd;
	if ((fd = fid_fd(&x->c->fids, f)) < 0)
		return fd;
	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EPERM;
	if ((dfd = fid_fd(&x->c->fids, d)) < 0)
		return dfd;
	/* by parent and name, never following a link: both are ours */
	if ((pfd = parent_fd(x, f)) < 0)
		return pfd;
	rc = linkat(pfd, path_basename(f->path), dfd, name, 0) ? -errno : 0;
	close(pfd);
	if (!rc)
		p9_begin(&x->o, P9_TLINK + 1, x->q->tag);
	return rc;
}

static int op_lock(struct ctx *x, struct fid *f)
{
	/* Advisory locks are granted and not enforced between clients. */
	p9_begin(&x->o, P9_TLOCK + 1, x->q->tag);
	p9_put8(&x->o, P9_LOCK_SUCCESS);
	return 0;
}

static int op_getlock(struct ctx *x, struct fid *f)
{
	const struct p9_str *id = &x->q->u.lock.client_id;

	p9_begin(&x->o, P9_TGETLOCK + 1, x->q->tag);
	p9_put8(&x->o, P9_LOCK_TYPE_UNLCK);
	p9_put64(&x->o, x->q->u.lock.start);
	p9_put64(&x->o, x->q->u.lock.length);
	p9_put32(&x->o, x->q->u.lock.proc_id);
	p9_putstr(&x->o, id->s, id->len);
	return 0;
}

/* -------------------------------------------------------------- xattrs --- */

/*
 * Extended attributes in the user.* namespace only: the others (security,
 * trusted, system -- POSIX ACLs among them) are the host's, and answer
 * EOPNOTSUPP.  Only regular files and directories have them (as Linux
 * allows user.* nowhere else).  Each call goes to /proc/self/fd/N of the
 * fid's own fd, so it reaches exactly the file the fid confines, as the
 * guest's user.  A value (or a name list) is at most XATTR_VALUE_MAX bytes
 * and, while a fid carries it, is charged to the VM's max_mem.
 */
#define XATTR_VALUE_MAX		65536u	/* Linux's XATTR_SIZE_MAX */
#define XATTR_NAME_LEN		255u	/* Linux's XATTR_NAME_MAX */

static bool user_xattr(const char *name)
{
	return !strncmp(name, "user.", 5) && name[5];
}

static int xattr_name(const struct p9_str *s, char *buf)
{
	if (s->len > XATTR_NAME_LEN)
		return -ERANGE;
	if (!s->len || memchr(s->s, 0, s->len))
		return -EINVAL;
	memcpy(buf, s->s, s->len);
	buf[s->len] = 0;
	return user_xattr(buf) ? 0 : -EOPNOTSUPP;
}

/* /proc/self/fd/N of f's file into file; -EOPNOTSUPP if it has no xattrs. */
static int xattr_target(struct ctx *x, struct fid *f, char *file, size_t len)
{
	struct stat st;
	int fd = fid_fd(&x->c->fids, f);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EOPNOTSUPP;
	path_fdname(fd, file, len);
	return 0;
}

static struct fid_xattr *xattr_alloc(struct ctx *x, size_t size)
{
	struct fidtab *t = &x->c->fids;
	size_t cost = sizeof(struct fid_xattr) + size + 32;
	struct fid_xattr *xa;

	if (fid_pool_charge(t->pool, t->max_mem, cost, false))
		return NULL;
	if (!(xa = calloc(1, sizeof(*xa) + size))) {
		fid_pool_charge(t->pool, t->max_mem, -(long long)cost, false);
		return NULL;
	}
	xa->cost = cost;
	xa->size = size;
	return xa;
}

static void xattr_free(struct ctx *x, struct fid_xattr *xa)
{
	fid_pool_charge(x->c->fids.pool, 0, -(long long)xa->cost, false);
	free(xa);
}

/* Keep the user.* names of a listxattr list; returns the new length. */
static size_t user_names(uint8_t *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen((char *)list + in, len - in) + 1;

		if (in + n <= len && user_xattr((char *)list + in)) {
			memmove(list + out, list + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

static int op_xattrwalk(struct ctx *x, struct fid *f)
{
	const struct p9_req *q = x->q;
	bool list = !q->u.xattrwalk.name.len;
	char name[XATTR_NAME_LEN + 1] = "", file[40];
	struct fid_xattr *xa = NULL;
	struct fid *nf;
	ssize_t n = 0;
	int rc, tries;

	if (q->u.xattrwalk.newfid == f->num)
		return -EINVAL;
	if (fid_lookup(&x->c->fids, q->u.xattrwalk.newfid))
		return -EEXIST;
	if (!list && (rc = xattr_name(&q->u.xattrwalk.name, name)))
		return rc;
	rc = xattr_target(x, f, file, sizeof(file));
	if (rc == -EOPNOTSUPP)		/* no xattrs here: none to list, none to get */
		rc = list ? 0 : -ENODATA;
	else if (!rc)
		rc = 1;
	if (rc <= 0 && !(rc == 0 && list))
		return rc;
	for (tries = 0; tries < 3; tries++) {
		if (rc == 1) {
			n = list ? listxattr(file, NULL, 0) : getxattr(file, name, NULL, 0);
			if (n < 0)
				return -errno;
			if ((size_t)n > XATTR_VALUE_MAX)
				return -E2BIG;
		}
		if (!(xa = xattr_alloc(x, n)))
			return -ENOMEM;
		if (rc != 1 || !n)
			break;
		n = list ? listxattr(file, (char *)xa->data, n) : getxattr(file, name, xa->data, n);
		if (n >= 0) {
			xa->size = list ? user_names(xa->data, n) : (size_t)n;
			break;
		}
		/* grew since it was measured: measure again */
		rc = -errno;
		xattr_free(x, xa);
		xa = NULL;
		if (rc != -ERANGE)
			return rc;
		rc = 1;
	}
	if (!xa)
		return -ERANGE;
	if ((rc = fid_clone(&x->c->fids, q->u.xattrwalk.newfid, f, &nf))) {
		xattr_free(x, xa);
		return rc;
	}
	nf->uid = f->uid;
	nf->ro = f->ro;
	nf->xa = xa;
	p9_begin(&x->o, P9_TXATTRWALK + 1, q->tag);
	p9_put64(&x->o, xa->size);
	return 0;
}

static int op_xattrcreate(struct ctx *x, struct fid *f)
{
	const struct p9_req *q = x->q;
	char name[XATTR_NAME_LEN + 1], file[40];
	struct fid_xattr *xa;
	int rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = xattr_name(&q->u.xattrcreate.name, name)))
		return rc;
	if (q->u.xattrcreate.size > XATTR_VALUE_MAX)
		return -E2BIG;
	if (q->u.xattrcreate.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (f->opened || f->xa)
		return -EBADF;
	if ((rc = xattr_target(x, f, file, sizeof(file))))
		return rc;
	if (!(xa = xattr_alloc(x, q->u.xattrcreate.size)))
		return -ENOMEM;
	xa->create = true;
	xa->flags = q->u.xattrcreate.flags;
	strcpy(xa->name, name);
	f->xa = xa;
	p9_begin(&x->o, P9_TXATTRCREATE + 1, q->tag);
	return 0;
}

/* Tread of a Txattrwalk fid: the value or the name list. */
static int xattr_read(struct ctx *x, struct fid *f)
{
	struct fid_xattr *xa = f->xa;
	uint64_t off = x->q->u.rw.offset;
	uint32_t count = x->q->u.rw.count, room = x->o.cap - P9_HDRSZ - 4;
	uint8_t *p;

	if (xa->create)
		return -EBADF;
	if (off > xa->size)
		off = xa->size;
	if (count > room)
		count = room;
	if (count > xa->size - off)
		count = xa->size - off;
	p9_begin(&x->o, P9_TREAD + 1, x->q->tag);
	p9_put32(&x->o, count);
	if (!(p = p9_reserve(&x->o, count)))
		return -EIO;
	memcpy(p, xa->data + off, count);
	return 0;
}

/* Twrite of a Txattrcreate fid: the value, in order. */
static int xattr_write(struct ctx *x, struct fid *f)
{
	struct fid_xattr *xa = f->xa;
	uint32_t count = x->q->u.rw.count;

	if (!xa->create)
		return -EBADF;
	if (x->q->u.rw.offset != xa->len)
		return -EINVAL;
	if (count > xa->size - xa->len)
		return -ENOSPC;
	memcpy(xa->data + xa->len, x->q->u.rw.data, count);
	xa->len += count;
	p9_begin(&x->o, P9_TWRITE + 1, x->q->tag);
	p9_put32(&x->o, count);
	return 0;
}

/* Tclunk of a Txattrcreate fid sets the value (a value of 0 bytes removes it). */
static int xattr_commit(struct ctx *x, struct fid *f)
{
	struct fid_xattr *xa = f->xa;
	char file[40];
	int rc;

	if (is_ro(x, f))
		return -EROFS;
	if ((rc = xattr_target(x, f, file, sizeof(file))))
		return rc;
	if (xa->len != xa->size)
		return -EINVAL;
	if (xa->size ? setxattr(file, xa->name, xa->data, xa->size, xa->flags) :
	    removexattr(file, xa->name))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ dispatch --- */

static int dispatch(struct ctx *x)
{
	const struct p9_req *q = x->q;
	struct fid *f;
	int rc;

	switch (q->type) {
	case P9_TVERSION:
		return op_version(x);
	case P9_TAUTH:
		return -EOPNOTSUPP;
	case P9_TFLUSH:
		return op_flush(x);
	}
	if (!x->c->versioned)
		return -EPROTO;
	if (q->type == P9_TATTACH)
		return op_attach(x);
	if (!(f = get_fid(x, q->fid)))
		return -EBADF;
	if ((rc = cred_apply(x->c, f->uid, -1)))
		return rc;
	/* an xattr fid is for its value only */
	if (f->xa && q->type != P9_TREAD && q->type != P9_TWRITE && q->type != P9_TCLUNK)
		return -EBADF;
	switch (q->type) {
	case P9_TWALK: return op_walk(x, f);
	case P9_TLOPEN: return op_lopen(x, f);
	case P9_TLCREATE: return op_lcreate(x, f);
	case P9_TREAD: return op_read(x, f);
	case P9_TWRITE: return op_write(x, f);
	case P9_TREADDIR: return op_readdir(x, f);
	case P9_TFSYNC: return op_fsync(x, f);
	case P9_TGETATTR: return op_getattr(x, f);
	case P9_TSETATTR: return op_setattr(x, f);
	case P9_TREADLINK: return op_readlink(x, f);
	case P9_TSTATFS: return op_statfs(x, f);
	case P9_TMKDIR: return op_mkdir(x, f);
	case P9_TSYMLINK: return op_symlink(x, f);
	case P9_TMKNOD: return op_mknod(x, f);
	case P9_TRENAME: return op_rename(x, f);
	case P9_TRENAMEAT: return op_renameat(x, f);
	case P9_TUNLINKAT: return op_unlinkat(x, f);
	case P9_TREMOVE: return op_remove(x, f);
	case P9_TLINK: return op_link(x, f);
	case P9_TLOCK: return op_lock(x, f);
	case P9_TGETLOCK: return op_getlock(x, f);
	case P9_TCLUNK:
		rc = f->xa && f->xa->create ? xattr_commit(x, f) : 0;
		fid_free(&x->c->fids, f);	/* clunked whatever happened */
		if (rc)
			return rc;
		p9_begin(&x->o, P9_TCLUNK + 1, q->tag);
		return 0;
	case P9_TXATTRCREATE: return op_xattrcreate(x, f);
	case P9_TXATTRWALK: return op_xattrwalk(x, f);
	}
	return -EOPNOTSUPP;
}

static void unbusy(struct conn *c, const struct p9_req *q)
{
	uint32_t nums[3] = { q->fid, P9_NOFID, P9_NOFID };
	int i;

	if (q->type == P9_TRENAME)
		nums[1] = q->u.rename.dfid;
	else if (q->type == P9_TRENAMEAT)
		nums[1] = q->u.renameat.newdirfid;
	else if (q->type == P9_TLINK)
		nums[1] = q->u.link.fid2;
	else if (q->type == P9_TWALK)
		nums[1] = q->u.walk.newfid;
	for (i = 0; i < 3; i++) {
		struct fid *f = nums[i] != P9_NOFID ? fid_lookup(&c->fids, nums[i]) : NULL;

		if (f)
			f->busy = false;
	}
}

long ops_serve(struct conn *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
	struct p9_req q;
	struct ctx x = {
		.c = c, .q = &q,
		.o = { .buf = out, .cap = cap },
	};
	int rc = p9_decode(msg, len, &q);
	size_t n;

	if (rc == -EBADMSG) {
		fsd_log(LOG_NOTICE, "%s: malformed %s message: closing", c->peer,
			len > 4 ? p9_type_name(msg[4]) : "short");
		return -1;
	}
	if (rc == -EOPNOTSUPP)
		return p9_lerror(&x.o, len >= 7 ? (msg[5] | msg[6] << 8) : P9_NOTAG, EOPNOTSUPP);
	/*
	 * Other requests of the connection, and other connections of the VM
	 * taking idle fds, wait while this one holds the table (data calls
	 * let go of it: see unlock_io).
	 */
	pthread_mutex_lock(&c->fids.lock);
	rc = dispatch(&x);
	unbusy(c, &q);
	pthread_mutex_unlock(&c->fids.lock);
	if (rc == -1 && q.type == P9_TVERSION)
		return -1;
	if (rc < 0)
		return p9_lerror(&x.o, q.tag, -rc);
	n = p9_finish(&x.o);
	return n ? (long)n : (long)p9_lerror(&x.o, q.tag, EIO);
}

long ops_handle(struct conn *c, const uint8_t *msg, size_t len)
{
	return ops_serve(c, msg, len, c->out, c->msize);
}
