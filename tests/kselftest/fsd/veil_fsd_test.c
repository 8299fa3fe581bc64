// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veil-fsd against the kernel's own v9fs client, inside the QEMU guest.
 *
 * Each test starts its own veil-fsd (/veil/bin/veil-fsd) with the config
 * below: every VM is a hybrid-vsock unix socket /run/fsd/vmN.sock_564
 * (two sockets = two VMs), mounted with trans=unix.  vm1 is read-write,
 * vm2 read-only, vm3 shaped, vm4 requires the proof handshake.  The vsock
 * test mounts over vsock loopback (peer CID 1) with 9pnet_vsock.ko and is
 * skipped where that module is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <openssl/hmac.h>

#include <linux/veil.h>

#include "kselftest_harness.h"
#include "../veil_ksft.h"

#define FSD	"/veil/bin/veil-fsd"
#define BASE	"/tmp/fsd"
#define RUN	"/run/fsd"
#define CTL	RUN "/ctl"
#define SECRET	"0123456789abcdef0123456789abcdef"

static void write_conf(const char *vm1_access, const char *vm1_extra)
{
	FILE *f = fopen(BASE "/fsd.conf", "w");

	/* loopback_cid: the guest talks to itself, so every vsock peer is CID 1 */
	fprintf(f, "vsock = yes\nport = 564\ncontrol = " CTL "\nmsize_max = 512K\n"
		"loopback_cid = yes\n"
		"[vm vm1]\nuds = " RUN "/vm1.sock\ncid = 1\nroot = " BASE "/t1\naccess = %s\n%s\n"
		"[vm vm2]\nuds = " RUN "/vm2.sock\nroot = " BASE "/t2\naccess = ro\n"
		"[vm vm3]\nuds = " RUN "/vm3.sock\nroot = " BASE "/t3\naccess = rw\n"
		"bytes_avg = 1M\nbytes_burst = 512K\nops_avg = 200\nops_burst = 20\n"
		"[vm vm4]\nuds = " RUN "/vm4.sock\ncid = 42\nroot = " BASE "/t4\naccess = rw\n"
		"require_proof = yes\nsecret_file = " BASE "/vm4.secret\nkey_id = 0a0b\n",
		vm1_access, vm1_extra);
	fclose(f);
}

static pid_t start_fsd(int nofile)
{
	pid_t pid;
	int i;

	/* a killed server leaves its sockets behind: wait for the new ones */
	sh("rm -f " RUN "/*_564 " CTL);
	pid = fork();
	if (!pid) {
		struct rlimit rl = { nofile, nofile };
		int fd = open(BASE "/fsd.log", O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDWR);

		if (nofile)
			setrlimit(RLIMIT_NOFILE, &rl);
		/* never hold the harness's output pipe open */
		dup2(null, 0);
		dup2(null, 1);
		dup2(fd, 2);
		close(fd);
		close(null);
		execl(FSD, FSD, "-c", BASE "/fsd.conf", "-v", NULL);
		_exit(127);
	}
	sh("echo %d > " RUN "/../fsd.pid", pid);
	for (i = 0; i < 100; i++) {
		if (!access(RUN "/vm4.sock_564", F_OK) && !access(CTL, F_OK))
			return pid;
		usleep(50000);
	}
	return -1;
}

static int mount9p(int vm, const char *extra)
{
	char src[64], dst[64], opts[256];

	snprintf(src, sizeof(src), RUN "/vm%d.sock_564", vm);
	snprintf(dst, sizeof(dst), "/mnt/v%d", vm);
	snprintf(opts, sizeof(opts), "trans=unix,version=9p2000.L,msize=262144%s%s",
		 extra ? "," : "", extra ? extra : "");
	mkdir(dst, 0755);
	return mount(src, dst, "9p", 0, opts) ? -errno : 0;
}

