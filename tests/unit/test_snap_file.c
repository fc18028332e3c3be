// SPDX-License-Identifier: Apache-2.0
/*
 * test_snap_file.c: the snapshot state file. Sections survive a commit and a
 * read byte for byte; every way a file can be wrong is refused with its own
 * message (truncated at each length, a flipped bit at each offset, wrong
 * magic, version, arch, flags, broken or duplicate sections, too many, too
 * big, not a file); a commit that fails leaves neither a temporary file nor
 * a target behind, and one that succeeds replaces the old file whole; and a
 * commit and a read run under the production VMM seccomp filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "seccomp.h"
#include "snap_file.h"

#define NAME	    "t" /* what snap_parse calls the bytes in messages */
#define PREFIX	    "snapshot 't': "
#define VCPU_BYTES  37 /* odd, so that padding is exercised */
#define CONFIG_SIZE 100
#define VIRTIO_A    9
#define VIRTIO_B    16
#define SAMPLE_N    7 /* sections in the sample file */
#define RAW_MAX	    1024
#define CHILD_OK    42
#define FSIZE_LIMIT 100 /* bytes a child may write, to make a write fail */
/* Header offsets, restated here as the format's specification (snap_file.h). */
#define OFF_VERSION    8
#define OFF_ARCH       12
#define OFF_NSECTIONS  16
#define OFF_FLAGS      20
#define OFF_BODY_BYTES 24
#define OFF_BODY_CRC   32
#define OFF_HDR_CRC    36

/* Per-test fixture: a fresh directory and a few paths in it. */
struct fx {
	char dir[64];
	char path[128]; /* dir/vm.snap */
	char tmp[128];	/* dir/vm.snap.tmp */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/ember-snap.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/vm.snap", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s/vm.snap.tmp", f->dir);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	chmod(f->dir, 0700);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- building files ---- */

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* Payloads of the sample file, by construction. */
struct sample {
	uint8_t info[11], config[CONFIG_SIZE], vcpu0[VCPU_BYTES], vcpu1[VCPU_BYTES];
	uint8_t virtio_a[VIRTIO_A], virtio_b[VIRTIO_B];
};

static void sample_fill(struct sample *s)
{
	memcpy(s->info, "ember 0.1\n", sizeof(s->info));
	fill(s->config, sizeof(s->config), 1);
	fill(s->vcpu0, sizeof(s->vcpu0), 2);
	fill(s->vcpu1, sizeof(s->vcpu1), 3);
	fill(s->virtio_a, sizeof(s->virtio_a), 4);
	fill(s->virtio_b, sizeof(s->virtio_b), 5);
}

/* sample_put: seven sections, out of (tag, index) order, one empty, odd lengths. */
static void sample_put(struct snap_writer *w, const struct sample *s)
{
	assert_int_equal(snap_put(w, SNAP_TAG_INFO, 0, s->info, sizeof(s->info)), 0);
	assert_int_equal(snap_put(w, SNAP_TAG_VCPU, 1, s->vcpu1, sizeof(s->vcpu1)), 0);
	assert_int_equal(snap_put(w, SNAP_TAG_VCPU, 0, s->vcpu0, sizeof(s->vcpu0)), 0);
	assert_int_equal(snap_put(w, SNAP_TAG_CONFIG, 0, s->config, sizeof(s->config)), 0);
	assert_int_equal(snap_put(w, SNAP_TAG_IOAPIC, 0, NULL, 0), 0);
	assert_int_equal(snap_put(w, SNAP_TAG_VIRTIO, 7, s->virtio_a, sizeof(s->virtio_a)), 0);
	assert_int_equal(
	    snap_put(w, SNAP_TAG_VIRTIO, 0xffffffffu, s->virtio_b, sizeof(s->virtio_b)), 0);
}

/* sample_image: the sample file's bytes, malloc'd. */
static uint8_t *sample_image(size_t *len)
{
	struct snap_writer w;
	struct sample s;
	const void *img;
	uint8_t *copy;

	sample_fill(&s);
	snap_writer_init(&w);
	sample_put(&w, &s);
	assert_int_equal(snap_writer_image(&w, &img, len), 0);
	copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, img, *len);
	snap_writer_free(&w);
	return copy;
}

