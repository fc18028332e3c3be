// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_virtio_rng.c: virtio-rng driven by a hostile driver (fuzz_virtio.c).
 * The first input byte picks the plain device or the one with a rate limiter;
 * host actions: new limits, a look at the device's metric group.
 */
#include <string.h>

#include "fuzz_util.h"
#include "fuzz_virtio.h"
#include "rng.h"

/* Harness state: the devices live as long as the process. */
static struct fzv rngs[2];		 /* [0] plain, [1] rate limited */
static struct entropy_metrics groups[2]; /* what each counts into */
static bool limits_set;

static int set_limiter(void *dev, void *arg)
{
	return rng_set_limiter(dev, arg);
}

static void host_op(struct fzv *v, struct fz *in)
{
	if (fz_u8(in) & 1) {
		const struct entropy_metrics *g = v->ctx;
		/* Only a limited device waits for tokens; getrandom() does not fail here. */
		FZ_CHECK(g != &groups[0] || g->entropy_rate_limiter_throttled == 0,
			 "the plain device was throttled");
		FZ_CHECK(g->host_rng_fails == 0, "getrandom() failed");
		return;
	}
	struct virtio_rate_limit l = {
	    .bandwidth = {.size = fz_u32(in),
			  .one_time_burst = fz_u16(in),
			  .refill_time = fz_u8(in)},
	    .ops = {.size = fz_u8(in), .one_time_burst = fz_u8(in), .refill_time = fz_u8(in)},
	};
	(void)virtio_mmio_with_lock(v->t, set_limiter, &l);
	limits_set = true;
}

static void cleanup(struct fzv *v)
{
	if (limits_set) {
		struct virtio_rate_limit none = {0};
		(void)virtio_mmio_with_lock(v->t, set_limiter, &none);
		limits_set = false;
	}
}

static const struct fzv_hooks hooks = {.host_op = host_op, .cleanup = cleanup};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct virtio_rate_limit unlimited;
	const struct virtio_device_ops *ops = NULL;
	void *dev;

	(void)argc;
	(void)argv;
	fzv_quiet_logs();
	dev = rng_create(&groups[0], &ops, NULL);
	fzv_attach(&rngs[0], ops, dev, &hooks, &groups[0]);
	dev = rng_create_limited(&unlimited, &groups[1], &ops, NULL);
	fzv_attach(&rngs[1], ops, dev, &hooks, &groups[1]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds = fz_fd_count();
	struct fz in;

	fz_init(&in, data, size);
	fzv_run(&rngs[fz_u8(&in) & 1], &in);
	FZ_CHECK(fz_fd_count() == fds, "file descriptors: %d open, %d before the input",
		 fz_fd_count(), fds);
	return 0;
}
