// SPDX-License-Identifier: Apache-2.0
/* snap_memory.c: guest RAM to a sparse file and back (see snap_memory.h). */
#include "snap_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

#define PAGE_BYTES 4096u
/* Longest run of non-zero pages handed to one pwrite. */
#define MAX_WRITE_BYTES (1u << 20)
/* "<path>.tmp" and its NUL. */
#define TMP_SUFFIX     ".tmp"
#define PATH_MAX_BYTES 4096

/* page_is_zero: whether the 4 KiB page at (p) holds only zeros. */
static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t any = 0;

	for (size_t i = 0; i < PAGE_BYTES / sizeof(*w); i++)
		any |= w[i];
	return any == 0;
}

/* write_all: (len) bytes at file offset (off), through short writes. */
static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* One region of guest RAM on its way to the file. */
struct region_out {
	const uint8_t *host;
	uint64_t size;
	uint64_t base; /* file offset */
	const struct vm_dirty *only;
	unsigned int index; /* in (only) */
};

/* page_wanted: whether the page at (pos) of (r) goes into the file. */
static bool page_wanted(const struct region_out *r, uint64_t pos)
{
	if (r->only != NULL)
		return vm_page_dirty(r->only, r->index, pos / PAGE_BYTES);
	return !page_is_zero(r->host + pos);
}

/* write_region: the wanted pages of (r), runs of them at a time. */
static int write_region(int fd, const struct region_out *r, uint64_t *written)
{
	const uint8_t *host = r->host;
	uint64_t pos = 0, size = r->size, base = r->base;

	while (pos < size) {
		if (!page_wanted(r, pos)) {
			pos += PAGE_BYTES;
			continue;
		}
		uint64_t end = pos + PAGE_BYTES;
		while (end < size && end - pos < MAX_WRITE_BYTES && page_wanted(r, end))
			end += PAGE_BYTES;
		int ret = write_all(fd, host + pos, (size_t)(end - pos), base + pos);
		if (ret < 0)
			return ret;
		*written += end - pos;
		pos = end;
	}
	return 0;
}

int snap_memory_write(const struct vm *vm, const struct vm_dirty *only, const char *path,
		      struct snap_memory_stats *stats, char *err, size_t errsz)
{
	char tmp[PATH_MAX_BYTES];
	const char *step = "create";
	uint64_t t0 = vm_now_ns();
	int ret = 0;

	memset(stats, 0, sizeof(*stats));
	stats->bytes = vm->mem_low_size + vm->mem_high_size;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", path, TMP_SUFFIX) >= sizeof(tmp)) {
		snprintf(err, errsz, "memory file '%s': path too long", path);
		return -ENAMETOOLONG;
	}
	/* A fresh file, never one that exists (nor a symlink's target): see the VMM filter. */
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errsz, "memory file '%s': cannot create '%s': %s", path, tmp,
			 strerror(-ret));
		return ret;
	}
	step = "set its length";
	if (ftruncate(fd, (off_t)stats->bytes) < 0)
		ret = -errno;
	if (ret == 0) {
		step = "write";
		struct region_out low = {vm->mem_low, vm->mem_low_size, 0, only, 0};
		ret = write_region(fd, &low, &stats->written);
	}
	if (ret == 0 && vm->mem_high != NULL) {
		struct region_out high = {vm->mem_high, vm->mem_high_size, vm->mem_low_size, only,
					  1};
		ret = write_region(fd, &high, &stats->written);
	}
	if (ret == 0) {
		step = "flush";
		if (fsync(fd) < 0)
			ret = -errno;
	}
	if (close(fd) < 0 && ret == 0) {
		step = "close";
		ret = -errno;
	}
	if (ret == 0) {
		step = "rename into place";
		if (rename(tmp, path) < 0)
			ret = -errno;
	}
	if (ret < 0) {
		snprintf(err, errsz, "memory file '%s': cannot %s: %s", path, step, strerror(-ret));
		unlink(tmp);
		return ret;
	}
	stats->elapsed_ns = vm_now_ns() - t0;
	return 0;
}

int snap_memory_open(const char *path, uint64_t mem_bytes, char *err, size_t errsz)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO is refused below, not waited on for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errsz, "memory file '%s': cannot open: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "memory file '%s': not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < mem_bytes) {
		snprintf(err, errsz,
			 "memory file '%s' is %llu bytes, the snapshot's guest has %llu", path,
			 (unsigned long long)st.st_size, (unsigned long long)mem_bytes);
		close(fd);
		return -EINVAL;
	}
	return fd;
}
