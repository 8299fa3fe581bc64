// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl setup / renew: enrol this host with the key manager.
 *
 *   setup --server H[:P] --ca CA [--cn NAME]   new key pair + CSR; the CA
 *         signs the CSR; then setup --install-cert SIGNED.pem
 *   setup ... --cert C --key K                 an identity made elsewhere
 *   renew [--cn NAME]                          new key pair + CSR for the
 *         same identity; then setup --install-cert SIGNED.pem
 *
 * Files, in /etc/veil (--etc): ca.pem, host.pem, host-key.pem (0600),
 * host.csr, and veild.conf naming them (read by veild and by encrypt's
 * key provisioning).  A renewal keeps the old key and certificate in use
 * until --install-cert swaps both.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "veilctl.h"

extern char **environ;

struct paths {
	char dir[2048];
	char ca[2100], cert[2100], key[2100], csr[2100], conf[2100];
	char newkey[2100], newcert[2100];
};

static void mkpaths(struct paths *p, const char *etc)
{
	snprintf(p->dir, sizeof(p->dir), "%s", etc);
	snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", etc);
	snprintf(p->cert, sizeof(p->cert), "%s/host.pem", etc);
	snprintf(p->key, sizeof(p->key), "%s/host-key.pem", etc);
	snprintf(p->csr, sizeof(p->csr), "%s/host.csr", etc);
	snprintf(p->conf, sizeof(p->conf), "%s/" VC_CONF_NAME, etc);
	snprintf(p->newkey, sizeof(p->newkey), "%s/host-key.pem.new", etc);
	snprintf(p->newcert, sizeof(p->newcert), "%s/host.pem.new", etc);
}

static int copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[8192];
	ssize_t n;
	int in, out, r = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			r = -EIO;
			break;
		}
	if (n < 0)
		r = -errno;
	if (fchmod(out, mode) || fsync(out))
		r = r ? r : -errno;
	close(in);
	if (close(out))
		r = r ? r : -errno;
	return r;
}

static int write_conf(const struct paths *p, const char *server,
		      const char *server_name)
{
	char tmp[2200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", p->conf);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# veil key daemon configuration, written by veilctl setup.\n"
		"# See veild(8) / docs/admin-guide.md.\n"
		"server = %s\nca = %s\ncert = %s\nkey = %s\n",
		server, p->ca, p->cert, p->key);
	if (server_name)
		fprintf(f, "server_name = %s\n", server_name);
	if (fclose(f) || rename(tmp, p->conf))
		return -errno;
	return 0;
}

