# tests/fuzz/: libFuzzer harnesses (clang, ASan + UBSan), one per
# tests/fuzz/fuzz_<target>.c, with seed corpora in tests/fuzz/corpus/<target>/.
#
#   make fuzz-bins              build them into $(O)/fuzz/
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="loader http"]
#                               run each for FUZZ_SECONDS on a scratch copy of
#                               its corpus; print executions, exec/s, coverage
#   tests/fuzz/regress.sh       the regression check `make test` runs
#
# The monitor and virtio sources are compiled again here, with coverage
# instrumentation (-fsanitize=fuzzer-no-link), into $(O)/fuzz/; nothing of
# the normal build is reused or touched.

FUZZ_CC ?= clang
FUZZ_O := $(O)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARNINGS) -O1 -g -fno-omit-frame-pointer \
	-MMD -MP $(MONITOR_INCLUDES) -Ivirtio -Immds -Itests/fuzz $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# clang counts a va_list passed on to vsnprintf as a non-literal format; gcc, the
# product's compiler, does not, and every such caller is itself format-checked.
FUZZ_CFLAGS += -Wno-format-nonliteral
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer

FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ALL := $(filter-out util log virtio api,$(FUZZ_ALL))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS := $(FUZZ_ALL:%=$(FUZZ_O)/fuzz_%)

$(FUZZ_O)/%.o: %.c | $(O)/.dirs
	$(call quiet,FUZZCC,$@)mkdir -p $(dir $@) && $(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

# The virtio library, its harnesses and what they share see no monitor header,
# as in the normal build (Makefile, VIRTIO_CFLAGS).
FUZZ_VIRTIO_CFLAGS := $(filter-out $(MONITOR_INCLUDES),$(FUZZ_CFLAGS))
$(FUZZ_O)/virtio/%.o $(FUZZ_O)/tests/fuzz/fuzz_virtio_%.o: FUZZ_CFLAGS := $(FUZZ_VIRTIO_CFLAGS)
$(FUZZ_O)/tests/fuzz/fuzz_virtio.o $(FUZZ_O)/tests/fuzz/fuzz_util.o: FUZZ_CFLAGS := $(FUZZ_VIRTIO_CFLAGS)
# mmds/ too, and its harness.
$(FUZZ_O)/mmds/%.o $(FUZZ_O)/tests/fuzz/fuzz_mmds.o: FUZZ_CFLAGS := $(FUZZ_VIRTIO_CFLAGS)
FUZZ_MMDS_OBJS := $(basename $(MMDS_SRCS))

# fuzz_harness(target, objects under monitor/ and virtio/ without .o, libraries)
define fuzz_harness
DEPS += $(FUZZ_O)/tests/fuzz/fuzz_$(1).d
$(FUZZ_O)/fuzz_$(1): $(FUZZ_O)/tests/fuzz/fuzz_$(1).o $(FUZZ_O)/tests/fuzz/fuzz_util.o \
		$(patsubst %,$(FUZZ_O)/%.o,$(2))
	$$(call quiet,FUZZLD,$$@)$$(FUZZ_CC) $$(FUZZ_LDFLAGS) -o $$@ $$^ $(3)
endef

FUZZ_VIRTIO_OBJS := virtio/vlog virtio/gmem virtio/queue virtio/ratelimit virtio/mmio \
	tests/fuzz/fuzz_virtio
$(eval $(call fuzz_harness,virtio_blk,$(FUZZ_VIRTIO_OBJS) virtio/blk virtio/blk_sync virtio/blk_uring,-luring))
$(eval $(call fuzz_harness,virtio_net,$(FUZZ_VIRTIO_OBJS) virtio/net))
$(eval $(call fuzz_harness,virtio_vsock,$(FUZZ_VIRTIO_OBJS) virtio/vsock virtio/vsock_conn virtio/vsock_mux))
$(eval $(call fuzz_harness,virtio_rng,$(FUZZ_VIRTIO_OBJS) virtio/rng))
# Harnesses of monitor code silence its log with fuzz_log.c (fz_quiet_logs).
$(eval $(call fuzz_harness,loader,monitor/boot/loader monitor/boot/load_elf monitor/boot/load_pvh \
	monitor/boot/load_bzimage monitor/boot/bootparams monitor/boot/mptable monitor/kvm/x86_cpu monitor/control/config monitor/seccomp_file \
	monitor/kvm/cpu_template \
	monitor/control/resources monitor/boot/kernel_cmdline monitor/log virtio/gmem tests/fuzz/fuzz_log))
$(eval $(call fuzz_harness,config_file,monitor/control/config_json monitor/control/cpu_config_json monitor/control/json_util monitor/kvm/cpu_template monitor/control/config monitor/seccomp_file monitor/control/resources \
	monitor/boot/kernel_cmdline monitor/log virtio/gmem tests/fuzz/fuzz_log,-ljansson))
$(eval $(call fuzz_harness,api_body,tests/fuzz/fuzz_api monitor/control/api_routes monitor/control/instance \
	monitor/control/config_json monitor/control/cpu_config_json monitor/control/json_util monitor/kvm/cpu_template monitor/control/resources monitor/boot/kernel_cmdline monitor/control/config monitor/seccomp_file monitor/control/logger \
	monitor/control/metrics monitor/log tests/fuzz/fuzz_log $(FUZZ_MMDS_OBJS),-ljansson -lpthread))
$(eval $(call fuzz_harness,http,tests/fuzz/fuzz_api monitor/control/api monitor/control/sock_guard monitor/evloop \
	monitor/control/api_routes monitor/control/instance monitor/control/config_json monitor/control/cpu_config_json monitor/control/json_util monitor/kvm/cpu_template monitor/control/config monitor/seccomp_file monitor/control/resources \
	monitor/boot/kernel_cmdline monitor/control/logger monitor/control/metrics monitor/log tests/fuzz/fuzz_log \
	$(FUZZ_MMDS_OBJS), \
	-lhttp_parser -ljansson -lpthread))
$(eval $(call fuzz_harness,devices,monitor/devices/serial monitor/devices/i8042 monitor/devices/ioapic \
	monitor/devices/isa_irq monitor/devices/pic monitor/devices/pit monitor/devices/pit_timer \
	monitor/devices/rtc monitor/devices/boot_timer monitor/devices/exit_port monitor/kvm/bus \
	monitor/evloop monitor/log virtio/ratelimit virtio/vlog tests/fuzz/fuzz_log))
$(eval $(call fuzz_harness,snapshot,monitor/snapshot/snap_file,-lz))
# The file --seccomp-filter names (Firecracker's seccompiler-bin format).
$(eval $(call fuzz_harness,seccomp_file,monitor/seccomp_file))
# The metadata service's guest side: frame sequences into the stack.
$(eval $(call fuzz_harness,mmds,$(FUZZ_MMDS_OBJS),-ljansson -lpthread))
DEPS += $(patsubst %,$(FUZZ_O)/tests/fuzz/fuzz_%.d,util log virtio api) \
	$(patsubst %,$(FUZZ_O)/%.d,$(basename $(VIRTIO_SRCS) $(MONITOR_SRCS) $(MMDS_SRCS)))

.PHONY: fuzz-bins fuzz
fuzz-bins: $(FUZZ_BINS)

# Each harness on a scratch copy of its corpus, so the tree's corpus stays as committed;
# what it finds goes to $(FUZZ_O)/artifacts/<target>/.
fuzz: fuzz-bins
	$(Q)O=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)
