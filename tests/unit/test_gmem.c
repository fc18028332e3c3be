// SPDX-License-Identifier: Apache-2.0
/* test_gmem.c: region rules and bounds of the guest memory view. */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gmem.h"

static uint8_t buf_a[0x1000], buf_b[0x1000], buf_c[0x1000];

static void test_add_region_rules(void **state)
{
	struct gmem gm = {0};

	(void)state;
	assert_int_equal(gmem_add_region(&gm, 0, 0, buf_a), -EINVAL);	  /* zero size */
	assert_int_equal(gmem_add_region(&gm, 0, 0x1000, NULL), -EINVAL); /* no host */
	assert_int_equal(gmem_add_region(&gm, UINT64_MAX - 0xfff, 0x1000, buf_a), -EINVAL);
	assert_int_equal(gmem_add_region(&gm, UINT64_MAX, 2, buf_a), -EINVAL); /* wraps */
	assert_int_equal(gm.nregions, 0);
	assert_int_equal(gmem_add_region(&gm, 0x10000, 0x1000, buf_a), 0);
	assert_int_equal(gmem_add_region(&gm, 0x10800, 0x1000, buf_b), -EINVAL); /* overlap */
	assert_int_equal(gmem_add_region(&gm, 0x0, 0x1000, buf_b), -EINVAL);	 /* order */
	assert_int_equal(gmem_add_region(&gm, 0x11000, 0x1000, buf_b), 0);	 /* adjacent */
	assert_int_equal(gmem_add_region(&gm, 0x20000, 0x1000, buf_c), 0);
	assert_int_equal(gmem_add_region(&gm, 0x30000, 0x1000, buf_c), 0);
	assert_int_equal(gmem_add_region(&gm, 0x40000, 0x1000, buf_c), -ENOSPC);
	assert_int_equal(gm.nregions, GMEM_MAX_REGIONS);
	assert_int_equal(gmem_ram_end(&gm), 0x31000);
	assert_int_equal(gmem_ram_size(&gm), 0x4000);
}

static void setup_two(struct gmem *gm)
{
	memset(gm, 0, sizeof(*gm));
	assert_int_equal(gmem_add_region(gm, 0x1000, 0x1000, buf_a), 0);
	assert_int_equal(gmem_add_region(gm, 0x3000, 0x1000, buf_b), 0); /* gap 0x2000..0x3000 */
}

static void test_ptr_edges(void **state)
{
	struct gmem gm;

	(void)state;
	setup_two(&gm);
	assert_ptr_equal(gmem_ptr(&gm, 0x1000, 0x1000), buf_a);
	assert_ptr_equal(gmem_ptr(&gm, 0x1fff, 1), buf_a + 0xfff);
	assert_ptr_equal(gmem_ptr(&gm, 0x1000, 0), buf_a);
	assert_ptr_equal(gmem_ptr(&gm, 0x2000, 0), buf_a + 0x1000); /* one past, len 0 */
	errno = 0;
	assert_null(gmem_ptr(&gm, 0x2000, 1));
	assert_int_equal(errno, EFAULT);
	assert_null(gmem_ptr(&gm, 0x1000, 0x1001));
	assert_null(gmem_ptr(&gm, 0xfff, 1)); /* below the first region */
	assert_null(gmem_ptr(&gm, 0xfff, 2)); /* straddles its start */
	assert_null(gmem_ptr(&gm, 0x0, 0));
	assert_null(gmem_ptr(&gm, 0x2800, 4));	    /* in the gap */
	assert_null(gmem_ptr(&gm, 0x1800, 0x2000)); /* across the gap */
	assert_ptr_equal(gmem_ptr(&gm, 0x3800, 0x800), buf_b + 0x800);
	assert_null(gmem_ptr(&gm, 0x4000, 1));
}

static void test_ptr_overflow(void **state)
{
	struct gmem gm;

	(void)state;
	setup_two(&gm);
	assert_null(gmem_ptr(&gm, 0x1000, UINT64_MAX));
	assert_null(gmem_ptr(&gm, 0x1fff, UINT64_MAX));
	assert_null(gmem_ptr(&gm, UINT64_MAX, 1));
	assert_null(gmem_ptr(&gm, UINT64_MAX, 0));
	assert_null(gmem_ptr(&gm, UINT64_MAX - 0xfff, 0x2000));
	assert_null(gmem_ptr(&gm, 0x1800, UINT64_MAX - 0x7ff)); /* gpa + len == 2^64 */
}

static void test_ptr_crossing_adjacent(void **state)
{
	struct gmem gm = {0};

	(void)state;
	assert_int_equal(gmem_add_region(&gm, 0, 0x1000, buf_a), 0);
	assert_int_equal(gmem_add_region(&gm, 0x1000, 0x1000, buf_b), 0);
	assert_null(gmem_ptr(&gm, 0xff0, 0x20)); /* contiguous in gpa, not on the host */
	assert_ptr_equal(gmem_ptr(&gm, 0x1000, 0x10), buf_b);
	assert_ptr_equal(gmem_ptr(&gm, 0xff0, 0x10), buf_a + 0xff0);
}

