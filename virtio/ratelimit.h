/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h: Firecracker's rate limiter (src/rate_limiter: RateLimiter,
 * TokenBucket) for the virtio devices: a bandwidth bucket (bytes) and an
 * operations bucket, each of (size) tokens refilled linearly over
 * (refill_time) ms, plus a (one_time_burst) spent first and never refilled.
 * A bucket starts full. size 0 or refill_time 0 leaves that kind unlimited.
 *
 * A request that does not fit is refused and the limiter arms its timerfd
 * for the moment it would fit (Firecracker re-checks every 100 ms; the exact
 * deadline wakes the device once). A request larger than a bucket's size can
 * never fit: as Firecracker (BucketReduction::OverConsumption) it goes
 * through at once, empties the bucket, and the limiter then refuses
 * everything until the excess has refilled. Unlike Firecracker, nothing
 * refills during that wait (the debt is paid, so oversized requests cannot
 * exceed the configured rate). While the timer is armed nothing passes, as
 * Firecracker's timer_active.
 *
 * Time is CLOCK_MONOTONIC in ns (injectable for tests); integer arithmetic
 * only (128-bit products). Not thread-safe: the transport lock serialises.
 */
#ifndef EMBER_VIRTIO_RATELIMIT_H
#define EMBER_VIRTIO_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vlog.h"

/* One bucket as configured (Firecracker's TokenBucket fields). */
struct virtio_rate_bucket {
	uint64_t size;		 /* tokens; 0: unlimited */
	uint64_t one_time_burst; /* extra tokens at the start, never refilled */
	uint64_t refill_time;	 /* ms from empty to (size); 0: unlimited */
};

/* A limiter as configured: bytes and operations. All zero: unlimited. */
struct virtio_rate_limit {
	struct virtio_rate_bucket bandwidth;
	struct virtio_rate_bucket ops;
};

/* ratelimit_clock_fn: now in ns on a monotonic clock. */
typedef uint64_t (*ratelimit_clock_fn)(void *ctx);

struct ratelimit_bucket {
	struct virtio_rate_bucket cfg;
	uint64_t refill_ns; /* cfg.refill_time in ns, saturated */
	uint64_t budget;    /* tokens now, at most cfg.size */
	uint64_t burst;	    /* one_time_burst left */
	uint64_t last;	    /* budget is exact at this time; may be ahead while in debt */
};

struct ratelimit {
	struct ratelimit_bucket bw, ops;
	int timer_fd;
	bool blocked;	/* nothing passes before (until) */
	uint64_t until; /* ns */
	ratelimit_clock_fn clock;
	void *clock_ctx;
	uint64_t throttled; /* times a request was refused (for logs and tests) */
};

/*
 * ratelimit_init: (rl) as configured by (cfg) (NULL: unlimited), buckets
 * full, with its timerfd (CLOCK_MONOTONIC, non-blocking). Create it before
 * seccomp: the VMM thread may arm it later, not create it. 0 or -errno.
 */
int ratelimit_init(struct ratelimit *rl, const struct virtio_rate_limit *cfg);

/*
 * ratelimit_init_untimed: as ratelimit_init, without a timerfd, for a caller
 * that drops what does not fit instead of deferring it (the serial console's
 * output): nothing is ever armed, ratelimit_fd is -1, and a block simply
 * lasts until its time has passed.
 */
void ratelimit_init_untimed(struct ratelimit *rl, const struct virtio_rate_limit *cfg);

/* ratelimit_destroy: close the timerfd (once; sets it to -1). */
void ratelimit_destroy(struct ratelimit *rl);

/*
 * ratelimit_set_clock: use (fn)(ctx) instead of CLOCK_MONOTONIC (tests).
 * The buckets count from the new clock's now. The timerfd is still armed
 * with the relative delays the new clock implies.
 */
void ratelimit_set_clock(struct ratelimit *rl, ratelimit_clock_fn fn, void *ctx);

/* ratelimit_fd: the timerfd: readable when a refused request may be retried. */
int ratelimit_fd(const struct ratelimit *rl);

/* ratelimit_unlimited: neither bucket limits anything (now). */
bool ratelimit_unlimited(const struct ratelimit *rl);

/*
 * ratelimit_update: new buckets (Firecracker's PATCH rate_limiter). A bucket
 * whose configuration is unchanged keeps its state; a changed one starts
 * full (as Firecracker's update_buckets). Lifts the current block and
 * disarms the timer: the caller retries its deferred work at once.
 */
void ratelimit_update(struct ratelimit *rl, const struct virtio_rate_limit *cfg);

