// SPDX-License-Identifier: Apache-2.0
/* test_virtio_queue.c: split virtqueue walking, valid and hostile chains. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue.h"
#include "vq_builder.h"

#define QSIZE 16

/* Descriptor address shorthands for the case table. */
#define BUF	1ull /* a fresh buffer of the descriptor's length */
#define TABLE	2ull /* the indirect table */
#define F_N	VIRTQ_DESC_F_NEXT
#define F_W	VIRTQ_DESC_F_WRITE
#define F_I	VIRTQ_DESC_F_INDIRECT
#define RAM_END (VQB_RAM_GPA + VQB_RAM_SIZE)

struct d {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct chain_case {
	const char *name;
	bool indirect; /* negotiate INDIRECT_DESC */
	uint16_t head;
	struct d desc[4];  /* queue descriptors 0..3 */
	struct d table[4]; /* indirect table entries */
	int ret;	   /* vq_pop */
	unsigned int niov, nread;
};

static const struct chain_case cases[] = {
    {"one readable", false, 0, {{BUF, 64, 0, 0}}, {{0}}, 1, 1, 1},
    {"read, read, write",
     false,
     0,
     {{BUF, 16, F_N, 1}, {BUF, 512, F_N, 2}, {BUF, 1, F_W, 0}},
     {{0}},
     1,
     3,
     2},
    {"zero-length skipped",
     false,
     0,
     {{BUF, 16, F_N, 1}, {0, 0, F_N, 2}, {BUF, 1, F_W, 0}},
     {{0}},
     1,
     2,
     1},
    {"zero-length at a wild address", false, 0, {{0xdead0000000ull, 0, F_W, 0}}, {{0}}, 1, 0, 0},
    {"head out of the middle",
     false,
     2,
     {{0}, {0}, {BUF, 8, F_N, 3}, {BUF, 8, F_W, 0}},
     {{0}},
     1,
     2,
     1},
    {"self loop", false, 0, {{BUF, 8, F_N, 0}}, {{0}}, -EIO, 0, 0},
    {"two-descriptor loop", false, 0, {{BUF, 8, F_N, 1}, {BUF, 8, F_N, 0}}, {{0}}, -EIO, 0, 0},
    {"next out of range", false, 0, {{BUF, 8, F_N, QSIZE}}, {{0}}, -EIO, 0, 0},
    {"head out of range", false, QSIZE, {{BUF, 8, 0, 0}}, {{0}}, -EIO, 0, 0},
    {"address below RAM", false, 0, {{0x1000, 8, 0, 0}}, {{0}}, -EIO, 0, 0},
    {"address past RAM", false, 0, {{RAM_END, 8, 0, 0}}, {{0}}, -EIO, 0, 0},
    {"buffer straddles RAM end", false, 0, {{RAM_END - 4, 8, 0, 0}}, {{0}}, -EIO, 0, 0},
    {"address + len wraps", false, 0, {{UINT64_MAX - 3, 8, 0, 0}}, {{0}}, -EIO, 0, 0},
    {"huge length", false, 0, {{VQB_RAM_GPA, UINT32_MAX, 0, 0}}, {{0}}, -EIO, 0, 0},
    {"readable after writable",
     false,
     0,
     {{BUF, 8, F_W | F_N, 1}, {BUF, 8, 0, 0}},
     {{0}},
     -EIO,
     0,
     0},
    {"zero-length readable after writable",
     false,
     0,
     {{BUF, 8, F_W | F_N, 1}, {0, 0, 0, 0}},
     {{0}},
     -EIO,
     0,
     0},
    {"indirect",
     true,
     0,
     {{TABLE, 48, F_I, 0}},
     {{BUF, 16, F_N, 1}, {BUF, 512, F_N | F_W, 2}, {BUF, 1, F_W, 0}},
     1,
     3,
     1},
    {"direct then indirect",
     true,
     0,
     {{BUF, 16, F_N, 1}, {TABLE, 32, F_I, 0}},
     {{BUF, 512, F_N | F_W, 1}, {BUF, 1, F_W, 0}},
     1,
     3,
     1},
    {"indirect WRITE flag ignored",
     true,
     0,
     {{TABLE, 16, F_I | F_W, 0}},
     {{BUF, 16, 0, 0}},
     1,
     1,
     1},
    {"indirect not negotiated", false, 0, {{TABLE, 16, F_I, 0}}, {{BUF, 16, 0, 0}}, -EIO, 0, 0},
    {"indirect with NEXT",
     true,
     0,
     {{TABLE, 16, F_I | F_N, 1}, {BUF, 8, 0, 0}},
     {{BUF, 16, 0, 0}},
     -EIO,
     0,
     0},
    {"indirect length not x16", true, 0, {{TABLE, 24, F_I, 0}}, {{BUF, 16, 0, 0}}, -EIO, 0, 0},
    {"indirect length 0", true, 0, {{TABLE, 0, F_I, 0}}, {{0}}, -EIO, 0, 0},
    {"indirect table outside RAM", true, 0, {{RAM_END - 16, 32, F_I, 0}}, {{0}}, -EIO, 0, 0},
    {"nested indirect",
     true,
     0,
     {{TABLE, 32, F_I, 0}},
     {{BUF, 8, F_N, 1}, {TABLE, 16, F_I, 0}},
     -EIO,
     0,
     0},
    {"indirect loop",
     true,
     0,
     {{TABLE, 32, F_I, 0}},
     {{BUF, 8, F_N, 1}, {BUF, 8, F_N, 0}},
     -EIO,
     0,
     0},
    {"indirect next out of table",
     true,
     0,
     {{TABLE, 32, F_I, 0}},
     {{BUF, 8, F_N, 1}, {BUF, 8, F_N, 2}},
     -EIO,
     0,
     0},
    {"indirect buffer outside RAM",
     true,
     0,
     {{TABLE, 16, F_I, 0}},
     {{RAM_END, 8, 0, 0}},
     -EIO,
     0,
     0},
    {"indirect order",
     true,
     0,
     {{TABLE, 32, F_I, 0}},
     {{BUF, 8, F_W | F_N, 1}, {BUF, 8, 0, 0}},
     -EIO,
     0,
     0},
};

static uint64_t addr_of(struct vqb *b, uint64_t a, uint32_t len, uint64_t table)
{
	if (a == BUF)
		return vqb_alloc(b, len);
	if (a == TABLE)
		return table;
	return a;
}

static void test_chain_table(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct chain_case *k = &cases[c];
		struct virtq_chain chain;
		struct virtq q;
		struct vqb b;
		uint64_t table;
		uint64_t want_read = 0, want_write = 0;
		int rc;

		print_message("case: %s\n", k->name);
		vqb_init(&b, QSIZE);
		table = vqb_alloc(&b, 16 * 4);
		for (uint16_t i = 0; i < 4; i++) {
			const struct d *t = &k->table[i];
			vqb_desc(&b, table, i, addr_of(&b, t->addr, t->len, table), t->len,
				 t->flags, t->next);
		}
		for (uint16_t i = 0; i < 4; i++) {
			const struct d *t = &k->desc[i];
			vqb_desc(&b, b.desc, i, addr_of(&b, t->addr, t->len, table), t->len,
				 t->flags, t->next);
		}
		assert_int_equal(vqb_queue(&b, &q, QSIZE, false, k->indirect), 0);
		vqb_publish(&b, k->head);
		rc = vq_pop(&q, &chain);
		assert_int_equal(rc, k->ret);
		if (rc == 1) {
			assert_int_equal(chain.head, k->head);
			assert_int_equal(chain.niov, k->niov);
			assert_int_equal(chain.nread, k->nread);
			for (unsigned int i = 0; i < chain.niov; i++) {
				/* every segment is inside guest RAM */
				uint8_t *p = chain.iov[i].iov_base;
				assert_true(p >= b.ram &&
					    p + chain.iov[i].iov_len <= b.ram + VQB_RAM_SIZE);
				if (i < chain.nread)
					want_read += chain.iov[i].iov_len;
				else
					want_write += chain.iov[i].iov_len;
			}
			assert_int_equal(chain.read_len, want_read);
			assert_int_equal(chain.write_len, want_write);
			assert_int_equal(vq_pop(&q, &chain), 0);
		} else {
			assert_true(q.broken);
			assert_true(q.log.count > 0);
			/* stays broken until reset */
			assert_int_equal(vq_pop(&q, &chain), -EIO);
		}
		vqb_free(&b);
	}
}

