/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * veil-fsd configuration: the access table.  A parsed configuration is an
 * immutable, reference-counted snapshot; a reload builds a new one and
 * installs it, and each connection picks up the new snapshot at its next
 * request.  The syntax is in docs/fsd-admin.md.
 */
#ifndef VEIL_FSD_CONFIG_H
#define VEIL_FSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shape.h"

#define FSD_NAME_MAX	63
#define FSD_KEY_ID_MAX	64

enum uid_map { UIDMAP_PASSTHROUGH, UIDMAP_SQUASH };

struct vm_conf {
	char name[FSD_NAME_MAX + 1];
	int64_t cid;			/* -1: not matched by CID */
	char *uds;			/* hybrid vsock socket base path or NULL */
	char *root;			/* tenant root, canonical after validate */
	bool ro;
	enum uid_map uid_map;
	uint32_t squash_uid, squash_gid;
	struct shape_conf shape;
	bool require_proof;
	char *secret_file;		/* root-only file holding the secret */
	uint8_t key_id[FSD_KEY_ID_MAX];
	size_t key_id_len;		/* 0: any key-id accepted */
	unsigned int max_fds;		/* host fds this VM may hold open */
	unsigned int max_conns;
	unsigned int max_fids;		/* per connection */
	uint64_t max_mem;		/* bytes: buffers, fids and paths of all its connections */
	unsigned int max_workers;	/* requests served at once, over all its connections */
	int line, root_line, secret_line;	/* where they were set, for messages */
};

/*
 * The memory budget (max_mem) is charged, per VM: for each connection
 * FSD_MEM_CONN_FIXED plus its two message buffers of msize bytes each;
 * for each fid FSD_MEM_FID; for each path FSD_MEM_PATH of its length (a
 * clone shares its source's); for each worker thread FSD_MEM_WORKER; for
 * each request in flight beyond the one each connection's own buffers
 * hold FSD_MEM_REQ plus its message and its reply buffer.  The figures include the allocator's
 * overhead; docs/fsd-admin.md explains them.
 */
#define FSD_MAX_MEM_DEFAULT	(128ull << 20)
#define FSD_MEM_CONN_FIXED	(16u << 10)	/* struct conn, fid hash, thread bookkeeping */
#define FSD_MEM_FID		160u		/* struct fid, its hash slot, allocator overhead */
#define FSD_MEM_PATH(len)	(32u + (len) + 1)	/* struct fid_path + overhead */
#define FSD_MEM_WORKER		(64u << 10)	/* a worker thread: stack in use, TLS, bookkeeping */
#define FSD_MEM_REQ		256u		/* struct req, allocator overhead */
#define FSD_WORKERS_DEFAULT	4
#define FSD_WORKERS_MAX		64
#define FSD_MEM_FID_MAX		(FSD_MEM_FID + FSD_MEM_PATH(4096u))

struct fsd_conf {
	int refs;
	uint32_t port;			/* vsock port; hybrid sockets <uds>_<port> */
	bool vsock;			/* listen on AF_VSOCK */
	char *control;			/* control socket path or NULL */
	uint32_t msize_max;
	uint32_t frame_timeout;		/* seconds a started message may take to arrive */
	bool loopback_cid;		/* allow cid = 1 (tests over vsock loopback) */
	char *path;			/* the file it came from, for messages */
	struct vm_conf *vms;
	size_t n_vms;
};

/*
 * Parse configuration text (tokenized by lib/conf.c), naming it name in
 * messages.  On error returns -EINVAL and writes "NAME:LINE: what is
 * wrong" to err.  No filesystem access.
 */
int conf_parse(const char *name, const char *text, struct fsd_conf **out,
	       char *err, size_t errlen);
/*
 * Check what the text cannot show: each root is an existing directory
 * (made canonical) closed to other host users by a directory above it,
 * enterable by the squash user where uid_map = squash; no tenant root
 * lies strictly inside another's; each secret_file is a root-owned 0600
 * or 0400 regular file (not a link) of a usable length.
 */
int conf_validate(struct fsd_conf *c, char *err, size_t errlen);
/* Read, parse and validate a file. */
int conf_load(const char *path, struct fsd_conf **out, char *err, size_t errlen);
void conf_free(struct fsd_conf *c);
/* Descriptors the VMs' budgets may hold at once, plus a margin for the rest. */
unsigned long long conf_fds_needed(const struct fsd_conf *c);

const struct vm_conf *conf_vm_by_cid(const struct fsd_conf *c, uint32_t cid);
const struct vm_conf *conf_vm_by_uds(const struct fsd_conf *c, const char *uds);

/* The installed snapshot (reference counted; thread safe). */
struct fsd_conf *conf_get(void);
void conf_put(struct fsd_conf *c);
/* Install c (takes the caller's reference); bumps the generation. */
void conf_install(struct fsd_conf *c);
unsigned long conf_generation(void);

/* "12", "64K", "10M", "1G" (binary multiples). */
int conf_parse_size(const char *s, uint64_t *out);

#endif
