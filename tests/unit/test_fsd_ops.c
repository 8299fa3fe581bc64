// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd request handling and confinement on a temporary directory on
 * the host: the handlers are driven directly (no socket, no kernel 9p)
 * with hand-built messages, one test per class of the QEMU 9p and
 * virtiofsd CVEs the server must not repeat:
 *   CVE-2016-7116   ".." walks out of the export root
 *   CVE-2016-9602   symlinks followed on the host (absolute, relative, raced)
 *   CVE-2018-19364  fid paths going stale under rename
 *   CVE-2020-10717  a guest exhausting the host's file descriptors
 *   CVE-2020-35517  special files opened on the host
 *   CVE-2022-0358   new files keeping a setgid group the creator is not in
 *   CVE-2023-2861   device nodes created by the guest
 * plus open-unlink-fstat, read-only tenants and malformed messages.
 * Needs root (it makes a device node and acts as other users); TAP out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <pthread.h>
#include <unistd.h>

#include "../../daemon/fsd/fsd.h"
#include "tap.h"


/* ---- message builder ---------------------------------------------------- */
static uint8_t msg[65536];
static size_t mlen;
static uint16_t next_tag = 1;

static void b_le(uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		msg[mlen++] = v >> (8 * i);
}

static void b_begin(uint8_t type)
{
	mlen = 0;
	b_le(0, 4);
	b_le(type, 1);
	b_le(next_tag++, 2);
}

static void b_str(const char *s)
{
	b_le(strlen(s), 2);
	memcpy(msg + mlen, s, strlen(s));
	mlen += strlen(s);
}

/* ---- the server side ---------------------------------------------------- */
static struct conn *cn;
static const uint8_t *rep;
static long rlen;

/* Send the built message; return 0 for a normal reply, errno for Rlerror. */
static int send_msg(void)
{
	msg[0] = mlen; msg[1] = mlen >> 8; msg[2] = mlen >> 16; msg[3] = mlen >> 24;
	rlen = ops_handle(cn, msg, mlen);
	rep = cn->out;
	if (rlen < 0)
		return -1;
	if (rep[4] == P9_RLERROR)
		return p9_le32(rep + 7);
	return 0;
}

static char tmp[] = "/tmp/fsd-ops-XXXXXX";
static char t1[128], outside[128];

static struct conn *make_conn(const char *access, const char *extra)
{
	char text[1024], err[256];
	struct fsd_conf *conf;
	struct conn *c;

	snprintf(text, sizeof(text), "vsock = no\n[vm t]\ncid = 9\nroot = %s\naccess = %s\n%s",
		 t1, access, extra);
	if (conf_parse("t.conf", text, &conf, err, sizeof(err)) || conf_validate(conf, err, sizeof(err))) {
		printf("# config: %s\n", err);
		exit(1);
	}
	c = conn_new(-1, &conf->vms[0], conf);
	if (!c)
		exit(1);
	strcpy(c->peer, "test");
	c->bind = BIND_CID;
	c->cid = 9;
	return c;
}

static int version(uint32_t msize)
{
	b_begin(P9_TVERSION);
	b_le(msize, 4);
	b_str("9P2000.L");
	return send_msg();
}

static int attach(uint32_t fid, const char *aname, uint32_t uid)
{
	b_begin(P9_TATTACH);
	b_le(fid, 4);
	b_le(P9_NOFID, 4);
	b_str("");
	b_str(aname);
	b_le(uid, 4);
	return send_msg();
}

/* walk fid -> newfid through names (NULL-terminated); returns errno or 0;
 * *nq gets the qid count of a successful reply */
