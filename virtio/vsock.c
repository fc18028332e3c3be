// SPDX-License-Identifier: Apache-2.0
/* vsock.c: virtio-vsock proxied to host Unix sockets (Firecracker's hybrid vsock). */
#include "vsock.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mmio.h"
#include "queue.h"
#include "vlog.h"

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_BYTES, "virtio 1.2, 5.10.6");

#define HASH_SIZE     1024 /* connection table buckets, a power of two */
#define RST_RING      2048 /* RSTs waiting for an rx buffer */
#define RST_STRAY_MAX 1024 /* of which answers to packets of no connection */
#define MAX_EVENTS    64   /* epoll events per ops->event */
#define MAX_ACCEPTS   64   /* accepts per listener wakeup */
#define RX_BUDGET     512  /* rx packets per pass before yielding through the kick fd */
#define LOG_EVERY_MS  10000
#define WHO	      "virtio-vsock" /* what its log lines start with */

/* Tags for the non-connection fds in the epoll set (connections use their pointer). */
#define TAG_LISTEN 1
#define TAG_TIMER  2
#define TAG_KICK   3

/* Rate-limited problems, each logged at most once per LOG_EVERY_MS. */
enum vsock_error {
	ERR_SHORT,  /* tx chain without a whole header */
	ERR_LEN,    /* header len past the chain or above VSOCK_MAX_PKT */
	ERR_CID,    /* wrong src_cid or dst_cid */
	ERR_TYPE,   /* not a stream packet */
	ERR_OP,	    /* unknown op */
	ERR_STATE,  /* op not valid for the connection (or no connection) */
	ERR_CREDIT, /* guest sent past the credit it was given */
	ERR_LIMIT,  /* max_conns reached */
	ERR_RXBUF,  /* unusable rx buffer */
	ERR_HOST,   /* host socket error */
	ERR_RING,   /* RST dropped: no rx buffers for too long */
	ERR_KINDS
};
_Static_assert(ERR_KINDS <= VLOG_KINDS, "one vlog_limit slot per kind");

enum conn_state {
	ST_LINE,	/* host-initiated: reading "CONNECT <port>\n" */
	ST_REQUESTING,	/* host-initiated: REQUEST to the guest, awaiting RESPONSE */
	ST_ESTABLISHED, /* data flows */
	ST_CLOSING,	/* sent SHUTDOWN(both) after host hangup, awaiting RST */
	ST_DRAINING,	/* guest closed, flushing buffered bytes to the host; no ports */
	ST_DEAD,	/* closed, freed at the end of the current entry point */
};

/* Control packets a connection owes the guest. */
#define PEND_REQUEST	    0x01u
#define PEND_RESPONSE	    0x02u
#define PEND_CREDIT_UPDATE  0x04u
#define PEND_CREDIT_REQUEST 0x08u
#define PEND_SHUTDOWN	    0x10u

struct conn {
	struct conn *hnext;		/* hash chain */
	struct conn *prev, *next;	/* every connection */
	struct conn *rq_prev, *rq_next; /* rx service queue */
	bool in_rxq;
	int fd;
	enum conn_state state;
	uint32_t host_port, guest_port;
	uint32_t armed;	     /* events armed (EPOLLONESHOT); 0 once fired */
	bool readable;	     /* EPOLLIN seen and not yet drained */
	bool host_eof;	     /* read returned 0 */
	bool host_hup;	     /* the host side hung up both ways */
	uint32_t guest_shut; /* VSOCK_SHUTDOWN_* the guest sent */
	uint32_t pending;    /* PEND_* */
	uint32_t shut_flags; /* for PEND_SHUTDOWN */
	bool credit_requested;
	/* host -> guest: what the guest allows us */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool peer_bogus; /* the last fwd_cnt went back or past tx_cnt: no credit */
	/* guest -> host: what we allow the guest */
	uint32_t rx_cnt, fwd_cnt, fwd_sent;
	uint8_t *buf; /* ring of VSOCK_CONN_BUF bytes, allocated while non-empty */
	uint32_t buf_head, buf_len;
	uint32_t unacct; /* bytes at the ring's head that are not guest data ("OK ...") */
	char line[VSOCK_CONNECT_LINE_MAX];
	unsigned int line_len;
	uint64_t deadline; /* ms, CLOCK_MONOTONIC; 0: none */
};

struct rst {
	uint32_t host_port, guest_port;
};

struct vsock {
	uint32_t guest_cid;
	char *path;
	uint32_t timeout_ms, line_timeout_ms;
	int listen_fd, epfd, timer_fd, kick_fd;
	bool timer_on, listen_paused;
	struct virtio_mmio_dev *t; /* set between activate and reset */

	struct conn *buckets[HASH_SIZE];
	struct conn *all;		/* every live connection */
	struct conn *rq_head, *rq_tail; /* connections with something for the guest */
	struct conn *grave;		/* killed, its socket not yet closed */
	unsigned int nconns;
	unsigned int max_conns; /* host sockets at once: what the process can afford */
	uint32_t next_port;

	struct rst rsts[RST_RING];
	unsigned int rst_head, rst_len;

	bool have_rx; /* rx_chain popped and unused */
	struct virtq_chain rx_chain;
	struct virtq_chain tx_chain;

