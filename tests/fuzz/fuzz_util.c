// SPDX-License-Identifier: Apache-2.0
/* fuzz_util.c: input reader, temp directories and the fd census for the harnesses. */
#include "fuzz_util.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>


uint8_t fz_u8(struct fz *in)
{
	uint8_t v = 0;

	fz_fill(in, &v, sizeof(v));
	return v;
}

uint16_t fz_u16(struct fz *in)
{
	uint16_t v = 0;

	fz_fill(in, &v, sizeof(v));
	return v;
}

uint32_t fz_u32(struct fz *in)
{
	uint32_t v = 0;

	fz_fill(in, &v, sizeof(v));
	return v;
}

uint64_t fz_u64(struct fz *in)
{
	uint64_t v = 0;

	fz_fill(in, &v, sizeof(v));
	return v;
}

size_t fz_take(struct fz *in, size_t want, const uint8_t **out)
{
	size_t n = want < in->n ? want : in->n;

	*out = in->p;
	if (n == 0)
		return 0; /* (p) may be NULL: an empty input */
	in->p += n;
	in->n -= n;
	return n;
}

void fz_fill(struct fz *in, void *dst, size_t len)
{
	const uint8_t *src;
	size_t n = fz_take(in, len, &src);

	if (n > 0)
		memcpy(dst, src, n);
	if (n < len)
		memset((uint8_t *)dst + n, 0, len - n);
}

void fz_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

/* The directories fz_tmpdir made, removed at exit (harness state, not product state). */
#define MAX_TMPDIRS 4
static char tmpdirs[MAX_TMPDIRS][256];
static int ntmpdirs;

static void remove_tmpdirs(void)
{
	for (int i = 0; i < ntmpdirs; i++) {
		DIR *d = opendir(tmpdirs[i]);
		struct dirent *e;
		char path[600];

		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdirs[i], e->d_name);
			unlink(path);
		}
		closedir(d);
		rmdir(tmpdirs[i]);
	}
	ntmpdirs = 0;
}

const char *fz_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	FZ_CHECK(ntmpdirs < MAX_TMPDIRS, "too many temp directories");
	dir = tmpdirs[ntmpdirs];
	snprintf(dir, sizeof(tmpdirs[0]), "%s/ember-fuzz-%s.XXXXXX",
		 base != NULL && base[0] != '\0' ? base : "/tmp", tag);
	FZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
	if (ntmpdirs++ == 0)
		atexit(remove_tmpdirs);
	return dir;
}

/* The census is the harness's bookkeeping: no coverage feedback from its loop. */
#if defined(__has_attribute) && __has_attribute(no_sanitize_coverage)
__attribute__((no_sanitize_coverage))
#endif
int fz_fd_count(void)
{
	/* poll(2) flags every closed descriptor POLLNVAL: one system call checks them all. */
	static struct pollfd fds[FZ_FD_SCAN];
	struct rlimit rl;
	nfds_t n = FZ_FD_SCAN;
	int open_fds = 0;

	/* poll refuses more entries than RLIMIT_NOFILE allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
		n = (nfds_t)rl.rlim_cur;
	for (nfds_t i = 0; i < n; i++)
		fds[i] = (struct pollfd){.fd = (int)i, .events = 0};
	if (poll(fds, n, 0) < 0)
		return -1;
	for (nfds_t i = 0; i < n; i++)
		open_fds += !(fds[i].revents & POLLNVAL);
	return open_fds;
}

void fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==FUZZ CHECK FAILED== %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}
