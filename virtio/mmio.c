// SPDX-License-Identifier: Apache-2.0
/* mmio.c: virtio-mmio (Version 2) register machine and status state machine. */
#include "mmio.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev_metrics.h"
#include "vlog.h"

/* A transport has at most as many queues as a snapshot can hold. */
#define MAX_QUEUES VIRTIO_STATE_MAX_QUEUES
#define WHO_BYTES  24

#define DRIVER_BITS                                                                                \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)
/* The device's bits: a status with either does not serve the queues. */
#define BROKEN_BITS (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)

/* The statuses a driver reaches step by step (3.1.1), FAILED and DEVICE_NEEDS_RESET aside. */
static const uint32_t driver_steps[] = {
    VIRTIO_STATUS_ACKNOWLEDGE,
    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER,
    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK,
    VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	VIRTIO_STATUS_DRIVER_OK,
};

/* Problems the driver can cause, each logged once per transport. */
enum mmio_error {
	ERR_ACCESS,    /* wrong width or alignment, unknown register */
	ERR_STATUS,    /* status write out of order or clearing bits */
	ERR_FEATURES,  /* features rejected at FEATURES_OK, or written out of state */
	ERR_UNOFFERED, /* features the device did not offer, dropped at FEATURES_OK */
	ERR_QUEUE,     /* queue register written out of state */
	ERR_CONFIG,    /* config written before DRIVER */
	ERR_NOTIFY,    /* notification before DRIVER_OK / for a bad queue */
	ERR_ACTIVATE,  /* DRIVER_OK refused by the device (e.g. a queue not ready) */
	ERR_STOPPED,   /* the device broke while running and was stopped */
};

struct virtio_mmio_dev {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *dev;
	const struct gmem *gm;
	virtio_irq_fn irq;
	void *irq_ctx;
	virtio_handoff_fn handoff; /* QueueNotify from a vCPU: wake the VMM thread */
	void *handoff_ctx;

	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t isr;
	uint32_t config_generation; /* monotonic, survives resets */
	bool activated;
	bool stop_pending;     /* NEEDS_RESET while activated: stop the device at unlock */
	bool quiesced;	       /* for a snapshot: notifications and events dropped until resume */
	char who[WHO_BYTES];   /* "virtio-<device>": what its log lines start with */
	struct vlog_limit log; /* driver problems, each kind logged once */
	struct virtio_mmio_counters counts; /* the device group's, set by the monitor */

	unsigned int nqueues;
	struct virtq queues[];
};

struct virtio_mmio_dev *virtio_mmio_create(const struct virtio_device_ops *ops, void *dev,
					   const struct gmem *gm, virtio_irq_fn irq, void *irq_ctx)
{
	struct virtio_mmio_dev *t;
	uint16_t qmax = ops->max_queue_size;

	if (ops->num_queues == 0 || ops->num_queues > MAX_QUEUES || qmax == 0 ||
	    qmax > VIRTQ_MAX_SIZE || (qmax & (qmax - 1)) != 0 || ops->notify == NULL) {
		vlog_error("virtio-%s: bad device description (%u queues of %u)", ops->name,
			   ops->num_queues, qmax);
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t) + ops->num_queues * sizeof(t->queues[0]));
	if (t == NULL) {
		vlog_error("virtio-%s: out of memory", ops->name);
		return NULL;
	}
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->ops = ops;
	t->dev = dev;
	snprintf(t->who, sizeof(t->who), "virtio-%s", ops->name);
	t->gm = gm;
	t->irq = irq;
	t->irq_ctx = irq_ctx;
	t->device_features = ops->features | VIRTIO_MMIO_TRANSPORT_FEATURES;
	t->nqueues = ops->num_queues;
	for (unsigned int i = 0; i < t->nqueues; i++)
		vq_init(&t->queues[i], ops->name, i, qmax);
	return t;
}

/* reset: status 0 (3.1.1 step 1, 4.2.3.1): everything but the generation and quiesced. */
static void reset(struct virtio_mmio_dev *t)
{
	if (t->activated && t->ops->reset != NULL)
		t->ops->reset(t->dev);
	t->activated = false;
	t->stop_pending = false;
	for (unsigned int i = 0; i < t->nqueues; i++)
		vq_reset(&t->queues[i]);
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = 0;
	t->queue_sel = 0;
	t->status = 0;
	t->isr = 0;
}

