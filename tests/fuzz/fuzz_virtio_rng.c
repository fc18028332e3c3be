// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_virtio_rng.c: virtio-rng driven by a hostile driver (fuzz_virtio.c).
 * The first input byte picks the plain device or the one with a rate limiter;
 * host actions: new limits, the counters.
 */
#include <string.h>

#include "fuzz_util.h"
#include "fuzz_virtio.h"
#include "rng.h"

/* Harness state: the devices live as long as the process. */
static struct fzv rngs[2]; /* [0] plain, [1] rate limited */
static bool limits_set;

static int set_limiter(void *dev, void *arg)
{
	return rng_set_limiter(dev, arg);
}

static int get_stats(void *dev, void *arg)
{
	rng_get_stats(dev, arg);
	return 0;
}

static void host_op(struct fzv *v, struct fz *in)
{
	if (fz_u8(in) & 1) {
		struct rng_stats s;
		(void)virtio_mmio_with_lock(v->t, get_stats, &s);
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
	dev = rng_create(&ops, NULL);
	fzv_attach(&rngs[0], ops, dev, &hooks, NULL);
	dev = rng_create_limited(&unlimited, &ops, NULL);
	fzv_attach(&rngs[1], ops, dev, &hooks, NULL);
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
