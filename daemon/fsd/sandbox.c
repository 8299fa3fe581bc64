// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandbox: see sandbox.h.  The order matters:
 *
 *   1. fork the configuration reader (it stays in the host's mount tree,
 *      keeps CAP_DAC_READ_SEARCH alone and can only read one file);
 *   2. a private mount namespace, slave to the host's (host unmounts
 *      reach us, nothing of ours reaches the host);
 *   3. a clone of each visible directory (open_tree), taken while the
 *      host tree is still there, flagged nosuid,nodev,noexec (and
 *      read-only where it is only read);
 *   4. a small tmpfs holding a copy of each ancestor directory (owner
 *      and mode as on the host), put over "/" and chrooted into; works
 *      on an initramfs root as well, where pivot_root cannot;
 *   5. the clones attached at their own paths, this process's own
 *      directory of a fresh proc as /proc/self, the tmpfs made read-only;
 *   6. capabilities, no_new_privs, seccomp -- for every thread to come,
 *      which is why all this runs before the first connection thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/capability.h>

#include "fsd.h"
#include "sandbox.h"

/* The largest configuration the reader hands over (conf_load refuses > 1 MiB). */
#define READER_MAX		(4u << 20)
#define READER_TIMEOUT_S	5

struct view {
	char *path;		/* absolute, normalised; the same inside and out */
	bool rw;
	int fd;			/* the detached clone, until attached */
};

static struct view *views;
static size_t n_views;
static bool active;
static int reader_sock = -1;

static int fail(char *err, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return rc;
}

bool sandbox_active(void)
{
	return active;
}

uint64_t sandbox_kept_caps(void)
{
	return 1ULL << CAP_CHOWN | 1ULL << CAP_DAC_OVERRIDE | 1ULL << CAP_FOWNER |
	       1ULL << CAP_FSETID | 1ULL << CAP_SETUID | 1ULL << CAP_SETGID;
}

/* ------------------------------------------------------------- paths --- */

/*
 * p made absolute-normalised into out: no "//", no "." components, no
 * trailing "/"; ".." and relative paths are refused (-EINVAL) since the
 * server uses the configured text as it is, from "/".
 */
