# SPDX-License-Identifier: GPL-2.0
# make install [DESTDIR=...] [SBINDIR=...] [KVER=...]: programs, udev
# rule, systemd units (both naming the programs in $(SBINDIR): the
# sources say /usr/sbin/ and install writes SBINDIR over it), man pages, veil-fsd's example configuration (as
# /etc/veil/veil-fsd.conf.example, and as /etc/veil/veil-fsd.conf when
# there is none: an existing configuration is never replaced), and the
# modules built for $(KVER) under /lib/modules/$(KVER)/updates/veil.
# make install-dkms: the module sources under /usr/src/veil-<version>
# for DKMS, which rebuilds them on every kernel upgrade (registered with
# dkms when DESTDIR is empty).
# Test programs (stubs, kselftests, veil-mdtool) are never installed.
INSTALL_PROGS := veilctl veild veil-kmip veil-fsd
# Only the product's modules; test modules (tests/kselftest/...) never.
PRODUCT_KOS := veil.ko dm-veil.ko 9pnet_vsock.ko
INSTALL_UNITS := tools/systemd/veil-attach@.service tools/systemd/veil-fsd.service $(wildcard daemon/*/*.service daemon/*.service tools/systemd/veild.service)
VEIL_PKG_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC := $(DESTDIR)/usr/src/veil-$(VEIL_PKG_VERSION)
SBINDIR ?= /usr/sbin
UDEVRULESDIR ?= /lib/udev/rules.d
UNITDIR ?= /lib/systemd/system
MANDIR ?= /usr/share/man

.PHONY: install install-dkms
install: user
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UDEVRULESDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)/etc/veil
	$(Q)install -m 0755 $(addprefix $(BUILD)/bin/,$(filter $(PROGRAMS),$(INSTALL_PROGS))) \
		$(DESTDIR)$(SBINDIR)/
	$(Q)sed 's|/usr/sbin/|$(SBINDIR)/|g' tools/udev/60-veil.rules \
		>$(DESTDIR)$(UDEVRULESDIR)/60-veil.rules && \
		chmod 0644 $(DESTDIR)$(UDEVRULESDIR)/60-veil.rules
	$(Q)for u in $(INSTALL_UNITS); do \
		sed 's|/usr/sbin/|$(SBINDIR)/|g' $$u >$(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	$(Q)install -m 0644 daemon/fsd/veil-fsd.conf.example $(DESTDIR)/etc/veil/
	$(Q)if [ -e $(DESTDIR)/etc/veil/veil-fsd.conf ]; then \
		echo "kept the existing $(DESTDIR)/etc/veil/veil-fsd.conf"; \
	else \
		install -m 0600 daemon/fsd/veil-fsd.conf.example $(DESTDIR)/etc/veil/veil-fsd.conf; \
	fi
	$(Q)if [ -e $(DESTDIR)/etc/veil/veiltab ]; then :; else \
		install -m 0644 tools/veiltab.example $(DESTDIR)/etc/veil/veiltab; fi
	$(Q)for m in $(wildcard docs/man/*.[1-8]); do \
		install -d $(DESTDIR)$(MANDIR)/man$${m##*.}; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	$(Q)kos="$(wildcard $(addprefix $(KOUT)/ko/,$(PRODUCT_KOS)))"; \
	if [ -n "$$kos" ]; then \
		install -d $(DESTDIR)/lib/modules/$(KVER)/updates/veil && \
		install -m 0644 $$kos $(DESTDIR)/lib/modules/$(KVER)/updates/veil/ && \
		{ [ -n "$(DESTDIR)" ] || depmod $(KVER); } && \
		echo "installed modules for $(KVER) in /lib/modules/$(KVER)/updates/veil"; \
	else \
		echo "no modules built for $(KVER) (make modules KVER=...), or use make install-dkms"; \
	fi
	@echo "installed veil into $(if $(DESTDIR),$(DESTDIR),/); next: veilctl setup (docs/admin-guide.md)"

install-dkms:
	$(Q)rm -rf $(DKMS_SRC) && install -d $(DKMS_SRC)
	$(Q)cp -a kernel common include $(DKMS_SRC)/
	$(Q)find $(DKMS_SRC) \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	$(Q)grep -v '^obj-.*tests/' Kbuild >$(DKMS_SRC)/Kbuild
	$(Q)install -m 0644 dkms.conf $(DKMS_SRC)/
	$(Q)if [ -z "$(DESTDIR)" ] && command -v dkms >/dev/null; then \
		dkms add veil/$(VEIL_PKG_VERSION) && dkms install veil/$(VEIL_PKG_VERSION); \
	else echo "sources in $(DKMS_SRC); run: dkms install veil/$(VEIL_PKG_VERSION)"; fi
