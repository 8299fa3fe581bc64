/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * veild, the key daemon: what its parts share.
 *
 *   main.c     brings the parts up in order and down in reverse; the
 *              registration state machine (family missing, ABI mismatch,
 *              registered) and the signal handling
 *   genl.c     the "veil" generic netlink family: info, register, receive
 *              key requests, answer them
 *   pool.c     the request queue and the worker threads that look keys
 *              up on the key manager, with retries, and answer
 *   harden.c   process hardening (no core dumps, not dumpable)
 *   log.c      one logging layer: stderr or syslog
 */
#ifndef VEILD_H
#define VEILD_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

#include <linux/veil.h>

#include "kmip/kmip.h"

/* ---- log.c ---- */
void vlog_init(enum veil_log_dest dest, bool debug);
void vlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...)	vlog(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	vlog(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	vlog(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	vlog(LOG_DEBUG, __VA_ARGS__)

/* ---- harden.c ---- */
int veild_harden(void);

/* ---- genl.c ---- */

/* One key request as the kernel sent it. */
struct veil_req {
	uint32_t id;
	uint32_t consumer;
	char object[VEIL_OBJECT_MAX];
	char hint[VEIL_KEY_HINT_MAX];	/* "" if none */
	uint8_t key_id[VEIL_KEY_ID_MAX];
	uint32_t key_id_len;
	struct timespec received;
};

typedef void (*vgenl_req_fn)(const struct veil_req *req, void *arg);

struct vgenl {
	struct nl_sock *sk;
	struct nl_cb *cb;
	int fam;
	/* the call in progress */
	bool done;
	int err;
	char ext[128];
	/* last GET_INFO / REGISTER reply */
	uint32_t abi, daemon_pid, pending;
	/* key requests; NULL on answer-only sockets */
	vgenl_req_fn on_req;
	void *arg;
	uint8_t *msg;			/* veil_secmem page for answers */
	size_t msg_size;
};

/* 0, -ENOENT (family not registered: veil.ko not loaded) or -errno. */
int vgenl_open(struct vgenl *g, vgenl_req_fn on_req, void *arg);
void vgenl_close(struct vgenl *g);
int vgenl_get_info(struct vgenl *g);
int vgenl_register(struct vgenl *g);
int vgenl_fd(const struct vgenl *g);
/* Handle what has arrived; -ENOBUFS if requests may have been lost. */
int vgenl_receive(struct vgenl *g);
int vgenl_push(struct vgenl *g, const struct veil_req *req,
	       const uint8_t *key, size_t len);
int vgenl_fail(struct vgenl *g, const struct veil_req *req, int err,
	       const char *reason);

/* ---- pool.c ---- */
int pool_start(const struct veil_kmip_conf *conf, SSL_CTX *ctx);
/* Queue a request unless the same handle is already queued or in work. */
void pool_submit(const struct veil_req *req);
/* Stop the workers; lookups in progress are abandoned, not answered. */
void pool_stop(void);
/* Requests queued or being looked up. */
unsigned int pool_busy(void);

#endif /* VEILD_H */
