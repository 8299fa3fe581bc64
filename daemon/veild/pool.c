// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The lookup pool: a FIFO of key requests and conf->workers threads, each
 * with its own persistent key manager connection, its own netlink socket
 * for answers and one locked page for key bytes.  A slow or retrying lookup
 * occupies one worker; the others go on.
 *
 * A lookup retries transient failures (key manager down, connection lost,
 * timeouts) with exponential backoff, 200 ms doubling up to 5 s, until
 * conf->retry_budget has passed since the request arrived; then it fails
 * with EHOSTUNREACH.  Permanent failures (not found, refused, malformed
 * reply, untrusted server) are answered at once.
 *
 * In-flight work when veild stops (SIGTERM) or dies: lookups in progress
 * are abandoned without an answer; at a stop, an eventfd that every
 * client polls with its socket cuts their network waits short.  The kernel keeps every unanswered
 * request and sends it again to the next veild that registers, so nothing
 * is lost; a consumer's own timeout (dm-veil's key_timeout) bounds how long
 * its I/O waits.
 *
 * The same handle can arrive twice (the kernel re-sends everything pending
 * when we re-register after a receive overrun); a request already queued or
 * being looked up is not queued again.
 *
 * Requests for the same key-id (replicas of one LU, or one LU's table
 * reloaded) are coalesced: a worker that takes a request also takes every
 * request for that key-id still queued, looks the key up once and answers
 * them all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cache.h"
#include "veild.h"

#define BACKOFF_FIRST_MS	200
#define BACKOFF_MAX_MS		5000
#define WORKER_STACK		(256 * 1024)

struct job {
	struct veil_req req;
	struct job *next;
	struct job *same;		/* coalesced: same key-id, answered too */
};

