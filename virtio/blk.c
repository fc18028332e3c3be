// SPDX-License-Identifier: Apache-2.0
/* blk.c: virtio-blk over a raw file or block device; the host I/O is an engine's (blk_engine.h). */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blk_engine.h"
#include "mmio.h"
#include "queue.h"
#include "state.h"
#include "vlog.h"

_Static_assert(sizeof(struct virtio_blk_config_space) == 36, "virtio-blk config layout (5.2.4)");

/*
 * What a snapshot keeps of a disk besides its queue (state.h): its optional
 * rate limiter (struct ratelimit_opt_state). The file, its size and id come
 * from the configuration again; quiesce finished the requests in flight.
 */
_Static_assert(sizeof(struct ratelimit_opt_state) <= VIRTIO_DEV_STATE_MAX, "virtio-blk's part");

#define PENDING (-1) /* parse: the request needs I/O */
#define QUEUED	(-2) /* start: the engine has the request, it finishes later */

/* The tags of the device's fds in the monitor's loop (ops->fd_ready). */
#define TAG_DONE  0 /* the engine's completion fd */
#define TAG_TIMER 1 /* the rate limiter's timerfd */

/* Request-level problems (the chain itself was valid), each logged once per disk. */
enum blk_error {
	ERR_NO_STATUS, /* no writable byte for the status */
	ERR_HEADER,    /* fewer than 16 readable bytes */
	ERR_LAYOUT,    /* data in the wrong direction, not whole sectors, > 4 GiB */
	ERR_RANGE,     /* past the end of the disk */
	ERR_RO,	       /* write to a read-only disk */
	ERR_UNSUPP,    /* unknown request type */
	ERR_IO,	       /* the host I/O failed */
};

/* One request, parsed; its data segments point into its chain's iovecs. */
struct blk_req {
	uint32_t type;
	uint64_t offset;   /* bytes into the disk */
	struct iovec *iov; /* data segments */
	unsigned int niov;
	uint64_t len;	  /* data bytes */
	uint8_t *status;  /* the status byte in guest memory; NULL when there is none */
	uint32_t used;	  /* used.len when the request succeeds */
	bool exec_failed; /* the host I/O failed (not the request) */
};

/* A request from pop to completion; the engine's tag is the slot's index. */
struct blk_slot {
	bool busy; /* the engine has it */
	struct blk_req req;
	struct virtq_chain chain;
};

struct blk {
	char *path;
	char *who; /* "virtio-blk: <path>": what its log lines start with */
	int fd;
	bool read_only;
	uint64_t capacity; /* sectors */
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config_space cfg;
	struct virtio_mmio_dev *t; /* set between activate and reset */
	enum blk_engine engine;
	struct vlog_limit log; /* request problems, each kind logged once */
	/* Where it counts: the monitor's group (dev_metrics.h), or (own). */
	struct block_metrics *metrics;
	struct block_metrics own;

	/* The engine, and a slot per request it may hold (one when it never queues). */
	const struct blk_engine_ops *io;
	void *io_state;
	struct blk_slot *slots;
	unsigned int nslots;
	uint16_t free[BLK_QUEUE_SIZE];
	unsigned int nfree;
	unsigned int inflight; /* queued in the engine */
	bool starved;	       /* stopped popping for lack of a slot */

	/* Rate limiting (cfg->limiter given). */
	bool has_limiter;
	struct ratelimit rl;
	struct virtio_watcher w;   /* the monitor's loop, from blk_attach */
	struct blk_slot *deferred; /* parsed, waiting for tokens; off the free list */
};

/*
 * parse: split chain (c) into header, data and status (5.2.6) without
 * assuming how the driver framed it into descriptors (2.7.4): the header is
 * the first 16 readable bytes, the status the last writable byte. Trims (c)'s
 * iovecs in place. Returns PENDING when I/O is needed, else the status to
 * complete with now.
 */