static int run_prog(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void enable_units(void)
{
	char *const en[] = { "systemctl", "enable", "--now", "veild.service", NULL };
	char *const rl[] = { "systemctl", "daemon-reload", NULL };

	if (access("/run/systemd/system", F_OK)) {
		vc_info("systemd is not running: start veild yourself (see veilctl(8))");
		return;
	}
	run_prog(rl);
	if (run_prog(en))
		vc_warn("could not enable veild.service: is veil installed (make install)?");
	else
		vc_info("veild.service enabled and started");
}

static int install_cert(const struct paths *p, const char *cert)
{
	bool renewal = !access(p->newkey, F_OK);
	const char *key = renewal ? p->newkey : p->key;
	char why[512];
	long days;
	int r;

	if (vc_cert_check_pair(cert, key, why, sizeof(why))) {
		vc_err("refusing the certificate: %s", why);
		return VC_ECERT;
	}
	r = copy_file(cert, p->newcert, 0644);
	if (r) {
		vc_err("%s: %s", p->newcert, strerror(-r));
		return VC_EFAIL;
	}
	/* Key first: a key without its certificate is the recoverable half. */
	if ((renewal && rename(p->newkey, p->key)) ||
	    rename(p->newcert, p->cert)) {
		vc_err("installing %s: %s", p->cert, strerror(errno));
		return VC_EFAIL;
	}
	unlink(p->csr);
	if (!vc_cert_days_left(p->cert, &days, NULL, 0))
		vc_info("installed %s (%ld days left)%s", p->cert, days,
			renewal ? "; restart veild to use it" : "");
	return VC_OK;
}

static void default_cn(char *cn, size_t size)
{
	if (gethostname(cn, size))
		snprintf(cn, size, "veil-host");
	cn[size - 1] = '\0';
}

int cmd_setup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cn", required_argument, NULL, 'n' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'S' },
		{ "etc", required_argument, NULL, 'e' },
		{ "no-systemd", no_argument, NULL, 'N' },
		{ "install-cert", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *ca = NULL, *cn = NULL, *cert = NULL;
	const char *key = NULL, *server_name = NULL, *install = NULL;
	const char *etc = VC_DEFAULT_ETC;
	bool systemd = true, renewal = false;
	char host[256], why[512], absetc[PATH_MAX];
	struct paths p;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'a': ca = optarg; break;
		case 'n': cn = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'S': server_name = optarg; break;
		case 'e': etc = optarg; break;
		case 'N': systemd = false; break;
		case 'i': install = optarg; break;
		default: return vc_usage("setup");
		}
	}
	if (optind != argc)
		return vc_usage("setup");
	mkpaths(&p, etc);
	if (install) {
		if (server || ca || cert || key || cn)
			return vc_usage("setup");
		return install_cert(&p, install);
	}
	if (!server || !ca || (!cert != !key) || (cert && cn)) {
		vc_err("setup needs --server and --ca, and either --cert with --key or neither");
		return vc_usage("setup");
	}
	if (mkdir(etc, 0755) && errno != EEXIST) {
		vc_err("%s: %s", etc, strerror(errno));
		return VC_EFAIL;
	}
	/* veild.conf names files by absolute path. */
	if (!realpath(etc, absetc)) {
		vc_err("%s: %s", etc, strerror(errno));
		return VC_EFAIL;
	}
	mkpaths(&p, absetc);
	r = copy_file(ca, p.ca, 0644);
	if (r) {
		vc_err("CA %s: %s", ca, strerror(-r));
		return VC_ECERT;
	}
	if (cert) {
		if (vc_cert_check_pair(cert, key, why, sizeof(why))) {
			vc_err("refusing: %s", why);
			return VC_ECERT;
		}
		if (copy_file(key, p.key, 0600) || copy_file(cert, p.cert, 0644)) {
			vc_err("cannot install the host identity into %s", etc);
			return VC_EFAIL;
		}
		unlink(p.newkey);	/* no renewal pending for this pair */
	} else {
		if (!cn) {
			default_cn(host, sizeof(host));
			cn = host;
		}
		/*
		 * Enrolled already (setup run again, say for a new key manager
		 * address): the new key waits beside the one in use, as in a
		 * renewal, so that host.pem keeps its key until --install-cert.
		 */
		renewal = !access(p.cert, F_OK);
		if (!renewal)
			unlink(p.newkey);	/* a stale one would be taken for ours */
		r = vc_cert_make_csr(renewal ? p.newkey : p.key, p.csr, cn);
		if (r) {
			vc_err("cannot make the key pair and request: %s",
			       strerror(-r));
			return VC_EFAIL;
		}
		if (renewal)
			vc_info("%s stays in use with its key until the new certificate is installed",
				p.cert);
	}
	r = write_conf(&p, server, server_name);
	if (r) {
		vc_err("%s: %s", p.conf, strerror(-r));
		return VC_EFAIL;
	}
	vc_info("wrote %s (key manager %s)", p.conf, server);
	if (!cert) {
		vc_info("certificate request for CN=%s: %s", cn, p.csr);
		vc_info("have your CA sign it (clientAuth), then run: veilctl setup --install-cert SIGNED.pem%s%s",
			strcmp(etc, VC_DEFAULT_ETC) ? " --etc " : "",
			strcmp(etc, VC_DEFAULT_ETC) ? etc : "");
		return VC_OK;
	}
	if (systemd)
		enable_units();
	return VC_OK;
}

int cmd_renew(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cn", required_argument, NULL, 'n' },
		{ "etc", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *etc = VC_DEFAULT_ETC, *cn = NULL;
	char old_cn[256];
	struct paths p;
	long days;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			cn = optarg;
		else if (c == 'e')
			etc = optarg;
		else
			return vc_usage("renew");
	}
	if (optind != argc)
		return vc_usage("renew");
	mkpaths(&p, etc);
	if (!cn) {
		/* The key manager knows the host by its CN: keep it. */
		if (vc_cert_cn(p.cert, old_cn, sizeof(old_cn))) {
			vc_err("%s: no current certificate to take the name from; give --cn",
			       p.cert);
			return VC_ECERT;
		}
		cn = old_cn;
	}
	r = vc_cert_make_csr(p.newkey, p.csr, cn);
	if (r) {
		vc_err("cannot make the key pair and request: %s", strerror(-r));
		return VC_EFAIL;
	}
	if (!vc_cert_days_left(p.cert, &days, NULL, 0))
		vc_info("current certificate: %ld days left (stays in use until the new one is installed)",
			days);
	vc_info("certificate request for CN=%s: %s", cn, p.csr);
	vc_info("have your CA sign it (clientAuth), then run: veilctl setup --install-cert SIGNED.pem%s%s",
		strcmp(etc, VC_DEFAULT_ETC) ? " --etc " : "",
		strcmp(etc, VC_DEFAULT_ETC) ? etc : "");
	return VC_OK;
}
