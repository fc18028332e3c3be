// SPDX-License-Identifier: Apache-2.0
/* queue.c: split virtqueue walking over a hostile guest's rings. */
#include "queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtio 1.x rings are little-endian; this code reads them natively"
#endif

/* One descriptor as laid out in guest memory (2.7.5). */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

_Static_assert(sizeof(struct desc) == VIRTQ_DESC_SIZE, "descriptor layout");

static void clear_runtime(struct virtq *q)
{
	q->size = q->max_size;
	q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
	q->event_idx = q->indirect = false;
	q->ready = q->broken = false;
	q->gm = NULL;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->signalled_valid = false;
}

void vq_init(struct virtq *q, const char *name, unsigned int index, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->who, sizeof(q->who), "virtio-%s: queue %u", name, index);
	q->index = index;
	q->max_size = max_size;
	clear_runtime(q);
}

void vq_reset(struct virtq *q)
{
	clear_runtime(q);
	q->epoch++;
}

/* Ring names, sizes and alignments, in the order of the three gpas (2.7.5 - 2.7.8). */
enum { RING_DESC, RING_AVAIL, RING_USED, RINGS };

static const char *const ring_name[RINGS] = {"descriptor", "available", "used"};
static const uint64_t ring_align[RINGS] = {VIRTQ_DESC_ALIGN, VIRTQ_AVAIL_ALIGN, VIRTQ_USED_ALIGN};

static uint64_t ring_bytes(unsigned int ring, uint32_t n)
{
	return ring == RING_DESC    ? VIRTQ_DESC_BYTES(n)
	       : ring == RING_AVAIL ? VIRTQ_AVAIL_BYTES(n)
				    : VIRTQ_USED_BYTES(n);
}

/* size_ok: (n) entries is a queue size vq_enable takes for (q). */
static bool size_ok(const struct virtq *q, uint32_t n)
{
	return n != 0 && n <= q->max_size && (n & (n - 1)) == 0;
}

/*
 * ring_at: ring (ring) of an (n)-entry queue at (gpa): its host pointer, or
 * NULL with (*misaligned) saying whether the address (else the range) was wrong.
 */
static void *ring_at(const struct gmem *gm, unsigned int ring, uint32_t n, uint64_t gpa,
		     bool *misaligned)
{
	uint64_t align = ring_align[ring];
	void *p;

	*misaligned = (gpa & (align - 1)) != 0;
	if (*misaligned)
		return NULL;
	p = gmem_ptr(gm, gpa, ring_bytes(ring, n));
	return p != NULL && ((uintptr_t)p & (align - 1)) == 0 ? p : NULL;
}

/*
 * overlaps: [a, a + alen) and [b, b + blen) share a byte. Both ranges passed
 * gmem_ptr, so neither end wraps.
 */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * used_overlaps: the used ring, the one area the device writes, lies over
 * the descriptor table or the available ring of an (n)-entry queue at (gpa).
 * It would rewrite what the driver posted (heads, indexes, descriptors)
 * behind its back: no driver does that on purpose, so the layout is refused
 * instead of served.
 */
static bool used_overlaps(uint32_t n, const uint64_t gpa[RINGS])
{
	uint64_t used = ring_bytes(RING_USED, n);

	return overlaps(gpa[RING_USED], used, gpa[RING_DESC], ring_bytes(RING_DESC, n)) ||
	       overlaps(gpa[RING_USED], used, gpa[RING_AVAIL], ring_bytes(RING_AVAIL, n));
}

/* start: (q) ready over (gm) with its rings at (host), from index 0. */
static void start(struct virtq *q, const struct gmem *gm, void *const host[RINGS])
{
	q->gm = gm;
	q->desc = host[RING_DESC];
	q->avail = host[RING_AVAIL];
	q->used = host[RING_USED];
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->signalled_valid = false;
	q->broken = false;
	q->ready = true;
}