/* Send a control command, return the reply (static). */
static const char *control(const char *cmd)
{
	static char buf[4096];
	struct sockaddr_un a = { .sun_family = AF_UNIX, .sun_path = CTL };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ssize_t n, off = 0;

	buf[0] = 0;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return buf;
	}
	if (write(fd, cmd, strlen(cmd)) < 0)
		return buf;
	while ((n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
		off += n;
	buf[off] = 0;
	close(fd);
	return buf;
}

/* requests and bytes served to vm so far */
static void vm_counters(const char *vm, unsigned long long *req, unsigned long long *bytes)
{
	const char *s = control("status\n");
	char key[64];

	*req = *bytes = 0;
	snprintf(key, sizeof(key), "vm %s ", vm);
	s = strstr(s, key);
	if (s)
		sscanf(s, "vm %*s conns %*d fds %*d requests %llu bytes %llu", req, bytes);
}

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write(fd, data, strlen(data)) == (ssize_t)strlen(data) ? 0 : -errno;
	close(fd);
	return rc;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

FIXTURE(fsd) {
	pid_t pid;
};

FIXTURE_SETUP(fsd)
{
	/* what a test killed by the harness's timeout left behind */
	sh("modprobe 9pnet_fd; modprobe 9p; "
	   "test -f /run/fsd.pid && kill -9 $(cat /run/fsd.pid) 2>/dev/null; "
	   "umount -l /mnt/v1 /mnt/v2 /mnt/v3 /mnt/v4 2>/dev/null; rm -rf " BASE " " RUN);
	ASSERT_EQ(0, sh("mkdir -p " BASE "/t1 " BASE "/t2 " BASE "/t3 " BASE "/t4 " RUN " && "
			"echo TOPSECRET > " BASE "/secret && echo one > " BASE "/t1/one && "
			"echo two > " BASE "/t2/two && mkdir " BASE "/t2/dir && "
			"ln -s ../secret " BASE "/t1/rel && ln -s " BASE "/secret " BASE "/t1/abs && "
			"printf " SECRET " > " BASE "/vm4.secret && chmod 600 " BASE "/vm4.secret && "
			"chmod 700 " BASE));	/* the tenant roots' closed parent */
	write_conf("rw", "");
	self->pid = start_fsd(0);
	ASSERT_LT(0, self->pid) TH_LOG("veil-fsd did not come up: %s", BASE "/fsd.log");
}

FIXTURE_TEARDOWN(fsd)
{
	sh("umount /mnt/v1 /mnt/v2 /mnt/v3 /mnt/v4 2>/dev/null; "
	   "umount -l /mnt/v1 /mnt/v2 /mnt/v3 /mnt/v4 2>/dev/null");
	if (self->pid > 0) {
		kill(self->pid, SIGTERM);
		waitpid(self->pid, NULL, 0);
	}
	if (sh("grep -q 'Too many open files' " BASE "/fsd.log") == 0)
		TH_LOG("veil-fsd hit EMFILE");
}

TEST_F_TIMEOUT(fsd, basic_ops, 60)
{
	char buf[256];
	struct stat st;
	struct statfs sf, hf;
	int fd;

	ASSERT_EQ(0, mount9p(1, NULL));
	ASSERT_EQ(4, read_file("/mnt/v1/one", buf, sizeof(buf)));
	EXPECT_STREQ("one\n", buf);
	ASSERT_EQ(0, write_file("/mnt/v1/new", "hello world"));
	EXPECT_EQ(11, read_file(BASE "/t1/new", buf, sizeof(buf)));
	EXPECT_EQ(0, rename("/mnt/v1/new", "/mnt/v1/renamed"));
	EXPECT_EQ(-ENOENT, read_file("/mnt/v1/new", buf, sizeof(buf)));
	EXPECT_EQ(0, mkdir("/mnt/v1/d", 0750));
	EXPECT_EQ(0, rename("/mnt/v1/renamed", "/mnt/v1/d/moved"));
	EXPECT_EQ(0, stat(BASE "/t1/d/moved", &st));
	EXPECT_EQ(0, symlink("d/moved", "/mnt/v1/link"));
	EXPECT_EQ(7, readlink("/mnt/v1/link", buf, sizeof(buf)));
	EXPECT_EQ(11, read_file("/mnt/v1/link", buf, sizeof(buf)));
	EXPECT_EQ(0, link("/mnt/v1/d/moved", "/mnt/v1/hard"));
	EXPECT_EQ(0, stat("/mnt/v1/hard", &st));
	EXPECT_EQ(2, st.st_nlink);
	EXPECT_EQ(0, chmod("/mnt/v1/hard", 0600));
	EXPECT_EQ(0, chown("/mnt/v1/hard", 1234, 5678));
	EXPECT_EQ(0, stat(BASE "/t1/hard", &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(1234, st.st_uid);
	EXPECT_EQ(5678, st.st_gid);
	EXPECT_EQ(0, truncate("/mnt/v1/hard", 5));
	EXPECT_EQ(5, read_file("/mnt/v1/hard", buf, sizeof(buf)));
	fd = open("/mnt/v1/hard", O_WRONLY | O_APPEND);
	ASSERT_LE(0, fd);
	EXPECT_EQ(3, write(fd, "!!!", 3));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, fdatasync(fd));
	close(fd);
	EXPECT_EQ(8, read_file(BASE "/t1/hard", buf, sizeof(buf)));
	EXPECT_EQ(0, statfs("/mnt/v1", &sf));
	EXPECT_LT(0, sf.f_blocks);
	EXPECT_EQ(0, statfs(BASE "/t1", &hf));
	EXPECT_EQ(hf.f_type, sf.f_type);	/* the backend's, passed on */
	EXPECT_EQ(hf.f_blocks, sf.f_blocks);
	EXPECT_EQ(0, unlink("/mnt/v1/hard"));
	EXPECT_EQ(0, unlink("/mnt/v1/link"));
	EXPECT_EQ(-1, rmdir("/mnt/v1/d"));
	EXPECT_EQ(ENOTEMPTY, errno);
	EXPECT_EQ(0, unlink("/mnt/v1/d/moved"));
	EXPECT_EQ(0, rmdir("/mnt/v1/d"));
	EXPECT_NE(0, stat(BASE "/t1/d", &st));
	/* open, unlink, fstat and read still work */
	ASSERT_EQ(0, write_file("/mnt/v1/tmp", "still here"));
	fd = open("/mnt/v1/tmp", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, unlink("/mnt/v1/tmp"));
	EXPECT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(10, st.st_size);
	EXPECT_EQ(10, pread(fd, buf, sizeof(buf), 0));
	close(fd);
}

TEST_F_TIMEOUT(fsd, large_dir_and_file, 120)
{
	struct dirent *d;
	DIR *dir;
	int n = 0;

	ASSERT_EQ(0, sh("mkdir " BASE "/t1/big && cd " BASE "/t1/big && "
			"for i in $(seq 1 2000); do : > file-with-a-longish-name-$i; done"));
	ASSERT_EQ(0, mount9p(1, NULL));
	dir = opendir("/mnt/v1/big");
	ASSERT_NE(NULL, dir);
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	EXPECT_EQ(2000, n);
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=" BASE "/src bs=1M count=16 2>/dev/null && "
			"cp " BASE "/src /mnt/v1/large && cmp " BASE "/src " BASE "/t1/large && "
			"cmp " BASE "/src /mnt/v1/large"));
}

