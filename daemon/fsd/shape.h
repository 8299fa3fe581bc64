/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-VM traffic shaping: token buckets for bytes/s and requests/s, each
 * with an average rate, a peak rate and a burst.  Pure arithmetic on a
 * clock the caller passes in, so tests can drive it with a fake clock.
 *
 * Model (per dimension): an "average" bucket that refills at avg units/s
 * and holds up to burst units (avg/10 if no burst is set), and a "peak"
 * bucket that refills at peak units/s and holds peak/100 units (10 ms
 * worth; at least one unit), which is what caps how fast a burst drains.
 * A request of cost c may go once every bucket holds min(c, capacity);
 * it then takes c, which may leave a bucket in debt.  So a request larger
 * than a bucket waits at most until that bucket is full (never forever),
 * and its debt delays the requests after it in proportion to its size.
 * Refill is continuous (floating point, nanosecond clock): there is no
 * refill period that could round a refill down to nothing.
 *
 * A request costs its data bytes in the byte dimension and, with
 * iops_size set, max(1, bytes / iops_size) requests in the request
 * dimension (QEMU's iops-size), else one request.
 */
#ifndef VEIL_FSD_SHAPE_H
#define VEIL_FSD_SHAPE_H

#include <stdint.h>

struct shape_rate {
	uint64_t avg;		/* units per second; 0 = unlimited */
	uint64_t peak;		/* units per second; 0 = no peak limit */
	uint64_t burst;		/* units; 0 = avg/10 */
};

struct shape_conf {
	struct shape_rate bytes, ops;
	uint64_t iops_size;	/* bytes; 0 = every request costs one */
};

struct tbucket {
	double rate, cap, level;
	uint64_t t;		/* ns: when level was last brought up to date */
};

struct shaper {
	struct tbucket b[4];	/* bytes avg, bytes peak, ops avg, ops peak */
	uint64_t iops_size;
};

/* Returns NULL or why the settings make no sense (peak below avg). */
const char *shape_check(const struct shape_conf *c);
/* Full buckets at time now. */
void shape_init(struct shaper *s, const struct shape_conf *c, uint64_t now);
/* New settings (a config reload), keeping what the buckets hold. */
void shape_update(struct shaper *s, const struct shape_conf *c, uint64_t now);
/*
 * Charge one request of `bytes` data bytes arriving at `now` (ns) and
 * return how many ns the caller must wait before serving it.  The charge
 * is booked at the returned time, so concurrent callers queue up in order.
 */
uint64_t shape_reserve(struct shaper *s, uint64_t now, uint64_t bytes);
/*
 * A request reserved for `charged` bytes moved only `used` (a short read,
 * a directory read, which asks for up to msize, an error): give the
 * difference back to the buckets, in both dimensions, up to their
 * capacity.
 */
void shape_refund(struct shaper *s, uint64_t now, uint64_t charged, uint64_t used);

#endif