static int walk(uint32_t fid, uint32_t newfid, int *nq, ...)
{
	const char *names[16];
	int n = 0, rc;
	va_list ap;

	va_start(ap, nq);
	while ((names[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	b_begin(P9_TWALK);
	b_le(fid, 4);
	b_le(newfid, 4);
	b_le(n, 2);
	for (int i = 0; i < n; i++)
		b_str(names[i]);
	rc = send_msg();
	if (!rc && nq)
		*nq = rep[7] | rep[8] << 8;
	return rc;
}

static uint64_t walk_qid_path(int i)
{
	const uint8_t *q = rep + 9 + 13 * i;

	return p9_le32(q + 5) | (uint64_t)p9_le32(q + 9) << 32;
}

static int simple(uint8_t type, uint32_t fid)
{
	b_begin(type);
	b_le(fid, 4);
	return send_msg();
}

static int lopen(uint32_t fid, uint32_t flags)
{
	b_begin(P9_TLOPEN);
	b_le(fid, 4);
	b_le(flags, 4);
	return send_msg();
}

static int lcreate(uint32_t fid, const char *name, uint32_t flags, uint32_t mode, uint32_t gid)
{
	b_begin(P9_TLCREATE);
	b_le(fid, 4);
	b_str(name);
	b_le(flags, 4);
	b_le(mode, 4);
	b_le(gid, 4);
	return send_msg();
}

static int mknod9(uint32_t fid, const char *name, uint32_t mode)
{
	b_begin(P9_TMKNOD);
	b_le(fid, 4);
	b_str(name);
	b_le(mode, 4);
	b_le(1, 4);
	b_le(3, 4);
	b_le(0, 4);
	return send_msg();
}

static int setattr(uint32_t fid, uint32_t valid, uint32_t mode, uint32_t uid, uint64_t size)
{
	b_begin(P9_TSETATTR);
	b_le(fid, 4);
	b_le(valid, 4);
	b_le(mode, 4);
	b_le(uid, 4);
	b_le(uid, 4);
	b_le(size, 8);
	b_le(0, 8); b_le(0, 8); b_le(0, 8); b_le(0, 8);
	return send_msg();
}

static int getattr_size(uint32_t fid, uint64_t *size)
{
	int rc;

	b_begin(P9_TGETATTR);
	b_le(fid, 4);
	b_le(0x7ff, 8);
	rc = send_msg();
	if (!rc)
		*size = p9_le32(rep + 7 + 8 + 13 + 4 + 4 + 4 + 8 + 8) |
			(uint64_t)p9_le32(rep + 7 + 8 + 13 + 4 + 4 + 4 + 8 + 8 + 4) << 32;
	return rc;
}

static int unlinkat9(uint32_t dfid, const char *name, uint32_t flags)
{
	b_begin(P9_TUNLINKAT);
	b_le(dfid, 4);
	b_str(name);
	b_le(flags, 4);
	return send_msg();
}

static int rw(uint8_t type, uint32_t fid, uint64_t off, const char *data, uint32_t count)
{
	b_begin(type);
	b_le(fid, 4);
	b_le(off, 8);
	b_le(count, 4);
	if (type == P9_TWRITE) {
		memcpy(msg + mlen, data, count);
		mlen += count;
	}
	return send_msg();
}

static int renameat9(uint32_t ofid, const char *on, uint32_t nfid, const char *nn)
{
	b_begin(P9_TRENAMEAT);
	b_le(ofid, 4);
	b_str(on);
	b_le(nfid, 4);
	b_str(nn);
	return send_msg();
}

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		printf("# command failed: %s\n", cmd);
}

static int mount_tmpfs(const char *dir)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=1m veil-test %s 2>/dev/null", dir);
	return system(cmd);
}

static void fresh(const char *access, const char *extra)
{
	if (cn) {
		cred_reset(cn);	/* this thread checks the next config as root */
		conn_free(cn);
	}
	cn = make_conn(access, extra);
	cred_reset(cn);
	version(65536);
	attach(0, "", 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_dotdot(void)
{
	uint64_t root;
	int nq = 0;

	fresh("rw", "");
	walk(0, 1, &nq, "dir", NULL);
	walk(0, 2, &nq, "dir", "..", NULL);
	root = walk_qid_path(1);
	check(!walk(0, 3, &nq, "..", NULL) && nq == 1 && walk_qid_path(0) == root,
	      "CVE-2016-7116: \"..\" of the root is the root");
	check(!walk(0, 4, &nq, "..", "..", "..", "..", NULL) && nq == 4 && walk_qid_path(3) == root,
	      "CVE-2016-7116: many \"..\" stay at the root");
	check(walk(0, 5, NULL, "dir/../..", NULL) == EINVAL, "a name with '/' is refused");
	check(walk(0, 5, NULL, ".", NULL) == EINVAL, "\".\" as a name is refused");
	check(walk(0, 5, NULL, "", NULL) == EINVAL, "an empty name is refused");
	check(renameat9(0, "..", 0, "x") == EINVAL, "rename of \"..\" is refused");
	check(lcreate(1, "../escape", 0101, 0644, 0) == EINVAL, "create of \"../x\" is refused");
}

/* Two tmpfs mounts in the tenant root: the same inode number, two files. */
static void test_qid_mounts(void)
{
	uint64_t a, b, c;
	struct stat s1, s2;
	char m1[160], m2[160];
	int nq = 0;

	check(fsd_qid_path(1, 42) == fsd_qid_path(1, 42), "qid: the same inode gives the same path");
	check(fsd_qid_path(1, 42) != fsd_qid_path(2, 42), "qid: one inode number on two devices, two paths");
	check(fsd_qid_path(1, 1ull << 50) != fsd_qid_path(1, 1), "qid: a 50-bit inode number is folded, not cut");
	snprintf(m1, sizeof(m1), "%s/m1", t1);
	snprintf(m2, sizeof(m2), "%s/m2", t1);
	sh("mkdir -p %s %s", m1, m2);
	if (mount_tmpfs(m1) || mount_tmpfs(m2)) {
		printf("ok %d - qid: mounts in the tenant root # SKIP mount not permitted\n", ++t_num);
		t_skip++;
		sh("umount %s %s 2>/dev/null; rmdir %s %s", m1, m2, m1, m2);
		return;
	}
	sh("touch %s/f %s/f", m1, m2);
	fresh("rw", "");
	check(!walk(0, 1, &nq, "m1", "f", NULL) && nq == 2, "qid: walk into a mount in the tenant root");
	a = walk_qid_path(1);
	check(!walk(0, 2, &nq, "m2", "f", NULL) && nq == 2, "qid: walk into a second mount");
	b = walk_qid_path(1);
	check(!walk(0, 3, &nq, "dir", NULL) && nq == 1, "qid: walk to a directory of the root's own device");
	c = walk_qid_path(0);
	stat(strcat(m1, "/f"), &s1);
	stat(strcat(m2, "/f"), &s2);
	printf("# inode numbers %llu and %llu, qid paths %#llx and %#llx\n",
	       (unsigned long long)s1.st_ino, (unsigned long long)s2.st_ino,
	       (unsigned long long)a, (unsigned long long)b);
	check(a != b && (a >> 48) != (b >> 48) && (a >> 48) != (c >> 48),
	      "qid: files of two mounts (and the root's) have distinct paths, by device");
	check(s1.st_ino != s2.st_ino || a != b, "qid: the same inode number on two mounts, two qids");
	fresh("rw", "");
	sh("umount %s/m1 %s/m2; rmdir %s/m1 %s/m2", t1, t1, t1, t1);
}

/* The calling thread's filesystem uid, from the kernel. */
static long thread_fsuid(void)
{
	char line[256];
	long r = -1, a, b, c, d;
	FILE *f = fopen("/proc/thread-self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %ld %ld %ld %ld", &a, &b, &c, &d) == 4)
			r = d;
	if (f)
		fclose(f);
	return r;
}

static void *fsuid_thread(void *arg)
{
	long *r = arg;

	r[0] = cred_apply(cn, 4321, 4321);
	r[1] = thread_fsuid();
	return NULL;
}

/* Workers act as different guest users at once: fsuid must be per thread. */
static void test_cred_per_thread(void)
{
	long r[2] = { -1, -1 }, mine;
	pthread_t th;
	bool ran;

	fresh("rw", "");
	cred_reset(cn);
	ran = !pthread_create(&th, NULL, fsuid_thread, r) && !pthread_join(th, NULL);
	check(ran && r[0] == 0 && r[1] == 4321, "cred: a thread acts as guest user 4321 (fsuid %ld)",
	      r[1]);
	mine = thread_fsuid();
	check(mine == 0, "cred: ... and no other thread of the process does (fsuid %ld)", mine);
}

static void test_symlinks(void)
{
	struct stat a, b;
	int nq = 0;

	fresh("rw", "");
	stat(outside, &a);
	check(!walk(0, 1, &nq, "abs", NULL) && nq == 1 && rep[9] == P9_QTSYMLINK,
	      "walk onto an absolute symlink yields the link itself");
	check(!walk(0, 2, &nq, "abs", "passwd", NULL) && nq == 1,
	      "CVE-2016-9602: no walk through an absolute symlink (partial walk)");
	check(walk(0, 2, NULL, "rel", "secret", NULL) == 0 && rep[7] == 1,
	      "CVE-2016-9602: no walk through a relative symlink to outside");
	check(lopen(1, 0) == ELOOP, "a symlink is never opened (ELOOP)");
	walk(0, 3, &nq, "rel", NULL);
	check(setattr(3, P9_SETATTR_MODE, 0777, 0, 0) == EOPNOTSUPP,
	      "chmod through a symlink is refused");
	check(setattr(3, P9_SETATTR_SIZE, 0, 0, 0) == EINVAL, "truncate of a symlink is refused");
	setattr(3, P9_SETATTR_UID | P9_SETATTR_GID, 0, 4242, 0);
	stat(outside, &b);
	check(a.st_mode == b.st_mode && a.st_size == b.st_size && b.st_uid != 4242,
	      "the file outside is untouched (mode, size, owner)");
	walk(0, 4, &nq, NULL);
	check(lcreate(4, "rel", 01 | 01000, 0644, 0) == ELOOP,
	      "create over a dangling/outside symlink does not follow it");
	stat(outside, &b);
	check(b.st_size == a.st_size, "... and did not truncate the file outside");
	/* race: a directory the guest walked is swapped for a symlink */
	walk(0, 5, &nq, "dir", NULL);
	sh("mv %s/dir %s/dir.moved && ln -s /etc %s/dir", t1, t1, t1);
	check(walk(0, 6, &nq, "dir", "passwd", NULL) == 0 && nq == 1,
	      "CVE-2016-9602: a directory swapped for a symlink is not followed");
	check(!walk(5, 7, &nq, "f", NULL) && nq == 1,
	      "a fid keeps its directory across the swap (fd-relative)");
	sh("rm %s/dir && mv %s/dir.moved %s/dir", t1, t1, t1);
}

static void test_specials(void)
{
	int nq;

	fresh("rw", "");
	check(mknod9(0, "cdev", S_IFCHR | 0666) == EPERM, "CVE-2023-2861: mknod of a char device: EPERM");
	check(mknod9(0, "bdev", S_IFBLK | 0666) == EPERM, "mknod of a block device: EPERM");
	check(mknod9(0, "fifo2", S_IFIFO | 0666) == EPERM, "mknod of a FIFO: EPERM");
	check(mknod9(0, "sock", S_IFSOCK | 0666) == EPERM, "mknod of a socket: EPERM");
	check(mknod9(0, "reg", S_IFREG | 0644) == 0, "mknod of a regular file works");
	walk(0, 1, &nq, "null", NULL);
	check(lopen(1, 2) == EPERM, "CVE-2020-35517: a host device node is never opened");
	walk(0, 2, &nq, "fifo", NULL);
	check(lopen(2, 0) == EPERM, "CVE-2020-35517: a host FIFO is never opened (no hang)");
	check(lcreate(0, "fifo", 0, 0644, 0) == EPERM, "create (no O_EXCL) of an existing FIFO: EPERM");
}

static void test_unlinked(void)
{
	uint64_t size = 0;
	int nq;

	fresh("rw", "");
	walk(0, 1, &nq, NULL);
	lcreate(1, "gone", 2, 0644, 0);
	rw(P9_TWRITE, 1, 0, "hello", 5);
	check(!unlinkat9(0, "gone", 0), "unlink of an open file");
	check(!getattr_size(1, &size) && size == 5, "open-unlink-fstat: getattr still works");
	check(!rw(P9_TREAD, 1, 0, NULL, 100) && p9_le32(rep + 7) == 5 && !memcmp(rep + 11, "hello", 5),
	      "open-unlink-read still works");
}

static void test_fd_budget(void)
{
	int i, ok = 1, nq;
	char name[32];

	fresh("rw", "max_fds = 16\n");
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "many/f%d", i);
		walk(0, 100 + i, &nq, "many", name + 5, NULL);
		if (nq != 2 || cn->vs->pool.fds > 16)
			ok = 0;
	}
	check(ok, "CVE-2020-10717: 300 live fids hold at most max_fds=16 host fds");
	for (i = 0; i < 300 && ok; i += 37) {
		uint64_t size = 1;

		ok = !getattr_size(100 + i, &size) && size == 0;
	}
	check(ok, "evicted fids reopen on demand");
	walk(100, 99, &nq, NULL);
	check(!lopen(99, 0) && !rw(P9_TREAD, 99, 0, NULL, 10), "an opened fid survives eviction pressure");
}

