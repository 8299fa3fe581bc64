// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl reencrypt DEV: rotate the key of an attached, encrypted eVLU
 * while it stays in use.
 *
 * A new key is created on the key manager (as encrypt does) and the
 * metadata records both key-ids and a boundary: data-area sectors below it
 * use the new key, the rest the old one.  dm-veil is told to re-read it
 * and fetches both keys.  Then, one window at a time from the boundary:
 *
 *   lock the window (dm-veil holds new I/O to it and drains the old),
 *   read its raw ciphertext, save it to the journal, record the window
 *   and the journal's CRC in the metadata, let dm-veil rewrite it with
 *   the new key (convert), record the boundary past it, commit (dm-veil
 *   moves its boundary and lets the held I/O go on).
 *
 * At every moment the metadata on disk describes the data: before convert
 * the window still holds old ciphertext; during convert the journal holds
 * it and recovery (vc_reenc_recover, run by attach) copies it back; after
 * the boundary is recorded the window holds new ciphertext.  When the
 * boundary reaches the end, the metadata names only the new key and the
 * old key-id is printed for the administrator to destroy once no replica
 * needs it; veilctl never destroys a key.
 *
 * SIGINT/SIGTERM stop the run between two windows (the current one is
 * finished), leaving a state --resume continues.  A test-only hook
 * (VEIL_TEST_CRASH_AT, see veilctl(8)) freezes the run at a chosen step.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "md_io.h"
#include "veilctl.h"

#define DEFAULT_WAIT	60	/* seconds for both keys after starting */

/* Test hook points, in the order a window passes them. */
enum crash_point {
	CP_NONE = -1,
	CP_LOCKED,
	CP_JOURNALED,
	CP_MD_JOURNAL_HALF,
	CP_CONVERTED,
	CP_COMMITTED_MD,
	CP_FINAL_HALF,
};

static const char *const cp_names[] = {
	"locked", "journaled", "md-journal-half", "converted",
	"committed-md", "final-half",
};

struct reenc {
	const char *arg;	/* what the user named */
	const char *conf;
	bool local;
	bool resume;
	long wait;
	uint32_t window;	/* sectors per window; 0: the largest */
	int64_t rate;		/* bytes/s; 0: unlimited */
	struct vc_progress p;

	struct vc_map m;
	char path[300];		/* the LU under the mapping */
	uint64_t lu_sectors;
	int fd;			/* the LU, O_RDWR | O_DIRECT */
	struct veil_md *md;	/* as last written (or read) */
	struct veil_md *next;	/* scratch for the next write */
	void *buf;		/* one window, 4096-aligned */
	char old_hex[2 * VEIL_KEY_ID_MAX + 1];
	char new_hex[2 * VEIL_KEY_ID_MAX + 1];

	enum crash_point cp;
	unsigned long cp_window;
	unsigned long nwin;	/* windows converted by this run */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	if (!stop_sig)
		stop_sig = sig;
}

/* ------------------------------------------------------- test hook --- */

static int crash_parse(struct reenc *rc)
{
	const char *env = getenv("VEIL_TEST_CRASH_AT");
	const char *colon;
	size_t i, n;
	char *end;

	rc->cp = CP_NONE;
	if (!env || !*env)
		return 0;
	colon = strchr(env, ':');
	n = colon ? (size_t)(colon - env) : strlen(env);
	for (i = 0; i < sizeof(cp_names) / sizeof(cp_names[0]); i++)
		if (strlen(cp_names[i]) == n && !strncmp(env, cp_names[i], n))
			rc->cp = (enum crash_point)i;
	if (rc->cp == CP_NONE)
		goto bad;
	if (colon) {
		errno = 0;
		rc->cp_window = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end)
			goto bad;
	}
	return 0;
bad:
	vc_err("VEIL_TEST_CRASH_AT=%s: want POINT[:N], POINT one of locked, journaled, md-journal-half, converted, committed-md, final-half",
	       env);
	return VC_EUSAGE;
}

/* Is the hook set for @cp here (the final point ignores the window)? */
static bool crash_armed(const struct reenc *rc, enum crash_point cp)
{
	return rc->cp == cp &&
	       (cp == CP_FINAL_HALF || rc->nwin == rc->cp_window);
}