TEST_F_TIMEOUT(fsd, concurrent_writers, 60)
{
	int i;

	ASSERT_EQ(0, mount9p(1, NULL));
	/* 4 writers, each its own 1 MiB region of one file, plus its own file */
	for (i = 0; i < 4; i++)
		if (!fork())
			_exit(sh("dd if=/dev/zero bs=64k count=16 2>/dev/null | tr '\\0' '%c' | "
				 "dd of=/mnt/v1/shared bs=64k seek=%d conv=notrunc 2>/dev/null && "
				 "dd if=/dev/zero of=/mnt/v1/own%d bs=64k count=16 2>/dev/null",
				 'a' + i, 16 * i, i));
	for (i = 0; i < 4; i++) {
		int st;

		wait(&st);
		EXPECT_EQ(0, WEXITSTATUS(st));
	}
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, sh("dd if=" BASE "/t1/shared bs=64k skip=%d count=16 2>/dev/null | "
				"tr -d '%c' | wc -c | grep -qx 0", 16 * i, 'a' + i));
	EXPECT_EQ(0, sh("test $(stat -c %%s " BASE "/t1/own3) = 1048576"));
}

TEST_F_TIMEOUT(fsd, isolation_and_escapes, 60)
{
	char buf[256];

	ASSERT_EQ(0, mount9p(1, NULL));
	ASSERT_EQ(0, mount9p(2, NULL));
	/* each VM sees its own tenant only */
	EXPECT_EQ(0, access("/mnt/v1/one", F_OK));
	EXPECT_NE(0, access("/mnt/v1/two", F_OK));
	EXPECT_EQ(0, access("/mnt/v2/two", F_OK));
	EXPECT_NE(0, access("/mnt/v2/one", F_OK));
	/* ".." at the root of the mount is the mount's own business */
	EXPECT_EQ(0, sh("ls -a /mnt/v1/../v1/one >/dev/null"));
	/* the host-relative link resolves in the guest, never on the host */
	EXPECT_GT(0, read_file("/mnt/v1/rel", buf, sizeof(buf)));
	/* no device nodes, FIFOs or sockets on the host */
	EXPECT_NE(0, mknod("/mnt/v1/null", S_IFCHR | 0666, makedev(1, 3)));
	EXPECT_EQ(EPERM, errno);
	EXPECT_NE(0, mkfifo("/mnt/v1/fifo", 0666));
	EXPECT_EQ(EPERM, errno);
	/* across tenants: different mounts */
	EXPECT_NE(0, link("/mnt/v1/one", "/mnt/v2/one"));
	EXPECT_NE(0, rename("/mnt/v1/one", "/mnt/v2/one"));
	/*
	 * The secret outside never shows up through either mount.  (The
	 * absolute link "abs" is followed by the guest in the guest's own
	 * namespace -- which in this test is the same machine -- so only
	 * files, not links, are searched.)
	 */
	EXPECT_NE(0, sh("find /mnt/v1 /mnt/v2 -type f | xargs grep -l TOPSECRET"));
	EXPECT_NE(0, sh("grep -qs TOPSECRET /mnt/v1/rel"));
	EXPECT_EQ(0, access(BASE "/t1/one", F_OK));
}

