// SPDX-License-Identifier: Apache-2.0
/* warm_pool.c: a ring of warm clones (see warm_pool.h). */
#include "warm_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int warm_pool_init(struct warm_pool *p, const char *snapshot, const char *mem, unsigned int target)
{
	memset(p, 0, sizeof(*p));
	if (target == 0)
		return -EINVAL;
	if (strlen(snapshot) >= sizeof(p->snapshot) || strlen(mem) >= sizeof(p->mem))
		return -ENAMETOOLONG;
	p->ring = calloc(target, sizeof(*p->ring));
	if (p->ring == NULL)
		return -ENOMEM;
	memcpy(p->snapshot, snapshot, strlen(snapshot) + 1);
	memcpy(p->mem, mem, strlen(mem) + 1);
	p->target = target;
	return 0;
}

bool warm_pool_short(const struct warm_pool *p)
{
	return p->target > 0 && !p->broken && p->count < p->target;
}

bool warm_pool_push(struct warm_pool *p, pid_t pid, int fd)
{
	if (p->count >= p->target)
		return false;
	p->ring[(p->head + p->count) % p->target] = (struct warm_clone){.pid = pid, .fd = fd};
	p->count++;
	return true;
}

bool warm_pool_pop(struct warm_pool *p, struct warm_clone *out)
{
	if (p->count == 0)
		return false;
	*out = p->ring[p->head];
	p->head = (p->head + 1) % p->target;
	p->count--;
	return true;
}

bool warm_pool_remove(struct warm_pool *p, pid_t pid, struct warm_clone *out)
{
	for (unsigned int i = 0; i < p->count; i++) {
		unsigned int at = (p->head + i) % p->target;
		if (p->ring[at].pid != pid)
			continue;
		*out = p->ring[at];
		/* The ones behind it move up one, keeping their order. */
		for (unsigned int j = i; j + 1 < p->count; j++)
			p->ring[(p->head + j) % p->target] = p->ring[(p->head + j + 1) % p->target];
		p->count--;
		return true;
	}
	return false;
}

void warm_pool_clear(struct warm_pool *p, void (*each)(void *opaque, pid_t pid), void *opaque)
{
	struct warm_clone c;

	while (warm_pool_pop(p, &c)) {
		if (each != NULL)
			each(opaque, c.pid);
		close(c.fd);
	}
	free(p->ring);
	memset(p, 0, sizeof(*p));
}
