# tests/: cmocka unit tests. Each tests/unit/test_<name>.c links with the
# monitor objects it exercises and libvirtio; `make unit-test` runs them all.
# Fragments add their own binaries to TEST_BINS with $(call unit_test,...)
# below, or in fragments included before this one. The virtio library's own
# tests are built apart, with $(call virtio_test,...).

TEST_CFLAGS := $(HOST_CFLAGS)
TEST_LDLIBS := -lcmocka

$(O)/tests/unit/%.o: tests/unit/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(TEST_CFLAGS) -c $< -o $@

# monitor_objs(names): the objects of monitor sources by base name, whichever room holds them.
monitor_objs = $(foreach n,$(1),$(patsubst %.c,$(O)/%.o,$(filter %/$(n).c,$(MONITOR_SRCS))))

# unit_test(name, monitor objects without .o): $(O)/tests/unit/test_<name>
define unit_test
TEST_BINS += $(O)/tests/unit/test_$(1)
DEPS += $(O)/tests/unit/test_$(1).d
$(O)/tests/unit/test_$(1): $(O)/tests/unit/test_$(1).o $(call monitor_objs,$(2)) \
		$(O)/virtio/libvirtio.a
	$$(call quiet,LD,$$@)$$(CC) $$(HOST_LDFLAGS) -o $$@ $$^ $$(TEST_LDLIBS)
endef

$(eval $(call unit_test,loader,loader load_elf load_pvh load_bzimage log))
$(eval $(call unit_test,bootparams,bootparams log))
$(eval $(call unit_test,mptable,mptable log))
$(eval $(call unit_test,cpuid,cpuid))
# CPU templates: the static tables, bitmaps, applying; and their JSON form.
$(eval $(call unit_test,cpu_template,cpu_template cpu_config_json json_util))
$(O)/tests/unit/test_cpu_template: TEST_LDLIBS += -ljansson
$(eval $(call unit_test,config,config seccomp_file resources kernel_cmdline cpu_template log))
$(eval $(call unit_test,serial,serial))
$(eval $(call unit_test,ioapic,ioapic bus log))
$(eval $(call unit_test,x86_cpu,x86_cpu))
$(eval $(call unit_test,bus,bus))
$(eval $(call unit_test,evloop,evloop log))
$(eval $(call unit_test,pid_map,pid_map))
$(eval $(call unit_test,warm_pool,warm_pool))
$(eval $(call unit_test,seccomp,seccomp seccomp_file log))
$(eval $(call unit_test,i8042,i8042 bus log))
$(eval $(call unit_test,rtc,rtc log))
$(eval $(call unit_test,pit,pit))
$(eval $(call unit_test,pic,pic))
$(eval $(call unit_test,boot_timer,boot_timer bus log))
$(eval $(call unit_test,pit_timer,pit_timer pit evloop log))

# virtio/: the library alone, over malloc'd guest RAM. Compiled as virtio/ is
# (its own headers: no -Imonitor) and linked with the whole of libvirtio.a and
# no monitor object, so every one of these proves that the library builds and
# links without the monitor, besides passing its own tests.
VIRTIO_TEST_CFLAGS := $(VIRTIO_CFLAGS) -Ivirtio
VIRTIO_WHOLE_LIB := -Wl,--whole-archive $(O)/virtio/libvirtio.a -Wl,--no-whole-archive -luring

