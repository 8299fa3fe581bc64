// SPDX-License-Identifier: GPL-2.0
/*
 * A module that misbehaves on purpose, for the runner's own self-test: the
 * runner must fail a run whose guest logged a WARNING even though the job
 * itself exited 0.
 */
#include <linux/module.h>
#include <linux/bug.h>

static int __init warnmod_init(void)
{
	WARN_ON(1);
	return 0;
}

static void __exit warnmod_exit(void)
{
}

module_init(warnmod_init);
module_exit(warnmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("veil runner self-test: WARN_ON(1) at load");
