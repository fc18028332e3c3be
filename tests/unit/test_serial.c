// SPDX-License-Identifier: Apache-2.0
/* test_serial.c: the 8250 UART register machine, output and input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "metrics.h"
#include "serial.h"

struct fixture {
	struct serial s;
	int pipe[2];
	int irqs;
};

static void count_irq(void *ctx)
{
	((struct fixture *)ctx)->irqs++;
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (pipe(f.pipe) != 0)
		return -1;
	serial_init(&f.s, f.pipe[1], count_irq, &f);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(&f->s);
	close(f->pipe[0]);
	close(f->pipe[1]);
	return 0;
}

static void out8(struct fixture *f, unsigned int reg, uint8_t v)
{
	serial_io(&f->s, reg, &v, 1, true);
}

static uint8_t in8(struct fixture *f, unsigned int reg)
{
	uint8_t v = 0xaa;

	serial_io(&f->s, reg, &v, 1, false);
	return v;
}

/* unread: bytes written to the output pipe and not read yet. */
static int unread(const struct fixture *f)
{
	int n = -1;

	assert_int_equal(ioctl(f->pipe[0], FIONREAD, &n), 0);
	return n;
}

/* A byte budget (PUT /serial's rate_limiter): what is over it is dropped and counted. */
static void test_output_rate_limited(void **state)
{
	struct fixture *f = *state;
	const struct virtio_rate_limit cfg = {.bandwidth = {.size = 4, .refill_time = 3600000}};
	struct ratelimit rl;
	struct metrics_uart counts = {0};
	char buf[16] = {0};

	ratelimit_init_untimed(&rl, &cfg);
	assert_int_equal(ratelimit_fd(&rl), -1); /* nothing a vCPU thread would arm */
	serial_count_into(&f->s, &counts);
	serial_limit_output(&f->s, &rl);
	for (const char *p = "abcdefghi\n"; *p != '\0'; p++)
		out8(f, 0, (uint8_t)*p);
	serial_flush(&f->s);
	assert_int_equal(unread(f), 4);
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 4);
	assert_string_equal(buf, "abcd");
	assert_int_equal(counts.rate_limiter_dropped_bytes, 6);
	/* Firecracker's other uart counters: bytes out, flushes, bytes read back. */
	assert_int_equal(counts.write_count, 4);
	assert_int_equal(counts.flush_count, 1);
	assert_int_equal(counts.missed_write_count, 0);
	serial_input(&f->s, (const uint8_t *)"z", 1);
	assert_int_equal(in8(f, 0), 'z');
	assert_int_equal(counts.read_count, 1);
	ratelimit_destroy(&rl);
}

/* Output the host refuses (the pipe's reader gone) is counted as missed, not written. */
static void test_output_refused_is_counted(void **state)
{
	struct fixture *f = *state;
	struct metrics_uart counts = {0};
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);

	serial_count_into(&f->s, &counts);
	close(f->pipe[0]);
	f->pipe[0] = open("/dev/null", O_RDONLY); /* for teardown to close */
	out8(f, 0, 'a');
	out8(f, 0, 'b');
	out8(f, 0, '\n');
	assert_int_equal(counts.write_count, 3);
	assert_int_equal(counts.flush_count, 1);
	assert_int_equal(counts.missed_write_count, 3);
	signal(SIGPIPE, old);
}

static void test_output_line_buffered(void **state)
{
	struct fixture *f = *state;
	char buf[SERIAL_OUT_BUF + 1] = {0};

	/* Bytes wait for their newline, then go out together. */
	out8(f, 0, 'h');
	out8(f, 0, 'i');
	assert_int_equal(unread(f), 0);
	out8(f, 0, '\n');
	assert_int_equal(unread(f), 3);
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "hi\n", 3);
	/* Without a newline it waits for serial_flush. */
	out8(f, 0, 'x');
	assert_int_equal(unread(f), 0);
	serial_flush(&f->s);
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'x');
	serial_flush(&f->s); /* nothing left: writes nothing */
	assert_int_equal(unread(f), 0);
	/* A full buffer goes out without a newline. */
	for (int i = 0; i < SERIAL_OUT_BUF - 1; i++)
		out8(f, 0, 'a');
	assert_int_equal(unread(f), 0);
	out8(f, 0, 'b');
	assert_int_equal(unread(f), SERIAL_OUT_BUF);
	assert_int_equal(read(f->pipe[0], buf, sizeof(buf)), SERIAL_OUT_BUF);
	assert_int_equal(buf[SERIAL_OUT_BUF - 2], 'a');
	assert_int_equal(buf[SERIAL_OUT_BUF - 1], 'b');
}

