/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One logging layer for veil's daemons.  A line goes to stderr in one
 * write(2) (lines of several threads never interleave), or to syslog(3).
 * When stderr is the systemd journal (JOURNAL_STREAM names stderr's
 * device and inode, as sd-daemon(3) describes), each line starts with
 * "<N>", N the syslog priority, which journald strips and keeps as the
 * entry's priority: warnings stay warnings.  Control characters in a
 * message are written as \xNN, so no message can forge a second line.
 */
#ifndef VEIL_LOG_H
#define VEIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#define VEIL_LOGF_PID	0x1	/* "ident[pid]: " rather than "ident: " */
#define VEIL_LOGF_LEVEL	0x2	/* "error: ", "warning: " ... after the ident */
#define VEIL_LOGF_SYSLOG	0x4	/* syslog(3), not stderr */

/*
 * ident: the program name; flags: VEIL_LOGF_*; max_prio: the least urgent
 * priority logged (LOG_INFO, or LOG_DEBUG).  May be called again.
 */
void veil_log_open(const char *ident, unsigned int flags, int max_prio);
void veil_vlog(int prio, const char *fmt, va_list ap);
void veil_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Does journal_stream ("DEV:INO", or NULL) name the file open at fd? */
bool veil_log_is_journal(int fd, const char *journal_stream);
/*
 * Format one line (with its "\n") into buf; returns its length, at most
 * len - 1 (a longer message is cut, and ends in "...").
 */
size_t veil_log_line(char *buf, size_t len, bool journal, unsigned int flags,
		     const char *ident, int pid, int prio, const char *msg);

#endif
