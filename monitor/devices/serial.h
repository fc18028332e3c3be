/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial.h: 8250/16550A UART on COM1 (ports 0x3f8-0x3ff, IRQ 4).
 *
 * Guest output goes to (out_fd), buffered per line so that each byte the
 * guest writes (one vCPU exit) is not also one host write(2). Host input
 * pushed with serial_input() is what the guest reads, with an interrupt.
 */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"

struct metrics_uart;

#define SERIAL_PORT_COUNT 8
#define SERIAL_RX_FIFO	  64
#define SERIAL_OUT_BUF	  512

/* serial_irq_fn: pulse the UART's interrupt line. */
typedef void (*serial_irq_fn)(void *ctx);

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	bool out_unbuffered; /* a terminal: show each byte at once */
	serial_irq_fn irq;
	void *irq_ctx;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_interrupt; /* "transmitter empty" interrupt pending */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_count;

	uint8_t out[SERIAL_OUT_BUF];
	size_t out_len;
	/* Output over budget is dropped (PUT /serial's rate_limiter); NULL: none. */
	struct ratelimit *out_limit;
	struct metrics_uart *counts; /* Firecracker's uart group; NULL: not counted */
};

/*
 * serial_init: reset the UART; output to (out_fd); (irq, ctx) raise its
 * interrupt (may be NULL in tests).
 */
void serial_init(struct serial *s, int out_fd, serial_irq_fn irq, void *ctx);

/*
 * serial_count_into: count into Firecracker's uart group (counts): bytes
 * the guest wrote out (write_count) and read (read_count), flushes to the
 * host (flush_count), bytes the host output refused (missed_write_count),
 * bytes over the output budget (rate_limiter_dropped_bytes).
 */
void serial_count_into(struct serial *s, struct metrics_uart *counts);

/*
 * serial_limit_output: from now on each byte the guest sends must fit
 * (limit) (an untimed limiter, ratelimit_init_untimed; it stays the
 * caller's); one that does not is dropped and counted.
 */
void serial_limit_output(struct serial *s, struct ratelimit *limit);

/* serial_destroy: flush output and release the lock. */
void serial_destroy(struct serial *s);

/* serial_io: the port handler; (offset) is 0..7 from the base port. */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * serial_input: queue (len) bytes for the guest to read. Returns how many
 * fit in the receive FIFO; the rest must be offered again later.
 */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);

/* serial_flush: write out buffered guest output. */
void serial_flush(struct serial *s);

/*
 * The UART as a snapshot keeps it: its registers, the "transmitter empty"
 * interrupt still to be acknowledged, and the bytes the guest has not read
 * yet, oldest first. LSR and IIR are not stored: this UART has no line
 * errors and its transmitter is always empty, so both follow from the rest
 * (rx_count, IER, FCR, thr_interrupt). Guest output still buffered for the
 * host is not state of the guest's: it stays with the process that has it.
 */
struct serial_state {
	uint8_t rx[SERIAL_RX_FIFO]; /* [0, rx_count) unread input, the rest zero */
	uint8_t rx_count;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t thr_interrupt; /* 0 or 1 */
	uint8_t pad[7];
};
_Static_assert(sizeof(struct serial_state) == 80, "serial_state has holes");

/*
 * serial_save_state: (s)'s guest-visible state into (st), zeroed first.
 * VMM thread, vCPUs parked.
 */
void serial_save_state(struct serial *s, struct serial_state *st);

/*
 * serial_load_state: put (s), freshly initialised, into (st)'s state. Every
 * field is checked first; on a bad one returns -EINVAL with one line naming
 * it in (err) (of (errsz) bytes) and leaves (s) unchanged. An interrupt the
 * state has due (what IIR would report) is raised through the irq callback,
 * as the device raises it, so load it after the interrupt controllers and
 * the vCPUs' local APICs. Returns 0. VMM thread, before any vCPU runs.
 */
int serial_load_state(struct serial *s, const struct serial_state *st, char *err, size_t errsz);

#endif /* EMBER_SERIAL_H */
