/* SPDX-License-Identifier: Apache-2.0 */
/*
 * warm_pool.h: the warm clones a restore server keeps of one snapshot's
 * files (restore_server.h): each restored and paused, waiting for an order
 * on its own channel. The pool is a ring, oldest first, so a request gets
 * the clone most likely done restoring. Only the bookkeeping: the server
 * forks the clones and sends the orders.
 */
#ifndef EMBER_WARM_POOL_H
#define EMBER_WARM_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config_json.h"

/* One warm clone: its pid and the server's end of its order channel. */
struct warm_clone {
	pid_t pid;
	int fd;
};

/* The warm clones of one snapshot's files; target 0 is an unused pool. */
struct warm_pool {
	char snapshot[CONFIG_JSON_PATH_MAX];
	char mem[CONFIG_JSON_PATH_MAX];
	unsigned int target;	 /* how many to keep waiting */
	struct warm_clone *ring; /* (target) entries */
	unsigned int head, count;
	bool broken;	    /* one died before its order: make no more */
	uint64_t last_used; /* for replacing the least recently asked-for */
	uint64_t retry_ns;  /* after a failed fork, none before this (CLOCK_MONOTONIC) */
};

/*
 * warm_pool_init: an empty pool of (snapshot, mem) keeping (target) (>= 1)
 * clones. Returns 0, -ENAMETOOLONG or -ENOMEM ((p) then unused).
 */
int warm_pool_init(struct warm_pool *p, const char *snapshot, const char *mem, unsigned int target);

/* warm_pool_short: whether (p) is in use, not broken, and below its target. */
bool warm_pool_short(const struct warm_pool *p);

/* warm_pool_push: a new clone at the back. False when the pool is full. */
bool warm_pool_push(struct warm_pool *p, pid_t pid, int fd);

/* warm_pool_pop: the oldest clone, out of the pool. False when empty. */
bool warm_pool_pop(struct warm_pool *p, struct warm_clone *out);

/* warm_pool_remove: clone (pid), out of the pool wherever it is. False when not there. */
bool warm_pool_remove(struct warm_pool *p, pid_t pid, struct warm_clone *out);

/*
 * warm_pool_clear: close every waiting clone's channel (each, hearing it
 * close, ends its paused VM) and make (p) unused. (each), when set, is
 * told every pid first.
 */
void warm_pool_clear(struct warm_pool *p, void (*each)(void *opaque, pid_t pid), void *opaque);

#endif /* EMBER_WARM_POOL_H */
