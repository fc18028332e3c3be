/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pit.h: the Intel 8254 programmable interval timer as PC guests use it to
 * measure time: three 16-bit down-counters at 1.193182 MHz on ports
 * 0x40-0x42, the control word at 0x43 (modes 0-5, binary or BCD, LSB, MSB
 * or both, counter latch and read-back), and port 0x61's channel 2 gate,
 * speaker-enable and OUT2 bits with the refresh toggle, which is what a
 * guest calibrating its TSC against the PIT polls. The counters run from
 * the host's monotonic clock: nothing costs anything between accesses.
 *
 * IRQ 0 follows channel 0's OUT: the timer asks (reprogrammed) to be told
 * whenever channel 0 is reprogrammed, and pit_irq0_schedule() says when
 * OUT next rises and how often after that; the VMM thread arms a host timer
 * from it (pit_timer.h). A guest that never loads channel 0 costs nothing.
 *
 * Accessed from vCPU threads: one lock; no syscalls beyond reading the clock
 * (and what the reprogram callback does: an eventfd write).
 */
#ifndef EMBER_PIT_H
#define EMBER_PIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIT_PORT	   0x40 /* channel 0; 0x41, 0x42 channels 1, 2; 0x43 control */
#define PIT_PORT_COUNT	   4
#define PIT_PORT_B	   0x61 /* "port B" (NMI status and control) */
#define PIT_CHANNELS	   3
#define PIT_HZ		   1193182ULL
#define PIT_REFRESH_NS	   15085 /* port B bit 4 toggles at this half-period */
#define PIT_PORT_B_GATE2   0x01
#define PIT_PORT_B_SPKR	   0x02
#define PIT_PORT_B_REFRESH 0x10
#define PIT_PORT_B_OUT2	   0x20

/* pit_clock_fn: CLOCK_MONOTONIC in ns (a test's own clock in tests). */
typedef uint64_t (*pit_clock_fn)(void);

/* pit_reprogram_fn: channel 0 was reprogrammed (called without the lock). */
typedef void (*pit_reprogram_fn)(void *ctx);

/*
 * The shortest IRQ 0 period delivered, as KVM's in-kernel PIT bounds it: a
 * guest asking for more than 5000 interrupts a second gets 5000.
 */
#define PIT_MIN_IRQ_PERIOD_NS 200000ULL

/* When IRQ 0 fires: OUT0's next rising edge and its period. */
struct pit_irq0_schedule {
	bool active;	     /* false: OUT0 does not rise again until reprogrammed */
	uint64_t first_ns;   /* CLOCK_MONOTONIC (the pit's clock) of the next edge */
	uint64_t period_ns;  /* 0: just the one edge; else at least PIT_MIN_IRQ_PERIOD_NS */
	uint64_t generation; /* which programming of channel 0 this describes */
};

struct pit_channel {
	uint8_t mode;	/* 0..5 */
	uint8_t access; /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	bool armed;	 /* a count was written: counting runs (or waits for a trigger) */
	bool triggered;	 /* modes 1 and 5: the gate rose since the count was written */
	bool gate;	 /* channels 0 and 1: always high; channel 2: port B bit 0 */
	uint32_t reload; /* the count written, 0 meaning the largest */
	uint64_t start_ns;
	uint64_t paused_ticks; /* ticks counted when the gate fell (modes 0, 4) */
	bool write_msb;	       /* the next count byte written is the MSB */
	uint8_t write_lsb;
	bool read_msb;	     /* the next count byte read is the MSB */
	bool count_latched;  /* a latched count waits to be read */
	bool latched_msb;    /* its LSB was read */
	uint16_t latched;    /* that count */
	bool status_latched; /* a read-back status waits to be read */
	uint8_t status;
};

struct pit {
	pthread_mutex_t lock;
	pit_clock_fn clock;
	struct pit_channel ch[PIT_CHANNELS];
	uint8_t port_b;	     /* bits 0 and 1 as written */
	uint64_t generation; /* counts channel 0's reprogrammings */
	pit_reprogram_fn reprogrammed;
	void *reprogrammed_ctx;
};