/* a write path on a read-only tenant: refused with EROFS or EACCES */
static void ro_check(struct __test_metadata *_metadata, int rc, const char *what)
{
	int e = rc < -1 ? -rc : errno;

	EXPECT_NE(0, rc);
	EXPECT_TRUE(e == EROFS || e == EACCES) {
		TH_LOG("%s: %s", what, strerror(e));
	}
}

TEST_F(fsd, readonly_tenant)
{
	int fd;

	ASSERT_EQ(0, mount9p(2, NULL));
	fd = open("/mnt/v2/two", O_WRONLY);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EROFS, errno);
	fd = open("/mnt/v2/two", O_RDONLY | O_TRUNC);
	EXPECT_EQ(-1, fd);
#define RO(call) ro_check(_metadata, (errno = 0, (call)), #call)
	RO(write_file("/mnt/v2/new", "x"));
	RO(mkdir("/mnt/v2/newdir", 0755));
	RO(rmdir("/mnt/v2/dir"));
	RO(unlink("/mnt/v2/two"));
	RO(rename("/mnt/v2/two", "/mnt/v2/three"));
	RO(symlink("two", "/mnt/v2/sym"));
	RO(link("/mnt/v2/two", "/mnt/v2/hard"));
	RO(chmod("/mnt/v2/two", 0600));
	RO(chown("/mnt/v2/two", 1, 1));
	RO(truncate("/mnt/v2/two", 0));
	RO(mknod("/mnt/v2/reg", S_IFREG | 0644, 0));
	EXPECT_EQ(0, sh("grep -qx two /mnt/v2/two"));
	EXPECT_EQ(0, sh("test $(cat " BASE "/t2/two) = two && test ! -e " BASE "/t2/new"));
}