void virtio_mmio_destroy(struct virtio_mmio_dev *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	reset(t);
	pthread_mutex_unlock(&t->lock);
	if (t->ops->destroy != NULL)
		t->ops->destroy(t->dev);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void raise_irq(struct virtio_mmio_dev *t, uint32_t bit)
{
	t->isr |= bit;
	if (t->irq != NULL)
		t->irq(t->irq_ctx);
}

static void needs_reset(struct virtio_mmio_dev *t)
{
	if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (t->activated)
		t->stop_pending = true;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

/*
 * unlock: release (t)'s lock; first, when the device broke under it, stop
 * the device (ops->reset) so that it leaves the broken queues alone until
 * the driver resets it. Never from inside an op: the op that hit the broken
 * queue is still running then (it only called needs_reset).
 */
static void unlock(struct virtio_mmio_dev *t)
{
	if (t->stop_pending) {
		t->stop_pending = false;
		if (t->activated && t->ops->reset != NULL)
			t->ops->reset(t->dev);
		t->activated = false;
		vlog_limited(&t->log, t->who, ERR_STOPPED,
			     "DEVICE_NEEDS_RESET: stopped until the driver resets it");
	}
	pthread_mutex_unlock(&t->lock);
}

static bool features_ok(struct virtio_mmio_dev *t)
{
	uint64_t f = t->driver_features;

	if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		vlog_limited(&t->log, t->who, ERR_FEATURES,
			     "driver did not accept VERSION_1 (legacy drivers unsupported)");
		return false;
	}
	if (f & ~t->device_features) {
		/*
		 * The driver broke 3.1.1 step 4; Firecracker drops such bits and
		 * goes on, and guests built for it rely on that, so ember does too.
		 */
		vlog_limited(&t->log, t->who, ERR_UNOFFERED,
			     "driver accepted features not offered: 0x%llx: ignored",
			     (unsigned long long)(f & ~t->device_features));
		f &= t->device_features;
		t->driver_features = f;
	}
	for (unsigned int i = 0; i < t->nqueues; i++) {
		t->queues[i].event_idx = f & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
		t->queues[i].indirect = f & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	}
	return true;
}

/* count: one more in a counter the monitor may read at any time; NULL: not counted. */
static void count(uint64_t *c)
{
	if (c != NULL)
		metrics_inc(c);
}

static void activate(struct virtio_mmio_dev *t)
{
	int rc = t->ops->activate != NULL ? t->ops->activate(t->dev, t) : 0;

	if (rc < 0) {
		/* The guest can retry DRIVER_OK in a loop: rate-limited like its other faults. */
		count(t->counts.activate_fails);
		vlog_limited(&t->log, t->who, ERR_ACTIVATE, "activation failed: %s", strerror(-rc));
		needs_reset(t);
		return;
	}
	t->activated = true;
	/* Once per driver start: what the Linux smoke test reads to see each probe finish. */
	vlog_debug("%s: driver ready, features 0x%llx", t->who,
		   (unsigned long long)t->driver_features);
}

/*
 * write_status: the driver sets bits in order ACKNOWLEDGE, DRIVER,
 * FEATURES_OK, DRIVER_OK (3.1.1), never clears one (2.1.1), may set FAILED
 * at any time, and resets with 0. DEVICE_NEEDS_RESET belongs to the device:
 * a driver's read-modify-write may carry it back, so it is masked out.
 */
static void write_status(struct virtio_mmio_dev *t, uint32_t v)
{
	uint32_t old = t->status & DRIVER_BITS, now = v & DRIVER_BITS, added;
	bool valid = false;

	if (v == 0) {
		reset(t);
		return;
	}
	if (v & ~(DRIVER_BITS | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		vlog_limited(&t->log, t->who, ERR_STATUS, "status 0x%x has unknown bits", v);
		return;
	}
	if (old & ~now) {
		vlog_limited(&t->log, t->who, ERR_STATUS, "status 0x%x -> 0x%x clears bits",
			     t->status, v);
		return;
	}
	added = now & ~old;
	if (added == 0)
		return;
	if (added & VIRTIO_STATUS_FAILED) {
		t->status |= VIRTIO_STATUS_FAILED;
		return;
	}
	if (t->status & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		vlog_limited(&t->log, t->who, ERR_STATUS,
			     "status 0x%x written while 0x%x: reset first", v, t->status);
		return;
	}
	for (unsigned int i = 0; i < sizeof(driver_steps) / sizeof(driver_steps[0]); i++)
		valid |= now == driver_steps[i];
	if (!valid) {
		vlog_limited(&t->log, t->who, ERR_STATUS, "status 0x%x -> 0x%x out of order",
			     t->status, v);
		return;
	}
	if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_ok(t)) {
		/* FEATURES_OK stays clear: the driver reads it back and gives up (3.1.1). */
		now &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
		added &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	}
	t->status = (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) | now;
	if (added & VIRTIO_STATUS_DRIVER_OK)
		activate(t);
}

static struct virtq *selected_queue(struct virtio_mmio_dev *t)
{
	return t->queue_sel < t->nqueues ? &t->queues[t->queue_sel] : NULL;
}

/* queue_writable: queue registers are set up between FEATURES_OK and DRIVER_OK (3.1.1 step 7). */
static struct virtq *queue_writable(struct virtio_mmio_dev *t, uint64_t offset, bool ready_reg)
{
	struct virtq *q = selected_queue(t);
	uint32_t bad =
	    VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET;

	if (!(t->status & VIRTIO_STATUS_FEATURES_OK) || (t->status & bad)) {
		vlog_limited(&t->log, t->who, ERR_QUEUE,
			     "queue register 0x%llx written in status 0x%x",
			     (unsigned long long)offset, t->status);
		return NULL;
	}
	if (q == NULL) {
		vlog_limited(&t->log, t->who, ERR_QUEUE,
			     "queue register 0x%llx written for queue %u of %u",
			     (unsigned long long)offset, t->queue_sel, t->nqueues);
		return NULL;
	}
	if (q->ready && !ready_reg) {
		vlog_limited(&t->log, t->who, ERR_QUEUE,
			     "queue %u register 0x%llx written while ready", t->queue_sel,
			     (unsigned long long)offset);
		return NULL;
	}
	return q;
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffull) | ((uint64_t)v << 32);
}

