// SPDX-License-Identifier: Apache-2.0
/* generation.c: the VM generation page (see generation.h). */
#include "generation.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "layout.h"
#include "vm.h"

/* The page's registers, as generation.h lays them out. */
#define GEN_MAGIC_OFF	0x00
#define GEN_VERSION_OFF 0x04
#define GEN_COUNTER_OFF 0x08
#define GEN_ID_OFF	0x10
#define GEN_END		(GEN_ID_OFF + GENERATION_ID_BYTES)
#define GEN_VERSION	1

/* draw_id: a new random identifier; 0 or -EIO. */
static int draw_id(struct generation *g)
{
	ssize_t n = getrandom(g->id, sizeof(g->id), 0);

	return n == (ssize_t)sizeof(g->id) ? 0 : -EIO;
}

/* generation_io: reads of the page; any size, any offset, bytes past the registers are 0. */
static void generation_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	const struct generation *g = opaque;
	uint8_t regs[GEN_END] = {0};
	uint32_t magic = LAYOUT_GENERATION_MAGIC, version = GEN_VERSION;

	if (is_write)
		return;
	memcpy(regs + GEN_MAGIC_OFF, &magic, sizeof(magic));
	memcpy(regs + GEN_VERSION_OFF, &version, sizeof(version));
	uint64_t counter = __atomic_load_n(&g->counter, __ATOMIC_RELAXED);
	memcpy(regs + GEN_COUNTER_OFF, &counter, sizeof(counter));
	memcpy(regs + GEN_ID_OFF, g->id, sizeof(g->id));
	memset(data, 0, len);
	for (uint32_t i = 0; i < len && offset + i < GEN_END; i++)
		data[i] = regs[offset + i];
}

int generation_init(struct generation *g, struct vm *vm)
{
	memset(g, 0, sizeof(*g));
	if (draw_id(g) < 0)
		return -EIO;
	return bus_register(&vm->mmio, LAYOUT_GENERATION_ADDR, LAYOUT_GENERATION_SIZE,
			    generation_io, g);
}

void generation_save_state(const struct generation *g, struct generation_state *st)
{
	memset(st, 0, sizeof(*st));
	st->counter = g->counter;
}

int generation_load_state(struct generation *g, const struct generation_state *st, char *err,
			  size_t errsz)
{
	if (st->counter == UINT64_MAX) {
		snprintf(err, errsz, "generation: counter %llu cannot go on",
			 (unsigned long long)st->counter);
		return -EINVAL;
	}
	if (draw_id(g) < 0) {
		snprintf(err, errsz, "generation: no random bytes for a new identifier");
		return -EIO;
	}
	g->counter = st->counter + 1;
	return 0;
}
