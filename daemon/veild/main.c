// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veild: the key daemon.  Registers with veil.ko's generic netlink family,
 * takes the kernel's key requests, looks each key up on the key manager
 * (KMIP over mutual TLS) and pushes it back, or reports why not.
 *
 * Bring-up, in order: configuration, logging, process hardening, TLS
 * context, worker pool, then the registration loop; teardown in reverse.
 *
 * The registration loop never floods the log nor exits for want of the
 * kernel side: if the family is missing (veil.ko not loaded) or speaks
 * another ABI, it says so once with the fix, then retries with backoff
 * (1 s doubling to 60 s) quietly, and says when it recovers.  Once
 * registered it checks the family every HEARTBEAT_MS, so an unloaded and
 * reloaded veil.ko is noticed and registered with again.
 *
 * Exit status: 0 on SIGTERM/SIGINT, 1 on a runtime failure, 2 on a usage or
 * configuration error (systemd does not restart on 2: see veild.service).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "veild.h"

#define DEFAULT_CONF	"/etc/veil/veild.conf"
#define HEARTBEAT_MS	5000
#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000

enum { WAIT_TIMEOUT, WAIT_STOP };

static int sig_fd = -1;

/* Wait @ms for a signal; WAIT_STOP on SIGTERM/SIGINT. */
static int handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: the configuration is read at start only; restart veild to apply changes");
			continue;
		}
		log_info("%s: stopping", strsignal((int)si.ssi_signo));
		return WAIT_STOP;
	}
	return WAIT_TIMEOUT;
}

static int wait_signal(long ms)
{
	struct pollfd p = { .fd = sig_fd, .events = POLLIN };
	struct timespec start, now;
	long left = ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (left > 0) {
		if (poll(&p, 1, (int)left) > 0 && handle_signals() == WAIT_STOP)
			return WAIT_STOP;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - ((now.tv_sec - start.tv_sec) * 1000 +
			     (now.tv_nsec - start.tv_nsec) / 1000000);
	}
	return WAIT_TIMEOUT;
}

static void on_request(const struct veil_req *req, void *arg)
{
	char hex[2 * VEIL_KEY_ID_MAX + 1];

	veil_kmip_keyid_hex(req->key_id, req->key_id_len, hex, sizeof(hex));
	log_debug("request %u from %s: key-id %s", req->id, req->object, hex);
	pool_submit(req);
}

struct reg_state {
	long backoff;
	bool said_missing, said_abi, said_other;
};

