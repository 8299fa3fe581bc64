// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests of veil.ko: the "veil" generic netlink family and the key
 * request table behind it.
 *
 * Runs as root in the QEMU guest, where the project's modules are under
 * /lib/modules/$(uname -r)/extra (and /veil/ko).  Real key requests come
 * from veil_test_consumer.ko, a test-only consumer driven through debugfs
 * (see veil_test_consumer/veil_test_consumer.c); the tests that need it
 * are skipped when it is not built.  The test process itself plays the key
 * daemon.  Each test leaves veil.ko loaded and the consumer's slots
 * cancelled.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include <netlink/genl/family.h>

#include "veil_nl_test.h"
#include "kselftest_harness.h"

#define VTC_DIR "/sys/kernel/debug/veil_test_consumer"

static const uint8_t kid_a[16] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
				   0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xa0 };
static const char kid_a_hex[] = "a1a2a3a4a5a6a7a8a9aaabacadaeafa0";
static const uint8_t kid_b[4] = { 0xb0, 0xb1, 0xb2, 0xb3 };
static const char kid_b_hex[] = "b0b1b2b3";
static const uint8_t key32[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
				   15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
				   26, 27, 28, 29, 30, 31, 32 };

static int sh(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool module_loaded(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

/* modprobe, or insmod from /veil/ko when depmod did not see the module. */
static int load_module(const char *name)
{
	char cmd[256];

	if (module_loaded(name))
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "modprobe %s 2>/dev/null || insmod /veil/ko/%s.ko 2>/dev/null",
		 name, name);
	sh(cmd);
	return module_loaded(name) ? 0 : -1;
}

static int unload_module(const char *name)
{
	char cmd[128];

	if (!module_loaded(name))
		return 0;
	snprintf(cmd, sizeof(cmd), "rmmod %s 2>/dev/null", name);
	sh(cmd);
	return module_loaded(name) ? -1 : 0;
}

/* Is the family registered?  A dump, so it never autoloads veil.ko. */
static int family_listed(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	struct genl_family *f;
	int found = -1;

	if (!sk || genl_connect(sk) || genl_ctrl_alloc_cache(sk, &cache))
		goto out;
	f = genl_ctrl_search_by_name(cache, VEIL_GENL_NAME);
	found = !!f;
	if (f)
		genl_family_put(f);
out:
	if (cache)
		nl_cache_free(cache);
	if (sk)
		nl_socket_free(sk);
	return found;
}

static int vtc_ctl(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n, r;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(VTC_DIR "/ctl", O_WRONLY);
	if (fd < 0)
		return -errno;
	r = write(fd, buf, n) == n ? 0 : -errno;
	close(fd);
	return r;
}

/* The status line of slot n (without "N "), "" if the slot is unused. */
static void vtc_status(int n, char *out, size_t len)
{
	char line[512];
	FILE *f = fopen(VTC_DIR "/status", "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');

		if (sp && atoi(line) == n) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", sp + 1);
			break;
		}
	}
	fclose(f);
}

static void vtc_cancel_all(void)
{
	int i;

	if (!module_loaded("veil_test_consumer"))
		return;
	for (i = 0; i < 16; i++)
		vtc_ctl("cancel %d", i);
}

/* Drop CAP_SYS_ADMIN (keeping everything else, CAP_NET_ADMIN included). */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~(1u << CAP_SYS_ADMIN);
	d[0].permitted &= ~(1u << CAP_SYS_ADMIN);
	d[0].inheritable &= ~(1u << CAP_SYS_ADMIN);
	return syscall(SYS_capset, &h, d);
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -1;
	return 0;
}

/* ------------------------------------------------------ the family ---- */

TEST(info_after_load)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil")) TH_LOG("cannot load veil.ko");
	ASSERT_EQ(1, family_listed());
	ASSERT_LT(0, vnl_open(&v));
	ASSERT_EQ(0, vnl_get_info(&v)) TH_LOG("GET_INFO: %s", v.ext_msg);
	EXPECT_EQ(VEIL_ABI_VERSION, v.abi);
	EXPECT_EQ(1, v.abi);
	EXPECT_EQ(0, v.pending);
	EXPECT_EQ(0, v.daemon_pid);
	vnl_close(&v);
}

