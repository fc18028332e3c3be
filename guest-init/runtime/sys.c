/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sys.c: exit, boot timer, time, guest args and the few libc functions a
 * freestanding build still needs.
 */
#include "rt.h"

#include "layout.h"

void rt_boot_timer(void)
{
	*(volatile uint8_t *)(uintptr_t)LAYOUT_BOOT_TIMER_ADDR = LAYOUT_BOOT_TIMER_MAGIC;
}

void rt_exit(int status)
{
	outb(LAYOUT_EXIT_PORT, (uint8_t)status);
	/* Still here: not under ember. Pulse reset through the i8042. */
	outb(LAYOUT_I8042_CMD_PORT, 0xfe);
	halt_forever();
}

unsigned int rt_apic_id(void)
{
	return *(volatile uint32_t *)(uintptr_t)(LAYOUT_LAPIC_ADDR + LAPIC_ID) >> 24;
}

uint64_t rt_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* TSC ticks per microsecond, from CPUID 0x16 (base MHz) or 0x15. */
static uint64_t tsc_per_us(void)
{
	static uint64_t cached;
	uint32_t a, b, c, d, max;

	if (cached != 0)
		return cached;
	cached = 3000;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a != 0 && b != 0 && c != 0) {
			cached = (uint64_t)c * b / a / 1000000;
			if (cached == 0)
				cached = 3000;
			return cached;
		}
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if ((a & 0xffff) != 0)
			cached = a & 0xffff;
	}
	return cached;
}

uint64_t rt_tsc_per_us(void)
{
	return tsc_per_us();
}

void rt_delay_us(uint64_t us)
{
	uint64_t start = rt_tsc(), ticks = us * tsc_per_us();

	while (rt_tsc() - start < ticks)
		cpu_relax();
}

const char *rt_arg_value(const struct boot_info *bi, const char *key)
{
	size_t n = strlen(key);
	int i;

	for (i = 0; i < bi->argc; i++)
		if (strncmp(bi->argv[i], key, n) == 0 && bi->argv[i][n] == '=')
			return bi->argv[i] + n + 1;
	return NULL;
}

int rt_arg_has(const struct boot_info *bi, const char *word)
{
	int i;

	for (i = 0; i < bi->argc; i++)
		if (strcmp(bi->argv[i], word) == 0)
			return 1;
	return 0;
}

int rt_parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/*
 * String and memory helpers use the x86 string instructions: under kvm_pvm's
 * instruction emulator one REP instruction costs about what one plain
 * instruction does, while a C byte loop costs several per byte (a 230-byte
 * command line took 3 ms to copy and split byte by byte). DF is clear
 * everywhere (entry code and trampoline execute cld; the ABI keeps it so).
 */
void *memset(void *s, int c, size_t n)
{
	uint64_t v = (uint8_t)c * 0x0101010101010101ULL;
	size_t q = n / 8, r = n % 8;
	void *d = s;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(v) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(v) : "memory");
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	size_t q = n / 8, r = n % 8;
	void *d = dst;

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlap with dst above src: copy backwards. */
	d += n - 1;
	s += n - 1;
	__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n > 0; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

const void *rt_memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	if (n == 0)
		return NULL;
	/* repne scasb stops after the match (ZF set) or when RCX hits 0. */
	__asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(c) : "memory", "cc");
	return p[-1] == (unsigned char)c ? p - 1 : NULL;
}

size_t rt_strnlen(const char *s, size_t max)
{
	const char *z = rt_memchr(s, 0, max);

	return z != NULL ? (size_t)(z - s) : max;
}

size_t strlen(const char *s)
{
	return rt_strnlen(s, ~(size_t)0 >> 1);
}

int strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (*a == '\0')
			return 0;
	}
	return 0;
}
