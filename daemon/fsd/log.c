// SPDX-License-Identifier: GPL-2.0-or-later
/* One logging layer: stderr, "veil-fsd: " and the message; debug with -v. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "fsd.h"

int fsd_verbose;

void fsd_log(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio >= LOG_DEBUG && !fsd_verbose)
		return;
	va_start(ap, fmt);
	flockfile(stderr);
	fputs("veil-fsd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}
