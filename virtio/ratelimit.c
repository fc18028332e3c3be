// SPDX-License-Identifier: Apache-2.0
/* ratelimit.c: Firecracker's token-bucket rate limiter, integer time in ns, one timerfd. */
#include "ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vlog.h"

#define NS_PER_MS 1000000ull

/* Room for a field's name in a snapshot's error line ("dev.limiter"). */
#define FIELD_BYTES 64

typedef unsigned __int128 u128;

enum fit { FIT, SHORT, OVER };

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool limited(const struct ratelimit_bucket *b)
{
	return b->cfg.size != 0 && b->cfg.refill_time != 0;
}

/* div_ceil: ceil(a / b) saturated to 64 bits; b > 0. */
static uint64_t div_ceil(u128 a, uint64_t b)
{
	u128 q = (a + b - 1) / b;

	return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

/* refill_delay: ns for (tokens) to refill into (b). */
static uint64_t refill_delay(const struct ratelimit_bucket *b, uint64_t tokens)
{
	return div_ceil((u128)tokens * b->refill_ns, b->cfg.size);
}

static void bucket_init(struct ratelimit_bucket *b, const struct virtio_rate_bucket *cfg,
			uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (cfg != NULL)
		b->cfg = *cfg;
	b->refill_ns = b->cfg.refill_time > UINT64_MAX / NS_PER_MS ? UINT64_MAX
								   : b->cfg.refill_time * NS_PER_MS;
	b->budget = b->cfg.size;
	b->burst = b->cfg.one_time_burst;
	b->last = now;
}

/*
 * refill: add what accrued since (last), linearly, never above size. Only
 * whole tokens are added and (last) moves by the time they took, so no
 * fraction is lost or gained; a full bucket accrues nothing.
 */
static void refill(struct ratelimit_bucket *b, uint64_t now)
{
	uint64_t elapsed, tokens;

	if (!limited(b) || now <= b->last)
		return;
	elapsed = now - b->last;
	if (b->budget >= b->cfg.size || elapsed >= b->refill_ns) {
		b->budget = b->cfg.size;
		b->last = now;
		return;
	}
	tokens = (uint64_t)((u128)elapsed * b->cfg.size / b->refill_ns);
	if (tokens == 0)
		return;
	if (tokens >= b->cfg.size - b->budget) {
		b->budget = b->cfg.size;
		b->last = now;
		return;
	}
	b->budget += tokens;
	b->last += refill_delay(b, tokens); /* <= elapsed: tokens was rounded down */
}

/* check: can (n) tokens come out of (b) now (after refill)? SHORT sets (*when). */
static enum fit check(const struct ratelimit_bucket *b, uint64_t n, uint64_t *when)
{
	uint64_t rest;

	if (!limited(b) || n <= b->burst)
		return FIT;
	rest = n - b->burst;
	if (rest <= b->budget)
		return FIT;
	if (rest > b->cfg.size)
		return OVER;
	*when = b->last + refill_delay(b, rest - b->budget);
	return SHORT;
}

/* take: (n) tokens out of (b), burst first; a shortfall is a debt. Returns the ns it blocks. */
static uint64_t take(struct ratelimit_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t debt, delay;

	if (!limited(b))
		return 0;
	if (n <= b->burst) {
		b->burst -= n;
		return 0;
	}
	n -= b->burst;
	b->burst = 0;
	if (n <= b->budget) {
		b->budget -= n;
		return 0;
	}
	debt = n - b->budget;
	b->budget = 0;
	delay = refill_delay(b, debt);
	/* Nothing accrues until the debt is paid. */
	b->last = (now > b->last ? now : b->last) + delay;
	return b->last - now;
}

/* arm: wake the device (delay) ns from now; 0 disarms. */
static void arm(struct ratelimit *rl, uint64_t delay)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = (time_t)(delay / 1000000000ull);
	its.it_value.tv_nsec = (long)(delay % 1000000000ull);
	if (rl->timer_fd >= 0 && timerfd_settime(rl->timer_fd, 0, &its, NULL) < 0)
		vlog_warn_errno(errno, "virtio: rate limiter: timerfd_settime");
}

static void block(struct ratelimit *rl, uint64_t until, uint64_t now)
{
	rl->blocked = true;
	rl->until = until > now ? until : now + 1;
	arm(rl, rl->until - now);
}

/* still_blocked: true (timer re-armed) while an earlier block lasts. */
static bool still_blocked(struct ratelimit *rl, uint64_t now)
{
	if (!rl->blocked)
		return false;
	if (now < rl->until) {
		arm(rl, rl->until - now); /* an early wakeup must not lose the next one */
		return true;
	}
	rl->blocked = false;
	return false;
}

int ratelimit_init(struct ratelimit *rl, const struct virtio_rate_limit *cfg)
{
	memset(rl, 0, sizeof(*rl));
	rl->clock = monotonic_ns;
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rl->timer_fd < 0)
		return -errno;
	bucket_init(&rl->bw, cfg != NULL ? &cfg->bandwidth : NULL, monotonic_ns(NULL));
	bucket_init(&rl->ops, cfg != NULL ? &cfg->ops : NULL, monotonic_ns(NULL));
	return 0;
}

