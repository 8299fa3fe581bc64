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
 * One key daemon at a time: veil.ko hands every request to the daemon
 * that registered last.  Before registering, veild asks the family whether
 * a daemon is registered; one is only while its netlink socket is open, so
 * it is alive.  veild then refuses to displace it (exit 3, naming its pid)
 * unless started with --takeover; a daemon that finds itself displaced
 * exits 1.
 *
 * Exit status: 0 on SIGTERM/SIGINT, 1 on a runtime failure, 2 on a usage or
 * configuration error, 3 when another live veild is registered (systemd
 * restarts on neither 2 nor 3: see veild.service).
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
#include "version.h"

#define DEFAULT_CONF	"/etc/veil/veild.conf"
#define EXIT_OTHER_DAEMON	3
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
	bool takeover;			/* displace a registered daemon */
	bool other_daemon;		/* refused: another one is registered */
};

static bool takeover;

/*
 * Open, check and register.  0 registered; 1 retry later; -1 fatal
 * (s->other_daemon: another daemon is registered and we may not take over).
 */
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
	if (!r && g->daemon_pid && g->daemon_pid != (uint32_t)getpid()) {
		if (!s->takeover) {
			log_err("another key daemon (pid %u) is registered with veil.ko and running: not taking over; stop it first, or start veild with --takeover to replace it",
				g->daemon_pid);
			s->other_daemon = true;
			vgenl_close(g);
			return -1;
		}
		log_warn("taking over from the key daemon registered with veil.ko (pid %u), as --takeover asks",
			 g->daemon_pid);
	}
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
	struct reg_state s = { .backoff = BACKOFF_MIN_MS, .takeover = takeover };
	struct timespec beat;
	struct vgenl g;
	bool registered = false;
	int r;

	for (;;) {
		struct pollfd p[2];

		if (!registered) {
			r = try_register(&g, &s);
			if (r < 0)
				return s.other_daemon ? EXIT_OTHER_DAEMON : 1;
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
		"usage: veild [-c CONF] [-d] [-t | --list-files] [--takeover]\n"
		"  -c, --config CONF  configuration file (default " DEFAULT_CONF ")\n"
		"  -d, --debug        debug logging\n"
		"  -t, --test         check the configuration and the TLS files, then exit\n"
		"      --list-files   as -t, then print the TLS files it names, one a line\n"
		"      --takeover     replace a key daemon already registered with veil.ko\n"
		"  -h, --help         this help\n"
		"      --version      release, kernel ABI and metadata format versions\n"
		"exit status: 0 stopped by SIGTERM/SIGINT (or -t passed), 1 runtime failure,\n"
		"2 usage or configuration error, 3 another veild is registered. See veild(8).\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = DEFAULT_CONF;
	struct veil_kmip_conf conf;
	struct vcache *cache = NULL;
	bool debug = false, test = false, list_files = false;
	char err[VCACHE_ERR_MAX];
	SSL_CTX *ctx;
	sigset_t set;
	int c, i, rc;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "test", no_argument, NULL, 't' },
		{ "takeover", no_argument, NULL, 'T' },
		{ "list-files", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "c:dth", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			takeover = true;
			break;
		case 'L':
			list_files = test = true;
			break;
		case 'V':
			veil_print_version(stdout, "veild");
			return 0;
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
	if (list_files) {
		/* what a copy of this configuration needs (the initramfs hook) */
		printf("%s\n%s\n%s\n", conf.ca, conf.cert, conf.key);
	} else if (test) {
		printf("%s: ok\n", conf_path);
	}
	if (test) {
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
