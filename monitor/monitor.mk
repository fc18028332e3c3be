# monitor/: the `ember` binary. One source per line.
MONITOR_SRCS += monitor/log.c
MONITOR_SRCS += monitor/main.c
MONITOR_SRCS += monitor/restore_server.c
MONITOR_SRCS += monitor/restore_clients.c
MONITOR_SRCS += monitor/restore_client.c
MONITOR_SRCS += monitor/pid_map.c
MONITOR_SRCS += monitor/warm_pool.c
MONITOR_SRCS += monitor/startup_trace.c
MONITOR_SRCS += monitor/control/config.c
MONITOR_SRCS += monitor/control/resources.c
MONITOR_SRCS += monitor/boot/kernel_cmdline.c
MONITOR_SRCS += monitor/builder.c
MONITOR_SRCS += monitor/kvm/vm.c
MONITOR_SRCS += monitor/kvm/vcpu.c
MONITOR_SRCS += monitor/kvm/x86_cpu.c
MONITOR_SRCS += monitor/kvm/bus.c
MONITOR_SRCS += monitor/evloop.c
MONITOR_SRCS += monitor/devices/console.c
MONITOR_SRCS += monitor/devices/ioapic.c
MONITOR_SRCS += monitor/devices/serial.c
MONITOR_SRCS += monitor/devices/i8042.c
MONITOR_SRCS += monitor/devices/rtc.c
MONITOR_SRCS += monitor/devices/pit.c
MONITOR_SRCS += monitor/devices/pic.c
MONITOR_SRCS += monitor/devices/boot_timer.c
MONITOR_SRCS += monitor/devices/exit_port.c
MONITOR_SRCS += monitor/boot/loader.c
MONITOR_SRCS += monitor/boot/load_elf.c
MONITOR_SRCS += monitor/boot/load_pvh.c
MONITOR_SRCS += monitor/boot/load_bzimage.c
MONITOR_SRCS += monitor/boot/bootparams.c
MONITOR_SRCS += monitor/boot/mptable.c
MONITOR_SRCS += monitor/kvm/cpuid.c
MONITOR_SRCS += monitor/kvm/cpu_template.c
MONITOR_SRCS += monitor/seccomp.c monitor/seccomp_file.c
MONITOR_SRCS += monitor/devices/virtio_slots.c
MONITOR_SRCS += monitor/fd_budget.c
MONITOR_SRCS += monitor/devices/isa_irq.c
MONITOR_SRCS += monitor/devices/pit_timer.c
MONITOR_SRCS += monitor/devices/generation.c

# The seccomp filters are compiled at build time by a host tool (libseccomp).
$(O)/monitor/seccomp_gen: monitor/seccomp_gen.c | $(O)/.dirs
	$(call quiet,HOSTCC,$@)mkdir -p $(dir $@) && \
		$(CC) $(filter-out $(MONITOR_INCLUDES) -Ivirtio,$(HOST_CFLAGS)) -o $@ $< -lseccomp
$(O)/monitor/seccomp_filters.h: $(O)/monitor/seccomp_gen
	$(call quiet,GEN,$@)$< >$@.tmp && mv $@.tmp $@
$(O)/monitor/seccomp.o: $(O)/monitor/seccomp_filters.h
$(O)/monitor/seccomp.o: HOST_CFLAGS += -I$(O)/monitor

# The Firecracker-compatible control plane: API, JSON model, logger, metrics.
MONITOR_SRCS += monitor/control/config_json.c
MONITOR_SRCS += monitor/control/cpu_config_json.c
MONITOR_SRCS += monitor/control/json_util.c
MONITOR_SRCS += monitor/control/api.c
MONITOR_SRCS += monitor/control/sock_guard.c
MONITOR_SRCS += monitor/control/api_routes.c
MONITOR_SRCS += monitor/control/instance.c
MONITOR_SRCS += monitor/control/machine_backend.c
MONITOR_SRCS += monitor/control/logger.c
MONITOR_SRCS += monitor/control/metrics.c
# The snapshot state file (zlib for its CRC-32, linked below).
MONITOR_SRCS += monitor/snapshot/snap_file.c

# jansson and http_parser, linked statically like the rest of ember.
MONITOR_LIBS := $(shell $(CC) -print-file-name=libjansson.a) \
	$(shell $(CC) -print-file-name=libhttp_parser.a)
$(O)/ember: $(MONITOR_LIBS)

# Snapshots: a paused VM's state and memory to files, and a VM from them.
MONITOR_SRCS += monitor/kvm/vcpu_state.c
MONITOR_SRCS += monitor/snapshot/snapshot.c
MONITOR_SRCS += monitor/snapshot/snap_memory.c
MONITOR_SRCS += monitor/snapshot/snap_devices.c
MONITOR_SRCS += monitor/snapshot/snap_uffd.c