/* notifiable: may (queue) be served now? Logs why not. */
static bool notifiable(struct virtio_mmio_dev *t, uint32_t queue)
{
	uint32_t want = VIRTIO_STATUS_DRIVER_OK;
	uint32_t bad = VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET;

	if ((t->status & (want | bad)) != want || !t->activated) {
		vlog_limited(&t->log, t->who, ERR_NOTIFY, "queue %u notified in status 0x%x", queue,
			     t->status);
		return false;
	}
	if (queue >= t->nqueues || !t->queues[queue].ready) {
		vlog_limited(&t->log, t->who, ERR_NOTIFY,
			     "notification for queue %u, which is not ready", queue);
		return false;
	}
	return true;
}

static void notify(struct virtio_mmio_dev *t, uint32_t queue)
{
	if (!t->quiesced && notifiable(t, queue))
		t->ops->notify(t->dev, queue);
}

/*
 * register_notify: a QueueNotify write that reached the register machine
 * (a vCPU thread). The queue is served where notifications are always
 * served, on the VMM thread, through the handoff; the vCPU thread never
 * runs a device's data path (DESIGN.md, "What a vCPU thread may do").
 */
static void register_notify(struct virtio_mmio_dev *t, uint32_t queue)
{
	if (!notifiable(t, queue))
		return;
	if (t->handoff != NULL)
		t->handoff(t->handoff_ctx, queue);
	else if (!t->quiesced) /* else resume serves it */
		t->ops->notify(t->dev, queue);
}