/* On a terminal each byte shows at once: a person is watching. */
static void test_output_terminal_unbuffered(void **state)
{
	struct serial s;
	struct termios raw;
	struct pollfd p;
	uint8_t x = 'x';
	char c = 0;
	int master, slave;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		skip(); /* no pseudo-terminals here */
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	assert_int_equal(tcgetattr(slave, &raw), 0);
	cfmakeraw(&raw);
	assert_int_equal(tcsetattr(slave, TCSANOW, &raw), 0);
	serial_init(&s, slave, NULL, NULL);
	serial_io(&s, 0, &x, 1, true);
	p = (struct pollfd){.fd = master, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(read(master, &c, 1), 1);
	assert_int_equal(c, 'x');
	serial_destroy(&s);
	close(slave);
	close(master);
}

static void test_lsr_always_ready(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in8(f, 5) & 0x60, 0x60); /* THRE and TEMT */
	assert_int_equal(in8(f, 5) & 0x01, 0);	  /* no data */
}

static void test_scratch_and_divisor(void **state)
{
	struct fixture *f = *state;

	out8(f, 7, 0x5a);
	assert_int_equal(in8(f, 7), 0x5a);
	out8(f, 3, 0x80); /* DLAB */
	out8(f, 0, 0x01);
	out8(f, 1, 0x00);
	assert_int_equal(in8(f, 0), 0x01);
	out8(f, 3, 0x03); /* 8N1, DLAB off */
	assert_int_equal(in8(f, 3), 0x03);
	assert_int_equal(in8(f, 1), 0x00); /* IER, not DLM */
}

static void test_loopback_msr(void **state)
{
	struct fixture *f = *state;

	/* Linux's 8250 probe: loopback with RTS|OUT2 must read back CTS|DCD. */
	out8(f, 4, 0x10 | 0x0a);
	assert_int_equal(in8(f, 6) & 0xf0, 0x90);
	out8(f, 0, 'Z'); /* loops to the receiver, not to the host */
	assert_int_equal(in8(f, 5) & 0x01, 0x01);
	assert_int_equal(in8(f, 0), 'Z');
	out8(f, 4, 0x08);
	assert_int_equal(in8(f, 6) & 0xb0, 0xb0);
}

static void test_thr_interrupt(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in8(f, 2) & 0x0f, 0x01); /* nothing pending */
	out8(f, 1, 0x02);			  /* enable THRI: empty now, so it fires */
	assert_int_equal(f->irqs, 1);
	assert_int_equal(in8(f, 2) & 0x0f, 0x02);
	assert_int_equal(in8(f, 2) & 0x0f, 0x01); /* reading IIR acknowledged it */
	out8(f, 0, 'a');
	assert_int_equal(f->irqs, 2);
	assert_int_equal(in8(f, 2) & 0x0f, 0x02);
}

static void test_input_and_rx_interrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t big[SERIAL_RX_FIFO + 10];

	out8(f, 1, 0x01); /* RDI */
	assert_int_equal(serial_input(&f->s, (const uint8_t *)"ok", 2), 2);
	assert_int_equal(f->irqs, 1);
	assert_int_equal(in8(f, 2) & 0x0f, 0x04);
	assert_int_equal(in8(f, 0), 'o');
	assert_int_equal(in8(f, 0), 'k');
	assert_int_equal(in8(f, 5) & 0x01, 0);
	assert_int_equal(in8(f, 0), 0); /* empty FIFO reads 0, no underflow */
	/* The FIFO takes what fits and says so. */
	memset(big, 'q', sizeof(big));
	assert_int_equal(serial_input(&f->s, big, sizeof(big)), SERIAL_RX_FIFO);
	out8(f, 2, 0x03); /* FCR: enable + clear RX */
	assert_int_equal(in8(f, 5) & 0x01, 0);
}

