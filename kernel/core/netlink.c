// SPDX-License-Identifier: GPL-2.0
/*
 * The "veil" generic netlink family (see include/uapi/linux/veil.h for the
 * attribute tree): parses and checks what the key daemon sends, formats what
 * the kernel sends it, and notices when the daemon's socket closes.  The
 * request table itself lives in request.c.
 *
 * The family exists in the initial network namespace only (netnsok is
 * false): the key daemon is a host service, and a container cannot see,
 * let alone answer, the host's key requests.
 *
 * Operations run in parallel (parallel_ops): request.c does its own locking,
 * and a push or fail only queues the answer (request.c delivers it to the
 * consumer from a workqueue of its own), so no consumer ever runs inside
 * the daemon's system call or under a generic netlink lock.
 *
 * A key push is the one message that carries secret bytes, and whatever
 * refuses it must not send them back: the netlink core answers a refused
 * request with an ack that repeats the whole request (unless the socket set
 * NETLINK_CAP_ACK), and frees the request unwiped.  So nothing refuses a
 * push before its handler runs: the core neither checks its header, nor its
 * permissions, nor parses its attributes (it is below resv_start_op, has no
 * core policy, no GENL_ADMIN_PERM, and pre_doit lets it through), and the
 * handler does all of that itself, then wipes every attribute byte of the
 * request on every return path.  The ack, built after the handler returns,
 * repeats zeros.  What the core still turns away before any family sees
 * it: a sender outside the initial network namespace ("no such family",
 * the family does not exist there) and a message without NLM_F_REQUEST
 * (skipped; an ack, if asked for, repeats no payload).  The key daemon
 * sends from the initial namespace and always sets NLM_F_REQUEST.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringify.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "compat.h"
#include "netlink.h"
#include "request.h"

/* internal_flags of an op */
#define VEIL_NL_ADMIN		BIT(0)	/* CAP_NET_ADMIN and CAP_SYS_ADMIN */
#define VEIL_NL_SECRET		BIT(1)	/* carries key bytes: the handler checks */

/*
 * The first command for which the generic netlink core checks the header
 * and substitutes a reject-everything policy where an op has none.  The
 * commands below it are checked by vcore_nl_check() instead, so that a push
 * reaches its handler whatever is wrong with it.  A new command that
 * carries secrets needs this moved above its number.
 */
#define VEIL_NL_CORE_CHECKED_FROM	(VEIL_CMD_KEY_PUSH + 1)

/*
 * One policy per command: an attribute a command does not use is rejected
 * rather than ignored (strict validation refuses NLA_UNSPEC entries and
 * anything above VEIL_A_MAX).
 */
static const struct nla_policy vcore_get_info_policy[VEIL_A_MAX + 1] = {
	/* every entry NLA_UNSPEC: any attribute is refused */
};

static const struct nla_policy vcore_register_policy[VEIL_A_MAX + 1] = {
	[VEIL_A_ABI_VERSION]	= { .type = NLA_U32 },
};

static const struct nla_policy vcore_push_policy[VEIL_A_MAX + 1] = {
	[VEIL_A_REQ_ID]		= { .type = NLA_U32 },
	[VEIL_A_KEY_ID]		= NLA_POLICY_RANGE(NLA_BINARY, 1, VEIL_KEY_ID_MAX),
	[VEIL_A_KEY]		= NLA_POLICY_RANGE(NLA_BINARY, 1, VEIL_KEY_MAX),
	[VEIL_A_CIPHER]		= { .type = NLA_NUL_STRING,
				    .len = VEIL_CIPHER_MAX - 1 },
};

static const struct nla_policy vcore_fail_policy[VEIL_A_MAX + 1] = {
	[VEIL_A_REQ_ID]		= { .type = NLA_U32 },
	[VEIL_A_KEY_ID]		= NLA_POLICY_RANGE(NLA_BINARY, 1, VEIL_KEY_ID_MAX),
	[VEIL_A_ERRNO]		= NLA_POLICY_RANGE(NLA_U32, 1, MAX_ERRNO),
	[VEIL_A_REASON]		= { .type = NLA_NUL_STRING,
				    .len = VEIL_REASON_MAX - 1 },
};

