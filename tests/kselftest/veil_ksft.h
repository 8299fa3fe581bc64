/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the veil kselftest programs share, next to the kernel's
 * kselftest_harness.h: run a shell command (and capture its output), read a
 * monotonic clock, find kernel threads by name.
 */
#ifndef VEIL_KSFT_H
#define VEIL_KSFT_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/*
 * Run a shell command built printf-style with stderr joined to stdout,
 * capture what it prints into @out (NUL-terminated, cut at @n - 1 bytes)
 * and, with @echo, copy each line to stdout as a TAP comment.  Its exit
 * status, or -1 if it did not exit normally or the command did not fit.
 */
static inline int vsh_out(char *out, size_t n, bool echo, const char *fmt, va_list ap)
{
	char cmd[4096], *p, *nl;
	size_t got = 0, r;
	FILE *f;
	int len, rc;

	len = vsnprintf(cmd, sizeof(cmd) - 5, fmt, ap);
	if (len < 0 || (size_t)len >= sizeof(cmd) - 5) {
		fprintf(stderr, "# sh_out: command longer than %zu bytes not run\n",
			sizeof(cmd) - 6);
		return -1;
	}
	strcat(cmd, " 2>&1");
	out[0] = '\0';
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (got + 1 < n && (r = fread(out + got, 1, n - 1 - got, f)))
		got += r;
	out[got] = '\0';
	rc = pclose(f);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	if (!echo)
		return rc;
	printf("# $ %s -> %d\n", cmd, rc);
	for (p = out; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl) {
			printf("#   %s\n", p);
			break;
		}
		printf("#   %.*s\n", (int)(nl - p), p);
	}
	fflush(stdout);
	return rc;
}

/* vsh_out() without the echo. */
static inline __attribute__((format(printf, 3, 4)))
int sh_out(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh_out(out, n, false, fmt, ap);
	va_end(ap);
	return rc;
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The threads whose name (comm) starts with @prefix and whose context
 * switch counts can be read: how many run, or -1 if /proc cannot be read.
 * @vcsw and @nvcsw (either may be NULL) get the most voluntary and
 * involuntary context switches one of them has made: how often it slept
 * waiting for work, and how often it was preempted.
 */
static inline int ksft_threads(const char *prefix, long *vcsw, long *nvcsw)
{
	char path[300], line[128];
	size_t len = strlen(prefix);
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (vcsw)
		*vcsw = 0;
	if (nvcsw)
		*nvcsw = 0;
	d = opendir("/proc");
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		long v, nv;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f) || strncmp(line, prefix, len)) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		v = nv = -1;
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "voluntary_ctxt_switches: %ld", &v);
			sscanf(line, "nonvoluntary_ctxt_switches: %ld", &nv);
		}
		fclose(f);
		if (v < 0 || nv < 0)
			continue;
		n++;
		if (vcsw && v > *vcsw)
			*vcsw = v;
		if (nvcsw && nv > *nvcsw)
			*nvcsw = nv;
	}
	closedir(d);
	return n;
}

/*
 * Wait up to @ms milliseconds for no thread named @prefix to be listed;
 * returns how many still are.  A kernel thread is stopped a moment before
 * its task leaves /proc, and an idle-reaped one goes when its timer says,
 * so a check that a thread is gone polls; one left behind stays for ever.
 */
static inline int ksft_threads_gone(const char *prefix, int ms)
{
	int n = ksft_threads(prefix, NULL, NULL);

	for (; n > 0 && ms > 0; ms -= 20) {
		usleep(20000);
		n = ksft_threads(prefix, NULL, NULL);
	}
	return n;
}

#endif /* VEIL_KSFT_H */