	struct vlog_limit log; /* each kind of problem logged at most once per LOG_EVERY_MS */
	struct vsock_stats st;
	struct {
		uint64_t cid;
	} __attribute__((packed)) cfg;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- connection table ------------------------------------------------ */

static unsigned int bucket(uint32_t host_port, uint32_t guest_port)
{
	return ((host_port * 0x9e3779b1u) ^ guest_port) & (HASH_SIZE - 1);
}

static struct conn *find(struct vsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (struct conn *c = v->buckets[bucket(host_port, guest_port)]; c != NULL; c = c->hnext)
		if (c->host_port == host_port && c->guest_port == guest_port)
			return c;
	return NULL;
}

static bool hashed(const struct conn *c)
{
	return c->state == ST_REQUESTING || c->state == ST_ESTABLISHED || c->state == ST_CLOSING;
}

static void hash_add(struct vsock *v, struct conn *c)
{
	struct conn **b = &v->buckets[bucket(c->host_port, c->guest_port)];

	c->hnext = *b;
	*b = c;
}

static void hash_del(struct vsock *v, struct conn *c)
{
	for (struct conn **p = &v->buckets[bucket(c->host_port, c->guest_port)]; *p != NULL;
	     p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			c->hnext = NULL;
			return;
		}
}

static void rxq_add(struct vsock *v, struct conn *c)
{
	if (c->in_rxq)
		return;
	c->in_rxq = true;
	c->rq_next = NULL;
	c->rq_prev = v->rq_tail;
	if (v->rq_tail != NULL)
		v->rq_tail->rq_next = c;
	else
		v->rq_head = c;
	v->rq_tail = c;
}

static void rxq_del(struct vsock *v, struct conn *c)
{
	if (!c->in_rxq)
		return;
	if (c->rq_prev != NULL)
		c->rq_prev->rq_next = c->rq_next;
	else
		v->rq_head = c->rq_next;
	if (c->rq_next != NULL)
		c->rq_next->rq_prev = c->rq_prev;
	else
		v->rq_tail = c->rq_prev;
	c->in_rxq = false;
	c->rq_prev = c->rq_next = NULL;
}

static void start_timer(struct vsock *v)
{
	uint32_t tick = v->timeout_ms / 4;
	struct itimerspec its;

	if (v->timer_on)
		return;
	if (tick < 10)
		tick = 10;
	if (tick > 500)
		tick = 500;
	its.it_interval.tv_sec = tick / 1000;
	its.it_interval.tv_nsec = (long)(tick % 1000) * 1000000;
	its.it_value = its.it_interval;
	if (timerfd_settime(v->timer_fd, 0, &its, NULL) == 0)
		v->timer_on = true;
	else
		vlog_limited(&v->log, WHO, ERR_HOST, "timerfd_settime: %s", strerror(errno));
}

static void set_deadline(struct vsock *v, struct conn *c, uint32_t ms)
{
	c->deadline = now_ms() + ms;
	start_timer(v);
}

/* conn_new: a connection over host socket (fd), added to the epoll set with (events). */
static struct conn *conn_new(struct vsock *v, int fd, enum conn_state state, uint32_t events)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = {.events = events | EPOLLONESHOT};

	if (c == NULL) {
		vlog_limited(&v->log, WHO, ERR_HOST, "out of memory for a connection");
		return NULL;
	}
	ev.data.ptr = c;
	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		vlog_limited(&v->log, WHO, ERR_HOST, "epoll_ctl ADD: %s", strerror(errno));
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->state = state;
	c->armed = events;
	c->next = v->all;
	if (v->all != NULL)
		v->all->prev = c;
	v->all = c;
	v->nconns++;
	v->st.conns_added++;
	return c;
}

/*
 * conn_kill: forget the connection. Its host socket is closed, and the
 * connection freed, by reap() at the end of the VMM thread's entry point:
 * events already fetched in this batch may still point here, and a reset
 * runs on a vCPU thread, which must not close fds (DESIGN.md).
 */
static void conn_kill(struct vsock *v, struct conn *c)
{
	if (c->state == ST_DEAD)
		return;
	if (hashed(c))
		hash_del(v, c);
	rxq_del(v, c);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		v->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->buf);
	c->buf = NULL;
	c->state = ST_DEAD;
	v->nconns--;
	v->st.conns_removed++;
	c->next = v->grave;
	v->grave = c;
}

/* reap: close and free what conn_kill forgot (VMM thread). */
static void reap(struct vsock *v)
{
	while (v->grave != NULL) {
		struct conn *c = v->grave;
		v->grave = c->next;
		close(c->fd); /* also leaves the epoll set: the fd is never duplicated */
		free(c);
	}
}

/* rst_queue: an RST from (host_port) to the guest's (guest_port). */
static void rst_queue(struct vsock *v, uint32_t host_port, uint32_t guest_port, bool stray)
{
	if (v->rst_len == RST_RING || (stray && v->rst_len >= RST_STRAY_MAX)) {
		vlog_limited(&v->log, WHO, ERR_RING,
			     "RST to port %u dropped: the guest posts no rx buffers", guest_port);
		return;
	}
	v->rsts[(v->rst_head + v->rst_len) % RST_RING] =
	    (struct rst){.host_port = host_port, .guest_port = guest_port};
	v->rst_len++;
}

/* conn_reset: RST the guest's side (if it knows the connection) and close ours. */
static void conn_reset(struct vsock *v, struct conn *c)
{
	if (hashed(c))
		rst_queue(v, c->host_port, c->guest_port, false);
	conn_kill(v, c);
}

/* conn_abort: conn_reset for a connection that failed (not one that ended in order). */
static void conn_abort(struct vsock *v, struct conn *c)
{
	v->st.conns_killed++;
	conn_reset(v, c);
}

/* conn_drop: conn_kill for a connection that failed and the guest owes no RST for. */
static void conn_drop(struct vsock *v, struct conn *c)
{
	v->st.conns_killed++;
	conn_kill(v, c);
}

/*
 * peer_credit: the guest's buf_alloc and fwd_cnt from one of its packets.
 * fwd_cnt counts the bytes the guest has taken of those sent (5.10.6.3): it
 * never goes back and never passes tx_cnt, so the bytes in flight never
 * grow. A value that breaks this grants no credit, and is not taken, until
 * a packet with a sane one comes.
 */
static void peer_credit(struct conn *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	uint32_t was = c->tx_cnt - c->peer_fwd_cnt, now = c->tx_cnt - fwd_cnt;

	c->peer_buf_alloc = buf_alloc;
	c->peer_bogus = now > was;
	if (!c->peer_bogus)
		c->peer_fwd_cnt = fwd_cnt;
}

/* credit: bytes the guest can take now (5.10.6.3); hostile numbers give 0. */
static uint32_t credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	if (c->peer_bogus)
		return 0;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool can_read(const struct conn *c)
{
	return (c->state == ST_ESTABLISHED || c->state == ST_CLOSING) && c->readable &&
	       !c->host_eof && !(c->guest_shut & VSOCK_SHUTDOWN_RCV) && credit(c) > 0;
}

