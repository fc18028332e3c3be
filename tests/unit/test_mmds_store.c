// SPDX-License-Identifier: Apache-2.0
/* test_mmds_store.c: the MMDS document (put, merge patch, limit, lookups) and session tokens. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mmds_store.h"
#include "mmds_token.h"

static uint64_t fake_ms;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_ms;
}

static struct mmds_store *store(size_t limit)
{
	struct mmds_store *s = mmds_store_create(limit, fake_clock, NULL);

	assert_non_null(s);
	fake_ms = 1000;
	return s;
}

static void put(struct mmds_store *s, const char *json)
{
	char err[256];

	assert_int_equal(mmds_store_put(s, json, strlen(json), err, sizeof(err)), 0);
}

static void expect_doc(struct mmds_store *s, const char *want)
{
	char *doc = mmds_store_dump(s);

	assert_non_null(doc);
	assert_string_equal(doc, want);
	free(doc);
}

/* expect_lookup: GET (path) as text or JSON gives (want) (NULL: expect status (st)). */
static void expect_lookup(struct mmds_store *s, const char *path, bool json, enum mmds_lookup st,
			  const char *want)
{
	char *out;
	size_t len;
	bool as_json;

	assert_int_equal(mmds_store_lookup(s, path, strlen(path), json, &out, &len, &as_json), st);
	if (st != MMDS_LOOKUP_OK) {
		assert_null(out);
		return;
	}
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	free(out);
}

static void test_put_replaces_and_dump_sorts(void **state)
{
	struct mmds_store *s = store(MMDS_DEFAULT_LIMIT);

	(void)state;
	expect_doc(s, "{}");
	put(s, "{\"b\": 1, \"a\": {\"y\": \"2\", \"x\": [1, 2]}}");
	expect_doc(s, "{\"a\":{\"x\":[1,2],\"y\":\"2\"},\"b\":1}");
	put(s, "{\"c\": null}");
	expect_doc(s, "{\"c\":null}");
	mmds_store_destroy(s);
}

static void test_patch_is_a_merge_patch(void **state)
{
	struct mmds_store *s = store(MMDS_DEFAULT_LIMIT);
	char err[256];
	const char *patch =
	    "{\"a\": {\"x\": null, \"z\": {\"new\": \"v\"}}, \"b\": [3], \"d\": \"s\"}";

	(void)state;
	/* RFC 7396: a patch needs a document to patch. */
	assert_int_equal(mmds_store_patch(s, "{}", 2, err, sizeof(err)), -ENOENT);
	put(s, "{\"a\": {\"x\": 1, \"y\": 2}, \"b\": [1, 2], \"c\": \"keep\"}");
	assert_int_equal(mmds_store_patch(s, patch, strlen(patch), err, sizeof(err)), 0);
	/* null removes, objects merge, arrays and scalars replace, new keys appear. */
	expect_doc(s,
		   "{\"a\":{\"y\":2,\"z\":{\"new\":\"v\"}},\"b\":[3],\"c\":\"keep\",\"d\":\"s\"}");
	/* A non-object patch replaces the whole document (RFC 7396, section 2). */
	assert_int_equal(mmds_store_patch(s, "\"flat\"", 6, err, sizeof(err)), 0);
	expect_doc(s, "\"flat\"");
	/* And an object patch over a non-object starts from {}. */
	assert_int_equal(mmds_store_patch(s, "{\"k\": \"v\"}", 10, err, sizeof(err)), 0);
	expect_doc(s, "{\"k\":\"v\"}");
	mmds_store_destroy(s);
}

static void test_limit_refuses_and_keeps(void **state)
{
	struct mmds_store *s = store(20);
	char err[256];
	const char *big = "{\"key\": \"0123456789abcdef\"}"; /* 26 bytes compact */
	const char *grow = "{\"more\": \"0123456789\"}";

	(void)state;
	put(s, "{\"a\": \"b\"}"); /* 9 bytes */
	assert_int_equal(mmds_store_put(s, big, strlen(big), err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "limit of 20"));
	assert_int_equal(mmds_store_patch(s, grow, strlen(grow), err, sizeof(err)), -EFBIG);
	expect_doc(s, "{\"a\":\"b\"}");
	/* Exactly at the limit is fine: {"a":"b","c":"d"} is 17, {"a":"bcdefghijklmnop"} 24. */
	put(s, "{\"a\":\"b\",\"c\":\"dddd\"}"); /* 20 */
	expect_doc(s, "{\"a\":\"b\",\"c\":\"dddd\"}");
	mmds_store_destroy(s);
}

static void test_bad_json_refused(void **state)
{
	struct mmds_store *s = store(MMDS_DEFAULT_LIMIT);
	char err[256];

	(void)state;
	assert_int_equal(mmds_store_put(s, "{\"a\":", 5, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "invalid JSON"));
	assert_int_equal(mmds_store_put(s, "{\"a\":1,\"a\":2}", 13, err, sizeof(err)), -EINVAL);
	assert_int_equal(mmds_store_put(s, "1\0", 2, err, sizeof(err)), -EINVAL);
	expect_doc(s, "{}");
	mmds_store_destroy(s);
}