void ratelimit_init_untimed(struct ratelimit *rl, const struct virtio_rate_limit *cfg)
{
	memset(rl, 0, sizeof(*rl));
	rl->clock = monotonic_ns;
	rl->timer_fd = -1;
	bucket_init(&rl->bw, cfg != NULL ? &cfg->bandwidth : NULL, monotonic_ns(NULL));
	bucket_init(&rl->ops, cfg != NULL ? &cfg->ops : NULL, monotonic_ns(NULL));
}

void ratelimit_destroy(struct ratelimit *rl)
{
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
}

void ratelimit_set_clock(struct ratelimit *rl, ratelimit_clock_fn fn, void *ctx)
{
	rl->clock = fn;
	rl->clock_ctx = ctx;
	rl->bw.last = rl->ops.last = fn(ctx);
	rl->blocked = false;
}

int ratelimit_fd(const struct ratelimit *rl)
{
	return rl->timer_fd;
}

bool ratelimit_unlimited(const struct ratelimit *rl)
{
	return !limited(&rl->bw) && !limited(&rl->ops);
}

void ratelimit_update(struct ratelimit *rl, const struct virtio_rate_limit *cfg)
{
	static const struct virtio_rate_limit none;
	uint64_t now = rl->clock(rl->clock_ctx);

	if (cfg == NULL)
		cfg = &none;
	/* A changed bucket starts full, as Firecracker's update_buckets; an unchanged one stays. */
	if (memcmp(&rl->bw.cfg, &cfg->bandwidth, sizeof(cfg->bandwidth)) != 0)
		bucket_init(&rl->bw, &cfg->bandwidth, now);
	if (memcmp(&rl->ops.cfg, &cfg->ops, sizeof(cfg->ops)) != 0)
		bucket_init(&rl->ops, &cfg->ops, now);
	rl->blocked = false;
	rl->until = 0;
	arm(rl, 0);
}

void ratelimit_charge(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t now, a, b;

	if (ratelimit_unlimited(rl))
		return;
	now = rl->clock(rl->clock_ctx);
	refill(&rl->bw, now);
	refill(&rl->ops, now);
	a = take(&rl->bw, bytes, now);
	b = take(&rl->ops, ops, now);
	if (a > 0 || b > 0)
		block(rl, now + (a > b ? a : b), now);
}

bool ratelimit_consume(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	uint64_t now, when_bw = 0, when_ops = 0;
	enum fit f_bw, f_ops;

	if (ratelimit_unlimited(rl)) /* never blocked then: update lifts blocks */
		return true;
	now = rl->clock(rl->clock_ctx);
	if (still_blocked(rl, now))
		return false;
	refill(&rl->bw, now);
	refill(&rl->ops, now);
	f_bw = check(&rl->bw, bytes, &when_bw);
	f_ops = check(&rl->ops, ops, &when_ops);
	if (f_bw == SHORT || f_ops == SHORT) {
		rl->throttled++;
		block(rl, when_bw > when_ops ? when_bw : when_ops, now);
		return false;
	}
	ratelimit_charge(rl, bytes, ops);
	return true;
}

bool ratelimit_ready(struct ratelimit *rl)
{
	uint64_t now, when_bw = 0, when_ops = 0;
	enum fit f_bw, f_ops;

	if (ratelimit_unlimited(rl))
		return true;
	now = rl->clock(rl->clock_ctx);
	if (still_blocked(rl, now))
		return false;
	refill(&rl->bw, now);
	refill(&rl->ops, now);
	f_bw = check(&rl->bw, 1, &when_bw);
	f_ops = check(&rl->ops, 1, &when_ops);
	if (f_bw == SHORT || f_ops == SHORT) {
		rl->throttled++;
		block(rl, when_bw > when_ops ? when_bw : when_ops, now);
		return false;
	}
	return true;
}

