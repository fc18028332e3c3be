// SPDX-License-Identifier: Apache-2.0
/* test_virtio_ratelimit.c: the token buckets over an injected clock, and the timerfd for real. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>

#include <cmocka.h>

#include "ratelimit.h"

#define MS 1000000ull

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

/* limiter: (rl) over the fake clock at t = 1 s with (cfg). */
static void limiter(struct ratelimit *rl, const struct virtio_rate_limit *cfg)
{
	assert_int_equal(ratelimit_init(rl, cfg), 0);
	fake_now = 1000 * MS;
	ratelimit_set_clock(rl, fake_clock, NULL);
}

static bool armed(const struct ratelimit *rl)
{
	struct itimerspec its;

	assert_int_equal(timerfd_gettime(ratelimit_fd(rl), &its), 0);
	return its.it_value.tv_sec != 0 || its.it_value.tv_nsec != 0;
}

static void test_unlimited(void **state)
{
	struct ratelimit rl;
	/* size 0 or refill_time 0: that bucket is off (Firecracker's TokenBucket::new -> None). */
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 100, .refill_time = 0},
					.ops = {.size = 0, .refill_time = 1000}};

	(void)state;
	limiter(&rl, NULL);
	assert_true(ratelimit_unlimited(&rl));
	for (int i = 0; i < 1000; i++)
		assert_true(ratelimit_consume(&rl, UINT64_MAX, UINT64_MAX));
	assert_true(ratelimit_ready(&rl));
	ratelimit_update(&rl, &cfg);
	assert_true(ratelimit_unlimited(&rl));
	assert_true(ratelimit_consume(&rl, 1u << 30, 1000));
	assert_int_equal(ratelimit_blocked_until(&rl), 0);
	assert_false(armed(&rl));
	ratelimit_destroy(&rl);
}

static void test_burst_then_size(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit cfg = {
	    .bandwidth = {.size = 1000, .one_time_burst = 500, .refill_time = 1000}};

	(void)state;
	limiter(&rl, &cfg);
	assert_false(ratelimit_unlimited(&rl));
	assert_true(ratelimit_consume(&rl, 400, 0)); /* burst: 100 left */
	assert_true(ratelimit_consume(&rl, 600, 0)); /* 100 burst + 500 of the bucket */
	assert_true(ratelimit_consume(&rl, 500, 0)); /* the bucket's last 500 */
	assert_false(ratelimit_consume(&rl, 1, 0));
	/* 1 token refills in refill_time / size = 1 ms; the timer says so. */
	assert_int_equal(ratelimit_blocked_until(&rl), fake_now + 1 * MS);
	assert_true(armed(&rl));
	assert_int_equal(rl.throttled, 1);
	/* The burst never comes back. */
	fake_now += 10000 * MS;
	assert_true(ratelimit_consume(&rl, 1000, 0));
	assert_false(ratelimit_consume(&rl, 1, 0));
	ratelimit_destroy(&rl);
}

static void test_linear_refill(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 1000, .refill_time = 1000}};
	uint64_t t0;

	(void)state;
	limiter(&rl, &cfg);
	t0 = fake_now;
	assert_true(ratelimit_consume(&rl, 1000, 0));
	assert_false(ratelimit_consume(&rl, 100, 0));
	assert_int_equal(ratelimit_blocked_until(&rl), t0 + 100 * MS);
	fake_now = t0 + 50 * MS; /* an early wakeup: still refused, timer re-armed */
	assert_false(ratelimit_consume(&rl, 100, 0));
	assert_true(armed(&rl));
	fake_now = t0 + 100 * MS;
	ratelimit_event(&rl); /* nothing to read (the real timer has not fired): harmless */
	assert_true(ratelimit_consume(&rl, 100, 0));
	assert_false(ratelimit_consume(&rl, 1, 0));
	/* Never above size, however long it waits. */
	fake_now += 3600000 * MS;
	assert_true(ratelimit_consume(&rl, 1000, 0));
	assert_false(ratelimit_consume(&rl, 1, 0));
	ratelimit_destroy(&rl);
}

/* No drift: one token at a time for 10 s at 7 tokens/s passes 7 + 70 times. */
static void test_refill_exact_over_time(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit cfg = {.ops = {.size = 7, .refill_time = 1000}};
	unsigned int passed = 0;
	uint64_t end;

	(void)state;
	limiter(&rl, &cfg);
	end = fake_now + 10000 * MS + MS;
	for (; fake_now <= end; fake_now += MS / 3)
		while (ratelimit_consume(&rl, 0, 1))
			passed++;
	assert_int_equal(passed, 77);
	ratelimit_destroy(&rl);
}