static struct genl_family vcore_nl_family;

int vcore_nl_post(u32 portid, const struct veil_key_req *req)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(2 * nla_total_size(sizeof(u32)) +
			  nla_total_size(strlen(req->object) + 1) +
			  nla_total_size(req->key_id_len) +
			  nla_total_size(strlen(req->hint) + 1), GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	hdr = genlmsg_put(skb, 0, 0, &vcore_nl_family, 0, VEIL_CMD_KEY_REQUEST);
	if (!hdr)
		goto too_small;
	if (nla_put_u32(skb, VEIL_A_REQ_ID, req->id) ||
	    nla_put_u32(skb, VEIL_A_CONSUMER, req->consumer) ||
	    nla_put_string(skb, VEIL_A_OBJECT, req->object) ||
	    nla_put(skb, VEIL_A_KEY_ID, req->key_id_len, req->key_id) ||
	    (req->hint[0] && nla_put_string(skb, VEIL_A_KEY_HINT, req->hint)))
		goto too_small;
	genlmsg_end(skb, hdr);
	return genlmsg_unicast(&init_net, skb, portid);

too_small:
	nlmsg_free(skb);
	return -EMSGSIZE;
}

/*
 * What the core checks for commands from VEIL_NL_CORE_CHECKED_FROM on, for
 * the commands below it: a zero reserved byte, no nlmsg_flags beyond
 * REQUEST, ACK and ECHO, and, for @admin commands, the caller's privilege.
 *
 * GENL_ADMIN_PERM asks for CAP_NET_ADMIN; handing keys to the kernel is a
 * CAP_SYS_ADMIN matter, so both are required.  netlink_capable() asks
 * for the capability in the initial user namespace, always of the task
 * that sends the message (generic netlink runs in the sender's context),
 * and of the credentials the socket was opened with only when the message
 * carries no destination address (write(), send(), sendmsg() without
 * msg_name).  A sendto()/sendmsg() addressed to the kernel (nl_pid 0),
 * which is how libnl sends, is judged by the sender alone.  So a socket
 * opened by a privileged process gives an unprivileged one that comes to
 * hold it (inherited, or passed over a unix socket) nothing; the sender
 * must be privileged either way.
 */
static int vcore_nl_check(struct sk_buff *skb, struct genl_info *info,
			  bool admin)
{
	u16 flags = info->nlhdr->nlmsg_flags;

	if (info->genlhdr->reserved) {
		GENL_SET_ERR_MSG(info, "genlmsghdr.reserved field is not 0");
		return -EINVAL;
	}
	if (flags & ~(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO)) {
		GENL_SET_ERR_MSG(info, "ambiguous or reserved bits set in nlmsg_flags");
		return -EINVAL;
	}
	if (!admin)
		return 0;
	if (!netlink_capable(skb, CAP_NET_ADMIN)) {
		GENL_SET_ERR_MSG(info, "CAP_NET_ADMIN required");
		return -EPERM;
	}
	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "CAP_SYS_ADMIN required");
		return -EPERM;
	}
	return 0;
}

static int vcore_nl_pre_doit(const struct veil_genl_hook_ops *ops,
			     struct sk_buff *skb, struct genl_info *info)
{
	/* A command carrying secrets checks inside its wiping scope. */
	if (ops->internal_flags & VEIL_NL_SECRET)
		return 0;
	return vcore_nl_check(skb, info, ops->internal_flags & VEIL_NL_ADMIN);
}