static void reg_write(struct virtio_mmio_dev *t, uint64_t offset, uint32_t v)
{
	struct virtq *q;

	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if ((t->status & (VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
				  VIRTIO_STATUS_FAILED)) != VIRTIO_STATUS_DRIVER) {
			vlog_limited(&t->log, t->who, ERR_FEATURES,
				     "driver features written in status 0x%x", t->status);
			break;
		}
		if (t->driver_features_sel == 0)
			set_lo(&t->driver_features, v);
		else if (t->driver_features_sel == 1)
			set_hi(&t->driver_features, v);
		else if (v != 0)
			vlog_limited(&t->log, t->who, ERR_FEATURES,
				     "driver features page %u written", t->driver_features_sel);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = queue_writable(t, offset, false)) != NULL)
			q->size = v; /* validated when the queue is made ready */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if ((q = queue_writable(t, offset, true)) == NULL)
			break;
		if (v == 0)
			q->ready = false;
		else if (!q->ready)
			(void)vq_enable(q, t->gm); /* failure leaves QueueReady 0, logged */
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: {
		uint64_t *r;
		if ((q = queue_writable(t, offset, false)) == NULL)
			break;
		r = offset < VIRTIO_MMIO_QUEUE_AVAIL_LOW  ? &q->desc_gpa
		    : offset < VIRTIO_MMIO_QUEUE_USED_LOW ? &q->avail_gpa
							  : &q->used_gpa;
		if (offset & 4)
			set_hi(r, v);
		else
			set_lo(r, v);
		break;
	}
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/*
		 * Without VIRTIO_F_NOTIFICATION_DATA (never offered) the whole
		 * value is the queue index (4.2.2): 0x10000 names no queue, it
		 * is not queue 0.
		 */
		register_notify(t, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->isr &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break; /* no shared memory regions; reads say so */
	default:
		vlog_limited(&t->log, t->who, ERR_ACCESS,
			     "write to read-only or unknown register 0x%llx",
			     (unsigned long long)offset);
		break;
	}
}

static uint32_t reg_read(struct virtio_mmio_dev *t, uint64_t offset)
{
	struct virtq *q = selected_queue(t);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel == 0)
			return (uint32_t)t->device_features;
		if (t->device_features_sel == 1)
			return (uint32_t)(t->device_features >> 32);
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q != NULL ? q->max_size : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q != NULL && q->ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return t->isr;
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* length -1: no such region (4.2.2) */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		vlog_limited(&t->log, t->who, ERR_ACCESS,
			     "read of write-only or unknown register 0x%llx",
			     (unsigned long long)offset);
		return 0;
	}
}

static void config_access(struct virtio_mmio_dev *t, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write)
{
	if (!is_write) {
		if (t->ops->config_read != NULL)
			t->ops->config_read(t->dev, offset, data, len);
		return;
	}
	if ((t->status & (VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED)) != VIRTIO_STATUS_DRIVER) {
		count(t->counts.cfg_fails);
		vlog_limited(&t->log, t->who, ERR_CONFIG, "config written in status 0x%x",
			     t->status);
		return;
	}
	if (t->ops->config_write != NULL)
		t->ops->config_write(t->dev, offset, data, len);
	else
		count(t->counts.cfg_fails); /* nothing writable: dropped */
}

