/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * veilctl: the administrator's tool for veil encrypted logical units
 * (eVLUs).  One file per subcommand (cmd_*.c); the parts they share:
 *
 *   main.c     the subcommand table, global options, exit codes
 *   dm.c       libdevmapper: every ioctl veilctl issues, udev cookies
 *   kmod.c     libkmod: load veil.ko / dm-veil.ko when missing
 *   family.c   the "veil" generic netlink family: is a key daemon there?
 *   device.c   block devices: size, busy checks, metadata reading,
 *              finding the device of a veiltab line
 *   parse.c    pure parsers and formatters (unit tested)
 *   json.c     a minimal JSON writer (unit tested)
 *   provision.c  creating a key on the key manager (libveil's KMIP client)
 *   cert.c     the host certificate: expiry, key pair and CSR generation
 *   progress.c the progress bar of migrate and reencrypt
 *   reenc.c    the re-encryption journal: write, check, replay (shared by
 *              reencrypt and attach; no device-mapper, unit tested)
 *
 * Nothing here ever handles key bytes except provision.c, which never
 * sees them either: the key manager creates the key, veilctl only learns
 * its key-id.
 */
#ifndef VEILCTL_H
#define VEILCTL_H

#include "util.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/veil.h>
#include "veil_md.h"

/*
 * Exit codes.  Stable: scripts rely on them; listed in --help and in
 * veilctl(8).  Never renumber; add new ones at the end.
 */
enum vc_exit {
	VC_OK = 0,
	VC_EFAIL = 1,		/* operation failed (I/O, device-mapper, ...) */
	VC_EUSAGE = 2,		/* bad command line */
	VC_EBUSY = 3,		/* device mounted, held or open */
	VC_EISEVLU = 4,		/* device is already an eVLU */
	VC_ENOTEVLU = 5,	/* device holds no veil metadata / not veil */
	VC_EBADMD = 6,		/* metadata damaged or from a newer veil */
	VC_ENOMOD = 7,		/* veil modules missing or too old */
	VC_ENOKEY = 8,		/* key refused or not found: state no-key */
	VC_EWAITING = 9,	/* still waiting for the key (--wait expired) */
	VC_EKM = 10,		/* key manager error while provisioning */
	VC_ENODEV = 11,		/* no such device or mapping */
	VC_ECERT = 12,		/* host certificate or configuration problem */
	VC_EPERM = 13,		/* not root: no CAP_SYS_ADMIN, device not writable */
	VC_EBACKUP = 14,	/* header backup damaged or of another LU */
	VC_EREENC = 15,		/* re-encryption: none to resume, or one in
				 * progress where the command needs a single key
				 */
};

/*
 * reencrypt stopped by SIGINT or SIGTERM at a window boundary (resumable):
 * the shell's convention, 128 + the signal number (130, 143).
 */
#define VC_EXIT_SIGNAL_BASE	128

#define VC_DEFAULT_ETC		"/etc/veil"
#define VC_CONF_NAME		"veild.conf"
#define VC_DM_UUID_PREFIX	"VEIL-"
#define VC_NAME_PREFIX		"veil-"
#define VC_TARGET		"veil"
#define VC_TARGET_MAJOR		1	/* dm-veil target version we speak */
#define VC_CERT_WARN_DAYS	30

/* ---- main.c ---- */

struct vc_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *synopsis;
};

extern const char *vc_prog;
extern bool vc_quiet;
void vc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vc_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vc_usage(const char *cmd);	/* prints the synopsis, returns VC_EUSAGE */

/* ---- parse.c (no I/O: unit tested in tests/unit/test_veilctl.c) ---- */

/* What dm-veil's status INFO line says (see kernel/dm/target.c). */
struct vc_info {
	char state[24];
	char key_id[2 * VEIL_KEY_ID_MAX + 1];	/* "" if none */
	unsigned int held;
	unsigned int sector_size;
	char cipher[VEIL_CIPHER_MAX];		/* "" if none */
	char reason[VEIL_REASON_MAX];		/* "" if none */
};

