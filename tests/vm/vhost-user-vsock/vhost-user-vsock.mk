# SPDX-License-Identifier: GPL-2.0
# vhost-user-vsock: virtio-vsock for QEMU guests on hosts without
# /dev/vhost-vsock (test infrastructure; never installed).
PROGRAMS += vhost-user-vsock
SRCS_vhost-user-vsock := tests/vm/vhost-user-vsock/main.c tests/vm/vhost-user-vsock/vhost_user.c \
	tests/vm/vhost-user-vsock/vsock.c tests/vm/vhost-user-vsock/vq.c
