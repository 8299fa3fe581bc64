// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libveil's logging layer: the "<N>" priority prefix exactly when stderr
 * is the journal's stream, the line formats veild and veil-fsd use,
 * escaping of control characters, cutting of long messages, the debug
 * threshold, and one write per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char line[256];

static const char *fmt(bool journal, unsigned int flags, int prio, const char *msg)
{
	veil_log_line(line, sizeof(line), journal, flags, "prog", 42, prio, msg);
	return line;
}

/* Point stderr at a fresh file; returns its fd for reading back. */
static int capture(char *name, size_t len)
{
	int fd;

	snprintf(name, len, "/tmp/veil-test-log.XXXXXX");
	fd = mkstemp(name);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	return fd;
}

static const char *readback(int fd)
{
	static char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	return buf;
}

int main(void)
{
	char env[64], name[64], big[600];
	int saved = dup(STDERR_FILENO), fd;
	struct stat st;
	size_t n;

	/* the prefix */
	check(!strcmp(fmt(true, 0, LOG_WARNING, "disk slow"), "<4>prog: disk slow\n"),
	      "journal: <4> before a warning: %s", line);
	check(!strcmp(fmt(true, 0, LOG_ERR, "x"), "<3>prog: x\n"), "journal: <3> before an error");
	check(!strcmp(fmt(true, 0, LOG_DEBUG, "x"), "<7>prog: x\n"), "journal: <7> before debug");
	check(!strcmp(fmt(true, 0, LOG_DAEMON | LOG_INFO, "x"), "<6>prog: x\n"),
	      "journal: the facility is not part of the prefix");
	check(!strcmp(fmt(false, 0, LOG_WARNING, "disk slow"), "prog: disk slow\n"),
	      "plain stderr: no prefix");
	check(!strcmp(fmt(false, VEIL_LOGF_PID | VEIL_LOGF_LEVEL, LOG_ERR, "gone"),
		      "prog[42]: error: gone\n"), "veild's format: %s", line);
	check(!strcmp(fmt(true, VEIL_LOGF_PID | VEIL_LOGF_LEVEL, LOG_NOTICE, "n"),
		      "<5>prog[42]: notice: n\n"), "veild's format under the journal: %s", line);

	/* no forged lines, no terminal escapes */
	check(!strcmp(fmt(true, 0, LOG_INFO, "a\nprog: forged\x1b[2K\r"),
		      "<6>prog: a\\x0aprog: forged\\x1b[2K\\x0d\n"), "control characters escaped: %s", line);
	check(!strcmp(fmt(false, 0, LOG_INFO, "tab\there"), "prog: tab\there\n"), "a tab is kept");

	/* cutting */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	n = veil_log_line(line, sizeof(line), true, VEIL_LOGF_LEVEL, "prog", 1, LOG_ERR, big);
	check(n == strlen(line) && n <= sizeof(line) - 1 && !strcmp(line + n - 4, "...\n") &&
	      !strncmp(line, "<3>prog: error: aaa", 19), "a long message is cut, ends in ...\\n (%zu bytes)", n);
	memset(big, '\n', sizeof(big) - 1);
	n = veil_log_line(line, sizeof(line), false, 0, "prog", 1, LOG_ERR, big);
	check(n <= sizeof(line) - 1 && !strcmp(line + n - 4, "...\n") && !memchr(line, '\n', n - 1),
	      "a long escaped message is cut on a whole escape");
	n = veil_log_line(line, sizeof(line), false, 0, "prog", 1, LOG_ERR, "");
	check(!strcmp(line, "prog: \n") && n == 7, "an empty message");
	memset(big, 'b', sizeof(line));
	big[sizeof(line) - 2 - strlen("prog: ")] = 0;
	n = veil_log_line(line, sizeof(line), false, 0, "prog", 1, LOG_ERR, big);
	check(n == sizeof(line) - 1 && line[n - 2] == 'b', "a message that just fits is not cut");

	/* detection: JOURNAL_STREAM must name stderr's device and inode */
	fd = capture(name, sizeof(name));
	if (fd < 0 || fstat(STDERR_FILENO, &st)) {
		check(false, "capture stderr: %s", strerror(errno));
		return tap_done();
	}
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	check(veil_log_is_journal(STDERR_FILENO, env), "JOURNAL_STREAM naming stderr is the journal");
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	check(!veil_log_is_journal(STDERR_FILENO, env), "another inode is not (stderr was redirected)");
	check(!veil_log_is_journal(STDERR_FILENO, NULL), "no JOURNAL_STREAM: not the journal");
	check(!veil_log_is_journal(STDERR_FILENO, "12:"), "a malformed JOURNAL_STREAM: not the journal");
	snprintf(env, sizeof(env), "%ju:%jux", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	check(!veil_log_is_journal(STDERR_FILENO, env), "trailing garbage: not the journal");

	/* the whole path, to the file stderr is */
	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	veil_log_open("prog", VEIL_LOGF_LEVEL, LOG_INFO);
	veil_log(LOG_WARNING, "w %d", 1);
	veil_log(LOG_DEBUG, "not shown");
	errno = ENOENT;
	veil_log(LOG_ERR, "e %m");
	check(!strcmp(readback(fd), "<4>prog: warning: w 1\n<3>prog: error: e No such file or directory\n"),
	      "under the journal: prefixed lines, debug held back, %%m kept");
	ftruncate(fd, 0);
	lseek(STDERR_FILENO, 0, SEEK_SET);
	unsetenv("JOURNAL_STREAM");
	veil_log_open("prog", 0, LOG_DEBUG);
	veil_log(LOG_DEBUG, "d");
	check(!strcmp(readback(fd), "prog: d\n"), "without the journal: no prefix, debug when asked");

	dup2(saved, STDERR_FILENO);
	close(fd);
	unlink(name);
	return tap_done();
}