/* 0, or -EINVAL if @params is not a veil INFO line. */
int vc_parse_info(const char *params, struct vc_info *inf);
/* The device of a veil TABLE line ("253:0 1 key_timeout:30"). */
int vc_parse_table_dev(const char *params, char *dev, size_t size);
/* "30", "30s", "2m": seconds; -1 if malformed. */
long vc_parse_seconds(const char *s);
/* Does @state (INFO's first word) map to an exit code, and which? */
int vc_state_exit(const char *state);
/* Human size: "8.0 MiB". */
void vc_fmt_size(uint64_t bytes, char *buf, size_t size);
/* Default mapping name for a device path: "veil-" + basename. */
int vc_default_name(const char *dev, char *name, size_t size);
/* A dm name veilctl accepts: 1..127 chars of [A-Za-z0-9._+-]. */
bool vc_valid_name(const char *name);

/* ---- spec.c (no I/O: unit tested) ---- */

struct veil_md;
struct veil_md_extent;

/* A cipher spec "<cipher>-<chain>[-<iv>]" taken apart. */
struct vc_cipher_spec {
	char cipher[VEIL_CIPHER_MAX];
	char chain[VEIL_CIPHER_MAX];
	char iv[VEIL_CIPHER_MAX];
	char api[2 * VEIL_CIPHER_MAX + 2];	/* "xts(aes)" */
};

/* The syntax dm-veil accepts.  0 or -EINVAL with *why set. */
int vc_cipher_split(const char *spec, struct vc_cipher_spec *s,
		    const char **why);
/*
 * Can this kernel run @spec with a @key_bytes key (0: the size is not known
 * yet; only the spec and its availability are checked)?  @proc_crypto is the
 * text of /proc/crypto (may be NULL); @have_alias says whether a module
 * alias ("crypto-xts") resolves, for algorithms not loaded yet.  0,
 * -EINVAL (bad spec or key size) or -ENOENT (not available), with @why.
 */
int vc_cipher_check(const char *spec, uint32_t key_bytes,
		    const char *proc_crypto, bool (*have_alias)(const char *),
		    char *why, size_t why_size);
/* "START:LEN" in 512-byte sectors.  0 or -EINVAL. */
int vc_parse_range(const char *s, struct veil_md_extent *e);
/* Sort @r and check it against the format's rules.  0 or -EINVAL + @why. */
int vc_ranges_check(struct veil_md_extent *r, unsigned int n,
		    uint64_t data_sectors, uint32_t sector_size,
		    char *why, size_t why_size);
/*
 * A key of @key_bytes from what was read: 2 * key_bytes hex digits
 * (trailing white space allowed) or exactly key_bytes raw bytes.
 */
int vc_key_parse(const uint8_t *in, size_t len, uint32_t key_bytes,
		 uint8_t *key);
/*
 * The dm-crypt table (one line per target, '\n' between them) that maps
 * the data area of @md on @dev with @key: crypt targets, and linear ones
 * for the plaintext ranges.  0, -EINVAL (LU not encrypted) or -ENOSPC.
 */
int vc_dmcrypt_table(const struct veil_md *md, const char *dev,
		     const uint8_t *key, char *buf, size_t size);
/* "8-4-4-4-12" hex of a 16-byte uuid (37 bytes with the NUL). */
void vc_fmt_uuid(const uint8_t *uuid, char *out);

/* ---- backup.c (no I/O: fuzzed by tests/fuzz/fuzz_hb.c) ---- */

/* The header backup file: docs/format.md, "Header backup file". */
#define VC_HB_VERSION	1
#define VC_HB_SIZE	(3 * 4096)

/* A parsed backup file; md[]/err[]/why[]/pick as in struct veil_md_copies. */
struct vc_hb {
	uint64_t lu_sectors;	/* LU size when the backup was taken */
	uint64_t alt_offset;	/* byte offset the alternate block came from */
	uint8_t uuid[16];
	struct veil_md md[2];
	int err[2];
	const char *why[2];
	int pick;
};

/*
 * Build a backup file (VC_HB_SIZE bytes at @file) from the two 4096-byte
 * metadata blocks read from an LU of @lu_sectors whose current copy has
 * @uuid.
 */
void vc_hb_build(uint8_t *file, uint64_t lu_sectors, const uint8_t *uuid,
		 const void *primary, const void *alternate);
/*
 * Check a backup file of @len bytes and decode its two copies against an
 * LU of @lu_sectors (the target's current size).  0 with hb->pick the copy
 * to restore; else nothing is usable and @why says what was wrong:
 * -EBADMSG (not a backup: size or magic), -EPROTONOSUPPORT (other
 * version), -EILSEQ (checksum), -EINVAL (inconsistent header) or -ENOENT
 * (no copy in it is valid for this LU).
 */
