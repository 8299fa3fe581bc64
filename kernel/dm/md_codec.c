// SPDX-License-Identifier: GPL-2.0
/*
 * dm-veil: the eVLU metadata codec, compiled from the one shared source so
 * the module runs exactly the code the userspace fuzz target exercises.
 */
#include "veil_md.c"
