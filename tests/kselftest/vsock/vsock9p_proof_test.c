// SPDX-License-Identifier: GPL-2.0
/*
 * The proof handshake of include/uapi/linux/veil.h, guest side.
 *
 * The host side is played by this test: a vsock listener that demands a
 * hello, sends a nonce, checks the HMAC-SHA256 (OpenSSL's, not the
 * kernel's, so both ends of the wire format are checked independently) and
 * on success relays the connection to diod over TCP, so a mount that
 * passes the proof is a working mount.  The guest kernel gets the secret
 * from veil-keyd-stub through veil.ko, as it would from veild.
 */
#include <endian.h>
#include <poll.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <linux/veil.h>

#include "kselftest_harness.h"
#include "vsock9p_util.h"

#define EXPORT	"/srv/v9t-proof"
#define MNT	"/mnt/v9t-proof"
#define PPORT	5660		/* the proof server (vsock) */
#define TPORT	15660		/* diod behind it (TCP) */
#define SPORT	5661		/* diod through plain socat, no proof */
#define STUB	"/veil/bin/veil-keyd-stub"

#define KEY_ID	"7665696c2d766d31"	/* "veil-vm1" */
#define SECRET	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define OTHER	"ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static int unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t i, n = strlen(hex) / 2;

	if (n > max)
		return -1;
	for (i = 0; i < n; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return (int)n;
}

/* ----------------------------------------------------- the host side --- */

struct proof_server {
	unsigned char secret[VEIL_PROOF_SECRET_MAX];
	int secret_len;			/* 0: "no secret for this VM" */
	unsigned int port;
};

static void relay(int a, int b)
{
	struct pollfd p[2] = { { .fd = a, .events = POLLIN },
			       { .fd = b, .events = POLLIN } };
	static char buf[65536];

	for (;;) {
		int i;

		if (poll(p, 2, -1) < 0)
			return;
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || v9t_write_all(p[!i].fd, buf, n))
				return;
		}
	}
}

static int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	return fd;
}

/* One connection: the handshake, then 9P relayed to diod. */
static void proof_conn(const struct proof_server *s, int fd, __u32 peer_cid)
{
	struct veil_proof_hello hello;
	struct veil_proof_nonce nonce;
	struct veil_proof_mac mac;
	struct veil_proof_result res;
	unsigned char want[32], msg[64];
	unsigned int want_len = sizeof(want);
	__u32 status, le;
	size_t off;
	int dfd;

	/* A server that requires proof closes a connection whose first
	 * bytes are not a hello.
	 */
	if (v9t_read_all(fd, &hello, sizeof(hello.magic)) ||
	    memcmp(hello.magic, "VEILHELO", 8))
		return;
	if (v9t_read_all(fd, (char *)&hello + 8, sizeof(hello) - 8) ||
	    le32toh(hello.version) != VEIL_PROOF_VERSION ||
	    !le16toh(hello.key_id_len) ||
	    le16toh(hello.key_id_len) > VEIL_KEY_ID_MAX)
		return;

	memcpy(nonce.magic, "VEILNONC", 8);
	if (getrandom(nonce.nonce, sizeof(nonce.nonce), 0) != sizeof(nonce.nonce))
		return;
	if (v9t_write_all(fd, &nonce, sizeof(nonce)))
		return;
	if (v9t_read_all(fd, &mac, sizeof(mac)) || memcmp(mac.magic, "VEILPROF", 8))
		return;

	/* label (without its NUL) || nonce || le32 guest CID || le32 port;
	 * the guest CID is the socket's peer, never the message's word.
	 */
	off = strlen(VEIL_PROOF_LABEL);
	memcpy(msg, VEIL_PROOF_LABEL, off);
	memcpy(msg + off, nonce.nonce, sizeof(nonce.nonce));
	off += sizeof(nonce.nonce);
	le = htole32(peer_cid);
	memcpy(msg + off, &le, 4);
	off += 4;
	le = htole32(s->port);
	memcpy(msg + off, &le, 4);
	off += 4;

	if (!s->secret_len)
		status = ENOKEY;
	else if (!HMAC(EVP_sha256(), s->secret, s->secret_len, msg, off,
		       want, &want_len) || want_len != sizeof(want))
		status = EIO;
	else
		status = CRYPTO_memcmp(want, mac.mac, sizeof(want)) ? EACCES : 0;

	memcpy(res.magic, "VEILRSLT", 8);
	res.status = htole32(status);
	if (v9t_write_all(fd, &res, sizeof(res)) || status)
		return;

	dfd = tcp_connect(TPORT);
	if (dfd < 0)
		return;
	relay(fd, dfd);
	close(dfd);
}