static void test_lookup_formats(void **state)
{
	struct mmds_store *s = store(MMDS_DEFAULT_LIMIT);

	(void)state;
	put(s, "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"net\": {\"x\": \"y\"}, "
	       "\"a/b\": \"slash\", \"t~\": \"tilde\"}}, \"n\": 43, \"arr\": [\"zero\", 1]}");
	expect_lookup(s, "/latest/meta-data", false, MMDS_LOOKUP_OK, "a/b\nami-id\nnet/\nt~");
	expect_lookup(s, "/latest/meta-data/", false, MMDS_LOOKUP_OK, "a/b\nami-id\nnet/\nt~");
	expect_lookup(s, "//latest///meta-data/ami-id", false, MMDS_LOOKUP_OK, "ami-1");
	expect_lookup(s, "/latest/meta-data/ami-id", true, MMDS_LOOKUP_OK, "\"ami-1\"");
	expect_lookup(s, "/latest/meta-data/net", true, MMDS_LOOKUP_OK, "{\"x\":\"y\"}");
	expect_lookup(s, "/latest/meta-data/a~1b", false, MMDS_LOOKUP_OK, "slash");
	expect_lookup(s, "/latest/meta-data/t~0", false, MMDS_LOOKUP_OK, "tilde");
	expect_lookup(s, "/latest/meta-data/t~2", false, MMDS_LOOKUP_NOT_FOUND, NULL);
	expect_lookup(s, "/n", true, MMDS_LOOKUP_OK, "43");
	expect_lookup(s, "/n", false, MMDS_LOOKUP_UNSUPPORTED, NULL);
	expect_lookup(s, "/arr/0", false, MMDS_LOOKUP_OK, "zero");
	expect_lookup(s, "/arr/01", false, MMDS_LOOKUP_NOT_FOUND, NULL);
	expect_lookup(s, "/arr/2", false, MMDS_LOOKUP_NOT_FOUND, NULL);
	expect_lookup(s, "/arr", false, MMDS_LOOKUP_UNSUPPORTED, NULL);
	expect_lookup(s, "/nope", false, MMDS_LOOKUP_NOT_FOUND, NULL);
	expect_lookup(s, "/n/deeper", false, MMDS_LOOKUP_NOT_FOUND, NULL);
	/* IMDS compatibility answers text whatever the guest accepts. */
	mmds_store_set_mode(s, MMDS_V1, true);
	expect_lookup(s, "/latest/meta-data/ami-id", true, MMDS_LOOKUP_OK, "ami-1");
	expect_lookup(s, "/n", true, MMDS_LOOKUP_UNSUPPORTED, NULL);
	mmds_store_destroy(s);
}

static void test_lookup_before_put(void **state)
{
	struct mmds_store *s = store(MMDS_DEFAULT_LIMIT);

	(void)state;
	expect_lookup(s, "/x", false, MMDS_LOOKUP_NOT_FOUND, NULL);
	expect_lookup(s, "/", true, MMDS_LOOKUP_OK, "null");
	mmds_store_destroy(s);
}

static void test_token_ttl_bounds_and_expiry(void **state)
{
	struct mmds_store *s = store(MMDS_DEFAULT_LIMIT);
	char tok[MMDS_TOKEN_TEXT], other[MMDS_TOKEN_TEXT];

	(void)state;
	assert_int_equal(mmds_store_issue_token(s, 0, tok), -EINVAL);
	assert_int_equal(mmds_store_issue_token(s, MMDS_TOKEN_TTL_MAX + 1, tok), -EINVAL);
	assert_int_equal(mmds_store_issue_token(s, MMDS_TOKEN_TTL_MAX, other), 0);
	assert_int_equal(mmds_store_issue_token(s, 2, tok), 0);
	assert_memory_not_equal(tok, other, MMDS_TOKEN_TEXT);
	for (unsigned int i = 0; i < MMDS_TOKEN_TEXT; i++)
		assert_non_null(strchr("0123456789abcdef", tok[i]));
	assert_true(mmds_store_token_valid(s, tok, sizeof(tok)));
	assert_false(mmds_store_token_valid(s, tok, sizeof(tok) - 1));
	char first = tok[0];
	tok[0] = first == 'a' ? 'b' : 'a';
	assert_false(mmds_store_token_valid(s, tok, sizeof(tok)));
	tok[0] = first;
	fake_ms += 1999;
	assert_true(mmds_store_token_valid(s, tok, sizeof(tok)));
	fake_ms += 1;
	assert_false(mmds_store_token_valid(s, tok, sizeof(tok)));
	assert_true(mmds_store_token_valid(s, other, sizeof(other)));
	mmds_store_destroy(s);
}

static void test_token_table_is_bounded(void **state)
{
	struct mmds_tokens t;
	char first[MMDS_TOKEN_TEXT], tok[MMDS_TOKEN_TEXT], last[MMDS_TOKEN_TEXT];

	(void)state;
	mmds_tokens_clear(&t);
	/* The first expires soonest; the table fills; one more evicts the first only. */
	assert_int_equal(mmds_tokens_issue(&t, 10, 0, first), 0);
	for (unsigned int i = 1; i < MMDS_TOKENS_MAX; i++)
		assert_int_equal(mmds_tokens_issue(&t, 100, 0, tok), 0);
	assert_true(mmds_tokens_valid(&t, first, sizeof(first), 0));
	assert_int_equal(mmds_tokens_issue(&t, 100, 0, last), 0);
	assert_false(mmds_tokens_valid(&t, first, sizeof(first), 0));
	assert_true(mmds_tokens_valid(&t, tok, sizeof(tok), 0));
	assert_true(mmds_tokens_valid(&t, last, sizeof(last), 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_replaces_and_dump_sorts),
	    cmocka_unit_test(test_patch_is_a_merge_patch),
	    cmocka_unit_test(test_limit_refuses_and_keeps),
	    cmocka_unit_test(test_bad_json_refused),
	    cmocka_unit_test(test_lookup_formats),
	    cmocka_unit_test(test_lookup_before_put),
	    cmocka_unit_test(test_token_ttl_bounds_and_expiry),
	    cmocka_unit_test(test_token_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
