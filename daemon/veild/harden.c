// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Process hardening for a daemon that holds key bytes: no core dumps
 * (RLIMIT_CORE 0), not dumpable (no ptrace by non-root, no /proc/PID/mem
 * for others, no core even if the limit is raised), files private.
 * Key bytes themselves live only in veil_secmem memory.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "veild.h"

int veild_harden(void)
{
	struct rlimit no_core = { 0, 0 };

	umask(077);
	if (setrlimit(RLIMIT_CORE, &no_core)) {
		log_err("cannot disable core dumps: %m");
		return -errno;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		log_err("cannot make the process non-dumpable: %m");
		return -errno;
	}
	return 0;
}
