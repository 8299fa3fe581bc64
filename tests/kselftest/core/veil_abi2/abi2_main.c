// SPDX-License-Identifier: GPL-2.0
/*
 * veil_abi2.ko (test-only, see Kbuild): veil.ko's main.c without the
 * family's module alias, so that resolving the family autoloads veil.ko,
 * never this module.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt	/* as main.c has it */

#include <linux/module.h>
#include <net/genetlink.h>

#undef MODULE_ALIAS_GENL_FAMILY
#define MODULE_ALIAS_GENL_FAMILY(family) \
	MODULE_INFO(veil_test, "family " family " with ABI 2, no alias")

#include "../../../../kernel/core/main.c"