static void test_setup_rules(void **state)
{
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, 6); /* not a power of two */
	assert_int_equal(vqb_queue(&b, &q, 16, false, false), -EINVAL);
	assert_false(q.ready);
	vqb_free(&b);

	vqb_init(&b, 32); /* above max */
	assert_int_equal(vqb_queue(&b, &q, 16, false, false), -EINVAL);
	vqb_free(&b);

	vqb_init(&b, 0);
	assert_int_equal(vqb_queue(&b, &q, 16, false, false), -EINVAL);
	vqb_free(&b);

	vqb_init(&b, 16);
	assert_int_equal(vqb_queue(&b, &q, 16, false, false), 0);
	assert_true(q.ready);

	static const struct {
		uint64_t d, a, u;
	} bad[] = {
	    {8, 0, 0}, /* desc not 16-aligned */
	    {0, 1, 0}, /* avail not 2-aligned */
	    {0, 0, 2}, /* used not 4-aligned */
	};
	for (size_t i = 0; i < 3; i++) {
		vq_init(&q, "test", 0, 16);
		q.size = 16;
		q.desc_gpa = b.desc + bad[i].d;
		q.avail_gpa = b.avail + bad[i].a;
		q.used_gpa = b.used + bad[i].u;
		assert_int_equal(vq_enable(&q, &b.gm), -EINVAL);
		assert_false(q.ready);
	}
	/* rings that run past the end of RAM, or sit outside it */
	static const uint64_t outside[] = {RAM_END - 128, 0, RAM_END, UINT64_MAX & ~15ull};
	for (size_t i = 0; i < 4; i++) {
		vq_init(&q, "test", 0, 16);
		q.size = 16;
		q.desc_gpa = b.desc;
		q.avail_gpa = b.avail;
		q.used_gpa = b.used;
		if (i % 3 == 0)
			q.desc_gpa = outside[i];
		else if (i % 3 == 1)
			q.avail_gpa = outside[i];
		else
			q.used_gpa = outside[i];
		assert_int_equal(vq_enable(&q, &b.gm), -EINVAL);
	}
	/* not ready: nothing to pop, push is ignored */
	vq_init(&q, "test", 0, 16);
	struct virtq_chain chain = {0};
	assert_int_equal(vq_pop(&q, &chain), -ENODEV);
	vq_push(&q, &chain, 0);
	assert_false(vq_should_signal(&q));
	vqb_free(&b);
}

