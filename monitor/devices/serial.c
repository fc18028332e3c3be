// SPDX-License-Identifier: Apache-2.0
/*
 * serial.c: 8250/16550A UART. Register meanings from the National
 * Semiconductor PC16550D datasheet, table II.
 */
#include "serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "dev_state.h"
#include "metrics.h"

/* Register offsets. */
#define REG_DATA 0 /* RBR on read, THR on write, DLL with DLAB */
#define REG_IER	 1 /* DLM with DLAB */
#define REG_IIR	 2 /* FCR on write */
#define REG_LCR	 3
#define REG_MCR	 4
#define REG_LSR	 5
#define REG_MSR	 6
#define REG_SCR	 7

#define IER_RDI		0x01 /* receive data available */
#define IER_THRI	0x02 /* transmitter holding register empty */
#define IER_MASK	0x0f
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO_ON	0xc0
#define IIR_ID_MASK	0x0f
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
/* Divisor latch after reset: 115200 baud from the 1.8432 MHz clock. */
#define DEFAULT_DIVISOR_LOW 0x0c

void serial_init(struct serial *s, int out_fd, serial_irq_fn irq, void *ctx)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->out_unbuffered = isatty(out_fd) == 1;
	s->irq = irq;
	s->irq_ctx = ctx;
	s->dll = DEFAULT_DIVISOR_LOW;
	s->mcr = MCR_OUT2;
}

/* uart_count: add (n) to (field) of the uart group, when there is one. */
#define uart_count(s, field, n)                                                                    \
	do {                                                                                       \
		if ((s)->counts != NULL)                                                           \
			metrics_add(&(s)->counts->field, (n));                                     \
	} while (0)

static void flush_locked(struct serial *s)
{
	size_t done = 0;

	if (s->out_len == 0)
		return;
	while (done < s->out_len) {
		ssize_t n = write(s->out_fd, s->out + done, s->out_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* output gone (closed pipe, full FIFO): drop, the guest goes on */
		done += (size_t)n;
	}
	uart_count(s, flush_count, 1);
	if (done < s->out_len)
		uart_count(s, missed_write_count, s->out_len - done);
	s->out_len = 0;
}

void serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	flush_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
	serial_flush(s);
	pthread_mutex_destroy(&s->lock);
}

/* interrupt_id: the IIR value for what is pending now. */
static uint8_t interrupt_id(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RDI) && s->rx_count > 0)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_interrupt)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

static bool rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_RX_FIFO)
		return false;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = byte;
	s->rx_count++;
	return true;
}

static uint8_t rx_pop(struct serial *s)
{
	if (s->rx_count == 0)
		return 0;
	uint8_t byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	return byte;
}

void serial_count_into(struct serial *s, struct metrics_uart *counts)
{
	pthread_mutex_lock(&s->lock);
	s->counts = counts;
	pthread_mutex_unlock(&s->lock);
}

void serial_limit_output(struct serial *s, struct ratelimit *limit)
{
	pthread_mutex_lock(&s->lock);
	s->out_limit = limit;
	pthread_mutex_unlock(&s->lock);
}

static void emit(struct serial *s, uint8_t byte)
{
	if (s->out_limit != NULL && !ratelimit_consume(s->out_limit, 1, 0)) {
		uart_count(s, rate_limiter_dropped_bytes, 1);
		return;
	}
	uart_count(s, write_count, 1);
	s->out[s->out_len++] = byte;
	if (s->out_unbuffered || byte == '\n' || s->out_len == SERIAL_OUT_BUF)
		flush_locked(s);
}

/* write_reg: returns true when the interrupt line should pulse. */
static bool write_reg(struct serial *s, uint64_t offset, uint8_t v)
{
	const bool dlab = s->lcr & LCR_DLAB;

	switch (offset) {
	case REG_DATA:
		if (dlab) {
			s->dll = v;
			return false;
		}
		if (s->mcr & MCR_LOOP) {
			rx_push(s, v);
			return s->ier & IER_RDI;
		}
		emit(s, v);
		/* The byte left at once: the holding register is empty again. */
		s->thr_interrupt = true;
		return s->ier & IER_THRI;
	case REG_IER: {
		if (dlab) {
			s->dlm = v;
			return false;
		}
		bool thri_on = !(s->ier & IER_THRI) && (v & IER_THRI);
		s->ier = v & IER_MASK;
		if (thri_on)
			s->thr_interrupt = true;
		return (interrupt_id(s) & IIR_ID_MASK) != IIR_NONE;
	}
	case REG_IIR:
		s->fcr = v;
		if (v & FCR_CLEAR_RX)
			s->rx_count = 0;
		return false;
	case REG_LCR:
		s->lcr = v;
		return false;
	case REG_MCR:
		s->mcr = v & MCR_MASK;
		return false;
	case REG_SCR:
		s->scr = v;
		return false;
	default: /* LSR and MSR are read-only */
		return false;
	}
}