struct worker {
	pthread_t thread;
	bool started;
	struct job *cur;		/* under pool.lock */
	struct kmip_client *kc;
	struct vgenl nl;
	bool nl_open;
	uint8_t *key;			/* veil_secmem, VEIL_KEY_MAX */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was queued, or stop */
	pthread_cond_t stopped;		/* stop */
	struct job *head, *tail;
	unsigned int queued;
	bool stop;
	const struct veil_kmip_conf *conf;
	SSL_CTX *ctx;
	struct worker *w;
	int n;
	struct vcache *cache;		/* NULL: the offline cache is off */
	int cancel_fd;			/* eventfd: readable once stopping */
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cancel_fd = -1 };

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void deadline_in(struct timespec *d, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

/* Sleep up to @ms; true if the pool is stopping. */
static bool pool_sleep(long ms)
{
	struct timespec d;
	bool stop;

	deadline_in(&d, ms);
	pthread_mutex_lock(&pool.lock);
	while (!pool.stop &&
	       pthread_cond_timedwait(&pool.stopped, &pool.lock, &d) != ETIMEDOUT)
		;
	stop = pool.stop;
	pthread_mutex_unlock(&pool.lock);
	return stop;
}

/* The errno the kernel gets for a lookup's final failure. */
static int fail_errno(int r, bool gave_up)
{
	if (gave_up)
		return EHOSTUNREACH;
	switch (r) {
	case -ENOKEY:
	case -EKEYREJECTED:
	case -EPROTO:
	case -EHOSTUNREACH:
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -ENETUNREACH:
		return -r;
	case -EMSGSIZE:
	case -EOPNOTSUPP:
		return EINVAL;
	default:
		return EIO;
	}
}

static void answer(struct worker *w, const struct veil_req *req, int r,
		   size_t key_len, const char *reason)
{
	const char *what = r ? "fail" : "push";
	int e;

	if (!w->nl_open) {
		e = vgenl_open(&w->nl, NULL, NULL);
		if (e) {
			log_err("request %u (%s): cannot answer: veil family %s",
				req->id, req->object,
				e == -ENOENT ? "gone (veil.ko unloaded?)" : "unavailable");
			return;
		}
		w->nl_open = true;
	}
	if (!r)
		e = vgenl_push(&w->nl, req, w->key, key_len);
	else
		e = vgenl_fail(&w->nl, req, r, reason);
	if (e == -ENOENT) {
		log_info("request %u (%s): cancelled or answered meanwhile; %s dropped",
			 req->id, req->object, what);
	} else if (e) {
		log_warn("request %u (%s): kernel refused the %s: %s%s%s",
			 req->id, req->object, what, strerror(-e),
			 w->nl.ext[0] ? ": " : "", w->nl.ext);
		vgenl_close(&w->nl);
		w->nl_open = false;
	}
}

void pool_set_cache(struct vcache *c)
{
	pool.cache = c;
}

/* A key fetched from the key manager: store or refresh its cache entry. */
static void cache_fill(const struct veil_req *req, const char *name,
		       const uint8_t *key, const struct kmip_key *info)
{
	char err[VCACHE_ERR_MAX], cipher[VCACHE_CIPHER_MAX];

	if (!pool.cache)
		return;
	if (info->algorithm == KMIP_ALG_AES)
		snprintf(cipher, sizeof(cipher), "AES-%zu", info->len * 8);
	else
		snprintf(cipher, sizeof(cipher), "kmip-alg-%u", info->algorithm);
	if (vcache_store(pool.cache, req->key_id, req->key_id_len, key,
			 info->len, cipher, time(NULL), err, sizeof(err)))
		log_warn("request %u (%s): %s: not cached: %s", req->id,
			 req->object, name, err);
	else
		log_debug("request %u (%s): %s: cache entry stored", req->id,
			  req->object, name);
}

/*
 * The key manager was unreachable for the whole retry budget: the cached
 * copy, if any and unexpired, into w->key.  Its length, or 0.
 */
static size_t cache_answer(struct worker *w, const struct veil_req *req,
			   const char *name)
{
	char err[VCACHE_ERR_MAX], when[32];
	struct vcache_entry e;
	struct tm tm;
	int r;

	if (!pool.cache)
		return 0;
	r = vcache_load(pool.cache, req->key_id, req->key_id_len, w->key,
			VEIL_KEY_MAX, &e, time(NULL), err, sizeof(err));
	if (r == -ENOENT)
		return 0;
	if (r) {
		log_warn("request %u (%s): %s: cached copy not used: %s",
			 req->id, req->object, name, err);
		return 0;
	}
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime_r(&e.created, &tm));
	log_warn("request %u (%s): %s: key manager unreachable: using the cached copy (%s, fetched %s, expires in %ld s)",
		 req->id, req->object, name, e.cipher, when,
		 (long)(e.expires - time(NULL)));
	return e.key_len;
}

