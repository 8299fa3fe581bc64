// SPDX-License-Identifier: GPL-2.0
/* veil_abi2.ko (test-only, see Kbuild): veil.ko's netlink.c, ABI 2. */
#include "../../../../kernel/core/netlink.c"
