// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: the progress bar of the long-running commands (migrate,
 * reencrypt).  One line on stderr, redrawn at most twice a second, with
 * the amount done and the average rate since the phase began.
 */
#include <stdio.h>
#include <time.h>

#include "veilctl.h"

double vc_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

void vc_progress_start(struct vc_progress *p, const char *what,
		       uint64_t done)
{
	p->what = what;
	p->t0 = vc_now();
	p->last = 0;
	p->base = done;
}

void vc_progress(struct vc_progress *p, uint64_t done, bool final)
{
	char a[32], b[32];
	double t = vc_now(), rate;
	int pct, bar;

	if (!p->on || (!final && t - p->last < 0.5))
		return;
	p->last = t;
	rate = t > p->t0 && done > p->base ? (done - p->base) / (t - p->t0) : 0;
	pct = p->total ? (int)(done * 100 / p->total) : 100;
	if (pct > 100)
		pct = 100;
	bar = pct / 5;
	vc_fmt_size(done, a, sizeof(a));
	vc_fmt_size((uint64_t)rate, b, sizeof(b));
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s, %s/s ", p->what, bar,
		"####################", 20 - bar, "", pct, a, b);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}