int vq_enable(struct virtq *q, const struct gmem *gm)
{
	uint32_t n = q->size;
	const uint64_t gpa[RINGS] = {q->desc_gpa, q->avail_gpa, q->used_gpa};
	void *host[RINGS];
	bool bad = false;

	if (!size_ok(q, n)) {
		vlog_limited(&q->log, q->who, VQ_ERR_SETUP,
			     "queue size %u invalid (power of two, 1..%u)", n, q->max_size);
		return -EINVAL;
	}
	for (unsigned int r = 0; r < RINGS; r++) {
		bool misaligned;

		host[r] = ring_at(gm, r, n, gpa[r], &misaligned);
		if (host[r] != NULL)
			continue;
		bad = true;
		if (misaligned)
			vlog_limited(&q->log, q->who, VQ_ERR_SETUP,
				     "%s ring at 0x%llx is not %llu-byte aligned", ring_name[r],
				     (unsigned long long)gpa[r], (unsigned long long)ring_align[r]);
		else
			vlog_limited(&q->log, q->who, VQ_ERR_SETUP,
				     "%s ring [0x%llx, +0x%llx) is not inside guest RAM",
				     ring_name[r], (unsigned long long)gpa[r],
				     (unsigned long long)ring_bytes(r, n));
	}
	if (bad)
		return -EINVAL;
	if (used_overlaps(n, gpa)) {
		vlog_limited(&q->log, q->who, VQ_ERR_SETUP,
			     "used ring [0x%llx, +0x%llx) overlaps the descriptor table "
			     "or available ring",
			     (unsigned long long)q->used_gpa,
			     (unsigned long long)VIRTQ_USED_BYTES(n));
		return -EINVAL;
	}
	start(q, gm, host);
	return 0;
}

static uint16_t avail_idx(const struct virtq *q)
{
	return __atomic_load_n(&q->avail[1], __ATOMIC_ACQUIRE);
}

static uint16_t *used_idx_ptr(const struct virtq *q)
{
	return (uint16_t *)(void *)(q->used + 2);
}

static uint16_t *avail_event_ptr(const struct virtq *q)
{
	return (uint16_t *)(void *)(q->used + 4 + 8 * (uint64_t)q->size);
}

/* mark_used_dirty: the device wrote the used ring (elements, idx, avail_event). */
static void mark_used_dirty(const struct virtq *q)
{
	gmem_mark_dirty(q->gm, q->used_gpa, ring_bytes(RING_USED, q->size));
}

/*
 * read_desc: copy descriptor (i) of (table) once. The compiler barrier keeps
 * the compiler from re-reading guest memory, which the guest may change under
 * us, in place of the checked copy.
 */
static void read_desc(struct desc *d, const uint8_t *table, uint32_t i)
{
	memcpy(d, table + (uint64_t)i * VIRTQ_DESC_SIZE, sizeof(*d));
	atomic_signal_fence(memory_order_seq_cst);
}

