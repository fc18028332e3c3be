// SPDX-License-Identifier: Apache-2.0
/* seccomp_file.c: read Firecracker's compiled seccomp filter file (seccomp_file.h). */
#include "seccomp_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define U64_BYTES  8
#define INSN_BYTES sizeof(struct sock_filter)
#define NAME_SHOWN 32 /* a category name longer than this is not quoted in errors */

_Static_assert(sizeof(struct sock_filter) == 8, "seccompiler writes 8-byte instructions");

static const char *const category_names[SECCOMP_CATEGORIES] = {
    [SECCOMP_CAT_VMM] = "vmm", [SECCOMP_CAT_API] = "api", [SECCOMP_CAT_VCPU] = "vcpu"};

const char *seccomp_category_name(enum seccomp_category cat)
{
	return (unsigned int)cat < SECCOMP_CATEGORIES ? category_names[cat] : "?";
}

/* A read position in the file's bytes. */
struct cursor {
	const uint8_t *p;
	size_t left;
	size_t off; /* from the start, for messages */
};

static int bad(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* take_u64: a little-endian u64, or false at the end of the bytes. */
static bool take_u64(struct cursor *c, uint64_t *v)
{
	if (c->left < U64_BYTES)
		return false;
	*v = 0;
	for (unsigned int i = 0; i < U64_BYTES; i++)
		*v |= (uint64_t)c->p[i] << (8 * i);
	c->p += U64_BYTES;
	c->left -= U64_BYTES;
	c->off += U64_BYTES;
	return true;
}

static void skip(struct cursor *c, size_t n)
{
	c->p += n;
	c->left -= n;
	c->off += n;
}

/* category_of: the category (name, len) names, any case, or -1. */
static int category_of(const uint8_t *name, size_t len)
{
	for (int i = 0; i < SECCOMP_CATEGORIES; i++)
		if (strlen(category_names[i]) == len &&
		    strncasecmp((const char *)name, category_names[i], len) == 0)
			return i;
	return -1;
}

/* take_program: one entry's program into (prog). */
static int take_program(struct cursor *c, const char *cat, struct seccomp_prog *prog, char *err,
			size_t errsz)
{
	uint64_t n;

	if (!take_u64(c, &n))
		return bad(err, errsz, "'%s': the file ends before its instruction count", cat);
	if (n > BPF_MAXINSNS)
		return bad(err, errsz, "'%s': %llu instructions; a filter has at most %d", cat,
			   (unsigned long long)n, BPF_MAXINSNS);
	if (c->left / INSN_BYTES < n)
		return bad(err, errsz,
			   "'%s': the file ends inside its program (%llu instructions, %zu bytes "
			   "left)",
			   cat, (unsigned long long)n, c->left);
	prog->len = (unsigned short)n;
	if (n == 0)
		return 0;
	prog->insns = malloc(n * INSN_BYTES);
	if (prog->insns == NULL)
		return bad(err, errsz, "out of memory");
	/* The file is little-endian, as x86_64 is: the words copy as they are. */
	memcpy(prog->insns, c->p, n * INSN_BYTES);
	skip(c, n * INSN_BYTES);
	return 0;
}

static int parse(struct cursor *c, struct seccomp_user_filters *out, char *err, size_t errsz)
{
	bool seen[SECCOMP_CATEGORIES] = {false};
	uint64_t entries, len;

	if (!take_u64(c, &entries))
		return bad(err, errsz,
			   "not a seccompiler filter file: too short for its entry count "
			   "(compile filters with Firecracker's seccompiler-bin)");
	if (entries > SECCOMP_CATEGORIES)
		return bad(err, errsz,
			   "not a seccompiler filter file: %llu entries, where vmm, api and vcpu "
			   "are the only ones (compile filters with Firecracker's seccompiler-bin)",
			   (unsigned long long)entries);
	for (uint64_t i = 0; i < entries; i++) {
		size_t at = c->off;
		if (!take_u64(c, &len) || len > c->left)
			return bad(err, errsz,
				   "entry %llu (byte %zu): the file ends inside its name",
				   (unsigned long long)i, at);
		int cat = category_of(c->p, (size_t)len);
		if (cat < 0 && len <= NAME_SHOWN)
			return bad(
			    err, errsz,
			    "unknown thread category '%.*s' (Firecracker's are vmm, api, vcpu)",
			    (int)len, (const char *)c->p);
		if (cat < 0)
			return bad(
			    err, errsz,
			    "entry %llu: a thread category name of %llu bytes (Firecracker's "
			    "are vmm, api, vcpu)",
			    (unsigned long long)i, (unsigned long long)len);
		if (seen[cat])
			return bad(err, errsz, "thread category '%s' appears twice",
				   category_names[cat]);
		seen[cat] = true;
		skip(c, (size_t)len);
		int ret = take_program(c, category_names[cat], &out->prog[cat], err, errsz);
		if (ret < 0)
			return ret;
	}
	for (int i = 0; i < SECCOMP_CATEGORIES; i++)
		if (!seen[i])
			return bad(err, errsz, "missing thread category '%s'", category_names[i]);
	if (c->left != 0)
		return bad(err, errsz, "%zu bytes after the last entry", c->left);
	return 0;
}

int seccomp_parse_filters(const void *buf, size_t len, struct seccomp_user_filters *out, char *err,
			  size_t errsz)
{
	struct cursor c = {.p = buf, .left = len, .off = 0};

	memset(out, 0, sizeof(*out));
	if (len > SECCOMP_FILE_MAX)
		return bad(err, errsz, "%zu bytes; a filter file has at most %d", len,
			   SECCOMP_FILE_MAX);
	int ret = parse(&c, out, err, errsz);
	if (ret < 0)
		seccomp_free_filters(out);
	return ret;
}

int seccomp_read_filters(const char *path, struct seccomp_user_filters *out, char *err,
			 size_t errsz)
{
	struct stat st;
	int ret;

	memset(out, 0, sizeof(*out));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errsz, "cannot open: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return bad(err, errsz, "not a regular file");
	}
	if (st.st_size > SECCOMP_FILE_MAX) {
		close(fd);
		return bad(err, errsz, "%lld bytes; a filter file has at most %d",
			   (long long)st.st_size, SECCOMP_FILE_MAX);
	}
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return bad(err, errsz, "out of memory");
	}
	ssize_t n = read(fd, buf, (size_t)st.st_size + 1);
	ret = -errno;
	close(fd);
	if (n < 0)
		snprintf(err, errsz, "cannot read: %s", strerror(-ret));
	else if (n != st.st_size)
		ret = bad(err, errsz, "changed while being read");
	else
		ret = seccomp_parse_filters(buf, (size_t)n, out, err, errsz);
	free(buf);
	return ret;
}

void seccomp_free_filters(struct seccomp_user_filters *f)
{
	for (int i = 0; i < SECCOMP_CATEGORIES; i++) {
		free(f->prog[i].insns);
		f->prog[i] = (struct seccomp_prog){0};
	}
}
