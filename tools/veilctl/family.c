// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: ask veil.ko (generic netlink family "veil", VEIL_CMD_GET_INFO)
 * whether a key daemon is registered.  Any user may ask; nothing in the
 * reply is secret.
 */
#include <errno.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "veilctl.h"

static int info_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[VEIL_A_MAX + 1];
	struct vc_daemon *d = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, VEIL_A_MAX, NULL))
		return NL_SKIP;
	if (tb[VEIL_A_ABI_VERSION])
		d->abi = nla_get_u32(tb[VEIL_A_ABI_VERSION]);
	if (tb[VEIL_A_DAEMON_PID])
		d->pid = nla_get_u32(tb[VEIL_A_DAEMON_PID]);
	if (tb[VEIL_A_PENDING])
		d->pending = nla_get_u32(tb[VEIL_A_PENDING]);
	return NL_OK;
}

int vc_daemon_info(struct vc_daemon *d)
{
	struct nl_sock *sk;
	struct nl_msg *msg = NULL;
	int fam, r = -EIO;

	memset(d, 0, sizeof(*d));
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk))
		goto out;
	fam = genl_ctrl_resolve(sk, VEIL_GENL_NAME);
	if (fam < 0) {
		r = -ENOENT;
		goto out;
	}
	d->family = true;
	msg = nlmsg_alloc();
	if (!msg ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, fam, 0, 0,
			 VEIL_CMD_GET_INFO, VEIL_GENL_VERSION))
		goto out;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, info_cb, d);
	if (nl_send_auto(sk, msg) < 0 || nl_recvmsgs_default(sk) < 0)
		goto out;
	r = 0;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return r;
}

unsigned int vc_daemon_warn(const char *what)
{
	struct vc_daemon d;
	int r = vc_daemon_info(&d);

	if (r == -ENOENT) {
		vc_warn("%s: veil.ko's netlink family is not registered: no key can arrive (load veil.ko, start veild)",
			what);
		return 0;
	}
	if (r) {
		vc_warn("%s: cannot ask veil.ko for the key daemon: %s", what,
			strerror(-r));
		return 0;
	}
	if (d.abi != VEIL_ABI_VERSION)
		vc_warn("veil.ko speaks ABI %u, this veilctl %u: update veil's tools and modules together",
			d.abi, VEIL_ABI_VERSION);
	if (!d.pid)
		vc_warn("%s: no key daemon registered: the device stays in waiting-for-key until veild runs (I/O to encrypted data waits up to key_timeout, then fails)",
			what);
	return d.pid;
}
