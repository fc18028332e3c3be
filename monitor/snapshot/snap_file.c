// SPDX-License-Identifier: Apache-2.0
/* snap_file.c: the snapshot state file: build, commit, read, validate (format in snap_file.h). */
#include "snap_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Where each header field sits (the table in snap_file.h). */
#define HDR_MAGIC	0
#define HDR_VERSION	8
#define HDR_ARCH	12
#define HDR_NSECTIONS	16
#define HDR_FLAGS	20
#define HDR_BODY_BYTES	24
#define HDR_BODY_CRC	32
#define HDR_HEADER_CRC	36
#define HDR_VERSION_END (HDR_VERSION + 4) /* what a reader needs to name the version */
/* Where each field of a section's header sits. */
#define SEC_TAG	  0
#define SEC_INDEX 4
#define SEC_LEN	  8

_Static_assert(HDR_HEADER_CRC + sizeof(uint32_t) == SNAP_HEADER_BYTES, "header layout");
_Static_assert(SEC_LEN + sizeof(uint64_t) == SNAP_SECTION_BYTES, "section header layout");
_Static_assert(sizeof(SNAP_MAGIC) - 1 == SNAP_MAGIC_BYTES, "magic length");
_Static_assert(SNAP_HEADER_BYTES % SNAP_ALIGN == 0, "the body starts aligned");
_Static_assert(SNAP_SECTION_BYTES % SNAP_ALIGN == 0, "payloads start aligned");

#define TMP_SUFFIX     ".tmp"
#define SNAP_FILE_MODE 0600 /* the guest's state: for the owner only */
/* The writer's first allocation: room for the header and a few small sections. */
#define WRITER_MIN_CAP 4096
#define BITS_PER_BYTE  8

static const char *const tag_names[SNAP_TAG_COUNT_] = {
    [SNAP_TAG_INFO] = "info",
    [SNAP_TAG_CONFIG] = "config",
    [SNAP_TAG_VCPU] = "vcpu",
    [SNAP_TAG_VM_CLOCK] = "vm_clock",
    [SNAP_TAG_IOAPIC] = "ioapic",
    [SNAP_TAG_PIC] = "pic",
    [SNAP_TAG_PIT] = "pit",
    [SNAP_TAG_RTC] = "rtc",
    [SNAP_TAG_SERIAL] = "serial",
    [SNAP_TAG_I8042] = "i8042",
    [SNAP_TAG_BOOT_TIMER] = "boot_timer",
    [SNAP_TAG_VIRTIO] = "virtio",
    [SNAP_TAG_MEMORY] = "memory",
    [SNAP_TAG_GENERATION] = "generation",
    [SNAP_TAG_PIT_TIMER] = "pit_timer",
};

static bool tag_known(uint32_t tag)
{
	return tag < SNAP_TAG_COUNT_ && tag_names[tag] != NULL;
}

const char *snap_tag_name(uint32_t tag)
{
	return tag_known(tag) ? tag_names[tag] : "unknown";
}

static const char *arch_name(uint32_t arch)
{
	return arch == SNAP_ARCH_X86_64 ? "x86_64" : "unknown";
}

/* ---- little-endian fields, byte by byte: no struct layout, no host order ---- */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (size_t i = 0; i < sizeof(v); i++)
		p[i] = (uint8_t)(v >> (i * BITS_PER_BYTE));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (size_t i = 0; i < sizeof(v); i++)
		p[i] = (uint8_t)(v >> (i * BITS_PER_BYTE));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (size_t i = 0; i < sizeof(v); i++)
		v |= (uint32_t)p[i] << (i * BITS_PER_BYTE);
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (size_t i = 0; i < sizeof(v); i++)
		v |= (uint64_t)p[i] << (i * BITS_PER_BYTE);
	return v;
}

/* pad_len: the zero bytes that follow a payload of (len) bytes. */
static size_t pad_len(uint64_t len)
{
	return (size_t)((SNAP_ALIGN - len % SNAP_ALIGN) % SNAP_ALIGN);
}