# virtio_test(name): $(O)/tests/unit/test_<name>, with vq_builder (the driver's side).
define virtio_test
TEST_BINS += $(O)/tests/unit/test_$(1)
DEPS += $(O)/tests/unit/test_$(1).d
$(O)/tests/unit/test_$(1).o: TEST_CFLAGS := $(VIRTIO_TEST_CFLAGS)
$(O)/tests/unit/test_$(1): $(O)/tests/unit/test_$(1).o $(O)/tests/unit/vq_builder.o \
		$(O)/tests/unit/test_watcher.o $(O)/virtio/libvirtio.a
	$$(call quiet,LD,$$@)$$(CC) $$(HOST_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(VIRTIO_WHOLE_LIB) \
		-lcmocka
endef
$(O)/tests/unit/vq_builder.o: TEST_CFLAGS := $(VIRTIO_TEST_CFLAGS)
$(O)/tests/unit/test_watcher.o: TEST_CFLAGS := $(VIRTIO_TEST_CFLAGS)
DEPS += $(O)/tests/unit/vq_builder.d $(O)/tests/unit/test_watcher.d

$(eval $(call virtio_test,gmem))
$(eval $(call virtio_test,virtio_vlog))
$(eval $(call virtio_test,virtio_queue))
$(eval $(call virtio_test,virtio_ratelimit))
$(eval $(call virtio_test,virtio_mmio))
$(eval $(call virtio_test,virtio_blk))
$(eval $(call virtio_test,virtio_rng))
$(eval $(call virtio_test,virtio_net))
$(eval $(call virtio_test,virtio_vsock))

# mmds/: the library alone, compiled as mmds/ is and linked with libmmds.a only.
MMDS_TEST_CFLAGS := $(VIRTIO_CFLAGS) -Immds

# mmds_test(name): $(O)/tests/unit/test_<name> over libmmds.a.
define mmds_test
TEST_BINS += $(O)/tests/unit/test_$(1)
DEPS += $(O)/tests/unit/test_$(1).d
$(O)/tests/unit/test_$(1).o: TEST_CFLAGS := $(MMDS_TEST_CFLAGS)
$(O)/tests/unit/test_$(1): $(O)/tests/unit/test_$(1).o $(O)/mmds/libmmds.a
	$$(call quiet,LD,$$@)$$(CC) $$(HOST_LDFLAGS) -o $$@ $$^ -ljansson -lcmocka -lpthread
endef

$(eval $(call mmds_test,mmds_store))
$(eval $(call mmds_test,mmds_http))
$(eval $(call mmds_test,mmds_stack))

# Every device's register paths under the production vCPU and VMM filters: a
# monitor test (the filters), with the devices of libvirtio.
$(eval $(call unit_test,vcpu_paths,seccomp log))
$(O)/tests/unit/test_vcpu_paths: $(O)/tests/unit/vq_builder.o $(O)/tests/unit/test_watcher.o
# vq_builder.o needs libvirtio after it, hence the library again.
$(O)/tests/unit/test_vcpu_paths: TEST_LDLIBS = $(O)/virtio/libvirtio.a -luring -lcmocka -lpthread
$(O)/tests/unit/test_vcpu_paths.o: $(O)/monitor/seccomp_filters.h

# A snapshot of every device (quiesce, save, resume, load) under the production
# VMM filter, built as test_vcpu_paths is.
$(eval $(call unit_test,snapshot_paths,seccomp log))
$(O)/tests/unit/test_snapshot_paths: $(O)/tests/unit/vq_builder.o $(O)/tests/unit/test_watcher.o
$(O)/tests/unit/test_snapshot_paths: TEST_LDLIBS = $(O)/virtio/libvirtio.a -luring -lcmocka -lpthread
$(O)/tests/unit/test_snapshot_paths.o: $(O)/monitor/seccomp_filters.h

$(eval $(call unit_test,config_json,config_json cpu_config_json json_util cpu_template config seccomp_file resources kernel_cmdline log))
$(O)/tests/unit/test_config_json: TEST_LDLIBS += -ljansson
# Each device rule through the flags, the config file and the API alike.
$(eval $(call unit_test,resources,resources config_json cpu_config_json json_util cpu_template config seccomp_file kernel_cmdline log))
$(O)/tests/unit/test_resources: TEST_LDLIBS += -ljansson

$(eval $(call unit_test,api_routes,api_routes instance config_json cpu_config_json json_util cpu_template config seccomp_file resources kernel_cmdline logger metrics log))
$(O)/tests/unit/test_api_routes: $(O)/mmds/libmmds.a
$(O)/tests/unit/test_api_routes: TEST_LDLIBS += -ljansson -lpthread

# The logger and metrics writers when their file or FIFO fails.
$(eval $(call unit_test,logger,logger metrics log))
$(O)/tests/unit/test_logger: TEST_LDLIBS += -ljansson
# The device groups: a real virtio-blk counting into the metrics' groups.
$(eval $(call unit_test,metrics,metrics logger log))
$(O)/tests/unit/test_metrics: $(O)/tests/unit/vq_builder.o
$(O)/tests/unit/test_metrics: TEST_LDLIBS = $(O)/virtio/libvirtio.a -luring -ljansson -lcmocka

$(eval $(call unit_test,api_http,api sock_guard evloop config_json cpu_config_json json_util cpu_template config seccomp_file resources kernel_cmdline log))
$(O)/tests/unit/test_api_http: TEST_LDLIBS += -lhttp_parser -ljansson

# The snapshot state file; its commit and read also run under the production VMM filter.
$(eval $(call unit_test,snap_file,snap_file seccomp log))
$(O)/tests/unit/test_snap_file: TEST_LDLIBS += -lz

# The Uffd memory backend over anonymous memory, the test as the fault handler.
$(eval $(call unit_test,snap_uffd,snap_uffd vm evloop log startup_trace))
$(O)/tests/unit/test_snap_uffd: TEST_LDLIBS += -lpthread

# Keep this last: its prerequisites are the TEST_BINS known at this point.
.PHONY: unit-test
unit-test: $(TEST_BINS)
	$(Q)fail=0; for t in $(TEST_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "unit-test: all passed"; else echo "unit-test: FAILED"; fi; \
	exit $$fail

# Host tools the integration suites run beside ember, built with the guests
# (not TEST_BINS: run.sh runs those as unit tests).
# uffd_handler: the page-fault handler of the Uffd snapshot backend.
$(O)/tests/tools/uffd_handler: tests/tools/uffd_handler.c | $(O)/.dirs
	$(call quiet,HOSTCC,$@)mkdir -p $(dir $@) && \
		$(CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $< -ljansson
DEPS += $(O)/tests/tools/uffd_handler.d
guests: $(O)/tests/tools/uffd_handler