/* The machine "loses power" here: the test kills the VM. */
static void __attribute__((noreturn)) crash_now(enum crash_point cp)
{
	char msg[96];
	int fd, n;

	sync();
	n = snprintf(msg, sizeof(msg), "veil-test: crash point %s reached\n",
		     cp_names[cp]);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, msg, n) != n)
			fputs("veil-test: cannot write to /dev/kmsg\n", stderr);
		close(fd);
	}
	fputs(msg, stderr);
	fflush(stderr);
	for (;;)
		pause();
}

static void crash_point(const struct reenc *rc, enum crash_point cp)
{
	if (crash_armed(rc, cp))
		crash_now(cp);
}

/* ---------------------------------------------------------- helpers --- */

/* Write rc->next as the metadata; on success it becomes rc->md. */
static int md_write(struct reenc *rc, enum crash_point half)
{
	const char *why = NULL;
	int r;

	if (half != CP_NONE && crash_armed(rc, half))
		veil_md_crash_after = 1;
	r = veil_md_write_dev_why(rc->fd, rc->lu_sectors, rc->next, 0, &why);
	if (r == -ECANCELED && veil_md_crash_after >= 0)
		crash_now(half);
	if (r) {
		vc_err("%s: cannot write metadata: %s (%s)", rc->path,
		       why ? why : "write failed", strerror(-r));
		return r;
	}
	*rc->md = *rc->next;
	return 0;
}