static uint32_t crc_of(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, len);
}

/* fail: "snapshot 'NAME': " and the formatted rest into (err, errsz), when there is one. */
static void fail(char *err, size_t errsz, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(char *err, size_t errsz, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errsz == 0)
		return;
	n = snprintf(err, errsz, "snapshot '%s': ", name);
	if (n < 0 || (size_t)n >= errsz)
		return;
	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- writer ---- */

void snap_writer_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	snap_writer_init(w);
}

/* reserve: make room for (need) bytes in all; the first call also makes the header's room. */
static int reserve(struct snap_writer *w, size_t need)
{
	size_t cap = w->cap > 0 ? w->cap : WRITER_MIN_CAP;
	uint8_t *buf;

	if (need <= w->cap)
		return 0;
	/* need is at most SNAP_MAX_FILE_BYTES, so the doubling cannot overflow. */
	while (cap < need)
		cap *= 2;
	buf = realloc(w->buf, cap);
	if (buf == NULL)
		return -ENOMEM;
	if (w->buf == NULL)
		w->len = SNAP_HEADER_BYTES;
	w->buf = buf;
	w->cap = cap;
	return 0;
}

/* holds: whether (w)'s body already has a section (tag, index). */
static bool holds(const struct snap_writer *w, uint32_t tag, uint32_t index)
{
	size_t pos = SNAP_HEADER_BYTES;

	for (uint32_t i = 0; i < w->nsections; i++) {
		const uint8_t *s = w->buf + pos;
		uint64_t len = get_le64(s + SEC_LEN);

		if (get_le32(s + SEC_TAG) == tag && get_le32(s + SEC_INDEX) == index)
			return true;
		/* The writer made these: each lies inside (w->len). */
		pos += SNAP_SECTION_BYTES + (size_t)len + pad_len(len);
	}
	return false;
}

static int put_section(struct snap_writer *w, uint32_t tag, uint32_t index, const void *data,
		       size_t len)
{
	size_t used = w->buf != NULL ? w->len : SNAP_HEADER_BYTES;
	size_t room = SNAP_MAX_FILE_BYTES - used;
	size_t pad = pad_len(len);
	uint8_t *s;
	int ret;

	if (!tag_known(tag) || (data == NULL && len > 0))
		return -EINVAL;
	if (w->nsections >= SNAP_MAX_SECTIONS)
		return -EINVAL;
	/* Subtract before comparing: len may be anything up to SIZE_MAX. */
	if (room < SNAP_SECTION_BYTES || len > room - SNAP_SECTION_BYTES ||
	    pad > room - SNAP_SECTION_BYTES - len)
		return -EINVAL;
	if (holds(w, tag, index))
		return -EEXIST;
	ret = reserve(w, used + SNAP_SECTION_BYTES + len + pad);
	if (ret < 0)
		return ret;
	s = w->buf + w->len;
	put_le32(s + SEC_TAG, tag);
	put_le32(s + SEC_INDEX, index);
	put_le64(s + SEC_LEN, len);
	if (len > 0)
		memcpy(s + SNAP_SECTION_BYTES, data, len);
	memset(s + SNAP_SECTION_BYTES + len, 0, pad);
	w->len += SNAP_SECTION_BYTES + len + pad;
	w->nsections++;
	return 0;
}

int snap_put(struct snap_writer *w, uint32_t tag, uint32_t index, const void *data, size_t len)
{
	int ret;

	if (w->error != 0)
		return w->error;
	ret = put_section(w, tag, index, data, len);
	if (ret < 0)
		w->error = ret;
	return ret;
}

