// SPDX-License-Identifier: LGPL-2.1-or-later
/* --version output shared by every veil program. */
#include <linux/veil.h>

#include "version.h"

void veil_print_version(FILE *f, const char *prog)
{
	fprintf(f, "%s (veil) %s\n"
		"kernel ABI %d, metadata format %d, vsock proof %d\n",
		prog, VEIL_RELEASE, VEIL_ABI_VERSION, VEIL_MD_VERSION,
		VEIL_PROOF_VERSION);
}
