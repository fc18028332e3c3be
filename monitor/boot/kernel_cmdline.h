/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kernel_cmdline.h: the guest's kernel command line, as the build recipe
 * assembles it. It starts from the user's base (--cmdline or boot_args, or
 * CONFIG_DEFAULT_CMDLINE); each attach step adds its own part in build
 * order (the root device, one virtio_mmio.device= per device); the guest's
 * words go last, after " -- ". Parts are added to the kernel's half of the
 * base, before a standalone "--" outside double quotes: Linux hands every
 * word after that to init, where a device or root= would never reach the
 * kernel.
 */
#ifndef EMBER_KERNEL_CMDLINE_H
#define EMBER_KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "ember_err.h"
#include "layout.h"

struct kernel_cmdline {
	const char *base;		/* the user's, or the default; must outlive this */
	char parts[LAYOUT_CMDLINE_MAX]; /* what attach steps added, space-separated */
	size_t parts_len;
	bool overflow; /* a part did not fit: rendering fails with -E2BIG */
};

/* kernel_cmdline_init: start from (base) (NULL: CONFIG_DEFAULT_CMDLINE). */
void kernel_cmdline_init(struct kernel_cmdline *k, const char *base);

/* kernel_cmdline_add: an attach step's part (a printf format), after the ones before it. */
void kernel_cmdline_add(struct kernel_cmdline *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* kernel_cmdline_base_has: whether the user's base sets (key) ("root=") itself. */
bool kernel_cmdline_base_has(const struct kernel_cmdline *k, const char *key);

/*
 * kernel_cmdline_render: the whole line into (out): the base's kernel half,
 * the parts, the base's init half, then " --" and (args) (an argument with
 * whitespace, or an empty one, in double quotes so Linux hands it to init as
 * one word). Returns its length, -E2BIG when it does not fit in (size)
 * bytes with its NUL ((err) naming the limit), or -EINVAL for an argument
 * holding a double quote; (err) may be NULL.
 */
int kernel_cmdline_render(const struct kernel_cmdline *k, char *const *args, int nargs, char *out,
			  size_t size, struct ember_err *err);

/*
 * kernel_cmdline_insert: (base) with (extra) added at the end of its kernel
 * half. Returns the length, or -E2BIG when it does not fit in (size) bytes
 * with its NUL. (The primitive render uses; exposed for tests.)
 */
int kernel_cmdline_insert(const char *base, const char *extra, char *out, size_t size);

#endif /* EMBER_KERNEL_CMDLINE_H */
