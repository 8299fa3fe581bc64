/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the veil kselftest programs share, next to the kernel's
 * kselftest_harness.h: run a shell command, read a monotonic clock.
 */
#ifndef VEIL_KSFT_H
#define VEIL_KSFT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

/*
 * Run a shell command built printf-style; its exit status, or -1 if it did
 * not exit normally or the command did not fit (never run cut short).
 */
static inline __attribute__((format(printf, 1, 2)))
int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		fprintf(stderr, "# sh: command longer than %zu bytes not run\n",
			sizeof(cmd) - 1);
		return -1;
	}
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif /* VEIL_KSFT_H */