static void set32(uint8_t *p, size_t off, uint32_t v)
{
	for (size_t i = 0; i < 4; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static void set64(uint8_t *p, size_t off, uint64_t v)
{
	for (size_t i = 0; i < 8; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32(crc32(0, Z_NULL, 0), p, (uInt)len);
}

/* reseal: make (buf, len)'s body length and both checksums right again after an edit. */
static void reseal(uint8_t *buf, size_t len)
{
	set64(buf, OFF_BODY_BYTES, len - SNAP_HEADER_BYTES);
	set32(buf, OFF_BODY_CRC, crc(buf + SNAP_HEADER_BYTES, len - SNAP_HEADER_BYTES));
	set32(buf, OFF_HDR_CRC, crc(buf, OFF_HDR_CRC));
}

/* A file laid out by hand, for what the writer refuses to make. */
struct raw {
	uint8_t b[RAW_MAX];
	size_t len;
	uint32_t n;
};

static void raw_init(struct raw *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->b, SNAP_MAGIC, SNAP_MAGIC_BYTES);
	set32(r->b, OFF_VERSION, SNAP_FORMAT_VERSION);
	set32(r->b, OFF_ARCH, SNAP_ARCH_X86_64);
	r->len = SNAP_HEADER_BYTES;
}

/* raw_section: a header saying (len), (have) payload bytes, then (pad) bytes of (padbyte). */
static void raw_section(struct raw *r, uint32_t tag, uint32_t index, uint64_t len, size_t have,
			size_t pad, uint8_t padbyte)
{
	assert_true(r->len + SNAP_SECTION_BYTES + have + pad <= RAW_MAX);
	set32(r->b, r->len, tag);
	set32(r->b, r->len + 4, index);
	set64(r->b, r->len + 8, len);
	r->len += SNAP_SECTION_BYTES;
	memset(r->b + r->len, 0xab, have);
	r->len += have;
	memset(r->b + r->len, padbyte, pad);
	r->len += pad;
	r->n++;
}

/* raw_seal: the header for what is in (r), announcing (nsections). */
static void raw_seal(struct raw *r, uint32_t nsections)
{
	set32(r->b, OFF_NSECTIONS, nsections);
	reseal(r->b, r->len);
}

/* ---- checking ---- */

/* refused: snap_parse of (buf, len) fails with (ret), a message containing (what), an empty reader.
 */
static void refused(const void *buf, size_t len, int ret, const char *what)
{
	struct snap_reader r;
	char err[SNAP_ERR_MAX] = "";

	assert_int_equal(snap_parse(&r, buf, len, NAME, err, sizeof(err)), ret);
	if (strncmp(err, PREFIX, strlen(PREFIX)) != 0 || strstr(err, what) == NULL)
		fail_msg("length %zu: got '%s', want '%s'", len, err, what);
	assert_null(r.bytes);
	assert_null(r.sections);
	assert_null(r.name);
	assert_int_equal(r.nsections, 0);
	snap_reader_free(&r);
}

/* refused_exactly: as refused, and the whole message is PREFIX (what). */
static void refused_exactly(const void *buf, size_t len, const char *what)
{
	struct snap_reader r;
	char err[SNAP_ERR_MAX] = "", want[SNAP_ERR_MAX];

	snprintf(want, sizeof(want), PREFIX "%s", what);
	assert_int_equal(snap_parse(&r, buf, len, NAME, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
}

/* has_sample: (r) holds exactly the sample's sections. */
static void has_sample(const struct snap_reader *r)
{
	struct sample s;
	const void *data;
	size_t len;

	sample_fill(&s);
	assert_int_equal(r->format_version, SNAP_FORMAT_VERSION);
	assert_int_equal(r->arch, SNAP_ARCH_X86_64);
	assert_int_equal(r->nsections, SAMPLE_N);
	const struct {
		uint32_t tag, index;
		const void *want;
		size_t len;
	} want[] = {
	    {SNAP_TAG_INFO, 0, s.info, sizeof(s.info)},
	    {SNAP_TAG_CONFIG, 0, s.config, sizeof(s.config)},
	    {SNAP_TAG_VCPU, 0, s.vcpu0, sizeof(s.vcpu0)},
	    {SNAP_TAG_VCPU, 1, s.vcpu1, sizeof(s.vcpu1)},
	    {SNAP_TAG_IOAPIC, 0, NULL, 0},
	    {SNAP_TAG_VIRTIO, 7, s.virtio_a, sizeof(s.virtio_a)},
	    {SNAP_TAG_VIRTIO, 0xffffffffu, s.virtio_b, sizeof(s.virtio_b)},
	};
	/* In (tag, index) order, whatever order they were written in. */
	for (uint32_t i = 0; i < SAMPLE_N; i++) {
		const struct snap_section *sec = snap_section_at(r, i);

		assert_non_null(sec);
		assert_int_equal(sec->tag, want[i].tag);
		assert_int_equal(sec->index, want[i].index);
		assert_int_equal(snap_get(r, want[i].tag, want[i].index, &data, &len), 0);
		assert_int_equal(len, want[i].len);
		assert_int_equal((uintptr_t)data % SNAP_ALIGN, 0);
		if (len > 0)
			assert_memory_equal(data, want[i].want, len);
	}
	assert_null(snap_section_at(r, SAMPLE_N));
	assert_int_equal(snap_count(r, SNAP_TAG_VCPU), 2);
	assert_int_equal(snap_count(r, SNAP_TAG_VIRTIO), 2);
	assert_int_equal(snap_count(r, SNAP_TAG_IOAPIC), 1);
	assert_int_equal(snap_count(r, SNAP_TAG_PIT), 0);
	assert_int_equal(snap_get(r, SNAP_TAG_VCPU, 2, &data, &len), -ENOENT);
	assert_int_equal(snap_get(r, SNAP_TAG_PIT, 0, &data, &len), -ENOENT);
	assert_int_equal(snap_get(r, 0, 0, &data, &len), -ENOENT);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* file_is: (path) holds exactly (len) bytes equal to (data). */
static void file_is(const char *path, const void *data, size_t len)
{
	uint8_t buf[RAW_MAX * 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(len < sizeof(buf));
	assert_int_equal(read(fd, buf, sizeof(buf)), (ssize_t)len);
	close(fd);
	assert_memory_equal(buf, data, len);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- round trips ---- */

static void test_round_trip_file(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	struct snap_reader r;
	struct sample s;
	struct stat st;
	const void *img;
	size_t len;
	char err[SNAP_ERR_MAX] = "";

	sample_fill(&s);
	snap_writer_init(&w);
	sample_put(&w, &s);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_false(exists(f->tmp));
	/* The file is the image, private to its owner. */
	assert_int_equal(snap_writer_image(&w, &img, &len), 0);
	file_is(f->path, img, len);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0);
	snap_writer_free(&w);

	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), 0);
	assert_string_equal(r.name, f->path);
	assert_int_equal(r.size, len);
	has_sample(&r);
	snap_reader_free(&r);
	snap_reader_free(&r); /* empty now: harmless */
}

static void test_round_trip_memory(void **state)
{
	struct snap_reader r;
	size_t len;
	uint8_t *img = sample_image(&len);
	char err[SNAP_ERR_MAX] = "";

	(void)state;
	/* Header, then each section padded to 8: 16 + 11+5, 16 + 37+3 twice, 16 + 100+4, ... */
	assert_int_equal(len % SNAP_ALIGN, 0);
	assert_int_equal(snap_parse(&r, img, len, NAME, err, sizeof(err)), 0);
	/* The reader owns a copy: the caller's bytes may go. */
	memset(img, 0, len);
	free(img);
	has_sample(&r);
	snap_reader_free(&r);
}

static void test_round_trip_empty(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	struct snap_reader r;
	char err[SNAP_ERR_MAX] = "";

	snap_writer_init(&w);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), 0);
	snap_writer_free(&w);
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), 0);
	assert_int_equal(r.nsections, 0);
	assert_int_equal(r.size, SNAP_HEADER_BYTES);
	assert_int_equal(snap_count(&r, SNAP_TAG_VCPU), 0);
	assert_null(snap_section_at(&r, 0));
	snap_reader_free(&r);
}

