/* SPDX-License-Identifier: Apache-2.0 */
/*
 * startup_trace.h: where the time goes between exec and vCPU 0's first
 * KVM_RUN. Each phase's end is stamped with the monotonic clock and the
 * process CPU clock (a few hundred ns each); the line is printed only when
 * EMBER_TRACE_STARTUP is set in the environment, or with --verbose twice:
 *
 *   ember: startup exec_to_run_us=N cpu_us=N main_us=N kvm_us=N ...
 *
 * Each *_us phase is the time since the previous stamp, so they add up to
 * exec_to_run_us. `make bench` reads this line.
 */
#ifndef EMBER_STARTUP_TRACE_H
#define EMBER_STARTUP_TRACE_H

#include <stdbool.h>
#include <stdint.h>

enum startup_phase {
	STARTUP_EXEC,	   /* execve (estimated, or --start-time-us) */
	STARTUP_MAIN,	   /* main() entered: kernel exec + libc start */
	STARTUP_CONFIG,	   /* flags and config file parsed */
	STARTUP_KVM,	   /* /dev/kvm opened, VM and irqchip created */
	STARTUP_MEMORY,	   /* guest RAM mapped and registered */
	STARTUP_DEVICES,   /* legacy and virtio devices wired */
	STARTUP_LOAD,	   /* kernel, initrd, boot structures in RAM */
	STARTUP_VCPUS,	   /* vCPUs created and set up (CPUID, regs, MSRs) */
	STARTUP_FIRST_RUN, /* vCPU 0 about to enter KVM_RUN */
	STARTUP_PHASES
};

struct startup_trace {
	uint64_t wall_ns[STARTUP_PHASES]; /* CLOCK_MONOTONIC; 0 = not reached */
	uint64_t cpu_ns[STARTUP_PHASES];  /* CLOCK_PROCESS_CPUTIME_ID */
};

/* startup_stamp: record the end of (phase) now. */
void startup_stamp(struct startup_trace *t, enum startup_phase phase);

/* startup_set_exec: the exec instant (monotonic ns), CPU time 0. */
void startup_set_exec(struct startup_trace *t, uint64_t exec_ns);

/*
 * startup_restart: forget every stamp and start again from (exec_ns), the
 * process CPU time so far not counted: a warm clone's run begins at its
 * order, long after its own start.
 */
void startup_restart(struct startup_trace *t, uint64_t exec_ns);

/* startup_wanted: whether the user asked for the report (environment). */
bool startup_wanted(void);

/*
 * startup_format: the report's key=value text into (buf); phases never
 * reached are left out. Returns the length, as snprintf.
 */
int startup_format(const struct startup_trace *t, char *buf, unsigned long size);

#endif
