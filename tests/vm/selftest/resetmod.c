// SPDX-License-Identifier: GPL-2.0
/*
 * A module that resets the machine at load through a triple fault, for the
 * runner's own self-test: with an empty interrupt table every exception
 * faults again, the CPU shuts down, and the kernel prints nothing.  The
 * runner must fail such a run and say that a CPU triple-faulted.
 */
#include <linux/module.h>
#include <linux/irqflags.h>
#include <asm/desc.h>

static int __init resetmod_init(void)
{
	struct desc_ptr none = { .size = 0, .address = 0 };

	local_irq_disable();
	native_load_idt(&none);
	asm volatile("int3");
	return 0;
}

module_init(resetmod_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("veil runner self-test: triple fault at load");