/* The most sections a file may hold, and the one more the writer refuses. */
static void test_max_sections(void **state)
{
	struct snap_writer w;
	struct snap_reader r;
	const void *img;
	size_t len;
	char err[SNAP_ERR_MAX] = "";

	(void)state;
	snap_writer_init(&w);
	for (uint32_t i = 0; i < SNAP_MAX_SECTIONS; i++)
		assert_int_equal(snap_put(&w, SNAP_TAG_VIRTIO, i, &i, sizeof(i)), 0);
	assert_int_equal(snap_writer_image(&w, &img, &len), 0);
	assert_int_equal(snap_parse(&r, img, len, NAME, err, sizeof(err)), 0);
	assert_int_equal(snap_count(&r, SNAP_TAG_VIRTIO), SNAP_MAX_SECTIONS);
	snap_reader_free(&r);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, NULL, 0), -EINVAL);
	snap_writer_free(&w);
}

static void test_describe(void **state)
{
	struct snap_reader r;
	size_t len, outlen;
	uint8_t *img = sample_image(&len);
	char *out = NULL, err[SNAP_ERR_MAX] = "", head[SNAP_ERR_MAX];
	FILE *mem = open_memstream(&out, &outlen);

	(void)state;
	assert_non_null(mem);
	assert_int_equal(snap_parse(&r, img, len, NAME, err, sizeof(err)), 0);
	snap_describe(&r, mem);
	fclose(mem);
	snprintf(head, sizeof(head),
		 "snapshot 't': format version 1, arch x86_64, 7 sections, %zu bytes\n", len);
	assert_true(strncmp(out, head, strlen(head)) == 0);
	/* One line per section, in (tag, index) order, with its size and payload offset. */
	assert_non_null(strstr(out, "  section           index      bytes     offset\n"
				    "  info                  0         11         56\n"
				    "  config                0        100        "));
	assert_non_null(strstr(out, "  vcpu                  1         37"));
	assert_non_null(strstr(out, "  ioapic                0          0"));
	assert_non_null(strstr(out, "  virtio       4294967295         16"));
	snap_reader_free(&r);
	free(out);
	free(img);
}

