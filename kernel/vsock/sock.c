// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel AF_VSOCK stream socket under one mount: a connect that gives
 * up after VS9P_CONNECT_TIMEOUT, and send/receive of whole buffers.  Every
 * wait here sleeps interruptibly on the socket (no polling); a peer that
 * goes away, a shutdown() by close, a socket timeout or a signal to the
 * mounting process ends it with an error.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/net.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <linux/vm_sockets.h>
#include <net/af_vsock.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "vsock9p.h"

void vs9p_sock_set_timeouts(struct socket *sock, long rcv, long snd)
{
	struct sock *sk = sock->sk;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_rcvtimeo, rcv);
	WRITE_ONCE(sk->sk_sndtimeo, snd);
	release_sock(sk);
}

int vs9p_sock_connect(struct vs9p_conn *conn)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = conn->opts.cid,
		.svm_port = conn->opts.port,
	};
	struct vsock_sock *vsk;
	struct socket *sock;
	int err;

	err = sock_create_kern(&init_net, AF_VSOCK, SOCK_STREAM, 0, &sock);
	if (err) {
		pr_err("%s: cannot create a vsock socket (is vsock.ko loadable?): %d\n",
		       conn->name, err);
		return err;
	}

	/* vsock's own bound on a blocking connect; the default is 2 s. */
	lock_sock(sock->sk);
	vsock_sk(sock->sk)->connect_timeout = VS9P_CONNECT_TIMEOUT * HZ;
	release_sock(sock->sk);

	err = kernel_connect(sock, (struct sockaddr *)&addr, sizeof(addr), 0);
	if (err) {
		pr_err("%s: cannot connect: %d\n", conn->name, err);
		goto out_release;
	}

	/*
	 * Our CID as the server sees it: the source CID the transport puts
	 * on our packets.  getsockname() is no help, the auto-bound local
	 * address keeps VMADDR_CID_ANY.
	 */
	lock_sock(sock->sk);
	vsk = vsock_sk(sock->sk);
	conn->local_cid = vsk->transport ? vsk->transport->get_local_cid() :
					   VMADDR_CID_ANY;
	release_sock(sock->sk);
	if (conn->local_cid == VMADDR_CID_ANY) {
		pr_err("%s: connected, but the transport has no local CID\n",
		       conn->name);
		err = -ENOTCONN;
		goto out_release;
	}
	conn->sock = sock;
	return 0;

out_release:
	sock_release(sock);
	return err;
}

int vs9p_sock_send(struct socket *sock, const void *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec kv;
	int n;

	while (len) {
		kv.iov_base = (void *)buf;
		kv.iov_len = len;
		n = kernel_sendmsg(sock, &msg, &kv, 1, len);
		if (n < 0)
			return n;
		if (!n)
			return -EPIPE;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Send what can go without waiting for the peer's credit.  Returns the
 * bytes sent (0 when none could go), or the socket's error if it had one
 * before anything went.
 */
ssize_t vs9p_sock_send_nowait(struct socket *sock, const void *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | MSG_DONTWAIT };
	struct kvec kv;
	size_t sent = 0;
	int n;

	while (sent < len) {
		kv.iov_base = (void *)buf + sent;
		kv.iov_len = len - sent;
		n = kernel_sendmsg(sock, &msg, &kv, 1, len - sent);
		if (n == -EAGAIN || (n < 0 && sent))
			break;	/* the sender finishes it, or meets the error */
		if (n < 0)
			return n;
		if (!n)
			return sent ? sent : -EPIPE;
		sent += n;
	}
	return sent;
}

/* Returns 0 with all of buf filled, -ECONNRESET if the peer closed the
 * stream first, or the socket's error (-EAGAIN: the receive timeout).
 */
int vs9p_sock_recv(struct socket *sock, void *buf, size_t len)
{
	struct msghdr msg = {};
	struct kvec kv;
	int n;

	while (len) {
		kv.iov_base = buf;
		kv.iov_len = len;
		n = kernel_recvmsg(sock, &msg, &kv, 1, len, 0);
		if (n < 0)
			return n;
		if (!n)
			return -ECONNRESET;
		buf += n;
		len -= n;
	}
	return 0;
}

void vs9p_sock_close(struct vs9p_conn *conn)
{
	if (!conn->sock)
		return;
	sock_release(conn->sock);
	conn->sock = NULL;
}