int vc_hb_parse(const uint8_t *file, size_t len, uint64_t lu_sectors,
		struct vc_hb *hb, char *why, size_t why_size);
/* The file's CRC-32C (its csum field taken as zero), host byte order. */
uint32_t vc_hb_csum(const uint8_t *file);

/* ---- json.c ---- */

struct vc_json {
	FILE *f;
	int depth;
	bool first[16];		/* no comma needed before the next item */
	bool after_key;
};

void vc_json_init(struct vc_json *j, FILE *f);
void vc_json_begin_obj(struct vc_json *j, const char *key);
void vc_json_end_obj(struct vc_json *j);
void vc_json_begin_arr(struct vc_json *j, const char *key);
void vc_json_end_arr(struct vc_json *j);
void vc_json_str(struct vc_json *j, const char *key, const char *val);
void vc_json_u64(struct vc_json *j, const char *key, uint64_t val);
void vc_json_i64(struct vc_json *j, const char *key, int64_t val);
void vc_json_bool(struct vc_json *j, const char *key, bool val);
void vc_json_null(struct vc_json *j, const char *key);
/* Writes @s as a JSON string literal with escapes. */
void vc_json_quote(FILE *f, const char *s);

/* ---- dm.c ---- */

/* One veil mapping as device-mapper reports it. */
struct vc_map {
	char name[128];
	char uuid[129];
	unsigned int major, minor;	/* of the dm device */
	int open_count;
	bool suspended;
	uint64_t sectors;		/* mapping length */
	char dev[32];			/* backing device "maj:min" */
	struct vc_info info;
};

/*
 * Can veilctl use device-mapper at all?  VC_EPERM without CAP_SYS_ADMIN,
 * VC_ENOMOD when the kernel has no device-mapper; the message is printed.
 */
int vc_dm_ready(void);
/* Does the kernel have device-mapper at all (so mappings can exist)? */
bool vc_dm_available(void);
/* Is the "veil" target registered, at a version we speak?  0 or VC_E*. */
int vc_dm_target_check(bool *present);
int vc_dm_create(const char *name, const char *uuid, uint64_t sectors,
		 const char *params);
/* The same, read-only when @ro (the table opens its device read-only). */
int vc_dm_create_flags(const char *name, const char *uuid, uint64_t sectors,
		       const char *params, bool ro);
int vc_dm_remove(const char *name);
int vc_dm_message(const char *name, const char *msg);
/*
 * The same, with the target's answer in @resp (may be NULL; "" when there
 * is none).  0 or the ioctl's -errno (-EBUSY, -EINVAL, ...; -EIO if
 * libdevmapper does not say).  @quiet: libdevmapper's own error line for
 * a refused message is not printed (the caller explains).
 */
int vc_dm_message_resp(const char *name, const char *msg, char *resp,
		       size_t resp_size, bool quiet);
/* 0, -ENODEV (no such mapping), -ENOTTY (not a veil mapping), -EIO. */
int vc_dm_get(const char *name, struct vc_map *m);
/*
 * Give the veil mapping @name a table of @sectors, keeping its parameters,
 * with no moment where I/O fails: the new table is loaded beside the live
 * one; it goes live only if it is in the live table's state (for a keyed
 * mapping: it took the key the live table holds, so no key request was
 * posted); then suspend (in-flight I/O completes, new I/O waits inside
 * device-mapper) and resume with the new table.  Before the swap any
 * failure clears the new table and leaves the live one untouched.  @state
 * gets the new table's state.  0, -ENODEV/-ENOTTY (no such veil mapping),
 * -EIO (device-mapper refused: the kernel log says why) or -EKEYREJECTED
 * (the new table would have waited for a key).
 */
int vc_dm_reload(const char *name, uint64_t sectors, char *state,
		 size_t state_size);
/* Calls @fn for every veil mapping, in name order.  0 or -errno. */
int vc_dm_each(int (*fn)(const struct vc_map *m, void *arg), void *arg);
/*
 * Resolve what the user typed (mapping name, /dev/mapper/NAME, /dev/dm-N
 * or the backing device) to a veil mapping.  0 or -ENODEV.
 */
int vc_dm_find(const char *what, struct vc_map *m);

/* ---- kmod.c ---- */