static void test_empty(void **state)
{
	struct gmem gm = {0};

	(void)state;
	assert_null(gmem_ptr(&gm, 0, 0));
	assert_int_equal(gmem_ram_end(&gm), 0);
	assert_int_equal(gmem_ram_size(&gm), 0);
}

static void test_read_write(void **state)
{
	struct gmem gm;
	uint8_t out[8] = {0};
	const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	(void)state;
	setup_two(&gm);
	assert_int_equal(gmem_write(&gm, 0x1ff8, in, sizeof(in)), 0);
	assert_memory_equal(buf_a + 0xff8, in, sizeof(in));
	assert_int_equal(gmem_read(&gm, out, 0x1ff8, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));
	memset(out, 0xee, sizeof(out));
	assert_int_equal(gmem_read(&gm, out, 0x1ffc, sizeof(out)), -EFAULT);
	assert_int_equal(out[0], 0xee); /* nothing copied */
	assert_int_equal(gmem_write(&gm, 0x2ffc, in, sizeof(in)), -EFAULT);
	assert_int_equal(gmem_write(&gm, UINT64_MAX - 3, in, sizeof(in)), -EFAULT);
	assert_int_equal(gmem_write(&gm, 0x3000, in, 0), 0);
}

/* Host memory for the dirty-tracking tests: 70 pages (more than one bitmap word) and 2. */
#define BIG_PAGES   70u
#define SMALL_PAGES 2u
static uint8_t big[BIG_PAGES * GMEM_PAGE_BYTES], small[SMALL_PAGES * GMEM_PAGE_BYTES];

static void setup_tracked(struct gmem *gm, bool all_dirty)
{
	memset(gm, 0, sizeof(*gm));
	assert_int_equal(gmem_add_region(gm, 0, sizeof(big), big), 0);
	assert_int_equal(gmem_add_region(gm, 0x100000, sizeof(small), small), 0);
	assert_int_equal(gmem_track_dirty(gm, all_dirty), 0);
}

static void test_dirty_marks_pages_and_take_clears(void **state)
{
	struct gmem gm;
	uint64_t out[2] = {0}, out_small[1] = {0};

	(void)state;
	setup_tracked(&gm, false);
	assert_int_equal(gmem_dirty_words(&gm.regions[0]), 2);
	gmem_mark_dirty(&gm, 0x1fff, 2);	  /* the last byte of page 1, the first of 2 */
	gmem_mark_dirty(&gm, 65 * 0x1000 + 5, 1); /* page 65: the second word */
	gmem_mark_dirty(&gm, 0x3000, 0);	  /* nothing */
	gmem_mark_dirty(&gm, 0x100000 + 0x1000, 0x10000); /* runs past the region: page 1 only */
	gmem_mark_dirty(&gm, 0x90000, 0x1000);		  /* the gap: nothing */
	gmem_take_dirty(&gm, 0, out);
	assert_true(out[0] == ((1ULL << 1) | (1ULL << 2)));
	assert_true(out[1] == (1ULL << 1));
	gmem_take_dirty(&gm, 1, out_small);
	assert_true(out_small[0] == (1ULL << 1));
	/* Taken means cleared. */
	memset(out, 0, sizeof(out));
	gmem_take_dirty(&gm, 0, out);
	assert_true(out[0] == 0 && out[1] == 0);
	/* Given back, taken again: nothing lost. */
	const uint64_t back[2] = {1ULL << 7, 1ULL << 3};
	gmem_give_dirty(&gm, 0, back);
	gmem_take_dirty(&gm, 0, out);
	assert_true(out[0] == back[0] && out[1] == back[1]);
	/* Out-of-range region indexes are ignored. */
	gmem_take_dirty(&gm, 7, out);
	gmem_give_dirty(&gm, 7, back);
	gmem_untrack_dirty(&gm);
	assert_null(gm.regions[0].dirty);
}

static void test_dirty_all_and_untracked(void **state)
{
	struct gmem gm;
	uint64_t out[2] = {0};

	(void)state;
	setup_tracked(&gm, true);
	gmem_take_dirty(&gm, 0, out);
	/* Every one of the 70 pages, and no bit past the last. */
	assert_true(out[0] == UINT64_MAX);
	assert_true(out[1] == (1ULL << (BIG_PAGES - 64)) - 1);
	gmem_untrack_dirty(&gm);
	/* Not tracking: marks and takes do nothing, and nothing breaks. */
	memset(out, 0, sizeof(out));
	gmem_mark_dirty(&gm, 0, 0x1000);
	gmem_take_dirty(&gm, 0, out);
	assert_true(out[0] == 0 && out[1] == 0);
	/* gmem_write marks what it wrote. */
	assert_int_equal(gmem_track_dirty(&gm, false), 0);
	assert_int_equal(gmem_write(&gm, 0x5000, "x", 1), 0);
	gmem_take_dirty(&gm, 0, out);
	assert_true(out[0] == (1ULL << 5));
	gmem_untrack_dirty(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_region_rules),
	    cmocka_unit_test(test_ptr_edges),
	    cmocka_unit_test(test_ptr_overflow),
	    cmocka_unit_test(test_ptr_crossing_adjacent),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_read_write),
	    cmocka_unit_test(test_dirty_marks_pages_and_take_clears),
	    cmocka_unit_test(test_dirty_all_and_untracked),
	};

	return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
