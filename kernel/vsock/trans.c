// SPDX-License-Identifier: GPL-2.0
/*
 * The transport operations the 9p client calls.  create() parses the
 * options, fetches the secret if a key-id was given, connects, runs the
 * proof handshake, and starts the connection's threads; close() undoes all
 * of it in reverse, completing any request still in flight with an error.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <net/9p/9p.h>
#include <net/9p/client.h>
#include <net/9p/transport.h>

#include "vsock9p.h"

static int vs9p_create(struct p9_client *client, const char *devname,
		       char *args)
{
	struct vs9p_secret *secret = NULL;
	struct vs9p_conn *conn;
	int err;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	vs9p_conn_init(conn, client);

	err = vs9p_opts_parse(devname, args, &conn->opts);
	if (err)
		goto out_free;
	snprintf(conn->name, sizeof(conn->name), "%u:%u", conn->opts.cid,
		 conn->opts.port);

	if (conn->opts.key_id_len) {
		secret = vs9p_key_fetch(conn);
		if (IS_ERR(secret)) {
			err = PTR_ERR(secret);
			secret = NULL;
			goto out_free;
		}
	}

	err = vs9p_sock_connect(conn);
	if (err)
		goto out_wipe;

	if (secret) {
		vs9p_sock_set_timeouts(conn->sock, VS9P_HANDSHAKE_TIMEOUT * HZ,
				       VS9P_HANDSHAKE_TIMEOUT * HZ);
		err = vs9p_proof_run(conn, secret);
		vs9p_secret_free(secret);
		secret = NULL;
		if (err)
			goto out_close;
	}

	err = vs9p_conn_start(conn);
	if (err)
		goto out_close;

	client->trans = conn;
	client->status = Connected;
	return 0;

out_close:
	vs9p_sock_close(conn);
out_wipe:
	vs9p_secret_free(secret);
out_free:
	kfree(conn);
	return err;
}

static void vs9p_close(struct p9_client *client)
{
	struct vs9p_conn *conn = client ? client->trans : NULL;

	if (!conn)
		return;
	client->status = Disconnected;
	vs9p_conn_stop(conn);
	vs9p_sock_close(conn);
	client->trans = NULL;
	kfree(conn);
}

static int vs9p_request(struct p9_client *client, struct p9_req_t *req)
{
	return vs9p_conn_queue(client->trans, req);
}

static int vs9p_cancel(struct p9_client *client, struct p9_req_t *req)
{
	return vs9p_conn_cancel(client->trans, req);
}

static int vs9p_cancelled(struct p9_client *client, struct p9_req_t *req)
{
	return vs9p_conn_cancelled(client->trans, req);
}

static int vs9p_show_options(struct seq_file *m, struct p9_client *client)
{
	struct vs9p_conn *conn = client->trans;

	if (!conn)
		return 0;
	if (conn->opts.port != VS9P_DEFAULT_PORT)
		seq_printf(m, ",port=%u", conn->opts.port);
	/* A key-id names the secret; it is not the secret. */
	if (conn->opts.key_id_len)
		seq_printf(m, ",keyid=%*phN", conn->opts.key_id_len,
			   conn->opts.key_id);
	if (conn->opts.key_timeout != VS9P_DEFAULT_KEY_TIMEOUT)
		seq_printf(m, ",keytimeout=%u", conn->opts.key_timeout);
	return 0;
}

struct p9_trans_module vs9p_trans = {
	.name = "vsock",
	.maxsize = VS9P_MAXSIZE,
	.pooled_rbuffers = false,
	.def = 0,
	.owner = THIS_MODULE,
	.create = vs9p_create,
	.close = vs9p_close,
	.request = vs9p_request,
	.cancel = vs9p_cancel,
	.cancelled = vs9p_cancelled,
	.show_options = vs9p_show_options,
};
