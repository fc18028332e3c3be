# SPDX-License-Identifier: Apache-2.0
# guest-init/runtime/: the freestanding guest runtime, the demo guest
# (hello.elf) and the small test guests under tests/guests/.
#
# Guests are plain integer ring-0 code: the software KVM on our hosts
# (kvm_pvm) cannot emulate SSE, x87, xsave, popcnt (HOST-KVM.md), so every
# flag below keeps the compiler away from them. Included by the top Makefile.

RT_DIR := guest-init/runtime

GUEST_CFLAGS := -std=c11 -O2 -g $(WARNINGS)
GUEST_CFLAGS += -ffreestanding -fno-pic -fno-pie -fno-stack-protector
GUEST_CFLAGS += -fno-asynchronous-unwind-tables -fno-unwind-tables
GUEST_CFLAGS += -mno-red-zone -mgeneral-regs-only -mno-sse -mno-mmx -mno-80387
GUEST_CFLAGS += -mno-popcnt -mcmodel=small
GUEST_CFLAGS += -ffunction-sections -fdata-sections
# gcc 12 flags fixed low addresses (0x40e, 0x3000) as out-of-bounds otherwise.
GUEST_CFLAGS += --param=min-pagesize=0
GUEST_CFLAGS += -I$(RT_DIR) -Imonitor -MMD -MP
GUEST_ASFLAGS := -D__ASSEMBLER__ -I$(RT_DIR) -Imonitor -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--gc-sections
GUEST_LDFLAGS += -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments
GUEST_LDFLAGS += -Wl,-T,$(RT_DIR)/guest.ld

# The runtime, as an archive so a guest links only what it uses (smp.o,
# smp_tramp.o). entry.o is linked explicitly: it holds both entries.
RT_SRCS += $(RT_DIR)/start.c
RT_SRCS += $(RT_DIR)/console.c
RT_SRCS += $(RT_DIR)/sys.c
RT_SRCS += $(RT_DIR)/smp.c
RT_SRCS += $(RT_DIR)/irq.c
RT_SRCS += $(RT_DIR)/pic.c
RT_SRCS += $(RT_DIR)/random.c
RT_SRCS += $(RT_DIR)/virtio.c
RT_SRCS += $(RT_DIR)/virtio_rng.c
RT_SRCS += $(RT_DIR)/virtio_blk.c
RT_SRCS += $(RT_DIR)/virtio_net.c
RT_SRCS += $(RT_DIR)/virtio_vsock.c
RT_ASRCS += $(RT_DIR)/smp_tramp.S

RT_OBJS := $(RT_SRCS:$(RT_DIR)/%.c=$(O)/guest/runtime/%.o)
RT_OBJS += $(RT_ASRCS:$(RT_DIR)/%.S=$(O)/guest/runtime/%.o)
RT_ENTRY := $(O)/guest/runtime/entry.o
RT_PVH := $(O)/guest/runtime/pvh_note.o
RT_LIB := $(O)/guest/runtime/libruntime.a

$(RT_OBJS) $(RT_ENTRY) $(RT_PVH) $(O)/guest/hello.o: | $(O)/.dirs

$(RT_SRCS:$(RT_DIR)/%.c=$(O)/guest/runtime/%.o): $(O)/guest/runtime/%.o: $(RT_DIR)/%.c
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(GUEST_CFLAGS) -c $< -o $@

$(RT_ASRCS:$(RT_DIR)/%.S=$(O)/guest/runtime/%.o) $(RT_ENTRY) $(RT_PVH): $(O)/guest/runtime/%.o: $(RT_DIR)/%.S
	$(call quiet,AS,$@)mkdir -p $(dir $@) && $(CC) $(GUEST_ASFLAGS) -c $< -o $@

$(RT_LIB): $(RT_OBJS)
	$(call quiet,AR,$@)rm -f $@ && ar rcs $@ $^

