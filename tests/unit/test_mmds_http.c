// SPDX-License-Identifier: Apache-2.0
/* test_mmds_http.c: guest requests to MMDS and the answers, V1 and V2, text and JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mmds_http.h"

static uint64_t fake_ms;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_ms;
}

struct reply {
	int status;
	char head[1024];
	char body[4096];
	bool close;
};

static struct mmds_store *store(void)
{
	struct mmds_store *s = mmds_store_create(MMDS_DEFAULT_LIMIT, fake_clock, NULL);
	char err[128];
	const char *doc = "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"net\": {}}}, "
			  "\"age\": 43}";

	assert_non_null(s);
	assert_int_equal(mmds_store_put(s, doc, strlen(doc), err, sizeof(err)), 0);
	fake_ms = 5000;
	return s;
}

/* ask: the request (req) whole, checked by mmds_http_frame, answered into (r). */
static void ask(struct mmds_store *s, struct mmds_stats *st, const char *req, struct reply *r)
{
	struct mmds_http_response resp;
	const char *body;

	assert_int_equal(mmds_http_frame((const uint8_t *)req, strlen(req)), (long)strlen(req));
	assert_int_equal(mmds_http_respond(s, st, (const uint8_t *)req, strlen(req), &resp), 0);
	body = memmem(resp.data, resp.len, "\r\n\r\n", 4);
	assert_non_null(body);
	body += 4;
	memset(r, 0, sizeof(*r));
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(body - resp.data), resp.data);
	snprintf(r->body, sizeof(r->body), "%.*s", (int)(resp.len - (size_t)(body - resp.data)),
		 body);
	assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(r->body));
	assert_non_null(strstr(r->head, cl));
	r->close = resp.close;
	free(resp.data);
}

static void test_v1_get_text_and_json(void **state)
{
	struct mmds_store *s = store();
	struct mmds_stats st = {0};
	struct reply r;

	(void)state;
	ask(s, &st, "GET /latest/meta-data HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ami-id\nnet/");
	assert_non_null(strstr(r.head, "Content-Type: text/plain"));
	assert_false(r.close);
	ask(s, &st,
	    "GET http://169.254.169.254/latest/meta-data/ami-id HTTP/1.0\r\n"
	    "Accept: application/json\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "\"ami-1\"");
	assert_non_null(strstr(r.head, "Content-Type: application/json"));
	assert_non_null(strstr(r.head, "HTTP/1.0 200"));
	assert_true(r.close); /* HTTP/1.0 without keep-alive */
	ask(s, &st, "GET /latest HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
	assert_string_equal(r.body, "meta-data/");
	assert_true(r.close);
	/* V1 serves without a token, and with a bad one, but counts both. */
	ask(s, &st, "GET /age HTTP/1.1\r\nX-metadata-token: nope\r\n\r\n", &r);
	assert_int_equal(r.status, 501);
	assert_string_equal(r.body, "Cannot retrieve value. The value has an unsupported type.");
	assert_int_equal(st.rx_no_token, 3);
	assert_int_equal(st.rx_invalid_token, 1);
	assert_int_equal(st.rx_count, 4);
	assert_int_equal(st.tx_count, 4);
	mmds_store_destroy(s);
}

static void test_errors(void **state)
{
	struct mmds_store *s = store();
	struct mmds_stats st = {0};
	struct reply r;

	(void)state;
	ask(s, &st, "GET /missing/key HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "Resource not found: /missing/key.");
	ask(s, &st, "PATCH / HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.head, "Allow: GET, PUT\r\n"));
	ask(s, &st, "GET http://169.254.169.254 HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "Invalid URI.");
	ask(s, &st, "PUT /latest/meta-data HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 404);
	ask(s, &st, "PUT /latest/api/token HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "Token time to live value not found"));
	ask(s, &st, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 0\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "between 1 and 21600"));
	ask(s, &st, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21601\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 400);
	ask(s, &st, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: x1\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 400);
	ask(s, &st,
	    "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n"
	    "X-Forwarded-For: 1.2.3.4\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 400);
	mmds_store_destroy(s);
}

/* token: PUT /latest/api/token with (ttl): the token text. */
static void token(struct mmds_store *s, struct mmds_stats *st, unsigned int ttl, char *out)
{
	char req[256];
	struct reply r;

	snprintf(req, sizeof(req),
		 "PUT //latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: "
		 "%u\r\nContent-Length: 0\r\n\r\n",
		 ttl);
	ask(s, st, req, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(strlen(r.body), MMDS_TOKEN_TEXT);
	strcpy(out, r.body);
}

static void test_v2_tokens(void **state)
{
	struct mmds_store *s = store();
	struct mmds_stats st = {0};
	char tok[MMDS_TOKEN_TEXT + 1], req[512];
	struct reply r;

	(void)state;
	mmds_store_set_mode(s, MMDS_V2, false);
	ask(s, &st, "GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n", &r);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(r.body, "No MMDS token provided"));
	assert_int_equal(st.rx_no_token, 1);
	ask(s, &st, "GET /latest/meta-data/ami-id HTTP/1.1\r\nX-metadata-token: abc\r\n\r\n", &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(r.body, "MMDS token not valid.");
	assert_int_equal(st.rx_invalid_token, 1);
	token(s, &st, 1, tok);
	snprintf(req, sizeof(req),
		 "GET /latest/meta-data/ami-id HTTP/1.1\r\nx-metadata-token:  %s \r\n\r\n", tok);
	ask(s, &st, req, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ami-1");
	fake_ms += 1000; /* the token's one second is up */
	ask(s, &st, req, &r);
	assert_int_equal(r.status, 401);
	assert_int_equal(st.rx_invalid_token, 2);
	mmds_store_destroy(s);
}

static void test_imds_compat_ignores_accept(void **state)
{
	struct mmds_store *s = store();
	struct mmds_stats st = {0};
	struct reply r;

	(void)state;
	mmds_store_set_mode(s, MMDS_V1, true);
	ask(s, &st, "GET /latest/meta-data/ami-id HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	    &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ami-1");
	assert_non_null(strstr(r.head, "Content-Type: text/plain"));
	mmds_store_destroy(s);
}

static void test_framing(void **state)
{
	char big[MMDS_HTTP_REQUEST_MAX + 16];
	const char *partial = "GET / HTTP/1.1\r\nHost: x\r\n";
	const char *with_body = "PUT /latest/api/token HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET";
	struct mmds_http_response resp;

	(void)state;
	assert_int_equal(mmds_http_frame((const uint8_t *)partial, strlen(partial)), 0);
	/* The body counts; what follows it is the next request. */
	assert_int_equal(mmds_http_frame((const uint8_t *)with_body, strlen(with_body)),
			 (long)strlen(with_body) - 3);
	assert_int_equal(mmds_http_frame((const uint8_t *)with_body, strlen(with_body) - 4), 0);
	const char *bad[] = {
	    "GET / HTTP/2\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1 x\r\n\r\n",
	    "GET / HTTP/1.1\r\nno colon\r\n\r\n",
	    "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mmds_http_frame((const uint8_t *)bad[i], strlen(bad[i])), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	assert_int_equal(mmds_http_frame((const uint8_t *)big, sizeof(big)), -1);
	assert_int_equal(mmds_http_refuse(&resp), 0);
	assert_true(resp.close);
	assert_memory_equal(resp.data, "HTTP/1.1 400 Bad Request\r\n", 26);
	free(resp.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_get_text_and_json),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_v2_tokens),
	    cmocka_unit_test(test_imds_compat_ignores_accept),
	    cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