TEST(unprivileged_may_only_get_info)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_EQ(0, become_nobody());
	ASSERT_LT(0, vnl_open(&v));
	EXPECT_EQ(0, vnl_get_info(&v));
	EXPECT_EQ(1, v.abi);
	EXPECT_EQ(-EPERM, vnl_register(&v, VEIL_ABI_VERSION));
	EXPECT_EQ(-EPERM, vnl_push(&v, 1, kid_a, sizeof(kid_a), key32,
				   sizeof(key32), NULL));
	EXPECT_EQ(-EPERM, vnl_fail(&v, 1, kid_a, sizeof(kid_a), ENOKEY, "no"));
	vnl_close(&v);
}

TEST(net_admin_without_sys_admin_refused)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_EQ(0, drop_sys_admin());
	ASSERT_LT(0, vnl_open(&v));
	EXPECT_EQ(0, vnl_get_info(&v));
	EXPECT_EQ(-EPERM, vnl_register(&v, VEIL_ABI_VERSION));
	EXPECT_STREQ("CAP_SYS_ADMIN required", v.ext_msg);
	EXPECT_EQ(-EPERM, vnl_push(&v, 1, kid_a, sizeof(kid_a), key32,
				   sizeof(key32), NULL));
	EXPECT_EQ(-EPERM, vnl_fail(&v, 1, kid_a, sizeof(kid_a), ENOKEY, NULL));
	vnl_close(&v);
}

TEST(register_wrong_abi_refused)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_LT(0, vnl_open(&v));
	EXPECT_EQ(-EPROTO, vnl_register(&v, VEIL_ABI_VERSION + 1));
	EXPECT_NE(NULL, strstr(v.ext_msg, "ABI")) TH_LOG("extack: '%s'", v.ext_msg);
	ASSERT_EQ(0, vnl_get_info(&v));
	EXPECT_EQ(0, v.daemon_pid);
	/* and registering properly then works, and shows our pid */
	ASSERT_EQ(0, vnl_register(&v, VEIL_ABI_VERSION));
	EXPECT_EQ(1, v.abi);
	ASSERT_EQ(0, vnl_get_info(&v));
	EXPECT_EQ(getpid(), v.daemon_pid);
	vnl_close(&v);
}

TEST(push_and_fail_unknown_handle_refused)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_LT(0, vnl_open(&v));
	EXPECT_EQ(-ENOENT, vnl_push(&v, 0x7fffff01, kid_a, sizeof(kid_a), key32,
				    sizeof(key32), "aes-xts-plain64"));
	EXPECT_NE(NULL, strstr(v.ext_msg, "no pending key request"));
	EXPECT_EQ(-ENOENT, vnl_fail(&v, 0x7fffff01, kid_a, sizeof(kid_a),
				    ENOKEY, "nope"));
	vnl_close(&v);
}

static bool is_policy_error(int e)
{
	return e == -EINVAL || e == -ERANGE;
}