static pid_t start_proof_server(const struct proof_server *s)
{
	int lfd = v9t_vsock_listen(s->port);
	pid_t pid;

	if (lfd < 0)
		return -1;
	pid = fork();
	if (pid) {
		close(lfd);
		return pid;
	}
	signal(SIGCHLD, SIG_IGN);	/* no zombies from the handlers */
	for (;;) {
		struct sockaddr_vm peer;
		socklen_t len = sizeof(peer);
		int fd = accept(lfd, (struct sockaddr *)&peer, &len);

		if (fd < 0)
			_exit(1);
		if (!fork()) {
			close(lfd);
			proof_conn(s, fd, peer.svm_cid);
			_exit(0);
		}
		close(fd);
	}
}

/* veil-keyd-stub with args, once it has registered with veil.ko. */
static pid_t start_keyd(const char *arg1, const char *arg2)
{
	char *argv[] = { STUB, "serve", (char *)arg1, (char *)arg2, NULL };
	double end;
	pid_t pid;

	unlink("/tmp/keyd.log");
	pid = v9t_spawn(argv, "/tmp/keyd.log");
	for (end = v9t_now() + 10; pid > 0 && v9t_now() < end; usleep(100000))
		if (!v9t_run("grep -q registered /tmp/keyd.log 2>/dev/null"))
			return pid;
	v9t_stop(&pid);
	return -1;
}

/* ------------------------------------------------------------- tests --- */

FIXTURE(proof) {
	pid_t diod, server, keyd, socat;
};

FIXTURE_VARIANT(proof) {
	const char *keyd_arg;	/* NULL: no key daemon at all */
	const char *srv_secret;	/* hex; "" = the server has none */
	bool keyid;		/* mount with keyid= */
	bool plain;		/* mount diod through socat: no proof */
	const char *extra;	/* more mount options */
	int want;		/* errno of mount(2) */
	const char *log;	/* kernel log line */
};

FIXTURE_VARIANT_ADD(proof, right_secret) {
	.keyd_arg = "--key-id=" KEY_ID "=" SECRET, .srv_secret = SECRET,
	.keyid = true, .want = 0,
	.log = "9pnet_vsock: 1:5660: proof accepted",
};

FIXTURE_VARIANT_ADD(proof, wrong_secret) {
	.keyd_arg = "--key-id=" KEY_ID "=" OTHER, .srv_secret = SECRET,
	.keyid = true, .want = EACCES,
	.log = "refused our proof (status 13: wrong secret)",
};

FIXTURE_VARIANT_ADD(proof, server_has_no_secret) {
	.keyd_arg = "--key-id=" KEY_ID "=" SECRET, .srv_secret = "",
	.keyid = true, .want = ENOKEY,
	.log = "it has no secret for this VM",
};

FIXTURE_VARIANT_ADD(proof, key_manager_refuses) {
	.keyd_arg = "--fail=" KEY_ID "=EKEYREJECTED:host not authorised",
	.srv_secret = SECRET, .keyid = true, .want = EKEYREJECTED,
	.log = "the key daemon refused the secret for the proof: -129, host not authorised",
};

FIXTURE_VARIANT_ADD(proof, unknown_key_id) {
	.keyd_arg = "--key-id=aabbccdd=" SECRET, .srv_secret = SECRET,
	.keyid = true, .want = ENOKEY,
	.log = "the key daemon refused the secret for the proof: -126",
};