static void test_ops_and_bandwidth(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 1000, .refill_time = 1000},
					.ops = {.size = 2, .refill_time = 1000}};

	(void)state;
	limiter(&rl, &cfg);
	assert_true(ratelimit_consume(&rl, 10, 1));
	assert_true(ratelimit_consume(&rl, 10, 1));
	/* Ops exhausted: refused, and the bytes are not taken either. */
	assert_false(ratelimit_consume(&rl, 10, 1));
	assert_int_equal(ratelimit_blocked_until(&rl), fake_now + 500 * MS);
	assert_int_equal(rl.bw.budget, 980);
	fake_now += 500 * MS;
	assert_true(ratelimit_consume(&rl, 980, 1));
	/* Now bandwidth is the short one: 500 bytes take 500 ms, ops would need 500 ms too. */
	fake_now += 100 * MS;
	assert_false(ratelimit_consume(&rl, 500, 1));
	assert_int_equal(ratelimit_blocked_until(&rl), fake_now + 400 * MS);
	assert_int_equal(rl.ops.budget, 0);
	ratelimit_destroy(&rl);
}

/*
 * Larger than the bucket: Firecracker's OverConsumption lets it through and
 * blocks for the excess; here nothing refills meanwhile (the debt is paid).
 */
static void test_larger_than_size(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 1000, .refill_time = 1000}};
	uint64_t t0;

	(void)state;
	limiter(&rl, &cfg);
	t0 = fake_now;
	assert_true(ratelimit_consume(&rl, 3000, 0));
	assert_int_equal(ratelimit_blocked_until(&rl), t0 + 2000 * MS);
	assert_true(armed(&rl));
	assert_false(ratelimit_consume(&rl, 1, 0));
	assert_false(ratelimit_ready(&rl));
	fake_now = t0 + 2000 * MS; /* debt paid, bucket empty */
	assert_false(ratelimit_consume(&rl, 1, 0));
	fake_now = t0 + 3000 * MS;
	assert_true(ratelimit_consume(&rl, 1000, 0));
	/* Even with an empty bucket an oversized request passes at once (then blocks). */
	fake_now = t0 + 3500 * MS;
	assert_true(ratelimit_consume(&rl, 2000, 0));
	assert_int_equal(ratelimit_blocked_until(&rl), t0 + 3500 * MS + 1500 * MS);
	ratelimit_destroy(&rl);
}

/* Unknown size (net receive): ready, then charge; the debt blocks. */
static void test_ready_and_charge(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 1000, .refill_time = 1000}};

	(void)state;
	limiter(&rl, &cfg);
	assert_true(ratelimit_ready(&rl));
	ratelimit_charge(&rl, 600, 1);
	assert_true(ratelimit_ready(&rl));
	ratelimit_charge(&rl, 600, 1); /* 200 short */
	assert_int_equal(ratelimit_blocked_until(&rl), fake_now + 200 * MS);
	assert_false(ratelimit_ready(&rl));
	fake_now += 200 * MS;
	assert_false(ratelimit_ready(&rl)); /* paid, but empty: 1 ms for a token */
	assert_int_equal(ratelimit_blocked_until(&rl), fake_now + 1 * MS);
	fake_now += 1 * MS;
	assert_true(ratelimit_ready(&rl));
	ratelimit_destroy(&rl);
}

static void test_update_at_runtime(void **state)
{
	struct ratelimit rl;
	struct virtio_rate_limit slow = {.bandwidth = {.size = 100, .refill_time = 1000}};
	struct virtio_rate_limit fast = {.bandwidth = {.size = 100000, .refill_time = 1000},
					 .ops = {.size = 10, .refill_time = 1000}};
	struct virtio_rate_limit none = {0};

	(void)state;
	limiter(&rl, &slow);
	assert_true(ratelimit_consume(&rl, 100, 1));
	assert_false(ratelimit_consume(&rl, 50, 1));
	assert_true(armed(&rl));
	/* Same configuration: state kept, but the block is lifted for a retry. */
	ratelimit_update(&rl, &slow);
	assert_false(armed(&rl));
	assert_false(ratelimit_consume(&rl, 50, 1));
	/* A new bandwidth bucket starts full (Firecracker: "buckets become full"). */
	ratelimit_update(&rl, &fast);
	assert_int_equal(ratelimit_blocked_until(&rl), 0);
	assert_true(ratelimit_consume(&rl, 50000, 1));
	assert_int_equal(rl.ops.budget, 9);
	/* Keeping the ops bucket's configuration keeps its state. */
	fast.bandwidth.size = 200000;
	ratelimit_update(&rl, &fast);
	assert_int_equal(rl.ops.budget, 9);
	assert_int_equal(rl.bw.budget, 200000);
	ratelimit_update(&rl, &none);
	assert_true(ratelimit_unlimited(&rl));
	assert_true(ratelimit_consume(&rl, UINT64_MAX, UINT64_MAX));
	ratelimit_destroy(&rl);
}

