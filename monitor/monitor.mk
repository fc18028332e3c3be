# monitor/: the `ember` binary. One source per line.
MONITOR_SRCS += monitor/log.c
MONITOR_SRCS += monitor/main.c
MONITOR_SRCS += monitor/startup_trace.c
MONITOR_SRCS += monitor/config.c
MONITOR_SRCS += monitor/resources.c
MONITOR_SRCS += monitor/kernel_cmdline.c
MONITOR_SRCS += monitor/builder.c
MONITOR_SRCS += monitor/vm.c
MONITOR_SRCS += monitor/vcpu.c
MONITOR_SRCS += monitor/x86_cpu.c
MONITOR_SRCS += monitor/bus.c
MONITOR_SRCS += monitor/evloop.c
MONITOR_SRCS += monitor/console.c
MONITOR_SRCS += monitor/ioapic.c
MONITOR_SRCS += monitor/serial.c
MONITOR_SRCS += monitor/i8042.c
MONITOR_SRCS += monitor/rtc.c
MONITOR_SRCS += monitor/pit.c
MONITOR_SRCS += monitor/pic.c
MONITOR_SRCS += monitor/boot_timer.c
MONITOR_SRCS += monitor/exit_port.c
MONITOR_SRCS += monitor/loader.c
MONITOR_SRCS += monitor/load_elf.c
MONITOR_SRCS += monitor/load_pvh.c
MONITOR_SRCS += monitor/load_bzimage.c
MONITOR_SRCS += monitor/bootparams.c
MONITOR_SRCS += monitor/mptable.c
MONITOR_SRCS += monitor/cpuid.c
MONITOR_SRCS += monitor/seccomp.c
MONITOR_SRCS += monitor/virtio_slots.c
MONITOR_SRCS += monitor/fd_budget.c
MONITOR_SRCS += monitor/isa_irq.c
MONITOR_SRCS += monitor/pit_timer.c

# The seccomp filters are compiled at build time by a host tool (libseccomp).
$(O)/monitor/seccomp_gen: monitor/seccomp_gen.c | $(O)/.dirs
	$(call quiet,HOSTCC,$@)mkdir -p $(dir $@) && \
		$(CC) $(filter-out -Imonitor -Ivirtio,$(HOST_CFLAGS)) -o $@ $< -lseccomp
$(O)/monitor/seccomp_filters.h: $(O)/monitor/seccomp_gen
	$(call quiet,GEN,$@)$< >$@.tmp && mv $@.tmp $@
$(O)/monitor/seccomp.o: $(O)/monitor/seccomp_filters.h
$(O)/monitor/seccomp.o: HOST_CFLAGS += -I$(O)/monitor

# The Firecracker-compatible control plane: API, JSON model, logger, metrics.
MONITOR_SRCS += monitor/config_json.c
MONITOR_SRCS += monitor/api.c
MONITOR_SRCS += monitor/sock_guard.c
MONITOR_SRCS += monitor/api_routes.c
MONITOR_SRCS += monitor/instance.c
MONITOR_SRCS += monitor/machine_backend.c
MONITOR_SRCS += monitor/logger.c
MONITOR_SRCS += monitor/metrics.c
# jansson and http_parser, linked statically like the rest of ember.
MONITOR_LIBS := $(shell $(CC) -print-file-name=libjansson.a) \
	$(shell $(CC) -print-file-name=libhttp_parser.a)
$(O)/ember: $(MONITOR_LIBS)