/* pit_init: the timer at power-on (no count written), reading (clock) or CLOCK_MONOTONIC. */
int pit_init(struct pit *pit, pit_clock_fn clock);

/*
 * pit_watch_irq0: call (fn)(ctx) each time the guest reprograms channel 0
 * (a control word or a new count). Call before the guest runs.
 */
void pit_watch_irq0(struct pit *pit, pit_reprogram_fn fn, void *ctx);

/* pit_irq0_schedule: when IRQ 0 fires next, for channel 0 as programmed now. */
struct pit_irq0_schedule pit_irq0_schedule(struct pit *pit);

/*
 * pit_irq0_next: like pit_irq0_schedule, but (first_ns) is the first edge
 * after the PIT's clock now: a periodic schedule skips the edges already
 * past, and a one-shot edge already past makes it inactive. For a timer
 * armed anew after a restore, which must not deliver past edges again.
 */
struct pit_irq0_schedule pit_irq0_next(struct pit *pit);

/*
 * pit_irq0_current: whether (generation) is still channel 0's programming:
 * a timer armed for an older one must not fire.
 */
bool pit_irq0_current(struct pit *pit, uint64_t generation);

/* pit_io: bus handler for ports PIT_PORT .. PIT_PORT + 3. */
void pit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* pit_port_b_io: bus handler for port PIT_PORT_B. */
void pit_port_b_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* pit_destroy: release the lock. */
void pit_destroy(struct pit *pit);

/*
 * One counter as a snapshot keeps it: struct pit_channel's fields, each
 * flag 0 or 1, with time kept as durations, never as instants of a clock
 * another process cannot read:
 *   elapsed_ns    the time counted since the count was loaded (or, in
 *                 modes 1 and 5, triggered), at the save; 0 when the
 *                 counter stands still (no count, no trigger yet, gate low).
 *   paused_ticks  the ticks counted when the gate fell, for a counter its
 *                 gate holds still; 0 otherwise.
 * On load both are rebased on the PIT's clock now, exactly when that clock
 * has run at least as long (a host up longer than the counter had been
 * counting). On a younger clock they are first folded to the least values
 * the counter cannot tell apart (modulo the period in modes 2 and 3; past
 * twice the range, modulo the range in the others; at most 0.17 s): the
 * counter then runs less than 1 ns out of phase with the original, which no
 * guest can see.
 */
struct pit_channel_state {
	uint64_t elapsed_ns;
	uint64_t paused_ticks;
	uint16_t reload; /* the count written, 0 meaning the largest */
	uint16_t latched;
	uint8_t mode, access, bcd, armed;
	uint8_t triggered, gate, write_msb, write_lsb;
	uint8_t read_msb, count_latched, latched_msb, status_latched;
	uint8_t status;
	uint8_t pad[7];
};
_Static_assert(sizeof(struct pit_channel_state) == 40, "pit_channel_state has holes");

struct pit_state {
	struct pit_channel_state ch[PIT_CHANNELS];
	uint8_t port_b; /* bits 0 and 1 as written */
	uint8_t pad[7];
};
_Static_assert(sizeof(struct pit_state) == 128, "pit_state has holes");

/*
 * pit_save_state: (pit)'s guest-visible state into (st), zeroed first, as
 * of the PIT's clock now. VMM thread, vCPUs parked.
 */
void pit_save_state(struct pit *pit, struct pit_state *st);

/*
 * pit_load_state: put (pit), freshly initialised, into (st)'s state. Every
 * field is checked first; on a bad one returns -EINVAL with one line naming
 * it in (err) (of (errsz) bytes) and leaves (pit) unchanged. The durations
 * are rebased on the PIT's clock now: the counters go on from where they
 * were at the save, as if no time had passed in between (the guest's own
 * clocks, restored by KVM, were stopped too). Channel 0's programming gets
 * a new generation, so a timer armed before is stale; the watcher is not
 * called: pit_timer_load_state() re-arms IRQ 0 from the loaded schedule.
 * Returns 0. VMM thread, before any vCPU runs.
 */
int pit_load_state(struct pit *pit, const struct pit_state *st, char *err, size_t errsz);

#endif /* EMBER_PIT_H */