/* The real clock: the timerfd fires when the refused request fits. */
static void test_timerfd_fires(void **state)
{
	struct ratelimit rl;
	/* 1000 bytes per 50 ms. */
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 1000, .refill_time = 50}};
	struct pollfd p;

	(void)state;
	assert_int_equal(ratelimit_init(&rl, &cfg), 0);
	assert_true(ratelimit_consume(&rl, 1000, 0));
	assert_false(ratelimit_consume(&rl, 500, 0));
	p = (struct pollfd){.fd = ratelimit_fd(&rl), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(poll(&p, 1, 2000), 1);
	ratelimit_event(&rl);
	assert_int_equal(poll(&p, 1, 0), 0); /* drained */
	assert_true(ratelimit_consume(&rl, 500, 0));
	ratelimit_destroy(&rl);
	assert_int_equal(ratelimit_fd(&rl), -1);
}

/* ---- snapshots ---- */

/* own_clock: a clock of its own per limiter: (ctx) points at its now. */
static uint64_t own_clock(void *ctx)
{
	return *(const uint64_t *)ctx;
}

/* pair: (a) at time (*ta), (b) at (*tb), both configured by (cfg), each on its own clock. */
static void pair(struct ratelimit *a, uint64_t *ta, struct ratelimit *b, uint64_t *tb,
		 const struct virtio_rate_limit *cfg)
{
	assert_int_equal(ratelimit_init(a, cfg), 0);
	assert_int_equal(ratelimit_init(b, cfg), 0);
	ratelimit_set_clock(a, own_clock, ta);
	ratelimit_set_clock(b, own_clock, tb);
}

/*
 * A limiter saved and loaded in a "new process" whose clock has another
 * origin, however long after, goes on exactly as the original would have:
 * both take and refuse the same requests, their blocks end at the same
 * distance from their own now.
 */
static void test_save_load(void **state)
{
	struct virtio_rate_limit cfg = {
	    .bandwidth = {.size = 1000, .one_time_burst = 500, .refill_time = 1000},
	    .ops = {.size = 10, .refill_time = 1000}};
	struct ratelimit a, b;
	struct ratelimit_state st;
	struct vlog_err err = {0};
	uint64_t ta = 1000 * MS, tb = 123456789 * MS;

	(void)state;
	pair(&a, &ta, &b, &tb, &cfg);
	assert_true(ratelimit_consume(&a, 400, 1));
	assert_true(ratelimit_consume(&a, 700, 1));
	ta += 100 * MS; /* 100 bytes and 1 op accrue */
	ratelimit_save(&a, &st);
	assert_int_equal(st.bandwidth.budget, 400);
	assert_int_equal(st.bandwidth.burst, 0);
	assert_int_equal(st.bandwidth.behind_ns, 100 * MS);
	assert_int_equal(st.ops.budget, 8);
	assert_int_equal(st.blocked, 0);
	assert_int_equal(ratelimit_check_state(&st, "x", &err), 0);
	ratelimit_load(&b, &st);

	for (int round = 0; round < 40; round++) {
		uint64_t bytes = 50 + 37u * (uint64_t)round % 400;
		bool ra = ratelimit_consume(&a, bytes, 1), rb = ratelimit_consume(&b, bytes, 1);
		uint64_t ua = ratelimit_blocked_until(&a), ub = ratelimit_blocked_until(&b);

		assert_int_equal(ra, rb);
		assert_int_equal(ua != 0, ub != 0);
		if (ua != 0)
			assert_int_equal(ua - ta, ub - tb);
		ta += 29 * MS;
		tb += 29 * MS;
	}
	assert_true(a.throttled > 0);
	ratelimit_destroy(&a);
	ratelimit_destroy(&b);
}

/*
 * A limiter blocked by a debt at the save is blocked again for what was
 * left, its timer armed; a bucket configured otherwise here starts full.
 */
