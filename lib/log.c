// SPDX-License-Identifier: LGPL-2.1-or-later
/* One logging layer: see log.h. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_BYTES	1024

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *log_ident;
static unsigned int log_flags;
static int log_max = LOG_INFO;
static bool log_journal, log_opened;

bool veil_log_is_journal(int fd, const char *journal_stream)
{
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (!journal_stream ||
	    sscanf(journal_stream, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(fd, &st))
		return false;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

static const char *level_name(int prio)
{
	static const char *const names[] = {
		"emergency", "alert", "critical", "error",
		"warning", "notice", "info", "debug",
	};

	return prio >= 0 && prio <= LOG_DEBUG ? names[prio] : "log";
}

/* Written as \xNN: what could end a line or steer a terminal. */
static bool is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

size_t veil_log_line(char *buf, size_t len, bool journal, unsigned int flags,
		     const char *ident, int pid, int prio, const char *msg)
{
	size_t n = 0, need = 0, room, cap, limit;
	int r;

	if (len < 16)
		return 0;
	room = len - 2;		/* the "\n" and the NUL always fit */
	cap = room - 3;		/* and "..." after a cut header or message */
	if (journal) {
		r = snprintf(buf + n, cap - n, "<%d>", prio & LOG_PRIMASK);
		n = r < 0 ? n : n + (size_t)r >= cap ? cap - 1 : n + (size_t)r;
	}
	if (flags & VEIL_LOGF_PID)
		r = snprintf(buf + n, cap - n, "%s[%d]: ", ident, pid);
	else
		r = snprintf(buf + n, cap - n, "%s: ", ident);
	n = r < 0 ? n : n + (size_t)r >= cap ? cap - 1 : n + (size_t)r;
	if (flags & VEIL_LOGF_LEVEL) {
		r = snprintf(buf + n, cap - n, "%s: ", level_name(prio & LOG_PRIMASK));
		n = r < 0 ? n : n + (size_t)r >= cap ? cap - 1 : n + (size_t)r;
	}
	for (const char *m = msg; *m; m++)
		need += is_ctl(*m) ? 4 : 1;
	/* all of it if it fits; else as much as fits before "..." */
	limit = n + need <= room ? room : cap;
	for (; *msg; msg++) {
		unsigned char c = *msg;

		if (n + (is_ctl(c) ? 4 : 1) > limit) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		if (is_ctl(c)) {
			snprintf(buf + n, 5, "\\x%02x", c);
			n += 4;
		} else {
			buf[n++] = c;
		}
	}
	buf[n++] = '\n';
	buf[n] = 0;
	return n;
}

void veil_log_open(const char *ident, unsigned int flags, int max_prio)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	log_flags = flags;
	log_max = max_prio;
	log_journal = !(flags & VEIL_LOGF_SYSLOG) &&
		      veil_log_is_journal(STDERR_FILENO, getenv("JOURNAL_STREAM"));
	if (flags & VEIL_LOGF_SYSLOG)
		openlog(ident, LOG_PID, LOG_DAEMON);
	log_opened = true;
	pthread_mutex_unlock(&log_lock);
}

void veil_vlog(int prio, const char *fmt, va_list ap)
{
	char msg[LINE_MAX_BYTES], line[LINE_MAX_BYTES + 64];
	int saved = errno;	/* for %m */
	size_t n;

	if (!log_opened)
		veil_log_open(program_invocation_short_name, 0, LOG_INFO);
	if ((prio & LOG_PRIMASK) > log_max)
		return;
	errno = saved;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_flags & VEIL_LOGF_SYSLOG) {
		syslog(prio, "%s", msg);
		errno = saved;
		return;
	}
	n = veil_log_line(line, sizeof(line), log_journal, log_flags, log_ident,
			  (int)getpid(), prio, msg);
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to say so */
	}
	errno = saved;
}

void veil_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	veil_vlog(prio, fmt, ap);
	va_end(ap);
}
