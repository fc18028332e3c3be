// SPDX-License-Identifier: Apache-2.0
/* blk_sync.c: virtio-blk's sync engine: preadv/pwritev/fdatasync within the call. */
#include "blk_engine.h"

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* rw_all: the whole transfer, resuming after short counts and EINTR. 0 or -errno. */
static int rw_all(int fd, struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t done = write ? pwritev(fd, iov, (int)n, (off_t)off)
				     : preadv(fd, iov, (int)n, (off_t)off);
		if (done < 0 && errno == EINTR)
			continue;
		if (done < 0)
			return -errno;
		if (done == 0)
			return -EIO; /* the file shrank under us */
		off += (uint64_t)done;
		while (n > 0 && (size_t)done >= iov->iov_len) {
			done -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

static int sync_submit(void *eng, int fd, struct blk_io *io, uint64_t tag)
{
	(void)eng;
	(void)tag;
	if (io->op == BLK_IO_FLUSH)
		return fdatasync(fd) == 0 ? 0 : -errno;
	return rw_all(fd, io->iov, io->niov, io->offset, io->op == BLK_IO_WRITE);
}

static const char *sync_call(enum blk_io_op op)
{
	return op == BLK_IO_FLUSH ? "fdatasync" : op == BLK_IO_WRITE ? "pwritev" : "preadv";
}

const struct blk_engine_ops blk_sync_engine = {
    .call = sync_call,
    .submit = sync_submit,
};