static void test_tag_names(void **state)
{
	static const char *const names[] = {
	    "unknown", "info",	 "config",     "vcpu",	    "vm_clock", "ioapic",
	    "pic",     "pit",	 "rtc",	       "serial",    "i8042",	"boot_timer",
	    "virtio",  "memory", "generation", "pit_timer",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == SNAP_TAG_COUNT_, "a name for every tag");

	(void)state;
	for (uint32_t t = 0; t < SNAP_TAG_COUNT_; t++)
		assert_string_equal(snap_tag_name(t), names[t]);
	assert_string_equal(snap_tag_name(SNAP_TAG_COUNT_), "unknown");
	assert_string_equal(snap_tag_name(0xffffffffu), "unknown");
}

/* ---- what the reader refuses ---- */

static void test_truncated_everywhere(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len);

	(void)state;
	for (size_t n = 0; n < len; n++)
		refused(img, n, -EINVAL, "truncated");
	free(img);
}

static void test_flipped_bit_everywhere(void **state)
{
	static const uint8_t flips[] = {0x01, 0x80, 0xff};
	size_t len;
	uint8_t *img = sample_image(&len);

	(void)state;
	for (size_t off = 0; off < len; off++) {
		for (size_t k = 0; k < sizeof(flips); k++) {
			img[off] ^= flips[k];
			/* Magic and version come first, so that another version is named as such.
			 */
			if (off < SNAP_MAGIC_BYTES)
				refused(img, len, -EINVAL, "bad magic");
			else if (off < OFF_ARCH)
				refused(img, len, -EINVAL, "unsupported snapshot format version");
			else
				refused(img, len, -EINVAL,
					"checksum mismatch: the file is corrupted");
			img[off] ^= flips[k];
		}
	}
	free(img);
}

static void test_bad_magic(void **state)
{
	struct snap_reader r;
	size_t len;
	uint8_t *img = sample_image(&len);
	char err[SNAP_ERR_MAX] = "";

	(void)state;
	img[SNAP_MAGIC_BYTES - 1] = 'Q';
	refused_exactly(img, len, "not an ember snapshot state file (bad magic)");
	/* Too short to be one, and not the start of one either. */
	refused_exactly("\177ELF", 4, "not an ember snapshot state file (bad magic)");
	/* Bytes without a name. */
	assert_int_equal(snap_parse(&r, img, len, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "snapshot '(in memory)': not an ember snapshot state file (bad magic)");
	free(img);
}

static void test_version_2(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len);

	(void)state;
	/* A newer file: its header need not look like ours past the version. */
	set32(img, OFF_VERSION, 2);
	refused_exactly(img, len, "unsupported snapshot format version 2 (this ember reads 1)");
	refused_exactly(img, OFF_ARCH,
			"unsupported snapshot format version 2 (this ember reads 1)");
	set32(img, OFF_VERSION, 0);
	refused_exactly(img, len, "unsupported snapshot format version 0 (this ember reads 1)");
	free(img);
}

static void test_arch_2(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len);

	(void)state;
	set32(img, OFF_ARCH, 2);
	reseal(img, len);
	refused_exactly(img, len,
			"taken on another architecture (arch 2; this ember restores "
			"x86_64, arch 1)");
	free(img);
}

static void test_flags(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len);

	(void)state;
	set32(img, OFF_FLAGS, 0x80000000u);
	reseal(img, len);
	refused_exactly(img, len, "unknown flags 0x80000000 (this ember knows none)");
	free(img);
}

static void test_too_many_sections(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len);

	(void)state;
	set32(img, OFF_NSECTIONS, SNAP_MAX_SECTIONS + 1);
	reseal(img, len);
	refused_exactly(img, len, "4097 sections, more than the 4096 a state file may hold");
	set32(img, OFF_NSECTIONS, 0xffffffffu);
	reseal(img, len);
	refused(img, len, -EINVAL, "4294967295 sections, more than");
	free(img);
}