# guest_link: (1) output ELF, (2) objects. Fails if an SSE/x87/xsave/popcnt/
# fence/cmpxchg16b instruction slipped in (KVM's emulator has none of them), since the host's KVM would stop the guest there.
GUEST_FORBIDDEN := xmm|ymm|zmm|popcnt|xsave|xrstor|fxsave|fxrstor|xgetbv|xsetbv|ldmxcsr|stmxcsr|\<f(ld|st|ild|ist|init|nstcw|ldcw)\>|\<(cl|st)ac\>|\<[lms]fence\>|cmpxchg16b
define guest_link
	$(call quiet,LD,$(1))mkdir -p $(dir $(1)) && \
	$(CC) $(GUEST_LDFLAGS) -o $(1).tmp $(2) && \
	if objdump -d $(1).tmp | grep -Eq '$(GUEST_FORBIDDEN)'; then \
		objdump -d $(1).tmp | grep -E '$(GUEST_FORBIDDEN)' >&2; \
		echo "$(1): instructions the software KVM cannot emulate" >&2; \
		rm -f $(1).tmp; exit 1; fi && \
	mv $(1).tmp $(1)
endef

# ------------------------------------------------------------ hello.elf
$(O)/guest/hello.o: $(O)/guest/%.o: $(RT_DIR)/%.c
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(GUEST_CFLAGS) -c $< -o $@

$(O)/guest/hello.elf: $(RT_ENTRY) $(RT_PVH) $(O)/guest/hello.o $(RT_LIB) $(RT_DIR)/guest.ld
	$(call guest_link,$@,$(RT_ENTRY) $(RT_PVH) $(O)/guest/hello.o $(RT_LIB))

# ------------------------------------------------------------ tests/guests
TG_DIR := tests/guests
TG_OUT := $(O)/tests/guests

$(TG_OUT)/probe.o $(TG_OUT)/vio.o: $(TG_OUT)/%.o: $(TG_DIR)/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(GUEST_CFLAGS) -c $< -o $@

# probe.elf has the PVH note; probe-nopvh.elf does not (64-bit ELF entry).
$(TG_OUT)/probe.elf: $(RT_ENTRY) $(RT_PVH) $(TG_OUT)/probe.o $(RT_LIB) $(RT_DIR)/guest.ld
	$(call guest_link,$@,$(RT_ENTRY) $(RT_PVH) $(TG_OUT)/probe.o $(RT_LIB))

$(TG_OUT)/vio.elf: $(RT_ENTRY) $(RT_PVH) $(TG_OUT)/vio.o $(RT_LIB) $(RT_DIR)/guest.ld
	$(call guest_link,$@,$(RT_ENTRY) $(RT_PVH) $(TG_OUT)/vio.o $(RT_LIB))

$(TG_OUT)/probe-nopvh.elf: $(RT_ENTRY) $(TG_OUT)/probe.o $(RT_LIB) $(RT_DIR)/guest.ld
	$(call guest_link,$@,$(RT_ENTRY) $(TG_OUT)/probe.o $(RT_LIB))

# Host tool: ELF -> bzImage (setup header + protected-mode part).
$(TG_OUT)/mkbzimage.o: $(TG_OUT)/%.o: $(TG_DIR)/%.c | $(O)/.dirs
	$(call quiet,HOSTCC,$@)mkdir -p $(dir $@) && $(CC) $(HOST_CFLAGS) -c $< -o $@

$(TG_OUT)/mkbzimage: $(TG_OUT)/mkbzimage.o
	$(call quiet,HOSTLD,$@)$(CC) $(HOST_LDFLAGS) -o $@ $^

$(TG_OUT)/probe.bzImage: $(TG_OUT)/probe-nopvh.elf $(TG_OUT)/mkbzimage
	$(call quiet,BZIMAGE,$@)$(TG_OUT)/mkbzimage $< $@

$(TG_OUT)/probe-no64.bzImage: $(TG_OUT)/probe-nopvh.elf $(TG_OUT)/mkbzimage
	$(call quiet,BZIMAGE,$@)$(TG_OUT)/mkbzimage --no64 $< $@

GUESTS += $(O)/guest/hello.elf
GUESTS += $(TG_OUT)/probe.elf
GUESTS += $(TG_OUT)/probe-nopvh.elf
GUESTS += $(TG_OUT)/vio.elf
GUESTS += $(TG_OUT)/probe.bzImage
GUESTS += $(TG_OUT)/probe-no64.bzImage

DEPS += $(RT_OBJS:.o=.d) $(RT_ENTRY:.o=.d) $(RT_PVH:.o=.d) $(O)/guest/hello.d
DEPS += $(TG_OUT)/probe.d $(TG_OUT)/vio.d $(TG_OUT)/mkbzimage.d
