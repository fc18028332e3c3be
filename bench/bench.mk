# SPDX-License-Identifier: Apache-2.0
# bench/: `make bench` (QUICK=1 for a ~1 minute run). Measures start-up,
# boot, footprint, launch rate and density of ember side by side with QEMU
# microvm and the floor program, and writes bench/results/<date>-<host>/.
# Included by the top Makefile after guest-init/runtime/runtime.mk (it uses
# the guest runtime's rules for the idle guest).

BENCH_OUT := $(O)/bench
QUICK ?= 0
# CLONES_MAX=N: stage 5 also starts N clones at once (as many as the machine holds).
CLONES_MAX ?=

# Host programs: static like ember, so neither pays for the dynamic loader.
$(BENCH_OUT)/floor $(BENCH_OUT)/runner $(BENCH_OUT)/iohost: $(BENCH_OUT)/%: bench/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(HOST_CFLAGS) -static $(HOST_LDFLAGS) -o $@ $<

# The guests: idle (boot timer, "ready", halt until stopped), iobench
# (virtio-blk and virtio-net load, bench/iobench.c) and warm (slow to
# initialise, for snapshots, bench/warm.c).
$(BENCH_OUT)/idle.o $(BENCH_OUT)/iobench.o $(BENCH_OUT)/warm.o: $(BENCH_OUT)/%.o: bench/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BENCH_OUT)/idle.elf $(BENCH_OUT)/iobench.elf $(BENCH_OUT)/warm.elf: $(BENCH_OUT)/%.elf: $(RT_ENTRY) $(RT_PVH) $(BENCH_OUT)/%.o $(RT_LIB) $(RT_DIR)/guest.ld
	$(call guest_link,$@,$(RT_ENTRY) $(RT_PVH) $(BENCH_OUT)/$*.o $(RT_LIB))

BENCH_BINS := $(BENCH_OUT)/floor $(BENCH_OUT)/runner $(BENCH_OUT)/iohost
BENCH_BINS += $(BENCH_OUT)/idle.elf $(BENCH_OUT)/iobench.elf $(BENCH_OUT)/warm.elf
DEPS += $(BENCH_OUT)/idle.d $(BENCH_OUT)/iobench.d $(BENCH_OUT)/warm.d
DEPS += $(BENCH_OUT)/floor.d $(BENCH_OUT)/runner.d $(BENCH_OUT)/iohost.d

.PHONY: bench bench-bins
bench-bins: $(BENCH_BINS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all bench-bins
	$(Q)O=$(O) QUICK=$(QUICK) CLONES_MAX=$(CLONES_MAX) bench/run.sh