/* Load dm-veil (and with it veil) unless the target is there.  0 or VC_E*. */
int vc_modules_ensure(void);
/* Does a module alias ("crypto-xts") resolve for the running kernel? */
bool vc_have_alias(const char *alias);
/* Read /proc/crypto (malloc'd, NUL-terminated; NULL if unreadable). */
char *vc_proc_crypto(void);

/* ---- family.c ---- */

struct vc_daemon {
	bool family;		/* the genetlink family exists */
	unsigned int abi;
	unsigned int pid;	/* 0: no key daemon registered */
	unsigned int pending;
};

/* 0 or -errno (-ENOENT: family not registered). */
int vc_daemon_info(struct vc_daemon *d);
/* Warn (once) when no key daemon is registered; returns its pid. */
unsigned int vc_daemon_warn(const char *what);

/* ---- device.c ---- */

struct vc_dev {
	char path[4096];
	unsigned int major, minor;
	uint64_t sectors;
};

/* stat + size; block devices only.  0 or VC_E*, with the message printed. */
int vc_dev_open_info(const char *path, struct vc_dev *d);
/*
 * Is the device (or one of its partitions) mounted, used as swap, held by
 * another block device (holders/), or open exclusively by someone?
 * 0 if free, else VC_EBUSY with the reason printed.  @allow_holder: a dm
 * name that may hold it (our own mapping).
 */
int vc_dev_check_free(const struct vc_dev *d, const char *allow_holder);

/*
 * Is the device a path of a multipath map (held by a dm device whose
 * DM_UUID is mpath-*)?  If so, the map's name (or kernel name) in @map.
 */
bool vc_dev_mpath_holder(const struct vc_dev *d, char *map, size_t size);

/* "/dev/vdb" for "254:16" (from sysfs); "" if unknown. */
void vc_devno_path(const char *majmin, char *out, size_t size);

struct veil_md_copies;
/*
 * Read both metadata copies (the md_io path).  0 or -errno when the
 * device cannot be read; c->pick says what was found.
 */
int vc_md_read(const char *path, struct veil_md_copies *c, uint64_t *sectors);
/* Print "@path: @what: permission denied: run as root" etc.; the exit code. */
int vc_open_err(const char *path, int err);
/* The label of the eVLU on @majmin ("" if none or unreadable). */
void vc_dev_label(const char *majmin, char *label, size_t size);
/* Message + exit code for a non-valid c->pick. */
int vc_md_explain(const char *path, const struct veil_md_copies *c);
/* The table parameters for a veil mapping of @d. */
void vc_table_params(const struct vc_dev *d, unsigned int key_timeout,
		     bool discards, char *buf, size_t size);

/* Poll a mapping until it leaves waiting-for-key or @secs pass. */
int vc_wait_state(const char *name, long secs, struct vc_map *m);
/* One-line summary of a mapping on stdout. */
void vc_print_state(const struct vc_map *m);

struct veiltab;
struct veiltab_entry;
struct veil_md;

/* dm/uuid of a device-mapper device: 0, or -ENOENT if @d is not one. */
int vc_dev_dm_uuid(const struct vc_dev *d, char *uuid, size_t size);
/* The first veiltab entry naming the LU at @path with metadata @md. */
const struct veiltab_entry *vc_veiltab_match(const struct veiltab *t,
					     const char *path,
					     const struct veil_md *md);
/*
 * The device of entry @e: a path, a by-partuuid link, or the one block
 * device (not held by another, except by a veil mapping; not a dm device
 * other than a multipath map) whose metadata has the uuid or label.
 * 0, -ENOENT, or -EBUSY when two devices match (message printed).
 */
int vc_veiltab_find(const struct veiltab_entry *e, char *path, size_t size);

/* Create the mapping of an eVLU (shared by attach, encrypt, migrate). */
struct vc_attach_opts {
	const char *name;	/* NULL: veiltab's, else from the metadata */
	unsigned int key_timeout;	/* 0: veiltab's, else target default */
	bool discards;		/* or veiltab's discard */
	bool ro;		/* or veiltab's ro */
	long wait;		/* seconds to wait for the key; 0: none */
	bool auto_attach;	/* udev / veil-attach@: apply the policy */
	const struct veiltab_entry *entry;	/* NULL: look it up */
};
/* --veiltab FILE (NULL: VEIL_VEILTAB or /etc/veil/veiltab). */
extern const char *vc_veiltab_path;
/* veiltab, read once (bad lines reported); NULL if unreadable. */
const struct veiltab *vc_veiltab(void);
/* udev properties of mapping @name for its by-veil-* links (probe --mapping). */
int vc_probe_mapping(const char *name);
int vc_attach_dev(const char *path, const struct vc_attach_opts *o,
		  struct vc_map *out);
