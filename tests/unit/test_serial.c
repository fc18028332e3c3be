// SPDX-License-Identifier: Apache-2.0
/* test_serial.c: the 8250 UART register machine, output and input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_output_line_buffered, setup, teardown),
	    cmocka_unit_test(test_output_terminal_unbuffered),
	    cmocka_unit_test_setup_teardown(test_lsr_always_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scratch_and_divisor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback_msr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thr_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input_and_rx_interrupt, setup, teardown),
	};
	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
