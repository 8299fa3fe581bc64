// SPDX-License-Identifier: GPL-2.0
/*
 * veil_abi2.ko (test-only, see Kbuild): veil.ko's request.c without its
 * exports, which would clash with veil.ko's at modpost (same symbols in one
 * build) and could let dm-veil bind to this module.
 */
#include <linux/export.h>

#undef EXPORT_SYMBOL_GPL
#define EXPORT_SYMBOL_GPL(sym) extern typeof(sym) sym

#include "../../../../kernel/core/request.c"
