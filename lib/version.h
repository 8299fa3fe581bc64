/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The release number every veil program reports with --version, next to
 * the interface versions it was built for, so a version mismatch between
 * a tool, the daemon and the kernel modules is visible in one line each.
 */
#ifndef VEIL_VERSION_H
#define VEIL_VERSION_H

#include <stdio.h>

/* Must match PACKAGE_VERSION in dkms.conf and VEIL_VERSION in veil.ko. */
#define VEIL_RELEASE "0.1.0"

/*
 * Print "PROG (veil) RELEASE" and the kernel ABI, metadata format and
 * vsock proof versions to f.
 */
void veil_print_version(FILE *f, const char *prog);

#endif
