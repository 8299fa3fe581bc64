/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 9pnet_vsock: a 9P transport over AF_VSOCK stream sockets.
 *
 * What each file owns:
 *   main.c   registers the transport "vsock" with the 9p client and
 *            takes it away again
 *   trans.c  the p9_trans_module operations: create, close, request,
 *            cancel, cancelled, show_options
 *   opts.c   mount options (port=, keyid=, keytimeout=) and the CID
 *   sock.c   the kernel socket: bounded connect, whole-buffer send and
 *            receive
 *   conn.c   one connection's request lists and its two threads: the
 *            sender (unsent requests to the socket) and the receiver
 *            (9P frames from the socket to their requests)
 *   key.c    obtaining the VM's shared secret from veil.ko
 *   proof.c  the HMAC proof handshake of include/uapi/linux/veil.h
 */
#ifndef _VEIL_VSOCK9P_H
#define _VEIL_VSOCK9P_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/veil.h>

struct p9_client;
struct p9_trans_module;
struct p9_req_t;
struct socket;
struct task_struct;

#define VS9P_DEFAULT_PORT		564	/* as 9P over TCP */
#define VS9P_DEFAULT_KEY_TIMEOUT	30	/* seconds */
#define VS9P_MAX_KEY_TIMEOUT		3600	/* seconds */
#define VS9P_CONNECT_TIMEOUT		10	/* seconds */
/* Every read or write of the proof handshake, and the first 9P reply
 * (Rversion), must come within this; after that the connection may idle.
 */
#define VS9P_HANDSHAKE_TIMEOUT		15	/* seconds */
/* Largest msize this transport accepts (the client clamps to it). */
#define VS9P_MAXSIZE			(1024 * 1024)

struct vs9p_opts {
	u32 cid;			/* the server's CID, from the device name */
	u32 port;
	u32 key_id_len;			/* 0: no proof handshake */
	u8 key_id[VEIL_KEY_ID_MAX];
	unsigned int key_timeout;	/* seconds */
};

/* The VM's shared secret, only while a handshake needs it. */
struct vs9p_secret {
	u32 len;
	u8 key[VEIL_PROOF_SECRET_MAX];
};

struct vs9p_conn {
	struct p9_client *client;
	struct vs9p_opts opts;
	struct socket *sock;
	u32 local_cid;			/* our own CID, as the socket sees it */
	char name[32];			/* "<cid>:<port>" for messages */

	/*
	 * lock protects both lists, err, and the status of every request
	 * on a list.  A request is on unsent (REQ_STATUS_UNSENT) from
	 * request() until the sender picks it, then on sent
	 * (REQ_STATUS_SENT) until its reply arrives, it is cancelled, or the
	 * connection fails.  Each list holds the request reference that
	 * p9_client_cb() drops.
	 */
	spinlock_t lock;
	struct list_head unsent;
	struct list_head sent;
	int err;			/* first connection error, sticky */
	/*
	 * Also under lock: the socket's sending side has one writer at a
	 * time.  tx_busy says a caller or the sender is writing a frame;
	 * tx_partial is a frame a caller began but could not finish without
	 * waiting (tx_off bytes went out), handed to the sender with its
	 * reference, which the sender finishes before anything else.
	 */
	bool tx_busy;
	struct p9_req_t *tx_partial;
	size_t tx_off;

	bool stopping;			/* close began: errors are expected */
	wait_queue_head_t tx_wait;	/* the sender waits here for work */
	struct task_struct *tx_task;
	struct task_struct *rx_task;
};

/* trans.c */
extern struct p9_trans_module vs9p_trans;

/* opts.c */
int vs9p_opts_parse(const char *devname, const char *args,
		    struct vs9p_opts *opts);

/* sock.c */
int vs9p_sock_connect(struct vs9p_conn *conn);
void vs9p_sock_set_timeouts(struct socket *sock, long rcv, long snd);
int vs9p_sock_send(struct socket *sock, const void *buf, size_t len);
ssize_t vs9p_sock_send_nowait(struct socket *sock, const void *buf, size_t len);
int vs9p_sock_recv(struct socket *sock, void *buf, size_t len);
void vs9p_sock_close(struct vs9p_conn *conn);

/* conn.c */
void vs9p_conn_init(struct vs9p_conn *conn, struct p9_client *client);
int vs9p_conn_start(struct vs9p_conn *conn);
int vs9p_conn_queue(struct vs9p_conn *conn, struct p9_req_t *req);
int vs9p_conn_cancel(struct vs9p_conn *conn, struct p9_req_t *req);
int vs9p_conn_cancelled(struct vs9p_conn *conn, struct p9_req_t *req);
void vs9p_conn_stop(struct vs9p_conn *conn);

/* key.c */
struct vs9p_secret *vs9p_key_fetch(const struct vs9p_conn *conn);
void vs9p_secret_free(struct vs9p_secret *secret);

/* proof.c */
int vs9p_proof_run(struct vs9p_conn *conn, const struct vs9p_secret *secret);

#endif /* _VEIL_VSOCK9P_H */
