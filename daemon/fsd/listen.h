/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Listening sockets: AF_VSOCK on the configured port (the VM is the peer
 * CID the socket reports), and for each VM with a uds, the hybrid-vsock
 * unix socket "<uds>_<port>" where Firecracker / Cloud Hypervisor deliver
 * the guest's connections to host port <port> (the socket names the VM).
 */
#ifndef VEIL_FSD_LISTEN_H
#define VEIL_FSD_LISTEN_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Make the set of listeners match c (opening new ones, closing old). */
int listen_sync(const struct fsd_conf *c);
/* Add the listeners to a poll set; returns how many were added. */
size_t listen_pollfds(struct pollfd *p, size_t max);
/* A listener fd polled readable: accept and start a connection. */
void listen_accept(int fd);
void listen_close_all(void);

#endif
