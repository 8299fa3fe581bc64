# SPDX-License-Identifier: GPL-2.0
# make install also installs initramfs-tools' hook, boot scripts and
# conf-hook for LUs that /etc/veil/veiltab marks x-initrd.attach (root on
# veil, see veiltab(5) and the admin guide's "Boot" chapter).  They do
# nothing on a host whose veiltab marks no such LU.
INITRAMFS_DIR ?= /usr/share/initramfs-tools
INITRAMFS_SCRIPTS := hooks/veil scripts/local-top/veil scripts/init-bottom/veil

.PHONY: install-initramfs rootfs-check
install: install-initramfs
install-initramfs:
	$(Q)for f in $(INITRAMFS_SCRIPTS); do \
		install -d $(DESTDIR)$(INITRAMFS_DIR)/$$(dirname $$f) && \
		sed 's|^SBIN=/usr/sbin$$|SBIN=$(SBINDIR)|' tools/initramfs/$$f >$(DESTDIR)$(INITRAMFS_DIR)/$$f.tmp && \
		chmod 0755 $(DESTDIR)$(INITRAMFS_DIR)/$$f.tmp && \
		mv $(DESTDIR)$(INITRAMFS_DIR)/$$f.tmp $(DESTDIR)$(INITRAMFS_DIR)/$$f || exit 1; \
	done
	$(Q)install -d $(DESTDIR)$(INITRAMFS_DIR)/conf-hooks.d
	$(Q)install -m 0644 tools/initramfs/conf-hooks.d/veil $(DESTDIR)$(INITRAMFS_DIR)/conf-hooks.d/veil

# Root on veil, booted for real (Debian 12 tree, mkinitramfs, two boots per
# kernel), alone; make check runs it with the other e2e scenarios.
rootfs-check: modules-all user
	$(Q)mkdir -p $(RESULTS)
	$(Q)rc=0; for k in $(KVERS); do \
		tests/e2e/rootfs/run.sh $$k $(RESULTS)/e2e-rootfs-$$k.tap || rc=1; \
	done; exit $$rc
