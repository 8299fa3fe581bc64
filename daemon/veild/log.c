// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veild's logging: libveil's one layer (lib/log.h), to stderr (with the
 * journal's priority prefix under systemd) or to syslog.  Never given
 * key bytes: callers log key-ids and lengths.
 */
#include <stdarg.h>

#include "log.h"
#include "veild.h"

static bool log_inited;

void vlog_init(enum veil_log_dest dest, bool debug)
{
	log_inited = true;
	veil_log_open("veild", VEIL_LOGF_PID | VEIL_LOGF_LEVEL |
		      (dest == VEIL_LOG_SYSLOG ? VEIL_LOGF_SYSLOG : 0),
		      debug ? LOG_DEBUG : LOG_INFO);
}

void vlog(int prio, const char *fmt, ...)
{
	va_list ap;

	if (!log_inited)	/* before the configuration is read */
		vlog_init(VEIL_LOG_STDERR, false);
	va_start(ap, fmt);
	veil_vlog(prio, fmt, ap);
	va_end(ap);
}
