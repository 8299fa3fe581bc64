/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the 9pnet_vsock kselftests: starting and stopping the
 * servers the tests mount (Debian's diod behind socat's vsock listener, or
 * a server of the test's own), mounting with trans=vsock, and reading the
 * kernel log.  Runs in the QEMU guest as root; with vsock_loopback the
 * guest reaches its own listeners at CID 1 (VMADDR_CID_LOCAL).
 */
#ifndef VSOCK9P_UTIL_H
#define VSOCK9P_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/vm_sockets.h>

#define V9T_CID		1		/* VMADDR_CID_LOCAL: vsock_loopback */
#define V9T_MSIZE	65536		/* diod's largest */
#define V9T_DIOD	"/usr/sbin/diod"
#define V9T_SOCAT	"/usr/bin/socat"

static inline int v9t_run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static inline double v9t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* fork + exec argv in its own process group, output to log (or nowhere). */
static inline pid_t v9t_spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	setpgid(0, 0);
	fd = open(log ? log : "/dev/null", O_RDWR | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execv(argv[0], argv);
	_exit(127);
}

/* Kill a process we spawned (and its group: socat's forked children). */
static inline void v9t_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(-*pid, SIGKILL);
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static inline bool v9t_tcp_up(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool up;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	up = fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (fd >= 0)
		close(fd);
	return up;
}

static inline int v9t_vsock_connect(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline bool v9t_vsock_up(int port)
{
	int fd = v9t_vsock_connect(V9T_CID, port);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Poll until up() says yes, for at most secs. */
static inline bool v9t_wait_up(bool (*up)(int), int port, int secs)
{
	double end = v9t_now() + secs;

	while (v9t_now() < end) {
		if (up(port))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* A listening AF_VSOCK socket on port (any CID), or -1. */
static inline int v9t_vsock_listen(unsigned int port)
{
	struct sockaddr_vm a = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int v9t_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static inline int v9t_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* diod needs its peer's name resolvable (getnameinfo), or it drops us. */
static inline void v9t_hosts(void)
{
	if (access("/etc/hosts", F_OK))
		v9t_run("echo '127.0.0.1 localhost' > /etc/hosts");
}

/* diod serving dir on 127.0.0.1:tport, no auth, root allowed. */
static inline pid_t v9t_start_diod(const char *dir, int tport)
{
	char listen[32];
	char *argv[] = { V9T_DIOD, "-f", "-n", "-N", "-e", (char *)dir, "-l",
			 listen, "-L", "stderr", "-c", "/dev/null", NULL };
	pid_t pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", tport);
	v9t_hosts();
	pid = v9t_spawn(argv, "/tmp/diod.log");
	if (pid > 0 && !v9t_wait_up(v9t_tcp_up, tport, 10)) {
		v9t_stop(&pid);
		return -1;
	}
	return pid;
}

/* socat relaying vsock port vport to 127.0.0.1:tport, with the extra
 * listen options lopts ("" for none).
 */
static inline pid_t v9t_start_socat_opts(int vport, int tport, const char *lopts)
{
	char l[128], c[64];
	char *argv[] = { V9T_SOCAT, l, c, NULL };
	pid_t pid;

	snprintf(l, sizeof(l), "VSOCK-LISTEN:%d,fork,reuseaddr%s", vport, lopts);
	snprintf(c, sizeof(c), "TCP:127.0.0.1:%d", tport);
	pid = v9t_spawn(argv, "/tmp/socat.log");
	if (pid > 0 && !v9t_wait_up(v9t_vsock_up, vport, 10)) {
		v9t_stop(&pid);
		return -1;
	}
	return pid;
}

static inline pid_t v9t_start_socat(int vport, int tport)
{
	return v9t_start_socat_opts(vport, tport, "");
}

/* mount(2) with trans=vsock; returns 0 or an errno. */
static inline int v9t_mount(const char *mnt, int vport, const char *aname,
			    const char *extra)
{
	char opts[512], cmd[300];

	snprintf(opts, sizeof(opts),
		 "trans=vsock,port=%d,version=9p2000.L,msize=%d,aname=%s,uname=root,access=user%s%s",
		 vport, V9T_MSIZE, aname, extra ? "," : "", extra ? extra : "");
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", mnt);
	v9t_run(cmd);
	return mount("1", mnt, "9p", 0, opts) ? errno : 0;
}

static inline bool v9t_mounted(const char *mnt)
{
	char line[512], needle[256];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return false;
	snprintf(needle, sizeof(needle), " %s 9p ", mnt);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			found = true;
	fclose(f);
	return found;
}

/* Does the kernel log (since the last v9t_klog_clear) contain text? */
static inline bool v9t_klog_has(const char *text)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "dmesg | grep -qF -- '%s'", text);
	return v9t_run(cmd) == 0;
}

static inline void v9t_klog_clear(void)
{
	v9t_run("dmesg -c >/dev/null");
}

/* Wait for child pid for at most secs; returns its status or -1. */
static inline int v9t_wait_child(pid_t pid, int secs)
{
	double end = v9t_now() + secs;
	int status;

	while (v9t_now() < end) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(100 * 1000);
	}
	return -1;
}

#endif /* VSOCK9P_UTIL_H */