/*
 * ratelimit_consume: take (bytes) from the bandwidth bucket and (ops) from
 * the operations bucket, both or neither. true: go ahead (possibly leaving
 * the limiter blocked after an oversized request). false: defer the request,
 * nothing was taken; the timerfd fires when it would fit.
 */
bool ratelimit_consume(struct ratelimit *rl, uint64_t bytes, uint64_t ops);

/*
 * ratelimit_ready: a request of unknown size may start now (not blocked,
 * each limited bucket holds a token). false: the timerfd is armed. Pair with
 * ratelimit_charge once the size is known (virtio-net receive).
 */
bool ratelimit_ready(struct ratelimit *rl);

/*
 * ratelimit_charge: take (bytes, ops) whatever the budget: what is missing
 * becomes a debt that blocks the limiter until it has refilled.
 */
void ratelimit_charge(struct ratelimit *rl, uint64_t bytes, uint64_t ops);

/*
 * ratelimit_event: the timerfd fired (drain it). The next consume or ready
 * decides, by the clock, whether the block is over.
 */
void ratelimit_event(struct ratelimit *rl);

/* ratelimit_blocked_until: when the current block ends (ns), 0 when not blocked. */
uint64_t ratelimit_blocked_until(const struct ratelimit *rl);

/*
 * Snapshots (state.h rules: fixed-width fields, explicit pads). Times are
 * durations from the moment of the save, never instants of a monotonic
 * clock: a new process's clock has another origin, and the time the VM
 * spent saved does not count (the buckets go on as they were).
 */
struct ratelimit_bucket_state {
	uint64_t size, one_time_burst, refill_time; /* the configuration when saved */
	uint64_t budget;			    /* tokens, at most size */
	uint64_t burst;	    /* one-time burst left, at most one_time_burst */
	uint64_t ahead_ns;  /* the budget is exact this long after the save (a debt) */
	uint64_t behind_ns; /* ... or was exact this long before it (tokens accruing) */
};

struct ratelimit_state {
	struct ratelimit_bucket_state bandwidth, ops;
	uint32_t blocked; /* 0 or 1 */
	uint32_t pad;
	uint64_t blocked_ns; /* nothing passes for this long after the save */
};

_Static_assert(sizeof(struct ratelimit_state) == 128, "ratelimit_state layout");

/* Longest duration a saved limiter may name (146 years): keeps every sum in 64 bits. */
#define RATELIMIT_STATE_MAX_NS (1ull << 62)

/* ratelimit_save: (rl)'s buckets and block into (st), relative to now. */
void ratelimit_save(const struct ratelimit *rl, struct ratelimit_state *st);

/*
 * ratelimit_check_state: whether (st) is a state ratelimit_load takes. 0, or
 * -EINVAL with one line in (err) naming the field, prefixed with (field)
 * ("dev.limiter" gives "dev.limiter.ops.budget: ...").
 */
int ratelimit_check_state(const struct ratelimit_state *st, const char *field,
			  struct vlog_err *err);

/*
 * ratelimit_load: (rl) (created with this device's configuration) goes on
 * from (st), which ratelimit_check_state accepted, counting from now: a
 * bucket whose configuration is the one saved takes the saved tokens and
 * timing; one configured otherwise stays as it is (a changed limit starts
 * anew, as with ratelimit_update). A block still running at the save (and
 * both buckets as saved) blocks again for what was left of it, the timerfd
 * armed (timerfd_settime: no new fd).
 */
void ratelimit_load(struct ratelimit *rl, const struct ratelimit_state *st);

/*
 * A device whose limiter is optional (virtio-blk, virtio-rng) keeps it in a
 * snapshot as a struct ratelimit_opt_state: (present) 0 or 1, (limiter)
 * all zero without one. ratelimit_save_opt fills it from (rl) when
 * (present); ratelimit_check_opt_state checks it as ratelimit_check_state
 * does, (field) naming it; ratelimit_load_opt loads a saved limiter into
 * (rl) when the device has one ((present)): a limiter saved by a device
 * configured without one, or the other way round, leaves the configuration
 * here as it is.
 */
struct ratelimit_opt_state {
	uint32_t present;
	uint32_t pad;
	struct ratelimit_state limiter;
};

_Static_assert(sizeof(struct ratelimit_opt_state) == 136, "ratelimit_opt_state layout");

void ratelimit_save_opt(const struct ratelimit *rl, bool present, struct ratelimit_opt_state *st);
int ratelimit_check_opt_state(const struct ratelimit_opt_state *st, const char *field,
			      struct vlog_err *err);
void ratelimit_load_opt(struct ratelimit *rl, bool present, const struct ratelimit_opt_state *st);

#endif /* EMBER_VIRTIO_RATELIMIT_H */
