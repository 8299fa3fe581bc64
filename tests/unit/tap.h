/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The unit tests' TAP output: "ok N - what" / "not ok N - what" per
 * check, then the plan and a kselftest-style "# Totals:" line, which
 * tests/run-unit.sh adds up.  Included once by each test program.
 */
#ifndef VEIL_TEST_TAP_H
#define VEIL_TEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>

static int t_num, t_fail, t_skip;

static bool __attribute__((format(printf, 2, 3), unused))
check(bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++t_num);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass)
		t_fail++;
	return pass;
}

/* The plan and the totals; returns the exit status (1 if anything failed). */
static int __attribute__((unused)) tap_done(void)
{
	printf("1..%d\n", t_num);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       t_num - t_fail - t_skip, t_fail, t_skip);
	return t_fail ? 1 : 0;
}

/*
 * Run @cmd with sh, its standard error joined to its output, which lands
 * in out[size] (NUL-terminated, cut if longer).  Its exit status, or -1.
 */
static int __attribute__((unused)) tap_sh(char *out, size_t size,
					  const char *cmd)
{
	char full[8192];
	size_t got = 0, n;
	FILE *f;
	int rc;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	if (!f)
		return -1;
	while (got + 1 < size &&
	       (n = fread(out + got, 1, size - 1 - got, f)))
		got += n;
	out[got] = '\0';
	rc = pclose(f);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#endif /* VEIL_TEST_TAP_H */