FIXTURE_VARIANT_ADD(proof, no_key_daemon) {
	.keyd_arg = NULL, .srv_secret = SECRET, .keyid = true,
	.extra = "keytimeout=2", .want = ETIMEDOUT,
	.log = "no secret for the proof from the key daemon within 2 s",
};

FIXTURE_VARIANT_ADD(proof, missing_proof) {
	.keyd_arg = "--key-id=" KEY_ID "=" SECRET, .srv_secret = SECRET,
	.keyid = false, .want = -1,
	.log = "9pnet_vsock: 1:5660: connection lost",
};

FIXTURE_VARIANT_ADD(proof, server_without_proof) {
	.keyd_arg = "--key-id=" KEY_ID "=" SECRET, .srv_secret = SECRET,
	.keyid = true, .plain = true, .want = -1,
	/* diod either drops the "frame" or waits for the rest of it */
	.log = "proof handshake: ",
};

FIXTURE_SETUP(proof)
{
	struct proof_server s = { .port = PPORT };

	if (getuid())
		SKIP(return, "needs root");
	if (access(V9T_DIOD, X_OK) || access(V9T_SOCAT, X_OK) ||
	    access(STUB, X_OK))
		SKIP(return, "needs diod, socat and veil-keyd-stub in the guest");
	ASSERT_EQ(0, v9t_run("modprobe 9pnet_vsock"));
	v9t_run("umount -l " MNT " 2>/dev/null; rm -rf " EXPORT);
	ASSERT_EQ(0, v9t_run("mkdir -p " EXPORT));
	ASSERT_EQ(0, v9t_run("echo proved > " EXPORT "/hello"));

	self->diod = v9t_start_diod(EXPORT, TPORT);
	ASSERT_LT(0, self->diod);
	s.secret_len = unhex(variant->srv_secret, s.secret, sizeof(s.secret));
	ASSERT_LE(0, s.secret_len);
	self->server = start_proof_server(&s);
	ASSERT_LT(0, self->server);
	if (variant->plain) {
		self->socat = v9t_start_socat(SPORT, TPORT);
		ASSERT_LT(0, self->socat);
	}
	if (variant->keyd_arg) {
		self->keyd = start_keyd(variant->keyd_arg, NULL);
		ASSERT_LT(0, self->keyd);
	}
	v9t_klog_clear();
}

FIXTURE_TEARDOWN(proof)
{
	if (v9t_mounted(MNT))
		umount2(MNT, MNT_DETACH);
	v9t_stop(&self->keyd);
	v9t_stop(&self->socat);
	v9t_stop(&self->server);
	v9t_stop(&self->diod);
	v9t_run("rm -rf " EXPORT);
}

TEST_F_TIMEOUT(proof, mount, 60)
{
	char extra[128] = "", buf[16] = {};
	int err, fd;

	if (variant->keyid)
		snprintf(extra, sizeof(extra), "keyid=%s%s%s", KEY_ID,
			 variant->extra ? "," : "",
			 variant->extra ? variant->extra : "");
	else if (variant->extra)
		snprintf(extra, sizeof(extra), "%s", variant->extra);

	err = v9t_mount(MNT, variant->plain ? SPORT : PPORT, EXPORT,
			extra[0] ? extra : NULL);
	TH_LOG("mount: %s", err ? strerror(err) : "ok");
	if (variant->want >= 0) {
		ASSERT_EQ(variant->want, err);
	} else {
		ASSERT_NE(0, err);
	}
	ASSERT_TRUE(v9t_klog_has(variant->log));
	if (err) {
		ASSERT_FALSE(v9t_mounted(MNT));
		return;
	}

	/* A proved mount is a working mount. */
	fd = open(MNT "/hello", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(7, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "proved\n", 7));
	close(fd);
	ASSERT_EQ(0, v9t_run("grep -q 'keyid=" KEY_ID "' /proc/mounts"));
	ASSERT_EQ(0, umount(MNT));
}

TEST_HARNESS_MAIN