static int vcore_nl_get_info(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	u32 pid, pending;
	void *hdr;

	msg = genlmsg_new(3 * nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vcore_nl_family, 0, VEIL_CMD_GET_INFO);
	if (!hdr)
		goto too_small;
	vcore_req_info(&pid, &pending);
	if (nla_put_u32(msg, VEIL_A_ABI_VERSION, VEIL_KERNEL_ABI) ||
	    nla_put_u32(msg, VEIL_A_DAEMON_PID, pid) ||
	    nla_put_u32(msg, VEIL_A_PENDING, pending))
		goto too_small;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

too_small:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int vcore_nl_register(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *abi_attr = info->attrs[VEIL_A_ABI_VERSION];
	struct sk_buff *msg;
	void *hdr;
	u32 abi;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, VEIL_A_ABI_VERSION))
		return -EINVAL;
	abi = nla_get_u32(abi_attr);
	if (abi != VEIL_KERNEL_ABI) {
		pr_warn_ratelimited("veild speaks ABI %u, veil.ko ABI %u: upgrade %s\n",
				    abi, VEIL_KERNEL_ABI,
				    abi < VEIL_KERNEL_ABI ? "veild" : "veil.ko");
		NL_SET_ERR_MSG_ATTR(info->extack, abi_attr,
				    "ABI mismatch: veil.ko speaks ABI "
				    __stringify(VEIL_KERNEL_ABI));
		return -EPROTO;
	}

	msg = genlmsg_new(nla_total_size(sizeof(u32)), GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vcore_nl_family, 0, VEIL_CMD_REGISTER);
	if (!hdr || nla_put_u32(msg, VEIL_A_ABI_VERSION, VEIL_KERNEL_ABI)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	err = genlmsg_reply(msg, info);
	if (err)
		return err;

	/* The reply goes first, then every pending request. */
	vcore_req_daemon_register(info->snd_portid, task_tgid(current));
	return 0;
}

/* Attributes every answer carries. */
static int vcore_nl_answer_attrs(struct genl_info *info, u32 *id)
{
	if (GENL_REQ_ATTR_CHECK(info, VEIL_A_REQ_ID) ||
	    GENL_REQ_ATTR_CHECK(info, VEIL_A_KEY_ID))
		return -EINVAL;
	*id = nla_get_u32(info->attrs[VEIL_A_REQ_ID]);
	return 0;
}

/*
 * The push handler owns the whole request: it checks the header and the
 * caller, parses the attributes against vcore_push_policy itself, and on
 * every return wipes all attribute bytes of the request (the key wherever
 * it sits: a repeated VEIL_A_KEY, an attribute of the wrong type, or bytes
 * the parser never reached).
 */
static int vcore_nl_key_push(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[VEIL_A_MAX + 1];
	struct veil_keyblob *kb = NULL;
	struct nlattr *key, *key_id;
	u32 id;
	int err;

	err = vcore_nl_check(skb, info, true);
	if (err)
		goto out_wipe_msg;
	err = nlmsg_parse(info->nlhdr, GENL_HDRLEN, tb, VEIL_A_MAX,
			  vcore_push_policy, info->extack);
	if (err)
		goto out_wipe_msg;
	info->attrs = tb;
	if (GENL_REQ_ATTR_CHECK(info, VEIL_A_KEY)) {
		err = -EINVAL;
		goto out_wipe_msg;
	}
	key = tb[VEIL_A_KEY];
	key_id = tb[VEIL_A_KEY_ID];

	kb = kzalloc(sizeof(*kb), GFP_KERNEL);
	if (!kb) {
		err = -ENOMEM;
		goto out_wipe_msg;
	}
	/* The policy bounds the length; stay safe if it ever changes. */
	if (nla_len(key) < 1 || nla_len(key) > VEIL_KEY_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, key, "bad key length");
		err = -EINVAL;
		goto out_free;
	}
	kb->key_len = nla_len(key);
	memcpy(kb->key, nla_data(key), kb->key_len);
	if (tb[VEIL_A_CIPHER])
		nla_strscpy(kb->cipher, tb[VEIL_A_CIPHER], sizeof(kb->cipher));

	err = vcore_nl_answer_attrs(info, &id);
	if (err)
		goto out_free;
	err = vcore_req_answer(id, nla_data(key_id), nla_len(key_id), 0, kb,
			       NULL, info->extack);
	if (!err)
		kb = NULL;	/* the answer's now, wiped after delivery */
out_free:
	kfree_sensitive(kb);
out_wipe_msg:
	/*
	 * The request is ours until we return: leave no key in memory the
	 * skb frees, and none in the error ack, which repeats the request.
	 */
	memzero_explicit(genlmsg_data(info->genlhdr),
			 genlmsg_len(info->genlhdr));
	info->attrs = NULL;
	return err;
}

