# SPDX-License-Identifier: GPL-2.0
# veild, the key daemon, and veil-kmip, its provisioning tool (both read
# the same configuration file; see docs/veild.md).
PROGRAMS += veil-kmip
SRCS_veil-kmip := daemon/veild/veil-kmip.c daemon/veild/cache.c
LIBS_veil-kmip := $(KMIP_LIBS)
PROGRAMS += veild
SRCS_veild := daemon/veild/main.c daemon/veild/genl.c daemon/veild/pool.c \
	daemon/veild/harden.c daemon/veild/log.c daemon/veild/cache.c
LIBS_veild := $(KMIP_LIBS)