static void test_push_and_used(void **state)
{
	static const uint32_t lens[] = {16, 100, 1};
	static const bool write[] = {false, true, true};
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;
	uint32_t id, len;

	(void)state;
	vqb_init(&b, QSIZE);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_publish(&b, vqb_chain(&b, 3, 3, lens, write, NULL));
	assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(chain.head, 3);
	vq_push(&q, &chain, 1000); /* clamped to what is writable */
	assert_int_equal(vqb_used_idx(&b), 1);
	vqb_used_elem(&b, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 101);
	vqb_free(&b);
}

/* page_bit: whether the page at offset (off) of region 0 is set in (bits). */
static bool page_bit(const uint64_t *bits, uint64_t off)
{
	uint64_t page = off / GMEM_PAGE_BYTES;
	return (bits[page / GMEM_BITS_PER_WORD] >> (page % GMEM_BITS_PER_WORD)) & 1;
}

/*
 * With dirty tracking on, the queue marks what the device may write: every
 * writable buffer of a chain it pops, and the used ring when it publishes;
 * never the readable buffers.
 */
static void test_dirty_marks(void **state)
{
	static const uint32_t lens[] = {16, 100};
	static const bool write[] = {false, true};
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	assert_int_equal(gmem_track_dirty(&b.gm, false), 0);
	uint16_t head = vqb_chain(&b, 0, 2, lens, write, NULL);
	vqb_publish(&b, head);
	size_t words = gmem_dirty_words(&b.gm.regions[0]);
	uint64_t *bits = calloc(words, sizeof(*bits));
	assert_non_null(bits);
	assert_int_equal(vq_pop(&q, &chain), 1);
	gmem_take_dirty(&b.gm, 0, bits);
	uint64_t rd = (uint64_t)((uint8_t *)chain.iov[0].iov_base - b.gm.regions[0].host);
	uint64_t wr = (uint64_t)((uint8_t *)chain.iov[1].iov_base - b.gm.regions[0].host);
	assert_true(page_bit(bits, wr));
	if (rd / GMEM_PAGE_BYTES != wr / GMEM_PAGE_BYTES)
		assert_false(page_bit(bits, rd));
	assert_false(page_bit(bits, q.used_gpa - b.gm.regions[0].gpa)); /* nothing published yet */
	memset(bits, 0, words * sizeof(*bits));
	vq_push(&q, &chain, 1);
	gmem_take_dirty(&b.gm, 0, bits);
	assert_true(page_bit(bits, q.used_gpa - b.gm.regions[0].gpa));
	free(bits);
	gmem_untrack_dirty(&b.gm);
	vqb_free(&b);
}

