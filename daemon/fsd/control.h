/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a root-only unix socket taking one command line
 * per connection and answering with text ending in "ok\n" or
 * "error: ...\n".  Commands: "reload", "status", "ping".
 */
#ifndef VEIL_FSD_CONTROL_H
#define VEIL_FSD_CONTROL_H

int control_open(const char *path);
void control_close(void);
int control_fd(void);
/* Serve one client; reload() returns 0 or fills err. */
void control_serve(int (*reload)(char *err, size_t len));

#endif
