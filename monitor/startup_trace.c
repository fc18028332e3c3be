// SPDX-License-Identifier: Apache-2.0
/* startup_trace.c: stamps for the exec -> first KVM_RUN breakdown. */
#include "startup_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC  1000000000ULL
#define NS_PER_US   1000ULL
#define STARTUP_ENV "EMBER_TRACE_STARTUP"

static const char *const phase_key[STARTUP_PHASES] = {
    [STARTUP_EXEC] = "exec", [STARTUP_MAIN] = "main",	  [STARTUP_CONFIG] = "config",
    [STARTUP_KVM] = "kvm",   [STARTUP_MEMORY] = "memory", [STARTUP_DEVICES] = "devices",
    [STARTUP_LOAD] = "load", [STARTUP_VCPUS] = "vcpus",	  [STARTUP_FIRST_RUN] = "first_run",
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void startup_stamp(struct startup_trace *t, enum startup_phase phase)
{
	if (phase >= STARTUP_PHASES)
		return;
	t->wall_ns[phase] = clock_ns(CLOCK_MONOTONIC);
	t->cpu_ns[phase] = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

void startup_set_exec(struct startup_trace *t, uint64_t exec_ns)
{
	t->wall_ns[STARTUP_EXEC] = exec_ns;
	t->cpu_ns[STARTUP_EXEC] = 0;
}

void startup_restart(struct startup_trace *t, uint64_t exec_ns)
{
	memset(t, 0, sizeof(*t));
	t->wall_ns[STARTUP_EXEC] = exec_ns;
	t->cpu_ns[STARTUP_EXEC] = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	startup_stamp(t, STARTUP_MAIN);
}

bool startup_wanted(void)
{
	const char *v = getenv(STARTUP_ENV);

	return v != NULL && *v != '\0' && *v != '0';
}

static unsigned long long us_between(uint64_t from, uint64_t to)
{
	return to > from ? (unsigned long long)((to - from) / NS_PER_US) : 0;
}

int startup_format(const struct startup_trace *t, char *buf, unsigned long size)
{
	const uint64_t *w = t->wall_ns;
	int len, n;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	if (w[STARTUP_EXEC] == 0 || w[STARTUP_FIRST_RUN] == 0)
		return 0;
	len = snprintf(buf, size, "exec_to_run_us=%llu cpu_us=%llu",
		       us_between(w[STARTUP_EXEC], w[STARTUP_FIRST_RUN]),
		       us_between(t->cpu_ns[STARTUP_EXEC], t->cpu_ns[STARTUP_FIRST_RUN]));
	uint64_t prev = w[STARTUP_EXEC];
	for (int p = STARTUP_EXEC + 1; p < STARTUP_PHASES && len >= 0 && (unsigned long)len < size;
	     p++) {
		if (w[p] == 0)
			continue;
		n = snprintf(buf + len, size - (unsigned long)len, " %s_us=%llu", phase_key[p],
			     us_between(prev, w[p]));
		if (n < 0)
			return n;
		len += n;
		prev = w[p];
	}
	return len;
}
