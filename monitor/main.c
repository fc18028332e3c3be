// SPDX-License-Identifier: Apache-2.0
/* main.c: ember's entry: command line -> configuration -> microVM -> exit status. */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "builder.h"
#include "config.h"
#include "exit_status.h"
#include "log.h"

#define PVM_MODULE_DIR "/sys/module/kvm_pvm"
#define NS_PER_SEC     1000000000ULL

/*
 * exec_time_ns: when this process started, on CLOCK_MONOTONIC. A static
 * binary reaches main() after only CPU work (exec, loading, libc start),
 * so now minus the CPU time used so far is a close estimate.
 */
static uint64_t exec_time_ns(void)
{
	struct timespec cpu;
	uint64_t now = vm_now_ns();

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0)
		return now;
	uint64_t used = (uint64_t)cpu.tv_sec * NS_PER_SEC + (uint64_t)cpu.tv_nsec;
	return used < now ? now - used : now;
}

static void note_software_kvm(void)
{
	struct stat st;

	if (stat(PVM_MODULE_DIR, &st) == 0)
		log_warn("note: /dev/kvm here is kvm_pvm (software virtualisation): guest "
			 "ring-0 code partly runs in KVM's instruction emulator");
}

int main(int argc, char **argv)
{
	uint64_t t_exec = exec_time_ns();
	struct vm_config cfg;
	struct machine m;

	config_defaults(&cfg);
	switch (config_parse_args(&cfg, argc, argv)) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_INVALID:
		return EMBER_EXIT_CONFIG;
	case CONFIG_RUN:
		break;
	}
	log_set_level(cfg.verbosity >= 2 ? LOG_DEBUG : cfg.verbosity == 1 ? LOG_INFO : LOG_WARN);
	if (cfg.verbosity > 0)
		note_software_kvm();

	int status = machine_build(&m, &cfg, t_exec);
	if (status != 0)
		return status;
	status = machine_run(&m);
	machine_destroy(&m);
	fflush(stdout);
	return status;
}
