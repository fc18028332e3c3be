# SPDX-License-Identifier: Apache-2.0
# bench/: `make bench` (QUICK=1 for a ~1 minute run). Measures start-up,
# boot, footprint, launch rate and density of ember side by side with QEMU
# microvm and the floor program, and writes bench/results/<date>-<host>/.
# Included by the top Makefile after guest-init/runtime/runtime.mk (it uses
# the guest runtime's rules for the idle guest).

BENCH_OUT := $(O)/bench
QUICK ?= 0

# Host programs: static like ember, so neither pays for the dynamic loader.
$(BENCH_OUT)/floor $(BENCH_OUT)/runner: $(BENCH_OUT)/%: bench/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(HOST_CFLAGS) -static $(HOST_LDFLAGS) -o $@ $<

# The idle guest (boot timer, "ready", halt until stopped).
$(BENCH_OUT)/idle.o: bench/idle.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BENCH_OUT)/idle.elf: $(RT_ENTRY) $(RT_PVH) $(BENCH_OUT)/idle.o $(RT_LIB) $(RT_DIR)/guest.ld
	$(call guest_link,$@,$(RT_ENTRY) $(RT_PVH) $(BENCH_OUT)/idle.o $(RT_LIB))

BENCH_BINS := $(BENCH_OUT)/floor $(BENCH_OUT)/runner $(BENCH_OUT)/idle.elf
DEPS += $(BENCH_OUT)/idle.d $(BENCH_OUT)/floor.d $(BENCH_OUT)/runner.d

.PHONY: bench bench-bins
bench-bins: $(BENCH_BINS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all bench-bins
	$(Q)O=$(O) QUICK=$(QUICK) bench/run.sh
