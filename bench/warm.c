/* SPDX-License-Identifier: Apache-2.0 */
/*
 * warm.c: the snapshot bench's guest, standing in for a function runtime
 * that is slow to initialise. Its words (after "--"):
 *
 *   work=<ms>     spin that long first (a runtime loading and compiling)
 *   touch=<KiB>   and write that much memory (the heap it builds)
 *   wait          after initialising, poll the VM generation page until it
 *                 changes: a template waits there to be snapshotted, and
 *                 each restored copy goes on at once
 *   beat          after initialising, print "ready" every millisecond,
 *                 for ever: for monitors without ember's generation page
 *                 (QEMU), whose restored copy is timed to its first beat
 *   idle          after "ready", halt with interrupts off until stopped
 *
 * It signals the boot timer once initialised ("warm"), then prints "ready"
 * (the bench's marker) and exits 0, or idles. Cold boots and restores of
 * the same file are thus timed to the same line.
 */
#include "runtime.h"

#define KIB	      1024ULL
#define MAX_TOUCH_KIB (16 * 1024) /* what the bench asks for: the file fits a 32 MiB guest */
#define US_PER_MS     1000ULL
#define PAGE_BYTES    4096ULL
#define TOUCH_PATTERN 0x5a
#define BEAT_US	      1000ULL

static uint8_t heap[MAX_TOUCH_KIB * KIB];

static uint64_t word(const struct boot_info *bi, const char *key, uint64_t fallback)
{
	size_t n = 0;

	while (key[n] != '\0')
		n++;
	for (int i = 0; i < bi->argc; i++) {
		uint64_t v;
		const char *w = bi->argv[i];
		size_t k = 0;
		while (k < n && w[k] == key[k])
			k++;
		if (k == n && w[k] == '=' && rt_parse_u64(w + k + 1, &v) == 0)
			return v;
	}
	return fallback;
}

static int flag(const struct boot_info *bi, const char *name)
{
	for (int i = 0; i < bi->argc; i++) {
		const char *a = bi->argv[i], *b = name;
		while (*a != '\0' && *a == *b) {
			a++;
			b++;
		}
		if (*a == '\0' && *b == '\0')
			return 1;
	}
	return 0;
}

int main(const struct boot_info *bi)
{
	uint64_t work_ms = word(bi, "work", 0), touch = word(bi, "touch", 0) * KIB;

	if (touch > sizeof(heap))
		touch = sizeof(heap);
	/* volatile: nothing reads the heap back, and its stores must still happen. */
	volatile uint8_t *h = heap;
	for (uint64_t i = 0; i < touch; i += PAGE_BYTES)
		h[i] = TOUCH_PATTERN;
	rt_delay_us(work_ms * US_PER_MS);
	/* Read before the signal: a template is snapshotted at the signal itself. */
	uint64_t born = rt_generation();
	rt_boot_timer();
	rt_puts("warm\n");
	if (flag(bi, "wait"))
		while (rt_generation() == born)
			__asm__ volatile("pause");
	if (flag(bi, "beat"))
		for (;;) {
			rt_delay_us(BEAT_US);
			rt_puts("ready\n");
		}
	rt_puts("ready\n");
	if (flag(bi, "idle"))
		for (;;)
			__asm__ volatile("cli; hlt");
	return 0;
}
