# SPDX-License-Identifier: GPL-2.0
#
# veil top-level Makefile.
#
#   make                      kernel modules for $(KVER) + all userspace
#   make KVER=6.12.x+deb12-amd64 (or KDIR=/path/to/headers)
#   make modules-all          kernel modules for every kernel in $(KVERS)
#   make check                unit tests (plain + ASan/UBSan), fuzz smoke,
#                             QEMU kselftests on every kernel in $(KVERS)
#   make vm-check KVER=...    QEMU kselftests on one kernel
#   make demo                 the replica scenario in three QEMU guests
#   make demo-guest           one guest: modules load, family answers
#   make bench                benchmarks (tables + JSON lines under build/)
#   make checkpatch           kernel style check of kernel/ and common/
#
# Kernel modules are built out of tree in a shadow copy per kernel
# (build/kmod/$KVER) so both kernels' objects can coexist.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
TOP := $(abspath .)
BUILD ?= $(TOP)/build
CACHE ?= $(BUILD)/cache

# Kernels: newest installed header tree of each supported series.
KVER_61  ?= $(notdir $(lastword $(sort $(wildcard /usr/src/linux-headers-6.1.*-amd64))))
KVER_612 ?= $(notdir $(lastword $(sort $(wildcard /usr/src/linux-headers-6.12.*-amd64))))
KVER_61  := $(KVER_61:linux-headers-%=%)
KVER_612 := $(KVER_612:linux-headers-%=%)
KVERS ?= $(strip $(KVER_61) $(KVER_612))
# Default KVER: the running kernel when its headers are installed, else the
# newest installed headers of the running kernel's series (x.y), else 6.1.
UNAME_R := $(shell uname -r)
KVER_RUN_SERIES := $(notdir $(lastword $(sort $(wildcard \
	/usr/src/linux-headers-$(word 1,$(subst ., ,$(UNAME_R))).$(word 2,$(subst ., ,$(UNAME_R))).*-amd64))))
KVER_RUN_SERIES := $(KVER_RUN_SERIES:linux-headers-%=%)
KVER ?= $(or $(if $(wildcard /usr/src/linux-headers-$(UNAME_R)),$(UNAME_R)),$(KVER_RUN_SERIES),$(KVER_61))
KDIR ?= /usr/src/linux-headers-$(KVER)
KOUT := $(BUILD)/kmod/$(KVER)

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

.PHONY: all modules modules-all user ksft check check-all demo-run demo-guest unit-check fuzz-check vm-check vm-selftest e2e-check \
	demo bench fuzz-long checkpatch clean setup FORCE

all: modules user

# ---------------------------------------------------------------- kernel ---
# What the kernel build sees (paths relative to the top; copied with -R).
KSRC_DIRS := kernel common include Kbuild tests/kselftest/core/veil_test_consumer \
	tests/kselftest/core/veil_abi2 tests/kselftest/dm/veil_async_cipher

modules: FORCE
	@test -d "$(KDIR)" || { echo "no kernel headers at $(KDIR): run scripts/setup-host.sh" >&2; exit 1; }
	$(Q)mkdir -p $(KOUT)
	$(Q)cd $(TOP) && rsync -aR --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		$(KSRC_DIRS) $(KOUT)/src/
	$(Q)$(MAKE) -C $(KDIR) M=$(KOUT)/src W=1 modules 2>&1 | tee $(KOUT)/build.log
	$(Q)if grep -E 'warning:|error:' $(KOUT)/build.log >/dev/null; then \
		echo "kernel build for $(KVER) produced warnings (see $(KOUT)/build.log)" >&2; exit 1; fi
	$(Q)rm -rf $(KOUT)/ko && mkdir -p $(KOUT)/ko && find $(KOUT)/src -name '*.ko' -exec cp {} $(KOUT)/ko/ \;
	@echo "modules for $(KVER): $$(cd $(KOUT)/ko && echo *.ko)"

modules-all:
	$(Q)set -e; for k in $(KVERS); do $(MAKE) --no-print-directory KVER=$$k modules; done

checkpatch:
	$(Q)perl $(CACHE)/checkpatch/checkpatch.pl --no-tree --strict --quiet \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG,CONST_STRUCT,LINUX_VERSION_CODE,CAMELCASE \
		-f $$(find kernel common -name '*.[ch]' | sort) include/uapi/linux/veil.h