static int parse(struct blk *b, struct virtq_chain *c, struct blk_req *r)
{
	uint8_t hdr[VIRTIO_BLK_HDR_BYTES];
	uint64_t sector, skip = VIRTIO_BLK_HDR_BYTES, rlen, wlen;
	struct iovec *last;
	unsigned int i = 0;

	memset(r, 0, sizeof(*r));
	if (c->write_len == 0) {
		vlog_limited(&b->log, b->who, ERR_NO_STATUS,
			     "request at head %u has no writable status byte", c->head);
		return VIRTIO_BLK_S_IOERR;
	}
	last = &c->iov[c->niov - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	if (--last->iov_len == 0)
		c->niov--;
	wlen = c->write_len - 1;
	r->used = 1;

	if (vq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		vlog_limited(&b->log, b->who, ERR_HEADER,
			     "request at head %u: header shorter than 16 bytes", c->head);
		return VIRTIO_BLK_S_IOERR;
	}
	memcpy(&r->type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	while (skip > 0) { /* drop the header from the readable iovecs */
		if (c->iov[i].iov_len <= skip) {
			skip -= c->iov[i].iov_len;
			i++;
		} else {
			c->iov[i].iov_base = (uint8_t *)c->iov[i].iov_base + skip;
			c->iov[i].iov_len -= skip;
			skip = 0;
		}
	}
	rlen = c->read_len - VIRTIO_BLK_HDR_BYTES;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		if (rlen != 0) {
			vlog_limited(&b->log, b->who, ERR_LAYOUT,
				     "IN request with %llu readable data bytes",
				     (unsigned long long)rlen);
			return VIRTIO_BLK_S_IOERR;
		}
		r->iov = &c->iov[c->nread];
		r->niov = c->niov - c->nread;
		r->len = wlen;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only) {
			vlog_limited(&b->log, b->who, ERR_RO, "write to a read-only disk refused");
			return VIRTIO_BLK_S_IOERR;
		}
		if (wlen != 0) {
			vlog_limited(&b->log, b->who, ERR_LAYOUT,
				     "OUT request with %llu writable data bytes",
				     (unsigned long long)wlen);
			return VIRTIO_BLK_S_IOERR;
		}
		r->iov = &c->iov[i];
		r->niov = c->nread - i;
		r->len = rlen;
		break;
	case VIRTIO_BLK_T_FLUSH:
		/* Nothing was ever written through a read-only disk. */
		return b->read_only ? VIRTIO_BLK_S_OK : PENDING;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = wlen < VIRTIO_BLK_ID_BYTES ? wlen : VIRTIO_BLK_ID_BYTES;
		/* The status byte was trimmed off: this cannot overwrite it. */
		r->used = (uint32_t)vq_chain_write(c, 0, b->id, n) + 1;
		return VIRTIO_BLK_S_OK;
	}
	default:
		vlog_limited(&b->log, b->who, ERR_UNSUPP, "request type %u unsupported", r->type);
		return VIRTIO_BLK_S_UNSUPP;
	}

	if (r->len % VIRTIO_BLK_SECTOR != 0 || r->len >= UINT32_MAX) {
		vlog_limited(&b->log, b->who, ERR_LAYOUT,
			     "data length %llu is not a whole number of sectors below 4 GiB",
			     (unsigned long long)r->len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (sector > b->capacity || r->len / VIRTIO_BLK_SECTOR > b->capacity - sector) {
		vlog_limited(&b->log, b->who, ERR_RANGE,
			     "sector %llu + %llu bytes past the end (%llu sectors)",
			     (unsigned long long)sector, (unsigned long long)r->len,
			     (unsigned long long)b->capacity);
		return VIRTIO_BLK_S_IOERR;
	}
	r->offset = sector * VIRTIO_BLK_SECTOR;
	if (r->type == VIRTIO_BLK_T_IN)
		r->used += (uint32_t)r->len;
	return r->len == 0 ? VIRTIO_BLK_S_OK : PENDING;
}

/* count: a finished request in the device's metric group. */
static void count(struct blk *b, const struct blk_req *r, int status)
{
	struct block_metrics *m = b->metrics;

	if (status != VIRTIO_BLK_S_OK) {
		metrics_inc(r->exec_failed ? &m->execute_fails : &m->invalid_reqs_count);
		return;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		metrics_inc(&m->read_count);
		metrics_add(&m->read_bytes, r->len);
		break;
	case VIRTIO_BLK_T_OUT:
		metrics_inc(&m->write_count);
		metrics_add(&m->write_bytes, r->len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		metrics_inc(&m->flush_count);
		break;
	default:
		break;
	}
}

/* complete: write the status byte, return the chain with the bytes written. */
static void complete(struct blk *b, struct virtq *q, const struct virtq_chain *c,
		     const struct blk_req *r, int status)
{
	uint32_t used = 0;

	count(b, r, status);

	if (r->status != NULL) {
		*r->status = (uint8_t)status;
		used = status == VIRTIO_BLK_S_OK ? r->used : 1;
	}
	vq_push(q, c, used);
}

/* slot_index: (s)'s place in the pool, its tag in the engine. */
static uint16_t slot_index(const struct blk *b, const struct blk_slot *s)
{
	return (uint16_t)(s - b->slots);
}

/* io_op: what the engine does for request (r). */
static enum blk_io_op io_op(const struct blk_req *r)
{
	if (r->type == VIRTIO_BLK_T_FLUSH)
		return BLK_IO_FLUSH;
	return r->type == VIRTIO_BLK_T_OUT ? BLK_IO_WRITE : BLK_IO_READ;
}

/* engine_fd: the engine's completion fd, or -1 (one that never queues has none). */
static int engine_fd(const struct blk *b)
{
	return b->io->event_fd != NULL ? b->io->event_fd(b->io_state) : -1;
}

/*
 * start: hand slot (s)'s request to the engine; one it declines is served at
 * once by the sync engine. QUEUED, or the status to complete with now.
 */
static int start(struct blk *b, struct blk_slot *s)
{
	const struct blk_engine_ops *e = b->io;
	struct blk_req *r = &s->req;
	struct blk_io io = {
	    .op = io_op(r), .iov = r->iov, .niov = r->niov, .offset = r->offset, .len = r->len};
	int rc = e->submit(b->io_state, b->fd, &io, slot_index(b, s));

	if (rc == BLK_IO_DECLINED) {
		e = &blk_sync_engine;
		rc = e->submit(NULL, b->fd, &io, 0);
	}
	if (rc == BLK_IO_QUEUED)
		return QUEUED;
	if (rc == 0)
		return VIRTIO_BLK_S_OK;
	r->exec_failed = true;
	vlog_limited(&b->log, b->who, ERR_IO, "%s at %llu: %s", e->call(io.op),
		     (unsigned long long)r->offset, strerror(-rc));
	return VIRTIO_BLK_S_IOERR;
}

/* admit: the rate limiter lets request (r) go now (one operation, its data bytes). */
static bool admit(struct blk *b, const struct blk_req *r)
{
	if (!b->has_limiter)
		return true;
	if (ratelimit_consume(&b->rl, r->type == VIRTIO_BLK_T_FLUSH ? 0 : r->len, 1))
		return true;
	metrics_inc(&b->metrics->rate_limiter_throttled_events);
	return false;
}

/* in_range: request (r) still fits the disk (its backing file may have changed since parse). */
static bool in_range(const struct blk *b, const struct blk_req *r)
{
	uint64_t size = b->capacity * VIRTIO_BLK_SECTOR;

	return r->offset <= size && r->len <= size - r->offset;
}

/*
 * process: pop and serve requests until the ring is empty (or no slot is
 * free, the engine holding them all: blk_event resumes then; or the rate
 * limiter defers one: its timer resumes). The sync engine does its I/O here,
 * under the transport lock; acceptable for now (it only delays a vCPU
 * touching this device's registers), io_uring is the way around it. Returns
 * how many requests it took off the ring.
 */
static unsigned int process(struct blk *b)
{
	struct virtq *q = virtio_mmio_queue(b->t, 0);
	bool queued = false;
	unsigned int popped = 0;

	b->starved = false;
	for (;;) {
		struct blk_slot *s = b->deferred;
		int rc, status = PENDING;

		if (s == NULL) {
			/* The slot leaves the free list now; back unless the engine keeps it. */
			if (b->nfree == 0) {
				b->starved = true;
				metrics_inc(&b->metrics->io_engine_throttled_events);
				break;
			}
			s = &b->slots[b->free[--b->nfree]];
			rc = vq_pop(q, &s->chain);
			if (rc <= 0)
				b->nfree++;
			if (rc < 0)
				virtio_mmio_needs_reset(b->t);
			if (rc <= 0)
				break;
			popped++;
			status = parse(b, &s->chain, &s->req);
		} else if (!in_range(b, &s->req)) {
			vlog_limited(&b->log, b->who, ERR_RANGE,
				     "deferred request at %llu past the end of the new file",
				     (unsigned long long)s->req.offset);
			status = VIRTIO_BLK_S_IOERR;
		}
		if (status == PENDING && !admit(b, &s->req)) {
			b->deferred = s;
			break;
		}
		b->deferred = NULL;
		if (status == PENDING)
			status = start(b, s);
		if (status == QUEUED) {
			s->busy = true;
			b->inflight++;
			queued = true;
			continue;
		}
		complete(b, q, &s->chain, &s->req, status);
		b->free[b->nfree++] = slot_index(b, s);
	}
	if (queued) {
		int rc = b->io->push(b->io_state);
		if (rc < 0)
			vlog_limited(&b->log, b->who, ERR_IO, "%s: %s (retried later)",
				     b->io->push_call, strerror(-rc));
	}
	virtio_mmio_signal_used(b->t, 0);
	return popped;
}

/* reap: take every request the engine finished; (deliver) false drops them (reset). */
static void reap(struct blk *b, bool deliver)
{
	struct virtq *q = deliver ? virtio_mmio_queue(b->t, 0) : NULL;
	uint64_t idx;
	int res;

	while (b->io->reap(b->io_state, &idx, &res)) {
		int status = VIRTIO_BLK_S_OK;
		struct blk_slot *s;

		if (idx >= b->nslots || !b->slots[idx].busy)
			continue; /* not ours: cannot happen */
		s = &b->slots[idx];
		s->busy = false;
		b->inflight--;
		b->free[b->nfree++] = (uint16_t)idx;
		if (!deliver)
			continue;
		if (res < 0) {
			vlog_limited(&b->log, b->who, ERR_IO, "%s at %llu: %s",
				     b->io->call(io_op(&s->req)), (unsigned long long)s->req.offset,
				     strerror(-res));
			status = VIRTIO_BLK_S_IOERR;
			s->req.exec_failed = true;
		} else if (s->req.type != VIRTIO_BLK_T_FLUSH && (uint64_t)res != s->req.len) {
			/* Short only when the file shrank under us: fail rather than resubmit. */
			vlog_limited(&b->log, b->who, ERR_IO,
				     "%s at %llu: short transfer %d of %llu",
				     b->io->call(io_op(&s->req)), (unsigned long long)s->req.offset,
				     res, (unsigned long long)s->req.len);
			status = VIRTIO_BLK_S_IOERR;
			s->req.exec_failed = true;
		}
		complete(b, q, &s->chain, &s->req, status);
	}
}

/* drain_eventfd: consume the engine's wakeup. */
static void drain_eventfd(struct blk *b)
{
	int rc = b->io->ack(b->io_state);

	if (rc < 0) {
		metrics_inc(&b->metrics->event_fails);
		vlog_warn_errno(-rc, "%s: completion eventfd", b->who);
	}
}

/*
 * blk_fd_ready: one of the device's fds fired (VMM thread, transport lock
 * held): the engine's completions (TAG_DONE) or the rate limiter's timer.
 */
static void blk_fd_ready(void *dev, uint64_t tag, uint32_t events)
{
	struct blk *b = dev;
	bool done = tag == TAG_DONE, timer = false;

	(void)events;
	if (tag == TAG_TIMER) {
		ratelimit_event(&b->rl);
		metrics_inc(&b->metrics->rate_limiter_event_count);
		timer = true;
	}
	if (done)
		drain_eventfd(b);
	if (b->t == NULL) {
		if (done)
			reap(b, false);
		return;
	}
	if (done)
		reap(b, true);
	if (timer || b->starved)
		process(b); /* signals too */
	else if (done)
		virtio_mmio_signal_used(b->t, 0);
}

/* blk_attach: the engine's completion fd (io_uring) and the limiter's timer, when there are. */
static int blk_attach(void *dev, const struct virtio_watcher *w)
{
	struct blk *b = dev;
	int rc = 0;

	b->w = *w;
	if (engine_fd(b) >= 0)
		rc = virtio_watch(&b->w, engine_fd(b), EPOLLIN, TAG_DONE);
	if (rc == 0 && b->has_limiter)
		rc = virtio_watch(&b->w, ratelimit_fd(&b->rl), EPOLLIN, TAG_TIMER);
	return rc;
}

static int blk_activate(void *dev, struct virtio_mmio_dev *t)
{
	struct blk *b = dev;
	const struct virtq *q = virtio_mmio_queue(t, 0);

	if (q == NULL || !q->ready)
		return -EINVAL;
	b->t = t;
	return 0;
}

static void blk_notify(void *dev, unsigned int queue)
{
	struct blk *b = dev;

	(void)queue;
	if (b->t == NULL)
		return;
	metrics_inc(&b->metrics->queue_event_count);
	/* Held back for a free slot or for tokens is not "nothing queued". */
	if (b->starved || b->deferred != NULL) {
		process(b);
		return;
	}
	if (process(b) == 0)
		metrics_inc(&b->metrics->no_avail_buffer);
}

/*
 * wait_inflight: wait for every request the engine holds, (deliver)ing the
 * completions to the driver or dropping them. 0, or -errno when waiting failed.
 */
static int wait_inflight(struct blk *b, bool deliver)
{
	while (b->inflight > 0) {
		int rc = b->io->wait(b->io_state);
		if (rc < 0 && rc != -EINTR) {
			vlog_error_errno(-rc, "%s: waiting for %u requests", b->who, b->inflight);
			return rc;
		}
		reap(b, deliver);
	}
	return 0;
}

/*
 * blk_reset: wait for every in-flight request so nothing writes guest memory
 * once the driver has taken it back, and drop the completions unreported.
 */
static void blk_reset(void *dev)
{
	struct blk *b = dev;

	wait_inflight(b, false);
	if (engine_fd(b) >= 0)
		drain_eventfd(b);
	b->starved = false;
	if (b->deferred != NULL)
		b->free[b->nfree++] = slot_index(b, b->deferred);
	b->deferred = NULL;
	b->t = NULL;
}

/*
 * blk_quiesce: for a snapshot: every request in flight completes and reaches
 * the driver (used entries, interrupt); a request waiting for tokens is
 * forgotten (the transport puts it back in the ring, blk_resume takes it
 * again).
 */
static int blk_quiesce(void *dev)
{
	struct blk *b = dev;
	int rc = wait_inflight(b, true);

	if (rc < 0)
		return rc;
	if (engine_fd(b) >= 0)
		drain_eventfd(b);
	if (b->deferred != NULL)
		b->free[b->nfree++] = slot_index(b, b->deferred);
	b->deferred = NULL;
	b->starved = false;
	virtio_mmio_signal_used(b->t, 0);
	return 0;
}

/* blk_resume: after quiesce or a load: serve what the ring holds. */
static void blk_resume(void *dev)
{
	struct blk *b = dev;

	if (b->t != NULL)
		process(b);
}

static uint32_t blk_save_state(void *dev, void *buf, uint32_t cap)
{
	const struct blk *b = dev;
	struct ratelimit_opt_state st;

	if (cap < sizeof(st))
		return 0;
	ratelimit_save_opt(&b->rl, b->has_limiter, &st);
	memcpy(buf, &st, sizeof(st));
	return sizeof(st);
}

static int blk_load_state(void *dev, const void *buf, uint32_t len, struct vlog_err *err)
{
	struct blk *b = dev;
	struct ratelimit_opt_state st;

	if (len != sizeof(st)) {
		vlog_err_set(err, 0, "dev_len: %u, virtio-blk's part is %zu bytes", len,
			     sizeof(st));
		return -EINVAL;
	}
	memcpy(&st, buf, sizeof(st));
	if (ratelimit_check_opt_state(&st, "dev", err) < 0)
		return -EINVAL;
	ratelimit_load_opt(&b->rl, b->has_limiter, &st);
	return 0;
}

static void blk_destroy(void *dev)
{
	struct blk *b = dev;

	/* Out of the loop before their fds close (unwatching one never watched does nothing). */
	if (b->io != NULL)
		virtio_unwatch(&b->w, engine_fd(b));
	virtio_unwatch(&b->w, ratelimit_fd(&b->rl));
	if (b->io != NULL && b->io->destroy != NULL)
		b->io->destroy(b->io_state);
	free(b->slots);
	ratelimit_destroy(&b->rl);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b->who);
	free(b);
}

static void blk_config_read(void *dev, uint64_t offset, void *data, uint32_t len)
{
	const struct blk *b = dev;

	virtio_config_copy(&b->cfg, sizeof(b->cfg), offset, data, len);
}

#define BLK_FEATURES                                                                               \
	(VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |                    \
	 VIRTIO_BIT(VIRTIO_BLK_F_FLUSH))

#define BLK_OPS(feat)                                                                              \
	{                                                                                          \
		.name = "blk", .device_id = VIRTIO_ID_BLOCK, .num_queues = 1,                      \
		.max_queue_size = BLK_QUEUE_SIZE, .features = (feat),                              \
		.config_read = blk_config_read, .activate = blk_activate, .notify = blk_notify,    \
		.reset = blk_reset, .attach = blk_attach, .fd_ready = blk_fd_ready,                \
		.destroy = blk_destroy, .quiesce = blk_quiesce, .resume = blk_resume,              \
		.save_state = blk_save_state, .load_state = blk_load_state,                        \
	}

/* config_write stays NULL: nothing is writable without CONFIG_WCE. */
static const struct virtio_device_ops blk_ops = BLK_OPS(BLK_FEATURES);
static const struct virtio_device_ops blk_ops_ro =
    BLK_OPS(BLK_FEATURES | VIRTIO_BIT(VIRTIO_BLK_F_RO));

/* What open_disk found: the file, its identity and its size. */
struct disk_file {
	int fd;
	struct stat st;
	uint64_t size; /* bytes */
	int error;     /* errno of a failure */
};

/*
 * open_disk: open (path) for a disk (read-only or read-write) and size it:
 * a regular file or a block device. false: (f->error) and (err) say why.
 */
static bool open_disk(const char *path, bool read_only, struct disk_file *f, struct vlog_err *err)
{
	f->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (f->fd < 0) {
		f->error = errno;
		vlog_err_set(err, f->error, "open");
		return false;
	}
	if (fstat(f->fd, &f->st) < 0) {
		f->error = errno;
		vlog_err_set(err, f->error, "fstat");
	} else if (S_ISREG(f->st.st_mode)) {
		f->size = (uint64_t)f->st.st_size;
		return true;
	} else if (!S_ISBLK(f->st.st_mode)) {
		f->error = EINVAL;
		vlog_err_set(err, 0, "not a regular file or block device");
	} else if (ioctl(f->fd, BLKGETSIZE64, &f->size) == 0) {
		return true;
	} else {
		f->error = errno;
		vlog_err_set(err, f->error, "BLKGETSIZE64");
	}
	close(f->fd);
	return false;
}

/* warn_tail: a size past the last whole sector is not part of the disk. */
static void warn_tail(const char *who, uint64_t size)
{
	if (size % VIRTIO_BLK_SECTOR != 0)
		vlog_warn("%s: size %llu is not a multiple of 512; the tail is not visible", who,
			  (unsigned long long)size);
}

/* name_disk: copies of (path) and of its log prefix, or -ENOMEM. */
static int name_disk(const char *path, char **copy, char **who)
{
	*copy = strdup(path);
	if (*copy == NULL || asprintf(who, "virtio-blk: %s", path) < 0) {
		free(*copy);
		*copy = *who = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * setup_engine: the engine (want), or sync when the host refuses
 * io_uring, and a slot per request it may hold. 0 or -ENOMEM.
 */
static int setup_engine(struct blk *b, enum blk_engine want)
{
	b->engine = BLK_ENGINE_SYNC;
	b->io = &blk_sync_engine;
	b->nslots = 1;
	if (want == BLK_ENGINE_IO_URING) {
		int rc = blk_uring_create(BLK_QUEUE_SIZE, &b->io, &b->io_state);
		if (rc == 0) {
			b->engine = BLK_ENGINE_IO_URING;
			b->nslots = BLK_QUEUE_SIZE;
		} else {
			vlog_warn_errno(-rc, "%s: io_uring unavailable, using the sync engine",
					b->who);
		}
	}
	b->slots = calloc(b->nslots, sizeof(*b->slots));
	if (b->slots == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < b->nslots; i++)
		b->free[i] = (uint16_t)(b->nslots - 1 - i);
	b->nfree = b->nslots;
	return 0;
}

/* setup_limiter: the limiter and its timerfd (watched at attach). */
static int setup_limiter(struct blk *b, const struct virtio_rate_limit *limit, struct vlog_err *err)
{
	int rc = ratelimit_init(&b->rl, limit);

	if (rc < 0) {
		vlog_err_set(err, -rc, "rate limiter timer");
		return rc;
	}
	b->has_limiter = true;
	return 0;
}

void *blk_create(const struct virtio_blk_config *cfg, const struct virtio_device_ops **ops,
		 struct vlog_err *err)
{
	struct blk *b = calloc(1, sizeof(*b));
	struct disk_file f;
	char id[64];

	if (b == NULL || name_disk(cfg->path, &b->path, &b->who) < 0) {
		vlog_err_set(err, 0, "out of memory");
		free(b);
		return NULL;
	}
	b->read_only = cfg->read_only;
	b->metrics = cfg->metrics != NULL ? cfg->metrics : &b->own;
	b->fd = -1;
	b->rl.timer_fd = -1;
	if (!open_disk(cfg->path, cfg->read_only, &f, err))
		goto fail;
	b->fd = f.fd;
	warn_tail(b->who, f.size);
	b->capacity = f.size / VIRTIO_BLK_SECTOR;

	/* GET_ID: the given id, or one derived from device and inode (as Firecracker). */
	if (cfg->id != NULL)
		snprintf(id, sizeof(id), "%s", cfg->id);
	else
		snprintf(id, sizeof(id), "%llu%llu%llu", (unsigned long long)f.st.st_dev,
			 (unsigned long long)f.st.st_rdev, (unsigned long long)f.st.st_ino);
	/* Zero-padded, not terminated when 20 bytes long (5.2.6). */
	memcpy(b->id, id, strnlen(id, sizeof(b->id)));

	b->cfg.capacity = b->capacity;
	b->cfg.seg_max = BLK_QUEUE_SIZE - 2; /* header and status take two descriptors */
	b->cfg.blk_size = VIRTIO_BLK_SECTOR;
	b->cfg.num_queues = 1;

	if (setup_engine(b, cfg->engine) < 0) {
		vlog_err_set(err, 0, "out of memory");
		goto fail;
	}
	if (cfg->limiter != NULL && setup_limiter(b, cfg->limiter, err) < 0)
		goto fail;
	*ops = cfg->read_only ? &blk_ops_ro : &blk_ops;
	return b;
fail:
	blk_destroy(b);
	return NULL;
}

enum blk_engine blk_engine(const void *dev)
{
	const struct blk *b = dev;

	return b->engine;
}

int blk_set_limiter(void *dev, const struct virtio_rate_limit *limit)
{
	struct blk *b = dev;

	if (!b->has_limiter)
		return -ENOTSUP;
	ratelimit_update(&b->rl, limit);
	if (b->t != NULL && b->deferred != NULL)
		process(b);
	return 0;
}

int blk_set_backing(void *dev, const char *path, struct vlog_err *err)
{
	struct blk *b = dev;
	char *copy = NULL, *who = NULL;
	struct disk_file f;
	int rc;

	if (!open_disk(path, b->read_only, &f, err))
		return -f.error;
	rc = name_disk(path, &copy, &who);
	if (rc < 0)
		vlog_err_set(err, -rc, "out of memory");
	/* What was submitted on the old file completes there (and reaches the driver). */
	if (rc == 0) {
		rc = wait_inflight(b, b->t != NULL);
		if (rc < 0)
			vlog_err_set(err, -rc, "the requests in flight on the old file");
	}
	if (rc < 0) {
		free(copy);
		free(who);
		close(f.fd);
		return rc;
	}
	warn_tail(who, f.size);
	close(b->fd);
	b->fd = f.fd;
	free(b->path);
	free(b->who);
	b->path = copy;
	b->who = who;
	b->capacity = f.size / VIRTIO_BLK_SECTOR;
	b->cfg.capacity = b->capacity;
	vlog_info("virtio-blk: backing file now %s (%llu sectors)", b->path,
		  (unsigned long long)b->capacity);
	if (b->t != NULL) {
		virtio_mmio_config_changed(b->t);
		if (b->starved || b->deferred != NULL)
			process(b); /* signals too */
		else
			virtio_mmio_signal_used(b->t, 0);
	}
	return 0;
}