static void test_body_length(void **state)
{
	size_t len;
	uint8_t *img = sample_image(&len), *longer = calloc(1, len + SNAP_ALIGN);
	char want[SNAP_ERR_MAX];

	(void)state;
	assert_non_null(longer);
	/* The header says more than there is: truncated, even with matching checksums. */
	set64(img, OFF_BODY_BYTES, len);
	set32(img, OFF_HDR_CRC, crc(img, OFF_HDR_CRC));
	snprintf(want, sizeof(want), "truncated: the body is %zu bytes, the file holds %zu", len,
		 len - SNAP_HEADER_BYTES);
	refused_exactly(img, len, want);
	set64(img, OFF_BODY_BYTES, UINT64_MAX);
	set32(img, OFF_HDR_CRC, crc(img, OFF_HDR_CRC));
	refused(img, len, -EINVAL, "truncated");
	/* Bytes after the body the header announces. */
	free(img);
	img = sample_image(&len);
	memcpy(longer, img, len);
	refused_exactly(longer, len + SNAP_ALIGN, "8 bytes of trailing data after the body");
	free(longer);
	free(img);
}

static void test_section_len_past_end(void **state)
{
	struct raw r;

	(void)state;
	raw_init(&r);
	raw_section(&r, SNAP_TAG_VCPU, 0, 8, 8, 0, 0);
	raw_section(&r, SNAP_TAG_VCPU, 1, 9, 8, 0, 0); /* one byte more than there is */
	raw_seal(&r, 2);
	refused_exactly(r.b, r.len,
			"section vcpu 1 at offset 64: its 9 bytes run past the end of the body");

	raw_init(&r);
	raw_section(&r, SNAP_TAG_PIT, 0, UINT64_MAX, 8, 0, 0);
	raw_seal(&r, 1);
	refused(r.b, r.len, -EINVAL, "run past the end of the body");

	/* A payload that fits, but not its padding. */
	raw_init(&r);
	raw_section(&r, SNAP_TAG_RTC, 3, 3, 3, 0, 0);
	raw_seal(&r, 1);
	refused_exactly(r.b, r.len,
			"section rtc 3 at offset 40: its padding runs past the end of the body");

	/* Not even room for a section's header. */
	raw_init(&r);
	memset(r.b + r.len, 0, SNAP_ALIGN);
	r.len += SNAP_ALIGN;
	raw_seal(&r, 1);
	refused_exactly(r.b, r.len,
			"section at offset 40: its header runs past the end of the body");
}

static void test_duplicate_section(void **state)
{
	struct raw r;

	(void)state;
	raw_init(&r);
	raw_section(&r, SNAP_TAG_VIRTIO, 2, 8, 8, 0, 0);
	raw_section(&r, SNAP_TAG_VCPU, 0, 0, 0, 0, 0);
	raw_section(&r, SNAP_TAG_VIRTIO, 2, 0, 0, 0, 0);
	raw_seal(&r, 3);
	refused_exactly(r.b, r.len, "duplicate section virtio 2");
}

static void test_section_structure(void **state)
{
	struct raw r;

	(void)state;
	/* Fewer sections than announced, more than announced. */
	raw_init(&r);
	raw_section(&r, SNAP_TAG_VCPU, 0, 8, 8, 0, 0);
	raw_section(&r, SNAP_TAG_VCPU, 1, 8, 8, 0, 0);
	raw_seal(&r, 3);
	refused_exactly(r.b, r.len, "the header announces 3 sections, the body holds 2");
	raw_seal(&r, 1);
	refused_exactly(r.b, r.len, "data at offset 64, after the 1 sections the header announces");
	raw_seal(&r, 0);
	refused(r.b, r.len, -EINVAL, "after the 0 sections");

	/* Tags outside the enum: 0 and one past the last. */
	raw_init(&r);
	raw_section(&r, 0, 0, 0, 0, 0, 0);
	raw_seal(&r, 1);
	refused_exactly(r.b, r.len, "section at offset 40: unknown tag 0");
	raw_init(&r);
	raw_section(&r, SNAP_TAG_COUNT_, 0, 0, 0, 0, 0);
	raw_seal(&r, 1);
	char unknown[64];
	snprintf(unknown, sizeof(unknown), "section at offset 40: unknown tag %d", SNAP_TAG_COUNT_);
	refused_exactly(r.b, r.len, unknown);

	/* Padding must be zeros. */
	raw_init(&r);
	raw_section(&r, SNAP_TAG_SERIAL, 0, 5, 5, 3, 0);
	raw_section(&r, SNAP_TAG_I8042, 0, 1, 1, 7, 1);
	raw_seal(&r, 2);
	refused_exactly(r.b, r.len, "section i8042 0 at offset 64: nonzero padding");
}

