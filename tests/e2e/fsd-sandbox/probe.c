// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fsd-sandbox-probe CONFIG OUTSIDE: enters veil-fsd's sandbox exactly as
 * veil-fsd does (sandbox_enter() on the loaded configuration), then
 * plays the attacker who has taken over the process: tries what the
 * sandbox must refuse, and checks that what the server needs still
 * works.  OUTSIDE is a file on the host outside every tenant root.
 * Prints TAP.  Run as root, on the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "sandbox.h"

static int n_test, n_fail, n_skip;

static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		n_fail++;
	fflush(stdout);
}

static void __attribute__((unused)) skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++n_test, why);
	n_skip++;
}

/* rc == -1 with errno e */
#define REFUSED(call, e) ({ errno = 0; long r_ = (long)(call); r_ == -1 && errno == (e); })

/* A hexadecimal field of /proc/self/status, or ~0. */
static uint64_t status_hex(const char *key)
{
	char line[256];
	uint64_t v = ~0ULL;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtoull(line + strlen(key), NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static void *thread_fn(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	char err[512], path[512], buf[64], fdname[64];
	struct fsd_conf *c, *c2 = NULL;
	const char *root;
	pthread_t th;
	int conf_fd, fd, pfd, rc;
	uint64_t eff;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: fsd-sandbox-probe CONFIG OUTSIDE-FILE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (conf_load(argv[1], &c, err, sizeof(err))) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	root = c->vms[0].root;
	/* kept open so the configuration can be changed from inside */
	conf_fd = open(argv[1], O_RDWR | O_CLOEXEC);
	printf("TAP version 13\n");

	rc = sandbox_enter(c, argv[1], NULL, 0, err, sizeof(err));
	ok(rc == 0, "sandbox_enter: %s", rc ? err : "ok");
	if (rc)
		goto out;

	/* the capability sets, exactly */
	eff = status_hex("CapEff:");
	ok(eff == sandbox_kept_caps(), "effective capabilities %#llx are the kept set %#llx",
	   (unsigned long long)eff, (unsigned long long)sandbox_kept_caps());
	ok(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 &&
	   prctl(PR_CAPBSET_READ, CAP_NET_BIND_SERVICE, 0, 0, 0) == 0 &&
	   prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) == 1, "bounding set: no CAP_SYS_ADMIN, CAP_NET_BIND_SERVICE");
	ok(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs is set");
	ok(status_hex("Seccomp:") == 2, "a seccomp filter is in force");

	/* forbidden system calls fail with EPERM, and the process lives on */
	ok(REFUSED(execl("/bin/sh", "sh", "-c", "true", (char *)NULL), EPERM), "execve refused (EPERM)");
	ok(REFUSED(socket(AF_INET, SOCK_STREAM, 0), EPERM), "socket(AF_INET) refused");
	ok(REFUSED(socket(AF_INET6, SOCK_DGRAM, 0), EPERM), "socket(AF_INET6) refused");
	ok(REFUSED(socket(AF_NETLINK, SOCK_RAW, 0), EPERM), "socket(AF_NETLINK) refused");
	ok(REFUSED(mount("none", "/", "tmpfs", 0, NULL), EPERM), "mount refused");
	ok(REFUSED(umount2("/proc", MNT_DETACH), EPERM), "umount2 refused");
	ok(REFUSED(unshare(CLONE_NEWNS), EPERM), "unshare refused");
	ok(REFUSED(chroot("/"), EPERM), "chroot refused");
	ok(REFUSED(syscall(SYS_pivot_root, "/", "/"), EPERM), "pivot_root refused");
	ok(REFUSED(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0), EPERM), "open_by_handle_at refused");
	ok(REFUSED(syscall(SYS_bpf, 0, NULL, 0), EPERM), "bpf refused");
	ok(REFUSED(syscall(SYS_init_module, NULL, 0, ""), EPERM), "init_module refused");
#if defined(__SANITIZE_ADDRESS__)
	skip("sanitizer build: ptrace stays allowed for LeakSanitizer");
	skip("sanitizer build: fork stays allowed for LeakSanitizer");
	skip("sanitizer build: kill stays allowed for LeakSanitizer");
#else
	ok(REFUSED(ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM), "ptrace refused");
	rc = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	if (rc == 0)
		_exit(0);
	ok(rc == -1 && errno == EPERM, "a new process (clone without CLONE_THREAD) refused");
	ok(REFUSED(kill(1, 0), EPERM), "kill of another process refused");
#endif
	snprintf(path, sizeof(path), "%s/fifo", root);
	ok(REFUSED(mknod(path, S_IFIFO | 0600, 0), EPERM), "mknod of a FIFO refused");

	/* what the server needs still works */
	ok(pthread_create(&th, NULL, thread_fn, NULL) == 0 && !pthread_join(th, NULL),
	   "a thread can be started");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok(fd >= 0, "socket(AF_UNIX) allowed");
	close(fd);
	snprintf(path, sizeof(path), "%s/made-inside", root);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ok(fd >= 0 && write(fd, "x", 1) == 1, "a file is created in the tenant root");
	if (fd >= 0)
		close(fd);
	ok(mknod(path, S_IFREG | 0600, 0) == -1 && errno == EEXIST, "mknod of a regular file reaches the file system");
	pfd = open(path, O_PATH | O_CLOEXEC);
	snprintf(fdname, sizeof(fdname), "/proc/self/fd/%d", pfd);
	fd = open(fdname, O_RDONLY | O_CLOEXEC);
	ok(fd >= 0 && read(fd, buf, sizeof(buf)) == 1, "reopen through /proc/self/fd works");
	if (fd >= 0)
		close(fd);
	close(pfd);
	setfsuid(4321);
	ok(setfsuid(-1) == 4321, "fsuid switching works");
	setfsuid(0);
	ok(setfsuid(-1) == 0, "and back to 0");

	/* the host's tree is out of sight */
	ok(REFUSED(open(argv[2], O_RDONLY), ENOENT), "%s (outside every root) is invisible", argv[2]);
	ok(REFUSED(open("/etc/passwd", O_RDONLY), ENOENT), "/etc/passwd is invisible");
	ok(REFUSED(access("/usr/bin", F_OK), ENOENT), "/usr is invisible");
	ok(REFUSED(access(argv[1], F_OK), ENOENT), "the configuration file itself is invisible");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)getppid());
	ok(REFUSED(access(path, F_OK), ENOENT), "/proc hides the parent (a process with more capabilities)");
	ok(REFUSED(access("/proc/1/status", F_OK), ENOENT), "/proc hides init");
	ok(REFUSED(mkdir("/new", 0700), EROFS), "the sandbox root is read-only");

	/* reloads: through the reader, and refused outside the sandbox */
	rc = sandbox_conf_load(argv[1], &c2, err, sizeof(err));
	ok(rc == 0, "the configuration is read again from inside: %s", rc ? err : "ok");
	conf_free(c2);
	f = conf_fd >= 0 ? fdopen(dup(conf_fd), "r+") : NULL;
	if (f) {
		ftruncate(fileno(f), 0);
		fprintf(f, "port = 564\nvsock = no\n[vm a]\nuds = %s\nroot = %s\naccess = rw\n"
			"[vm b]\nuds = %s.b\nroot = /usr\naccess = ro\n",
			c->vms[0].uds, root, c->vms[0].uds);
		fclose(f);
		c2 = NULL;
		rc = sandbox_conf_load(argv[1], &c2, err, sizeof(err));
		ok(rc == -EXDEV && strstr(err, "outside") && strstr(err, "/usr"),
		   "a reload naming a root outside the sandbox is refused: %s", err);
		conf_free(c2);
	} else {
		ok(0, "reopen the configuration: %s", strerror(errno));
	}
out:
	conf_free(c);
	printf("1..%d\n# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       n_test, n_test - n_fail - n_skip, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