/* wants_rx: the connection has a packet for the guest. */
static bool wants_rx(struct conn *c)
{
	if (c->state != ST_ESTABLISHED && c->state != ST_REQUESTING && c->state != ST_CLOSING)
		return false;
	if (c->pending != 0 || can_read(c))
		return true;
	/* Data waits for credit: ask for it once (5.10.6.3). */
	if (c->state == ST_ESTABLISHED && c->readable && !c->host_eof &&
	    !(c->guest_shut & VSOCK_SHUTDOWN_RCV) && !c->credit_requested) {
		c->credit_requested = true;
		c->pending |= PEND_CREDIT_REQUEST;
		return true;
	}
	return false;
}

/* desired: the events the device can act on for (c) now. */
static uint32_t desired(const struct conn *c)
{
	uint32_t ev = 0;

	switch (c->state) {
	case ST_LINE:
		return EPOLLIN;
	case ST_DRAINING:
		return EPOLLOUT;
	case ST_ESTABLISHED:
	case ST_CLOSING:
		if (!c->readable && !c->host_eof && !(c->guest_shut & VSOCK_SHUTDOWN_RCV) &&
		    credit(c) > 0)
			ev |= EPOLLIN | EPOLLRDHUP;
		if (c->buf_len > 0)
			ev |= EPOLLOUT;
		/* After EOF, watch for the full hangup only (HUP is always reported). */
		if (ev == 0 && c->host_eof && !c->host_hup)
			ev = EPOLLHUP;
		return ev;
	default:
		return 0;
	}
}

/*
 * conn_update: after anything changed (c): queue it for the rx pass or take
 * it off, and re-arm its fd for what the device can act on. An fd left armed
 * with events no longer wanted fires at most once (EPOLLONESHOT) and is then
 * looked at again here, so nothing spins.
 */
static void conn_update(struct vsock *v, struct conn *c)
{
	uint32_t ev;

	if (c->state == ST_DEAD)
		return;
	if (wants_rx(c))
		rxq_add(v, c);
	else
		rxq_del(v, c);
	ev = desired(c);
	if (ev == 0 || ev == c->armed)
		return;
	struct epoll_event e = {.events = ev | EPOLLONESHOT, .data.ptr = c};
	if (epoll_ctl(v->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0) {
		vlog_limited(&v->log, WHO, ERR_HOST, "epoll_ctl MOD: %s", strerror(errno));
		conn_abort(v, c);
		return;
	}
	c->armed = ev;
}

/* ---- guest -> host bytes ---------------------------------------------- */

/* maybe_credit_update: tell the guest about freed buffer space before it stalls. */
static void maybe_credit_update(struct conn *c)
{
	uint32_t guest_view_used = c->rx_cnt - c->fwd_sent;

	if (c->fwd_cnt != c->fwd_sent && guest_view_used > VSOCK_CONN_BUF / 2)
		c->pending |= PEND_CREDIT_UPDATE;
}

/* forwarded: (n) bytes left the ring or went straight out; count the guest's. */
static void forwarded(struct conn *c, uint32_t n)
{
	uint32_t skip = n < c->unacct ? n : c->unacct;

	c->unacct -= skip;
	c->fwd_cnt += n - skip;
	maybe_credit_update(c);
}

/* host_send: sendmsg without blocking or SIGPIPE. Bytes sent, 0 (would block), -errno. */
static ssize_t host_send(int fd, struct iovec *iov, size_t n)
{
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = n};
	ssize_t r;

	do
		r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return r;
}

/* buf_put: append (len) bytes of (iov) starting (skip) bytes in. Caller checked room. */
static int buf_put(struct conn *c, const struct iovec *iov, size_t n, uint64_t skip, uint32_t len)
{
	if (c->buf == NULL) {
		c->buf = malloc(VSOCK_CONN_BUF);
		if (c->buf == NULL)
			return -ENOMEM;
		c->buf_head = 0;
	}
	for (size_t i = 0; i < n && len > 0; i++) {
		const uint8_t *p = iov[i].iov_base;
		uint64_t l = iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		p += skip;
		l -= skip;
		skip = 0;
		if (l > len)
			l = len;
		while (l > 0) {
			uint32_t at = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF;
			uint32_t chunk = VSOCK_CONN_BUF - at;
			if (chunk > l)
				chunk = (uint32_t)l;
			memcpy(c->buf + at, p, chunk);
			c->buf_len += chunk;
			len -= chunk;
			p += chunk;
			l -= chunk;
		}
	}
	return 0;
}

static void after_drain(struct vsock *v, struct conn *c)
{
	free(c->buf);
	c->buf = NULL;
	c->buf_head = 0;
	if (c->state == ST_DRAINING) {
		conn_kill(v, c);
		return;
	}
	if (c->guest_shut & VSOCK_SHUTDOWN_SEND)
		shutdown(c->fd, SHUT_WR);
}

/* flush: write buffered bytes to the host socket. */
static void flush(struct vsock *v, struct conn *c)
{
	while (c->buf_len > 0) {
		uint32_t first = VSOCK_CONN_BUF - c->buf_head;
		struct iovec iov[2];
		size_t n = 1;
		ssize_t r;

		if (first > c->buf_len)
			first = c->buf_len;
		iov[0] = (struct iovec){c->buf + c->buf_head, first};
		if (first < c->buf_len) {
			iov[1] = (struct iovec){c->buf, c->buf_len - first};
			n = 2;
		}
		r = host_send(c->fd, iov, n);
		if (r < 0) {
			v->st.tx_flush_fails++;
			vlog_debug(WHO ": host port %u: send: %s", c->host_port, strerror((int)-r));
			if (c->state == ST_DRAINING)
				conn_drop(v, c);
			else
				conn_abort(v, c);
			return;
		}
		if (r == 0)
			return; /* EPOLLOUT resumes */
		c->buf_head = (uint32_t)((c->buf_head + (uint32_t)r) % VSOCK_CONN_BUF);
		c->buf_len -= (uint32_t)r;
		forwarded(c, (uint32_t)r);
	}
	after_drain(v, c);
}

/*
 * to_host: (len) bytes of (iov) from (skip) on to the host socket: straight
 * out when nothing is buffered, the rest into the ring. (acct) false for
 * bytes that are not guest data. 0, or -errno and the caller resets.
 */