TEST(strict_policy)
{
	uint8_t big[VEIL_KEY_MAX + 8] = { 0 };
	char longstr[VEIL_REASON_MAX + 8];
	struct nl_msg *m;
	struct vnl v;
	int e;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_LT(0, vnl_open(&v));

	/* the handle is unknown: a policy error must come first */
	e = vnl_push(&v, 1, kid_a, sizeof(kid_a), big, VEIL_KEY_MAX + 1, NULL);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("oversized key: %d", e);
	e = vnl_push(&v, 1, kid_a, sizeof(kid_a), big, 0, NULL);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("empty key: %d", e);
	e = vnl_push(&v, 1, big, VEIL_KEY_ID_MAX + 1, key32, sizeof(key32), NULL);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("oversized key-id: %d", e);
	e = vnl_fail(&v, 1, big, VEIL_KEY_ID_MAX + 1, ENOKEY, NULL);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("oversized key-id in fail: %d", e);
	e = vnl_fail(&v, 1, kid_a, sizeof(kid_a), 0, NULL);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("errno 0: %d", e);
	memset(longstr, 'x', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	e = vnl_fail(&v, 1, kid_a, sizeof(kid_a), ENOKEY, longstr);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("long reason: %d", e);
	e = vnl_push(&v, 1, kid_a, sizeof(kid_a), key32, sizeof(key32), longstr);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("long cipher: %d", e);

	/* missing required attributes */
	m = vnl_msg(&v, VEIL_CMD_KEY_PUSH);
	nla_put_u32(m, VEIL_A_REQ_ID, 1);
	nla_put(m, VEIL_A_KEY_ID, sizeof(kid_a), kid_a);
	EXPECT_EQ(-EINVAL, vnl_call(&v, m));
	m = vnl_msg(&v, VEIL_CMD_REGISTER);
	EXPECT_EQ(-EINVAL, vnl_call(&v, m));

	/* an attribute above VEIL_A_MAX */
	m = vnl_msg(&v, VEIL_CMD_KEY_PUSH);
	nla_put_u32(m, VEIL_A_REQ_ID, 1);
	nla_put(m, VEIL_A_KEY_ID, sizeof(kid_a), kid_a);
	nla_put(m, VEIL_A_KEY, sizeof(key32), key32);
	nla_put_u32(m, VEIL_A_MAX + 1, 7);
	e = vnl_call(&v, m);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("unknown attribute: %d", e);

	/* an attribute the command does not take */
	m = vnl_msg(&v, VEIL_CMD_KEY_PUSH);
	nla_put_u32(m, VEIL_A_REQ_ID, 1);
	nla_put(m, VEIL_A_KEY_ID, sizeof(kid_a), kid_a);
	nla_put(m, VEIL_A_KEY, sizeof(key32), key32);
	nla_put_u32(m, VEIL_A_PENDING, 7);
	e = vnl_call(&v, m);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("foreign attribute: %d", e);

	m = vnl_msg(&v, VEIL_CMD_GET_INFO);
	nla_put_u32(m, VEIL_A_ABI_VERSION, 1);
	e = vnl_call(&v, m);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("GET_INFO with attribute: %d", e);

	/* a u32 of the wrong size */
	m = vnl_msg(&v, VEIL_CMD_REGISTER);
	nla_put(m, VEIL_A_ABI_VERSION, 2, big);
	e = vnl_call(&v, m);
	EXPECT_TRUE(is_policy_error(e)) TH_LOG("short u32: %d", e);

	/* the kernel never sends KEY_REQUEST's command back */
	m = vnl_msg(&v, VEIL_CMD_KEY_REQUEST);
	EXPECT_EQ(-EOPNOTSUPP, vnl_call(&v, m));
	vnl_close(&v);
}

TEST(unload_and_reload)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_EQ(0, unload_module("veil_test_consumer"));
	if (unload_module("veil")) {
		load_module("veil_test_consumer");
		SKIP(return, "veil.ko is in use (dm-veil loaded?)");
	}
	EXPECT_EQ(0, family_listed());
	ASSERT_EQ(0, load_module("veil"));
	EXPECT_EQ(1, family_listed());
	ASSERT_LT(0, vnl_open(&v));
	EXPECT_EQ(0, vnl_get_info(&v));
	EXPECT_EQ(0, v.pending);
	vnl_close(&v);
}

/* --------------------------------------- requests from a real consumer -- */

FIXTURE(consumer) {
	struct vnl d;		/* the test plays the key daemon */
	bool skip;
};

/*
 * This harness still runs the test body after SKIP() in FIXTURE_SETUP;
 * every consumer test starts with this.
 */
#define NEED_CONSUMER() do { if (self->skip) return; } while (0)

FIXTURE_SETUP(consumer)
{
	ASSERT_EQ(0, load_module("veil"));
	self->skip = true;
	if (load_module("veil_test_consumer"))
		SKIP(return, "veil_test_consumer.ko not available");
	if (access(VTC_DIR "/ctl", W_OK))
		SKIP(return, "debugfs not mounted");
	self->skip = false;
	vtc_cancel_all();
	ASSERT_LT(0, vnl_open(&self->d));
	ASSERT_EQ(0, vnl_register(&self->d, VEIL_ABI_VERSION));
}

FIXTURE_TEARDOWN(consumer)
{
	if (self->skip)
		return;
	vtc_cancel_all();
	vnl_close(&self->d);
}