/* walk: validate the chain at (head) into (c). 0 or -EIO (noted). */
static int walk(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	const uint8_t *table = q->desc;
	uint32_t budget = q->size; /* buffer descriptors, direct + indirect (2.7.5.3.1) */
	uint32_t table_n = budget;
	bool indirect = false, seen_write = false;
	uint32_t i = head;
	struct desc d;

	c->niov = c->nread = 0;
	c->read_len = c->write_len = 0;
	for (;;) {
		read_desc(&d, table, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect) {
				vlog_limited(&q->log, q->who, VQ_ERR_INDIRECT,
					     "descriptor %u: INDIRECT not negotiated", i);
				return -EIO;
			}
			if (indirect) {
				vlog_limited(&q->log, q->who, VQ_ERR_INDIRECT,
					     "nested indirect table");
				return -EIO;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				vlog_limited(&q->log, q->who, VQ_ERR_INDIRECT,
					     "descriptor %u: INDIRECT with NEXT", i);
				return -EIO;
			}
			if (d.len == 0 || d.len % VIRTQ_DESC_SIZE != 0) {
				vlog_limited(&q->log, q->who, VQ_ERR_INDIRECT,
					     "indirect table length %u", d.len);
				return -EIO;
			}
			/* The WRITE flag of the indirect descriptor itself is ignored. */
			table = gmem_ptr(q->gm, d.addr, d.len);
			if (table == NULL) {
				vlog_limited(&q->log, q->who, VQ_ERR_ADDR,
					     "indirect table [0x%llx, +0x%x) outside guest RAM",
					     (unsigned long long)d.addr, d.len);
				return -EIO;
			}
			table_n = d.len / VIRTQ_DESC_SIZE;
			indirect = true;
			i = 0;
			continue;
		}
		if (budget == 0) {
			vlog_limited(&q->log, q->who, VQ_ERR_LOOP,
				     "chain at head %u longer than the queue size %u", head,
				     q->size);
			return -EIO;
		}
		budget--;
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			seen_write = true;
		} else if (seen_write) {
			vlog_limited(&q->log, q->who, VQ_ERR_ORDER,
				     "readable descriptor %u after a writable one", i);
			return -EIO;
		}
		if (d.len != 0) {
			void *p = gmem_ptr(q->gm, d.addr, d.len);
			if (p == NULL) {
				vlog_limited(&q->log, q->who, VQ_ERR_ADDR,
					     "buffer [0x%llx, +0x%x) outside guest RAM",
					     (unsigned long long)d.addr, d.len);
				return -EIO;
			}
			/* budget <= size <= VIRTQ_MAX_SIZE bounds niov. */
			c->iov[c->niov].iov_base = p;
			c->iov[c->niov].iov_len = d.len;
			c->niov++;
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				/* The device may write it from here on: a diff snapshot takes it.
				 */
				gmem_mark_dirty(q->gm, d.addr, d.len);
				if (__builtin_add_overflow(c->write_len, d.len, &c->write_len))
					goto too_long;
			} else {
				c->nread++;
				if (__builtin_add_overflow(c->read_len, d.len, &c->read_len))
					goto too_long;
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= table_n) {
			vlog_limited(&q->log, q->who, VQ_ERR_NEXT,
				     "descriptor %u: next %u out of range (%u)", i, d.next,
				     table_n);
			return -EIO;
		}
		i = d.next;
	}
too_long:
	vlog_limited(&q->log, q->who, VQ_ERR_TOO_LONG, "chain at head %u: total length overflows",
		     head);
	return -EIO;
}

int vq_pop(struct virtq *q, struct virtq_chain *chain)
{
	uint16_t idx, pending, head;

	if (!q->ready)
		return -ENODEV;
	if (q->broken)
		return -EIO;
	idx = avail_idx(q);
	pending = (uint16_t)(idx - q->last_avail);
	if (pending == 0) {
		if (!q->event_idx)
			return 0;
		/*
		 * Ask for a notification on the next buffer, then look again: the
		 * driver may have added one before it could see avail_event (2.7.10).
		 */
		__atomic_store_n(avail_event_ptr(q), q->last_avail, __ATOMIC_RELAXED);
		mark_used_dirty(q);
		atomic_thread_fence(memory_order_seq_cst);
		idx = avail_idx(q);
		pending = (uint16_t)(idx - q->last_avail);
		if (pending == 0)
			return 0;
	}
	/*
	 * The driver owns q->size descriptors and gets one back only through
	 * the used ring, so at most q->size chains can be outstanding: avail->idx
	 * never runs more than the queue size ahead of the used->idx we
	 * published, nor of the next entry we consume (which catches an index
	 * that went backwards).
	 */
	if (pending > q->size || (uint16_t)(idx - q->used_idx) > q->size) {
		vlog_limited(
		    &q->log, q->who, VQ_ERR_AVAIL_IDX,
		    "avail idx %u runs ahead of next entry %u / used idx %u by more than the "
		    "queue size %u",
		    idx, q->last_avail, q->used_idx, q->size);
		q->broken = true;
		return -EIO;
	}
	head = __atomic_load_n(&q->avail[2 + q->last_avail % q->size], __ATOMIC_RELAXED);
	if (head >= q->size) {
		vlog_limited(&q->log, q->who, VQ_ERR_HEAD, "head index %u out of range (%u)", head,
			     q->size);
		q->broken = true;
		return -EIO;
	}
	q->last_avail++;
	chain->head = head;
	chain->epoch = q->epoch;
	if (walk(q, chain, head) != 0) {
		q->broken = true;
		return -EIO;
	}
	return 1;
}

