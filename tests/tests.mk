# tests/: cmocka unit tests. Each tests/unit/test_<name>.c links with the
# monitor objects it exercises and libvirtio; `make unit-test` runs them all.
# Fragments add their own binaries to TEST_BINS with $(call unit_test,...)
# below, or in fragments included before this one.

TEST_CFLAGS := $(HOST_CFLAGS) -Imonitor -Ivirtio
TEST_LDLIBS := -lcmocka

$(O)/tests/unit/%.o: tests/unit/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(TEST_CFLAGS) -c $< -o $@

# unit_test(name, monitor objects without .o): $(O)/tests/unit/test_<name>
define unit_test
TEST_BINS += $(O)/tests/unit/test_$(1)
DEPS += $(O)/tests/unit/test_$(1).d
$(O)/tests/unit/test_$(1): $(O)/tests/unit/test_$(1).o $(patsubst %,$(O)/monitor/%.o,$(2)) \
		$(O)/virtio/libvirtio.a
	$$(call quiet,LD,$$@)$$(CC) $$(HOST_LDFLAGS) -o $$@ $$^ $$(TEST_LDLIBS)
endef

$(eval $(call unit_test,gmem,))
$(eval $(call unit_test,loader,loader load_elf load_pvh load_bzimage log))
$(eval $(call unit_test,bootparams,bootparams log))
$(eval $(call unit_test,mptable,mptable log))
$(eval $(call unit_test,cpuid,cpuid))
$(eval $(call unit_test,config,config log))
$(eval $(call unit_test,serial,serial))
$(eval $(call unit_test,ioapic,ioapic bus log))
$(eval $(call unit_test,x86_cpu,x86_cpu))
$(eval $(call unit_test,bus,bus))
$(eval $(call unit_test,seccomp,seccomp log))
$(eval $(call unit_test,i8042,i8042 bus log))
$(eval $(call unit_test,rtc,rtc log))
$(eval $(call unit_test,pit,pit))
$(eval $(call unit_test,pic,pic))

# virtio/: the transport, the queue and the devices over malloc'd guest RAM.
# vq_builder.o needs libvirtio after it, hence the library again in LDLIBS.
VIRTIO_TEST_LDLIBS = $(O)/virtio/libvirtio.a -luring -lcmocka
$(eval $(call unit_test,virtio_queue,log))
$(eval $(call unit_test,virtio_mmio,log))
$(eval $(call unit_test,virtio_blk,log))
$(eval $(call unit_test,virtio_rng,log))
$(O)/tests/unit/test_virtio_queue $(O)/tests/unit/test_virtio_mmio \
$(O)/tests/unit/test_virtio_blk $(O)/tests/unit/test_virtio_rng: $(O)/tests/unit/vq_builder.o
$(eval $(call unit_test,virtio_vsock,log))
$(eval $(call unit_test,virtio_ratelimit,log))
$(O)/tests/unit/test_virtio_vsock: $(O)/tests/unit/vq_builder.o
$(O)/tests/unit/test_virtio_%: TEST_LDLIBS = $(VIRTIO_TEST_LDLIBS)
$(eval $(call unit_test,virtio_net,log))
# The library's reporting: sinks, the one rate-limited helper, create errors.
$(eval $(call unit_test,virtio_vlog,))
# Every device's register paths under the production vCPU and VMM filters.
$(eval $(call unit_test,vcpu_paths,seccomp log))
$(O)/tests/unit/test_vcpu_paths: $(O)/tests/unit/vq_builder.o
$(O)/tests/unit/test_vcpu_paths: TEST_LDLIBS = $(VIRTIO_TEST_LDLIBS) -lpthread
$(O)/tests/unit/test_vcpu_paths.o: $(O)/monitor/seccomp_filters.h
$(O)/tests/unit/test_virtio_net: $(O)/tests/unit/vq_builder.o
DEPS += $(O)/tests/unit/vq_builder.d

$(eval $(call unit_test,config_json,config_json config log))
$(O)/tests/unit/test_config_json: TEST_LDLIBS += -ljansson

$(eval $(call unit_test,api_routes,api_routes instance config_json config logger metrics log))
$(O)/tests/unit/test_api_routes: TEST_LDLIBS += -ljansson

# The logger and metrics writers when their file or FIFO fails.
$(eval $(call unit_test,logger,logger metrics log))
$(O)/tests/unit/test_logger: TEST_LDLIBS += -ljansson

$(eval $(call unit_test,api_http,api sock_guard evloop config_json config log))
$(O)/tests/unit/test_api_http: TEST_LDLIBS += -lhttp_parser -ljansson

# Keep this last: its prerequisites are the TEST_BINS known at this point.
.PHONY: unit-test
unit-test: $(TEST_BINS)
	$(Q)fail=0; for t in $(TEST_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; \
	if [ $$fail = 0 ]; then echo "unit-test: all passed"; else echo "unit-test: FAILED"; fi; \
	exit $$fail