/*
 * --key-timeout (T), --allow-discards (D), --read-only (r), --wait (w).
 * 0 or VC_EUSAGE.
 */
int vc_parse_attach_opt(int c, const char *arg, struct vc_attach_opts *o);

/* ---- progress.c ---- */

struct vc_progress {
	bool on;		/* drawn at all: a tty, or --progress */
	const char *what;
	uint64_t total;		/* bytes */
	uint64_t base;		/* done at vc_progress_start(): for the rate */
	double t0, last;
};

/* Monotonic seconds. */
double vc_now(void);
/* A new phase named @what, @done bytes done already (a resumed job). */
void vc_progress_start(struct vc_progress *p, const char *what,
		       uint64_t done);
/* Redraw (at most twice a second unless @final, which ends the line). */
void vc_progress(struct vc_progress *p, uint64_t done, bool final);

/* ---- reenc.c: the re-encryption journal (no device-mapper) ---- */

/* What dm-veil's reencrypt_status message answers. */
struct vc_reenc_status {
	bool active;		/* false: "none" */
	uint64_t boundary;	/* data-area sectors */
	uint64_t data_sectors;
	bool locked;		/* a window is locked */
	uint64_t win_start, win_len;
	bool converted;		/* the locked window was rewritten */
};

/* Parse a reencrypt_status answer.  0 or -EINVAL. */
int vc_parse_reenc_status(const char *s, struct vc_reenc_status *st);
/*
 * "1048576", "512K", "64M", "1G" (powers of 1024; "B" or "iB" and "/s"
 * may follow, as in "10MB/s" or "10MiB/s").  -1 if malformed, zero or
 * larger than 2^62.
 */
int64_t vc_parse_rate(const char *s);

/* CRC-32C of a journal (as the journal_csum field holds it). */
uint32_t vc_reenc_csum(const void *buf, size_t len);
/*
 * Raw I/O on the LU (@fd opened O_DIRECT; @buf 4096-aligned): read the
 * data-area sectors [start, start + len) of @md, or write them back; save
 * @len sectors from @buf to the journal.  Every write is followed by
 * fdatasync().  0 or -errno.
 */
int vc_reenc_read_window(int fd, const struct veil_md *md, uint64_t start,
			 uint64_t len, void *buf);
int vc_reenc_write_window(int fd, const struct veil_md *md, uint64_t start,
			  uint64_t len, const void *buf);
int vc_reenc_journal_write(int fd, const void *buf, uint64_t len);
/*
 * Zero the whole journal (and fdatasync): a finished rotation leaves no
 * old-key ciphertext behind.  0 or -errno.
 */
int vc_reenc_journal_clear(int fd);
/*
 * Crash recovery, needs no key: if @md (the copy in use on the LU of @fd,
 * @lu_sectors) has a journaled window, check the journal's CRC, copy it
 * back over the window, and write metadata with no window (same boundary).
 * On success @md is updated to what was written.
 * Returns 1 (a window was restored), 0 (nothing to do, nothing written),
 * or -errno with *why set: -EBADMSG when the journal fails its checksum
 * (nothing is written then), else the failed read/write/sync.
 */
int vc_reenc_recover(int fd, uint64_t lu_sectors, struct veil_md *md,
		     const char **why);

/* ---- cmd_reencrypt.c ---- */

/*
 * vc_reenc_recover() for the LU at @path (opened O_RDWR | O_DIRECT |
 * O_EXCL, so never under a live mapping), saying so when a window was
 * restored.  VC_OK or the exit code, with the message printed.
 */
int vc_reenc_recover_path(const char *path);

/* ---- provision.c ---- */

/*
 * Create a key on the key manager named in @conf; fill @id (@id_len bytes),
 * @key_bytes and @hint (the key's Unique Identifier, for the key-hint
 * property; "" if it cannot be one).  0 or VC_EKM / VC_ECERT with the
 * reason printed.
 */
int vc_provision(const char *conf, bool local, uint8_t *id, size_t id_len,
		 uint32_t *key_bytes, char hint[VEIL_KEY_HINT_MAX]);