static void test_readonly(void)
{
	int nq;

	fresh("ro", "");
	walk(0, 1, &nq, "dir", "f", NULL);
	walk(0, 2, &nq, NULL);
	check(lopen(1, 1) == EROFS, "ro tenant: open for write: EROFS");
	check(lopen(1, 01000) == EROFS, "ro tenant: open with O_TRUNC: EROFS");
	check(lcreate(2, "x", 1, 0644, 0) == EROFS, "ro tenant: create: EROFS");
	b_begin(P9_TMKDIR); b_le(0, 4); b_str("d"); b_le(0755, 4); b_le(0, 4);
	check(send_msg() == EROFS, "ro tenant: mkdir: EROFS");
	b_begin(P9_TSYMLINK); b_le(0, 4); b_str("s"); b_str("t"); b_le(0, 4);
	check(send_msg() == EROFS, "ro tenant: symlink: EROFS");
	check(mknod9(0, "n", S_IFREG | 0644) == EROFS, "ro tenant: mknod: EROFS");
	check(setattr(1, P9_SETATTR_MODE, 0600, 0, 0) == EROFS, "ro tenant: chmod: EROFS");
	check(setattr(1, P9_SETATTR_SIZE, 0, 0, 0) == EROFS, "ro tenant: truncate: EROFS");
	check(unlinkat9(0, "rel", 0) == EROFS, "ro tenant: unlink: EROFS");
	check(renameat9(0, "rel", 0, "rel2") == EROFS, "ro tenant: rename: EROFS");
	b_begin(P9_TLINK); b_le(0, 4); b_le(1, 4); b_str("l");
	check(send_msg() == EROFS, "ro tenant: link: EROFS");
	walk(0, 3, &nq, "rel", NULL);
	check(simple(P9_TREMOVE, 3) == EROFS, "ro tenant: remove: EROFS");
	check(!lopen(1, 0), "ro tenant: open for read works");
	check(rw(P9_TWRITE, 1, 0, "x", 1) == EROFS, "ro tenant: write on a fid opened for reading: EROFS");
	b_begin(P9_TXATTRCREATE); b_le(2, 4); b_str("user.x"); b_le(1, 8); b_le(0, 4);
	check(send_msg() == EROFS, "ro tenant: xattrcreate: EROFS");
	check(mknod9(0, "p", S_IFIFO | 0644) == EROFS, "ro tenant: mknod of a FIFO: EROFS");

	fresh("rw", "");
	attach(5, "ro", 0);
	walk(5, 6, &nq, NULL);
	check(lcreate(6, "x", 1, 0644, 0) == EROFS, "rw tenant, attach aname \"ro\": create: EROFS");
	check(attach(7, "bogus", 0) == EINVAL, "unknown attach option: EINVAL");
}

