// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd's logging: libveil's one layer (lib/log.h), "veil-fsd: " and
 * the message on stderr, with the journal's priority prefix under
 * systemd; debug lines only with -v.
 */
#include <pthread.h>
#include <stdarg.h>
#include <syslog.h>

#include "fsd.h"
#include "log.h"

int fsd_verbose;

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_setup(void)
{
	veil_log_open("veil-fsd", 0, LOG_DEBUG);
}

void fsd_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio >= LOG_DEBUG && !fsd_verbose)
		return;
	pthread_once(&log_once, log_setup);
	va_start(ap, fmt);
	veil_vlog(prio, fmt, ap);
	va_end(ap);
}