void virtio_mmio_access(struct virtio_mmio_dev *t, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write)
{
	bool ok;

	if (!is_write)
		memset(data, 0, len);
	if (offset < VIRTIO_MMIO_CONFIG)
		ok = len == 4 && offset % 4 == 0;
	else
		ok = offset < VIRTIO_MMIO_WINDOW && (len == 1 || len == 2 || len == 4) &&
		     offset % len == 0 && len <= VIRTIO_MMIO_WINDOW - offset;
	pthread_mutex_lock(&t->lock);
	if (!ok) {
		vlog_limited(&t->log, t->who, ERR_ACCESS, "%u-byte %s at 0x%llx refused", len,
			     is_write ? "write" : "read", (unsigned long long)offset);
	} else if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(t, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (is_write) {
		uint32_t v;
		memcpy(&v, data, 4); /* little-endian host, as the bus is */
		reg_write(t, offset, v);
	} else {
		uint32_t v = reg_read(t, offset);
		memcpy(data, &v, 4);
	}
	unlock(t);
}

void virtio_mmio_set_handoff(struct virtio_mmio_dev *t, virtio_handoff_fn fn, void *ctx)
{
	pthread_mutex_lock(&t->lock);
	t->handoff = fn;
	t->handoff_ctx = ctx;
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_notify(struct virtio_mmio_dev *t, unsigned int queue)
{
	pthread_mutex_lock(&t->lock);
	notify(t, queue);
	unlock(t);
}

unsigned int virtio_mmio_num_queues(const struct virtio_mmio_dev *t)
{
	return t->nqueues;
}

int virtio_mmio_attach(struct virtio_mmio_dev *t, const struct virtio_watcher *w)
{
	int rc;

	if (t->ops->attach == NULL)
		return 0;
	pthread_mutex_lock(&t->lock);
	rc = t->ops->attach(t->dev, w);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int virtio_mmio_with_lock(struct virtio_mmio_dev *t, virtio_locked_fn fn, void *arg)
{
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = fn(t->dev, arg);
	unlock(t);
	return ret;
}

bool virtio_mmio_fd_ready(struct virtio_mmio_dev *t, uint64_t tag, uint32_t events)
{
	bool taken;

	pthread_mutex_lock(&t->lock);
	/* Quiesced: the caller keeps the fd, and what made it ready, for after resume. */
	taken = !t->quiesced;
	if (taken && t->ops->fd_ready != NULL)
		t->ops->fd_ready(t->dev, tag, events);
	unlock(t);
	return taken;
}

uint32_t virtio_mmio_status(struct virtio_mmio_dev *t)
{
	uint32_t s;

	pthread_mutex_lock(&t->lock);
	s = t->status;
	pthread_mutex_unlock(&t->lock);
	return s;
}

void virtio_mmio_set_counters(struct virtio_mmio_dev *t, const struct virtio_mmio_counters *c)
{
	pthread_mutex_lock(&t->lock);
	t->counts = c != NULL ? *c : (struct virtio_mmio_counters){0};
	pthread_mutex_unlock(&t->lock);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *t, unsigned int index)
{
	return index < t->nqueues ? &t->queues[index] : NULL;
}

uint64_t virtio_mmio_driver_features(const struct virtio_mmio_dev *t)
{
	return t->driver_features;
}

void virtio_mmio_signal_used(struct virtio_mmio_dev *t, unsigned int queue)
{
	if (queue >= t->nqueues || !vq_should_signal(&t->queues[queue]))
		return;
	raise_irq(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_config_changed(struct virtio_mmio_dev *t)
{
	t->config_generation++;
	if (t->status & VIRTIO_STATUS_DRIVER_OK)
		raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_needs_reset(struct virtio_mmio_dev *t)
{
	needs_reset(t);
}

/* ---- snapshots ---- */

/* serving: the device is active and its queues are served. */
static bool serving(const struct virtio_mmio_dev *t)
{
	return t->activated &&
	       (t->status & (VIRTIO_STATUS_DRIVER_OK | BROKEN_BITS)) == VIRTIO_STATUS_DRIVER_OK;
}

/* kick: (fn) for the device, or with none a notification of each ready queue. */
static void kick(struct virtio_mmio_dev *t, void (*fn)(void *dev))
{
	if (fn != NULL) {
		fn(t->dev);
		return;
	}
	for (unsigned int i = 0; i < t->nqueues; i++)
		if (t->queues[i].ready)
			t->ops->notify(t->dev, i);
}

int virtio_mmio_quiesce(struct virtio_mmio_dev *t)
{
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (t->activated && t->ops->quiesce != NULL)
		rc = t->ops->quiesce(t->dev);
	if (rc == 0) {
		for (unsigned int i = 0; t->activated && i < t->nqueues; i++)
			(void)vq_rewind(&t->queues[i]);
		t->quiesced = true;
	} else {
		vlog_error_errno(-rc, "%s: cannot quiesce for a snapshot", t->who);
	}
	unlock(t);
	return rc;
}

void virtio_mmio_resume(struct virtio_mmio_dev *t)
{
	pthread_mutex_lock(&t->lock);
	if (t->quiesced) {
		t->quiesced = false;
		if (serving(t))
			kick(t, t->ops->resume);
	}
	unlock(t);
}

void virtio_mmio_save_state(struct virtio_mmio_dev *t, struct virtio_mmio_state *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&t->lock);
	st->device_id = t->ops->device_id;
	st->num_queues = t->nqueues;
	st->status = t->status;
	st->device_features_sel = t->device_features_sel;
	st->driver_features_sel = t->driver_features_sel;
	st->queue_sel = t->queue_sel;
	st->interrupt_status = t->isr;
	st->config_generation = t->config_generation;
	st->device_features = t->device_features;
	st->driver_features = t->driver_features;
	for (unsigned int i = 0; i < t->nqueues; i++)
		vq_save(&t->queues[i], &st->queues[i]);
	if (t->ops->save_state != NULL) {
		uint32_t n = t->ops->save_state(t->dev, st->dev, sizeof(st->dev));
		st->dev_len = n <= sizeof(st->dev) ? n : (uint32_t)sizeof(st->dev);
	}
	unlock(t);
}

/* status_legal: (s) is a status the register machine reaches (write_status, needs_reset). */
static bool status_legal(uint32_t s)
{
	uint32_t base = s & ~BROKEN_BITS;
	bool step = base == 0;

	if (s & ~(DRIVER_BITS | VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		return false;
	for (unsigned int i = 0; i < sizeof(driver_steps) / sizeof(driver_steps[0]); i++)
		step |= base == driver_steps[i];
	/* The device breaks only once the driver is done: a running device or its activation. */
	return step &&
	       (!(s & VIRTIO_STATUS_DEVICE_NEEDS_RESET) || (base & VIRTIO_STATUS_DRIVER_OK));
}

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* check_registers: the transport's own fields of (st), for (t). 0 or -EINVAL (err). */
static int check_registers(const struct virtio_mmio_dev *t, const struct virtio_mmio_state *st,
			   struct vlog_err *err)
{
	uint32_t s = st->status;

	if (st->device_id != t->ops->device_id) {
		vlog_err_set(err, 0, "device_id: %u, but this device is %u", st->device_id,
			     t->ops->device_id);
		return -EINVAL;
	}
	if (st->num_queues != t->nqueues) {
		vlog_err_set(err, 0, "num_queues: %u, but this device has %u", st->num_queues,
			     t->nqueues);
		return -EINVAL;
	}
	if (st->device_features != t->device_features) {
		vlog_err_set(err, 0,
			     "device_features: 0x%llx, but this device offers 0x%llx "
			     "(another configuration?)",
			     (unsigned long long)st->device_features,
			     (unsigned long long)t->device_features);
		return -EINVAL;
	}
	if (!status_legal(s)) {
		vlog_err_set(err, 0, "status: 0x%x is not a status a driver can reach", s);
		return -EINVAL;
	}
	/* Before FEATURES_OK the register holds whatever the driver wrote: filtered then. */
	if ((s & VIRTIO_STATUS_FEATURES_OK) &&
	    ((st->driver_features & ~t->device_features) ||
	     !(st->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))) {
		vlog_err_set(err, 0,
			     "driver_features: 0x%llx with FEATURES_OK: not within 0x%llx, or "
			     "without VERSION_1",
			     (unsigned long long)st->driver_features,
			     (unsigned long long)t->device_features);
		return -EINVAL;
	}
	if ((st->interrupt_status & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)) ||
	    (st->interrupt_status != 0 && !(s & VIRTIO_STATUS_DRIVER_OK))) {
		vlog_err_set(err, 0, "interrupt_status: 0x%x in status 0x%x", st->interrupt_status,
			     s);
		return -EINVAL;
	}
	if (st->pad != 0) {
		vlog_err_set(err, 0, "pad: not zero");
		return -EINVAL;
	}
	if (st->dev_len > sizeof(st->dev) || (t->ops->load_state == NULL && st->dev_len != 0) ||
	    !all_zero(st->dev + st->dev_len, sizeof(st->dev) - st->dev_len)) {
		vlog_err_set(err, 0,
			     "dev_len: %u (at most %zu, 0 for virtio-%s, bytes past it zero)",
			     st->dev_len, sizeof(st->dev), t->ops->name);
		return -EINVAL;
	}
	return 0;
}

/* check_queues: every queue of (st) for (t); (enable): ready ones are to be enabled. */
static int check_queues(const struct virtio_mmio_dev *t, const struct virtio_mmio_state *st,
			bool enable, struct vlog_err *err)
{
	bool fok = st->status & VIRTIO_STATUS_FEATURES_OK;

	for (unsigned int i = 0; i < VIRTIO_STATE_MAX_QUEUES; i++) {
		const struct virtio_queue_state *qs = &st->queues[i];
		bool event_idx = fok && (st->driver_features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
		bool indirect =
		    fok && (st->driver_features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
		int rc;

		if (i >= t->nqueues) {
			if (!all_zero(qs, sizeof(*qs))) {
				vlog_err_set(err, 0, "queues[%u]: not zero, the device has %u", i,
					     t->nqueues);
				return -EINVAL;
			}
			continue;
		}
		rc = vq_check_state(&t->queues[i], t->gm, qs, enable, err);
		if (rc < 0)
			return rc;
		/* Queues are set up after FEATURES_OK, which also fixes these two (features_ok). */
		if (qs->ready && !fok) {
			vlog_err_set(err, 0, "queues[%u].ready: 1 in status 0x%x", i, st->status);
			return -EINVAL;
		}
		if (qs->event_idx != event_idx || qs->indirect != indirect) {
			vlog_err_set(err, 0,
				     "queues[%u].event_idx: event_idx %u, indirect %u, but the "
				     "status and features say %u, %u",
				     i, qs->event_idx, qs->indirect, event_idx, indirect);
			return -EINVAL;
		}
	}
	return 0;
}

int virtio_mmio_load_state(struct virtio_mmio_dev *t, const struct virtio_mmio_state *st,
			   struct vlog_err *err)
{
	uint32_t s = st->status, old_generation;
	/* Queues work again as QueueReady left them; a broken device waits for a reset. */
	bool enable = (s & VIRTIO_STATUS_FEATURES_OK) && !(s & BROKEN_BITS);
	bool activate = enable && (s & VIRTIO_STATUS_DRIVER_OK);
	int rc;

	pthread_mutex_lock(&t->lock);
	old_generation = t->config_generation;
	if (t->status != 0 || t->activated || t->quiesced) {
		vlog_err_set(err, 0, "the transport is in use (status 0x%x): load into a new one",
			     t->status);
		pthread_mutex_unlock(&t->lock);
		return -EBUSY;
	}
	rc = check_registers(t, st, err);
	if (rc == 0)
		rc = check_queues(t, st, enable, err);
	if (rc < 0)
		goto out;

	t->driver_features = st->driver_features;
	t->device_features_sel = st->device_features_sel;
	t->driver_features_sel = st->driver_features_sel;
	t->queue_sel = st->queue_sel;
	t->status = s;
	t->isr = st->interrupt_status;
	t->config_generation = st->config_generation;
	for (unsigned int i = 0; i < t->nqueues; i++) {
		if (vq_load_state(&t->queues[i], t->gm, &st->queues[i], enable) < 0) {
			vlog_err_set(err, 0, "queues[%u]: refused when enabled", i);
			rc = -EINVAL;
			goto fail;
		}
	}
	if (activate) {
		rc = t->ops->activate != NULL ? t->ops->activate(t->dev, t) : 0;
		if (rc < 0) {
			vlog_err_set(err, 0, "status: 0x%x, but the device refused to start: %s", s,
				     strerror(-rc));
			rc = -EINVAL;
			goto fail;
		}
		t->activated = true;
	}
	if (t->ops->load_state != NULL) {
		rc = t->ops->load_state(t->dev, st->dev, st->dev_len, err);
		if (rc < 0) {
			rc = -EINVAL;
			goto fail;
		}
	}
	if (serving(t))
		kick(t, t->ops->restored != NULL ? t->ops->restored : t->ops->resume);
	if (st->interrupt_status != 0 && t->irq != NULL)
		t->irq(t->irq_ctx);
	vlog_debug("%s: restored, status 0x%x", t->who, t->status);
	goto out;
fail:
	reset(t);
	t->config_generation = old_generation;
out:
	unlock(t);
	return rc;
}