static void test_file_too_big(void **state)
{
	struct fx *f = *state;
	struct snap_reader r;
	char err[SNAP_ERR_MAX] = "", want[SNAP_ERR_MAX];
	uint8_t *big;
	int fd;

	/* A sparse file one byte over the limit: refused before any of it is read. */
	fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)SNAP_MAX_FILE_BYTES + 1), 0);
	close(fd);
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want),
		 "snapshot '%s': 67108865 bytes, more than the 67108864 a state file may hold",
		 f->path);
	assert_string_equal(err, want);
	assert_null(r.bytes);

	big = calloc(1, (size_t)SNAP_MAX_FILE_BYTES + 1);
	assert_non_null(big);
	refused(big, (size_t)SNAP_MAX_FILE_BYTES + 1, -EFBIG,
		"67108865 bytes, more than the 67108864 a state file may hold");
	free(big);
}

static void test_not_a_file(void **state)
{
	struct fx *f = *state;
	struct snap_reader r;
	char err[SNAP_ERR_MAX] = "", want[SNAP_ERR_MAX];

	assert_int_equal(snap_read_file(&r, f->dir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "snapshot '%s': is a directory, not a state file", f->dir);
	assert_string_equal(err, want);

	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "snapshot '%s': cannot open: No such file or directory",
		 f->path);
	assert_string_equal(err, want);

	/* A FIFO with no writer: refused at once, not waited on. */
	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "snapshot '%s': not a regular file", f->path);
	assert_string_equal(err, want);
	assert_null(r.bytes);
}

static void test_read_file_refusal_names_path(void **state)
{
	struct fx *f = *state;
	struct snap_reader r;
	size_t len;
	uint8_t *img = sample_image(&len);
	char err[SNAP_ERR_MAX] = "", want[SNAP_ERR_MAX];

	img[len - 1] ^= 1;
	write_file(f->path, img, len);
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "snapshot '%s': checksum mismatch: the file is corrupted",
		 f->path);
	assert_string_equal(err, want);
	/* An empty file. */
	write_file(f->path, "", 0);
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "truncated: 0 bytes"));
	free(img);
}

static void test_get_exact(void **state)
{
	struct snap_reader r;
	struct sample s;
	size_t len;
	uint8_t *img = sample_image(&len);
	uint8_t vcpu[VCPU_BYTES], small[VCPU_BYTES - 1];
	char err[SNAP_ERR_MAX] = "";

	(void)state;
	sample_fill(&s);
	assert_int_equal(snap_parse(&r, img, len, NAME, err, sizeof(err)), 0);
	assert_int_equal(snap_get_exact(&r, SNAP_TAG_VCPU, 1, vcpu, sizeof(vcpu), err, sizeof(err)),
			 0);
	assert_memory_equal(vcpu, s.vcpu1, sizeof(vcpu));
	assert_int_equal(snap_get_exact(&r, SNAP_TAG_IOAPIC, 0, NULL, 0, err, sizeof(err)), 0);

	memset(small, 0x5a, sizeof(small));
	assert_int_equal(
	    snap_get_exact(&r, SNAP_TAG_VCPU, 1, small, sizeof(small), err, sizeof(err)), -EINVAL);
	assert_string_equal(err, PREFIX "section vcpu 1 is 37 bytes, expected 36");
	for (size_t i = 0; i < sizeof(small); i++)
		assert_int_equal(small[i], 0x5a);
	assert_int_equal(
	    snap_get_exact(&r, SNAP_TAG_PIT, 0, small, sizeof(small), err, sizeof(err)), -EINVAL);
	assert_string_equal(err, PREFIX "no section pit 0");
	/* A small buffer cuts the message, never overruns. */
	assert_int_equal(snap_get_exact(&r, SNAP_TAG_PIT, 0, small, sizeof(small), err, 8),
			 -EINVAL);
	assert_string_equal(err, "snapsho");
	assert_int_equal(snap_get_exact(&r, SNAP_TAG_PIT, 0, small, sizeof(small), NULL, 0),
			 -EINVAL);
	snap_reader_free(&r);
	free(img);
}

/* ---- the writer ---- */

static void test_writer_refuses(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	uint8_t byte = 1;
	char err[SNAP_ERR_MAX] = "", want[SNAP_ERR_MAX];

	snap_writer_init(&w);
	assert_int_equal(snap_put(&w, 0, 0, &byte, 1), -EINVAL);
	snap_writer_free(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_COUNT_, 0, &byte, 1), -EINVAL);
	snap_writer_free(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, NULL, 1), -EINVAL);
	snap_writer_free(&w);
	/* Lengths that cannot fit: checked before a byte is read. */
	assert_int_equal(snap_put(&w, SNAP_TAG_MEMORY, 0, &byte, SIZE_MAX), -EINVAL);
	snap_writer_free(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_MEMORY, 0, &byte,
				  SNAP_MAX_FILE_BYTES - SNAP_HEADER_BYTES - SNAP_SECTION_BYTES + 1),
			 -EINVAL);
	snap_writer_free(&w);

	/* A duplicate, and the failure sticks: no file misses a section. */
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, &byte, 1), 0);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, &byte, 1), -EEXIST);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 1, &byte, 1), -EEXIST);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), -EEXIST);
	snprintf(want, sizeof(want),
		 "snapshot '%s': not written: adding a section failed earlier: File exists",
		 f->path);
	assert_string_equal(err, want);
	assert_false(exists(f->path));
	assert_false(exists(f->tmp));
	snap_writer_free(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, &byte, 1), 0);
	snap_writer_free(&w);
}