static void lookup(struct worker *w, const struct job *job)
{
	const struct veil_req *req = &job->req;
	const struct job *o;
	unsigned int more = 0;
	const struct veil_kmip_conf *c = pool.conf;
	char name[KMIP_NAME_MAX], reason[VEIL_REASON_MAX];
	long backoff = BACKOFF_FIRST_MS;
	struct kmip_key info;
	bool gave_up = false, hinted = false;
	int r, tries = 0;

	veil_kmip_keyid_name(req->key_id, req->key_id_len, name, sizeof(name));
	for (o = job->same; o; o = o->next)
		more++;
	log_debug("request %u (%s): looking up %s (and for %u more request(s))",
		  req->id, req->object, name, more);
	for (;;) {
		tries++;
		r = veil_kmip_fetch_hinted(w->kc, req->key_id, req->key_id_len,
					   req->hint, w->key, VEIL_KEY_MAX,
					   &info, &hinted);
		if (r == -ECANCELED) {
			OPENSSL_cleanse(w->key, VEIL_KEY_MAX);
			log_info("request %u (%s): abandoned at shutdown; the kernel keeps it for the next veild",
				 req->id, req->object);
			return;
		}
		if (!r || !kmip_client_transient(w->kc))
			break;
		if (ms_since(&req->received) + backoff > c->retry_budget_ms) {
			gave_up = true;
			break;
		}
		log_debug("request %u (%s): try %d failed (%s), retrying in %ld ms",
			  req->id, req->object, tries, kmip_client_error(w->kc),
			  backoff);
		if (pool_sleep(backoff)) {
			log_info("request %u (%s): abandoned at shutdown; the kernel keeps it for the next veild",
				 req->id, req->object);
			return;
		}
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			  backoff * 2;
	}

	if (!r) {
		log_info("request %u (%s): %s: pushing %zu-byte key (%ld ms, %d tr%s%s%s)",
			 req->id, req->object, name, info.len,
			 ms_since(&req->received), tries, tries == 1 ? "y" : "ies",
			 req->hint[0] ? ", key-hint " : "",
			 req->hint[0] ? (hinted ? "used" : "stale: located by name") : "");
		cache_fill(req, name, w->key, &info);
		answer(w, req, 0, info.len, NULL);
		for (o = job->same; o; o = o->next) {
			log_info("request %u (%s): %s: pushing the same key",
				 o->req.id, o->req.object, name);
			answer(w, &o->req, 0, info.len, NULL);
		}
		OPENSSL_cleanse(w->key, VEIL_KEY_MAX);
		return;
	}
	if (gave_up) {
		size_t len = cache_answer(w, req, name);

		if (len) {
			answer(w, req, 0, len, NULL);
			for (o = job->same; o; o = o->next)
				answer(w, &o->req, 0, len, NULL);
			OPENSSL_cleanse(w->key, VEIL_KEY_MAX);
			return;
		}
	} else if ((r == -ENOKEY || r == -EKEYREJECTED) && pool.cache &&
		   !vcache_remove(pool.cache, req->key_id, req->key_id_len)) {
		log_warn("request %u (%s): %s: the key manager %s: cache entry deleted",
			 req->id, req->object, name,
			 r == -ENOKEY ? "has no such key" : "refused");
	}
	if (gave_up)
		snprintf(reason, sizeof(reason), "key manager unreachable (%d tries in %ld s): %s",
			 tries, (ms_since(&req->received) + 500) / 1000,
			 kmip_client_error(w->kc));
	else
		snprintf(reason, sizeof(reason), "%s", kmip_client_error(w->kc));
	log_warn("request %u (%s): %s: %s (%s)%s", req->id, req->object, name,
		 reason, strerror(fail_errno(r, gave_up)),
		 more ? " (and its coalesced requests)" : "");
	answer(w, req, fail_errno(r, gave_up), 0, reason);
	for (o = job->same; o; o = o->next)
		answer(w, &o->req, fail_errno(r, gave_up), 0, reason);
}

/* Under pool.lock: move the queued requests for @j's key-id behind it. */
static void coalesce_locked(struct job *j)
{
	struct job **pp = &pool.head, *q, **tail = &j->same;

	pool.tail = NULL;
	while ((q = *pp)) {
		if (q->req.key_id_len == j->req.key_id_len &&
		    !memcmp(q->req.key_id, j->req.key_id, q->req.key_id_len)) {
			*pp = q->next;
			q->next = NULL;
			*tail = q;
			tail = &q->next;
			pool.queued--;
			continue;
		}
		pool.tail = q;
		pp = &q->next;
	}
}

