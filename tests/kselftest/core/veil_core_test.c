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

/*
 * Answers reach the consumer from veil.ko's workqueue, after the push or
 * fail returned: the status of slot n once its callback has run (or after
 * ms, whatever it says then).
 */
static void vtc_status_called(int n, char *out, size_t len, int ms)
{
	for (int i = 0; ; i += 10) {
		vtc_status(n, out, len);
		if (!strstr(out, "calls=0 ") || i >= ms)
			return;
		usleep(10000);
	}
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

/* ------------------------------------- refused pushes keep their key -- */

/*
 * A raw generic netlink socket (no libnl), so that each test chooses the
 * ack options and can send what libnl would never build.
 */
struct raw {
	int fd;
	int fam;
	uint8_t msg[1024];
	size_t len;
	uint8_t ack[4096];
	ssize_t ack_len;
	int err;		/* error of the ack, 0 or -errno */
	char ext_msg[256];	/* NLMSGERR_ATTR_MSG, "" if none */
	uint32_t miss_type;	/* NLMSGERR_ATTR_MISS_TYPE, 0 if none */
	bool echoed;		/* the ack repeats the request's payload */
};

/* 32 bytes, no NUL: a string attribute cannot take it either */
static const uint8_t secret[32] = "PUSHED-KEY:do-not-echo-012345678";

static int raw_open(struct raw *r, int fam, bool cap_ack, bool ext_ack)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	memset(r, 0, sizeof(*r));
	r->fam = fam;
	r->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	if ((cap_ack && setsockopt(r->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
				   sizeof(one))) ||
	    (ext_ack && setsockopt(r->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one,
				   sizeof(one))) ||
	    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -1;
	return 0;
}

static void raw_begin(struct raw *r, uint8_t cmd, uint16_t flags,
		      uint16_t reserved)
{
	struct nlmsghdr *h = (struct nlmsghdr *)r->msg;
	struct genlmsghdr *g = (struct genlmsghdr *)(r->msg + NLMSG_HDRLEN);

	memset(r->msg, 0, sizeof(r->msg));
	h->nlmsg_type = r->fam;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = 4711;
	g->cmd = cmd;
	g->version = VEIL_GENL_VERSION;
	g->reserved = reserved;
	r->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/* An attribute; len_fix != 0 writes that nla_len instead of the true one. */
static void raw_put(struct raw *r, uint16_t type, const void *data,
		    size_t len, uint16_t len_fix)
{
	struct nlattr *a = (struct nlattr *)(r->msg + r->len);

	a->nla_type = type;
	a->nla_len = len_fix ? len_fix : (uint16_t)(NLA_HDRLEN + len);
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	r->len += NLA_ALIGN(NLA_HDRLEN + len);
}

static void raw_put_u32(struct raw *r, uint16_t type, uint32_t v)
{
	raw_put(r, type, &v, sizeof(v), 0);
}

/* Send the message to the kernel and read its ack: 0, or -1 on no ack. */
static int raw_call(struct raw *r)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct nlmsghdr *h = (struct nlmsghdr *)r->msg, *a;
	struct nlmsgerr *e;
	size_t tlv_off;

	h->nlmsg_len = r->len;
	r->ext_msg[0] = '\0';
	r->miss_type = 0;
	r->echoed = false;
	if (sendto(r->fd, r->msg, r->len, 0, (struct sockaddr *)&to,
		   sizeof(to)) != (ssize_t)r->len)
		return -1;
	r->ack_len = recv(r->fd, r->ack, sizeof(r->ack), 0);
	a = (struct nlmsghdr *)r->ack;
	if (r->ack_len < (ssize_t)(NLMSG_HDRLEN + sizeof(*e)) ||
	    a->nlmsg_type != NLMSG_ERROR)
		return -1;
	e = NLMSG_DATA(a);
	r->err = e->error;
	/* the echoed request (all of it unless capped), then the TLVs */
	r->echoed = !(a->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len > NLMSG_HDRLEN;
	tlv_off = NLMSG_HDRLEN + sizeof(e->error) +
		  NLMSG_ALIGN(r->echoed ? e->msg.nlmsg_len : NLMSG_HDRLEN);
	if (a->nlmsg_flags & NLM_F_ACK_TLVS) {
		while (tlv_off + NLA_HDRLEN <= (size_t)r->ack_len) {
			struct nlattr *t = (struct nlattr *)(r->ack + tlv_off);

			if (t->nla_len < NLA_HDRLEN ||
			    tlv_off + t->nla_len > (size_t)r->ack_len)
				break;
			if (t->nla_type == NLMSGERR_ATTR_MSG)
				snprintf(r->ext_msg, sizeof(r->ext_msg), "%.*s",
					 (int)(t->nla_len - NLA_HDRLEN),
					 (char *)t + NLA_HDRLEN);
			if (t->nla_type == NLMSGERR_ATTR_MISS_TYPE &&
			    t->nla_len == NLA_HDRLEN + sizeof(uint32_t))
				memcpy(&r->miss_type, (char *)t + NLA_HDRLEN,
				       sizeof(uint32_t));
			tlv_off += NLA_ALIGN(t->nla_len);
		}
	}
	return 0;
}

/* Does any 8 bytes of the secret appear anywhere in the ack? */
static bool ack_has_secret(const struct raw *r)
{
	size_t i;

	for (i = 0; i + 8 <= sizeof(secret); i++)
		if (memmem(r->ack, r->ack_len, secret + i, 8))
			return true;
	return false;
}

/* An echoed request must carry zeros where its attributes were. */
static bool echo_wiped(const struct raw *r)
{
	const struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)r->ack);
	const uint8_t *p = (const uint8_t *)&e->msg + NLMSG_HDRLEN + GENL_HDRLEN;
	size_t n, i;

	if (!r->echoed)
		return true;
	n = e->msg.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The pushes a daemon must never see its key come back from. */
enum bad_push {
	BP_UNKNOWN_ATTR,	/* attribute type above VEIL_A_MAX */
	BP_FOREIGN_ATTR,	/* an attribute the command does not take */
	BP_LONG_KEY,		/* key longer than VEIL_KEY_MAX */
	BP_KEY_AS_CIPHER,	/* key bytes in a string attribute */
	BP_TRAILING,		/* bytes after the last attribute */
	BP_NO_HANDLE,		/* VEIL_A_REQ_ID missing */
	BP_RESERVED,		/* genlmsghdr.reserved not zero */
	BP_FLAGS,		/* nlmsg_flags the family does not take */
	BP_TWO_KEYS,		/* the key twice, unknown handle */
	BP_UNKNOWN_HANDLE,	/* well-formed, no such request */
	__BP_MAX,
};

static const char *const bad_push_name[__BP_MAX] = {
	"unknown attribute", "foreign attribute", "over-long key",
	"key as cipher", "trailing bytes", "no handle", "reserved header",
	"replace flag", "key twice", "unknown handle",
};

static void build_bad_push(struct raw *r, enum bad_push k)
{
	uint8_t big[VEIL_KEY_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = secret[i % sizeof(secret)];
	raw_begin(r, VEIL_CMD_KEY_PUSH, k == BP_FLAGS ? NLM_F_REPLACE : 0,
		  k == BP_RESERVED ? 1 : 0);
	if (k != BP_NO_HANDLE)
		raw_put_u32(r, VEIL_A_REQ_ID, 0x7fffff02);
	raw_put(r, VEIL_A_KEY_ID, kid_a, sizeof(kid_a), 0);
	switch (k) {
	case BP_LONG_KEY:
		raw_put(r, VEIL_A_KEY, big, VEIL_KEY_MAX + 1, 0);
		break;
	case BP_KEY_AS_CIPHER:
		raw_put(r, VEIL_A_KEY, key32, sizeof(key32), 0);
		raw_put(r, VEIL_A_CIPHER, secret, sizeof(secret), 0);
		break;
	case BP_TWO_KEYS:
		raw_put(r, VEIL_A_KEY, secret, sizeof(secret), 0);
		raw_put(r, VEIL_A_KEY, key32, sizeof(key32), 0);
		break;
	default:
		raw_put(r, VEIL_A_KEY, secret, sizeof(secret), 0);
		break;
	}
	if (k == BP_UNKNOWN_ATTR)
		raw_put_u32(r, VEIL_A_MAX + 1, 7);
	if (k == BP_FOREIGN_ATTR)
		raw_put_u32(r, VEIL_A_PENDING, 7);
	if (k == BP_TRAILING) {
		memcpy(r->msg + r->len, "\x07\x00\x01", 3);
		r->len += 3;
	}
}

static int bad_push_errno(enum bad_push k)
{
	switch (k) {
	case BP_UNKNOWN_HANDLE:
	case BP_TWO_KEYS:
		return -ENOENT;
	case BP_LONG_KEY:
		return -ERANGE;		/* NLA_POLICY_RANGE on a length */
	default:
		return -EINVAL;
	}
}

FIXTURE(refused_push) {
	int fam;
};

FIXTURE_VARIANT(refused_push) {
	bool cap_ack;
	bool ext_ack;
};

/* What veild sets: the ack never repeats the request. */
FIXTURE_VARIANT_ADD(refused_push, cap_ack) {
	.cap_ack = true, .ext_ack = true,
};

/* The ack repeats the request: it must repeat no key. */
FIXTURE_VARIANT_ADD(refused_push, no_cap_ack) {
	.cap_ack = false, .ext_ack = true,
};

FIXTURE_VARIANT_ADD(refused_push, plain) {
	.cap_ack = false, .ext_ack = false,
};

FIXTURE_SETUP(refused_push)
{
	struct vnl v;

	ASSERT_EQ(0, load_module("veil"));
	ASSERT_LT(0, vnl_open(&v));
	self->fam = v.fam;
	vnl_close(&v);
}

FIXTURE_TEARDOWN(refused_push)
{
}

TEST_F(refused_push, key_never_echoed)
{
	struct raw r;
	int k;

	ASSERT_EQ(0, raw_open(&r, self->fam, variant->cap_ack, variant->ext_ack));
	for (k = 0; k < __BP_MAX; k++) {
		build_bad_push(&r, k);
		ASSERT_EQ(0, raw_call(&r)) TH_LOG("%s: no ack", bad_push_name[k]);
		EXPECT_TRUE(r.err == bad_push_errno(k) ||
			    (k == BP_LONG_KEY && r.err == -EINVAL))
			TH_LOG("%s: error %d", bad_push_name[k], r.err);
		EXPECT_FALSE(ack_has_secret(&r))
			TH_LOG("%s: the ack carries key bytes", bad_push_name[k]);
		EXPECT_TRUE(echo_wiped(&r))
			TH_LOG("%s: the echoed request was not wiped", bad_push_name[k]);
		EXPECT_EQ(!variant->cap_ack, r.echoed)
			TH_LOG("%s: echo %d", bad_push_name[k], r.echoed);
		/* strict, and says why: a message, or the missing attribute */
		if (variant->ext_ack)
			EXPECT_TRUE(r.ext_msg[0] || r.miss_type)
				TH_LOG("%s: no extack message", bad_push_name[k]);
		if (variant->ext_ack && k == BP_NO_HANDLE)
			EXPECT_EQ((uint32_t)VEIL_A_REQ_ID, r.miss_type);
	}
	/* the strict checks still tell a good push from a bad one */
	raw_begin(&r, VEIL_CMD_GET_INFO, NLM_F_REPLACE, 0);
	ASSERT_EQ(0, raw_call(&r));
	EXPECT_EQ(-EINVAL, r.err);
	raw_begin(&r, VEIL_CMD_GET_INFO, 0, 1);
	ASSERT_EQ(0, raw_call(&r));
	EXPECT_EQ(-EINVAL, r.err);
	raw_begin(&r, VEIL_CMD_GET_INFO, 0, 0);
	raw_put_u32(&r, VEIL_A_ABI_VERSION, 1);
	ASSERT_EQ(0, raw_call(&r));
	EXPECT_EQ(-EINVAL, r.err);
	close(r.fd);
}

/*
 * A push from a caller without the privilege: refused with EPERM, and its
 * key neither echoed nor left in the request.  In a child, which drops
 * CAP_SYS_ADMIN only (how) or becomes nobody.
 */
static int unprivileged_push(int fam, bool cap_ack, bool nobody,
			     char *why, size_t wlen)
{
	struct raw r;

	if (nobody ? become_nobody() : drop_sys_admin())
		return snprintf(why, wlen, "cannot drop privileges"), 1;
	if (raw_open(&r, fam, cap_ack, true))
		return snprintf(why, wlen, "socket: %s", strerror(errno)), 1;
	build_bad_push(&r, BP_UNKNOWN_ATTR);
	if (raw_call(&r))
		return snprintf(why, wlen, "no ack"), 1;
	if (r.err != -EPERM)
		return snprintf(why, wlen, "error %d, not EPERM", r.err), 1;
	if (strcmp(r.ext_msg, nobody ? "CAP_NET_ADMIN required" :
		   "CAP_SYS_ADMIN required"))
		return snprintf(why, wlen, "extack '%.64s'", r.ext_msg), 1;
	if (ack_has_secret(&r) || !echo_wiped(&r))
		return snprintf(why, wlen, "key bytes in the ack"), 1;
	return 0;
}

TEST_F(refused_push, unprivileged_key_never_echoed)
{
	for (int nobody = 0; nobody < 2; nobody++) {
		int p[2], status;
		char why[128] = "";
		pid_t pid;

		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int rc = unprivileged_push(self->fam, variant->cap_ack,
						   nobody, why, sizeof(why));

			if (write(p[1], why, strlen(why)) < 0)
				rc = 2;
			_exit(rc);
		}
		close(p[1]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (read(p[0], why, sizeof(why) - 1) < 0)
			why[0] = '\0';
		close(p[0]);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("%s: %s", nobody ? "nobody" : "no CAP_SYS_ADMIN", why);
	}
}

/*
 * The controller's policy dump walks every op's policy: a push without a
 * core policy must not upset it (a policy without maxattr would WARN).
 * The whole family, then KEY_PUSH alone (nothing to show: ENODATA), then
 * REGISTER alone.  Returns the dump's error, 0 when it ended with DONE.
 */
static int dump_policy(int op)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	uint8_t buf[16384];
	struct raw r;
	int fd;

	memset(&r, 0, sizeof(r));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -EIO;
	r.fam = GENL_ID_CTRL;
	raw_begin(&r, CTRL_CMD_GETPOLICY, NLM_F_DUMP, 0);
	((struct genlmsghdr *)(r.msg + NLMSG_HDRLEN))->version = 2;
	raw_put(&r, CTRL_ATTR_FAMILY_NAME, VEIL_GENL_NAME, sizeof(VEIL_GENL_NAME), 0);
	if (op)
		raw_put_u32(&r, CTRL_ATTR_OP, op);
	((struct nlmsghdr *)r.msg)->nlmsg_len = r.len;
	if (sendto(fd, r.msg, r.len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		goto io;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0)
			goto io;
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				close(fd);
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				close(fd);
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			}
		}
	}