TEST_F_TIMEOUT(fsd, shaping, 60)
{
	unsigned long long r0, b0, r1, b1, r2, b2, rr1, bb1;
	double t0, t1, t2, fast, rate;

	ASSERT_EQ(0, sh("dd if=/dev/zero of=" BASE "/t3/f bs=1M count=4 2>/dev/null && "
			"cp " BASE "/t3/f " BASE "/t1/f"));
	ASSERT_EQ(0, mount9p(3, NULL));
	ASSERT_EQ(0, mount9p(1, NULL));
	/* bytes: 4 MiB at 1 MiB/s with a 512 KiB burst */
	vm_counters("vm3", &r0, &b0);
	t0 = now_s();
	ASSERT_EQ(0, sh("dd if=/mnt/v3/f of=/dev/null bs=64k 2>/dev/null"));
	t1 = now_s();
	vm_counters("vm3", &r1, &b1);
	rate = (b1 - b0) / (t1 - t0);
	TH_LOG("vm3: %.0f KiB in %.2f s = %.0f KiB/s (limit 1024)", (b1 - b0) / 1024.0, t1 - t0,
	       rate / 1024);
	EXPECT_GT(rate, 0.6 * 1048576);
	EXPECT_LT(rate, 1.15 * 1048576 + 524288 / (t1 - t0));
	/* the other VM is not slowed down meanwhile */
	vm_counters("vm1", &rr1, &bb1);
	t2 = now_s();
	ASSERT_EQ(0, sh("dd if=/mnt/v1/f of=/dev/null bs=64k 2>/dev/null"));
	fast = now_s() - t2;
	TH_LOG("vm1 (unshaped): same read in %.2f s", fast);
	EXPECT_LT(fast, 0.75 * (t1 - t0));
	/* requests: 200/s, burst 20 -- one-byte reads, each a request */
	vm_counters("vm3", &r1, &b1);
	t0 = now_s();
	ASSERT_EQ(0, sh("dd if=/mnt/v3/f of=/dev/null bs=1 count=500 2>/dev/null"));
	t1 = now_s();
	vm_counters("vm3", &r2, &b2);
	rate = (r2 - r1) / (t1 - t0);
	TH_LOG("vm3: %llu requests in %.2f s = %.0f/s (limit 200)", r2 - r1, t1 - t0, rate);
	EXPECT_GT(rate, 0.6 * 200);
	EXPECT_LT(rate, 1.15 * 200 + 20 / (t1 - t0));
}

/* ---- the proof handshake, by a userspace client (hybrid socket) ------- */
static int connect_uds(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(a.sun_path, path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int read_n(int fd, void *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = read(fd, (char *)buf + off, n - off);

		if (r <= 0)
			return -1;
		off += r;
	}
	return 0;
}

/* hello/nonce/mac/result; returns the result status, or -1 if closed */
static int handshake(int fd, const char *secret, uint32_t cid, uint32_t port)
{
	struct veil_proof_hello h = { .magic = "VEILHELO" };
	struct veil_proof_nonce n;
	struct veil_proof_mac m = { .magic = "VEILPROF" };
	struct veil_proof_result r;
	uint8_t msg[128];
	unsigned int len = 0, l = strlen(VEIL_PROOF_LABEL);

	h.version = 1;
	h.key_id_len = 2;
	h.key_id[0] = 0x0a;
	h.key_id[1] = 0x0b;
	if (write(fd, &h, sizeof(h)) != sizeof(h) || read_n(fd, &n, sizeof(n)))
		return -1;
	if (memcmp(n.magic, "VEILNONC", 8))
		return -2;
	memcpy(msg, VEIL_PROOF_LABEL, l);
	memcpy(msg + l, n.nonce, 32);
	memcpy(msg + l + 32, &cid, 4);		/* x86: little endian */
	memcpy(msg + l + 36, &port, 4);
	HMAC(EVP_sha256(), secret, strlen(secret), msg, l + 40, m.mac, &len);
	if (write(fd, &m, sizeof(m)) != sizeof(m) || read_n(fd, &r, sizeof(r)))
		return -1;
	return memcmp(r.magic, "VEILRSLT", 8) ? -2 : (int)r.status;
}

/* Tversion; returns 0 if an Rversion for 9P2000.L came back */
static int tversion(int fd)
{
	uint8_t m[32] = { 21, 0, 0, 0, 100, 0xff, 0xff, 0, 0, 1, 0, 8, 0 };
	uint8_t r[64];

	memcpy(m + 13, "9P2000.L", 8);
	if (write(fd, m, 21) != 21 || read_n(fd, r, 7) || r[4] != 101)
		return -1;
	return read_n(fd, r + 7, r[0] - 7) ? -1 : 0;
}

TEST_F(fsd, proof_handshake)
{
	int fd;

	signal(SIGPIPE, SIG_IGN);
	fd = connect_uds(RUN "/vm4.sock_564");
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, handshake(fd, SECRET, 42, 564));
	EXPECT_EQ(0, tversion(fd)) TH_LOG("no 9P after a good proof");
	close(fd);

	fd = connect_uds(RUN "/vm4.sock_564");
	EXPECT_EQ(EACCES, handshake(fd, "wrong secret", 42, 564));
	EXPECT_NE(0, tversion(fd));
	close(fd);

	fd = connect_uds(RUN "/vm4.sock_564");
	EXPECT_EQ(EACCES, handshake(fd, SECRET, 43, 564)) TH_LOG("a proof for another CID");
	close(fd);

	fd = connect_uds(RUN "/vm4.sock_564");
	EXPECT_EQ(EACCES, handshake(fd, SECRET, 42, 565)) TH_LOG("a proof for another port");
	close(fd);

	fd = connect_uds(RUN "/vm4.sock_564");
	EXPECT_NE(0, tversion(fd)) TH_LOG("no proof at all must be refused");
	close(fd);

	/* the kernel's unix transport cannot prove anything: refused */
	EXPECT_NE(0, mount9p(4, NULL));

	/* a VM without require_proof still answers a hello, and serves */
	fd = connect_uds(RUN "/vm1.sock_564");
	EXPECT_EQ(0, handshake(fd, "anything", 1, 564));
	EXPECT_EQ(0, tversion(fd));
	close(fd);

	/* a secret file others can read is not used */
	ASSERT_EQ(0, chmod(BASE "/vm4.secret", 0644));
	fd = connect_uds(RUN "/vm4.sock_564");
	EXPECT_EQ(ENOKEY, handshake(fd, SECRET, 42, 564));
	close(fd);
}

