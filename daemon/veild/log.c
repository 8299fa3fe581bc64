// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veild's one logging layer: to stderr (which systemd puts in the journal)
 * or to syslog.  Never given key bytes: callers log key-ids and lengths.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "veild.h"

static enum veil_log_dest log_dest = VEIL_LOG_STDERR;
static bool log_debug_on;

void vlog_init(enum veil_log_dest dest, bool debug)
{
	log_dest = dest;
	log_debug_on = debug;
	if (dest == VEIL_LOG_SYSLOG)
		openlog("veild", LOG_PID, LOG_DAEMON);
}

void vlog(int prio, const char *fmt, ...)
{
	static const char *const names[] = {
		[LOG_ERR] = "error", [LOG_WARNING] = "warning",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	char buf[512];
	va_list ap;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_dest == VEIL_LOG_SYSLOG) {
		syslog(prio, "%s", buf);
		return;
	}
	/* one write per line, so lines from threads never interleave */
	dprintf(STDERR_FILENO, "veild[%d]: %s: %s\n", (int)getpid(),
		prio < (int)(sizeof(names) / sizeof(names[0])) && names[prio] ?
		names[prio] : "log", buf);
}
