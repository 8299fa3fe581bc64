// SPDX-License-Identifier: GPL-2.0-or-later
/* The control socket: see control.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "control.h"
#include "fsd.h"

static int cfd = -1;
static char cpath[108];

int control_open(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0)
		return -errno;
	/* the socket file is created 0600 whatever the umask (which is 0) */
	if (fchmod(cfd, 0600) || bind(cfd, (struct sockaddr *)&a, sizeof(a)) ||
	    chmod(path, 0600) ||
	    listen(cfd, 8)) {
		int e = -errno;

		close(cfd);
		cfd = -1;
		return e;
	}
	strcpy(cpath, path);
	return 0;
}

void control_close(void)
{
	if (cfd < 0)
		return;
	close(cfd);
	unlink(cpath);
	cfd = -1;
}

int control_fd(void)
{
	return cfd;
}

void control_serve(int (*reload)(char *err, size_t len))
{
	struct timeval tv = { .tv_sec = 2 };
	char line[128], out[8192];
	ssize_t n;
	size_t len = 0;
	int fd = accept4(cfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = read(fd, line, sizeof(line) - 1);
	if (n <= 0) {
		close(fd);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\r\n")] = 0;
	if (!strcmp(line, "reload")) {
		char err[256];

		if (reload(err, sizeof(err)))
			len = snprintf(out, sizeof(out), "error: %s\n", err);
		else
			len = snprintf(out, sizeof(out), "ok\n");
	} else if (!strcmp(line, "status")) {
		len = vm_state_report(out, sizeof(out) - 4);
		len += snprintf(out + len, sizeof(out) - len, "ok\n");
	} else if (!strcmp(line, "ping")) {
		len = snprintf(out, sizeof(out), "ok\n");
	} else {
		len = snprintf(out, sizeof(out), "error: unknown command (reload, status, ping)\n");
	}
	if (send(fd, out, len, MSG_NOSIGNAL) < 0)
		fsd_log(LOG_DEBUG, "control: reply lost: %s", strerror(errno));
	close(fd);
}
