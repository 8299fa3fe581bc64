/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The "veil" generic netlink family: the wire side of the event queue.
 */
#ifndef _VEIL_NETLINK_H
#define _VEIL_NETLINK_H

#include <linux/types.h>
#include <linux/veil.h>

/*
 * The netlink ABI this module reports and accepts.  Always the UAPI's
 * VEIL_ABI_VERSION, except in the test-only veil_abi2.ko
 * (tests/kselftest/core/veil_abi2/), built from these same sources with
 * -DVEIL_KERNEL_ABI=2 so that veild can be tested against a kernel of
 * another ABI.  Nothing else may define it.
 */
#ifndef VEIL_KERNEL_ABI
#define VEIL_KERNEL_ABI VEIL_ABI_VERSION
#endif

struct veil_key_req;

int vcore_nl_init(void);
void vcore_nl_exit(void);

/* Send req to the daemon socket portid as VEIL_CMD_KEY_REQUEST.  Never
 * blocks on the daemon: a full socket buffer fails with -EAGAIN.
 */
int vcore_nl_post(u32 portid, const struct veil_key_req *req);

#endif /* _VEIL_NETLINK_H */
