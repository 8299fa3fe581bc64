// SPDX-License-Identifier: GPL-2.0-or-later
/* Token-bucket shaping: see shape.h for the model. */
#include <math.h>
#include <stddef.h>

#include "shape.h"

#define NS	1e9

const char *shape_check(const struct shape_conf *c)
{
	if (c->bytes.peak && c->bytes.avg && c->bytes.peak < c->bytes.avg)
		return "bytes peak is below bytes average";
	if (c->ops.peak && c->ops.avg && c->ops.peak < c->ops.avg)
		return "requests peak is below requests average";
	if ((c->bytes.peak || c->bytes.burst) && !c->bytes.avg)
		return "bytes peak/burst set without an average";
	if ((c->ops.peak || c->ops.burst) && !c->ops.avg)
		return "requests peak/burst set without an average";
	return NULL;
}

static void set_bucket(struct tbucket *b, double rate, double cap, uint64_t now,
		       int keep)
{
	if (cap < 1)
		cap = 1;
	b->rate = rate;
	b->cap = cap;
	if (!keep) {
		b->level = cap;
		b->t = now;
	} else if (b->level > cap) {
		b->level = cap;
	}
}

static void configure(struct shaper *s, const struct shape_conf *c,
		      uint64_t now, int keep)
{
	const struct shape_rate *r[2] = { &c->bytes, &c->ops };
	int i;

	for (i = 0; i < 2; i++) {
		double avg = r[i]->avg, peak = r[i]->peak;
		double burst = r[i]->burst ? (double)r[i]->burst : avg / 10;

		set_bucket(&s->b[2 * i], avg, burst, now, keep);
		set_bucket(&s->b[2 * i + 1], peak, peak / 100, now, keep);
	}
	s->iops_size = c->iops_size;
}

void shape_init(struct shaper *s, const struct shape_conf *c, uint64_t now)
{
	configure(s, c, now, 0);
}

void shape_update(struct shaper *s, const struct shape_conf *c, uint64_t now)
{
	configure(s, c, now, 1);
}

static void refill(struct tbucket *b, uint64_t now)
{
	if (now <= b->t)
		return;
	b->level += b->rate * (double)(now - b->t) / NS;
	if (b->level > b->cap)
		b->level = b->cap;
	b->t = now;
}

/* Earliest time >= b->t at which the bucket holds `need` units. */
static uint64_t ready_at(const struct tbucket *b, double need)
{
	double wait;

	if (b->level >= need)
		return b->t;
	wait = ceil((need - b->level) * NS / b->rate);
	return b->t + (uint64_t)wait;
}

static double ops_of(const struct shaper *s, uint64_t bytes)
{
	return s->iops_size && bytes > s->iops_size ? (double)bytes / s->iops_size : 1;
}

void shape_refund(struct shaper *s, uint64_t now, uint64_t charged, uint64_t used)
{
	double back[4];
	int i;

	if (used >= charged)
		return;
	back[0] = back[1] = (double)(charged - used);
	back[2] = back[3] = ops_of(s, charged) - ops_of(s, used);
	for (i = 0; i < 4; i++) {
		struct tbucket *b = &s->b[i];

		if (b->rate <= 0)
			continue;
		refill(b, now);
		b->level += back[i];
		if (b->level > b->cap)
			b->level = b->cap;
	}
}

uint64_t shape_reserve(struct shaper *s, uint64_t now, uint64_t bytes)
{
	double cost[4], ops;
	uint64_t go = now;
	int i;

	ops = ops_of(s, bytes);
	cost[0] = cost[1] = bytes;
	cost[2] = cost[3] = ops;
	for (i = 0; i < 4; i++) {
		struct tbucket *b = &s->b[i];
		uint64_t t;

		if (b->rate <= 0)
			continue;
		refill(b, now);
		t = ready_at(b, cost[i] < b->cap ? cost[i] : b->cap);
		if (t > go)
			go = t;
	}
	for (i = 0; i < 4; i++) {
		struct tbucket *b = &s->b[i];

		if (b->rate <= 0)
			continue;
		refill(b, go);
		b->level -= cost[i];
	}
	return go - now;
}