/*
 * outstanding: chains popped and not yet published in the used ring. The
 * device never publishes more than that: an extra used entry would overwrite
 * one the driver has not read yet, or hand back a descriptor it still owns.
 */
static uint16_t outstanding(const struct virtq *q)
{
	return (uint16_t)(q->last_avail - q->used_idx);
}

void vq_push(struct virtq *q, const struct virtq_chain *chain, uint32_t written)
{
	uint32_t *elem;

	if (!q->ready || chain->epoch != q->epoch || outstanding(q) == 0)
		return;
	if (written > chain->write_len)
		written = (uint32_t)chain->write_len;
	elem = (uint32_t *)(void *)(q->used + 4 + 8 * (uint64_t)(q->used_idx % q->size));
	__atomic_store_n(&elem[0], chain->head, __ATOMIC_RELAXED);
	__atomic_store_n(&elem[1], written, __ATOMIC_RELAXED);
	q->used_idx++;
	mark_used_dirty(q);
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(used_idx_ptr(q), q->used_idx, __ATOMIC_RELEASE);
}

int vq_fill(struct virtq *q, const struct virtq_chain *chain, uint32_t written, uint16_t n)
{
	uint32_t *elem;
	uint16_t at = (uint16_t)(q->used_idx + n);

	if (!q->ready || chain->epoch != q->epoch || n >= outstanding(q))
		return -ESTALE;
	if (written > chain->write_len)
		written = (uint32_t)chain->write_len;
	elem = (uint32_t *)(void *)(q->used + 4 + 8 * (uint64_t)(at % q->size));
	__atomic_store_n(&elem[0], chain->head, __ATOMIC_RELAXED);
	__atomic_store_n(&elem[1], written, __ATOMIC_RELAXED);
	return 0;
}

void vq_flush(struct virtq *q, uint16_t count)
{
	if (!q->ready || count == 0)
		return;
	if (count > outstanding(q))
		count = outstanding(q);
	q->used_idx = (uint16_t)(q->used_idx + count);
	mark_used_dirty(q);
	/* Every element filled must be visible before the index that publishes them. */
	__atomic_store_n(used_idx_ptr(q), q->used_idx, __ATOMIC_RELEASE);
}

bool vq_should_signal(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, event;
	bool valid = q->signalled_valid;

	/* signalled_used starts at used_idx, so this also covers "none since enable". */
	if (!q->ready || old == now)
		return false;
	q->signalled_used = now;
	q->signalled_valid = true;
	/* Order the used->idx store before reading the driver's suppression state. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!q->event_idx)
		return !(__atomic_load_n(&q->avail[0], __ATOMIC_RELAXED) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = __atomic_load_n(&q->avail[2 + q->size], __ATOMIC_RELAXED);
	/* vring_need_event (2.7.10): did used_event fall in [old, now)? */
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

static uint64_t copy_iov(const struct iovec *iov, unsigned int n, uint64_t offset, void *buf,
			 uint64_t len, bool to_iov)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		uint64_t seg = iov[i].iov_len, chunk;
		if (offset >= seg) {
			offset -= seg;
			continue;
		}
		chunk = seg - offset;
		if (chunk > len - done)
			chunk = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + offset, (uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset, chunk);
		done += chunk;
		offset = 0;
	}
	return done;
}

uint64_t vq_chain_read(const struct virtq_chain *chain, uint64_t offset, void *buf, uint64_t len)
{
	return copy_iov(chain->iov, chain->nread, offset, buf, len, false);
}

uint64_t vq_chain_write(const struct virtq_chain *chain, uint64_t offset, const void *buf,
			uint64_t len)
{
	return copy_iov(chain->iov + chain->nread, chain->niov - chain->nread, offset, (void *)buf,
			len, true);
}

/* ---- snapshots ---- */

uint16_t vq_rewind(struct virtq *q)
{
	uint16_t n;

	if (!q->ready)
		return 0;
	n = outstanding(q);
	q->last_avail = q->used_idx;
	q->epoch++;
	return n;
}