/* A payload exactly as big as the limit allows: written, read back. */
static void test_writer_largest(void **state)
{
	struct fx *f = *state;
	const size_t big = SNAP_MAX_FILE_BYTES - SNAP_HEADER_BYTES - SNAP_SECTION_BYTES;
	struct snap_writer w;
	struct snap_reader r;
	uint8_t *data = calloc(1, big);
	const void *got;
	size_t len;
	char err[SNAP_ERR_MAX] = "";

	assert_non_null(data);
	data[big - 1] = 0x77;
	snap_writer_init(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_MEMORY, 0, data, big), 0);
	assert_int_equal(snap_put(&w, SNAP_TAG_INFO, 0, NULL, 0), -EINVAL); /* no room left */
	snap_writer_free(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_MEMORY, 0, data, big), 0);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), 0);
	snap_writer_free(&w);
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), 0);
	assert_int_equal(r.size, SNAP_MAX_FILE_BYTES);
	assert_int_equal(snap_get(&r, SNAP_TAG_MEMORY, 0, &got, &len), 0);
	assert_int_equal(len, big);
	assert_memory_equal(got, data, big);
	snap_reader_free(&r);
	free(data);
}

static void test_commit_missing_dir(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	struct sample s;
	char path[192], tmp[200], err[SNAP_ERR_MAX] = "", want[SNAP_ERR_MAX * 2];

	snprintf(path, sizeof(path), "%s/no-such-dir/vm.snap", f->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	sample_fill(&s);
	snap_writer_init(&w);
	sample_put(&w, &s);
	assert_int_equal(snap_writer_commit(&w, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "snapshot '%s': cannot create '%s': No such file or directory",
		 path, tmp);
	assert_string_equal(err, want);
	assert_false(exists(tmp));
	assert_false(exists(path));
	assert_int_equal(snap_writer_commit(&w, "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "snapshot '': no path given");
	snap_writer_free(&w);
}

static void test_commit_read_only_dir(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	char err[SNAP_ERR_MAX] = "";

	if (geteuid() == 0)
		skip(); /* root writes into a read-only directory all the same */
	assert_int_equal(chmod(f->dir, 0500), 0);
	snap_writer_init(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_PIC, 0, "x", 1), 0);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "cannot create"));
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_false(exists(f->tmp));
	assert_false(exists(f->path));
	snap_writer_free(&w);
}

/* A write that fails half way (a file size limit): the old file stays, no temporary file. */
static void test_commit_write_fails(void **state)
{
	struct fx *f = *state;
	static const char old[] = "the old state";
	struct snap_writer w;
	struct sample s;
	int status = 0;
	pid_t pid;

	write_file(f->path, old, sizeof(old));
	sample_fill(&s);
	snap_writer_init(&w);
	sample_put(&w, &s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit lim = {FSIZE_LIMIT, FSIZE_LIMIT};
		char err[SNAP_ERR_MAX] = "";

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
			_exit(1);
		if (snap_writer_commit(&w, f->path, err, sizeof(err)) != -EFBIG)
			_exit(2);
		if (strstr(err, "cannot write") == NULL || strstr(err, f->tmp) == NULL)
			_exit(3);
		_exit(CHILD_OK);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_OK);
	file_is(f->path, old, sizeof(old));
	assert_false(exists(f->tmp));
	snap_writer_free(&w);
}

/* The rename fails (the target is a directory): the temporary file goes, the target stays. */
static void test_commit_rename_fails(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	char inside[192], err[SNAP_ERR_MAX] = "";

	assert_int_equal(mkdir(f->path, 0700), 0);
	snprintf(inside, sizeof(inside), "%s/keep", f->path);
	write_file(inside, "k", 1);
	snap_writer_init(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_PIC, 0, "x", 1), 0);
	assert_true(snap_writer_commit(&w, f->path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot rename"));
	assert_false(exists(f->tmp));
	file_is(inside, "k", 1);
	snap_writer_free(&w);
}

/*
 * The new file replaces the old one by rename: a reader holding the old
 * file open still sees all of the old bytes. A stale temporary file, even a
 * symlink to another file, is replaced and the other file left alone.
 */
static void test_commit_replaces_atomically(void **state)
{
	struct fx *f = *state;
	static const char victim_bytes[] = "not yours";
	struct snap_writer w;
	struct snap_reader r;
	const void *old_img, *new_img;
	uint8_t old_copy[RAW_MAX], buf[RAW_MAX];
	size_t old_len, new_len;
	char victim[192], err[SNAP_ERR_MAX] = "";
	int old_fd;

	snap_writer_init(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, "old", 3), 0);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), 0);
	assert_int_equal(snap_writer_image(&w, &old_img, &old_len), 0);
	memcpy(old_copy, old_img, old_len);
	snap_writer_free(&w);
	old_fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(old_fd >= 0);

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	write_file(victim, victim_bytes, sizeof(victim_bytes));
	assert_int_equal(symlink(victim, f->tmp), 0);

	snap_writer_init(&w);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 0, "new state", 9), 0);
	assert_int_equal(snap_put(&w, SNAP_TAG_VCPU, 1, "more", 4), 0);
	assert_int_equal(snap_writer_commit(&w, f->path, err, sizeof(err)), 0);
	assert_int_equal(snap_writer_image(&w, &new_img, &new_len), 0);
	file_is(f->path, new_img, new_len);
	snap_writer_free(&w);

	assert_int_equal(pread(old_fd, buf, sizeof(buf), 0), (ssize_t)old_len);
	assert_memory_equal(buf, old_copy, old_len);
	close(old_fd);
	file_is(victim, victim_bytes, sizeof(victim_bytes));
	assert_false(exists(f->tmp));
	assert_int_equal(snap_read_file(&r, f->path, err, sizeof(err)), 0);
	assert_int_equal(snap_count(&r, SNAP_TAG_VCPU), 2);
	snap_reader_free(&r);
}