/* The key size (bytes) vc_provision() would create, from @conf. */
int vc_provision_key_bytes(const char *conf, uint32_t *key_bytes);

/* ---- cert.c ---- */

/* Days until @pem expires (negative: expired).  0 or -errno. */
int vc_cert_days_left(const char *pem, long *days, char *subject,
		      size_t subject_size);
/* New EC P-256 key at @key_path (0600) and a CSR for CN=@cn at @csr_path. */
int vc_cert_make_csr(const char *key_path, const char *csr_path,
		     const char *cn);
/* Does @cert_path hold the public half of @key_path, with clientAuth? */
int vc_cert_check_pair(const char *cert_path, const char *key_path,
		       char *why, size_t why_size);
/* The common name of the certificate at @pem. */
int vc_cert_cn(const char *pem, char *cn, size_t size);
/* The cert path from @etc/veild.conf, "" if none. */
void vc_conf_cert_path(const char *etc, char *path, size_t size);

/* ---- cmd_dump.c: the health of both metadata copies (dump, status) ---- */

/*
 * "valid", "stale" (valid, but older than the copy in use), "absent" (no
 * veil metadata there), "newer-format" or "damaged".
 */
const char *vc_copy_state(const struct veil_md_copies *c, int i);
/* Valid metadata, but not two current copies of it. */
bool vc_copies_degraded(const struct veil_md_copies *c);
/* "current", "degraded" and the "copies" array into the open object. */
void vc_copies_json(struct vc_json *j, const struct veil_md_copies *c);
/* One line per copy, and how to repair a degraded LU of @lu_sectors. */
void vc_copies_text(const char *dev, const struct veil_md_copies *c,
		    uint64_t lu_sectors);
/*
 * A re-encryption in progress in @md, read from @dev (NULL or not
 * re-encrypting: nothing, or null in JSON): how far, the old key-id, and
 * any journaled window with whether @dev's journal matches its checksum.
 * Text labels are padded to @width columns after the two-space indent.
 */
void vc_reenc_text(const char *dev, const struct veil_md *md, int width);
/*
 * "reencrypt": {boundary, data_sectors, window, old_key_id,
 * journal_intact (null without a window)} or null.
 */
void vc_reenc_json(struct vc_json *j, const char *dev,
		   const struct veil_md *md);

/* ---- subcommands ---- */
int cmd_encrypt(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_update(int argc, char **argv);
int cmd_decrypt_off(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_veiltab(int argc, char **argv);
int cmd_header(int argc, char **argv);
int cmd_dmcrypt_table(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_reencrypt(int argc, char **argv);

/* encrypt's core, shared with migrate. */
struct vc_encrypt_opts {
	const char *key_id;	/* hex, or NULL: provision */
	const char *conf;	/* key manager configuration */
	bool local;		/* generate key bytes locally (Register) */
	uint32_t key_bytes;	/* with --key-id */
	const char *cipher;
	uint32_t sector_size;
	const char *label;
	unsigned int n_plaintext;
	struct veil_md_extent plaintext[VEIL_MD_PLAINTEXT_MAX];
	bool attach;
	struct vc_attach_opts at;
};
int vc_encrypt_dev(const char *path, const struct vc_encrypt_opts *o,
		   struct vc_map *out);

/* The options of the new metadata, for encrypt's and migrate's tables. */
#define VC_ENCRYPT_LONGOPTS \
	{ "key-id", required_argument, NULL, 'k' }, \
	{ "key-bytes", required_argument, NULL, 'B' }, \
	{ "config", required_argument, NULL, 'c' }, \
	{ "local", no_argument, NULL, 'L' }, \
	{ "cipher", required_argument, NULL, 'C' }, \
	{ "sector-size", required_argument, NULL, 'S' }, \
	{ "label", required_argument, NULL, 'l' }, \
	{ "plaintext", required_argument, NULL, 'P' }
/*
 * Take one of VC_ENCRYPT_LONGOPTS into @o: 0, VC_EUSAGE (bad value, said
 * so), or -ENOENT when @c is not one of them.
 */
int vc_parse_encrypt_opt(int c, const char *arg, struct vc_encrypt_opts *o);
/* Checks across options once all are parsed: VC_OK or VC_EUSAGE. */
int vc_encrypt_opts_done(struct vc_encrypt_opts *o);

#endif /* VEILCTL_H */