TEST_F(fsd, reload_applies_to_existing_mount)
{
	ASSERT_EQ(0, mount9p(1, NULL));
	ASSERT_EQ(0, write_file("/mnt/v1/a", "before"));
	write_conf("ro", "");
	EXPECT_STREQ("ok\n", control("reload\n"));
	errno = 0;
	EXPECT_NE(0, write_file("/mnt/v1/b", "after"));
	EXPECT_EQ(EROFS, errno);
	EXPECT_EQ(0, access("/mnt/v1/a", R_OK));
	/* and back, by signal this time */
	write_conf("rw", "");
	kill(self->pid, SIGHUP);
	usleep(300000);
	EXPECT_EQ(0, write_file("/mnt/v1/b", "after"));
	/* a broken config is refused and the old one stays */
	ASSERT_EQ(0, sh("echo 'bogus = 1' >> " BASE "/fsd.conf"));
	EXPECT_EQ(0, strncmp(control("reload\n"), "error: " BASE "/fsd.conf:",
			     strlen("error: " BASE "/fsd.conf:")));
	EXPECT_EQ(0, write_file("/mnt/v1/c", "still rw"));
}

TEST_F_TIMEOUT(fsd, find_many_files_within_fd_budget, 150)
{
	unsigned long long r, b;
	pid_t pid;
	int fds;

	/* a server with 64 descriptors in all and a budget of 24 for vm1 */
	kill(self->pid, SIGTERM);
	waitpid(self->pid, NULL, 0);
	write_conf("rw", "max_fds = 24");
	self->pid = pid = start_fsd(64);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, sh("cd " BASE "/t1 && for d in $(seq 1 10); do mkdir d$d; "
			"for f in $(seq 1 100); do : > d$d/f$f; done; done"));
	ASSERT_EQ(0, mount9p(1, NULL));
	EXPECT_EQ(0, sh("test $(find /mnt/v1 | wc -l) = $(find " BASE "/t1 | wc -l)"));
	/* hold many files open at once from the guest */
	EXPECT_EQ(0, sh("cd /mnt/v1/d1 && exec 3<f1 4<f2 5<f3 6<f4 7<f5 8<f6 9<f7; "
			"cat f* >/dev/null && find /mnt/v1 -type f | head -n 300 | xargs cat"));
	vm_counters("vm1", &r, &b);
	fds = sh("test $(ls /proc/%d/fd | wc -l) -lt 64", pid);
	EXPECT_EQ(0, fds);
	EXPECT_NE(0, sh("grep -q 'Too many open files' " BASE "/fsd.log"));
	TH_LOG("%llu requests served", r);
}

