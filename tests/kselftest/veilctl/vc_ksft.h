/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the veilctl guest suites share: the test keys, veilctl's exit
 * codes, run() (a command whose output lands in out[] and in the TAP log)
 * and the check that the guest can run them at all (veilctl and the stub
 * built, three brd RAM disks, dm-veil loadable).
 */
#ifndef VC_KSFT_H
#define VC_KSFT_H

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "../veil_ksft.h"

#define K1 "00112233445566778899aabbccddeeff"
#define K2 "ffeeddccbbaa99887766554433221100"
#define KEY1 "0101010101010101010101010101010101010101010101010101010101010101" \
	     "0202020202020202020202020202020202020202020202020202020202020202"
#define KEY2 "0303030303030303030303030303030303030303030303030303030303030303" \
	     "0404040404040404040404040404040404040404040404040404040404040404"

/* Exit codes from veilctl(8). */
enum { OK = 0, USAGE = 2, BUSY = 3, ISEVLU = 4, NOTEVLU = 5, BADMD = 6,
       NOKEY = 8, WAITING = 9, NODEV = 11, CONF = 12, BACKUP = 14,
       REENC = 15 };

static char out[16384];

/* Run, capture stdout+stderr into out[], echo it as TAP comments. */
static inline __attribute__((format(printf, 1, 2))) int run(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsh_out(out, sizeof(out), true, fmt, ap);
	va_end(ap);
	return rc;
}

static inline bool has(const char *s)
{
	return strstr(out, s) != NULL;
}

/*
 * NULL when the guest can run these tests, else why not (for SKIP()).
 * Loads brd (three 16 MiB RAM disks), xts, loop and dm-veil.
 */
static inline const char *vc_guest_ready(void)
{
	if (sh("command -v veilctl >/dev/null && command -v veil-keyd-stub >/dev/null"))
		return "veilctl or veil-keyd-stub not built";
	if (access("/dev/ram2", F_OK)) {
		sh("rmmod brd 2>/dev/null");
		sh("modprobe brd rd_nr=3 rd_size=16384");
	}
	if (access("/dev/ram2", F_OK))
		return "no brd RAM disks";
	sh("modprobe -a xts loop 2>/dev/null");
	if (sh("modprobe dm-veil"))
		return "dm-veil.ko not loadable";
	return NULL;
}

#endif /* VC_KSFT_H */