static void job_free(struct job *j)
{
	struct job *o;

	while ((o = j->same)) {
		j->same = o->next;
		free(o);
	}
	free(j);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec d;
	struct job *j;

	pthread_mutex_lock(&pool.lock);
	while (!pool.stop) {
		if (!pool.head) {
			deadline_in(&d, 1000);
			pthread_cond_timedwait(&pool.work, &pool.lock, &d);
			if (!pool.head) {
				pthread_mutex_unlock(&pool.lock);
				kmip_client_idle(w->kc);
				pthread_mutex_lock(&pool.lock);
			}
			continue;
		}
		j = pool.head;
		pool.head = j->next;
		if (!pool.head)
			pool.tail = NULL;
		pool.queued--;
		j->next = NULL;
		coalesce_locked(j);
		w->cur = j;
		pthread_mutex_unlock(&pool.lock);

		lookup(w, j);

		pthread_mutex_lock(&pool.lock);
		w->cur = NULL;
		job_free(j);
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

static bool busy_locked(uint32_t id)
{
	struct job *j;
	int i;

	for (j = pool.head; j; j = j->next)
		if (j->req.id == id)
			return true;
	for (i = 0; i < pool.n; i++) {
		if (!pool.w[i].cur)
			continue;
		if (pool.w[i].cur->req.id == id)
			return true;
		for (j = pool.w[i].cur->same; j; j = j->next)
			if (j->req.id == id)
				return true;
	}
	return false;
}

void pool_submit(const struct veil_req *req)
{
	struct job *j;

	pthread_mutex_lock(&pool.lock);
	if (busy_locked(req->id)) {
		pthread_mutex_unlock(&pool.lock);
		log_debug("request %u (%s): already in work", req->id, req->object);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		pthread_mutex_unlock(&pool.lock);
		/* stays pending in the kernel; the next registration resends */
		log_err("request %u (%s): out of memory, not queued",
			req->id, req->object);
		return;
	}
	j->req = *req;
	if (pool.tail)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pool.queued++;
	pthread_cond_signal(&pool.work);
	pthread_mutex_unlock(&pool.lock);
}

unsigned int pool_busy(void)
{
	unsigned int n;
	int i;

	pthread_mutex_lock(&pool.lock);
	n = pool.queued;
	for (i = 0; i < pool.n; i++) {
		const struct job *j;

		for (j = pool.w[i].cur; j; j = j == pool.w[i].cur ? j->same : j->next)
			n++;
	}
	pthread_mutex_unlock(&pool.lock);
	return n;
}

static void worker_free(struct worker *w)
{
	if (w->nl_open)
		vgenl_close(&w->nl);
	kmip_client_free(w->kc);
	veil_secmem_free(w->key, VEIL_KEY_MAX);
}

int pool_start(const struct veil_kmip_conf *conf, SSL_CTX *ctx)
{
	pthread_condattr_t ca;
	pthread_attr_t ta;
	int i, r = 0;

	pool.conf = conf;
	pool.ctx = ctx;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool.work, &ca);
	pthread_cond_init(&pool.stopped, &ca);
	pthread_condattr_destroy(&ca);

	pool.cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pool.cancel_fd < 0)
		return -errno;
	pool.w = calloc((size_t)conf->workers, sizeof(*pool.w));
	if (!pool.w) {
		close(pool.cancel_fd);
		pool.cancel_fd = -1;
		return -ENOMEM;
	}
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, WORKER_STACK);
	for (i = 0; i < conf->workers; i++) {
		struct worker *w = &pool.w[i];

		w->kc = kmip_client_new(conf, ctx);
		w->key = veil_secmem_alloc(VEIL_KEY_MAX);
		if (!w->kc || !w->key) {
			log_err("worker %d: cannot allocate locked memory for keys (RLIMIT_MEMLOCK?)", i);
			worker_free(w);
			r = -ENOMEM;
			break;
		}
		kmip_client_set_cancel(w->kc, pool.cancel_fd);
		r = -pthread_create(&w->thread, &ta, worker_main, w);
		if (r) {
			worker_free(w);
			break;
		}
		w->started = true;
		pool.n++;
	}
	pthread_attr_destroy(&ta);
	if (r)
		pool_stop();
	return r;
}

void pool_stop(void)
{
	struct job *j;
	int i;

	pthread_mutex_lock(&pool.lock);
	pool.stop = true;
	pthread_cond_broadcast(&pool.work);
	pthread_cond_broadcast(&pool.stopped);
	pthread_mutex_unlock(&pool.lock);
	if (pool.cancel_fd >= 0 && eventfd_write(pool.cancel_fd, 1))
		log_warn("cannot cut the workers' network waits short: %m");
	for (i = 0; i < pool.n; i++) {
		pthread_join(pool.w[i].thread, NULL);
		worker_free(&pool.w[i]);
	}
	while ((j = pool.head)) {
		pool.head = j->next;
		free(j);
	}
	pool.tail = NULL;
	pool.queued = 0;
	free(pool.w);
	pool.w = NULL;
	pool.n = 0;
	if (pool.cancel_fd >= 0)
		close(pool.cancel_fd);
	pool.cancel_fd = -1;
}