static void test_save_load_blocked(void **state)
{
	struct virtio_rate_limit cfg = {.bandwidth = {.size = 1000, .refill_time = 100}};
	struct virtio_rate_limit other = {.bandwidth = {.size = 2000, .refill_time = 100}};
	struct ratelimit a, b;
	struct ratelimit_state st;
	uint64_t ta = 1000 * MS, tb = 7 * MS;

	(void)state;
	pair(&a, &ta, &b, &tb, &cfg);
	assert_true(ratelimit_consume(&a, 3000, 0)); /* oversized: a debt of 2000, 200 ms */
	ta += 50 * MS;
	assert_false(ratelimit_consume(&a, 1, 0));
	ratelimit_save(&a, &st);
	assert_int_equal(st.blocked, 1);
	assert_int_equal(st.blocked_ns, 150 * MS);
	assert_int_equal(st.bandwidth.ahead_ns, 150 * MS);
	ratelimit_load(&b, &st);
	assert_int_equal(ratelimit_blocked_until(&b), tb + 150 * MS);
	assert_true(armed(&b));
	tb += 149 * MS;
	assert_false(ratelimit_consume(&b, 1, 0));
	tb += 1 * MS + 1 * MS / 10; /* the debt paid, 1 byte refilled */
	assert_true(ratelimit_consume(&b, 1, 0));
	ratelimit_destroy(&b);

	/* configured otherwise: the saved buckets do not apply, nothing blocks */
	assert_int_equal(ratelimit_init(&b, &other), 0);
	ratelimit_set_clock(&b, own_clock, &tb);
	ratelimit_load(&b, &st);
	assert_int_equal(ratelimit_blocked_until(&b), 0);
	assert_false(armed(&b));
	assert_true(ratelimit_consume(&b, 2000, 0));
	ratelimit_destroy(&b);
	ratelimit_destroy(&a);
}

/* Hostile states: each refused, naming the field. */
static void test_state_rejects(void **state)
{
	struct virtio_rate_limit cfg = {
	    .bandwidth = {.size = 1000, .one_time_burst = 10, .refill_time = 100}};
	struct ratelimit rl;
	struct ratelimit_state good, bad;
	struct ratelimit_opt_state opt;
	struct vlog_err err;

	(void)state;
	limiter(&rl, &cfg);
	ratelimit_save(&rl, &good);
	assert_int_equal(ratelimit_check_state(&good, "x", &err), 0);
	static const char *const fields[] = {
	    "x.bandwidth.budget", "x.bandwidth.burst", "x.ops.ahead_ns", "x.bandwidth.ahead_ns",
	    "x.ops.behind_ns",	  "x.blocked",	       "x.pad",		 "x.blocked_ns",
	    "x.blocked_ns",
	};
	for (unsigned int i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		bad = good;
		switch (i) {
		case 0:
			bad.bandwidth.budget = 1001;
			break;
		case 1:
			bad.bandwidth.burst = 11;
			break;
		case 2:
			bad.ops.ahead_ns = bad.ops.behind_ns = 1;
			break;
		case 3:
			bad.bandwidth.ahead_ns = RATELIMIT_STATE_MAX_NS + 1;
			break;
		case 4:
			bad.ops.behind_ns = UINT64_MAX;
			break;
		case 5:
			bad.blocked = 2;
			break;
		case 6:
			bad.pad = 1;
			break;
		case 7:
			bad.blocked_ns = 5; /* not blocked */
			break;
		default:
			bad.blocked = 1;
			bad.blocked_ns = RATELIMIT_STATE_MAX_NS + 1;
			break;
		}
		memset(&err, 0, sizeof(err));
		assert_int_equal(ratelimit_check_state(&bad, "x", &err), -EINVAL);
		if (strncmp(err.msg, fields[i], strlen(fields[i])) != 0)
			fail_msg("case %u: \"%s\" does not name %s", i, err.msg, fields[i]);
	}
	/* the optional form: as saved, absent and zero, or refused */
	ratelimit_save_opt(&rl, true, &opt);
	assert_int_equal(ratelimit_check_opt_state(&opt, "dev", &err), 0);
	opt.limiter.bandwidth.budget = 1001;
	assert_int_equal(ratelimit_check_opt_state(&opt, "dev", &err), -EINVAL);
	assert_int_equal(strncmp(err.msg, "dev.limiter.bandwidth.budget", 28), 0);
	ratelimit_save_opt(&rl, false, &opt);
	assert_int_equal(ratelimit_check_opt_state(&opt, "dev", &err), 0);
	opt.limiter.ops.size = 1;
	assert_int_equal(ratelimit_check_opt_state(&opt, "dev", &err), -EINVAL);
	assert_int_equal(strncmp(err.msg, "dev.limiter", 11), 0);
	opt.limiter.ops.size = 0;
	opt.present = 2;
	assert_int_equal(ratelimit_check_opt_state(&opt, "dev", &err), -EINVAL);
	assert_int_equal(strncmp(err.msg, "dev.present", 11), 0);
	ratelimit_destroy(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unlimited),
	    cmocka_unit_test(test_burst_then_size),
	    cmocka_unit_test(test_linear_refill),
	    cmocka_unit_test(test_refill_exact_over_time),
	    cmocka_unit_test(test_ops_and_bandwidth),
	    cmocka_unit_test(test_larger_than_size),
	    cmocka_unit_test(test_ready_and_charge),
	    cmocka_unit_test(test_update_at_runtime),
	    cmocka_unit_test(test_timerfd_fires),
	    cmocka_unit_test(test_save_load),
	    cmocka_unit_test(test_save_load_blocked),
	    cmocka_unit_test(test_state_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