void vq_save(const struct virtq *q, struct virtio_queue_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = q->size;
	st->ready = q->ready;
	st->desc_gpa = q->desc_gpa;
	st->avail_gpa = q->avail_gpa;
	st->used_gpa = q->used_gpa;
	st->last_avail = q->last_avail;
	st->used_idx = q->used_idx;
	st->signalled_used = q->signalled_used;
	st->signalled_valid = q->signalled_valid;
	st->event_idx = q->event_idx;
	st->indirect = q->indirect;
}

/* zeros: (len) bytes at (p) are all zero. */
static bool zeros(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

int vq_check_state(const struct virtq *q, const struct gmem *gm,
		   const struct virtio_queue_state *st, bool enable, struct vlog_err *err)
{
	const uint64_t gpa[RINGS] = {st->desc_gpa, st->avail_gpa, st->used_gpa};
	const struct {
		const char *name;
		uint32_t v;
	} flags[] = {
	    {"ready", st->ready},
	    {"event_idx", st->event_idx},
	    {"indirect", st->indirect},
	    {"signalled_valid", st->signalled_valid},
	};
	unsigned int i = q->index;

	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		if (flags[f].v > 1) {
			vlog_err_set(err, 0, "queues[%u].%s: %u is not 0 or 1", i, flags[f].name,
				     flags[f].v);
			return -EINVAL;
		}
	}
	if (!zeros(st->pad, sizeof(st->pad))) {
		vlog_err_set(err, 0, "queues[%u].pad: not zero", i);
		return -EINVAL;
	}
	if (!st->ready || !enable)
		return 0;
	if (!size_ok(q, st->size)) {
		vlog_err_set(err, 0, "queues[%u].size: %u is not a power of two in 1..%u", i,
			     st->size, q->max_size);
		return -EINVAL;
	}
	for (unsigned int r = 0; r < RINGS; r++) {
		static const char *const field[RINGS] = {"desc_gpa", "avail_gpa", "used_gpa"};
		bool misaligned;

		if (ring_at(gm, r, st->size, gpa[r], &misaligned) != NULL)
			continue;
		vlog_err_set(err, 0, "queues[%u].%s: %s ring [0x%llx, +0x%llx) %s", i, field[r],
			     ring_name[r], (unsigned long long)gpa[r],
			     (unsigned long long)ring_bytes(r, st->size),
			     misaligned ? "is not aligned" : "is not inside guest RAM");
		return -EINVAL;
	}
	if (used_overlaps(st->size, gpa)) {
		vlog_err_set(err, 0,
			     "queues[%u].used_gpa: used ring overlaps the descriptor table or "
			     "available ring",
			     i);
		return -EINVAL;
	}
	if (st->last_avail != st->used_idx) {
		vlog_err_set(err, 0,
			     "queues[%u].last_avail: %u chains taken and not returned (used_idx "
			     "%u): the device was not quiesced",
			     i, (uint16_t)(st->last_avail - st->used_idx), st->used_idx);
		return -EINVAL;
	}
	return 0;
}

int vq_load_state(struct virtq *q, const struct gmem *gm, const struct virtio_queue_state *st,
		  bool enable)
{
	const uint64_t gpa[RINGS] = {st->desc_gpa, st->avail_gpa, st->used_gpa};
	void *host[RINGS];

	q->size = st->size;
	q->desc_gpa = st->desc_gpa;
	q->avail_gpa = st->avail_gpa;
	q->used_gpa = st->used_gpa;
	q->event_idx = st->event_idx != 0;
	q->indirect = st->indirect != 0;
	if (!st->ready || !enable)
		return 0;
	if (vq_check_state(q, gm, st, enable, NULL) < 0)
		return -EINVAL;
	for (unsigned int r = 0; r < RINGS; r++) {
		bool misaligned;
		host[r] = ring_at(gm, r, st->size, gpa[r], &misaligned);
	}
	start(q, gm, host);
	q->last_avail = st->last_avail;
	q->used_idx = st->used_idx;
	q->signalled_used = st->signalled_used;
	q->signalled_valid = st->signalled_valid != 0;
	return 0;
}
