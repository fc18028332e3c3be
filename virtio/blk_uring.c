// SPDX-License-Identifier: Apache-2.0
/* blk_uring.c: virtio-blk's io_uring engine: requests queued on a ring, finished on an eventfd. */
#include "blk_engine.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct uring {
	struct io_uring ring;
	int efd; /* completion eventfd, registered with the ring */
};

/* uring_submit: queue (io), tagged (tag) in user_data; declined when no entry is free. */
static int uring_submit(void *eng, int fd, struct blk_io *io, uint64_t tag)
{
	struct uring *u = eng;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe == NULL) {
		(void)io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
		if (sqe == NULL)
			return BLK_IO_DECLINED;
	}
	if (io->op == BLK_IO_FLUSH)
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	else if (io->op == BLK_IO_WRITE)
		io_uring_prep_writev(sqe, fd, io->iov, io->niov, io->offset);
	else
		io_uring_prep_readv(sqe, fd, io->iov, io->niov, io->offset);
	sqe->user_data = tag;
	return BLK_IO_QUEUED;
}

static int uring_push(void *eng)
{
	struct uring *u = eng;
	int rc = io_uring_submit(&u->ring);

	return rc < 0 ? rc : 0;
}

static bool uring_reap(void *eng, uint64_t *tag, int *res)
{
	struct uring *u = eng;
	struct io_uring_cqe *cqe;

	if (io_uring_peek_cqe(&u->ring, &cqe) != 0)
		return false;
	*tag = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(&u->ring, cqe);
	return true;
}

/* uring_wait: submit what is queued and wait for one completion (io_uring_enter). */
static int uring_wait(void *eng)
{
	struct uring *u = eng;
	int rc = io_uring_submit_and_wait(&u->ring, 1);

	return rc < 0 ? rc : 0;
}

static int uring_ack(void *eng)
{
	const struct uring *u = eng;
	uint64_t count;

	if (read(u->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int uring_event_fd(void *eng)
{
	const struct uring *u = eng;

	return u->efd;
}

static void uring_destroy(void *eng)
{
	struct uring *u = eng;

	io_uring_queue_exit(&u->ring);
	close(u->efd);
	free(u);
}

static const char *uring_call(enum blk_io_op op)
{
	(void)op;
	return "io_uring request";
}

static const struct blk_engine_ops uring_ops = {
    .call = uring_call,
    .push_call = "io_uring_submit",
    .submit = uring_submit,
    .push = uring_push,
    .reap = uring_reap,
    .wait = uring_wait,
    .ack = uring_ack,
    .event_fd = uring_event_fd,
    .destroy = uring_destroy,
};

int blk_uring_create(unsigned int depth, const struct blk_engine_ops **ops, void **eng)
{
	struct uring *u = calloc(1, sizeof(*u));
	int rc;

	if (u == NULL)
		return -ENOMEM;
	rc = io_uring_queue_init(depth, &u->ring, 0);
	if (rc < 0) {
		free(u);
		return rc;
	}
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rc = u->efd < 0 ? -errno : io_uring_register_eventfd(&u->ring, u->efd);
	if (rc < 0) {
		if (u->efd >= 0)
			close(u->efd);
		io_uring_queue_exit(&u->ring);
		free(u);
		return rc;
	}
	*ops = &uring_ops;
	*eng = u;
	return 0;
}