/* The tenant root's attributes, msize after a reload, fid and memory budgets. */
static void test_limits(void)
{
	struct conn *first;
	struct stat a, b;
	uint64_t size;
	int i, nq, rc = 0;

	fresh("rw", "");
	stat(t1, &a);
	check(setattr(0, P9_SETATTR_MODE, 0777, 0, 0) == EPERM, "the tenant root's mode: EPERM");
	check(setattr(0, P9_SETATTR_UID | P9_SETATTR_GID, 0, 1234, 1234) == EPERM,
	      "the tenant root's owner: EPERM");
	walk(0, 1, &nq, "dir", "..", NULL);
	check(setattr(1, P9_SETATTR_MTIME, 0, 0, 0) == EPERM, "the root reached by dir/..: EPERM");
	cred_reset(cn);
	stat(t1, &b);
	check(a.st_mode == b.st_mode && a.st_uid == b.st_uid, "... and the root is unchanged");

	/* a reload raising msize_max after the buffers were sized */
	cn->conf->msize_max = 16u << 20;
	version(16u << 20);
	check(p9_le32(rep + 7) == cn->bufsize, "Tversion after msize_max grew: at most the buffers (%u)",
	      p9_le32(rep + 7));
	cn->conf->msize_max = cn->bufsize;

	fresh("rw", "max_fids = 16\n");
	for (i = 0; i < 20 && !rc; i++)
		rc = walk(0, 10 + i, &nq, NULL);
	check(rc == EMFILE && i == 16, "a walk past max_fids: EMFILE (after %d)", i - 1);

	fresh("rw", "max_mem = 3M\n");
	for (i = 0, rc = 0; i < 20000 && !rc; i++)
		rc = walk(0, 10 + i, &nq, NULL);
	check(rc == ENOMEM && cn->vs->pool.mem <= 3 << 20,
	      "fids past max_mem: ENOMEM (after %d, %lld bytes charged)", i - 1, cn->vs->pool.mem);
	simple(P9_TCLUNK, 10);
	check(!walk(0, 9, &nq, NULL), "a clunk gives its bytes back");

	/* one connection holding the VM's whole fd budget */
	fresh("rw", "max_fds = 8\n");
	for (i = 0; i < 12; i++)
		walk(0, 10 + i, &nq, NULL);
	first = cn;
	cn = make_conn("rw", "max_fds = 8\n");
	version(65536);
	check(!attach(0, "", 0), "a second connection attaches while the first holds the fd budget");
	check(cn->vs->pool.fds <= 8, "... within max_fds (%d)", cn->vs->pool.fds);
	conn_free(cn);
	cn = first;
	check(!getattr_size(15, &size), "the first connection's evicted fid reopens on use");
}

