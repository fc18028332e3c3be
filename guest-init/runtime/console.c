/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.c: 8250 UART at COM1: polled output, a small printf, and input
 * (polled, or interrupt-driven sleep until a byte arrives).
 *
 * No line set-up: ember's and QEMU's 8250 transmit whatever the divisor. The
 * first byte out turns the 16550's FIFOs on; from then on LSR bit 5 (THR
 * empty) means the whole 16-byte transmit FIFO is free, so the guest polls
 * LSR once per 16 bytes instead of once per byte, as Linux's 8250 driver
 * does. Under virtualisation each port access is an exit to the monitor, so
 * this halves the cost of printing. The wait is bounded so a missing UART
 * (LSR reads 0) cannot hang the guest.
 */
#include "rt.h"

#include "layout.h"

#define UART_THR      0
#define UART_RBR      0
#define UART_IER      1
#define UART_FCR      2
#define UART_LSR      5
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_IER_RDI  0x01
#define UART_FCR_FIFO 0x01
#define UART_TX_FIFO  16 /* bytes a 16550 takes once THR reads empty */
#define THRE_SPINS    100000

static int console_lock;
/* Under console_lock: FIFOs turned on, and bytes the transmitter takes unpolled. */
static int fifo_on;
static unsigned int tx_room;

static void lock(void)
{
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&console_lock, __ATOMIC_RELAXED))
			cpu_relax();
}

static void unlock(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

static void uart_tx(char c)
{
	unsigned int i;

	if (!fifo_on) {
		outb(LAYOUT_COM1_PORT + UART_FCR, UART_FCR_FIFO);
		fifo_on = 1;
	}
	if (tx_room == 0) {
		for (i = 0; i < THRE_SPINS; i++)
			if (inb(LAYOUT_COM1_PORT + UART_LSR) & UART_LSR_THRE)
				break;
		tx_room = UART_TX_FIFO;
	}
	outb(LAYOUT_COM1_PORT + UART_THR, (uint8_t)c);
	tx_room--;
}

static void putc_raw(char c)
{
	if (c == '\n')
		uart_tx('\r');
	uart_tx(c);
}

void rt_putc(char c)
{
	lock();
	putc_raw(c);
	unlock();
}

static void puts_raw(const char *s)
{
	while (*s != '\0')
		putc_raw(*s++);
}

void rt_puts(const char *s)
{
	lock();
	puts_raw(s);
	unlock();
}

/* Emit (v) in (base) with the width/pad/left rules of one conversion. */
static void put_num(uint64_t v, unsigned int base, int neg, int width, char pad, int left)
{
	char buf[24];
	int n = 0, len;

	do {
		unsigned int d = (unsigned int)(v % base);

		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v != 0);
	len = n + neg;
	if (neg && pad == '0')
		putc_raw('-');
	if (!left)
		for (; width > len; width--)
			putc_raw(pad);
	if (neg && pad != '0')
		putc_raw('-');
	while (n > 0)
		putc_raw(buf[--n]);
	if (left)
		for (; width > len; width--)
			putc_raw(' ');
}

static void put_str(const char *s, int width, int left)
{
	int len;

	if (s == NULL)
		s = "(null)";
	len = (int)strlen(s);
	if (!left)
		for (; width > len; width--)
			putc_raw(' ');
	puts_raw(s);
	if (left)
		for (; width > len; width--)
			putc_raw(' ');
}

static void vprintf_raw(const char *fmt, va_list ap)
{
	for (; *fmt != '\0'; fmt++) {
		int width = 0, left = 0, lng = 0;
		char pad = ' ';
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			putc_raw(*fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				pad = '0';
			else if (*fmt == '-')
				left = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (left)
			pad = ' ';
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			put_num(u, 10, s < 0, width, pad, left);
			break;
		case 'u':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			put_num(u, 10, 0, width, pad, left);
			break;
		case 'x':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			put_num(u, 16, 0, width, pad, left);
			break;
		case 'p':
			puts_raw("0x");
			put_num((uint64_t)(uintptr_t)va_arg(ap, void *), 16, 0, width, pad, left);
			break;
		case 'c':
			putc_raw((char)va_arg(ap, int));
			break;
		case 's':
			put_str(va_arg(ap, const char *), width, left);
			break;
		case '%':
			putc_raw('%');
			break;
		case '\0':
			return;
		default:
			putc_raw('%');
			putc_raw(*fmt);
			break;
		}
	}
}

void rt_vprintf(const char *fmt, va_list ap)
{
	lock();
	vprintf_raw(fmt, ap);
	unlock();
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
}

void rt_printf_unlocked(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf_raw(fmt, ap);
	va_end(ap);
}

int rt_getc(void)
{
	uint8_t lsr = inb(LAYOUT_COM1_PORT + UART_LSR);

	/* 0xff: no UART at all (a floating bus), never "data ready". */
	if (lsr == 0xff || !(lsr & UART_LSR_DR))
		return -1;
	return inb(LAYOUT_COM1_PORT + UART_RBR);
}

int rt_getc_wait(void)
{
	int c;

	/* Pin first, then the UART: a byte already waiting pulses the line. */
	rt_irq_enable(LAYOUT_COM1_IRQ, NULL, NULL);
	outb(LAYOUT_COM1_PORT + UART_IER, UART_IER_RDI);
	while ((c = rt_getc()) < 0)
		rt_irq_wait();
	outb(LAYOUT_COM1_PORT + UART_IER, 0);
	rt_irq_disable(LAYOUT_COM1_IRQ);
	return c;
}
