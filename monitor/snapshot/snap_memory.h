/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_memory.h: a snapshot's guest-memory file. It is guest RAM byte for
 * byte, the region below the MMIO gap first and the one above it next (the
 * layout Firecracker's memory file has), and sparse: a page of zeros is a
 * hole, so a guest that touched little costs little disk and time.
 */
#ifndef EMBER_SNAP_MEMORY_H
#define EMBER_SNAP_MEMORY_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_dirty;

/* What snap_memory_write did, for the create report and the bench. */
struct snap_memory_stats {
	uint64_t bytes;	     /* the file's length: all of guest RAM */
	uint64_t written;    /* bytes of non-zero pages written */
	uint64_t elapsed_ns; /* scanning and writing, fsync included */
};

/*
 * snap_memory_write: (vm)'s RAM into (path): written to "<path>.tmp",
 * flushed, renamed over (path), so (path) is never half written. With
 * (only) NULL every non-zero page is written; else exactly the pages set in
 * (only), zero pages too (a diff: a hole there means "unchanged", so a page
 * the guest cleared must be written as zeros). The VM must be paused.
 * Returns 0 or -errno with one line in (err) naming the file and the
 * failing step; on failure nothing is left behind.
 */
int snap_memory_write(const struct vm *vm, const struct vm_dirty *only, const char *path,
		      struct snap_memory_stats *stats, char *err, size_t errsz);

/*
 * snap_memory_open: (path) opened read-only for a VM of (mem_bytes): a
 * regular file at least that long ("memory file 'X' is N bytes, the
 * snapshot's guest has M"). Returns the fd or -errno with (err).
 */
int snap_memory_open(const char *path, uint64_t mem_bytes, char *err, size_t errsz);

#endif /* EMBER_SNAP_MEMORY_H */