# ------------------------------------------------------------- userspace ---
CC ?= cc
CLANG ?= clang
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-D_GNU_SOURCE -I$(TOP)/include/uapi -I$(TOP)/include -I$(TOP)/common -I$(TOP)/lib \
	-I$(CACHE)/kselftest \
	$(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
SAN_CFLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
USER_LIBS := $(shell pkg-config --libs libnl-genl-3.0 libnl-3.0 2>/dev/null)

# Fragments append to these lists; see each *.mk.
LIBVEIL_SRCS :=
PROGRAMS :=
UNIT_TESTS :=
FUZZ_TARGETS :=
KSFT_PROGS :=
include $(wildcard lib/*.mk common/*.mk daemon/*.mk tools/*.mk tests/*/*.mk tests/*/*/*.mk)

# Two object trees: plain and sanitizer.
OBJ  := $(BUILD)/obj
SOBJ := $(BUILD)/san/obj
$(OBJ)/%.o: %.c
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) $(CFLAGS_$(notdir $*)) -MMD -MP -c $< -o $@
$(SOBJ)/%.o: %.c
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(USER_CFLAGS) $(SAN_CFLAGS) $(CFLAGS_$(notdir $*)) -MMD -MP -c $< -o $@
-include $(shell find $(BUILD)/obj $(BUILD)/san -name '*.d' 2>/dev/null)

LIBVEIL  := $(BUILD)/lib/libveil.a
SLIBVEIL := $(BUILD)/san/lib/libveil.a
$(LIBVEIL): $(LIBVEIL_SRCS:%.c=$(OBJ)/%.o)
	$(Q)mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^
$(SLIBVEIL): $(LIBVEIL_SRCS:%.c=$(SOBJ)/%.o)
	$(Q)mkdir -p $(dir $@); rm -f $@; ar rcs $@ $^

# $(call veil_program,NAME,SOURCES,EXTRA_LIBS): build/bin/NAME and
# build/san/bin/NAME (ASan/UBSan), both linked against libveil.
define veil_program
$(BUILD)/bin/$(1): $(2:%.c=$(OBJ)/%.o) $(LIBVEIL)
	$(Q)mkdir -p $$(dir $$@)
	$(Q)$(CC) -o $$@ $$^ $(3) $(USER_LIBS)
$(BUILD)/san/bin/$(1): $(2:%.c=$(SOBJ)/%.o) $(SLIBVEIL)
	$(Q)mkdir -p $$(dir $$@)
	$(Q)$(CC) $(SAN_CFLAGS) -o $$@ $$^ $(3) $(USER_LIBS)
endef
$(foreach p,$(PROGRAMS) $(UNIT_TESTS) $(KSFT_PROGS),$(eval $(call veil_program,$(p),$(SRCS_$(p)),$(LIBS_$(p)))))

USER_BINS := $(addprefix $(BUILD)/bin/,$(PROGRAMS))
user: $(USER_BINS) $(LIBVEIL)

# kselftest programs need the harness header that scripts/setup-host.sh
# extracts from linux-source-6.1 into $(CACHE)/kselftest.
KSFT_BINS := $(addprefix $(BUILD)/bin/,$(KSFT_PROGS))
KSFT_HARNESS := $(CACHE)/kselftest/kselftest_harness.h
$(KSFT_HARNESS):
	@echo "missing $@: run scripts/setup-host.sh (or make setup) first" >&2; exit 1
$(foreach p,$(KSFT_PROGS),$(SRCS_$(p):%.c=$(OBJ)/%.o) $(SRCS_$(p):%.c=$(SOBJ)/%.o)): | $(KSFT_HARNESS)
ksft: $(KSFT_BINS)

# libFuzzer targets: clang, -fsanitize=fuzzer,address,undefined.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined \
	-D_GNU_SOURCE -I$(TOP)/include/uapi -I$(TOP)/include -I$(TOP)/common -I$(TOP)/lib