static int to_host(struct vsock *v, struct conn *c, struct iovec *iov, size_t n, uint64_t skip,
		   uint32_t len, bool acct)
{
	struct iovec out[VIRTQ_MAX_SIZE];
	size_t k = 0;
	uint32_t sent = 0;

	if (c->buf_len == 0) {
		uint64_t s = skip, left = len;
		for (size_t i = 0; i < n && left > 0 && k < VIRTQ_MAX_SIZE; i++) {
			if (s >= iov[i].iov_len) {
				s -= iov[i].iov_len;
				continue;
			}
			out[k].iov_base = (uint8_t *)iov[i].iov_base + s;
			out[k].iov_len = iov[i].iov_len - s;
			if (out[k].iov_len > left)
				out[k].iov_len = left;
			left -= out[k].iov_len;
			s = 0;
			k++;
		}
		ssize_t r = host_send(c->fd, out, k);
		if (r < 0) {
			v->st.tx_write_fails++;
			return (int)r;
		}
		sent = (uint32_t)r;
		if (acct)
			forwarded(c, sent);
		if (sent == len) {
			if (c->guest_shut & VSOCK_SHUTDOWN_SEND)
				shutdown(c->fd, SHUT_WR);
			return 0;
		}
	}
	if (len - sent > VSOCK_CONN_BUF - c->buf_len) {
		vlog_limited(
		    &v->log, WHO, ERR_CREDIT,
		    "port %u -> host port %u: %u bytes past the %u bytes of credit given: RST",
		    c->guest_port, c->host_port, len - sent, VSOCK_CONN_BUF - c->buf_len);
		return -ENOBUFS;
	}
	if (buf_put(c, iov, n, skip + sent, len - sent) < 0)
		return -ENOMEM;
	if (!acct)
		c->unacct += len - sent;
	return 0;
}

/* ---- guest packets (tx queue) ----------------------------------------- */

static void reject(struct vsock *v, struct conn *c, const struct virtio_vsock_hdr *h)
{
	if (c != NULL)
		conn_abort(v, c);
	else if (h->op != VSOCK_OP_RST)
		rst_queue(v, h->dst_port, h->src_port, true);
}

/* guest_connect: REQUEST to host port (h->dst_port): connect to <uds_path>_<port>. */
static void guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct conn *c;
	int fd;

	if (v->nconns >= v->max_conns) {
		v->st.conns_refused++;
		vlog_limited(&v->log, WHO, ERR_LIMIT,
			     "guest connect to port %u refused: %u connections open (the limit)",
			     h->dst_port, v->nconns);
		rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	/* vsock_create checked that the longest suffix fits. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vlog_limited(&v->log, WHO, ERR_HOST, "socket: %s", strerror(errno));
		rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	/* AF_UNIX connects at once or fails (EAGAIN: backlog full); no EINPROGRESS. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vlog_debug(WHO ": guest port %u -> %s: %s", h->src_port, sa.sun_path,
			   strerror(errno));
		close(fd);
		rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	c = conn_new(v, fd, ST_ESTABLISHED, EPOLLIN | EPOLLRDHUP);
	if (c == NULL) {
		close(fd);
		rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	peer_credit(c, h->buf_alloc, h->fwd_cnt);
	c->pending = PEND_RESPONSE;
	hash_add(v, c);
	conn_update(v, c);
	vlog_debug(WHO ": guest port %u -> %s connected", h->src_port, sa.sun_path);
}

/* guest_response: the guest accepted our REQUEST: tell the host program. */
static void guest_response(struct vsock *v, struct conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
	struct iovec iov = {ok, (size_t)n};

	c->state = ST_ESTABLISHED;
	c->deadline = 0;
	c->readable = true; /* bytes may have followed the CONNECT line */
	if (to_host(v, c, &iov, 1, 0, (uint32_t)n, false) < 0)
		conn_abort(v, c);
}

static void guest_shutdown(struct vsock *v, struct conn *c, uint32_t flags)
{
	c->guest_shut |= flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	if (c->state == ST_CLOSING) {
		conn_reset(v, c); /* both sides are done: the RST ends it (5.10.6.5) */
		return;
	}
	if (c->guest_shut == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
		/* The guest closed; it waits for our RST. Bytes it sent still go out. */
		if (c->buf_len == 0) {
			conn_reset(v, c);
			return;
		}
		rst_queue(v, c->host_port, c->guest_port, false);
		hash_del(v, c);
		rxq_del(v, c);
		c->state = ST_DRAINING;
		c->pending = 0;
		set_deadline(v, c, v->timeout_ms);
		return;
	}
	if ((c->guest_shut & VSOCK_SHUTDOWN_SEND) && c->buf_len == 0)
		shutdown(c->fd, SHUT_WR);
}

static void guest_rw(struct vsock *v, struct conn *c, const struct virtio_vsock_hdr *h)
{
	int rc;

	if (c->state == ST_CLOSING) {
		conn_reset(v, c); /* the host hung up: a normal race, not worth a log line */
		return;
	}
	if (c->state != ST_ESTABLISHED || (c->guest_shut & VSOCK_SHUTDOWN_SEND)) {
		vlog_limited(&v->log, WHO, ERR_STATE,
			     "RW on port %u -> %u after shutdown or before RESPONSE: RST",
			     h->src_port, h->dst_port);
		conn_abort(v, c);
		return;
	}
	if (h->len == 0)
		return;
	c->rx_cnt += h->len;
	rc = to_host(v, c, v->tx_chain.iov, v->tx_chain.nread, VSOCK_HDR_BYTES, h->len, true);
	if (rc < 0) {
		if (rc != -ENOBUFS)
			vlog_debug(WHO ": host port %u: send: %s", c->host_port, strerror(-rc));
		conn_abort(v, c);
	}
}

static const char *op_name(uint16_t op)
{
	static const char *const names[] = {"INVALID",	     "REQUEST",	      "RESPONSE",
					    "RST",	     "SHUTDOWN",      "RW",
					    "CREDIT_UPDATE", "CREDIT_REQUEST"};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}

/* packet: one chain from the tx queue, header first (5.10.6). */
static void packet(struct vsock *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct conn *c;

	if (ch->read_len < VSOCK_HDR_BYTES ||
	    vq_chain_read(ch, 0, &h, sizeof(h)) != VSOCK_HDR_BYTES) {
		vlog_limited(&v->log, WHO, ERR_SHORT,
			     "tx buffer at head %u holds %llu readable bytes, < 44: dropped",
			     ch->head, (unsigned long long)ch->read_len);
		return;
	}
	if (h.src_cid != v->guest_cid) {
		vlog_limited(&v->log, WHO, ERR_CID,
			     "packet from cid %llu, the guest is %u: dropped",
			     (unsigned long long)h.src_cid, v->guest_cid);
		return;
	}
	c = find(v, h.dst_port, h.src_port);
	if (h.len > ch->read_len - VSOCK_HDR_BYTES || h.len > VSOCK_MAX_PKT) {
		vlog_limited(&v->log, WHO, ERR_LEN,
			     "%s port %u -> %u: len %u, the buffer holds %llu: RST", op_name(h.op),
			     h.src_port, h.dst_port, h.len,
			     (unsigned long long)(ch->read_len - VSOCK_HDR_BYTES));
		reject(v, c, &h);
		return;
	}
	if (h.dst_cid != VSOCK_HOST_CID) {
		vlog_limited(&v->log, WHO, ERR_CID,
			     "packet to cid %llu: only the host (2) is reachable: RST",
			     (unsigned long long)h.dst_cid);
		reject(v, c, &h);
		return;
	}
	if (h.type != VSOCK_TYPE_STREAM) {
		vlog_limited(&v->log, WHO, ERR_TYPE, "packet of type %u: only streams (1): RST",
			     h.type);
		reject(v, c, &h);
		return;
	}
	if (h.op == VSOCK_OP_INVALID || h.op > VSOCK_OP_CREDIT_REQUEST) {
		vlog_limited(&v->log, WHO, ERR_OP, "unknown op %u: RST", h.op);
		reject(v, c, &h);
		return;
	}
	v->st.tx_packets++;
	if (h.op == VSOCK_OP_RW)
		v->st.tx_bytes += h.len;
	if (c == NULL) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(v, &h);
		else if (h.op != VSOCK_OP_RST) {
			vlog_limited(&v->log, WHO, ERR_STATE,
				     "%s port %u -> %u: no such connection: RST", op_name(h.op),
				     h.src_port, h.dst_port);
			reject(v, NULL, &h);
		}
		return;
	}
	peer_credit(c, h.buf_alloc, h.fwd_cnt);
	if (credit(c) > 0)
		c->credit_requested = false;
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		vlog_limited(&v->log, WHO, ERR_STATE,
			     "REQUEST port %u -> %u: already connected: RST", h.src_port,
			     h.dst_port);
		conn_abort(v, c);
		break;
	case VSOCK_OP_RESPONSE:
		if (c->state != ST_REQUESTING) {
			vlog_limited(&v->log, WHO, ERR_STATE,
				     "RESPONSE port %u -> %u: not requested: RST", h.src_port,
				     h.dst_port);
			conn_abort(v, c);
		} else {
			guest_response(v, c);
		}
		break;
	case VSOCK_OP_RST:
		conn_kill(v, c);
		break;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(v, c, h.flags);
		break;
	case VSOCK_OP_RW:
		guest_rw(v, c, &h);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* taken above */
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT_UPDATE;
		break;
	}
	conn_update(v, c);
}

