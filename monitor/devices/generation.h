/* SPDX-License-Identifier: Apache-2.0 */
/*
 * generation.h: the VM generation page, ember's answer to "am I a clone?".
 *
 * Every VM restored from one snapshot starts with the same memory: the same
 * random seeds, keys and UUIDs its guest derived before the snapshot. The
 * guest needs a way to learn that it is a new copy and must draw again.
 * Firecracker gives Linux a VM generation ID (Microsoft's VMGenID) through
 * ACPI; ember has no ACPI, so it offers the same 128-bit identifier on a
 * read-only MMIO page at LAYOUT_GENERATION_ADDR, beside a counter:
 *
 *   0x00  u32  magic, LAYOUT_GENERATION_MAGIC ("EGEN")
 *   0x04  u32  layout version, 1
 *   0x08  u64  generation: 0 for a booted VM, +1 with every restore
 *   0x10  u8[16] identifier: random, new at boot and at every restore
 *
 * A guest compares the identifier (or the counter) with the one it saw
 * when it seeded its generators, and reseeds when it changed; ember's guest
 * runtime does (rt_random). Writes are ignored. The page costs nothing
 * until read: no exit, no interrupt.
 */
#ifndef EMBER_GENERATION_H
#define EMBER_GENERATION_H

#include <stddef.h>
#include <stdint.h>

struct vm;

#define GENERATION_ID_BYTES 16

struct generation {
	uint64_t counter;
	uint8_t id[GENERATION_ID_BYTES];
};

/* What a snapshot keeps: the counter (the identifier is never reused). */
struct generation_state {
	uint64_t counter;
};

/* generation_init: a fresh generation (0, a random identifier) on its page. 0 or -errno. */
int generation_init(struct generation *g, struct vm *vm);

/* generation_save_state: the counter, into (st). */
void generation_save_state(const struct generation *g, struct generation_state *st);

/*
 * generation_load_state: the VM is a restored copy: the counter goes on
 * from (st) plus one, and the identifier is drawn anew. 0, or -EIO with
 * (err) when the host cannot give random bytes.
 */
int generation_load_state(struct generation *g, const struct generation_state *st, char *err,
			  size_t errsz);

#endif /* EMBER_GENERATION_H */