/* Errors a daemon may report; anything else becomes EIO. */
static int vcore_nl_errno(u32 e)
{
	switch (e) {
	case EKEYREJECTED:
	case ENOKEY:
	case EHOSTUNREACH:
	case EKEYREVOKED:
	case EKEYEXPIRED:
	case EACCES:
	case EPERM:
	case ETIMEDOUT:
	case ECONNREFUSED:
	case ENETUNREACH:
	case EPROTO:
	case EINVAL:
	case EIO:
		return -(int)e;
	default:
		return -EIO;
	}
}

static int vcore_nl_key_fail(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *key_id = info->attrs[VEIL_A_KEY_ID];
	char reason[VEIL_REASON_MAX] = "";
	u32 id;
	int err;

	err = vcore_nl_answer_attrs(info, &id);
	if (err)
		return err;
	if (GENL_REQ_ATTR_CHECK(info, VEIL_A_ERRNO))
		return -EINVAL;
	if (info->attrs[VEIL_A_REASON])
		nla_strscpy(reason, info->attrs[VEIL_A_REASON], sizeof(reason));

	return vcore_req_answer(id, nla_data(key_id), nla_len(key_id),
			       vcore_nl_errno(nla_get_u32(info->attrs[VEIL_A_ERRNO])),
			       NULL, reason, info->extack);
}

static const struct genl_ops vcore_nl_ops[] = {
	{
		.cmd = VEIL_CMD_GET_INFO,
		.doit = vcore_nl_get_info,
		.policy = vcore_get_info_policy,
		.maxattr = VEIL_A_MAX,
	}, {
		.cmd = VEIL_CMD_REGISTER,
		.doit = vcore_nl_register,
		.policy = vcore_register_policy,
		.maxattr = VEIL_A_MAX,
		.flags = GENL_ADMIN_PERM,
		.internal_flags = VEIL_NL_ADMIN,
	}, {
		/*
		 * No policy, no maxattr, no GENL_ADMIN_PERM: the core must
		 * not refuse a push (see the top of this file); the handler
		 * applies vcore_push_policy and the privilege check itself.
		 */
		.cmd = VEIL_CMD_KEY_PUSH,
		.doit = vcore_nl_key_push,
		.internal_flags = VEIL_NL_ADMIN | VEIL_NL_SECRET,
	}, {
		.cmd = VEIL_CMD_KEY_FAIL,
		.doit = vcore_nl_key_fail,
		.policy = vcore_fail_policy,
		.maxattr = VEIL_A_MAX,
		.flags = GENL_ADMIN_PERM,
		.internal_flags = VEIL_NL_ADMIN,
	},
};

static struct genl_family vcore_nl_family __ro_after_init = {
	.name = VEIL_GENL_NAME,
	.version = VEIL_GENL_VERSION,
	/*
	 * No family-wide maxattr: the core would parse a push with it.
	 * Every other op names its own policy and maxattr.
	 */
	.maxattr = 0,
	.module = THIS_MODULE,
	.netnsok = false,
	.parallel_ops = true,
	.pre_doit = vcore_nl_pre_doit,
	.ops = vcore_nl_ops,
	.n_ops = ARRAY_SIZE(vcore_nl_ops),
	.resv_start_op = VEIL_NL_CORE_CHECKED_FROM,
};

static int vcore_nl_notify(struct notifier_block *nb, unsigned long event,
			   void *ptr)
{
	struct netlink_notify *n = ptr;

	if (event == NETLINK_URELEASE && n->protocol == NETLINK_GENERIC &&
	    net_eq(n->net, &init_net))
		vcore_req_daemon_release(n->portid);
	return NOTIFY_DONE;
}

static struct notifier_block vcore_nl_notifier = {
	.notifier_call = vcore_nl_notify,
};

int __init vcore_nl_init(void)
{
	int err;

	err = netlink_register_notifier(&vcore_nl_notifier);
	if (err)
		return err;
	err = genl_register_family(&vcore_nl_family);
	if (err)
		goto err_unregister_notifier;
	return 0;

err_unregister_notifier:
	netlink_unregister_notifier(&vcore_nl_notifier);
	return err;
}

void vcore_nl_exit(void)
{
	genl_unregister_family(&vcore_nl_family);
	netlink_unregister_notifier(&vcore_nl_notifier);
}