static void tx_pass(struct vsock *v)
{
	struct virtq *q = virtio_mmio_queue(v->t, VSOCK_QUEUE_TX);
	int rc;

	while ((rc = vq_pop(q, &v->tx_chain)) == 1) {
		packet(v, &v->tx_chain);
		vq_push(q, &v->tx_chain, 0);
	}
	if (rc < 0 && rc != -ENODEV)
		virtio_mmio_needs_reset(v->t);
	virtio_mmio_signal_used(v->t, VSOCK_QUEUE_TX);
}

/* ---- packets to the guest (rx queue) ----------------------------------- */

static void fill_hdr(const struct vsock *v, struct virtio_vsock_hdr *h, uint32_t host_port,
		     uint32_t guest_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->guest_cid;
	h->src_port = host_port;
	h->dst_port = guest_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_CONN_BUF;
}

static uint32_t put_hdr(struct vsock *v, struct virtio_vsock_hdr *h)
{
	vq_chain_write(&v->rx_chain, 0, h, sizeof(*h));
	return VSOCK_HDR_BYTES;
}

/* conn_hdr: a header from (c), carrying its credit; clears a pending CREDIT_UPDATE. */
static uint32_t conn_hdr(struct vsock *v, struct conn *c, uint16_t op, uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr h;

	fill_hdr(v, &h, c->host_port, c->guest_port, op);
	h.flags = flags;
	h.len = len;
	h.fwd_cnt = c->fwd_cnt;
	c->fwd_sent = c->fwd_cnt;
	c->pending &= ~PEND_CREDIT_UPDATE;
	return put_hdr(v, &h) + len;
}

/* read_data: host bytes into the rx chain after the header. Packet bytes, or 0. */
static uint32_t read_data(struct vsock *v, struct conn *c)
{
	const struct virtq_chain *ch = &v->rx_chain;
	uint64_t cap = ch->write_len - VSOCK_HDR_BYTES, skip = VSOCK_HDR_BYTES;
	struct iovec iov[VIRTQ_MAX_SIZE];
	size_t k = 0;
	ssize_t r;

	if (cap > credit(c))
		cap = credit(c);
	if (cap > VSOCK_MAX_PKT)
		cap = VSOCK_MAX_PKT;
	for (unsigned int i = ch->nread; i < ch->niov && cap > 0; i++) {
		if (skip >= ch->iov[i].iov_len) {
			skip -= ch->iov[i].iov_len;
			continue;
		}
		iov[k].iov_base = (uint8_t *)ch->iov[i].iov_base + skip;
		iov[k].iov_len = ch->iov[i].iov_len - skip;
		if (iov[k].iov_len > cap)
			iov[k].iov_len = cap;
		cap -= iov[k].iov_len;
		skip = 0;
		k++;
	}
	do
		r = readv(c->fd, iov, (int)k);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		c->tx_cnt += (uint32_t)r;
		return conn_hdr(v, c, VSOCK_OP_RW, 0, (uint32_t)r);
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = false;
		return 0;
	}
	if (r < 0) {
		v->st.rx_read_fails++;
		vlog_debug(WHO ": host port %u: read: %s", c->host_port, strerror(errno));
		conn_abort(v, c);
		return 0;
	}
	/* EOF: the host will send no more; after a full hangup it takes nothing either. */
	c->host_eof = true;
	c->readable = false;
	c->shut_flags = VSOCK_SHUTDOWN_SEND;
	if (c->host_hup || c->state == ST_CLOSING) {
		c->shut_flags |= VSOCK_SHUTDOWN_RCV;
		if (c->state != ST_CLOSING) {
			c->state = ST_CLOSING;
			set_deadline(v, c, v->timeout_ms);
		}
	}
	c->pending &= ~PEND_SHUTDOWN;
	return conn_hdr(v, c, VSOCK_OP_SHUTDOWN, c->shut_flags, 0);
}