/* Open, check and register.  0 registered; 1 retry later; -1 fatal. */
static int try_register(struct vgenl *g, struct reg_state *s)
{
	int r;

	r = vgenl_open(g, on_request, NULL);
	if (r == -ENOENT) {
		if (!s->said_missing)
			log_err("veil generic netlink family not found: load veil.ko (modprobe veil); retrying quietly with backoff");
		else
			log_debug("veil family still missing");
		s->said_missing = true;
		return 1;
	}
	if (r) {
		if (!s->said_other)
			log_err("cannot open a generic netlink socket: %s", strerror(-r));
		s->said_other = true;
		return 1;
	}
	r = vgenl_get_info(g);
	if (!r && g->abi != VEIL_ABI_VERSION)
		r = -EPROTO;
	if (!r)
		r = vgenl_register(g);
	if (r == -EPROTO) {
		if (!s->said_abi)
			log_err("kernel ABI %u, veild ABI %d: install the veild built with this veil.ko (or load the veil.ko this veild was built for); retrying quietly",
				g->abi, VEIL_ABI_VERSION);
		s->said_abi = true;
		vgenl_close(g);
		return 1;
	}
	if (r == -EPERM) {
		log_err("veil.ko refused the registration: CAP_SYS_ADMIN (root) is required%s%s",
			g->ext[0] ? ": " : "", g->ext);
		vgenl_close(g);
		return -1;
	}
	if (r) {
		if (!s->said_other)
			log_err("registering with veil.ko failed: %s%s%s",
				strerror(-r), g->ext[0] ? ": " : "", g->ext);
		s->said_other = true;
		vgenl_close(g);
		return 1;
	}
	if (s->said_missing || s->said_abi || s->said_other)
		log_info("veil.ko is usable now");
	log_info("registered with veil.ko (ABI %u); the kernel had %u request(s) pending",
		 g->abi, g->pending);
	s->said_missing = s->said_abi = s->said_other = false;
	s->backoff = BACKOFF_MIN_MS;
	return 0;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

static int run(void)
{
	struct reg_state s = { .backoff = BACKOFF_MIN_MS };
	struct timespec beat;
	struct vgenl g;
	bool registered = false;
	int r;

	for (;;) {
		struct pollfd p[2];

		if (!registered) {
			r = try_register(&g, &s);
			if (r < 0)
				return 1;
			if (r > 0) {
				if (wait_signal(s.backoff) == WAIT_STOP)
					return 0;
				s.backoff = s.backoff * 2 > BACKOFF_MAX_MS ?
					    BACKOFF_MAX_MS : s.backoff * 2;
				continue;
			}
			registered = true;
			clock_gettime(CLOCK_MONOTONIC, &beat);
		}

		p[0] = (struct pollfd){ .fd = vgenl_fd(&g), .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
		r = poll(p, 2, HEARTBEAT_MS);
		if (r < 0 && errno != EINTR) {
			log_err("poll: %m");
			vgenl_close(&g);
			return 1;
		}
		if ((p[1].revents & POLLIN) && handle_signals() == WAIT_STOP) {
			vgenl_close(&g);
			return 0;
		}
		if (p[0].revents) {
			r = vgenl_receive(&g);
			if (r == -ENOBUFS) {
				log_warn("key requests overran the netlink socket; registering again to have them re-sent");
				r = vgenl_register(&g);
			}
			if (r && r != -ETIMEDOUT) {
				log_warn("netlink receive failed (%s); registering again",
					 strerror(-r));
				vgenl_close(&g);
				registered = false;
				continue;
			}
		}
		if (ms_since(&beat) < HEARTBEAT_MS)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &beat);
		r = vgenl_get_info(&g);
		if (r) {
			log_warn("veil family gone (%s): veil.ko unloaded? waiting for it",
				 strerror(-r));
			vgenl_close(&g);
			registered = false;
			s.said_missing = true;
			continue;
		}
		if (g.daemon_pid != (uint32_t)getpid()) {
			if (g.daemon_pid) {
				log_err("another key daemon (pid %u) has registered; exiting",
					g.daemon_pid);
				vgenl_close(&g);
				return 1;
			}
			log_warn("veil.ko has no key daemon registered (reloaded?); registering again");
			vgenl_close(&g);
			registered = false;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: veild [-c CONF] [-d] [-t]\n"
		"  -c CONF  configuration file (default " DEFAULT_CONF ")\n"
		"  -d       debug logging\n"
		"  -t       check the configuration and the TLS files, then exit\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = DEFAULT_CONF;
	struct veil_kmip_conf conf;
	struct vcache *cache = NULL;
	bool debug = false, test = false;
	char err[VCACHE_ERR_MAX];
	SSL_CTX *ctx;
	sigset_t set;
	int c, i, rc;

	while ((c = getopt(argc, argv, "c:dth")) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 't':
			test = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	veil_kmip_conf_defaults(&conf);
	if (veil_kmip_conf_load(&conf, conf_path, err, sizeof(err))) {
		fprintf(stderr, "veild: %s\n", err);
		return 2;
	}
	vlog_init(test ? VEIL_LOG_STDERR : conf.log, debug || conf.debug);
	if (veild_harden())
		return 1;
	signal(SIGPIPE, SIG_IGN);	/* a key manager closing mid-write */

	ctx = kmip_tls_ctx_new(&conf, err, sizeof(err));
	if (!ctx) {
		log_err("%s", err);
		return 2;
	}
	if (conf.cache.on) {
		cache = vcache_open(&conf.cache, err, sizeof(err));
		if (!cache) {
			log_err("offline key cache: %s", err);
			SSL_CTX_free(ctx);
			return 2;
		}
	}
	if (test) {
		printf("%s: ok\n", conf_path);
		vcache_close(cache);
		SSL_CTX_free(ctx);
		return 0;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* blocked before the workers start, so they inherit the mask */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig_fd < 0) {
		log_err("signalfd: %m");
		vcache_close(cache);
		SSL_CTX_free(ctx);
		return 1;
	}

	pool_set_cache(cache);
	rc = pool_start(&conf, ctx);
	if (rc) {
		log_err("cannot start %d workers: %s", conf.workers, strerror(-rc));
		close(sig_fd);
		vcache_close(cache);
		SSL_CTX_free(ctx);
		return 1;
	}
	for (i = 0; i < conf.nservers; i++)
		log_info("key manager %s:%s%s", conf.servers[i].host,
			 conf.servers[i].port, i ? " (fallback)" : "");
	log_info("started: %d workers, retry budget %d ms, key memory %s",
		 conf.workers, conf.retry_budget_ms, veil_secmem_kind());
	if (cache)
		log_info("offline key cache on: %s, entries kept %ld s, KEK from %s",
			 conf.cache.dir, conf.cache.ttl, conf.cache.lockbox);

	rc = run();

	pool_stop();
	vcache_close(cache);
	close(sig_fd);
	SSL_CTX_free(ctx);
	log_info("stopped");
	return rc;
}
