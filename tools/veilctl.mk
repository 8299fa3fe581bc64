# SPDX-License-Identifier: GPL-2.0
# veilctl, the administrator's tool (tools/veilctl/): libdevmapper for the
# mappings, libkmod to load the modules, libveil's md_io for metadata and
# its KMIP client (OpenSSL) to provision keys.
VEILCTL_LIBSRCS := tools/veilctl/parse.c tools/veilctl/json.c \
	tools/veilctl/backup.c \
	tools/veilctl/spec.c tools/veilctl/reenc.c
PROGRAMS += veilctl
SRCS_veilctl := tools/veilctl/main.c tools/veilctl/cmd_encrypt.c \
	tools/veilctl/cmd_attach.c tools/veilctl/cmd_detach.c \
	tools/veilctl/cmd_status.c tools/veilctl/cmd_update.c \
	tools/veilctl/cmd_decrypt_off.c tools/veilctl/cmd_migrate.c \
	tools/veilctl/cmd_setup.c tools/veilctl/cmd_probe.c \
	tools/veilctl/cmd_dump.c tools/veilctl/cmd_header.c \
	tools/veilctl/cmd_dmcrypt.c tools/veilctl/cmd_resize.c \
	tools/veilctl/cmd_veiltab.c tools/veilctl/cmd_reencrypt.c \
	tools/veilctl/progress.c \
	tools/veilctl/dm.c tools/veilctl/kmod.c tools/veilctl/family.c \
	tools/veilctl/device.c tools/veilctl/provision.c tools/veilctl/cert.c \
	$(VEILCTL_LIBSRCS)
LIBS_veilctl := -ldevmapper -lkmod $(KMIP_LIBS)
