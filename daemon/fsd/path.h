/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Confinement: every path veil-fsd touches on behalf of a guest is
 * resolved beneath the tenant root, and no symbolic link is ever followed
 * on the host (the guest's kernel reads links with Treadlink and walks
 * them itself).  Special files are never opened: a file is reached as an
 * O_PATH descriptor, checked with fstat, and only a regular file or a
 * directory is reopened for I/O -- through its /proc/self/fd entry, which
 * names that very inode, so nothing can be swapped in between the check
 * and the open.
 */
#ifndef VEIL_FSD_PATH_H
#define VEIL_FSD_PATH_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * Copy a guest-supplied name (not NUL-terminated) into out, refusing
 * what is not one plain component: empty, ".", "..", a '/', longer than
 * NAME_MAX.  Returns 0 or -EINVAL / -ENAMETOOLONG.
 */
int path_name(const char *s, size_t len, char *out, size_t outlen);

/*
 * openat2(dirfd, rel) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS and O_NOFOLLOW | O_CLOEXEC added.  rel "" means
 * dirfd itself.  A trailing symlink opened with O_PATH yields the link.
 * Returns an fd or -errno.
 */
int path_open(int dirfd, const char *rel, int flags, mode_t mode);

/*
 * Reopen the file behind an O_PATH fd for I/O with flags (O_ACCMODE,
 * O_TRUNC, O_APPEND, ...).  Refuses anything but a regular file or a
 * directory with -EPERM (-ELOOP for a symlink), re-checks the opened
 * file is the same inode.  Works for an unlinked file.  Returns an fd or
 * -errno.
 */
int path_reopen(int pathfd, int flags);

/* "/proc/self/fd/N" for fd, for the calls that have no fd form. */
void path_fdname(int fd, char *buf, size_t len);

/* Relative path helpers ("" is the root).  Return a malloc'd string. */
char *path_join(const char *dir, const char *name);
char *path_dirname(const char *p);
const char *path_basename(const char *p);

/*
 * If p equals from or lies beneath it, return the malloc'd path with that
 * prefix replaced by to (what a rename does to the fids beneath it); else
 * NULL.
 */
char *path_rebase(const char *p, const char *from, const char *to);

#endif