io:
	close(fd);
	return -EIO;
}

TEST(policy_dump)
{
	ASSERT_EQ(0, load_module("veil"));
	EXPECT_EQ(0, dump_policy(0));
	EXPECT_EQ(-ENODATA, dump_policy(VEIL_CMD_KEY_PUSH));
	EXPECT_EQ(0, dump_policy(VEIL_CMD_REGISTER));
	EXPECT_EQ(0, dump_policy(VEIL_CMD_GET_INFO));
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
	vtc_status_called(0, st, sizeof(st), 5000);
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
	vtc_status_called(1, st, sizeof(st), 5000);
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
	vtc_status_called(2, st, sizeof(st), 5000);
	EXPECT_STREQ("active=1 calls=1 violations=0 result=err=-129 reason=host not authorised", st);
	vtc_status_called(3, st, sizeof(st), 5000);
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
		vtc_status_called(i, st, sizeof(st), 5000);
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
/*
 * The daemon's push returns as soon as the answer is queued: the consumer
 * is called back from veil.ko's own workqueue, never inside the daemon's
 * system call (where it would hold up the daemon, and allocate under
 * generic netlink's locks).  The callback here sleeps for far longer than
 * a push takes, so a push that waited for it would find it counted.
 */
TEST_F(consumer, push_returns_before_callback)
{
	struct vnl_kreq r;
	char st[512];

	NEED_CONSUMER();
	ASSERT_EQ(0, vtc_ctl("delay 10 4000"));
	ASSERT_EQ(0, vtc_ctl("request 10 %s", kid_a_hex));
	ASSERT_EQ(1, vnl_wait_reqs(&self->d, 1, 5000));
	ASSERT_TRUE(vnl_take(&self->d, &r));
	ASSERT_EQ(0, vnl_push(&self->d, r.id, kid_a, sizeof(kid_a), key32,
			      sizeof(key32), NULL));
	vtc_status(10, st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "calls=0 "))
		TH_LOG("the push returned after the callback: %s", st);
	/* ...and the answer does arrive, exactly once */
	ASSERT_EQ(0, vtc_ctl("cancel 10"));
	vtc_status(10, st, sizeof(st));
	EXPECT_STREQ("active=0 calls=1 violations=0 result=ok len=32 cipher=-", st);
	vtc_ctl("delay 10 0");
}

TEST_F(consumer, cancel_during_callback_waits)
{
	struct vnl_kreq r;
	struct vnl d2;
	char st[512];
	pid_t pid;
	int status;

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
	/* the request leaves the table just before its callback runs */
	ASSERT_LT(0, vnl_open(&d2));
	for (int i = 0; i < 250; i++) {
		ASSERT_EQ(0, vnl_get_info(&d2));
		if (!d2.pending)
			break;
		usleep(20000);
	}
	EXPECT_EQ(0, d2.pending);
	vnl_close(&d2);
	ASSERT_EQ(0, vtc_ctl("cancel 9"));
	/*
	 * The callback counts its call as it returns: a cancel that waited
	 * finds it counted.  (Elapsed time would depend on how late the
	 * child's push started on a loaded machine.)
	 */
	vtc_status(9, st, sizeof(st));
	EXPECT_NE(NULL, strstr(st, "calls=1 "))
		TH_LOG("cancel returned before the callback did: %s", st);
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
