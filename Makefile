# SPDX-License-Identifier: Apache-2.0
# ember: one non-recursive Makefile. Fragments under guest-init/ and tests/
# add their own targets to the variables declared here.
#
#   make            build the monitor and the small guests
#   make run        install deps, build, boot the demo guest (hello.elf)
#   make test       install deps, build everything, run every test
#   make guest      build the Linux guest (kernel, initrd), cached
#   make check      static analysis + sanitizer build of the unit tests
#   make bench      benchmarks beside QEMU microvm (QUICK=1: short run)
#   make clean      rm -rf $(O)
#   make install    ember, ember-jailer and their man pages (PREFIX, DESTDIR)

O ?= build
CC ?= gcc
WERROR ?= 1
SANITIZE ?= 0
V ?= 0
SHELL := /bin/bash

ifeq ($(V),0)
Q := @
quiet = @printf '  %-8s %s\n' $(1) $(2);
else
Q :=
quiet =
endif

WARNINGS += -Wall
WARNINGS += -Wextra
WARNINGS += -Wshadow
WARNINGS += -Wstrict-prototypes
WARNINGS += -Wmissing-prototypes
WARNINGS += -Wformat=2
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARNINGS) $(CFLAGS)
BASE_CFLAGS += -fstack-protector-strong -MMD -MP
# virtio/ is a library of its own: its objects are compiled with no include
# path at all, so they see virtio/'s headers and the system's, and an include
# of anything in monitor/ does not compile. The monitor, the tests and the
# other host programs see both.
VIRTIO_CFLAGS := $(BASE_CFLAGS)
# monitor/ in rooms by responsibility: kvm/ (VM, vCPUs, CPU state, buses),
# boot/ (loaders, boot structures, the kernel command line), devices/ (the
# legacy devices and the virtio-mmio slots), control/ (the configuration
# model, the API, logger and metrics), snapshot/ (the state file
# format, saving a VM and restoring one); the process and the build recipe at the top. Every
# room's headers are on the include path.
MONITOR_INCLUDES := -Imonitor -Imonitor/kvm -Imonitor/boot -Imonitor/devices -Imonitor/control \
	-Imonitor/snapshot
HOST_CFLAGS := $(BASE_CFLAGS) $(MONITOR_INCLUDES) -Ivirtio -Immds
HOST_LDFLAGS := -Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now $(LDFLAGS)

# Debian packages the build, the tests and the guests need.
DEB_PACKAGES := gcc make binutils libc6-dev linux-libc-dev libcmocka-dev \
	libseccomp-dev linux-source-6.1 busybox-static flex bison bc libelf-dev \
	libssl-dev cpio xz-utils lz4 file liburing-dev libjansson-dev libhttp-parser-dev curl \
	python3 iproute2 procps socat e2fsprogs clang libclang-rt-14-dev zlib1g-dev

.PHONY: all deps run test test-bins guest bench check clean help
all: ember guests jailer tools

DEPS :=
GUESTS :=
TEST_BINS :=

# ---------------------------------------------------------------- monitor
VIRTIO_SRCS :=
include virtio/virtio.mk
MMDS_SRCS :=
include mmds/mmds.mk

MONITOR_SRCS :=
include monitor/monitor.mk
include jailer/jailer.mk
include tools/tools.mk

VIRTIO_OBJS := $(VIRTIO_SRCS:%.c=$(O)/%.o)
MONITOR_OBJS := $(MONITOR_SRCS:%.c=$(O)/%.o)
DEPS += $(VIRTIO_OBJS:.o=.d) $(MONITOR_OBJS:.o=.d)

$(O)/virtio/%.o: virtio/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(VIRTIO_CFLAGS) -c $< -o $@

$(O)/%.o: %.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(HOST_CFLAGS) -c $< -o $@

$(O)/.dirs:
	$(Q)mkdir -p $(O) && touch $@

$(O)/virtio/libvirtio.a: $(VIRTIO_OBJS)
	$(call quiet,AR,$@)rm -f $@ && ar rcs $@ $^

# Static, so it runs in an empty jail; a sanitizer build links dynamically
# (the sanitizer runtimes need it) and is for tests only.
EMBER_LINK := $(if $(filter 1,$(SANITIZE)),,-static)
$(O)/ember: $(MONITOR_OBJS) $(O)/virtio/libvirtio.a $(O)/mmds/libmmds.a
	$(call quiet,LD,$@)$(CC) $(EMBER_LINK) $(HOST_LDFLAGS) -o $@ $^ -luring -lpthread -lz

