/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_file.h: the VM-state file of a snapshot: a checksummed container of
 * tagged sections. This layer knows the container, not what the sections
 * hold: their payloads are opaque bytes that the save and restore code
 * encodes and decodes. The guest memory is not in here (it has a file of
 * its own); SNAP_TAG_MEMORY records its layout.
 *
 * The format, version 1. Every integer is little-endian; offsets in bytes.
 *
 *   header (SNAP_HEADER_BYTES = 40):
 *      0  char magic[8]        "EMBERSNP", no NUL
 *      8  u32  format_version  SNAP_FORMAT_VERSION
 *     12  u32  arch            SNAP_ARCH_X86_64
 *     16  u32  nsections       at most SNAP_MAX_SECTIONS
 *     20  u32  flags           none are defined: must be 0
 *     24  u64  body_bytes      exactly the bytes after the header
 *     32  u32  body_crc32      CRC-32 (zlib's crc32) of the whole body
 *     36  u32  header_crc32    CRC-32 of header bytes 0..35
 *
 *   body: nsections sections back to back, each
 *      0  u32  tag             an enum snap_tag
 *      4  u32  index           which one of that tag (vCPU number, virtio slot, ...)
 *      8  u64  len             payload bytes
 *     16  u8   payload[len]
 *          zero bytes up to the next multiple of SNAP_ALIGN
 *
 * The body starts at a multiple of SNAP_ALIGN and every section is padded
 * to one, so each payload sits at a multiple of SNAP_ALIGN in the file.
 * A (tag, index) pair appears at most once; sections may come in any order.
 *
 * Only the magic and the version word are fixed for all versions: a reader
 * checks them before anything else, so a file of another version is named
 * as such, not as corrupt. Version 1 readers refuse what they do not know:
 * a tag outside enum snap_tag, a flag, an arch. Adding a tag or changing the
 * meaning of a payload means a new format version.
 *
 * The whole file is read into memory and validated before any section is
 * handed out, so a section the reader returns lies inside the file.
 */
#ifndef EMBER_SNAP_FILE_H
#define EMBER_SNAP_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SNAP_MAGIC	    "EMBERSNP" /* 8 bytes, no NUL in file */
#define SNAP_MAGIC_BYTES    8
#define SNAP_FORMAT_VERSION 1
#define SNAP_ARCH_X86_64    1
#define SNAP_MAX_FILE_BYTES (64u << 20) /* refuse bigger state files */
#define SNAP_MAX_SECTIONS   4096
#define SNAP_HEADER_BYTES   40
#define SNAP_SECTION_BYTES  16 /* a section's header: tag, index, len */
#define SNAP_ALIGN	    8  /* sections are padded to a multiple of this */

/* The size of an error message buffer that holds every message (paths are cut to fit). */
#define SNAP_ERR_MAX 1024

enum snap_tag {
	SNAP_TAG_INFO = 1,
	SNAP_TAG_CONFIG,
	SNAP_TAG_VCPU,
	SNAP_TAG_VM_CLOCK,
	SNAP_TAG_IOAPIC,
	SNAP_TAG_PIC,
	SNAP_TAG_PIT,
	SNAP_TAG_RTC,
	SNAP_TAG_SERIAL,
	SNAP_TAG_I8042,
	SNAP_TAG_BOOT_TIMER,
	SNAP_TAG_VIRTIO,
	SNAP_TAG_MEMORY,
	SNAP_TAG_GENERATION,
	SNAP_TAG_PIT_TIMER,
	SNAP_TAG_COUNT_ /* one past last */
};

/* snap_tag_name: "vcpu", "ioapic", ... for (tag); "unknown" for anything else. */
const char *snap_tag_name(uint32_t tag);

/*
 * A state file being built: the header's room and then the body, in one
 * buffer that grows as sections are added. A failed snap_put sticks: the
 * writer then refuses to produce a file that would miss a section.
 */
struct snap_writer {
	uint8_t *buf;	    /* SNAP_HEADER_BYTES, then the body; NULL until first needed */
	size_t len;	    /* bytes used in (buf), header included */
	size_t cap;	    /* bytes allocated */
	uint32_t nsections; /* sections in the body */
	int error;	    /* 0, or the -errno of the first failed snap_put */
};

/* snap_writer_init: an empty writer; it allocates nothing until the first section. */
void snap_writer_init(struct snap_writer *w);

/*
 * snap_put: append the section (tag, index) with the (len) bytes at (data)
 * (which may be NULL when len is 0); the bytes are copied. Returns 0;
 * -EINVAL when (tag) is not an enum snap_tag, when (len) would take the
 * file past SNAP_MAX_FILE_BYTES or when SNAP_MAX_SECTIONS are already in;
 * -EEXIST when (tag, index) is already in; -ENOMEM. After a failure every
 * later snap_put and the commit return the same error.
 */
int snap_put(struct snap_writer *w, uint32_t tag, uint32_t index, const void *data, size_t len);

/*
 * snap_writer_image: complete the header of what (w) holds and point
 * (*image, *len) at the whole file, exactly what snap_writer_commit writes
 * (for tests, and anything that wants the file in memory). Valid until the
 * next snap_put or snap_writer_free. Returns 0, the sticky error of a failed
 * snap_put, or -ENOMEM.
 */
int snap_writer_image(struct snap_writer *w, const void **image, size_t *len);

/*
 * snap_writer_commit: write the file to (path) so that (path) holds either
 * what it held before or the whole new file, never a part: any stale
 * "<path>.tmp" is removed, "<path>.tmp" is created (mode 0600, O_EXCL, so
 * nothing that exists is ever opened for writing), written, fsync'd and
 * renamed over (path); then (path)'s directory is synced, where it can be
 * opened, so the rename itself survives a host crash (a failure there is
 * not reported: the file is complete and in place by then). On any failure
 * the temporary file is removed, (path) is untouched and (err, errsz) gets
 * one line "snapshot 'PATH': <step>: <reason>". Returns 0 or -errno (the
 * sticky error of a failed snap_put). Runs under the VMM thread's seccomp
 * filter (monitor/seccomp_gen.c lists what it needs).
 */
int snap_writer_commit(struct snap_writer *w, const char *path, char *err, size_t errsz);

/* snap_writer_free: release (w)'s buffer; (w) is then an empty writer again. */
void snap_writer_free(struct snap_writer *w);

/* One validated section, by its place in the reader's bytes. */
struct snap_section {
	uint32_t tag;
	uint32_t index;
	size_t offset; /* of the payload, from the start of the file */
	size_t len;
};

/*
 * A validated state file. (sections) is sorted by (tag, index). Every field
 * is zero (and the pointers NULL) when nothing is loaded, also after a
 * failed snap_read_file or snap_parse.
 */
struct snap_reader {
	uint8_t *bytes;		       /* the whole file, owned */
	size_t size;		       /* bytes in (bytes) */
	char *name;		       /* the path or name messages use, owned */
	struct snap_section *sections; /* nsections of them, owned */
	uint32_t format_version, arch, nsections;
};

/*
 * snap_read_file: read (path) into (r) and validate all of it: a regular
 * file (a FIFO or a device is refused, never waited on), at most
 * SNAP_MAX_FILE_BYTES, then as snap_parse. On failure (err, errsz) gets one
 * line "snapshot 'PATH': <problem>" and (r) is empty. Returns 0 or -errno:
 * that of open(2) or read(2), -EISDIR for a directory, -EFBIG for a file
 * over the limit, -EINVAL for any other file type and for bad content.
 */
int snap_read_file(struct snap_reader *r, const char *path, char *err, size_t errsz);

/*
 * snap_parse: validate the (len) bytes at (buf) as a state file and load a
 * copy into (r); (name) stands for the file in messages (NULL: "(in
 * memory)"). Checked in this order, each with its own message:
 * truncation, magic, format version ("unsupported snapshot format version
 * N (this ember reads 1)"), header checksum, arch, flags, section count,
 * body length ("truncated", or trailing bytes), body checksum ("checksum
 * mismatch: the file is corrupted"), then each section: its header and
 * payload inside the body, a known tag, zero padding, no (tag, index)
 * twice, as many as the header says. Returns 0, -EFBIG when (len) is over
 * SNAP_MAX_FILE_BYTES, -EINVAL for bad content, -ENOMEM; on failure (r)
 * is empty and (err) says why.
 */
int snap_parse(struct snap_reader *r, const void *buf, size_t len, const char *name, char *err,
	       size_t errsz);

/*
 * snap_get: find section (tag, index) in (r). Returns 0 with (*data, *len)
 * pointing into the reader's bytes (valid until snap_reader_free; the
 * payload is SNAP_ALIGN-aligned in memory too), or -ENOENT.
 */
int snap_get(const struct snap_reader *r, uint32_t tag, uint32_t index, const void **data,
	     size_t *len);

/*
 * snap_get_exact: copy section (tag, index) into (out), which holds exactly
 * (len) bytes: the size a payload of that kind must have. Returns 0, or
 * -EINVAL with "snapshot 'NAME': no section ioapic 0" or "snapshot 'NAME':
 * section vcpu 1 is N bytes, expected M" in (err, errsz); (out) is then
 * untouched.
 */
int snap_get_exact(const struct snap_reader *r, uint32_t tag, uint32_t index, void *out, size_t len,
		   char *err, size_t errsz);

/* snap_count: how many sections (r) has with (tag): vCPUs, virtio slots. */
unsigned int snap_count(const struct snap_reader *r, uint32_t tag);

/*
 * snap_section_at: the (i)th section of (r) in (tag, index) order, for
 * walking every section of a tag whose indexes need not be dense. Returns
 * NULL when (i) is not below (r->nsections).
 */
const struct snap_section *snap_section_at(const struct snap_reader *r, uint32_t i);

/*
 * snap_describe: what `ember --describe-snapshot FILE` prints: the file's
 * name, format version, arch, size, then one line per section (tag name,
 * index, payload bytes, offset in the file) in (tag, index) order.
 */
void snap_describe(const struct snap_reader *r, FILE *out);

/* snap_reader_free: release what (r) holds; (r) is then empty. Safe on an empty reader. */
void snap_reader_free(struct snap_reader *r);

#endif /* EMBER_SNAP_FILE_H */