/* ---- snapshots ---- */

/* A second UART beside the fixture's, writing to its own pipe. */
struct twin {
	struct serial s;
	int pipe[2];
	int irqs;
};

static void twin_irq(void *ctx)
{
	((struct twin *)ctx)->irqs++;
}

static void twin_init(struct twin *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(pipe(t->pipe), 0);
	serial_init(&t->s, t->pipe[1], twin_irq, t);
}

static void twin_destroy(struct twin *t)
{
	serial_destroy(&t->s);
	close(t->pipe[0]);
	close(t->pipe[1]);
}

static uint8_t twin_in(struct twin *t, unsigned int reg)
{
	uint8_t v = 0xaa;

	serial_io(&t->s, reg, &v, 1, false);
	return v;
}

static void twin_out(struct twin *t, unsigned int reg, uint8_t v)
{
	serial_io(&t->s, reg, &v, 1, true);
}

/*
 * same_from_now: the fixture's UART and (t) answer every register alike and
 * raise the same interrupts from here on, through the reads that change
 * state (IIR, the receive FIFO) and writes that raise interrupts.
 */
static void same_from_now(struct fixture *f, struct twin *t)
{
	int f0 = f->irqs, t0 = t->irqs;

	for (unsigned int reg = 1; reg < SERIAL_PORT_COUNT; reg++)
		assert_int_equal(in8(f, reg), twin_in(t, reg));
	/* the divisor latch */
	uint8_t lcr = in8(f, 3);
	out8(f, 3, lcr | 0x80);
	twin_out(t, 3, lcr | 0x80);
	assert_int_equal(in8(f, 0), twin_in(t, 0));
	assert_int_equal(in8(f, 1), twin_in(t, 1));
	out8(f, 3, lcr & 0x7f);
	twin_out(t, 3, lcr & 0x7f);
	/* the whole FIFO, then what IIR says after it */
	for (int i = 0; i < SERIAL_RX_FIFO + 2; i++) {
		assert_int_equal(in8(f, 5), twin_in(t, 5));
		assert_int_equal(in8(f, 0), twin_in(t, 0));
	}
	assert_int_equal(in8(f, 2), twin_in(t, 2));
	assert_int_equal(in8(f, 2), twin_in(t, 2));
	/* more input, output and an IER write raise the same interrupts */
	assert_int_equal(serial_input(&f->s, (const uint8_t *)"xy", 2),
			 serial_input(&t->s, (const uint8_t *)"xy", 2));
	out8(f, 0, 'z');
	twin_out(t, 0, 'z');
	out8(f, 1, 0x00);
	twin_out(t, 1, 0x00);
	out8(f, 1, 0x03);
	twin_out(t, 1, 0x03);
	assert_int_equal(f->irqs - f0, t->irqs - t0);
	assert_int_equal(in8(f, 2), twin_in(t, 2));
}

