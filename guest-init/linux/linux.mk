# SPDX-License-Identifier: Apache-2.0
# guest-init/linux/: the Linux guest. guest-init (static PID 1), the initramfs
# around it and busybox, and the kernel built from Debian's linux-source-6.1
# (cached under /var/cache/ember/kernel, see build-kernel.sh). Included by the
# top Makefile; `make guest` builds all four outputs.

LG_DIR := guest-init/linux
LG_OUT := $(O)/guest-init/linux

# ------------------------------------------------------------ guest-init
LG_INIT_SRCS += $(LG_DIR)/init.c
LG_INIT_SRCS += $(LG_DIR)/init_core.c
LG_INIT_SRCS += $(LG_DIR)/init_sys.c
LG_INIT_OBJS := $(LG_INIT_SRCS:%.c=$(O)/%.o)

$(LG_INIT_OBJS) $(LG_OUT)/mkcpio.o: HOST_CFLAGS += -Imonitor

$(O)/guest/init: $(LG_INIT_OBJS)
	$(call quiet,LD,$@)mkdir -p $(dir $@) && $(CC) -static $(HOST_LDFLAGS) -o $@ $^

GUESTS += $(O)/guest/init

# ------------------------------------------------------------ initramfs
# mkcpio: newc writer (host tool), so /dev/console needs no mknod.
$(LG_OUT)/mkcpio: $(LG_OUT)/mkcpio.o
	$(call quiet,HOSTLD,$@)$(CC) $(HOST_LDFLAGS) -o $@ $^

# INITRD_EXTRA (or EMBER_INITRD_EXTRA in the environment): host programs to
# add with their shared libraries, e.g. `make guest INITRD_EXTRA="socat fio"`.
# The stamp holds the list, rewritten only when it changes, so a new list
# rebuilds the archive.
INITRD_EXTRA ?= $(EMBER_INITRD_EXTRA)
LG_EXTRA_STAMP := $(LG_OUT)/initrd-extra.list

$(LG_EXTRA_STAMP): LG_FORCE
	$(Q)mkdir -p $(dir $@) && printf '%s\n' '$(strip $(INITRD_EXTRA))' | cmp -s - $@ || \
		printf '%s\n' '$(strip $(INITRD_EXTRA))' >$@

.PHONY: LG_FORCE
LG_FORCE:

$(O)/guest/initrd.cpio: $(O)/guest/init $(LG_OUT)/mkcpio $(LG_DIR)/build-initrd.sh \
		$(wildcard /bin/busybox) $(LG_EXTRA_STAMP)
	$(call quiet,CPIO,$@)EMBER_INITRD_EXTRA='$(strip $(INITRD_EXTRA))' \
		$(LG_DIR)/build-initrd.sh $@ $(O)/guest/init $(LG_OUT)/mkcpio

# ------------------------------------------------------------ kernel
LG_KERNEL_INPUTS := $(LG_DIR)/build-kernel.sh $(LG_DIR)/microvm.config
LG_KERNEL_INPUTS += $(sort $(wildcard $(LG_DIR)/patches/*.patch))
LG_KERNEL_INPUTS += $(wildcard /usr/src/linux-source-6.1.tar.xz)

# One script run makes both (a cache hit copies them in well under a second).
$(O)/guest/vmlinux $(O)/guest/bzImage &: $(LG_KERNEL_INPUTS)
	$(Q)$(LG_DIR)/build-kernel.sh $(O)/guest

guest: $(O)/guest/init $(O)/guest/initrd.cpio $(O)/guest/vmlinux $(O)/guest/bzImage

# ------------------------------------------------------------ tests
LG_TEST_OUT := $(O)/tests/guest-init

$(LG_TEST_OUT)/test_init.o: HOST_CFLAGS += -Imonitor -I$(LG_DIR)

$(LG_TEST_OUT)/test_init: $(LG_TEST_OUT)/test_init.o $(O)/$(LG_DIR)/init_core.o \
		$(O)/$(LG_DIR)/init_sys.o
	$(call quiet,LD,$@)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lcmocka

# test_initrd: builds the initramfs twice from the same inputs and checks
# the bytes are equal and the entries are there (a generated script).
$(LG_TEST_OUT)/test_initrd: tests/guest-init/test_initrd.sh $(O)/guest/init $(LG_OUT)/mkcpio \
		$(LG_DIR)/build-initrd.sh
	$(call quiet,GEN,$@)mkdir -p $(dir $@) && \
	printf '#!/bin/sh\nexec sh %s %s %s %s\n' $(abspath tests/guest-init/test_initrd.sh) \
		$(abspath $(LG_DIR)/build-initrd.sh) $(abspath $(O)/guest/init) \
		$(abspath $(LG_OUT)/mkcpio) >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@

TEST_BINS += $(LG_TEST_OUT)/test_init
# The initrd test needs the static init, which a sanitizer build cannot link.
ifneq ($(SANITIZE),1)
TEST_BINS += $(LG_TEST_OUT)/test_initrd
endif

DEPS += $(LG_INIT_OBJS:.o=.d) $(LG_OUT)/mkcpio.d $(LG_TEST_OUT)/test_init.d