static bool same_kid(const struct vnl_kreq *r, const uint8_t *kid, int len)
{
	return r->key_id_len == len && !memcmp(r->key_id, kid, len);
}

TEST_F(consumer, push_completes_request)
{
	struct vnl_kreq r;
	char st[512];

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("request 0 %s dm-test0", kid_a_hex));
	ASSERT_EQ(1, vnl_wait_reqs(&self->d, 1, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r));
	EXPECT_NE(0U, r.id);
	EXPECT_EQ(VEIL_CONSUMER_DM, r.consumer);
	EXPECT_STREQ("dm-test0", r.object);
	EXPECT_STREQ("", r.hint);
	EXPECT_TRUE(same_kid(&r, kid_a, sizeof(kid_a)));
	ASSERT_EQ(0, vnl_get_info(&self->d));
	EXPECT_EQ(1, self->d.pending);

	vtc_status(0, st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "calls=0 ")) TH_LOG("status: %s", st);
	EXPECT_NE(NULL, strstr(st, "result=pending")) TH_LOG("status: %s", st);

	ASSERT_EQ(0, vnl_push(&self->d, r.id, kid_a, sizeof(kid_a), key32,
			      sizeof(key32), "aes-xts-plain64"))
		TH_LOG("push: %s", self->d.ext_msg);
	vtc_status(0, st, sizeof(st));
	EXPECT_STREQ("active=1 calls=1 violations=0 result=ok len=32 cipher=aes-xts-plain64", st);
	ASSERT_EQ(0, vnl_get_info(&self->d));
	EXPECT_EQ(0, self->d.pending);

	/* exactly once: the handle is gone */
	EXPECT_EQ(-ENOENT, vnl_push(&self->d, r.id, kid_a, sizeof(kid_a), key32,
				    sizeof(key32), NULL));
	EXPECT_EQ(-ENOENT, vnl_fail(&self->d, r.id, kid_a, sizeof(kid_a), ENOKEY, NULL));
	vtc_status(0, st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "calls=1 ")) TH_LOG("status: %s", st);

	ASSERT_EQ(0, vtc_ctl("cancel 0"));
	vtc_status(0, st, sizeof(st));
	EXPECT_STREQ("active=0 calls=1 violations=0 result=ok len=32 cipher=aes-xts-plain64", st);
}

/* The consumer's key-hint reaches the daemon as is; too long is refused. */
TEST_F(consumer, request_carries_hint)
{
	char longhint[VEIL_KEY_HINT_MAX + 1];
	struct vnl_kreq r;

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("request 4 %s dm-hint 4711", kid_a_hex));
	ASSERT_EQ(1, vnl_wait_reqs(&self->d, 1, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r));
	EXPECT_STREQ("dm-hint", r.object);
	EXPECT_STREQ("4711", r.hint);
	EXPECT_TRUE(same_kid(&r, kid_a, sizeof(kid_a)));
	ASSERT_EQ(0, vtc_ctl("cancel 4"));

	memset(longhint, 'h', sizeof(longhint) - 1);
	longhint[sizeof(longhint) - 1] = '\0';
	EXPECT_EQ(-ENAMETOOLONG, vtc_ctl("request 4 %s dm-hint %s", kid_a_hex, longhint));
	EXPECT_EQ(0, vnl_wait_reqs(&self->d, 1, 300));
}

TEST_F(consumer, wrong_key_id_refused_and_stays_pending)
{
	struct vnl_kreq r;
	char st[512];

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("request 1 %s", kid_a_hex));
	ASSERT_EQ(1, vnl_wait_reqs(&self->d, 1, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r));
	EXPECT_STREQ("test-1", r.object);

	EXPECT_EQ(-EKEYREJECTED, vnl_push(&self->d, r.id, kid_b, sizeof(kid_b),
					  key32, sizeof(key32), NULL));
	EXPECT_STREQ("key-id does not match request", self->d.ext_msg);
	/* a key-id that is a prefix of the right one is still wrong */
	EXPECT_EQ(-EKEYREJECTED, vnl_push(&self->d, r.id, kid_a, 8,
					  key32, sizeof(key32), NULL));
	EXPECT_EQ(-EKEYREJECTED, vnl_fail(&self->d, r.id, kid_b, sizeof(kid_b),
					  ENOKEY, NULL));
	ASSERT_EQ(0, vnl_get_info(&self->d));
	EXPECT_EQ(1, self->d.pending);
	vtc_status(1, st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "calls=0 ")) TH_LOG("status: %s", st);

	EXPECT_EQ(0, vnl_push(&self->d, r.id, kid_a, sizeof(kid_a), key32, 16, NULL));
	vtc_status(1, st, sizeof(st));
	EXPECT_STREQ("active=1 calls=1 violations=0 result=ok len=16 cipher=-", st);
}

TEST_F(consumer, fail_delivers_errno_and_reason)
{
	struct vnl_kreq r;
	char st[512];

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("request 2 %s", kid_b_hex));
	ASSERT_EQ(0, vtc_ctl("request 3 %s", kid_a_hex));
	ASSERT_EQ(2, vnl_wait_reqs(&self->d, 2, 5000));

	while (vnl_take(&self->d, &r)) {
		if (same_kid(&r, kid_b, sizeof(kid_b))) {
			EXPECT_EQ(0, vnl_fail(&self->d, r.id, kid_b, sizeof(kid_b),
					      EKEYREJECTED, "host not authorised"));
		} else {
			/* an errno the kernel does not expect becomes EIO */
			EXPECT_EQ(0, vnl_fail(&self->d, r.id, kid_a, sizeof(kid_a),
					      ENOTTY, NULL));
		}
	}
	vtc_status(2, st, sizeof(st));
	EXPECT_STREQ("active=1 calls=1 violations=0 result=err=-129 reason=host not authorised", st);
	vtc_status(3, st, sizeof(st));
	EXPECT_STREQ("active=1 calls=1 violations=0 result=err=-5 reason=", st);
}

TEST_F(consumer, redelivered_to_next_daemon)
{
	struct vnl_kreq r1, r2, r;
	struct vnl d2;
	char st[512];

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("request 4 %s", kid_a_hex));
	ASSERT_EQ(0, vtc_ctl("request 5 %s", kid_b_hex));
	ASSERT_EQ(2, vnl_wait_reqs(&self->d, 2, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r1));
	ASSERT_TRUE(vnl_take(&self->d, &r2));

	/* the daemon dies without answering */
	vnl_close(&self->d);
	ASSERT_LT(0, vnl_open(&d2));
	ASSERT_EQ(0, vnl_get_info(&d2));
	EXPECT_EQ(0, d2.daemon_pid);
	EXPECT_EQ(2, d2.pending);

	/* a request posted while no daemon runs waits too */
	ASSERT_EQ(0, vtc_ctl("request 6 %s", kid_b_hex));
	ASSERT_EQ(0, vnl_get_info(&d2));
	EXPECT_EQ(3, d2.pending);

	/* the next daemon gets all three, with the same handles */
	ASSERT_EQ(0, vnl_register(&d2, VEIL_ABI_VERSION));
	ASSERT_EQ(3, vnl_wait_reqs(&d2, 3, 5000));
	EXPECT_EQ(r1.id, d2.reqs[0].id);
	EXPECT_EQ(r2.id, d2.reqs[1].id);
	EXPECT_TRUE(same_kid(&d2.reqs[0], kid_a, sizeof(kid_a)));
	while (vnl_take(&d2, &r))
		EXPECT_EQ(0, vnl_push(&d2, r.id, r.key_id, r.key_id_len, key32,
				      sizeof(key32), NULL));
	vnl_wait_reqs(&d2, 1, 200);
	EXPECT_EQ(0, d2.nreqs);
	for (int i = 4; i <= 6; i++) {
		vtc_status(i, st, sizeof(st));
		EXPECT_STREQ("active=1 calls=1 violations=0 result=ok len=32 cipher=-", st);
	}
	ASSERT_EQ(0, vnl_get_info(&d2));
	EXPECT_EQ(0, d2.pending);
	vnl_close(&d2);
	/* teardown closes self->d again: make that a no-op */
	self->d.sk = NULL;
	self->d.cb = NULL;
}

TEST_F(consumer, daemon_killed_requests_survive)
{
	struct vnl_kreq r;
	struct vnl d2;
	pid_t pid;
	int status;

	NEED_CONSUMER();
	vnl_close(&self->d);
	self->d.sk = NULL;
	self->d.cb = NULL;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vnl d;

		/* never outlive the test, whatever happens to it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (vnl_open(&d) < 0 || vnl_register(&d, VEIL_ABI_VERSION))
			_exit(1);
		pause();	/* killed with requests pending */
		_exit(0);
	}
	/* wait until the child is the daemon */
	ASSERT_LT(0, vnl_open(&d2));
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(0, vnl_get_info(&d2));
		if (d2.daemon_pid == pid)
			break;
		usleep(20000);
	}
	ASSERT_EQ(pid, d2.daemon_pid);
	ASSERT_EQ(0, vtc_ctl("request 7 %s", kid_a_hex));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_EQ(0, vnl_get_info(&d2));
	EXPECT_EQ(0, d2.daemon_pid);
	EXPECT_EQ(1, d2.pending);

	ASSERT_EQ(0, vnl_register(&d2, VEIL_ABI_VERSION));
	ASSERT_EQ(1, vnl_wait_reqs(&d2, 1, 5000));
	ASSERT_TRUE(vnl_take(&d2, &r));
	EXPECT_EQ(0, vnl_push(&d2, r.id, kid_a, sizeof(kid_a), key32, 24, NULL));
	vnl_close(&d2);
}

TEST_F(consumer, cancel_while_pending)
{
	struct vnl_kreq r;
	char st[512];

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("request 8 %s", kid_a_hex));
	ASSERT_EQ(1, vnl_wait_reqs(&self->d, 1, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r));
	ASSERT_EQ(0, vtc_ctl("cancel 8"));
	ASSERT_EQ(0, vnl_get_info(&self->d));
	EXPECT_EQ(0, self->d.pending);
	EXPECT_EQ(-ENOENT, vnl_push(&self->d, r.id, kid_a, sizeof(kid_a), key32,
				    sizeof(key32), NULL));
	vtc_status(8, st, sizeof(st));
	EXPECT_STREQ("active=0 calls=0 violations=0 result=pending", st);
}

/* A cancel racing with a slow callback waits for it to return. */
TEST_F(consumer, cancel_during_callback_waits)
{
	struct vnl_kreq r;
	char st[512];
	pid_t pid;
	int status;
	long t0;

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("delay 9 1000"));
	ASSERT_EQ(0, vtc_ctl("request 9 %s", kid_a_hex));
	ASSERT_EQ(1, vnl_wait_reqs(&self->d, 1, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* the push blocks in the callback for a second */
		_exit(vnl_push(&self->d, r.id, kid_a, sizeof(kid_a), key32,
			       sizeof(key32), NULL) ? 1 : 0);
	}
	usleep(300000);
	t0 = vnl_ms_now();
	ASSERT_EQ(0, vtc_ctl("cancel 9"));
	EXPECT_LE(300, vnl_ms_now() - t0) TH_LOG("cancel did not wait for the callback");
	waitpid(pid, &status, 0);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	vtc_status(9, st, sizeof(st));
	EXPECT_STREQ("active=0 calls=1 violations=0 result=ok len=32 cipher=-", st);
	vtc_ctl("delay 9 0");
}

TEST_F(consumer, handles_unique_among_pending)
{
	struct vnl_kreq r;
	uint32_t ids[6];
	int n = 0;

	NEED_CONSUMER();
	for (int i = 10; i < 16; i++)
		ASSERT_EQ(0, vtc_ctl("request %d %s", i, kid_b_hex));
	ASSERT_EQ(6, vnl_wait_reqs(&self->d, 6, 5000));
	while (vnl_take(&self->d, &r)) {
		for (int j = 0; j < n; j++)
			EXPECT_NE(ids[j], r.id);
		ids[n++] = r.id;
	}
	ASSERT_EQ(0, vnl_get_info(&self->d));
	EXPECT_EQ(6, self->d.pending);
	/* a re-registration of the same daemon re-sends them all */
	ASSERT_EQ(0, vnl_register(&self->d, VEIL_ABI_VERSION));
	EXPECT_EQ(6, vnl_wait_reqs(&self->d, 6, 5000));
}

TEST_HARNESS_MAIN
