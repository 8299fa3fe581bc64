// SPDX-License-Identifier: GPL-2.0
/*
 * 9pnet_vsock.ko: the 9P transport "vsock", so that the kernel's own v9fs
 * mounts a 9P server reached over AF_VSOCK:
 *
 *   mount -t 9p -o trans=vsock,port=564,version=9p2000.L CID /mnt
 *
 * This file only registers the transport and takes it away again; see
 * vsock9p.h for what the other files own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <net/9p/9p.h>
#include <net/9p/client.h>
#include <net/9p/transport.h>

#include "vsock9p.h"

static int __init vs9p_init(void)
{
	v9fs_register_trans(&vs9p_trans);
	return 0;
}

static void __exit vs9p_exit(void)
{
	/* The 9p client holds a module reference per mount, so no
	 * connection is left by now.
	 */
	v9fs_unregister_trans(&vs9p_trans);
}

module_init(vs9p_init);
module_exit(vs9p_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("9P transport over AF_VSOCK (trans=vsock), with the veil proof handshake");
MODULE_AUTHOR("The veil authors");
MODULE_ALIAS_9P("vsock");