static void test_sgid(void)
{
	struct stat st;
	int nq;
	char p[256];

	fresh("rw", "");
	attach(10, "", 1000);
	walk(10, 11, &nq, "sgid", NULL);
	check(!lcreate(11, "f", 1, 02755, 1000), "uid 1000 creates a 02755 file in a setgid dir of group 0");
	snprintf(p, sizeof(p), "%s/sgid/f", t1);
	cred_reset(cn);
	check(!stat(p, &st) && st.st_uid == 1000 && !(st.st_mode & S_ISGID),
	      "CVE-2022-0358: the file does not keep setgid for a group its creator is not in");
	walk(0, 12, &nq, "dir", "f", NULL);
	walk(10, 13, &nq, "dir", "f", NULL);
	check(lopen(13, 1) == EACCES, "uid 1000 cannot write root's 0644 file (credentials applied)");
}

static void test_rename_fids(void)
{
	int nq;

	fresh("rw", "");
	sh("mkdir -p %s/ra/rb && echo x > %s/ra/rb/file", t1, t1);
	walk(0, 1, &nq, "ra", "rb", "file", NULL);
	check(!renameat9(0, "ra", 0, "rz"), "rename of a directory");
	check(!strcmp(fid_lookup(&cn->fids, 1)->path, "rz/rb/file"),
	      "CVE-2018-19364 class: fids beneath a renamed dir follow it");
	fid_drop_fd(&cn->fids, fid_lookup(&cn->fids, 1));
	check(!lopen(1, 0), "... and reopen by their new path");
}