int snap_writer_image(struct snap_writer *w, const void **image, size_t *len)
{
	size_t body;
	int ret;

	if (w->error != 0)
		return w->error;
	ret = reserve(w, SNAP_HEADER_BYTES);
	if (ret < 0)
		return ret;
	body = w->len - SNAP_HEADER_BYTES;
	memcpy(w->buf + HDR_MAGIC, SNAP_MAGIC, SNAP_MAGIC_BYTES);
	put_le32(w->buf + HDR_VERSION, SNAP_FORMAT_VERSION);
	put_le32(w->buf + HDR_ARCH, SNAP_ARCH_X86_64);
	put_le32(w->buf + HDR_NSECTIONS, w->nsections);
	put_le32(w->buf + HDR_FLAGS, 0);
	put_le64(w->buf + HDR_BODY_BYTES, body);
	put_le32(w->buf + HDR_BODY_CRC, crc_of(w->buf + SNAP_HEADER_BYTES, body));
	put_le32(w->buf + HDR_HEADER_CRC, crc_of(w->buf, HDR_HEADER_CRC));
	*image = w->buf;
	*len = w->len;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * sync_dir: make the rename of (path) durable by syncing its directory.
 * Best effort: the file is complete and in place already, and a directory
 * that cannot be opened for reading (write and search permission only)
 * still takes renames.
 */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL) {
		dir = strdup(".");
	} else {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		dir = strndup(path, n);
	}
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int snap_writer_commit(struct snap_writer *w, const char *path, char *err, size_t errsz)
{
	const void *image = NULL;
	size_t size = 0;
	char *tmp;
	int fd, ret;

	if (path[0] == '\0') {
		fail(err, errsz, path, "no path given");
		return -EINVAL;
	}
	ret = snap_writer_image(w, &image, &size);
	if (ret < 0) {
		if (w->error != 0)
			fail(err, errsz, path, "not written: adding a section failed earlier: %s",
			     strerror(-ret));
		else
			fail(err, errsz, path, "not written: %s", strerror(-ret));
		return ret;
	}
	if (asprintf(&tmp, "%s%s", path, TMP_SUFFIX) < 0) {
		fail(err, errsz, path, "not written: %s", strerror(ENOMEM));
		return -ENOMEM;
	}

	/*
	 * A temporary file left by a crash is ours to replace; creating with
	 * O_EXCL then means no existing file (nor a symlink's target) is written.
	 */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		ret = -errno;
		fail(err, errsz, path, "cannot remove the stale '%s': %s", tmp, strerror(-ret));
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, SNAP_FILE_MODE);
	if (fd < 0) {
		ret = -errno;
		fail(err, errsz, path, "cannot create '%s': %s", tmp, strerror(-ret));
		goto out;
	}
	ret = write_all(fd, image, size);
	if (ret < 0) {
		fail(err, errsz, path, "cannot write '%s': %s", tmp, strerror(-ret));
	} else if (fsync(fd) < 0) {
		ret = -errno;
		fail(err, errsz, path, "cannot fsync '%s': %s", tmp, strerror(-ret));
	}
	/* close may report a deferred write error (NFS): it counts. */
	if (close(fd) < 0 && ret == 0) {
		ret = -errno;
		fail(err, errsz, path, "cannot close '%s': %s", tmp, strerror(-ret));
	}
	if (ret == 0 && rename(tmp, path) < 0) {
		ret = -errno;
		fail(err, errsz, path, "cannot rename '%s' over it: %s", tmp, strerror(-ret));
	}
	if (ret < 0)
		unlink(tmp);
	else
		sync_dir(path);
out:
	free(tmp);
	return ret;
}

/* ---- reader ---- */

