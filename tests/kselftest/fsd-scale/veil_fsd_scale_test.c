// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd at scale: a guest `find` over 100,000 files ends without the
 * host running out of descriptors (issue 7: "Host file descriptors per VM
 * are bounded").
 *
 * The files (100 directories of 1,000 empty files) are made directly in
 * the tenant directory on the guest's tmpfs, the server runs with its
 * default per-VM budget (max_fds 1024) and the guest's default descriptor
 * limit, and the guest mounts it with trans=unix (the server's side is the
 * same for vsock).  Busybox's find lstat()s every entry, so every file is
 * walked to (one fid and, while it lives, one host descriptor each).  With
 * cache=none the kernel clunks each fid as soon as the dentry goes; with
 * cache=loose the dentries, and their fids, stay: the server has to evict
 * descriptors from the budget to keep going.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../veil_ksft.h"

#define FSD	"/veil/bin/veil-fsd"
#define BASE	"/tmp/fsdscale"
#define ROOT	BASE "/root"
#define RUN	"/run/fsdscale"
#define CTL	RUN "/ctl"
#define SOCK	RUN "/vm.sock_564"
#define MNT	"/mnt/scale"
#define NDIRS	100
#define PERDIR	1000
#define BUDGET	1024	/* max_fds default, docs/fsd-admin.md */

/* NDIRS directories of PERDIR empty files under ROOT; 0 or -errno */
static int make_tree(void)
{
	char name[32];
	int d, f, dfd, fd;

	for (d = 0; d < NDIRS; d++) {
		snprintf(name, sizeof(name), ROOT "/d%03d", d);
		if (mkdir(name, 0755))
			return -errno;
		dfd = open(name, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
		for (f = 0; f < PERDIR; f++) {
			snprintf(name, sizeof(name), "f%04d", f);
			fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0) {
				close(dfd);
				return -errno;
			}
			close(fd);
		}
		close(dfd);
	}
	return 0;
}

/* descriptors the process holds now */
static int count_fds(pid_t pid)
{
	char cmd[64];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", pid);
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* the control socket's "status" reply */
static const char *status(void)
{
	static char buf[1024];
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = CTL };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n, off = 0;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	if (!connect(fd, (struct sockaddr *)&a, sizeof(a)) && write(fd, "status\n", 7) == 7)
		while ((n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
			off += n;
	buf[off] = 0;
	close(fd);
	return buf;
}

FIXTURE(scale) {
	pid_t pid;
};

FIXTURE_SETUP(scale)
{
	double t0 = now_s();
	struct rlimit rl;
	FILE *f;
	int i, rc;

	sh("modprobe 9pnet_fd; modprobe 9p; "
	   "test -f /run/fsdscale.pid && kill -9 $(cat /run/fsdscale.pid) 2>/dev/null; "
	   "umount -l " MNT " 2>/dev/null; rm -rf " BASE " " RUN);
	/* veil-fsd wants the tenant root under a directory closed to others */
	ASSERT_EQ(0, sh("mkdir -p " ROOT " " RUN " " MNT " && chmod 700 " BASE));
	rc = make_tree();
	ASSERT_EQ(0, rc) TH_LOG("making the tree: %s", strerror(-rc));
	TH_LOG("%d files made in %.1f s", NDIRS * PERDIR, now_s() - t0);

	f = fopen(BASE "/fsd.conf", "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "vsock = no\nport = 564\ncontrol = " CTL "\nmsize_max = 512K\n"
		"[vm scale]\nuds = " RUN "/vm.sock\nroot = " ROOT "\naccess = rw\n");
	fclose(f);
	getrlimit(RLIMIT_NOFILE, &rl);
	TH_LOG("server's RLIMIT_NOFILE %lu/%lu, per-VM budget %d (default)",
	       (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max, BUDGET);

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (!self->pid) {
		int log = open(BASE "/fsd.log", O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(log, 2);
		close(log);
		close(null);
		execl(FSD, FSD, "-c", BASE "/fsd.conf", "-v", NULL);
		_exit(127);
	}
	sh("echo %d > /run/fsdscale.pid", self->pid);
	for (i = 0; i < 100 && (access(SOCK, F_OK) || access(CTL, F_OK)); i++)
		usleep(50000);
	ASSERT_EQ(0, access(SOCK, F_OK));
}

FIXTURE_TEARDOWN(scale)
{
	umount2(MNT, MNT_DETACH);
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	sh("rm -rf " BASE " " RUN " /run/fsdscale.pid");
}

static void find_all(struct __test_metadata *_metadata, pid_t pid, const char *cache)
{
	char opts[128];
	long lines = -1;
	double t0, t;
	int fds, rc;
	FILE *f;

	snprintf(opts, sizeof(opts), "trans=unix,version=9p2000.L,msize=524288,cache=%s", cache);
	ASSERT_EQ(0, mount(SOCK, MNT, "9p", 0, opts)) TH_LOG("mount: %s", strerror(errno));

	t0 = now_s();
	rc = sh("find " MNT " > " BASE "/list 2> " BASE "/find.err");
	t = now_s() - t0;
	f = popen("wc -l < " BASE "/list", "r");
	if (f) {
		if (fscanf(f, "%ld", &lines) != 1)
			lines = -1;
		pclose(f);
	}
	fds = count_fds(pid);
	TH_LOG("cache=%s: find listed %ld entries in %.1f s (exit %d); server holds %d fds; %s",
	       cache, lines, t, rc, fds, status());
	if (rc)
		sh("head -n 5 " BASE "/find.err >&2");
	EXPECT_EQ(0, rc);
	/* every file, every directory, and the mount point itself */
	EXPECT_EQ(NDIRS * PERDIR + NDIRS + 1, lines);
	EXPECT_NE(0, sh("grep -qi 'too many open files' " BASE "/find.err " BASE "/fsd.log"));
	/* the budget, plus the server's own sockets and files */
	EXPECT_GE(BUDGET + 16, fds);

	/* and it still serves: a new file, written and read back */
	EXPECT_EQ(0, kill(pid, 0));
	EXPECT_EQ(0, sh("echo after > " MNT "/d000/after && test \"$(cat " MNT "/d000/after)\" = after"));
	EXPECT_EQ(0, sh("test -f " ROOT "/d000/after"));
	EXPECT_EQ(0, sh("ls " MNT "/d099 | wc -l | grep -qx %d", PERDIR));
	EXPECT_EQ(0, umount(MNT));
}

TEST_F_TIMEOUT(scale, find_100k_files_cache_none, 900)
{
	find_all(_metadata, self->pid, "none");
}

TEST_F_TIMEOUT(scale, find_100k_files_cache_loose, 900)
{
	find_all(_metadata, self->pid, "loose");
}

TEST_HARNESS_MAIN