static void test_chain_copy(void **state)
{
	static const uint32_t lens[] = {3, 5, 4, 6};
	static const bool write[] = {false, false, true, true};
	uint8_t out[8], in[10] = "abcdefghij";
	struct virtq_chain chain;
	uint64_t gpas[4];
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_publish(&b, vqb_chain(&b, 0, 4, lens, write, gpas));
	memcpy(vqb_host(&b, gpas[0]), "012", 3);
	memcpy(vqb_host(&b, gpas[1]), "34567", 5);
	assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(vq_chain_read(&chain, 1, out, 6), 6);
	assert_memory_equal(out, "123456", 6);
	assert_int_equal(vq_chain_read(&chain, 6, out, 8), 2); /* short at the end */
	assert_int_equal(vq_chain_write(&chain, 2, in, 10), 8);
	assert_memory_equal(vqb_host(&b, gpas[2]) + 2, "ab", 2);
	assert_memory_equal(vqb_host(&b, gpas[3]), "cdefgh", 6);
	vqb_free(&b);
}

/* The longest legal chain is the queue size; one more descriptor is a loop. */
static void test_chain_length_bound(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;
	uint64_t table;

	(void)state;
	vqb_init(&b, QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vqb_desc(&b, b.desc, i, vqb_alloc(&b, 8), 8, i + 1 < QSIZE ? F_N : 0, i + 1);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, true), 0);
	vqb_publish(&b, 0);
	assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(chain.niov, QSIZE);

	/* indirect: a table of QSIZE entries is fine, QSIZE + 1 is not */
	for (unsigned int n = QSIZE; n <= QSIZE + 1; n++) {
		table = vqb_alloc(&b, 16ull * n);
		for (uint16_t i = 0; i < n; i++)
			vqb_desc(&b, table, i, vqb_alloc(&b, 8), 8, i + 1u < n ? F_N : 0, i + 1);
		vqb_desc(&b, b.desc, 0, table, 16 * n, F_I, 0);
		vqb_publish(&b, 0);
		assert_int_equal(vq_pop(&q, &chain), n == QSIZE ? 1 : -EIO);
	}
	vqb_free(&b);
}

static void test_avail_idx_jump(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	vqb_desc(&b, b.desc, 0, vqb_alloc(&b, 8), 8, 0, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_set_avail_idx(&b, QSIZE); /* exactly full: fine */
	for (int i = 0; i < QSIZE; i++) {
		assert_int_equal(vq_pop(&q, &chain), 1);
		vq_push(&q, &chain, 0);
	}
	assert_int_equal(vq_pop(&q, &chain), 0);
	vqb_set_avail_idx(&b, 2 * QSIZE + 1); /* one more than the queue can hold */
	assert_int_equal(vq_pop(&q, &chain), -EIO);
	assert_true(q.broken);
	/* a driver moving idx backwards is the same jump, modulo 2^16 */
	vq_reset(&q);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_set_avail_idx(&b, 0xffff);
	assert_int_equal(vq_pop(&q, &chain), -EIO);
	vqb_free(&b);
}

static void test_index_wrap(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;
	uint32_t id, len;

	(void)state;
	vqb_init(&b, QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vqb_desc(&b, b.desc, i, vqb_alloc(&b, 8), 8, F_W, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, true, false), 0);
	/* Both sides start just below the wrap, as after 65534 requests. */
	q.last_avail = q.used_idx = 65534;
	vqb_set_avail_idx(&b, 65534);
	for (uint16_t i = 0; i < 4; i++)
		vqb_publish(&b, i);
	assert_int_equal(b.avail_idx, 2);
	for (uint16_t i = 0; i < 4; i++) {
		assert_int_equal(vq_pop(&q, &chain), 1);
		assert_int_equal(chain.head, i);
		vq_push(&q, &chain, 8);
	}
	assert_int_equal(vq_pop(&q, &chain), 0);
	assert_int_equal(vqb_used_idx(&b), 2);
	vqb_used_elem(&b, 65535, &id, &len);
	assert_int_equal(id, 1);
	vqb_used_elem(&b, 1, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 8);
	assert_int_equal(vqb_avail_event(&b), 2);
	vqb_free(&b);
}

static void test_event_idx(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vqb_desc(&b, b.desc, i, vqb_alloc(&b, 8), 8, F_W, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, true, false), 0);
	assert_false(vq_should_signal(&q)); /* nothing pushed yet */

	/* empty pop asks for a notification at the next entry */
	assert_int_equal(vq_pop(&q, &chain), 0);
	assert_int_equal(vqb_avail_event(&b), 0);
	for (uint16_t i = 0; i < 6; i++)
		vqb_publish(&b, i);
	for (int i = 0; i < 6; i++)
		assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(vq_pop(&q, &chain), 0);
	assert_int_equal(vqb_avail_event(&b), 6);

	vqb_set_used_event(&b, 0);
	vq_push(&q, &chain, 0); /* used idx 1: first signal always goes */
	assert_true(vq_should_signal(&q));
	vq_push(&q, &chain, 0); /* used idx 2, driver asked at 0: already past */
	assert_false(vq_should_signal(&q));
	assert_false(vq_should_signal(&q)); /* nothing new */
	vqb_set_used_event(&b, 3);
	vq_push(&q, &chain, 0); /* 3: not yet */
	assert_false(vq_should_signal(&q));
	vq_push(&q, &chain, 0); /* 4: crossed 3 */
	assert_true(vq_should_signal(&q));
	vqb_set_used_event(&b, 4);
	vq_push(&q, &chain, 0);
	vq_push(&q, &chain, 0); /* batch of two crossing 4 */
	assert_true(vq_should_signal(&q));
	vqb_free(&b);
}

