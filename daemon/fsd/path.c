// SPDX-License-Identifier: GPL-2.0-or-later
/* Confinement beneath the tenant root: see path.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "path.h"

int path_name(const char *s, size_t len, char *out, size_t outlen)
{
	if (!len || memchr(s, '/', len) || memchr(s, 0, len))
		return -EINVAL;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return -EINVAL;
	if (len > NAME_MAX || len >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, s, len);
	out[len] = 0;
	return 0;
}

int path_open(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned int)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (!*rel)
		rel = ".";
	if (rel[0] == '/')
		return -EXDEV;
	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

void path_fdname(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int path_reopen(int pathfd, int flags)
{
	struct stat a, b;
	char name[40];
	int fd;

	if (fstat(pathfd, &a))
		return -errno;
	if (S_ISLNK(a.st_mode))
		return -ELOOP;
	if (!S_ISREG(a.st_mode) && !S_ISDIR(a.st_mode))
		return -EPERM;
	if (S_ISDIR(a.st_mode) && (flags & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	flags &= ~(O_CREAT | O_EXCL | O_PATH | O_NOFOLLOW | O_TMPFILE);
	path_fdname(pathfd, name, sizeof(name));
	fd = open(name, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &b) || b.st_dev != a.st_dev || b.st_ino != a.st_ino ||
	    (b.st_mode & S_IFMT) != (a.st_mode & S_IFMT)) {
		close(fd);
		return -ESTALE;
	}
	/* O_NONBLOCK was only armour against a special file. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

char *path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	if (!a) {
		memcpy(p, name, b + 1);
	} else {
		memcpy(p, dir, a);
		p[a] = '/';
		memcpy(p + a + 1, name, b + 1);
	}
	return p;
}

char *path_dirname(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? strndup(p, s - p) : strdup("");
}

const char *path_basename(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

char *path_rebase(const char *p, const char *from, const char *to)
{
	size_t n = strlen(from);

	if (!n) /* the root never moves */
		return NULL;
	if (strncmp(p, from, n) || (p[n] && p[n] != '/'))
		return NULL;
	if (!p[n])
		return strdup(to);
	return path_join(to, p + n + 1);
}
