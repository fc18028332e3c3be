// SPDX-License-Identifier: Apache-2.0
/* pid_map.c: pid -> pointer by open addressing with linear probing (see pid_map.h). */
#include "pid_map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* The first table: enough for a handful of children without growing. */
#define PID_MAP_MIN_CAP 64u
/* Kept at most half full, so probe runs stay short. */
#define PID_MAP_LOAD_DIV 2u
/* Fibonacci hashing: pids are dense and sequential, this spreads them. */
#define PID_MAP_HASH_MUL 0x9E3779B97F4A7C15ULL

static size_t home(const struct pid_map *m, pid_t pid)
{
	return (size_t)(((uint64_t)(uint32_t)pid * PID_MAP_HASH_MUL) >> 32) & (m->cap - 1);
}

/* insert: into a table known to have room and not to hold (pid). */
static void insert(struct pid_map *m, pid_t pid, void *value)
{
	size_t i = home(m, pid);

	while (m->slots[i].pid != 0)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].pid = pid;
	m->slots[i].value = value;
	m->count++;
}

int pid_map_reserve(struct pid_map *m, size_t n)
{
	size_t cap = m->cap ? m->cap : PID_MAP_MIN_CAP;

	while (cap / PID_MAP_LOAD_DIV < n) {
		if (cap > SIZE_MAX / 2 / sizeof(struct pid_map_slot))
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == m->cap)
		return 0;
	struct pid_map_slot *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	struct pid_map old = *m;
	m->slots = slots;
	m->cap = cap;
	m->count = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].pid != 0)
			insert(m, old.slots[i].pid, old.slots[i].value);
	free(old.slots);
	return 0;
}

/* find: the slot of (pid), or -1. */
static long find(const struct pid_map *m, pid_t pid)
{
	if (m->cap == 0)
		return -1;
	for (size_t i = home(m, pid);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].pid == pid)
			return (long)i;
		if (m->slots[i].pid == 0)
			return -1;
	}
}

int pid_map_put(struct pid_map *m, pid_t pid, void *value)
{
	if (pid <= 0)
		return -EINVAL;
	long at = find(m, pid);
	if (at >= 0) {
		m->slots[at].value = value;
		return 0;
	}
	int ret = pid_map_reserve(m, m->count + 1);
	if (ret < 0)
		return ret;
	insert(m, pid, value);
	return 0;
}

/*
 * remove_at: empty slot (i) and move back the entries after it that probed
 * past it, so every entry stays reachable from its home without tombstones.
 */
static void remove_at(struct pid_map *m, size_t i)
{
	size_t mask = m->cap - 1;

	m->slots[i].pid = 0;
	m->slots[i].value = NULL;
	m->count--;
	for (size_t j = (i + 1) & mask; m->slots[j].pid != 0; j = (j + 1) & mask) {
		size_t h = home(m, m->slots[j].pid);
		/* (j) may move to the hole at (i) when its home is not in (i, j]. */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			m->slots[j].pid = 0;
			m->slots[j].value = NULL;
			i = j;
		}
	}
}

void *pid_map_take(struct pid_map *m, pid_t pid)
{
	long at = pid > 0 ? find(m, pid) : -1;

	if (at < 0)
		return NULL;
	void *value = m->slots[at].value;
	remove_at(m, (size_t)at);
	return value;
}

void pid_map_free(struct pid_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}
