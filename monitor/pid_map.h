/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pid_map.h: a table from process id to a pointer, for a process that
 * keeps many children and must find one by the pid waitpid() gives it (the
 * restore server and its clones). Open addressing: constant time whatever
 * the number of children, one allocation that grows by doubling.
 */
#ifndef EMBER_PID_MAP_H
#define EMBER_PID_MAP_H

#include <stddef.h>
#include <sys/types.h>

struct pid_map_slot {
	pid_t pid; /* 0: empty */
	void *value;
};

struct pid_map {
	struct pid_map_slot *slots;
	size_t cap;   /* a power of two, or 0 before the first reserve */
	size_t count; /* slots in use */
};

/* An empty map is all zeroes: struct pid_map m = {0}. */

/*
 * pid_map_reserve: room for (n) entries, so that that many puts cannot
 * fail. Returns 0 or -ENOMEM (the map is unchanged then).
 */
int pid_map_reserve(struct pid_map *m, size_t n);

/*
 * pid_map_put: (pid) (> 0) maps to (value), replacing what it mapped to.
 * Returns 0, -EINVAL for pid <= 0, or -ENOMEM.
 */
int pid_map_put(struct pid_map *m, pid_t pid, void *value);

/* pid_map_take: the value of (pid), removed from the map; NULL when absent. */
void *pid_map_take(struct pid_map *m, pid_t pid);

/*
 * pid_map_free: the table itself (the values are the caller's: to let go of
 * them first, walk slots[0 .. cap) and take each value whose pid is not 0).
 */
void pid_map_free(struct pid_map *m);

#endif /* EMBER_PID_MAP_H */
