// SPDX-License-Identifier: Apache-2.0
/*
 * random.c: the runtime's random numbers, and what keeps clones apart.
 *
 * A small generator (xorshift64*) seeded from the TSC and the VM generation
 * identifier ember shows at LAYOUT_GENERATION_ADDR (monitor/devices/
 * generation.h). Every VM restored from one snapshot holds the same
 * generator state, so before each number the generation counter is read
 * again: when it moved, this is a new copy and the generator is reseeded
 * from the new identifier before it answers. Not for keys: for spreading
 * work and for telling clones apart.
 */
#include "runtime.h"

#include "layout.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL /* mixes seed words */
#define XS_MUL 0x2545f4914f6cdd1dULL /* xorshift64*'s output multiplier */

static uint64_t rng_state;
static uint64_t rng_generation;
static int rng_seeded;

static inline uint64_t mmio_read64(uint64_t addr)
{
	return *(volatile const uint64_t *)(uintptr_t)addr;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile const uint32_t *)(uintptr_t)addr;
}

uint64_t rt_generation(void)
{
	if (mmio_read32(LAYOUT_GENERATION_ADDR) != LAYOUT_GENERATION_MAGIC)
		return 0;
	return mmio_read64(LAYOUT_GENERATION_ADDR + 8);
}

/* reseed: the TSC and the generation identifier, folded into the state. */
static void reseed(uint64_t generation)
{
	uint64_t s = rt_tsc() * GOLDEN;

	if (mmio_read32(LAYOUT_GENERATION_ADDR) == LAYOUT_GENERATION_MAGIC) {
		s ^= mmio_read64(LAYOUT_GENERATION_ADDR + 16) * GOLDEN;
		s ^= mmio_read64(LAYOUT_GENERATION_ADDR + 24) + GOLDEN;
	}
	rng_state = s != 0 ? s : GOLDEN;
	rng_generation = generation;
	rng_seeded = 1;
}

uint64_t rt_random(void)
{
	uint64_t generation = rt_generation();

	if (!rng_seeded || generation != rng_generation)
		reseed(generation);
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * XS_MUL;
}