static void test_no_interrupt_flag(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	vqb_desc(&b, b.desc, 0, vqb_alloc(&b, 8), 8, F_W, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_publish(&b, 0);
	vqb_publish(&b, 0);
	assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(vq_pop(&q, &chain), 1);
	vqb_set_avail_flags(&b, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vq_push(&q, &chain, 0);
	assert_false(vq_should_signal(&q));
	vqb_set_avail_flags(&b, 0);
	vq_push(&q, &chain, 0);
	assert_true(vq_should_signal(&q));
	vqb_free(&b);
}

/* A chain popped before a reset is never pushed into the rings set up after it. */
static void test_reset_mid_request(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	vqb_desc(&b, b.desc, 0, vqb_alloc(&b, 8), 8, F_W, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_publish(&b, 0);
	assert_int_equal(vq_pop(&q, &chain), 1);
	vq_reset(&q);
	assert_false(q.ready);
	assert_int_equal(q.size, QSIZE);
	vq_push(&q, &chain, 8); /* not ready: ignored */
	assert_int_equal(vqb_used_idx(&b), 0);
	q.size = QSIZE;
	q.desc_gpa = b.desc;
	q.avail_gpa = b.avail;
	q.used_gpa = b.used;
	assert_int_equal(vq_enable(&q, &b.gm), 0);
	vq_push(&q, &chain, 8); /* stale epoch: ignored */
	assert_int_equal(vqb_used_idx(&b), 0);
	vqb_free(&b);
}

/* The same problem twice: counted twice, logged once (the bit stays across resets). */
static void test_rate_limit(void **state)
{
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	vqb_desc(&b, b.desc, 0, vqb_alloc(&b, 8), 8, F_N, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_publish(&b, 0);
	assert_int_equal(vq_pop(&q, &chain), -EIO);
	vq_reset(&q);
	q.size = QSIZE;
	q.desc_gpa = b.desc;
	q.avail_gpa = b.avail;
	q.used_gpa = b.used;
	assert_int_equal(vq_enable(&q, &b.gm), 0);
	assert_int_equal(vq_pop(&q, &chain), -EIO);
	assert_int_equal(q.log.count, 2);
	assert_int_equal(q.log.logged, 1u << VQ_ERR_LOOP);
	vqb_free(&b);
}

/* enable_at: a fresh queue (size QSIZE) over (gm) with the given ring gpas. */
static int enable_at(struct virtq *q, const struct gmem *gm, uint64_t desc, uint64_t avail,
		     uint64_t used, bool event_idx)
{
	vq_init(q, "test", 0, QSIZE);
	q->size = QSIZE;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	return vq_enable(q, gm);
}

/* The used ring is refused over the descriptor table or the available ring. */
static void test_used_ring_overlap(void **state)
{
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	static const struct {
		int64_t from_desc, from_avail; /* used ring offset from one of them */
		int want;
	} layouts[] = {
	    {0, -1, -EINVAL},			   /* used == desc */
	    {(int64_t)VIRTQ_DESC_BYTES(QSIZE) - 4, -1, -EINVAL}, /* last descriptor's tail */
	    {(int64_t)VIRTQ_DESC_BYTES(QSIZE), -1, 0},	   /* right after the table */
	    {-1, 0, -EINVAL},			   /* used == avail */
	    {-1, (int64_t)VIRTQ_AVAIL_BYTES(QSIZE) - 2, -EINVAL}, /* over used_event */
	    {-1, (int64_t)VIRTQ_AVAIL_BYTES(QSIZE) + 2, 0},	    /* right after (4-aligned) */
	};
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		uint64_t used = layouts[i].from_desc >= 0 ? b.desc + (uint64_t)layouts[i].from_desc
							  : b.avail + (uint64_t)layouts[i].from_avail;
		print_message("used ring at desc%+lld / avail%+lld\n",
			      (long long)layouts[i].from_desc, (long long)layouts[i].from_avail);
		assert_int_equal(enable_at(&q, &b.gm, b.desc, b.avail, used, false),
				 layouts[i].want);
		assert_int_equal(q.ready, layouts[i].want == 0);
		if (layouts[i].want != 0)
			assert_true(q.log.logged & (1u << VQ_ERR_SETUP));
	}
	vqb_free(&b);
}

/*
 * used_event and avail_event belong to the rings: a ring whose entries fit
 * but whose event word would lie past the end of RAM is refused, and one
 * that ends exactly at the end of RAM gets its avail_event written there.
 */
static void test_event_words_inside_ram(void **state)
{
	const uint64_t avail_no_event = 4 + 2 * QSIZE, used_no_event = 4 + 8 * QSIZE;
	struct virtq_chain chain;
	struct virtq q;
	struct vqb b;
	uint16_t ev;

	(void)state;
	vqb_init(&b, QSIZE);
	assert_int_equal(enable_at(&q, &b.gm, b.desc, RAM_END - avail_no_event, b.used, true),
			 -EINVAL);
	assert_int_equal(
	    enable_at(&q, &b.gm, b.desc, RAM_END - VIRTQ_AVAIL_BYTES(QSIZE), b.used, true), 0);
	assert_int_equal(enable_at(&q, &b.gm, b.desc, b.avail, RAM_END - used_no_event, true),
			 -EINVAL);
	/* 134 bytes from a 4-aligned start: the ring ends 2 bytes short of RAM_END */
	assert_int_equal(enable_at(&q, &b.gm, b.desc, b.avail, RAM_END - 136, true), 0);
	vqb_publish(&b, vqb_chain(&b, 0, 1, (const uint32_t[]){8}, (const bool[]){true}, NULL));
	assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(vq_pop(&q, &chain), 0); /* empty: writes avail_event = 1 */
	memcpy(&ev, b.ram + VQB_RAM_SIZE - 136 + 4 + 8 * QSIZE, sizeof(ev));
	assert_int_equal(ev, 1);
	vq_push(&q, &chain, 8);
	assert_int_equal(q.used_idx, 1);
	vqb_free(&b);
}

/* A ring across a hole between two RAM regions (the MMIO gap) is refused. */
static void test_ring_across_ram_gap(void **state)
{
	const uint64_t lo = 0x100000, hi = 0x300000, region = 0x100000;
	uint8_t *ram = aligned_alloc(4096, 2 * region);
	struct gmem gm = {0};
	struct virtq q;

	(void)state;
	assert_non_null(ram);
	memset(ram, 0, 2 * region);
	/* Host memory is contiguous on purpose: only the gpa map has the hole. */
	assert_int_equal(gmem_add_region(&gm, lo, region, ram), 0);
	assert_int_equal(gmem_add_region(&gm, hi, region, ram + region), 0);
	assert_int_equal(enable_at(&q, &gm, lo, lo + 0x1000, lo + region - 8, false), -EINVAL);
	assert_int_equal(enable_at(&q, &gm, lo, lo + 0x1000, hi - 4, false), -EINVAL);
	assert_int_equal(enable_at(&q, &gm, lo, lo + region - 8, hi, false), -EINVAL);
	assert_int_equal(enable_at(&q, &gm, hi - 0x10, lo + 0x1000, hi, false), -EINVAL);
	assert_int_equal(enable_at(&q, &gm, lo, lo + 0x1000, hi, false), 0);
	free(ram);
}

/*
 * More buffers than the queue size: the driver has only QSIZE descriptors,
 * so avail->idx may run at most QSIZE ahead of the used->idx we published,
 * even while every entry before it was consumed (chains held by the device).
 */
static void test_avail_ahead_of_used(void **state)
{
	struct virtq_chain chains[QSIZE + 1];
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vqb_desc(&b, b.desc, i, vqb_alloc(&b, 8), 8, F_W, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	for (uint16_t i = 0; i < QSIZE; i++)
		vqb_publish(&b, i);
	for (int i = 0; i < QSIZE; i++)
		assert_int_equal(vq_pop(&q, &chains[i]), 1); /* all held, none returned */
	vq_push(&q, &chains[0], 8);			     /* one back */
	vqb_publish(&b, 0);				     /* QSIZE outstanding: fine */
	assert_int_equal(vq_pop(&q, &chains[QSIZE]), 1);
	vqb_publish(&b, 1); /* QSIZE + 1 outstanding: one more than the driver owns */
	assert_int_equal(vq_pop(&q, &chains[0]), -EIO);
	assert_true(q.broken);
	assert_true(q.log.logged & (1u << VQ_ERR_AVAIL_IDX));

	/* the same near the 16-bit wrap */
	vq_reset(&q);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	q.last_avail = q.used_idx = 65530;
	vqb_set_avail_idx(&b, 65530);
	for (uint16_t i = 0; i < QSIZE; i++)
		vqb_publish(&b, i);
	for (int i = 0; i < QSIZE; i++)
		assert_int_equal(vq_pop(&q, &chains[i]), 1);
	assert_int_equal(q.last_avail, (uint16_t)(65530 + QSIZE));
	vqb_publish(&b, 0);
	assert_int_equal(vq_pop(&q, &chains[0]), -EIO);
	vqb_free(&b);
}

/* The device never publishes more used entries than chains it took. */
static void test_no_used_overrun(void **state)
{
	struct virtq_chain chain, other;
	struct virtq q;
	struct vqb b;

	(void)state;
	vqb_init(&b, QSIZE);
	vqb_desc(&b, b.desc, 0, vqb_alloc(&b, 8), 8, F_W, 0);
	vqb_desc(&b, b.desc, 1, vqb_alloc(&b, 8), 8, F_W, 0);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	vqb_publish(&b, 0);
	assert_int_equal(vq_pop(&q, &chain), 1);
	vq_push(&q, &chain, 8);
	vq_push(&q, &chain, 8); /* the same chain again: ignored */
	assert_int_equal(vqb_used_idx(&b), 1);
	/* vq_fill / vq_flush: only as many as are outstanding */
	vqb_publish(&b, 0);
	vqb_publish(&b, 1);
	assert_int_equal(vq_pop(&q, &chain), 1);
	assert_int_equal(vq_pop(&q, &other), 1);
	assert_int_equal(vq_fill(&q, &chain, 8, 0), 0);
	assert_int_equal(vq_fill(&q, &other, 8, 1), 0);
	assert_int_equal(vq_fill(&q, &other, 8, 2), -ESTALE); /* a third was never taken */
	vq_flush(&q, 5);
	assert_int_equal(vqb_used_idx(&b), 3);
	vq_push(&q, &other, 8);
	assert_int_equal(vqb_used_idx(&b), 3);
	vqb_free(&b);
}

/* one_chain: descriptor (i) a writable 8-byte buffer, published. */
static void one_chain(struct vqb *b, uint16_t i)
{
	vqb_desc(b, b->desc, i, vqb_alloc(b, 8), 8, F_W, 0);
	vqb_publish(b, i);
}

/*
 * vq_rewind gives back what was taken and not returned: the next pop takes
 * the oldest of them again, and the chains held before are stale.
 */
static void test_rewind(void **state)
{
	struct virtq_chain c[3], again;
	struct virtq q;
	struct vqb b;
	uint32_t id, len;

	(void)state;
	vqb_init(&b, QSIZE);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, false, false), 0);
	for (uint16_t i = 0; i < 3; i++)
		one_chain(&b, i);
	for (int i = 0; i < 3; i++)
		assert_int_equal(vq_pop(&q, &c[i]), 1);
	vq_push(&q, &c[0], 8);
	assert_int_equal(vq_rewind(&q), 2);
	assert_int_equal(vq_rewind(&q), 0);
	vq_push(&q, &c[2], 8); /* stale */
	assert_int_equal(vqb_used_idx(&b), 1);
	assert_int_equal(vq_pop(&q, &again), 1);
	assert_int_equal(again.head, 1);
	vq_push(&q, &again, 4);
	assert_int_equal(vq_pop(&q, &again), 1);
	assert_int_equal(again.head, 2);
	vq_push(&q, &again, 4);
	assert_int_equal(vq_pop(&q, &again), 0);
	assert_int_equal(vqb_used_idx(&b), 3);
	vqb_used_elem(&b, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 4);
	vq_reset(&q);
	assert_int_equal(vq_rewind(&q), 0); /* not ready */
	vqb_free(&b);
}

/*
 * A queue saved and loaded over a copy of its RAM goes on exactly: the next
 * pop, the used index (across its 16-bit wrap) and the EVENT_IDX interrupt
 * decision continue from the saved ones.
 */
static void test_save_load(void **state)
{
	struct virtio_queue_state st;
	struct virtq_chain c;
	struct virtq q, q2;
	struct vqb b, b2;
	struct vlog_err err = {0};
	uint32_t id, len;

	(void)state;
	vqb_init(&b, QSIZE);
	assert_int_equal(vqb_queue(&b, &q, QSIZE, true, false), 0);
	/* start near the wrap: the driver's and the device's indexes at 0xfffe */
	q.last_avail = q.used_idx = q.signalled_used = 0xfffe;
	vqb_set_avail_idx(&b, 0xfffe);
	*(uint16_t *)vqb_host(&b, b.used + 2) = 0xfffe;
	vqb_set_used_event(&b, 0xfffe);
	one_chain(&b, 0);
	assert_int_equal(vq_pop(&q, &c), 1);
	vq_push(&q, &c, 8);
	assert_true(vq_should_signal(&q)); /* used_event 0xfffe crossed */
	vq_save(&q, &st);
	assert_int_equal(st.ready, 1);
	assert_int_equal(st.event_idx, 1);
	assert_int_equal(st.last_avail, 0xffff);
	assert_int_equal(st.used_idx, 0xffff);
	assert_int_equal(st.signalled_used, 0xffff);
	assert_int_equal(st.signalled_valid, 1);

	vqb_clone(&b2, &b);
	vq_init(&q2, "test", 0, QSIZE);
	assert_int_equal(vq_check_state(&q2, &b2.gm, &st, true, &err), 0);
	assert_int_equal(vq_load_state(&q2, &b2.gm, &st, true), 0);
	assert_true(q2.ready);
	/* the driver wants an interrupt only once entry 1 (after the wrap) is used */
	vqb_set_used_event(&b2, 1);
	one_chain(&b2, 1);
	one_chain(&b2, 2);
	assert_int_equal(vq_pop(&q2, &c), 1);
	assert_int_equal(c.head, 1);
	vq_push(&q2, &c, 8);
	assert_false(vq_should_signal(&q2)); /* entry 0xffff used: not yet */
	assert_int_equal(vq_pop(&q2, &c), 1);
	assert_int_equal(c.head, 2);
	vq_push(&q2, &c, 8);
	assert_false(vq_should_signal(&q2)); /* entry 0 */
	one_chain(&b2, 3);
	assert_int_equal(vq_pop(&q2, &c), 1);
	vq_push(&q2, &c, 8);
	assert_true(vq_should_signal(&q2)); /* entry 1 */
	assert_int_equal(vqb_used_idx(&b2), 2);
	vqb_used_elem(&b2, 0xffff, &id, &len);
	assert_int_equal(id, 1);
	vqb_used_elem(&b2, 0, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(vqb_used_idx(&b), 0xffff); /* the old RAM as saved */

	/* not to be enabled (a broken device): registers only, not ready, indexes ignored */
	vq_init(&q2, "test", 0, QSIZE);
	st.last_avail = 7;
	assert_int_equal(vq_check_state(&q2, &b2.gm, &st, false, &err), 0);
	assert_int_equal(vq_load_state(&q2, &b2.gm, &st, false), 0);
	assert_false(q2.ready);
	assert_int_equal(q2.size, QSIZE);
	assert_int_equal(q2.desc_gpa, b.desc);
	/* ... while to be enabled, a chain owed is refused, and the queue stays not ready */
	assert_int_equal(vq_check_state(&q2, &b2.gm, &st, true, &err), -EINVAL);
	assert_string_equal(err.msg, "queues[0].last_avail: 8 chains taken and not returned "
				     "(used_idx 65535): the device was not quiesced");
	assert_int_equal(vq_load_state(&q2, &b2.gm, &st, true), -EINVAL);
	assert_false(q2.ready);
	vqb_free(&b2);
	vqb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_table),
	    cmocka_unit_test(test_setup_rules),
	    cmocka_unit_test(test_push_and_used),
	    cmocka_unit_test(test_dirty_marks),
	    cmocka_unit_test(test_chain_copy),
	    cmocka_unit_test(test_chain_length_bound),
	    cmocka_unit_test(test_avail_idx_jump),
	    cmocka_unit_test(test_index_wrap),
	    cmocka_unit_test(test_event_idx),
	    cmocka_unit_test(test_no_interrupt_flag),
	    cmocka_unit_test(test_reset_mid_request),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_used_ring_overlap),
	    cmocka_unit_test(test_event_words_inside_ram),
	    cmocka_unit_test(test_ring_across_ram_gap),
	    cmocka_unit_test(test_avail_ahead_of_used),
	    cmocka_unit_test(test_no_used_overrun),
	    cmocka_unit_test(test_rewind),
	    cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
