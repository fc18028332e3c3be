/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_util.h: what every libFuzzer harness in tests/fuzz/ shares: a reader
 * that turns the fuzzer's bytes into numbers and slices (reading past the
 * end gives zeros, so every input is a valid program), log silencing, an
 * invariant check that aborts (libFuzzer then saves the input), and an fd
 * census so a harness can prove that one input left no descriptor behind.
 */
#ifndef EMBER_FUZZ_UTIL_H
#define EMBER_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry points (the harness defines them). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void fz_init(struct fz *in, const uint8_t *data, size_t size)
{
	in->p = data;
	in->n = size;
}

static inline bool fz_more(const struct fz *in)
{
	return in->n > 0;
}

uint8_t fz_u8(struct fz *in);
uint16_t fz_u16(struct fz *in);
uint32_t fz_u32(struct fz *in);
uint64_t fz_u64(struct fz *in);

/* fz_take: up to (want) bytes of the input, in place; returns how many (*out) holds. */
size_t fz_take(struct fz *in, size_t want, const uint8_t **out);

/* fz_fill: (len) bytes into (dst): from the input while it lasts, then zeros. */
void fz_fill(struct fz *in, void *dst, size_t len);

/*
 * fz_quiet_logs: format every line of the monitor's log (level debug, so the
 * formats run too) but print none: the fuzzer's own output stays readable and
 * fast. With FUZZ_LOG set in the environment they go to stderr (to see what
 * an input does). In fuzz_log.c, which only harnesses of monitor code link.
 */
void fz_quiet_logs(void);

/* fz_ignore_sigpipe: a peer that is gone is an error return, not a signal (as ember does). */
void fz_ignore_sigpipe(void);

/*
 * fz_tmpdir: a fresh private directory under $TMPDIR (or /tmp) for sockets and
 * files, removed with everything in it when the process exits. Aborts on failure.
 */
const char *fz_tmpdir(const char *tag);

/*
 * fz_fd_count: how many of the descriptors 0 .. FZ_FD_SCAN-1 are open (one
 * poll(2)). Compare counts taken at the start and the end of one input: libFuzzer
 * itself opens descriptors between inputs (the symbolizer for NEW_FUNC lines).
 */
#define FZ_FD_SCAN 256
int fz_fd_count(void);

/*
 * FZ_CHECK: an invariant of the code under test; when it fails, say which and
 * abort, so libFuzzer records the input as a crash.
 */
#define FZ_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(__FILE__, __LINE__, __VA_ARGS__);                                  \
	} while (0)

void fz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#endif /* EMBER_FUZZ_UTIL_H */
