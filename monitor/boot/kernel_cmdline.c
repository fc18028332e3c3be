// SPDX-License-Identifier: Apache-2.0
/* kernel_cmdline.c: the guest's command line, part by part (see kernel_cmdline.h). */
#include "kernel_cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ember_err.h"

#define BLANKS " \t\n"

void kernel_cmdline_init(struct kernel_cmdline *k, const char *base)
{
	k->base = base != NULL ? base : CONFIG_DEFAULT_CMDLINE;
	k->parts[0] = '\0';
	k->parts_len = 0;
	k->overflow = false;
}

void kernel_cmdline_add(struct kernel_cmdline *k, const char *fmt, ...)
{
	size_t room = sizeof(k->parts) - k->parts_len;
	char *at = k->parts + k->parts_len;
	va_list ap;

	if (k->overflow)
		return;
	if (k->parts_len > 0) {
		if (room < 2) {
			k->overflow = true;
			return;
		}
		*at++ = ' ';
		room--;
	}
	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	int n = vsnprintf(at, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		k->overflow = true;
		k->parts[k->parts_len] = '\0';
		return;
	}
	k->parts_len = (size_t)(at - k->parts) + (size_t)n;
}

/* word_start: whether (s)[i] begins a word. */
static bool word_start(const char *s, size_t i)
{
	return i == 0 || strchr(BLANKS, s[i - 1]) != NULL;
}

bool kernel_cmdline_base_has(const struct kernel_cmdline *k, const char *key)
{
	for (const char *p = strstr(k->base, key); p != NULL; p = strstr(p + 1, key))
		if (word_start(k->base, (size_t)(p - k->base)))
			return true;
	return false;
}

/* init_args_at: where (s)'s first standalone "--" outside quotes starts, or its end. */
static size_t init_args_at(const char *s)
{
	bool quoted = false;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"')
			quoted = !quoted;
		bool word_end = s[i + 1] == '-' && (s[i + 2] == '\0' || strchr(BLANKS, s[i + 2]));
		if (!quoted && word_start(s, i) && s[i] == '-' && word_end)
			return i;
	}
	return strlen(s);
}

int kernel_cmdline_insert(const char *base, const char *extra, char *out, size_t size)
{
	size_t at = init_args_at(base), len, n;

	if (extra == NULL || extra[0] == '\0') {
		len = strlen(base);
		if (len >= size)
			return -E2BIG;
		memcpy(out, base, len + 1);
		return (int)len;
	}
	/* Trailing blanks of the kernel half go; one space parts each piece. */
	n = at;
	while (n > 0 && strchr(BLANKS, base[n - 1]) != NULL)
		n--;
	len = n + (n > 0) + strlen(extra) + (base[at] != '\0' ? 1 + strlen(base + at) : 0);
	if (len >= size)
		return -E2BIG;
	snprintf(out, size, "%.*s%s%s%s%s", (int)n, base, n > 0 ? " " : "", extra,
		 base[at] != '\0' ? " " : "", base + at);
	return (int)len;
}

/* append: add (s) at (*len); false when it does not fit. */
static bool append(char *out, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (n >= size - *len)
		return false;
	memcpy(out + *len, s, n + 1);
	*len += n;
	return true;
}

int kernel_cmdline_render(const struct kernel_cmdline *k, char *const *args, int nargs, char *out,
			  size_t size, struct ember_err *err)
{
	size_t len = 0;
	bool ok = size > 0 && !k->overflow;

	if (ok) {
		int n = kernel_cmdline_insert(k->base, k->parts, out, size);
		ok = n >= 0;
		len = ok ? (size_t)n : 0;
	}
	if (ok && nargs > 0)
		ok = append(out, size, &len, len ? " --" : "--");
	for (int i = 0; ok && i < nargs; i++) {
		const char *arg = args[i];
		/* Linux splits its command line at spaces outside double quotes. */
		bool quote = arg[0] == '\0' || strpbrk(arg, BLANKS) != NULL;
		if (strchr(arg, '"') != NULL) {
			ember_err_set(
			    err, 0,
			    "guest argument %d ('%s'): a double quote cannot be passed on the "
			    "kernel command line",
			    i + 1, arg);
			return -EINVAL;
		}
		ok = append(out, size, &len, quote ? " \"" : " ") && append(out, size, &len, arg) &&
		     append(out, size, &len, quote ? "\"" : "");
	}
	if (!ok) {
		ember_err_set(err, 0,
			      "the kernel command line with guest arguments is longer than %zu "
			      "bytes",
			      size > 0 ? size - 1 : 0);
		return -E2BIG;
	}
	return (int)len;
}
