// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_snapshot.c: snap_parse, what a restore and --describe-snapshot do
 * with a state file a tenant may have written.
 *
 * Input: [mode] then the file. With bit 0 of (mode) set, the harness first
 * makes the header's body length and both CRC-32s match the bytes, as one
 * who forges a file would; the fuzzer cannot compute a checksum, and
 * without this it would never reach the section walker. With bit 0 clear
 * the bytes are parsed as they come.
 *
 * Invariants beyond the sanitizers: a refused file has a message naming it
 * and leaves the reader empty. An accepted one describes itself (to
 * /dev/null); snap_get of any tag finds bytes inside the file or nothing;
 * every
 * section snap_section_at lists lies inside the file, is what snap_get
 * finds for its (tag, index), copies with snap_get_exact at its size and
 * is refused at any other; snap_count over every tag adds up to the
 * header's count; and writing the sections again gives a file of the same
 * size that parses to the same sections, byte for byte the input when its
 * sections were already in (tag, index) order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "snap_file.h"

#define NAME	      "fuzz"
#define PREFIX	      "snapshot 'fuzz': "
#define MODE_RESEAL   0x01
#define OFF_BODY_LEN  24
#define OFF_BODY_CRC  32
#define OFF_HDR_CRC   36
#define BITS_PER_BYTE 8

/* Harness state: where snap_describe writes, opened once. */
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		abort();
	return 0;
}

static void set_le(uint8_t *p, uint64_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (i * BITS_PER_BYTE));
}

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, len);
}

/* reseal: body length and checksums that match (b, len), a header permitting. */
static void reseal(uint8_t *b, size_t len)
{
	if (len < SNAP_HEADER_BYTES)
		return;
	set_le(b + OFF_BODY_LEN, len - SNAP_HEADER_BYTES, sizeof(uint64_t));
	set_le(b + OFF_BODY_CRC, crc(b + SNAP_HEADER_BYTES, len - SNAP_HEADER_BYTES),
	       sizeof(uint32_t));
	set_le(b + OFF_HDR_CRC, crc(b, OFF_HDR_CRC), sizeof(uint32_t));
}

/* check_sections: every section of (r) as the header comment says; whether they came sorted. */
static int check_sections(const struct snap_reader *r)
{
	char err[SNAP_ERR_MAX];
	unsigned int total = 0;
	size_t last_offset = 0;
	int sorted = 1;

	for (uint32_t i = 0; i < r->nsections; i++) {
		const struct snap_section *s = snap_section_at(r, i);
		const void *data;
		size_t len;
		uint8_t *copy;

		FZ_CHECK(s != NULL, "section %u of %u missing", i, r->nsections);
		FZ_CHECK(s->offset <= r->size && s->len <= r->size - s->offset,
			 "section %u at %zu+%zu outside %zu bytes", i, s->offset, s->len, r->size);
		FZ_CHECK(s->offset % SNAP_ALIGN == 0, "section %u at unaligned %zu", i, s->offset);
		FZ_CHECK(snap_get(r, s->tag, s->index, &data, &len) == 0, "snap_get %u %u", s->tag,
			 s->index);
		FZ_CHECK((const uint8_t *)data == r->bytes + s->offset && len == s->len,
			 "snap_get %u %u found other bytes", s->tag, s->index);
		copy = malloc(len + 1);
		FZ_CHECK(copy != NULL, "malloc");
		FZ_CHECK(snap_get_exact(r, s->tag, s->index, copy, len, err, sizeof(err)) == 0,
			 "snap_get_exact at its size: %s", err);
		FZ_CHECK(len == 0 || memcmp(copy, data, len) == 0,
			 "snap_get_exact copied other bytes");
		FZ_CHECK(snap_get_exact(r, s->tag, s->index, copy, len + 1, err, sizeof(err)) ==
				 -EINVAL &&
			     strncmp(err, PREFIX "section ", strlen(PREFIX "section ")) == 0,
			 "snap_get_exact at another size: '%s'", err);
		free(copy);
		if (i > 0 && s->offset < last_offset)
			sorted = 0;
		last_offset = s->offset;
	}
	FZ_CHECK(snap_section_at(r, r->nsections) == NULL, "a section past the count");
	for (uint32_t tag = 0; tag <= SNAP_TAG_COUNT_; tag++) {
		static const uint32_t probes[] = {0, 1, UINT32_MAX};

		total += snap_count(r, tag);
		/* What a restore might ask for: found inside the file, or not at all. */
		for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
			const void *data;
			size_t len;

			if (snap_get(r, tag, probes[k], &data, &len) < 0)
				continue;
			FZ_CHECK(snap_count(r, tag) > 0, "snap_get found an uncounted tag %u", tag);
			FZ_CHECK((const uint8_t *)data >= r->bytes &&
				     len <= r->size - (size_t)((const uint8_t *)data - r->bytes),
				 "snap_get %u %u outside the file", tag, probes[k]);
		}
	}
	FZ_CHECK(total == r->nsections, "snap_count adds up to %u of %u", total, r->nsections);
	return sorted;
}