static uint8_t modem_status(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback wires the modem outputs back to the inputs. */
	uint8_t msr = 0;
	if (s->mcr & MCR_DTR)
		msr |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		msr |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		msr |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		msr |= MSR_DCD;
	return msr;
}

static uint8_t read_reg(struct serial *s, uint64_t offset)
{
	const bool dlab = s->lcr & LCR_DLAB;

	switch (offset) {
	case REG_DATA:
		if (dlab)
			return s->dll;
		uart_count(s, read_count, 1);
		return rx_pop(s);
	case REG_IER:
		return dlab ? s->dlm : s->ier;
	case REG_IIR: {
		uint8_t iir = interrupt_id(s);
		/* Reading IIR acknowledges a "transmitter empty" interrupt. */
		if ((iir & IIR_ID_MASK) == IIR_THRI)
			s->thr_interrupt = false;
		return iir;
	}
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count > 0 ? LSR_DR : 0);
	case REG_MSR:
		return modem_status(s);
	case REG_SCR:
		return s->scr;
	default:
		return 0;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;
	bool pulse = false;

	(void)len; /* byte registers: wider accesses use the first byte */
	pthread_mutex_lock(&s->lock);
	if (is_write)
		pulse = write_reg(s, offset, data[0]);
	else
		data[0] = read_reg(s, offset);
	pthread_mutex_unlock(&s->lock);
	if (pulse && s->irq != NULL)
		s->irq(s->irq_ctx);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t taken = 0;
	bool pulse;

	pthread_mutex_lock(&s->lock);
	while (taken < len && rx_push(s, buf[taken]))
		taken++;
	pulse = taken > 0 && (s->ier & IER_RDI);
	pthread_mutex_unlock(&s->lock);
	if (pulse && s->irq != NULL)
		s->irq(s->irq_ctx);
	return taken;
}

void serial_save_state(struct serial *s, struct serial_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->rx_count; i++)
		st->rx[i] = s->rx[(s->rx_head + i) % SERIAL_RX_FIFO];
	st->rx_count = (uint8_t)s->rx_count;
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->scr = s->scr;
	st->fcr = s->fcr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->thr_interrupt = s->thr_interrupt;
	pthread_mutex_unlock(&s->lock);
}

/* check: whether (st) is a state this UART can be in; else the line saying why. */
static int check(const struct serial_state *st, char *err, size_t errsz)
{
	if (st->rx_count > SERIAL_RX_FIFO)
		return dev_state_reject(err, errsz, "serial: rx_count %u exceeds the FIFO (%u)",
					st->rx_count, SERIAL_RX_FIFO);
	if (!dev_state_zero(st->rx + st->rx_count, SERIAL_RX_FIFO - st->rx_count))
		return dev_state_reject(err, errsz, "serial: rx holds bytes past rx_count %u",
					st->rx_count);
	if (st->ier & ~IER_MASK)
		return dev_state_reject(err, errsz,
					"serial: ier 0x%02x sets reserved bits (0x%02x)", st->ier,
					st->ier & ~IER_MASK);
	if (st->mcr & ~MCR_MASK)
		return dev_state_reject(err, errsz,
					"serial: mcr 0x%02x sets reserved bits (0x%02x)", st->mcr,
					st->mcr & ~MCR_MASK);
	if (st->thr_interrupt > 1)
		return dev_state_reject(err, errsz, "serial: thr_interrupt %u is not 0 or 1",
					st->thr_interrupt);
	if (!dev_state_zero(st->pad, sizeof(st->pad)))
		return dev_state_reject(err, errsz, "serial: pad is not zero");
	return 0;
}

int serial_load_state(struct serial *s, const struct serial_state *st, char *err, size_t errsz)
{
	int ret = check(st, err, errsz);
	bool pulse;

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	memcpy(s->rx, st->rx, sizeof(s->rx));
	s->rx_head = 0;
	s->rx_count = st->rx_count;
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->scr = st->scr;
	s->fcr = st->fcr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->thr_interrupt = st->thr_interrupt;
	pulse = (interrupt_id(s) & IIR_ID_MASK) != IIR_NONE;
	pthread_mutex_unlock(&s->lock);
	if (pulse && s->irq != NULL)
		s->irq(s->irq_ctx);
	return 0;
}