static void reader_clear(struct snap_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void snap_reader_free(struct snap_reader *r)
{
	free(r->bytes);
	free(r->name);
	free(r->sections);
	reader_clear(r);
}

static int section_cmp(const void *a, const void *b)
{
	const struct snap_section *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return 0;
}

/* check_header: the header's fields, in the order snap_parse documents. */
static int check_header(const uint8_t *b, size_t len, const char *name, char *err, size_t errsz)
{
	size_t have = len < SNAP_MAGIC_BYTES ? len : SNAP_MAGIC_BYTES;
	uint32_t version, arch, flags, nsections;
	uint64_t body_bytes;
	size_t rest;

	if (memcmp(b + HDR_MAGIC, SNAP_MAGIC, have) != 0) {
		fail(err, errsz, name, "not an ember snapshot state file (bad magic)");
		return -EINVAL;
	}
	if (len < HDR_VERSION_END) {
		fail(err, errsz, name, "truncated: %zu bytes, the header alone is %d", len,
		     SNAP_HEADER_BYTES);
		return -EINVAL;
	}
	version = get_le32(b + HDR_VERSION);
	if (version != SNAP_FORMAT_VERSION) {
		fail(err, errsz, name,
		     "unsupported snapshot format version %" PRIu32 " (this ember reads %d)",
		     version, SNAP_FORMAT_VERSION);
		return -EINVAL;
	}
	if (len < SNAP_HEADER_BYTES) {
		fail(err, errsz, name, "truncated: %zu bytes, the header alone is %d", len,
		     SNAP_HEADER_BYTES);
		return -EINVAL;
	}
	if (get_le32(b + HDR_HEADER_CRC) != crc_of(b, HDR_HEADER_CRC)) {
		fail(err, errsz, name, "header checksum mismatch: the file is corrupted");
		return -EINVAL;
	}
	arch = get_le32(b + HDR_ARCH);
	if (arch != SNAP_ARCH_X86_64) {
		fail(err, errsz, name,
		     "taken on another architecture (arch %" PRIu32
		     "; this ember restores x86_64, arch %d)",
		     arch, SNAP_ARCH_X86_64);
		return -EINVAL;
	}
	flags = get_le32(b + HDR_FLAGS);
	if (flags != 0) {
		fail(err, errsz, name, "unknown flags 0x%" PRIx32 " (this ember knows none)",
		     flags);
		return -EINVAL;
	}
	nsections = get_le32(b + HDR_NSECTIONS);
	if (nsections > SNAP_MAX_SECTIONS) {
		fail(err, errsz, name,
		     "%" PRIu32 " sections, more than the %d a state file may hold", nsections,
		     SNAP_MAX_SECTIONS);
		return -EINVAL;
	}
	body_bytes = get_le64(b + HDR_BODY_BYTES);
	rest = len - SNAP_HEADER_BYTES;
	if (body_bytes > rest) {
		fail(err, errsz, name,
		     "truncated: the body is %" PRIu64 " bytes, the file holds %zu", body_bytes,
		     rest);
		return -EINVAL;
	}
	if (body_bytes < rest) {
		fail(err, errsz, name, "%zu bytes of trailing data after the body",
		     rest - (size_t)body_bytes);
		return -EINVAL;
	}
	if (get_le32(b + HDR_BODY_CRC) != crc_of(b + SNAP_HEADER_BYTES, rest)) {
		fail(err, errsz, name, "checksum mismatch: the file is corrupted");
		return -EINVAL;
	}
	return 0;
}

/*
 * walk_sections: check each section of the file (b, len), from the end of
 * its header on, and record it in (secs), which has room for the
 * (nsections) the header announces.
 */
static int walk_sections(const uint8_t *b, size_t len, uint32_t nsections,
			 struct snap_section *secs, const char *name, char *err, size_t errsz)
{
	size_t pos = SNAP_HEADER_BYTES;
	uint32_t n = 0;

	while (pos < len) {
		const uint8_t *s = b + pos;
		size_t at = pos, pad;
		uint32_t tag, index;
		uint64_t plen;

		if (n == nsections) {
			fail(err, errsz, name,
			     "data at offset %zu, after the %" PRIu32
			     " sections the header announces",
			     at, nsections);
			return -EINVAL;
		}
		if (len - pos < SNAP_SECTION_BYTES) {
			fail(err, errsz, name,
			     "section at offset %zu: its header runs past the end of the body", at);
			return -EINVAL;
		}
		tag = get_le32(s + SEC_TAG);
		index = get_le32(s + SEC_INDEX);
		plen = get_le64(s + SEC_LEN);
		pos += SNAP_SECTION_BYTES;
		if (!tag_known(tag)) {
			fail(err, errsz, name, "section at offset %zu: unknown tag %" PRIu32, at,
			     tag);
			return -EINVAL;
		}
		if (plen > len - pos) {
			fail(err, errsz, name,
			     "section %s %" PRIu32 " at offset %zu: its %" PRIu64
			     " bytes run past the end of the body",
			     tag_names[tag], index, at, plen);
			return -EINVAL;
		}
		pad = pad_len(plen);
		if (pad > len - pos - plen) {
			fail(err, errsz, name,
			     "section %s %" PRIu32
			     " at offset %zu: its padding runs past the end of the body",
			     tag_names[tag], index, at);
			return -EINVAL;
		}
		for (size_t i = 0; i < pad; i++) {
			if (b[pos + plen + i] != 0) {
				fail(err, errsz, name,
				     "section %s %" PRIu32 " at offset %zu: nonzero padding",
				     tag_names[tag], index, at);
				return -EINVAL;
			}
		}
		secs[n] = (struct snap_section){tag, index, pos, (size_t)plen};
		pos += (size_t)plen + pad;
		n++;
	}
	if (n < nsections) {
		fail(err, errsz, name,
		     "the header announces %" PRIu32 " sections, the body holds %" PRIu32,
		     nsections, n);
		return -EINVAL;
	}
	qsort(secs, nsections, sizeof(*secs), section_cmp);
	for (uint32_t i = 1; i < nsections; i++) {
		if (section_cmp(&secs[i - 1], &secs[i]) == 0) {
			fail(err, errsz, name, "duplicate section %s %" PRIu32,
			     tag_names[secs[i].tag], secs[i].index);
			return -EINVAL;
		}
	}
	return 0;
}

/* parse_owned: validate (bytes, len), which (r) then owns; on failure they are freed. */
static int parse_owned(struct snap_reader *r, uint8_t *bytes, size_t len, const char *name,
		       char *err, size_t errsz)
{
	struct snap_section *secs = NULL;
	char *copy = NULL;
	uint32_t nsections;
	int ret;

	ret = check_header(bytes, len, name, err, errsz);
	if (ret < 0)
		goto fail;
	nsections = get_le32(bytes + HDR_NSECTIONS);
	secs = calloc(nsections > 0 ? nsections : 1, sizeof(*secs));
	copy = strdup(name);
	if (secs == NULL || copy == NULL) {
		fail(err, errsz, name, "%s", strerror(ENOMEM));
		ret = -ENOMEM;
		goto fail;
	}
	ret = walk_sections(bytes, len, nsections, secs, name, err, errsz);
	if (ret < 0)
		goto fail;
	r->bytes = bytes;
	r->size = len;
	r->name = copy;
	r->sections = secs;
	r->format_version = get_le32(bytes + HDR_VERSION);
	r->arch = get_le32(bytes + HDR_ARCH);
	r->nsections = nsections;
	return 0;
fail:
	free(copy);
	free(secs);
	free(bytes);
	return ret;
}

int snap_parse(struct snap_reader *r, const void *buf, size_t len, const char *name, char *err,
	       size_t errsz)
{
	uint8_t *copy;

	reader_clear(r);
	if (name == NULL)
		name = "(in memory)";
	if (len > SNAP_MAX_FILE_BYTES) {
		fail(err, errsz, name, "%zu bytes, more than the %u a state file may hold", len,
		     SNAP_MAX_FILE_BYTES);
		return -EFBIG;
	}
	if (buf == NULL && len > 0) {
		fail(err, errsz, name, "no bytes to read");
		return -EINVAL;
	}
	/* One byte at least: malloc(0) may return NULL. */
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		fail(err, errsz, name, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(copy, buf, len);
	return parse_owned(r, copy, len, name, err, errsz);
}

/* read_fd: up to (max) bytes of (fd) into (buf); returns how many, or -errno. */
static ssize_t read_fd(int fd, uint8_t *buf, size_t max)
{
	size_t got = 0;

	while (got < max) {
		ssize_t n = read(fd, buf + got, max - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int snap_read_file(struct snap_reader *r, const char *path, char *err, size_t errsz)
{
	struct stat st;
	uint8_t *buf;
	size_t size;
	ssize_t got;
	int fd, ret;

	reader_clear(r);
	/* O_NONBLOCK: a FIFO must not hold the open until a writer comes (it is refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		fail(err, errsz, path, "cannot open: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		fail(err, errsz, path, "cannot stat: %s", strerror(-ret));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fail(err, errsz, path, "is a directory, not a state file");
		ret = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errsz, path, "not a regular file");
		ret = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > SNAP_MAX_FILE_BYTES) {
		fail(err, errsz, path, "%jd bytes, more than the %u a state file may hold",
		     (intmax_t)st.st_size, SNAP_MAX_FILE_BYTES);
		ret = -EFBIG;
		goto out;
	}
	/* One byte more than fstat said, to notice a file that grows while we read. */
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (buf == NULL) {
		fail(err, errsz, path, "%s", strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	got = read_fd(fd, buf, size + 1);
	if (got < 0) {
		ret = (int)got;
		fail(err, errsz, path, "cannot read: %s", strerror(-ret));
		free(buf);
		goto out;
	}
	if ((size_t)got > size) {
		fail(err, errsz, path, "the file grew while it was being read");
		ret = -EINVAL;
		free(buf);
		goto out;
	}
	ret = parse_owned(r, buf, (size_t)got, path, err, errsz);
out:
	close(fd);
	return ret;
}

/* find: section (tag, index) by binary search of the sorted table, or NULL. */
static const struct snap_section *find(const struct snap_reader *r, uint32_t tag, uint32_t index)
{
	const struct snap_section key = {.tag = tag, .index = index};
	size_t lo = 0, hi = r->nsections;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = section_cmp(&key, &r->sections[mid]);

		if (c == 0)
			return &r->sections[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int snap_get(const struct snap_reader *r, uint32_t tag, uint32_t index, const void **data,
	     size_t *len)
{
	const struct snap_section *s = find(r, tag, index);

	if (s == NULL)
		return -ENOENT;
	*data = r->bytes + s->offset;
	*len = s->len;
	return 0;
}

int snap_get_exact(const struct snap_reader *r, uint32_t tag, uint32_t index, void *out, size_t len,
		   char *err, size_t errsz)
{
	const struct snap_section *s = find(r, tag, index);
	const char *name = r->name != NULL ? r->name : "";

	if (s == NULL) {
		fail(err, errsz, name, "no section %s %" PRIu32, snap_tag_name(tag), index);
		return -EINVAL;
	}
	if (s->len != len) {
		fail(err, errsz, name, "section %s %" PRIu32 " is %zu bytes, expected %zu",
		     snap_tag_name(tag), index, s->len, len);
		return -EINVAL;
	}
	if (len > 0)
		memcpy(out, r->bytes + s->offset, len);
	return 0;
}

unsigned int snap_count(const struct snap_reader *r, uint32_t tag)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < r->nsections; i++)
		if (r->sections[i].tag == tag)
			n++;
	return n;
}

const struct snap_section *snap_section_at(const struct snap_reader *r, uint32_t i)
{
	return i < r->nsections ? &r->sections[i] : NULL;
}

void snap_describe(const struct snap_reader *r, FILE *out)
{
	fprintf(out,
		"snapshot '%s': format version %" PRIu32 ", arch %s, %" PRIu32
		" section%s, %zu bytes\n",
		r->name != NULL ? r->name : "", r->format_version, arch_name(r->arch), r->nsections,
		r->nsections == 1 ? "" : "s", r->size);
	if (r->nsections == 0)
		return;
	fprintf(out, "  %-12s %10s %10s %10s\n", "section", "index", "bytes", "offset");
	for (uint32_t i = 0; i < r->nsections; i++) {
		const struct snap_section *s = &r->sections[i];

		fprintf(out, "  %-12s %10" PRIu32 " %10zu %10zu\n", snap_tag_name(s->tag), s->index,
			s->len, s->offset);
	}
}