void ratelimit_event(struct ratelimit *rl)
{
	uint64_t expirations;

	if (read(rl->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		vlog_warn_errno(errno, "virtio: rate limiter: timerfd read");
}

uint64_t ratelimit_blocked_until(const struct ratelimit *rl)
{
	return rl->blocked ? rl->until : 0;
}

/* ---- snapshots ---- */

/* clamp_ns: (ns) within what a state may say; longer is as good as forever. */
static uint64_t clamp_ns(uint64_t ns)
{
	return ns < RATELIMIT_STATE_MAX_NS ? ns : RATELIMIT_STATE_MAX_NS;
}

static void bucket_save(const struct ratelimit_bucket *b, uint64_t now,
			struct ratelimit_bucket_state *st)
{
	st->size = b->cfg.size;
	st->one_time_burst = b->cfg.one_time_burst;
	st->refill_time = b->cfg.refill_time;
	st->budget = b->budget;
	st->burst = b->burst;
	st->ahead_ns = b->last > now ? clamp_ns(b->last - now) : 0;
	st->behind_ns = b->last < now ? clamp_ns(now - b->last) : 0;
}

void ratelimit_save(const struct ratelimit *rl, struct ratelimit_state *st)
{
	uint64_t now = rl->clock(rl->clock_ctx);

	memset(st, 0, sizeof(*st));
	bucket_save(&rl->bw, now, &st->bandwidth);
	bucket_save(&rl->ops, now, &st->ops);
	st->blocked = rl->blocked && rl->until > now;
	st->blocked_ns = st->blocked ? clamp_ns(rl->until - now) : 0;
}

static int bucket_check(const struct ratelimit_bucket_state *st, const char *field,
			const char *name, struct vlog_err *err)
{
	if (st->budget > st->size) {
		vlog_err_set(err, 0, "%s.%s.budget: %llu is above its size %llu", field, name,
			     (unsigned long long)st->budget, (unsigned long long)st->size);
		return -EINVAL;
	}
	if (st->burst > st->one_time_burst) {
		vlog_err_set(err, 0, "%s.%s.burst: %llu is above its one_time_burst %llu", field,
			     name, (unsigned long long)st->burst,
			     (unsigned long long)st->one_time_burst);
		return -EINVAL;
	}
	if (st->ahead_ns != 0 && st->behind_ns != 0) {
		vlog_err_set(err, 0, "%s.%s.ahead_ns: both ahead_ns and behind_ns are set", field,
			     name);
		return -EINVAL;
	}
	if (st->ahead_ns > RATELIMIT_STATE_MAX_NS || st->behind_ns > RATELIMIT_STATE_MAX_NS) {
		vlog_err_set(err, 0, "%s.%s.%s: more than %llu ns", field, name,
			     st->ahead_ns != 0 ? "ahead_ns" : "behind_ns",
			     (unsigned long long)RATELIMIT_STATE_MAX_NS);
		return -EINVAL;
	}
	return 0;
}

int ratelimit_check_state(const struct ratelimit_state *st, const char *field, struct vlog_err *err)
{
	if (bucket_check(&st->bandwidth, field, "bandwidth", err) < 0 ||
	    bucket_check(&st->ops, field, "ops", err) < 0)
		return -EINVAL;
	if (st->blocked > 1) {
		vlog_err_set(err, 0, "%s.blocked: %u is not 0 or 1", field, st->blocked);
		return -EINVAL;
	}
	if (st->pad != 0) {
		vlog_err_set(err, 0, "%s.pad: not zero", field);
		return -EINVAL;
	}
	if (st->blocked_ns > RATELIMIT_STATE_MAX_NS || (st->blocked_ns != 0) != st->blocked) {
		vlog_err_set(err, 0, "%s.blocked_ns: %llu with blocked %u", field,
			     (unsigned long long)st->blocked_ns, st->blocked);
		return -EINVAL;
	}
	return 0;
}

/* bucket_load: (b) goes on from (st) when configured as saved. Returns whether it did. */
static bool bucket_load(struct ratelimit_bucket *b, const struct ratelimit_bucket_state *st,
			uint64_t now)
{
	if (b->cfg.size != st->size || b->cfg.one_time_burst != st->one_time_burst ||
	    b->cfg.refill_time != st->refill_time)
		return false;
	b->budget = st->budget;
	b->burst = st->burst;
	/* Earlier than now by more than a refill is a full bucket all the same. */
	b->last = st->ahead_ns != 0 ? now + st->ahead_ns
				    : now - (st->behind_ns < now ? st->behind_ns : now);
	return true;
}

void ratelimit_load(struct ratelimit *rl, const struct ratelimit_state *st)
{
	uint64_t now = rl->clock(rl->clock_ctx);
	bool same = bucket_load(&rl->bw, &st->bandwidth, now);

	same = bucket_load(&rl->ops, &st->ops, now) && same;
	rl->blocked = false;
	rl->until = 0;
	if (same && st->blocked && !ratelimit_unlimited(rl))
		block(rl, now + st->blocked_ns, now);
	else
		arm(rl, 0);
}

void ratelimit_save_opt(const struct ratelimit *rl, bool present, struct ratelimit_opt_state *st)
{
	memset(st, 0, sizeof(*st));
	st->present = present;
	if (present)
		ratelimit_save(rl, &st->limiter);
}

int ratelimit_check_opt_state(const struct ratelimit_opt_state *st, const char *field,
			      struct vlog_err *err)
{
	static const struct ratelimit_state none;

	if (st->present > 1 || st->pad != 0) {
		vlog_err_set(err, 0, "%s.present: %u (pad %u)", field, st->present, st->pad);
		return -EINVAL;
	}
	if (st->present) {
		char inner[FIELD_BYTES];
		snprintf(inner, sizeof(inner), "%s.limiter", field);
		return ratelimit_check_state(&st->limiter, inner, err);
	}
	if (memcmp(&st->limiter, &none, sizeof(none)) != 0) {
		vlog_err_set(err, 0, "%s.limiter: not zero, and not present", field);
		return -EINVAL;
	}
	return 0;
}

void ratelimit_load_opt(struct ratelimit *rl, bool present, const struct ratelimit_opt_state *st)
{
	if (present && st->present)
		ratelimit_load(rl, &st->limiter);
}
