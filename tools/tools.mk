# tools/: small companions of ember.
#   ember-rebase-snap  lays a Diff snapshot's memory file over the one it follows
TOOLS_SRCS := tools/rebase_snap.c
REBASE_SNAP_BIN := $(O)/ember-rebase-snap
DEPS += $(O)/tools/rebase_snap.d

$(REBASE_SNAP_BIN): $(O)/tools/rebase_snap.o
	$(call quiet,LD,$@)$(CC) -static $(HOST_LDFLAGS) -o $@ $^

.PHONY: tools
tools: $(REBASE_SNAP_BIN)