static int message(struct reenc *rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int message(struct reenc *rc, const char *fmt, ...)
{
	char msg[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vc_dm_message_resp(rc->m.name, msg, NULL, 0, true);
}

/*
 * dm-veil's view.  A dm-veil without re-encryption refuses the message:
 * VC_ENOMOD, said so, or -EOPNOTSUPP silently when @explain is false.
 */
static int get_status(struct reenc *rc, struct vc_reenc_status *st,
		      bool explain)
{
	char resp[256];
	int r;

	r = vc_dm_message_resp(rc->m.name, "reencrypt_status", resp,
			       sizeof(resp), true);
	if (r == -EINVAL || r == -ENOTTY || r == -EOPNOTSUPP) {
		if (!explain)
			return -EOPNOTSUPP;
		vc_err("%s: dm-veil does not know re-encryption (reencrypt_status refused): load veil modules that match this veilctl",
		       rc->m.name);
		return VC_ENOMOD;
	}
	if (r) {
		vc_err("%s: reencrypt_status failed: %s", rc->m.name,
		       strerror(-r));
		return VC_EFAIL;
	}
	if (vc_parse_reenc_status(resp, st)) {
		vc_err("%s: cannot parse dm-veil's reencrypt_status answer '%s'",
		       rc->m.name, resp);
		return VC_EFAIL;
	}
	return VC_OK;
}

/* The mapping re-reads the metadata; wait (bounded) for its keys. */
static int update_and_wait(struct reenc *rc)
{
	int r;

	r = message(rc, "update");
	if (r) {
		vc_err("%s: dm-veil refused to re-read the metadata: %s (see dmesg | grep veil)",
		       rc->m.name, strerror(-r));
		return r == -EBUSY ? VC_EBUSY : VC_EFAIL;
	}
	if (vc_dm_get(rc->m.name, &rc->m)) {
		vc_err("%s: mapping vanished", rc->m.name);
		return VC_ENODEV;
	}
	if (!strcmp(rc->m.info.state, "waiting-for-key")) {
		vc_daemon_warn(rc->m.name);
		vc_wait_state(rc->m.name, rc->wait, &rc->m);
	}
	if (strcmp(rc->m.info.state, "encrypted")) {
		vc_err("%s: state %s%s%s after reading the new metadata: both keys are needed",
		       rc->m.name, rc->m.info.state,
		       rc->m.info.reason[0] ? ": " : "", rc->m.info.reason);
		r = vc_state_exit(rc->m.info.state);
		return r ? r : VC_EFAIL;
	}
	return VC_OK;
}

/* --------------------------------------------------------- starting --- */

/*
 * A new key, and metadata naming it with the boundary at 0.  Nothing has
 * been converted yet, so if the keys do not arrive the old metadata is
 * put back.
 */
static int start(struct reenc *rc)
{
	struct veil_md *md = rc->md, *n = rc->next;
	char hint[VEIL_KEY_HINT_MAX], old_hint[VEIL_KEY_HINT_MAX];
	uint8_t id[VEIL_KEY_ID_MAX];
	int id_len = VEIL_KEY_ID_DEFAULT;
	uint32_t kb;
	int r, u;

	r = vc_provision_key_bytes(rc->conf, &kb);
	if (r)
		return r;
	if (kb != md->key_bytes) {
		vc_err("%s: the key manager configuration (%s) makes %u-byte keys, but %s uses %u-byte keys (%s): nothing was created or written; set the key size to %u bytes there",
		       rc->path, rc->conf, kb, rc->path, md->key_bytes,
		       md->cipher, md->key_bytes);
		return VC_ECERT;
	}
	r = vc_provision(rc->conf, rc->local, id, id_len, &kb, hint);
	if (r)
		return r;
	veil_hex_encode(id, id_len, rc->new_hex);
	if (kb != md->key_bytes ||
	    ((uint32_t)id_len == md->key_id_len &&
	     !memcmp(id, md->key_id, id_len))) {
		vc_err("%s: the key manager made key %s of %u bytes (%s needs %u bytes and a key other than %s): nothing was written; destroy that key: veil-kmip destroy %s",
		       rc->path, rc->new_hex, kb, md->cipher, md->key_bytes,
		       rc->old_hex, rc->new_hex);
		return VC_EKM;
	}
	memcpy(old_hint, md->key_hint, sizeof(old_hint));
	*n = *md;
	memcpy(n->old_key_id, md->key_id, md->key_id_len);
	n->old_key_id_len = md->key_id_len;
	memcpy(n->key_id, id, id_len);
	n->key_id_len = id_len;
	snprintf(n->key_hint, sizeof(n->key_hint), "%s", hint);
	n->reencrypting = true;
	n->incompat_flags |= VEIL_MD_INCOMPAT_REENCRYPT;
	n->reenc_boundary = 0;
	n->reenc_window = 0;
	n->reenc_journal_csum = 0;
	r = md_write(rc, CP_NONE);
	if (r) {
		vc_err("%s: the new key %s was created but is not used: destroy it: veil-kmip destroy %s",
		       rc->path, rc->new_hex, rc->new_hex);
		return VC_EFAIL;
	}
	vc_info("%s: re-encrypting from key-id %s to new key-id %s", rc->path,
		rc->old_hex, rc->new_hex);
	r = update_and_wait(rc);
	if (!r)
		return VC_OK;

	/* boundary 0, nothing converted: the old metadata is still right */
	*rc->next = *rc->md;
	memcpy(rc->next->key_id, rc->next->old_key_id,
	       rc->next->old_key_id_len);
	rc->next->key_id_len = rc->next->old_key_id_len;
	memcpy(rc->next->key_hint, old_hint, sizeof(old_hint));
	rc->next->reencrypting = false;
	rc->next->incompat_flags &= ~VEIL_MD_INCOMPAT_REENCRYPT;
	rc->next->old_key_id_len = 0;
	memset(rc->next->old_key_id, 0, sizeof(rc->next->old_key_id));
	u = md_write(rc, CP_NONE);
	if (!u)
		u = message(rc, "update");
	if (u)
		vc_err("%s: could not go back to key-id %s alone; run veilctl reencrypt %s --resume once the new key is available",
		       rc->path, rc->old_hex, rc->arg);
	else
		vc_err("%s: re-encryption not started: back on key-id %s alone; new key %s is unused: destroy it: veil-kmip destroy %s",
		       rc->path, rc->old_hex, rc->new_hex, rc->new_hex);
	return r;
}

/* --------------------------------------------------------- windows --- */

/* Record "no window" (same boundary) before unlocking an abandoned one. */
static int forget_window(struct reenc *rc)
{
	if (!rc->md->reenc_window)
		return 0;
	*rc->next = *rc->md;
	rc->next->reenc_window = 0;
	rc->next->reenc_journal_csum = 0;
	return md_write(rc, CP_NONE);
}

/* A locked window that was not converted: give it back unchanged. */
static int abandon(struct reenc *rc)
{
	int r;

	r = forget_window(rc);
	if (r) {
		vc_err("%s: the window stays locked (I/O to it waits): run veilctl reencrypt %s --resume",
		       rc->m.name, rc->arg);
		return VC_EFAIL;
	}
	r = message(rc, "reencrypt_unlock");
	if (r) {
		vc_err("%s: reencrypt_unlock failed: %s; run veilctl reencrypt %s --resume",
		       rc->m.name, strerror(-r), rc->arg);
		return VC_EFAIL;
	}
	return VC_OK;
}

/* A converted window: record the boundary past it, then commit. */
static int commit(struct reenc *rc, uint64_t end, bool hook)
{
	int r;

	if (rc->md->reenc_boundary != end || rc->md->reenc_window) {
		*rc->next = *rc->md;
		rc->next->reenc_boundary = end;
		rc->next->reenc_window = 0;
		rc->next->reenc_journal_csum = 0;
		r = md_write(rc, CP_NONE);
		if (r) {
			vc_err("%s: the window is converted but its boundary is not recorded; it stays locked (I/O to it waits): run veilctl reencrypt %s --resume",
			       rc->m.name, rc->arg);
			return VC_EFAIL;
		}
	}
	if (hook)
		crash_point(rc, CP_COMMITTED_MD);
	r = message(rc, "reencrypt_commit %llu", (unsigned long long)end);
	if (r) {
		vc_err("%s: reencrypt_commit failed: %s; run veilctl reencrypt %s --resume",
		       rc->m.name, strerror(-r), rc->arg);
		return VC_EFAIL;
	}
	return VC_OK;
}

static int one_window(struct reenc *rc, uint64_t b, uint64_t len)
{
	struct vc_reenc_status st;
	int r;

	r = message(rc, "reencrypt_lock %llu %llu", (unsigned long long)b,
		    (unsigned long long)len);
	if (r == -EBUSY) {
		vc_err("%s: a re-encryption window is locked already (is another veilctl reencrypt running on it?)",
		       rc->m.name);
		return VC_EBUSY;
	}
	if (r) {
		vc_err("%s: reencrypt_lock %llu %llu refused: %s (see dmesg | grep veil)",
		       rc->m.name, (unsigned long long)b,
		       (unsigned long long)len, strerror(-r));
		return VC_EFAIL;
	}
	crash_point(rc, CP_LOCKED);
	r = vc_reenc_read_window(rc->fd, rc->md, b, len, rc->buf);
	if (r) {
		vc_err("%s: cannot read data sectors %llu+%llu: %s", rc->path,
		       (unsigned long long)b, (unsigned long long)len,
		       strerror(-r));
		abandon(rc);
		return VC_EFAIL;
	}
	r = vc_reenc_journal_write(rc->fd, rc->buf, len);
	if (r) {
		vc_err("%s: cannot write the journal: %s", rc->path,
		       strerror(-r));
		abandon(rc);
		return VC_EFAIL;
	}
	crash_point(rc, CP_JOURNALED);
	*rc->next = *rc->md;
	rc->next->reenc_window = len;
	rc->next->reenc_journal_csum = veil_md_crc32c(rc->buf, len * 512);
	r = md_write(rc, CP_MD_JOURNAL_HALF);
	if (r) {
		/* either copy may be the one in use now: record no window */
		*rc->md = *rc->next;
		abandon(rc);
		return VC_EFAIL;
	}
	r = message(rc, "reencrypt_convert");
	if (r) {
		vc_err("%s: reencrypt_convert failed: %s (see dmesg | grep veil)",
		       rc->m.name, strerror(-r));
		if (!get_status(rc, &st, true) && st.locked && st.converted)
			return commit(rc, b + len, true);
		/* a partial rewrite is undone from our copy of the journal */
		r = vc_reenc_write_window(rc->fd, rc->md, b, len, rc->buf);
		if (r) {
			vc_err("%s: cannot put the old data back: %s; the window stays locked: detach, then attach restores it from the journal",
			       rc->path, strerror(-r));
			return VC_EFAIL;
		}
		abandon(rc);
		return VC_EFAIL;
	}
	crash_point(rc, CP_CONVERTED);
	return commit(rc, b + len, true);
}

/*
 * A run that stopped part-way (killed, or a failure it could not undo)
 * left the mapping and the metadata in one of the states the window steps
 * pass through; bring them back to "no window" before going on.  With the
 * mapping live the kernel's view decides: it knows whether the locked
 * window was converted.
 */
static int settle(struct reenc *rc, struct vc_reenc_status *st)
{
	uint64_t mb = rc->md->reenc_boundary, end;

	if (st->locked) {
		end = st->win_start + st->win_len;
		/* only a converted window may be recorded past already */
		if (st->win_start != st->boundary ||
		    (mb != st->win_start && (!st->converted || mb != end))) {
			vc_err("%s: the metadata (boundary %llu) and dm-veil (window %llu+%llu) disagree: detach and attach the LU, then run --resume",
			       rc->m.name, (unsigned long long)mb,
			       (unsigned long long)st->win_start,
			       (unsigned long long)st->win_len);
			return VC_EFAIL;
		}
		vc_info("%s: finishing the window a previous run left locked (%s)",
			rc->m.name, st->converted ? "converted" : "not converted");
		return st->converted ? commit(rc, end, false) : abandon(rc);
	}
	if (rc->md->reenc_window) {
		/*
		 * Not locked, so not being converted: the window's data was
		 * never rewritten (dm-veil keeps a converted window locked
		 * until commit).  Restoring the journal here could undo writes
		 * made since it was unlocked, so only the record goes.
		 */
		if (st->boundary == mb + rc->md->reenc_window) {
			*rc->next = *rc->md;
			rc->next->reenc_boundary = st->boundary;
			rc->next->reenc_window = 0;
			rc->next->reenc_journal_csum = 0;
			return md_write(rc, CP_NONE) ? VC_EFAIL : VC_OK;
		}
		if (st->boundary == mb)
			return forget_window(rc) ? VC_EFAIL : VC_OK;
	}
	if (st->boundary != rc->md->reenc_boundary) {
		vc_err("%s: the metadata (boundary %llu) and dm-veil (boundary %llu) disagree: detach and attach the LU, then run --resume",
		       rc->m.name, (unsigned long long)rc->md->reenc_boundary,
		       (unsigned long long)st->boundary);
		return VC_EFAIL;
	}
	return VC_OK;
}

/* Sleep so that the average since @t0 stays at or below the rate. */
static void throttle(const struct reenc *rc, double t0, uint64_t bytes)
{
	double ahead;

	if (!rc->rate)
		return;
	ahead = (double)bytes / (double)rc->rate - (vc_now() - t0);
	while (ahead > 0 && !stop_sig) {
		usleep(ahead > 0.2 ? 200000 : (useconds_t)(ahead * 1e6));
		ahead = (double)bytes / (double)rc->rate - (vc_now() - t0);
	}
}

static int run_windows(struct reenc *rc)
{
	uint64_t data = rc->md->data_sectors, b, len, done = 0;
	double t0 = vc_now();
	int r;

	rc->p.total = data * 512;
	vc_progress_start(&rc->p, "re-encrypting", rc->md->reenc_boundary * 512);
	while ((b = rc->md->reenc_boundary) < data) {
		if (stop_sig) {
			vc_progress(&rc->p, b * 512, true);
			vc_err("%s: interrupted at data sector %llu of %llu; the LU is usable (both keys); continue with: veilctl reencrypt %s --resume",
			       rc->m.name, (unsigned long long)b,
			       (unsigned long long)data, rc->arg);
			return VC_EXIT_SIGNAL_BASE + stop_sig;
		}
		len = data - b < rc->window ? data - b : rc->window;
		r = one_window(rc, b, len);
		if (r)
			return r;
		rc->nwin++;
		done += len * 512;
		vc_progress(&rc->p, rc->md->reenc_boundary * 512, false);
		throttle(rc, t0, done);
	}
	vc_progress(&rc->p, data * 512, true);
	return VC_OK;
}

/* The boundary is at the end: only the new key is left. */
static int finish(struct reenc *rc)
{
	struct veil_md *n = rc->next;
	int r;

	/*
	 * The journal still holds the last window's old ciphertext; the old
	 * key may be why the key is rotated.  Cleared while the metadata
	 * names no window, before the re-encryption is removed from it.
	 */
	r = vc_reenc_journal_clear(rc->fd);
	if (r) {
		vc_err("%s: cannot clear the journal: %s; run veilctl reencrypt %s --resume to finish",
		       rc->path, strerror(-r), rc->arg);
		return VC_EFAIL;
	}
	*n = *rc->md;
	n->reencrypting = false;
	n->incompat_flags &= ~VEIL_MD_INCOMPAT_REENCRYPT;
	n->reenc_boundary = 0;
	n->reenc_window = 0;
	n->reenc_journal_csum = 0;
	n->old_key_id_len = 0;
	memset(n->old_key_id, 0, sizeof(n->old_key_id));
	r = md_write(rc, CP_FINAL_HALF);
	if (r)
		return VC_EFAIL;
	r = message(rc, "update");
	if (r) {
		vc_err("%s: all data is re-encrypted and recorded, but dm-veil did not re-read the metadata (%s): run veilctl update %s",
		       rc->m.name, strerror(-r), rc->m.name);
		return VC_EFAIL;
	}
	if (!vc_dm_get(rc->m.name, &rc->m))
		vc_print_state(&rc->m);
	vc_info("%s: re-encryption complete: every sector now uses key-id %s",
		rc->path, rc->new_hex);
	vc_info("the old key %s is no longer used by this LU; once no replica, snapshot or backup of it needs that key, destroy it on the key manager: veil-kmip destroy %s",
		rc->old_hex, rc->old_hex);
	return VC_OK;
}

/* ------------------------------------------------------------ setup --- */

int vc_reenc_recover_path(const char *path)
{
	struct veil_md_copies *c;
	struct stat st;
	const char *why = NULL;
	int fd, r, flags = O_RDWR | O_EXCL | O_CLOEXEC;
	u64 n;

	if (!stat(path, &st) && S_ISBLK(st.st_mode))
		flags |= O_DIRECT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	fd = open(path, flags);
	if (fd < 0) {
		r = vc_open_err(path, errno);
		goto out;
	}
	r = veil_md_dev_sectors(fd, &n);
	if (!r)
		r = veil_md_read_copies(fd, n, c);
	if (r) {
		vc_err("%s: cannot read metadata: %s", path, strerror(-r));
		r = VC_EFAIL;
		goto out;
	}
	if (c->pick < 0) {
		r = vc_md_explain(path, c);
		goto out;
	}
	r = vc_reenc_recover(fd, n, &c->md[c->pick], &why);
	if (r < 0) {
		vc_err("%s: cannot recover the interrupted re-encryption: %s (%s)",
		       path, why ? why : "failed", strerror(-r));
		r = r == -EBADMSG ? VC_EBADMD : VC_EFAIL;
		goto out;
	}
	if (r)
		vc_info("%s: interrupted re-encryption: the window at data sector %llu was restored from the journal (old key); veilctl reencrypt --resume continues it",
			path,
			(unsigned long long)c->md[c->pick].reenc_boundary);
	r = VC_OK;
out:
	if (fd >= 0)
		close(fd);
	free(c);
	return r;
}

/*
 * Not attached: the LU may hold a journaled window (the kernel refuses to
 * map it until it is restored), so recover it; then refuse.
 */
static int not_attached(const struct reenc *rc)
{
	struct veil_md_copies *c;
	const struct veil_md *md;
	struct stat st;
	int r = VC_OK;

	if (!strchr(rc->arg, '/')) {
		vc_err("%s: no such veil mapping (re-encryption runs on an attached, encrypted LU)",
		       rc->arg);
		return VC_ENODEV;
	}
	if (!stat(rc->arg, &st) && S_ISBLK(st.st_mode)) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return VC_EFAIL;
		if (!vc_md_read(rc->arg, c, NULL) && c->pick >= 0) {
			md = &c->md[c->pick];
			if (md->reencrypting && md->reenc_window)
				r = vc_reenc_recover_path(rc->arg);
		}
		free(c);
		if (r)
			return r;
	}
	vc_err("%s: not attached: re-encryption runs on an attached, encrypted LU: veilctl attach it, then run veilctl reencrypt again%s",
	       rc->arg, rc->resume ? " with --resume" : "");
	return VC_ENODEV;
}

static int open_lu(struct reenc *rc)
{
	struct veil_md_copies *c;
	u64 lu;
	int r;

	vc_devno_path(rc->m.dev, rc->path, sizeof(rc->path));
	if (!rc->path[0]) {
		vc_err("%s: cannot find the device %s under mapping %s",
		       rc->arg, rc->m.dev, rc->m.name);
		return VC_ENODEV;
	}
	/* the mapping holds the LU exclusively: no O_EXCL */
	rc->fd = open(rc->path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (rc->fd < 0)
		return vc_open_err(rc->path, errno);
	/*
	 * One run per LU: a second one would take the first one's locked
	 * window for the leftover of a dead run and settle it.
	 */
	if (flock(rc->fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK) {
			vc_err("%s: flock: %s", rc->path, strerror(errno));
			return VC_EFAIL;
		}
		vc_err("%s: another veilctl reencrypt is running on it",
		       rc->path);
		return VC_EBUSY;
	}
	r = veil_md_dev_sectors(rc->fd, &lu);
	rc->lu_sectors = lu;
	if (r) {
		vc_err("%s: %s", rc->path, strerror(-r));
		return VC_EFAIL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	r = veil_md_read_copies(rc->fd, rc->lu_sectors, c);
	if (r) {
		vc_err("%s: cannot read metadata: %s", rc->path, strerror(-r));
		free(c);
		return VC_EFAIL;
	}
	if (c->pick < 0) {
		r = vc_md_explain(rc->path, c);
		free(c);
		return r;
	}
	*rc->md = c->md[c->pick];
	free(c);
	return VC_OK;
}

static int check_lu(struct reenc *rc, const struct vc_reenc_status *st)
{
	const struct veil_md *md = rc->md;
	uint32_t unit = md->sector_size / 512;

	if (md->reencrypting) {
		veil_hex_encode(md->old_key_id, md->old_key_id_len, rc->old_hex);
		veil_hex_encode(md->key_id, md->key_id_len, rc->new_hex);
	} else {
		veil_hex_encode(md->key_id, md->key_id_len, rc->old_hex);
		if (rc->resume) {
			vc_err("%s: nothing to resume: no re-encryption is in progress (run without --resume to start one)",
			       rc->path);
			return VC_EREENC;
		}
		if (st->active) {
			vc_err("%s: dm-veil re-encrypts but the metadata says it does not: detach and attach the LU",
			       rc->m.name);
			return VC_EFAIL;
		}
	}
	if (!rc->window)
		rc->window = VEIL_MD_JOURNAL_SECTORS;
	if (rc->window % unit) {
		vc_err("--window %u: must be a multiple of %u (the LU's %u-byte sectors)",
		       rc->window, unit, md->sector_size);
		return VC_EUSAGE;
	}
	if (strcmp(rc->m.info.state, "encrypted")) {
		vc_err("%s: state %s%s%s: re-encryption needs the mapping in state encrypted (its key present)",
		       rc->m.name, rc->m.info.state,
		       rc->m.info.reason[0] ? ": " : "", rc->m.info.reason);
		return !strcmp(rc->m.info.state, "unencrypted") ? VC_ENOTEVLU :
		       vc_state_exit(rc->m.info.state) ?: VC_EFAIL;
	}
	return VC_OK;
}

/*
 * dm-veil re-encrypts but the metadata on the LU does not: a run wrote
 * metadata with only one key and stopped before dm-veil re-read it.
 * Either the rotation had finished (boundary at the end: the new key is
 * the one named) or a start was taken back (boundary 0: the old key is),
 * so in both cases the metadata describes every sector: send the update.
 * Returns -EALREADY when the rotation is done, else VC_OK or the code.
 */
static int catch_up(struct reenc *rc, struct vc_reenc_status *st)
{
	bool done = st->boundary == st->data_sectors;
	int r;

	if (st->locked) {
		vc_err("%s: dm-veil holds a locked window but the metadata has no re-encryption: detach and attach the LU",
		       rc->m.name);
		return VC_EBUSY;
	}
	if (!done && st->boundary)
		return VC_OK;	/* not that case: check_lu explains */
	r = update_and_wait(rc);
	if (!r)
		r = get_status(rc, st, true);
	if (r)
		return r;
	if (st->active) {
		vc_err("%s: dm-veil still re-encrypts after re-reading metadata that says it does not",
		       rc->m.name);
		return VC_EFAIL;
	}
	veil_hex_encode(rc->md->key_id, rc->md->key_id_len, rc->new_hex);
	vc_info("%s: dm-veil re-read the metadata a previous run left: %s key-id %s",
		rc->path, done ? "re-encryption complete, only" : "not re-encrypting,",
		rc->new_hex);
	return done ? -EALREADY : VC_OK;
}

static int reencrypt(struct reenc *rc)
{
	struct vc_reenc_status st;
	int r;

	r = vc_dm_ready();
	if (r)
		return r;
	r = vc_dm_find(rc->arg, &rc->m);
	if (r == -ENOTTY) {
		vc_err("%s: not a veil mapping", rc->arg);
		return VC_ENOTEVLU;
	}
	if (r)
		return not_attached(rc);
	r = open_lu(rc);
	if (r)
		return r;
	if (!rc->md->key_id_len) {
		vc_err("%s: not encrypted (no key-id): there is no key to rotate; veilctl encrypt makes an eVLU",
		       rc->path);
		return VC_ENOTEVLU;
	}
	r = get_status(rc, &st, !rc->resume || rc->md->reencrypting);
	if (r == -EOPNOTSUPP) {
		/* a dm-veil that cannot re-encrypt has nothing to resume */
		vc_err("%s: nothing to resume: no re-encryption is in progress (run without --resume to start one)",
		       rc->path);
		return VC_EREENC;
	}
	if (r)
		return r;
	if (!rc->md->reencrypting && st.active) {
		r = catch_up(rc, &st);
		if (r == -EALREADY)
			return VC_OK;
		if (r)
			return r;
	}
	r = check_lu(rc, &st);
	if (r)
		return r;
	if (posix_memalign(&rc->buf, 4096, (size_t)rc->window * 512))
		return VC_EFAIL;
	if (!rc->md->reencrypting) {
		r = start(rc);
		if (!r)
			r = get_status(rc, &st, true);
		if (r)
			return r;
	} else {
		vc_info("%s: resuming re-encryption to key-id %s at data sector %llu of %llu",
			rc->path, rc->new_hex,
			(unsigned long long)rc->md->reenc_boundary,
			(unsigned long long)rc->md->data_sectors);
		if (!st.active) {
			/* metadata written, update not sent */
			r = update_and_wait(rc);
			if (!r)
				r = get_status(rc, &st, true);
			if (r)
				return r;
		}
	}
	if (!st.active) {
		vc_err("%s: dm-veil does not re-encrypt after reading metadata that says it should (see dmesg | grep veil)",
		       rc->m.name);
		return VC_EFAIL;
	}
	r = settle(rc, &st);
	if (r)
		return r;
	r = run_windows(rc);
	if (r)
		return r;
	return finish(rc);
}

int cmd_reencrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'R' },
		{ "resume", no_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'W' },
		{ "config", required_argument, NULL, 'c' },
		{ "local", no_argument, NULL, 'L' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct reenc rc = {
		.conf = VC_DEFAULT_ETC "/" VC_CONF_NAME,
		.wait = DEFAULT_WAIT,
		.p.on = isatty(2),
		.fd = -1,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long v;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': rc.p.on = true; break;
		case 'n': rc.p.on = false; break;
		case 'r': rc.resume = true; break;
		case 'c': rc.conf = optarg; break;
		case 'L': rc.local = true; break;
		case 'R':
			rc.rate = vc_parse_rate(optarg);
			if (rc.rate < 0) {
				vc_err("--rate %s: want bytes per second, e.g. 50M (K, M, G: powers of 1024)",
				       optarg);
				return VC_EUSAGE;
			}
			break;
		case 'W':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || !v ||
			    v > VEIL_MD_JOURNAL_SECTORS) {
				vc_err("--window %s: want 1 to %d sectors of 512 bytes",
				       optarg, VEIL_MD_JOURNAL_SECTORS);
				return VC_EUSAGE;
			}
			rc.window = (uint32_t)v;
			break;
		case 'w':
			rc.wait = vc_parse_seconds(optarg);
			if (rc.wait < 1) {
				vc_err("--wait %s: want seconds (30, 30s, 2m), at least 1",
				       optarg);
				return VC_EUSAGE;
			}
			break;
		default:
			return vc_usage("reencrypt");
		}
	}
	if (argc - optind != 1)
		return vc_usage("reencrypt");
	rc.arg = argv[optind];
	r = crash_parse(&rc);
	if (r)
		return r;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc.md = calloc(1, sizeof(*rc.md));
	rc.next = calloc(1, sizeof(*rc.next));
	if (!rc.md || !rc.next)
		r = VC_EFAIL;
	else
		r = reencrypt(&rc);
	if (rc.fd >= 0)
		close(rc.fd);
	free(rc.buf);
	free(rc.md);
	free(rc.next);
	return r;
}