/*
 * In a child under the production VMM filter: a commit, one that fails at
 * its rename (so the temporary file is unlinked), and a read. A syscall the
 * filter lacks kills the child with SIGSYS.
 */
static void test_under_vmm_filter(void **state)
{
	struct fx *f = *state;
	struct snap_writer w;
	struct sample s;
	char blocker[192];
	int status = 0;
	pid_t pid;

	snprintf(blocker, sizeof(blocker), "%s/blocker", f->dir);
	assert_int_equal(mkdir(blocker, 0700), 0);
	sample_fill(&s);
	snap_writer_init(&w);
	sample_put(&w, &s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct snap_reader r;
		char err[SNAP_ERR_MAX];
		int code = CHILD_OK;

		if (seccomp_install(SECCOMP_THREAD_VMM, NULL) != 0)
			code = 1;
		else if (snap_writer_commit(&w, f->path, err, sizeof(err)) != 0)
			code = 2;
		else if (snap_writer_commit(&w, blocker, err, sizeof(err)) >= 0)
			code = 3;
		else if (snap_read_file(&r, f->path, err, sizeof(err)) != 0)
			code = 4;
		else if (r.nsections != SAMPLE_N)
			code = 5;
		/* Raw exit: sanitizer runtimes hook _exit with syscalls of their own. */
		syscall(SYS_exit_group, code);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the child was killed by signal %d (SIGSYS: a syscall the VMM filter "
			 "lacks)",
			 WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_OK);
	assert_false(exists(f->tmp));
	snprintf(blocker + strlen(blocker), sizeof(blocker) - strlen(blocker), ".tmp");
	assert_false(exists(blocker));
	snap_writer_free(&w);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_round_trip_file),
	    T(test_round_trip_memory),
	    T(test_round_trip_empty),
	    T(test_max_sections),
	    T(test_describe),
	    T(test_tag_names),
	    T(test_truncated_everywhere),
	    T(test_flipped_bit_everywhere),
	    T(test_bad_magic),
	    T(test_version_2),
	    T(test_arch_2),
	    T(test_flags),
	    T(test_too_many_sections),
	    T(test_body_length),
	    T(test_section_len_past_end),
	    T(test_duplicate_section),
	    T(test_section_structure),
	    T(test_file_too_big),
	    T(test_not_a_file),
	    T(test_read_file_refusal_names_path),
	    T(test_get_exact),
	    T(test_writer_refuses),
	    T(test_writer_largest),
	    T(test_commit_missing_dir),
	    T(test_commit_read_only_dir),
	    T(test_commit_write_fails),
	    T(test_commit_rename_fails),
	    T(test_commit_replaces_atomically),
	    T(test_under_vmm_filter),
	};
	return cmocka_run_group_tests_name("snap_file", tests, NULL, NULL);
}
