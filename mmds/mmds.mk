# mmds/: libmmds.a, the microVM metadata service (data store, tokens, HTTP,
# the guest-facing network stack). Compiled like virtio/: no include path,
# so nothing of monitor/ or virtio/ can be included. One source per line.
MMDS_SRCS += mmds/mmds_token.c
MMDS_SRCS += mmds/mmds_store.c
MMDS_SRCS += mmds/mmds_http.c
MMDS_SRCS += mmds/mmds_stack.c
MMDS_SRCS += mmds/mmds_tcp.c

MMDS_OBJS := $(MMDS_SRCS:%.c=$(O)/%.o)
DEPS += $(MMDS_OBJS:.o=.d)

$(O)/mmds/%.o: mmds/%.c | $(O)/.dirs
	$(call quiet,CC,$@)mkdir -p $(dir $@) && $(CC) $(VIRTIO_CFLAGS) -c $< -o $@

$(O)/mmds/libmmds.a: $(MMDS_OBJS)
	$(call quiet,AR,$@)rm -f $@ && ar rcs $@ $^