/* conn_emit: the next packet (c) owes the guest into rx_chain: its length, or 0. */
static uint32_t conn_emit(struct vsock *v, struct conn *c)
{
	struct virtio_vsock_hdr h;

	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		fill_hdr(v, &h, c->host_port, c->guest_port, VSOCK_OP_REQUEST);
		h.fwd_cnt = c->fwd_cnt;
		return put_hdr(v, &h);
	}
	if (c->state == ST_REQUESTING)
		return 0;
	if (c->pending & PEND_RESPONSE) {
		c->pending &= ~PEND_RESPONSE;
		return conn_hdr(v, c, VSOCK_OP_RESPONSE, 0, 0);
	}
	if (can_read(c)) {
		uint32_t n = read_data(v, c);
		if (n > 0 || c->state == ST_DEAD)
			return n;
	}
	if (c->pending & PEND_SHUTDOWN) {
		c->pending &= ~PEND_SHUTDOWN;
		return conn_hdr(v, c, VSOCK_OP_SHUTDOWN, c->shut_flags, 0);
	}
	if (c->pending & PEND_CREDIT_REQUEST) {
		c->pending &= ~PEND_CREDIT_REQUEST;
		return conn_hdr(v, c, VSOCK_OP_CREDIT_REQUEST, 0, 0);
	}
	if (c->pending & PEND_CREDIT_UPDATE)
		return conn_hdr(v, c, VSOCK_OP_CREDIT_UPDATE, 0, 0);
	return 0;
}

/* take_rx: make sure rx_chain holds a usable buffer. 1, 0 (none), -1 (queue broken). */
static int take_rx(struct vsock *v, struct virtq *q, bool *pushed)
{
	while (!v->have_rx) {
		int rc = vq_pop(q, &v->rx_chain);
		if (rc < 0 && rc != -ENODEV)
			virtio_mmio_needs_reset(v->t);
		if (rc <= 0)
			return rc < 0 ? -1 : 0;
		if (v->rx_chain.nread > 0 || v->rx_chain.write_len <= VSOCK_HDR_BYTES) {
			vlog_limited(
			    &v->log, WHO, ERR_RXBUF,
			    "rx buffer at head %u: %llu writable bytes (need > 44), %u readable "
			    "descriptors: returned unused",
			    v->rx_chain.head, (unsigned long long)v->rx_chain.write_len,
			    v->rx_chain.nread);
			vq_push(q, &v->rx_chain, 0);
			*pushed = true;
			continue;
		}
		v->have_rx = true;
	}
	return 1;
}