define veil_fuzzer
$(BUILD)/fuzz/$(1): $(SRCS_$(1)) $(FUZZ_LIBSRCS_$(1))
	$(Q)mkdir -p $$(dir $$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $$@ $$^ $(LIBS_$(1))
endef
$(foreach f,$(FUZZ_TARGETS),$(eval $(call veil_fuzzer,$(f))))

# "make build/bin/NAME" (relative) names the same file as $(BUILD)/bin/NAME.
ifeq ($(BUILD),$(TOP)/build)
build/%: $(BUILD)/% ;
endif

# ----------------------------------------------------------------- tests ---
FUZZ_SECONDS ?= 20
RESULTS := $(BUILD)/results

unit-check: $(addprefix $(BUILD)/bin/,$(UNIT_TESTS)) $(addprefix $(BUILD)/san/bin/,$(UNIT_TESTS))
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/run-unit.sh $(RESULTS)/unit.tap $(addprefix $(BUILD)/bin/,$(UNIT_TESTS)) \
		$(addprefix $(BUILD)/san/bin/,$(UNIT_TESTS)) $(UNIT_SCRIPTS)

fuzz-check: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/run-fuzz.sh $(RESULTS)/fuzz.tap $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-long: FUZZ_SECONDS := 1800
fuzz-long: fuzz-check

vm-check: modules user ksft
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/vm/run-suites.sh --kver $(KVER) --tap $(RESULTS)/vm-$(KVER).tap $(SUITES)

# End-to-end scenarios: tests/e2e/<name>/run.sh KVER OUT.tap, each starting
# and stopping its own host-side servers and guests.
E2E ?= $(notdir $(patsubst %/run.sh,%,$(wildcard tests/e2e/*/run.sh)))
e2e-check: modules user $(addprefix $(BUILD)/san/bin/,$(PROGRAMS))
	$(Q)mkdir -p $(RESULTS)
	$(Q)rc=0; for e in $(E2E); do \
		tests/e2e/$$e/run.sh $(KVER) $(RESULTS)/e2e-$$e-$(KVER).tap || rc=1; \
	done; exit $$rc

vm-selftest:
	$(Q)mkdir -p $(RESULTS)
	$(Q)tests/vm/selftest.sh $(KVER) $(RESULTS)/runner-$(KVER).tap

# Everything, on every kernel; the last line is "N passed, N failed, N skipped".
# (setup first, then a fresh make that sees the kernels setup installed)
check: setup
	$(Q)$(MAKE) --no-print-directory check-all

check-all:
	@test -n "$(KVERS)" || { echo "no kernel headers found: run scripts/setup-host.sh" >&2; exit 1; }
	$(Q)rm -rf $(RESULTS); mkdir -p $(RESULTS)
	$(Q)rc=0; \
	$(MAKE) --no-print-directory modules-all user ksft || rc=1; \
	$(MAKE) --no-print-directory unit-check || rc=1; \
	$(MAKE) --no-print-directory fuzz-check || rc=1; \
	for k in $(KVERS); do \
		$(MAKE) --no-print-directory KVER=$$k vm-selftest || rc=1; \
		$(MAKE) --no-print-directory KVER=$$k vm-check || rc=1; \
		$(MAKE) --no-print-directory KVER=$$k e2e-check || rc=1; \
	done; \
	tests/tap-summary.sh $(RESULTS)/*.tap || rc=1; \
	exit $$rc

demo: setup
	$(Q)$(MAKE) --no-print-directory demo-run

# The replica scenario, narrated: A encrypts, the host copies the disk, B
# (authorised) has the copy hot-plugged and it unlocks, C (not) stays sealed.
demo-run: modules user
	$(Q)tests/e2e/replica/demo.sh $(KVER)

# The smallest guest: modules load, the family answers, the target is there.
demo-guest: modules user
	$(Q)tests/vm/demo.sh --kver $(KVER)

bench: setup
	$(Q)$(MAKE) --no-print-directory bench-run

bench-run: modules-all user
	$(Q)tests/bench/run.sh $(addprefix --kver ,$(KVERS))

setup:
	$(Q)scripts/setup-host.sh

clean:
	rm -rf $(BUILD)/obj $(BUILD)/san $(BUILD)/bin $(BUILD)/lib $(BUILD)/fuzz $(BUILD)/kmod $(BUILD)/results

FORCE:
