// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd: the trusted multi-tenant 9P2000.L server for guest VMs.
 *
 *   veil-fsd -c /etc/veil/veil-fsd.conf [-v] [-t] [--no-sandbox] [--expose DIR]
 *
 * Brings the parts up in order (config, listeners, control socket, then
 * the sandbox, before any connection thread exists) and down in
 * reverse; the main thread waits for listeners, the control
 * socket and signals (SIGHUP reloads, SIGTERM/SIGINT stop), and each
 * connection runs in a thread of its own.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "control.h"
#include "fsd.h"
#include "listen.h"
#include "sandbox.h"
#include "version.h"

#define MAX_EXPOSE	64

static const char *conf_path;

static void usage(FILE *f)
{
	fprintf(f, "usage: veil-fsd -c CONFIG [-v] [-t] [--no-sandbox] [--expose DIR]...\n"
		   "  -c, --config CONFIG  the access table (see veil-fsd(8))\n"
		   "  -t, --test           check the configuration and exit\n"
		   "  -v, --verbose        log each connection and request error\n"
		   "      --expose DIR     show DIR read-write inside the sandbox, so a\n"
		   "                       reload may add tenant roots or sockets below it\n"
		   "      --no-sandbox     run with every capability and the host's whole\n"
		   "                       file tree (not advised; see fsd-admin.md)\n"
		   "  -h, --help           this text\n"
		   "      --version        the release and interface versions\n");
}

/*
 * Every VM may hold max_fds host descriptors for its fids, plus one socket
 * per connection; the listeners, control socket and logs come on top.  If
 * that sum exceeds RLIMIT_NOFILE the process hits EMFILE before a VM's own
 * budget eviction ever runs, and every later open on its mounts fails.
 * So: raise the soft limit to the hard one, and warn when the budgets
 * still do not fit (checked again on every reload).
 */
static void fd_limit_check(const struct fsd_conf *c)
{
	unsigned long long need = conf_fds_needed(c);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		fsd_log(LOG_WARNING,
			"the VMs' fd budgets (max_fds + 2 * max_conns) need %llu descriptors but RLIMIT_NOFILE is %llu: raise LimitNOFILE or lower max_fds",
			need, (unsigned long long)rl.rlim_cur);
}

static int reload(char *err, size_t len)
{
	struct fsd_conf *c;
	int rc = sandbox_conf_load(conf_path, &c, err, len);

	if (rc) {
		fsd_log(LOG_ERR, "reload failed, keeping the old configuration: %s", err);
		return rc;
	}
	fd_limit_check(c);
	vm_state_reconf(c);
	conf_install(c);
	c = conf_get();
	if (listen_sync(c))
		fsd_log(LOG_WARNING, "reload: some listeners could not be opened");
	conf_put(c);
	fsd_log(LOG_INFO, "configuration reloaded from %s", conf_path);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_VERSION = 256, OPT_NO_SANDBOX, OPT_EXPOSE };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "expose", required_argument, NULL, OPT_EXPOSE },
		{ 0 }
	};
	struct pollfd pfd[4096 + 2];
	struct fsd_conf *conf;
	char err[512], *expose[MAX_EXPOSE];
	int opt, sfd, check_only = 0, sandbox = 1, rc = 1;
	size_t n_expose = 0;
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf_path = optarg; break;
		case 't': check_only = 1; break;
		case 'v': fsd_verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: veil_print_version(stdout, "veil-fsd"); return 0;
		case OPT_NO_SANDBOX: sandbox = 0; break;
		case OPT_EXPOSE:
			if (n_expose == MAX_EXPOSE) {
				fprintf(stderr, "veil-fsd: at most %d --expose directories\n", MAX_EXPOSE);
				return 2;
			}
			expose[n_expose++] = optarg;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (!conf_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	/*
	 * A 9P2000.L client applies its own umask to every mode it sends, so
	 * a created file gets exactly the mode the guest asked for; the
	 * service's umask (022 under systemd) must not strip more.  Our own
	 * files (sockets, sandbox mount points) are created with explicit modes.
	 */
	umask(0);
	if (conf_load(conf_path, &conf, err, sizeof(err))) {
		fsd_log(LOG_ERR, "%s", err);
		return 1;
	}
	if (check_only && sandbox && sandbox_precheck(conf, conf_path, err, sizeof(err))) {
		fsd_log(LOG_ERR, "%s", err);
		conf_free(conf);
		return 1;
	}
	if (check_only) {
		printf("%s: %zu VMs, configuration OK\n", conf_path, conf->n_vms);
		conf_free(conf);
		return 0;
	}
	fd_limit_check(conf);

	/* signals: handled in the main loop only */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fsd_log(LOG_ERR, "signalfd: %s", strerror(errno));
		goto out_conf;
	}

	conf_install(conf);
	conf = conf_get();
	if (listen_sync(conf) && !listen_pollfds(pfd, 1)) {
		fsd_log(LOG_ERR, "no listener could be opened");
		goto out_listen;
	}
	if (conf->control && (rc = control_open(conf->control))) {
		fsd_log(LOG_ERR, "control socket %s: %s", conf->control, strerror(-rc));
		rc = 1;
		goto out_listen;
	}
	/* still one thread: what the sandbox sets holds for every later one */
	if (sandbox && sandbox_enter(conf, conf_path, expose, n_expose, err, sizeof(err))) {
		fsd_log(LOG_ERR, "cannot enter the sandbox: %s (run as root; --no-sandbox turns it off)",
			err);
		rc = 1;
		goto out_control;
	}
	if (!sandbox)
		fsd_log(LOG_WARNING, "running without the sandbox (--no-sandbox)");
	conf_put(conf);
	conf = NULL;
	fsd_log(LOG_INFO, "ready");

	for (;;) {
		size_t n = 0, i;
		struct signalfd_siginfo si;

		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (control_fd() >= 0)
			pfd[n++] = (struct pollfd){ .fd = control_fd(), .events = POLLIN };
		n += listen_pollfds(pfd + n, sizeof(pfd) / sizeof(pfd[0]) - n);
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fsd_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(err, sizeof(err));
				continue;	/* the poll set may have changed */
			}
			fsd_log(LOG_INFO, "signal %u: stopping", si.ssi_signo);
			rc = 0;
			break;
		}
		for (i = 1; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (pfd[i].fd == control_fd())
				control_serve(reload);
			else
				listen_accept(pfd[i].fd);
			break;	/* a reload may have changed the poll set */
		}
	}

out_control:
	control_close();
out_listen:
	listen_close_all();
	close(sfd);
out_conf:
	conf_put(conf);
	/*
	 * Connection threads are detached and hold their own references;
	 * exiting ends them, and the guests see their connections close.
	 */
	return rc;
}