/* rx_pass: hand the guest what is pending while it has rx buffers. */
static void rx_pass(struct vsock *v)
{
	struct virtq *q;
	bool pushed = false;
	unsigned int budget = RX_BUDGET;

	if (v->t == NULL)
		return;
	q = virtio_mmio_queue(v->t, VSOCK_QUEUE_RX);
	while (v->rst_len > 0 || v->rq_head != NULL) {
		uint32_t used;

		if (budget-- == 0) {
			uint64_t one = 1;
			/* Yield: the kick fd brings us back through ops->event. */
			if (write(v->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
				vlog_limited(&v->log, WHO, ERR_HOST, "kick eventfd: %s",
					     strerror(errno));
			break;
		}
		if (take_rx(v, q, &pushed) <= 0)
			break;
		if (v->rst_len > 0) {
			struct rst r = v->rsts[v->rst_head];
			struct virtio_vsock_hdr h;
			v->rst_head = (v->rst_head + 1) % RST_RING;
			v->rst_len--;
			fill_hdr(v, &h, r.host_port, r.guest_port, VSOCK_OP_RST);
			used = put_hdr(v, &h);
		} else {
			struct conn *c = v->rq_head;
			used = conn_emit(v, c);
			rxq_del(v, c); /* to the back of the queue, if it has more */
			conn_update(v, c);
		}
		if (used > 0) {
			vq_push(q, &v->rx_chain, used);
			v->have_rx = false;
			pushed = true;
			v->st.rx_packets++;
			v->st.rx_bytes += used - VSOCK_HDR_BYTES;
		}
	}
	if (pushed)
		virtio_mmio_signal_used(v->t, VSOCK_QUEUE_RX);
}

/* ---- host side: listener, CONNECT lines, timers ----------------------- */

/* parse_connect: "CONNECT <port>" (case-insensitive word, as Firecracker). */
static bool parse_connect(const char *s, uint32_t *port)
{
	unsigned long long p = 0;
	int digits = 0;

	if (strncasecmp(s, "connect", 7) != 0 || (s[7] != ' ' && s[7] != '\t'))
		return false;
	s += 7;
	while (*s == ' ' || *s == '\t')
		s++;
	while (isdigit((unsigned char)*s) && digits < 11) {
		p = p * 10 + (unsigned long long)(*s++ - '0');
		digits++;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (digits == 0 || *s != '\0' || p > UINT32_MAX)
		return false;
	*port = (uint32_t)p;
	return true;
}

static uint32_t alloc_port(struct vsock *v, uint32_t guest_port)
{
	for (;;) {
		uint32_t p = v->next_port++;
		if (v->next_port >= 2 * VSOCK_LOCAL_PORT_FIRST ||
		    v->next_port < VSOCK_LOCAL_PORT_FIRST)
			v->next_port = VSOCK_LOCAL_PORT_FIRST;
		if (find(v, p, guest_port) == NULL)
			return p; /* at most VSOCK_MAX_CONNS ports are taken */
	}
}

/* read_line: bytes of the CONNECT line, one at a time so none of the stream is eaten. */
static void read_line(struct vsock *v, struct conn *c)
{
	uint32_t port;

	for (;;) {
		char ch;
		ssize_t r = read(c->fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* conn_update re-arms */
		if (r <= 0) {
			conn_kill(v, c); /* gone before asking for anything */
			return;
		}
		if (ch == '\n')
			break;
		if (c->line_len + 1 >= sizeof(c->line)) {
			vlog_limited(&v->log, WHO, ERR_HOST,
				     "host connection: CONNECT line longer than %u bytes: closed",
				     VSOCK_CONNECT_LINE_MAX);
			conn_drop(v, c);
			return;
		}
		c->line[c->line_len++] = ch;
	}
	c->line[c->line_len] = '\0';
	if (!parse_connect(c->line, &port)) {
		vlog_limited(&v->log, WHO, ERR_HOST,
			     "host connection: expected \"CONNECT <port>\": closed");
		conn_drop(v, c);
		return;
	}
	c->guest_port = port;
	c->host_port = alloc_port(v, port);
	c->state = ST_REQUESTING;
	c->pending = PEND_REQUEST;
	hash_add(v, c);
	set_deadline(v, c, v->timeout_ms);
	vlog_debug(WHO ": host CONNECT %u from host port %u", port, c->host_port);
}

static void accept_all(struct vsock *v)
{
	for (int i = 0; i < MAX_ACCEPTS; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE and friends: stop listening until the next timer tick. */
			v->st.muxer_event_fails++;
			vlog_limited(&v->log, WHO, ERR_HOST, "accept on %s: %s", v->path,
				     strerror(errno));
			struct epoll_event ev = {.events = 0, .data.u64 = TAG_LISTEN};
			if (epoll_ctl(v->epfd, EPOLL_CTL_MOD, v->listen_fd, &ev) == 0) {
				v->listen_paused = true;
				start_timer(v);
			}
			return;
		}
		if (v->nconns >= v->max_conns) {
			v->st.conns_refused++;
			vlog_limited(&v->log, WHO, ERR_LIMIT,
				     "host connection refused: %u connections open (the limit)",
				     v->nconns);
			close(fd);
			continue;
		}
		c = conn_new(v, fd, ST_LINE, EPOLLIN);
		if (c == NULL) {
			close(fd);
			continue;
		}
		set_deadline(v, c, v->line_timeout_ms);
	}
}

/* expire: the timer ticked: end what waited too long. */
static void expire(struct vsock *v)
{
	uint64_t now = now_ms(), ticks;
	bool any = false;
	struct conn *next;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		vlog_limited(&v->log, WHO, ERR_HOST, "timerfd read: %s", strerror(errno));
	for (struct conn *c = v->all; c != NULL; c = next) {
		next = c->next;
		if (c->deadline == 0)
			continue;
		if (now < c->deadline) {
			any = true;
			continue;
		}
		c->deadline = 0;
		switch (c->state) {
		case ST_LINE:
			vlog_limited(&v->log, WHO, ERR_HOST,
				     "host connection sent no CONNECT line in %u ms: closed",
				     v->line_timeout_ms);
			conn_drop(v, c);
			break;
		case ST_REQUESTING:
			vlog_debug(WHO ": guest did not answer REQUEST to port %u", c->guest_port);
			conn_abort(v, c);
			break;
		case ST_DRAINING:
			conn_drop(v, c);
			break;
		default: /* ST_CLOSING: the guest never sent its RST */
			conn_abort(v, c);
			break;
		}
	}
	if (v->listen_paused) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
		if (epoll_ctl(v->epfd, EPOLL_CTL_MOD, v->listen_fd, &ev) == 0)
			v->listen_paused = false;
		any = true;
	}
	if (!any && v->timer_on) {
		struct itimerspec off = {0};
		if (timerfd_settime(v->timer_fd, 0, &off, NULL) == 0)
			v->timer_on = false;
	}
}

static void conn_event(struct vsock *v, struct conn *c, uint32_t events)
{
	if (c->state == ST_DEAD)
		return;
	c->armed = 0; /* EPOLLONESHOT: disabled until conn_update re-arms */
	if (c->state == ST_LINE) {
		read_line(v, c);
		conn_update(v, c);
		return;
	}
	if (events & EPOLLERR)
		v->st.conn_event_fails++;
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->buf_len > 0)
		flush(v, c);
	if (c->state == ST_DRAINING && (events & (EPOLLHUP | EPOLLERR)))
		conn_kill(v, c);
	if (c->state != ST_DEAD && c->host_eof && c->host_hup && c->state == ST_ESTABLISHED) {
		/* We said SHUTDOWN(SEND) at EOF; now the host takes nothing either. */
		c->shut_flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
		c->pending |= PEND_SHUTDOWN;
		c->state = ST_CLOSING;
		set_deadline(v, c, v->timeout_ms);
	}
	conn_update(v, c);
}

/* ---- device ops ---------------------------------------------------------- */

static void vsock_event(void *dev)
{
	struct vsock *v = dev;
	struct epoll_event evs[MAX_EVENTS];
	int n;

	reap(v); /* what a reset on a vCPU thread left */
	do
		n = epoll_wait(v->epfd, evs, MAX_EVENTS, 0);
	while (n < 0 && errno == EINTR);
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64, count;
		if (tag == TAG_LISTEN)
			accept_all(v);
		else if (tag == TAG_TIMER)
			expire(v);
		else if (tag == TAG_KICK) {
			if (read(v->kick_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
				vlog_limited(&v->log, WHO, ERR_HOST, "kick eventfd: %s",
					     strerror(errno));
		} else {
			conn_event(v, evs[i].data.ptr, evs[i].events);
		}
	}
	rx_pass(v);
	reap(v);
}

static int vsock_event_fd(void *dev)
{
	const struct vsock *v = dev;

	return v->epfd;
}

static int vsock_activate(void *dev, struct virtio_mmio_dev *t)
{
	struct vsock *v = dev;
	const struct virtq *rx = virtio_mmio_queue(t, VSOCK_QUEUE_RX);
	const struct virtq *tx = virtio_mmio_queue(t, VSOCK_QUEUE_TX);

	/* The event queue is never used: a driver may leave it unset. */
	if (rx == NULL || tx == NULL || !rx->ready || !tx->ready)
		return -EINVAL;
	v->t = t;
	v->have_rx = false;
	v->rst_head = v->rst_len = 0; /* RSTs for connections this driver never saw */
	return 0;
}

static void vsock_notify(void *dev, unsigned int queue)
{
	struct vsock *v = dev;

	reap(v); /* what a reset on a vCPU thread left, before new connections */
	if (v->t == NULL)
		return;
	if (queue == VSOCK_QUEUE_TX) {
		v->st.tx_queue_events++;
		tx_pass(v);
	} else if (queue == VSOCK_QUEUE_RX) {
		v->st.rx_queue_events++;
	}
	if (queue == VSOCK_QUEUE_TX || queue == VSOCK_QUEUE_RX)
		rx_pass(v);
	reap(v);
}

/* drop_all: the guest forgot every connection (reset) or the device goes away. */
static void drop_all(struct vsock *v)
{
	while (v->all != NULL)
		conn_kill(v, v->all);
	v->rst_head = v->rst_len = 0;
	v->have_rx = false;
}

/*
 * vsock_reset: on the vCPU thread that wrote status 0. The connections are
 * forgotten at once; their sockets are closed on the VMM thread, which the
 * kick wakes (vsock_event reaps).
 */
static void vsock_reset(void *dev)
{
	struct vsock *v = dev;
	uint64_t one = 1;

	drop_all(v);
	v->t = NULL;
	if (v->grave != NULL && write(v->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		vlog_limited(&v->log, WHO, ERR_HOST, "kick eventfd: %s", strerror(errno));
}

static void vsock_destroy(void *dev)
{
	struct vsock *v = dev;

	drop_all(v);
	reap(v);
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	if (v->epfd >= 0)
		close(v->epfd);
	free(v->path);
	free(v);
}

static void vsock_config_read(void *dev, uint64_t offset, void *data, uint32_t len)
{
	const struct vsock *v = dev;

	virtio_config_copy(&v->cfg, sizeof(v->cfg), offset, data, len);
}

static const struct virtio_device_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .max_queue_size = VSOCK_QUEUE_SIZE,
    .features = 0, /* no feature bit: stream sockets only (5.10.3) */
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .notify = vsock_notify,
    .reset = vsock_reset,
    .event_fd = vsock_event_fd,
    .event = vsock_event,
    .destroy = vsock_destroy,
};

/* listen_on: bind and listen on (path), replacing a stale socket file. The fd or -errno. */
static int listen_on(const char *path, struct vlog_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, e;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vlog_err_set(err, 0, "exists and is not a socket");
			return -EEXIST;
		}
		if (unlink(path) < 0) {
			e = errno;
			vlog_err_set(err, e, "unlink stale socket");
			return -e;
		}
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		vlog_err_set(err, e, "socket");
		return -e;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
		e = errno;
		vlog_err_set(err, e, "bind/listen");
		close(fd);
		return -e;
	}
	return fd;
}

static int watch(struct vsock *v, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void *vsock_create(const struct virtio_vsock_config *cfg, const struct virtio_device_ops **ops,
		   struct vlog_err *err)
{
	const char *path = cfg->uds_path != NULL ? cfg->uds_path : "";
	struct vsock *v;

	if (cfg->guest_cid < 3 || cfg->guest_cid == UINT32_MAX) {
		vlog_err_set(err, 0, "guest CID %u is reserved (use 3 or more)", cfg->guest_cid);
		return NULL;
	}
	/* Room for the longest guest-initiated path, "<path>_4294967295". */
	if (path[0] == '\0' ||
	    strlen(path) + sizeof("_4294967295") > sizeof(((struct sockaddr_un *)0)->sun_path)) {
		vlog_err_set(err, 0, "empty or too long for a Unix socket path");
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL || (v->path = strdup(path)) == NULL) {
		vlog_err_set(err, 0, "out of memory");
		free(v);
		return NULL;
	}
	v->listen_fd = v->timer_fd = v->kick_fd = v->epfd = -1;
	v->guest_cid = cfg->guest_cid;
	v->cfg.cid = cfg->guest_cid;
	v->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : VSOCK_TIMEOUT_MS;
	v->line_timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : VSOCK_LINE_TIMEOUT_MS;
	v->log.every_ms = LOG_EVERY_MS;
	v->next_port = VSOCK_LOCAL_PORT_FIRST;
	v->max_conns = VSOCK_MAX_CONNS;
	if (cfg->max_conns != 0 && cfg->max_conns < VSOCK_MAX_CONNS)
		v->max_conns = cfg->max_conns;
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (v->epfd < 0) {
		vlog_err_set(err, errno, "epoll_create1");
		goto fail;
	}
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	v->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->timer_fd < 0 || v->kick_fd < 0) {
		vlog_err_set(err, errno, "timerfd/eventfd");
		goto fail;
	}
	v->listen_fd = listen_on(path, err);
	if (v->listen_fd < 0)
		goto fail;
	if (watch(v, v->listen_fd, TAG_LISTEN) < 0 || watch(v, v->timer_fd, TAG_TIMER) < 0 ||
	    watch(v, v->kick_fd, TAG_KICK) < 0) {
		vlog_err_set(err, errno, "epoll_ctl");
		goto fail;
	}
	*ops = &vsock_ops;
	return v;
fail:
	vsock_destroy(v);
	return NULL;
}

void vsock_set_max_conns(void *dev, unsigned int max_conns)
{
	struct vsock *v = dev;

	v->max_conns = max_conns < VSOCK_MAX_CONNS ? max_conns : VSOCK_MAX_CONNS;
}

unsigned int vsock_conn_count(const void *dev)
{
	const struct vsock *v = dev;

	return v->nconns;
}

void vsock_get_stats(const void *dev, struct vsock_stats *out)
{
	const struct vsock *v = dev;

	*out = v->st;
}