/* A guest's set-up, input waiting across the FIFO's end, THRI pending: saved, loaded, the same. */
static void test_state_round_trip(void **state)
{
	struct fixture *f = *state;
	struct serial_state st, again;
	struct twin t;
	uint8_t bytes[SERIAL_RX_FIFO];

	out8(f, 3, 0x80); /* DLAB: divisor 0x0103 */
	out8(f, 0, 0x03);
	out8(f, 1, 0x01);
	out8(f, 3, 0x1b); /* 8E1 */
	out8(f, 2, 0xc1); /* FIFO on */
	out8(f, 4, 0x0b);
	out8(f, 7, 0x42);
	out8(f, 1, 0x02); /* THRI: pending now */
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(0x30 + i);
	assert_int_equal(serial_input(&f->s, bytes, 60), 60);
	for (int i = 0; i < 10; i++)
		assert_int_equal(in8(f, 0), 0x30 + i);
	assert_int_equal(serial_input(&f->s, bytes, 8), 8); /* wraps round the ring */
	out8(f, 1, 0x03);				    /* RDI too */
	serial_save_state(&f->s, &st);
	assert_int_equal(st.rx_count, 58);
	assert_int_equal(st.rx[0], 0x30 + 10);
	assert_int_equal(st.rx[57], 0x30 + 7);
	assert_int_equal(st.thr_interrupt, 1);

	twin_init(&t);
	char err[128] = "";
	assert_int_equal(serial_load_state(&t.s, &st, err, sizeof(err)), 0);
	assert_int_equal(t.irqs, 1); /* data waiting with RDI on: the interrupt is raised */
	serial_save_state(&t.s, &again);
	assert_memory_equal(&st, &again, sizeof(st));
	same_from_now(f, &t);
	twin_destroy(&t);
}

/* Nothing due (IER clear): loading raises no interrupt. */
static void test_state_quiet_load(void **state)
{
	struct fixture *f = *state;
	struct serial_state st;
	struct twin t;

	assert_int_equal(serial_input(&f->s, (const uint8_t *)"abc", 3), 3);
	out8(f, 4, 0x10); /* loopback */
	serial_save_state(&f->s, &st);
	twin_init(&t);
	assert_int_equal(serial_load_state(&t.s, &st, NULL, 0), 0);
	assert_int_equal(t.irqs, 0);
	same_from_now(f, &t);
	twin_destroy(&t);
}

struct corruption {
	const char *field; /* what the message must name */
	void (*apply)(struct serial_state *st);
};

static void bad_rx_count(struct serial_state *st)
{
	st->rx_count = 200;
}
static void bad_rx_tail(struct serial_state *st)
{
	st->rx[SERIAL_RX_FIFO - 1] = 'x';
}
static void bad_ier(struct serial_state *st)
{
	st->ier = 0x10;
}
static void bad_mcr(struct serial_state *st)
{
	st->mcr = 0x20;
}
static void bad_thr_interrupt(struct serial_state *st)
{
	st->thr_interrupt = 2;
}
static void bad_pad(struct serial_state *st)
{
	st->pad[6] = 1;
}

/* Each checked field, corrupted: -EINVAL, a message naming it, the device as it was. */
static void test_state_rejects(void **state)
{
	static const struct corruption bad[] = {
	    {"rx_count 200 exceeds the FIFO (64)", bad_rx_count},
	    {"rx holds bytes past rx_count", bad_rx_tail},
	    {"ier 0x10", bad_ier},
	    {"mcr 0x20", bad_mcr},
	    {"thr_interrupt 2", bad_thr_interrupt},
	    {"pad", bad_pad},
	};
	struct fixture *f = *state;
	struct serial_state good, st, before, after;
	struct twin t;

	assert_int_equal(serial_input(&f->s, (const uint8_t *)"ab", 2), 2);
	out8(f, 1, 0x03);
	serial_save_state(&f->s, &good);
	twin_init(&t);
	serial_save_state(&t.s, &before);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[128] = "";
		st = good;
		bad[i].apply(&st);
		assert_int_equal(serial_load_state(&t.s, &st, err, sizeof(err)), -EINVAL);
		if (strstr(err, bad[i].field) == NULL || strncmp(err, "serial: ", 8) != 0)
			fail_msg("message '%s' does not name '%s'", err, bad[i].field);
		serial_save_state(&t.s, &after);
		assert_memory_equal(&before, &after, sizeof(before));
		assert_int_equal(t.irqs, 0);
	}
	/* and the good one still loads */
	assert_int_equal(serial_load_state(&t.s, &good, NULL, 0), 0);
	twin_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_output_line_buffered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_rate_limited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_refused_is_counted, setup, teardown),
	    cmocka_unit_test(test_output_terminal_unbuffered),
	    cmocka_unit_test_setup_teardown(test_lsr_always_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scratch_and_divisor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback_msr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thr_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input_and_rx_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_quiet_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_rejects, setup, teardown),
	};
	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
