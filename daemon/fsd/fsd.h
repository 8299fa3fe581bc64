/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * veil-fsd: what the parts share -- the per-VM runtime state, the
 * connection, logging.
 */
#ifndef VEIL_FSD_H
#define VEIL_FSD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "fid.h"
#include "proto.h"
#include "shape.h"

/* ---- per-VM runtime state (vm.c): outlives config reloads ------------ */
struct vm_state {
	char name[FSD_NAME_MAX + 1];
	pthread_mutex_t lock;		/* shaper, worker slots */
	struct shaper shaper;
	pthread_cond_t slot_cond;	/* a worker slot came free */
	unsigned int running;		/* requests being served by workers */
	unsigned int max_workers;	/* from the config, now */
	struct fid_pool pool;		/* fds and memory of all its connections */
	int conns;
	uint64_t requests, bytes;	/* served, for status */
	struct vm_state *next;
};

/* Find or create the state of vm (shaper set from its config). */
struct vm_state *vm_state_get(const struct vm_conf *vm);
/* After a reload: new shaping settings for every VM still configured. */
void vm_state_reconf(const struct fsd_conf *c);
/* Charge a request and sleep as long as the shaper says. */
void vm_state_shape(struct vm_state *vs, uint64_t bytes);
/* A request charged `charged` bytes moved `used`: give the rest back. */
void vm_state_refund(struct vm_state *vs, uint64_t charged, uint64_t used);
/* One line per VM into buf (control "status"). */
size_t vm_state_report(char *buf, size_t len);
void vm_state_free_all(void);
uint64_t fsd_now_ns(void);

/* Serve one request in a worker: wait for a slot of the VM's max_workers. */
void vm_state_slot_get(struct vm_state *vs);
void vm_state_slot_put(struct vm_state *vs);

/* ---- a connection ---------------------------------------------------- */
enum conn_bind { BIND_CID, BIND_UDS };
struct req;

struct conn {
	int sock;
	enum conn_bind bind;
	uint32_t cid;			/* peer CID (BIND_CID) */
	char *uds;			/* the VM's uds base path (BIND_UDS) */
	uint32_t port;			/* the port the guest connected to */
	char peer[128];			/* for logs */

	struct fsd_conf *conf;		/* snapshot in use (a reference) */
	const struct vm_conf *vm;	/* inside conf */
	unsigned long gen;
	struct vm_state *vs;

	int rootfd;
	dev_t root_dev;			/* the tenant root itself, which no */
	ino_t root_ino;			/* request may change */
	struct fidtab fids;
	uint32_t bufsize;		/* bytes in and out hold: msize never exceeds it */
	size_t charged;			/* bytes of max_mem for the connection itself */
	uint32_t msize;
	bool versioned;
	bool proven;			/* passed the proof handshake */
	uint8_t *in, *out;		/* bufsize bytes each */

	/* requests served at once (conn.c): the reader queues, workers serve */
	pthread_mutex_t qlock;		/* everything below */
	pthread_cond_t qcond;		/* for workers: queued work, or closing */
	pthread_cond_t dcond;		/* for the reader: a request finished */
	pthread_mutex_t send_lock;	/* one reply at a time on the socket */
	struct req *queue, *queue_tail;	/* waiting for a worker */
	struct req *running;		/* being served */
	unsigned int queued, inflight;	/* tags in use: queued, running, flushes */
	unsigned int nworkers, idle;
	bool closing;
	pthread_t workers[FSD_WORKERS_MAX];
};

/* conn.c: bring a connection up on an accepted socket and serve it. */
struct conn *conn_new(int sock, const struct vm_conf *vm, struct fsd_conf *conf);
void conn_free(struct conn *c);
void *conn_thread(void *arg);
/* Pick up a reloaded config: 0, or -1 if the connection must close. */
int conn_refresh(struct conn *c);

/*
 * ops.c: handle one message, the reply into out (cap bytes, at most
 * msize); returns the reply length, or -1 to close.  Requests other than
 * Tversion may run at once in several threads.
 */
long ops_serve(struct conn *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap);
/* The same into c->out. */
long ops_handle(struct conn *c, const uint8_t *msg, size_t len);
/* The qid path of an inode on device dev: unique across mounts (ops.c). */
uint64_t fsd_qid_path(dev_t dev, ino_t ino);

/*
 * cred.c: act as uid/gid of the guest (per the VM's uid_map), in the
 * calling thread only; cred_current says what the thread acts as.
 */
int cred_apply(struct conn *c, uint32_t uid, uint32_t gid);
void cred_current(uint32_t *uid, uint32_t *gid);
void cred_reset(struct conn *c);

/* log.c */
extern int fsd_verbose;
void fsd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
