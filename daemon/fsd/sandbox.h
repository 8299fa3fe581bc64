/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * veil-fsd's sandbox: once the listeners are open, the process keeps only
 * the capabilities fsuid switching and guest root need, cannot gain any
 * (no_new_privs), may make only the system calls the server uses
 * (seccomp; the others fail with EPERM), and sees a private mount tree:
 * the tenant roots, the directories of its hybrid vsock sockets and
 * secret files, the --expose directories, and /proc.  The configuration
 * file is read, at each reload, by a small helper process left outside
 * the tree, so its directory (and what else lives there) stays hidden.
 * docs/fsd-admin.md ("Sandbox") says what this blocks and what it costs.
 */
#ifndef VEIL_FSD_SANDBOX_H
#define VEIL_FSD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The capabilities kept after start-up (a CapEff/CapPrm/CapBnd mask). */
uint64_t sandbox_kept_caps(void);

/*
 * Enter the sandbox.  Call once, while the process has one thread, as
 * root, after the listeners and the control socket are open.  expose:
 * extra directories shown read-write (where a reload may add tenants).
 * Returns 0, or -errno with a message in err; on failure the process
 * may be half-confined and must exit.
 */
int sandbox_enter(const struct fsd_conf *c, const char *conf_path,
		  char *const *expose, size_t n_expose, char *err, size_t errlen);

bool sandbox_active(void);

/*
 * What the sandbox asks of a configuration that the server alone does
 * not: tenant roots named by their real paths (the text of conf_path is
 * read again for the names as written), absolute socket and secret paths.
 * 0, or -EINVAL and why.  veil-fsd -t runs it unless --no-sandbox.
 */
int sandbox_precheck(const struct fsd_conf *c, const char *conf_path, char *err, size_t errlen);

/*
 * conf_load() of conf_path, through the helper when sandboxed, and the
 * check that every path the new configuration needs is visible (and
 * writable where it must be) inside the sandbox.
 */
int sandbox_conf_load(const char *conf_path, struct fsd_conf **out, char *err, size_t errlen);

/* 0 if c can be served from inside the sandbox, else -EXDEV and why. */
int sandbox_check(const struct fsd_conf *c, char *err, size_t errlen);

#endif