static void test_malformed(void)
{
	fresh("rw", "");
	b_begin(P9_TWALK);
	b_le(0, 4); b_le(1, 4); b_le(1, 2); b_le(200, 2);
	check(send_msg() == -1, "a walk name running past the message closes the connection");
	fresh("rw", "");
	b_begin(P9_TGETATTR);
	b_le(0, 4);
	check(send_msg() == -1, "a truncated getattr closes the connection");
	fresh("rw", "");
	b_begin(0x99);
	check(send_msg() == EOPNOTSUPP, "an unknown message type gets Rlerror EOPNOTSUPP");
	check(simple(P9_TCLUNK, 77) == EBADF, "an unknown fid: EBADF");
	check(version(1 << 30) == 0 && p9_le32(rep + 7) == (1u << 20), "msize is capped at msize_max");
	check(version(100) == -1, "an msize below 4096 closes the connection");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (geteuid()) {
		printf("1..0 # SKIP needs root\n");
		printf("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n");
		return 0;
	}
	if (!mkdtemp(tmp))
		return 1;
	snprintf(t1, sizeof(t1), "%s/t1", tmp);
	snprintf(outside, sizeof(outside), "%s/outside/secret", tmp);
	sh("cd %s && mkdir -p t1/dir t1/many outside t1/sgid && echo top > outside/secret && "
	   "chmod 640 outside/secret && ln -s /etc t1/abs && ln -s ../../outside/secret t1/rel && "
	   "mkfifo t1/fifo && mknod t1/null c 1 3 && echo f > t1/dir/f && touch t1/dir/f2 && "
	   "chmod 02777 t1/sgid && chmod 755 t1 && chmod 700 %s && "
	   "for i in $(seq 0 299); do : > t1/many/f$i; done", tmp, tmp);
	test_dotdot();
	test_symlinks();
	test_qid_mounts();
	test_cred_per_thread();
	test_specials();
	test_unlinked();
	test_fd_budget();
	test_readonly();
	test_limits();
	test_sgid();
	test_rename_fids();
	test_malformed();
	conn_free(cn);
	sh("rm -rf %s", tmp);
	return tap_done();
}