.PHONY: ember
ember: $(O)/ember

# ---------------------------------------------------------------- guests
include guest-init/runtime/runtime.mk
include guest-init/linux/linux.mk
include bench/bench.mk

.PHONY: guests
guests: $(GUESTS)

# ---------------------------------------------------------------- tests
include tests/tests.mk
include tests/fuzz/fuzz.mk
include tests/soak/soak.mk
include doc/install.mk

# ---------------------------------------------------------------- top level
test-bins: $(TEST_BINS)

# The README's test command: set up what is missing, build, run everything,
# the integration suites again against the sanitizer builds of ember.
test: deps
	$(Q)$(MAKE) --no-print-directory all test-bins guest fuzz-bins san-bins
	$(Q)O=$(O) EMBER_ASAN=$(abspath $(ASAN_EMBER)) EMBER_TSAN=$(abspath $(TSAN_EMBER)) \
		tests/run.sh $(TEST_BINS)

# Sanitizer builds of ember for the integration suites: ASan+UBSan and
# ThreadSanitizer, dynamically linked, each behind a wrapper that adds
# --no-seccomp (the sanitizer runtimes make syscalls no filter allows).
# `make test-san` runs only those stages.
ASAN_EMBER := $(O)/asan/ember-san
TSAN_EMBER := $(O)/tsan/ember-san
TSAN_FLAGS := -O1 -g -fsanitize=thread -fno-omit-frame-pointer
.PHONY: san-bins test-san
san-bins: $(ASAN_EMBER) $(TSAN_EMBER)
$(O)/asan/ember-san: FORCE
	$(Q)$(MAKE) --no-print-directory O=$(O)/asan SANITIZE=1 CFLAGS="$(SAN_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" ember
	$(Q)printf '#!/bin/sh\nexec %s --no-seccomp "$$@"\n' $(abspath $(O)/asan/ember) >$@ && chmod +x $@
$(O)/tsan/ember-san: FORCE
	$(Q)$(MAKE) --no-print-directory O=$(O)/tsan SANITIZE=1 CFLAGS="$(TSAN_FLAGS)" \
		LDFLAGS="-fsanitize=thread" ember
	$(Q)printf '#!/bin/sh\nexec %s --no-seccomp "$$@"\n' $(abspath $(O)/tsan/ember) >$@ && chmod +x $@
FORCE:

test-san: deps
	$(Q)$(MAKE) --no-print-directory all test-bins guest san-bins
	$(Q)O=$(O) EMBER_ASAN=$(abspath $(ASAN_EMBER)) EMBER_TSAN=$(abspath $(TSAN_EMBER)) \
		EMBER_SUITES=none EMBER_FUZZ=0 tests/run.sh

deps:
	$(Q)missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install: $$missing" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null || exit 1; \
	fi

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)echo "ember: booting $(O)/guest/hello.elf"
	$(Q)$(O)/ember --kernel $(O)/guest/hello.elf --boot-timer -- world

# Static analysis, then the unit tests built with ASan+UBSan in their own O=.
# static_check(what, sources, include flags): cppcheck and clang-tidy over
# (sources), seeing what their compiler sees (virtio/: no include path).
define static_check
	$(call quiet,CPPCHECK,$(1))cppcheck -q --std=c11 --enable=warning,performance,portability \
		--error-exitcode=1 --inline-suppr -D__x86_64__ $(3) $(2)
	$(call quiet,TIDY,$(1))clang-tidy --quiet $(2) -- -std=c11 -D_GNU_SOURCE $(3) 2>&1 | \
		grep -v 'warnings generated' ; exit $${PIPESTATUS[0]}
endef
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check: deps $(O)/monitor/seccomp_filters.h
	$(Q)command -v cppcheck >/dev/null && command -v clang-tidy >/dev/null || \
		{ export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q cppcheck clang-tidy >/dev/null; }
	$(call static_check,virtio,$(VIRTIO_SRCS),)
	$(call static_check,mmds,$(MMDS_SRCS),)
	$(call static_check,monitor,$(MONITOR_SRCS),$(MONITOR_INCLUDES) -Ivirtio -Immds -I$(O)/monitor)
	$(call static_check,tools,$(TOOLS_SRCS),)
	$(Q)$(MAKE) --no-print-directory O=$(O)/san SANITIZE=1 CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" unit-test

help:
	@sed -n '5,12p' Makefile

clean:
	rm -rf $(O)

-include $(DEPS)
