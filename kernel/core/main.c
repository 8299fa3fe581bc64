// SPDX-License-Identifier: GPL-2.0
/*
 * veil.ko: the key event queue between veil's kernel consumers (dm-veil,
 * 9pnet_vsock) and the key daemon.  This file only brings the parts up in
 * order and down in reverse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <net/genetlink.h>

#include "netlink.h"
#include "request.h"

#define VEIL_VERSION "0.1.0"

static int __init vcore_init(void)
{
	int err;

	err = vcore_req_init();
	if (err)
		return err;
	err = vcore_nl_init();
	if (err)
		goto out_req;

	pr_info("veil " VEIL_VERSION " loaded (netlink ABI %u)\n",
		VEIL_KERNEL_ABI);
	return 0;
out_req:
	vcore_req_exit();
	return err;
}

static void __exit vcore_exit(void)
{
	vcore_nl_exit();
	vcore_req_exit();
}

module_init(vcore_init);
module_exit(vcore_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("veil key event queue (generic netlink family \"veil\")");
MODULE_AUTHOR("The veil authors");
MODULE_VERSION(VEIL_VERSION);
MODULE_ALIAS_GENL_FAMILY(VEIL_GENL_NAME);
