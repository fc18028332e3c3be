# jailer/: the `ember-jailer` binary (Firecracker's jailer flags and order).
# Included from the top Makefile; defines JAILER_BIN and the `jailer` target,
# and adds its unit tests to TEST_BINS.
JAILER_SRCS += jailer/args.c
JAILER_SRCS += jailer/jerr.c
JAILER_SRCS += jailer/env.c
JAILER_SRCS += jailer/rlimit.c
JAILER_SRCS += jailer/cgroup.c
JAILER_SRCS += jailer/chroot.c
JAILER_SRCS += jailer/devnodes.c
JAILER_SRCS += jailer/main.c

JAILER_OBJS := $(JAILER_SRCS:%.c=$(O)/%.o)
JAILER_BIN := $(O)/ember-jailer
DEPS += $(JAILER_OBJS:.o=.d)

# Static, like ember: it execs nothing but the monitor and must not need a libc
# from the host once it has pivoted into the jail.
$(JAILER_BIN): $(JAILER_OBJS)
	$(call quiet,LD,$@)$(CC) -static $(HOST_LDFLAGS) -o $@ $^

.PHONY: jailer
jailer: $(JAILER_BIN)

# The program the integration test (tests/integration/test_jailer.sh) execs
# in a jail besides ember itself: a probe that reports what it sees.
JAILER_TEST_PROGS := $(O)/tests/jailer/probe_exec
DEPS += $(JAILER_TEST_PROGS:=.d)
$(JAILER_TEST_PROGS): %: %.o
	$(call quiet,LD,$@)$(CC) -static $(HOST_LDFLAGS) -o $@ $^
test-bins: $(JAILER_BIN) $(JAILER_TEST_PROGS)

# Unit tests: pure parsing and planning, no root needed.
$(O)/tests/unit/test_jailer_%.o: TEST_CFLAGS += -Ijailer
TEST_BINS += $(O)/tests/unit/test_jailer_args $(O)/tests/unit/test_jailer_cgroup
DEPS += $(O)/tests/unit/test_jailer_args.d $(O)/tests/unit/test_jailer_cgroup.d
$(O)/tests/unit/test_jailer_args: $(O)/tests/unit/test_jailer_args.o $(O)/jailer/args.o
	$(call quiet,LD,$@)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lcmocka
$(O)/tests/unit/test_jailer_cgroup: $(O)/tests/unit/test_jailer_cgroup.o $(O)/jailer/cgroup.o \
		$(O)/jailer/args.o $(O)/jailer/jerr.o
	$(call quiet,LD,$@)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lcmocka