static int norm_path(const char *p, char *out, size_t len)
{
	size_t o = 0;

	if (*p != '/')
		return -EINVAL;
	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = p - s;
		if (!n || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return -EINVAL;
		if (o + 1 + n + 1 > len)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	if (!o)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

/* The directory part of a normalised path. */
static void norm_dir(char *p)
{
	char *s = strrchr(p, '/');

	if (s == p)
		p[1] = 0;
	else if (s)
		*s = 0;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

/* Is the normalised path visible (and writable, if rw) in the sandbox? */
static bool covered(const char *path, bool rw)
{
	size_t i;

	for (i = 0; i < n_views; i++)
		if (under(path, views[i].path) && (views[i].rw || !rw))
			return true;
	return false;
}

static int add_view(const char *path, bool rw, char *err, size_t len)
{
	char n[PATH_MAX];
	struct view *v;
	size_t i;

	if (norm_path(path, n, sizeof(n)))
		return fail(err, len, -EINVAL, "%s: must be an absolute path without \"..\" when the sandbox is on", path);
	for (i = 0; i < n_views; i++)
		if (!strcmp(views[i].path, n)) {
			views[i].rw |= rw;
			return 0;
		}
	v = realloc(views, (n_views + 1) * sizeof(*v));
	if (!v)
		return fail(err, len, -ENOMEM, "out of memory");
	views = v;
	views[n_views] = (struct view){ .path = strdup(n), .rw = rw, .fd = -1 };
	if (!views[n_views].path)
		return fail(err, len, -ENOMEM, "out of memory");
	n_views++;
	return 0;
}

static int view_cmp(const void *a, const void *b)
{
	return strcmp(((const struct view *)a)->path, ((const struct view *)b)->path);
}

/* What c needs to see: roots (rw), socket directories (rw), secret files. */
static int vm_paths(const struct fsd_conf *c, bool add, char *err, size_t len)
{
	char d[PATH_MAX];
	size_t i;
	int rc;

	for (i = 0; i < c->n_vms; i++) {
		const struct vm_conf *vm = &c->vms[i];
		struct { const char *what, *path; bool dir, rw; } need[] = {
			{ "root", vm->root, false, true },
			{ "uds", vm->uds, true, true },
			{ "secret_file", vm->secret_file, true, false },
		};
		size_t k;

		for (k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
			if (!need[k].path)
				continue;
			if (norm_path(need[k].path, d, sizeof(d)))
				return fail(err, len, -EINVAL,
					    "vm %s: %s %s must be an absolute path without \"..\" when the sandbox is on",
					    vm->name, need[k].what, need[k].path);
			if (need[k].dir)
				norm_dir(d);
			if (add) {
				if ((rc = add_view(d, need[k].rw, err, len)))
					return rc;
			} else if (!covered(d, need[k].rw)) {
				return fail(err, len, -EXDEV,
					    "vm %s: %s %s is outside what veil-fsd's sandbox shows%s: restart veil-fsd, or start it with --expose on a directory above it",
					    vm->name, need[k].what, need[k].path,
					    covered(d, false) ? " read-write" : "");
			}
		}
	}
	return 0;
}

int sandbox_check(const struct fsd_conf *c, char *err, size_t errlen)
{
	return active ? vm_paths(c, false, err, errlen) : 0;
}

/* ---------------------------------------------------- the config reader --- */

static void reader_main(int sock, const char *path) __attribute__((noreturn));

static int reader_filter(void)
{
	static const char *const calls[] = {
		"read", "write", "open", "openat", "close", "fstat", "newfstatat",
		"statx", "lseek", "memfd_create", "recvmsg", "sendmsg", "recvfrom",
		"sendto", "exit", "exit_group", "rt_sigreturn", "brk", "mmap",
		"munmap", "madvise", "restart_syscall", "getpid", "gettid",
		"sigaltstack",	/* sanitizers, on the way out */
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	size_t i;
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]) && !rc; i++) {
		int nr = seccomp_syscall_resolve_name(calls[i]);

		if (nr != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

static int set_caps(uint64_t keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int cap, r;

	if (syscall(SYS_capget, &h, d))
		return -errno;
	keep &= (uint64_t)d[1].permitted << 32 | d[0].permitted;
	/* bounding set first: dropping from it needs CAP_SETPCAP */
	for (cap = 0; cap < 64; cap++) {
		r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (r < 0)
			break;
		if (r == 1 && !(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static int reader_reply(int sock, int status, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &status, .iov_len = sizeof(status) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* One answer: a copy of the file's current contents, or an errno. */
static void reader_serve_one(int sock, const char *path)
{
	static char buf[65536];
	size_t total = 0;
	struct stat st;
	int fd, mfd, e = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		reader_reply(sock, errno, -1);
		return;
	}
	if (fstat(fd, &st))
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (e) {
		close(fd);
		reader_reply(sock, e, -1);
		return;
	}
	mfd = memfd_create("veil-fsd.conf", MFD_CLOEXEC);
	if (mfd < 0) {
		close(fd);
		reader_reply(sock, errno, -1);
		return;
	}
	while (total < READER_MAX && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(mfd, buf, n) != n)
			break;
		total += n;
	}
	close(fd);
	reader_reply(sock, 0, mfd);
	close(mfd);
}

static void reader_main(int sock, const char *path)
{
	sigset_t none;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* nothing of the server's: its listeners, sockets, its stdin/out */
	if (sock > 3)
		close_range(3, sock - 1, 0);
	close_range(sock + 1, ~0U, 0);
	close(0);
	close(1);
	if (set_caps(1ULL << CAP_DAC_READ_SEARCH) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || reader_filter())
		_exit(1);
	while (recv(sock, &c, 1, 0) == 1)
		reader_serve_one(sock, path);
	_exit(0);
}

static int reader_start(const char *path, char *err, size_t len)
{
	struct timeval tv = { .tv_sec = READER_TIMEOUT_S };
	char abs[PATH_MAX];
	int sv[2];
	pid_t pid;

	/* the reader keeps the server's working directory: make path absolute */
	if (*path != '/') {
		if (!getcwd(abs, sizeof(abs)) ||
		    (size_t)snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/%s", path) >=
		    sizeof(abs) - strlen(abs))
			return fail(err, len, -ENAMETOOLONG, "%s: path too long", path);
		path = abs;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return fail(err, len, -errno, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return fail(err, len, -errno, "fork: %s", strerror(errno));
	}
	if (!pid) {
		close(sv[0]);
		reader_main(sv[1], path);
	}
	close(sv[1]);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	reader_sock = sv[0];
	return 0;
}

/* A memfd holding the configuration file's contents now, or -errno. */
static int reader_fetch(void)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	int status = EIO, fd = -1;
	struct iovec iov = { .iov_base = &status, .iov_len = sizeof(status) };
	struct msghdr m = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	ssize_t n;

	if (send(reader_sock, "r", 1, MSG_NOSIGNAL) != 1)
		return -EPIPE;
	n = recvmsg(reader_sock, &m, MSG_CMSG_CLOEXEC);
	if (n != sizeof(status))
		return n < 0 ? -errno : -EPIPE;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (status) {
		if (fd >= 0)
			close(fd);
		return -status;
	}
	return fd >= 0 ? fd : -EIO;
}

/* Replace the first "from" in s (of size len) with "to". */
static void replace(char *s, size_t len, const char *from, const char *to)
{
	char *p = strstr(s, from), tail[1024];

	if (!p)
		return;
	snprintf(tail, sizeof(tail), "%s", p + strlen(from));
	snprintf(p, len - (p - s), "%s%s", to, tail);
}

/* The configuration as written (roots not yet made canonical), or NULL. */
static struct fsd_conf *parse_raw(int fd)
{
	struct fsd_conf *c = NULL;
	char scratch[256];
	struct stat st;
	char *text;

	if (fstat(fd, &st) || st.st_size > (off_t)READER_MAX)
		return NULL;
	text = calloc(1, st.st_size + 1);
	if (!text)
		return NULL;
	if (pread(fd, text, st.st_size, 0) != st.st_size || memchr(text, 0, st.st_size) ||
	    conf_parse("config", text, &c, scratch, sizeof(scratch)))
		c = NULL;
	free(text);
	return c;
}

/*
 * A new tenant root outside the sandbox would fail as "not a directory";
 * say what is really wrong, from the configuration text itself.
 */
static int precheck_text(int fd, char *err, size_t len)
{
	struct fsd_conf *c = parse_raw(fd);
	int rc = 0;

	if (c && vm_paths(c, false, err, len) == -EXDEV)
		rc = -EXDEV;
	conf_free(c);
	return rc;
}

int sandbox_conf_load(const char *conf_path, struct fsd_conf **out, char *err, size_t errlen)
{
	char proc[40];
	int fd, rc;

	if (!active)
		return conf_load(conf_path, out, err, errlen);
	fd = reader_fetch();
	if (fd < 0)
		return fail(err, errlen, fd, "%s: %s", conf_path,
			    fd == -EINVAL ? "not a regular file" :
			    fd == -EPIPE ? "the configuration reader is gone" : strerror(-fd));
	if ((rc = precheck_text(fd, err, errlen))) {
		close(fd);
		return rc;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = conf_load(proc, out, err, errlen);
	close(fd);
	if (rc) {
		replace(err, errlen, proc, conf_path);
		return rc;
	}
	if ((rc = sandbox_check(*out, err, errlen))) {
		conf_free(*out);
		*out = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------ seccomp --- */

/*
 * What the server calls after start-up: glibc's own needs (memory,
 * threads, signals, time), the 9P operations (path.c, ops.c, cred.c),
 * listeners and connections on unix and vsock sockets, the reload.
 */
static const char *const allowed[] = {
	/* memory, threads, signals, time */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sigaltstack", "restart_syscall", "gettid", "getpid", "getppid",
	"sched_yield", "sched_getaffinity", "nanosleep", "clock_nanosleep",
	"clock_gettime", "clock_getres", "gettimeofday", "time",
	"getrandom", "prlimit64", "getrlimit", "setrlimit", "uname", "sysinfo",
	"prctl",
	/* descriptors and I/O */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"lseek", "fcntl", "dup", "dup2", "dup3", "poll", "ppoll", "signalfd4",
	/* files, beneath the roots (path.c) and through /proc/self/fd */
	"open", "openat", "openat2", "fstat", "stat", "lstat", "newfstatat",
	"statx", "fstatfs", "statfs", "getdents", "getdents64", "readlink", "readlinkat",
	"getcwd", "access", "faccessat", "faccessat2",
	"fsync", "fdatasync", "ftruncate", "truncate",
	"chmod", "fchmod", "fchmodat", "fchown", "fchownat", "lchown",
	"utimensat", "mkdir", "mkdirat", "symlinkat", "renameat", "renameat2",
	"rename", "unlink", "unlinkat", "rmdir", "link", "linkat",
	/* user.* xattrs, through /proc/self/fd */
	"getxattr", "setxattr", "listxattr", "removexattr",
	/* acting as the guest's user (cred.c) */
	"setgroups", "setfsuid", "setfsgid", "getuid", "geteuid", "getgid",
	"getegid", "getgroups", "getresuid", "getresgid",
	/* listeners, connections, the control socket, the config reader */
	"bind", "listen", "accept", "accept4", "getsockname", "getpeername",
	"setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"shutdown",
#if defined(__SANITIZE_ADDRESS__)
	/* test builds: LeakSanitizer stops the threads by ptrace at exit */
	"clone", "ptrace", "wait4", "waitid", "kill", "pipe", "pipe2",
	"sched_getparam", "process_vm_readv",
#endif
};

static int allow(scmp_filter_ctx ctx, const char *name, unsigned int n,
		 const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not on this architecture */
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

static int load_filter(char *err, size_t len)
{
	struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	struct scmp_arg_cmp unix_ = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	struct scmp_arg_cmp vsock = SCMP_A0(SCMP_CMP_EQ, AF_VSOCK);
	struct scmp_arg_cmp reg2 = SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFREG);
	struct scmp_arg_cmp reg1 = SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFREG);
	struct scmp_arg_cmp tcgets = SCMP_A1(SCMP_CMP_EQ, TCGETS);
	struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid());
	scmp_filter_ctx ctx;
	size_t i;
	int rc = 0;

	/*
	 * A call outside the list fails with EPERM rather than killing the
	 * process: one unexpected call (a new C library, a sanitizer) must
	 * not take every tenant down, and an attacker gains nothing from
	 * an error code.  A call through another ABI (int 0x80) still kills:
	 * libseccomp's default for a foreign architecture, and only code
	 * injected by an attacker makes one.
	 */
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return fail(err, len, -ENOMEM, "seccomp_init failed");
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !rc; i++)
		rc = allow(ctx, allowed[i], 0, NULL);
	/* threads only, never a new process; clone3's flags are out of
	 * reach of a filter, so the C library is told to use clone */
#if !defined(__SANITIZE_ADDRESS__)
	if (!rc)
		rc = allow(ctx, "clone", 1, &thread);
#else
	(void)thread;
#endif
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* unix and vsock sockets only: no network */
	if (!rc)
		rc = allow(ctx, "socket", 1, &unix_);
	if (!rc)
		rc = allow(ctx, "socket", 1, &vsock);
	if (!rc)
		rc = allow(ctx, "socketpair", 1, &unix_);
	/* regular files only (Tmknod) */
	if (!rc)
		rc = allow(ctx, "mknodat", 1, &reg2);
	if (!rc)
		rc = allow(ctx, "mknod", 1, &reg1);
	/* isatty() of stdio, nothing else */
	if (!rc)
		rc = allow(ctx, "ioctl", 1, &tcgets);
	/* raise() and abort(): signals to this process only */
	if (!rc)
		rc = allow(ctx, "tgkill", 1, &self);
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* a binary search over the call numbers, not a list (if supported) */
	if (!rc)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc)
		return fail(err, len, rc, "seccomp filter: %s", strerror(-rc));
	return 0;
}

/* -------------------------------------------------------- mount tree --- */

/* Copy each ancestor of path (and path itself) into the tmpfs at mfd. */
static int skeleton(int mfd, const char *path, char *err, size_t len)
{
	char host[PATH_MAX];
	const char *p = path;

	while (*p) {
		struct stat st;

		p = strchr(p + 1, '/');
		if (!p)
			p = path + strlen(path);
		snprintf(host, sizeof(host), "%.*s", (int)(p - path), path);
		if (!host[1])
			continue;
		if (stat(host, &st))
			return fail(err, len, -errno, "%s: %s", host, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return fail(err, len, -ENOTDIR, "%s: not a directory", host);
		if (mkdirat(mfd, host + 1, 0700) && errno != EEXIST)
			return fail(err, len, -errno, "sandbox: mkdir %s: %s", host, strerror(errno));
		if (fchownat(mfd, host + 1, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) ||
		    fchmodat(mfd, host + 1, st.st_mode & 07777, 0))
			return fail(err, len, -errno, "sandbox: %s: %s", host, strerror(errno));
	}
	return 0;
}

/*
 * /proc holds this process's own directory only, as /proc/self (the
 * reopen through /proc/self/fd) and /proc/PID (what sanitizers read):
 * no other process is there to be read, written (/proc/PID/mem) or
 * escaped through (/proc/PID/root).  pid: "/proc/PID".
 */
static int own_proc(const char *pid, char *err, size_t len)
{
	int self, again, rc = 0;

	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid") &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return fail(err, len, -errno, "sandbox: mounting /proc: %s", strerror(errno));
	self = open_tree(AT_FDCWD, pid, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	again = open_tree(AT_FDCWD, pid, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (self < 0 || again < 0)
		rc = fail(err, len, -errno, "sandbox: %s: %s", pid, strerror(errno));
	if (umount2("/proc", MNT_DETACH) && !rc)
		rc = fail(err, len, -errno, "sandbox: unmounting /proc: %s", strerror(errno));
	if (!rc && (move_mount(self, "", AT_FDCWD, "/proc/self", MOVE_MOUNT_F_EMPTY_PATH) ||
		    move_mount(again, "", AT_FDCWD, pid, MOVE_MOUNT_F_EMPTY_PATH)))
		rc = fail(err, len, -errno, "sandbox: mounting /proc/self: %s", strerror(errno));
	if (self >= 0)
		close(self);
	if (again >= 0)
		close(again);
	return rc;
}

/*
 * A directory descriptor inherited from whoever started veil-fsd would
 * be a way back into the host's tree (openat(fd, "..")): close them all.
 * veil-fsd itself holds none yet (its listeners and sockets are kept).
 */
static void close_inherited_dirs(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name), fl;

		if (fd < 3 || fd == dirfd(d) || (fl = fcntl(fd, F_GETFL)) < 0)
			continue;
		if (!(fl & O_PATH) && (fstat(fd, &st) || !S_ISDIR(st.st_mode)))
			continue;
		fsd_log(LOG_WARNING, "sandbox: closing inherited descriptor %d (a directory)", fd);
		close(fd);
	}
	if (d)
		closedir(d);
}

static int build_tree(char *err, size_t len)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int fsfd, mfd = -1, rc = 0;
	char pid[32];
	size_t i, j;

	close_inherited_dirs();
	if (unshare(CLONE_NEWNS))
		return fail(err, len, -errno, "unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return fail(err, len, -errno, "making / a slave mount: %s", strerror(errno));

	qsort(views, n_views, sizeof(*views), view_cmp);
	for (i = 0; i < n_views; i++) {
		struct mount_attr a = {
			.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
				    (views[i].rw ? 0 : MOUNT_ATTR_RDONLY),
		};

		views[i].fd = open_tree(AT_FDCWD, views[i].path,
					OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (views[i].fd < 0)
			return fail(err, len, -errno, "%s: %s", views[i].path, strerror(errno));
		if (mount_setattr(views[i].fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)))
			return fail(err, len, -errno, "%s: mount_setattr: %s", views[i].path, strerror(errno));
	}

	fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return fail(err, len, -errno, "fsopen(tmpfs): %s", strerror(errno));
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "1m", 0) ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "veil-fsd", 0) ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) ||
	    (mfd = fsmount(fsfd, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0)
		rc = fail(err, len, -errno, "tmpfs for the sandbox: %s", strerror(errno));
	close(fsfd);
	if (rc)
		return rc;
	snprintf(pid, sizeof(pid), "/proc/%d", (int)getpid());
	if (mkdirat(mfd, "proc", 0555) || mkdirat(mfd, "proc/self", 0555) ||
	    mkdirat(mfd, pid + 1, 0555))
		rc = fail(err, len, -errno, "sandbox: mkdir /proc: %s", strerror(errno));
	for (i = 0; i < n_views && !rc; i++)
		rc = skeleton(mfd, views[i].path, err, len);

	/* over "/" and into it; the host's tree stays below, out of reach */
	if (!rc && (fchdir(mfd) ||
		    move_mount(mfd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) ||
		    chroot(".") || chdir("/")))
		rc = fail(err, len, -errno, "entering the sandbox root: %s", strerror(errno));
	close(mfd);

	for (i = 0; i < n_views && !rc; i++) {
		bool skip = false;

		/* a directory already shown, with at least these rights */
		for (j = 0; j < i; j++)
			if (views[j].fd == -2 && under(views[i].path, views[j].path) &&
			    (views[j].rw || !views[i].rw))
				skip = true;
		if (!skip && move_mount(views[i].fd, "", AT_FDCWD, views[i].path,
					MOVE_MOUNT_F_EMPTY_PATH))
			rc = fail(err, len, -errno, "sandbox: mounting %s: %s", views[i].path, strerror(errno));
		close(views[i].fd);
		views[i].fd = skip ? -1 : -2;
	}
	if (rc)
		return rc;
	if ((rc = own_proc(pid, err, len)))
		return rc;
	if (mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof(ro)))
		return fail(err, len, -errno, "sandbox: read-only root: %s", strerror(errno));
	return 0;
}

/*
 * A root named through a symbolic link is shown at its real path only;
 * a reload, which resolves the name again inside the sandbox, would not
 * find it.  Refuse it at the start (and at -t), with the fix, rather than
 * at the first reload; the same for relative socket and secret paths.
 */
int sandbox_precheck(const struct fsd_conf *c, const char *conf_path, char *err, size_t errlen)
{
	struct fsd_conf *raw;
	char n[PATH_MAX];
	int fd, rc = 0;
	size_t i;

	for (i = 0; i < c->n_vms && !rc; i++) {
		const struct vm_conf *vm = &c->vms[i];

		if ((vm->uds && norm_path(vm->uds, n, sizeof(n))) ||
		    (vm->secret_file && norm_path(vm->secret_file, n, sizeof(n))))
			rc = fail(err, errlen, -EINVAL,
				  "vm %s: with the sandbox on, uds and secret_file must be absolute paths without \"..\"",
				  vm->name);
	}
	fd = open(conf_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rc || fd < 0)
		return rc;
	raw = parse_raw(fd);
	close(fd);
	for (i = 0; raw && i < raw->n_vms && i < c->n_vms && !rc; i++) {
		const char *r = raw->vms[i].root;

		if (r && (norm_path(r, n, sizeof(n)) || strcmp(n, c->vms[i].root)))
			rc = fail(err, errlen, -EINVAL,
				  "vm %s: root %s is really %s: with the sandbox on, name it by its real path",
				  c->vms[i].name, r, c->vms[i].root);
	}
	conf_free(raw);
	return rc;
}

int sandbox_enter(const struct fsd_conf *c, const char *conf_path,
		  char *const *expose, size_t n_expose, char *err, size_t errlen)
{
	int rc;
	size_t i;

	for (i = 0; i < n_expose; i++) {
		char *real = realpath(expose[i], NULL);
		struct stat st;

		if (!real || stat(real, &st) || !S_ISDIR(st.st_mode)) {
			free(real);
			return fail(err, errlen, -ENOTDIR, "--expose %s: not a directory", expose[i]);
		}
		rc = add_view(real, true, err, errlen);
		free(real);
		if (rc)
			return rc;
	}
	if ((rc = sandbox_precheck(c, conf_path, err, errlen)) ||
	    (rc = vm_paths(c, true, err, errlen)) ||
	    (rc = reader_start(conf_path, err, errlen)))
		return rc;
	if ((rc = build_tree(err, errlen)))
		return rc;
	if ((rc = set_caps(sandbox_kept_caps())))
		return fail(err, errlen, rc, "dropping capabilities: %s", strerror(-rc));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(err, errlen, -errno, "no_new_privs: %s", strerror(errno));
	if ((rc = load_filter(err, errlen)))
		return rc;
	active = true;
	for (i = 0; i < n_views; i++)
		fsd_log(LOG_INFO, "sandbox: %s visible %s", views[i].path,
			views[i].rw ? "read-write" : "read-only");
	return 0;
}