/* rewrite: the sections of (r) through the writer again, compared with (orig, len). */
static void rewrite(const struct snap_reader *r, const uint8_t *orig, size_t len, int sorted)
{
	struct snap_writer w;
	struct snap_reader again;
	char err[SNAP_ERR_MAX];
	const void *img;
	size_t img_len;

	snap_writer_init(&w);
	for (uint32_t i = 0; i < r->nsections; i++) {
		const struct snap_section *s = snap_section_at(r, i);

		FZ_CHECK(snap_put(&w, s->tag, s->index, r->bytes + s->offset, s->len) == 0,
			 "the writer refuses section %u %u of an accepted file", s->tag, s->index);
	}
	FZ_CHECK(snap_writer_image(&w, &img, &img_len) == 0, "snap_writer_image");
	FZ_CHECK(img_len == len, "rewritten to %zu bytes from %zu", img_len, len);
	FZ_CHECK(!sorted || memcmp(img, orig, len) == 0, "a sorted file rewrites differently");
	FZ_CHECK(snap_parse(&again, img, img_len, NAME, err, sizeof(err)) == 0,
		 "the rewritten file is refused: %s", err);
	FZ_CHECK(again.nsections == r->nsections, "rewritten with %u sections of %u",
		 again.nsections, r->nsections);
	for (uint32_t i = 0; i < r->nsections; i++) {
		const struct snap_section *a = snap_section_at(r, i),
					  *b = snap_section_at(&again, i);

		FZ_CHECK(a->tag == b->tag && a->index == b->index && a->len == b->len &&
			     (a->len == 0 ||
			      memcmp(r->bytes + a->offset, again.bytes + b->offset, a->len) == 0),
			 "section %u differs after a rewrite", i);
	}
	snap_reader_free(&again);
	snap_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_reader r;
	char err[SNAP_ERR_MAX] = "";
	uint8_t mode, *file;
	size_t len;
	int ret;

	if (size == 0)
		return 0;
	mode = data[0];
	len = size - 1;
	/* One byte at least, so that an empty file is a real buffer. */
	file = malloc(len + 1);
	FZ_CHECK(file != NULL, "malloc");
	memcpy(file, data + 1, len);
	if (mode & MODE_RESEAL)
		reseal(file, len);

	ret = snap_parse(&r, file, len, NAME, err, sizeof(err));
	if (ret < 0) {
		FZ_CHECK(ret == -EINVAL, "refused with %d", ret);
		FZ_CHECK(strncmp(err, PREFIX, strlen(PREFIX)) == 0 && err[strlen(PREFIX)] != '\0',
			 "refused with message '%s'", err);
		FZ_CHECK(r.bytes == NULL && r.sections == NULL && r.name == NULL &&
			     r.nsections == 0,
			 "a refused file left the reader loaded");
		snap_reader_free(&r);
		free(file);
		return 0;
	}
	FZ_CHECK(r.format_version == SNAP_FORMAT_VERSION && r.arch == SNAP_ARCH_X86_64,
		 "accepted version %u arch %u", r.format_version, r.arch);
	FZ_CHECK(r.size == len && memcmp(r.bytes, file, len) == 0, "the reader holds other bytes");
	FZ_CHECK(r.nsections <= SNAP_MAX_SECTIONS, "%u sections", r.nsections);
	snap_describe(&r, devnull);
	rewrite(&r, file, len, check_sections(&r));
	snap_reader_free(&r);
	free(file);
	return 0;
}
