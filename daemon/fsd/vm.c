// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-VM runtime state: the shaper and the counters, keyed by VM name so
 * they survive a config reload (a reload changes the rates, not what the
 * buckets hold).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsd.h"

static pthread_mutex_t vms_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vm_state *vms;

uint64_t fsd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct vm_state *vm_state_get(const struct vm_conf *vm)
{
	struct vm_state *s;

	pthread_mutex_lock(&vms_lock);
	for (s = vms; s; s = s->next)
		if (!strcmp(s->name, vm->name))
			break;
	if (!s && (s = calloc(1, sizeof(*s)))) {
		strcpy(s->name, vm->name);
		pthread_mutex_init(&s->lock, NULL);
		pthread_cond_init(&s->slot_cond, NULL);
		s->max_workers = vm->max_workers ? vm->max_workers : 1;
		fid_pool_init(&s->pool);
		shape_init(&s->shaper, &vm->shape, fsd_now_ns());
		s->next = vms;
		vms = s;
	}
	pthread_mutex_unlock(&vms_lock);
	return s;
}

void vm_state_reconf(const struct fsd_conf *c)
{
	struct vm_state *s;
	size_t i;

	pthread_mutex_lock(&vms_lock);
	for (s = vms; s; s = s->next)
		for (i = 0; i < c->n_vms; i++)
			if (!strcmp(s->name, c->vms[i].name)) {
				pthread_mutex_lock(&s->lock);
				shape_update(&s->shaper, &c->vms[i].shape, fsd_now_ns());
				s->max_workers = c->vms[i].max_workers;
				pthread_cond_broadcast(&s->slot_cond);
				pthread_mutex_unlock(&s->lock);
			}
	pthread_mutex_unlock(&vms_lock);
}

void vm_state_shape(struct vm_state *vs, uint64_t bytes)
{
	uint64_t wait;

	pthread_mutex_lock(&vs->lock);
	wait = shape_reserve(&vs->shaper, fsd_now_ns(), bytes);
	vs->requests++;
	vs->bytes += bytes;
	pthread_mutex_unlock(&vs->lock);
	if (wait) {
		struct timespec ts = {
			.tv_sec = wait / 1000000000ull,
			.tv_nsec = wait % 1000000000ull,
		};

		while (nanosleep(&ts, &ts))
			;
	}
}

void vm_state_slot_get(struct vm_state *vs)
{
	pthread_mutex_lock(&vs->lock);
	while (vs->running >= vs->max_workers)
		pthread_cond_wait(&vs->slot_cond, &vs->lock);
	vs->running++;
	pthread_mutex_unlock(&vs->lock);
}

void vm_state_slot_put(struct vm_state *vs)
{
	pthread_mutex_lock(&vs->lock);
	vs->running--;
	pthread_cond_signal(&vs->slot_cond);
	pthread_mutex_unlock(&vs->lock);
}

void vm_state_refund(struct vm_state *vs, uint64_t charged, uint64_t used)
{
	if (used >= charged)
		return;
	pthread_mutex_lock(&vs->lock);
	shape_refund(&vs->shaper, fsd_now_ns(), charged, used);
	vs->bytes -= charged - used;
	pthread_mutex_unlock(&vs->lock);
}

size_t vm_state_report(char *buf, size_t len)
{
	struct vm_state *s;
	size_t n = 0;

	pthread_mutex_lock(&vms_lock);
	for (s = vms; s && n < len; s = s->next) {
		int k = snprintf(buf + n, len - n,
				 "vm %s conns %d fds %d requests %llu bytes %llu mem %lld\n",
				 s->name, __atomic_load_n(&s->conns, __ATOMIC_RELAXED),
				 __atomic_load_n(&s->pool.fds, __ATOMIC_RELAXED),
				 (unsigned long long)s->requests,
				 (unsigned long long)s->bytes,
				 __atomic_load_n(&s->pool.mem, __ATOMIC_RELAXED));
		if (k < 0)
			break;
		n += k;
	}
	pthread_mutex_unlock(&vms_lock);
	return n < len ? n : len - 1;
}

void vm_state_free_all(void)
{
	struct vm_state *s;

	pthread_mutex_lock(&vms_lock);
	while ((s = vms)) {
		vms = s->next;
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->slot_cond);
		pthread_mutex_destroy(&s->pool.lock);
		free(s);
	}
	pthread_mutex_unlock(&vms_lock);
}