/* user.* xattrs through v9fs; others are the host's */
TEST_F(fsd, user_xattrs)
{
	char v[256];
	ssize_t n;

	ASSERT_EQ(0, write_file(BASE "/t1/xa", "x"));
	if (setxattr(BASE "/t1/xa", "user.probe", "1", 1, 0) && errno == EOPNOTSUPP)
		SKIP(return, "the backing file system (" BASE ") keeps no user xattrs");
	ASSERT_EQ(0, mount9p(1, NULL));
	EXPECT_EQ(0, setxattr("/mnt/v1/xa", "user.veil", "guest", 5, 0));
	n = getxattr(BASE "/t1/xa", "user.veil", v, sizeof(v));
	EXPECT_EQ(5, n);
	EXPECT_EQ(0, memcmp(v, "guest", 5));
	n = getxattr("/mnt/v1/xa", "user.probe", v, sizeof(v));
	EXPECT_EQ(1, n);
	n = listxattr("/mnt/v1/xa", v, sizeof(v));
	EXPECT_LT(0, n);
	EXPECT_TRUE(n > 0 && memmem(v, n, "user.veil", 10) != NULL);
	errno = 0;
	EXPECT_EQ(-1, setxattr("/mnt/v1/xa", "trusted.veil", "x", 1, 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, removexattr("/mnt/v1/xa", "user.veil"));
	errno = 0;
	EXPECT_EQ(-1, getxattr(BASE "/t1/xa", "user.veil", v, sizeof(v)));
	EXPECT_EQ(ENODATA, errno);
	/* the read-only tenant */
	ASSERT_EQ(0, mount9p(2, NULL));
	errno = 0;
	EXPECT_EQ(-1, setxattr("/mnt/v2/two", "user.veil", "x", 1, 0));
	EXPECT_EQ(EROFS, errno);
}

TEST_F_TIMEOUT(fsd, server_killed_mid_io, 60)
{
	double t0;
	int st;
	pid_t reader;

	ASSERT_EQ(0, sh("dd if=/dev/zero of=" BASE "/t3/f bs=1M count=16 2>/dev/null"));
	ASSERT_EQ(0, mount9p(3, NULL));
	/* a slow (shaped) read in flight */
	reader = fork();
	if (!reader)
		_exit(sh("dd if=/mnt/v3/f of=/dev/null bs=64k 2>/dev/null"));
	usleep(700000);
	kill(self->pid, SIGKILL);
	waitpid(self->pid, NULL, 0);
	self->pid = 0;
	t0 = now_s();
	waitpid(reader, &st, 0);
	TH_LOG("reader ended %.2f s after the kill, status %d", now_s() - t0, WEXITSTATUS(st));
	EXPECT_NE(0, WEXITSTATUS(st));
	EXPECT_LT(now_s() - t0, 10);
	EXPECT_NE(0, access("/mnt/v3/f", R_OK));
	EXPECT_EQ(0, umount("/mnt/v3"));
	/* restarted: remount works */
	self->pid = start_fsd(0);
	ASSERT_LT(0, self->pid);
	EXPECT_EQ(0, mount9p(3, NULL));
	EXPECT_EQ(0, access("/mnt/v3/f", R_OK));
}

TEST_F_TIMEOUT(fsd, unmount_with_io_in_flight, 60)
{
	pid_t reader;
	int st;

	ASSERT_EQ(0, sh("dd if=/dev/zero of=" BASE "/t3/f bs=1M count=16 2>/dev/null"));
	ASSERT_EQ(0, mount9p(3, NULL));
	reader = fork();
	if (!reader)
		_exit(sh("dd if=/mnt/v3/f of=/dev/null bs=64k 2>/dev/null"));
	usleep(500000);
	EXPECT_EQ(0, umount2("/mnt/v3", MNT_DETACH));
	kill(reader, SIGKILL);
	waitpid(reader, &st, 0);
	EXPECT_EQ(0, mount9p(3, NULL));
	EXPECT_EQ(0, access("/mnt/v3/f", R_OK));
	EXPECT_EQ(0, umount("/mnt/v3"));
}

TEST_F_TIMEOUT(fsd, vsock_loopback, 60)
{
	char buf[64];

	if (sh("modprobe vsock_loopback 2>/dev/null && modprobe 9pnet_vsock 2>/dev/null"))
		SKIP(return, "9pnet_vsock.ko is not available");
	/* veil-fsd opened its vsock listener before the module was loaded */
	kill(self->pid, SIGTERM);
	waitpid(self->pid, NULL, 0);
	self->pid = start_fsd(0);
	ASSERT_LT(0, self->pid);
	mkdir("/mnt/v1", 0755);
	ASSERT_EQ(0, mount("1", "/mnt/v1", "9p", 0, "trans=vsock,port=564,version=9p2000.L"))
		TH_LOG("mount over vsock loopback: %s", strerror(errno));
	/* peer CID 1 is vm1's entry */
	EXPECT_EQ(4, read_file("/mnt/v1/one", buf, sizeof(buf)));
	EXPECT_EQ(0, write_file("/mnt/v1/over-vsock", "v"));
	EXPECT_EQ(0, access(BASE "/t1/over-vsock", F_OK));
}

/*
 * The two halves of the proof handshake written apart meet here: the
 * guest kernel's 9pnet_vsock (secret from the key daemon through veil.ko,
 * played by veil-keyd-stub) against veil-fsd requiring proof of the VM
 * at CID 1 (vsock loopback).
 */
static pid_t start_keyd(const char *secret_hex)
{
	char arg[256];
	pid_t pid;
	int i;

	snprintf(arg, sizeof(arg), "--key-id=0a0b=%s", secret_hex);
	unlink(BASE "/keyd.log");
	pid = fork();
	if (!pid) {
		int fd = open(BASE "/keyd.log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl("/veil/bin/veil-keyd-stub", "veil-keyd-stub", "serve", arg,
		      "--timeout", "60", NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (!sh("grep -q registered " BASE "/keyd.log 2>/dev/null"))
			return pid;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void stop_keyd(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

TEST_F_TIMEOUT(fsd, kernel_proof_over_vsock, 120)
{
	char hex[2 * sizeof(SECRET) + 1], wrong[2 * sizeof(SECRET) + 1];
	const char *opts = "trans=vsock,port=564,version=9p2000.L,keyid=0a0b,keytimeout=10";
	size_t i;
	pid_t kd;
	FILE *f;

	if (sh("modprobe vsock_loopback 2>/dev/null && modprobe 9pnet_vsock 2>/dev/null"))
		SKIP(return, "9pnet_vsock.ko is not available");
	if (access("/veil/bin/veil-keyd-stub", X_OK))
		SKIP(return, "veil-keyd-stub is not in the guest");
	for (i = 0; i < strlen(SECRET); i++) {
		sprintf(hex + 2 * i, "%02x", (unsigned char)SECRET[i]);
		sprintf(wrong + 2 * i, "%02x", (unsigned char)SECRET[i] ^ 1);
	}
	/* One VM: whoever connects over vsock from CID 1 must prove itself. */
	f = fopen(BASE "/fsd.conf", "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "vsock = yes\nport = 564\ncontrol = " CTL "\nloopback_cid = yes\n"
		"[vm vmp]\nuds = " RUN "/vm4.sock\ncid = 1\nroot = " BASE "/t4\n"
		"access = rw\nrequire_proof = yes\nsecret_file = " BASE "/vm4.secret\n"
		"key_id = 0a0b\n");
	fclose(f);
	kill(self->pid, SIGTERM);
	waitpid(self->pid, NULL, 0);
	self->pid = start_fsd(0);
	ASSERT_LT(0, self->pid);
	mkdir("/mnt/v4", 0755);

	/* No proof offered: the server closes the connection. */
	EXPECT_NE(0, mount("1", "/mnt/v4", "9p", 0, "trans=vsock,port=564,version=9p2000.L"));

	/* The right secret, fetched by the kernel from the key daemon. */
	kd = start_keyd(hex);
	ASSERT_LT(0, kd);
	ASSERT_EQ(0, mount("1", "/mnt/v4", "9p", 0, opts))
		TH_LOG("mount with proof: %s", strerror(errno));
	EXPECT_EQ(0, write_file("/mnt/v4/proved", "yes"));
	EXPECT_EQ(0, access(BASE "/t4/proved", F_OK));
	EXPECT_EQ(0, umount("/mnt/v4"));
	stop_keyd(kd);

	/* A wrong secret is refused by the server. */
	kd = start_keyd(wrong);
	ASSERT_LT(0, kd);
	EXPECT_NE(0, mount("1", "/mnt/v4", "9p", 0, opts));
	EXPECT_EQ(EACCES, errno);
	stop_keyd(kd);
}

TEST_HARNESS_MAIN
