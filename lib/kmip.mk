# SPDX-License-Identifier: GPL-2.0
# libveil's KMIP client (lib/kmip/): TTLV codec, protocol messages, TLS
# connection, client, configuration file, locked key memory, provisioning.
# Programs linking it need LIBS_<prog> += $(KMIP_LIBS).
LIBVEIL_SRCS += lib/kmip/ttlv.c lib/kmip/proto.c lib/kmip/tls.c \
	lib/kmip/client.c lib/kmip/config.c lib/kmip/secmem.c \
	lib/kmip/provision.c
KMIP_LIBS := -lssl -lcrypto -lpthread
