// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Credentials: each request touches the backend as the guest user the
 * fid was attached for (uid_map = passthrough), or as one fixed host
 * user (uid_map = squash).  Only the calling thread changes: fsuid/fsgid
 * are per thread, and setgroups is called as a raw syscall because the C
 * library's wrapper would change every thread of the process.  The
 * supplementary groups are just the request's gid: 9P does not carry the
 * guest user's group list.
 *
 * A thread whose fsuid is not 0 has the file capabilities (CAP_CHOWN,
 * CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, ...) dropped by the kernel,
 * so a guest user gets a guest user's rights on the host, and the
 * kernel's own rules strip setuid/setgid bits where that user may not
 * keep them.
 */
#include <errno.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsd.h"

/* What this thread acts as, to skip the system calls when it is unchanged. */
static __thread struct {
	bool set;
	uint32_t uid, gid;
} cur;

int cred_apply(struct conn *c, uint32_t uid, uint32_t gid)
{
	gid_t groups[1];

	if (c->vm->uid_map == UIDMAP_SQUASH) {
		uid = c->vm->squash_uid;
		gid = c->vm->squash_gid;
	} else if (gid == (uint32_t)-1) {
		gid = uid;	/* no gid in this request: the user-private group */
	}
	if (uid == (uint32_t)-1)
		uid = gid = 65534;
	if (cur.set && cur.uid == uid && cur.gid == gid)
		return 0;
	groups[0] = gid;
	cur.set = false;	/* until all three calls are done */
	/* fsgid and groups first: they need the privilege fsuid 0 keeps */
	if (syscall(SYS_setgroups, 1, groups))
		return -errno;
	setfsgid(gid);
	if ((uint32_t)setfsgid(-1) != gid)
		return -EPERM;
	setfsuid(uid);
	if ((uint32_t)setfsuid(-1) != uid)
		return -EPERM;
	cur.uid = uid;
	cur.gid = gid;
	cur.set = true;
	return 0;
}

void cred_reset(struct conn *c)
{
	setfsuid(geteuid());
	setfsgid(getegid());
	syscall(SYS_setgroups, 0, NULL);
	cur.set = false;
	(void)c;
}

void cred_current(uint32_t *uid, uint32_t *gid)
{
	*uid = cur.set ? cur.uid : (uint32_t)geteuid();
	*gid = cur.set ? cur.gid : (uint32_t)getegid();
}
