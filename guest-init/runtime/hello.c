/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hello.c: the demo guest. Signals the boot timer, prints "hello, " and its
 * guest args joined by single spaces ("world" when there are none), exits 0.
 */
#include "runtime.h"

int main(const struct boot_info *bi)
{
	int i;

	rt_boot_timer();
	if (bi->argc == 0) {
		rt_puts("hello, world\n");
		return 0;
	}
	rt_puts("hello,");
	for (i = 0; i < bi->argc; i++) {
		rt_putc(' ');
		rt_puts(bi->argv[i]);
	}
	rt_putc('\n');
	return 0;
}
