// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_conn.c: one virtio-vsock connection's state machine: credit both
 * ways, the guest's packets on it, bytes to and from its host socket, and
 * the packet it owes the guest next.
 */
#include "vsock_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- credit and what to watch ------------------------------------------- */

/*
 * vsock_peer_credit: the guest's buf_alloc and fwd_cnt from one of its packets.
 * fwd_cnt counts the bytes the guest has taken of those sent (5.10.6.3): it
 * never goes back and never passes tx_cnt, so the bytes in flight never
 * grow. A value that breaks this grants no credit, and is not taken, until
 * a packet with a sane one comes.
 */
void vsock_peer_credit(struct conn *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	uint32_t was = c->tx_cnt - c->peer_fwd_cnt, now = c->tx_cnt - fwd_cnt;

	c->peer_buf_alloc = buf_alloc;
	c->peer_bogus = now > was;
	if (!c->peer_bogus)
		c->peer_fwd_cnt = fwd_cnt;
}

/* vsock_credit: bytes the guest can take now (5.10.6.3); hostile numbers give 0. */
uint32_t vsock_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	if (c->peer_bogus)
		return 0;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool can_read(const struct conn *c)
{
	return (c->state == ST_ESTABLISHED || c->state == ST_CLOSING) && c->readable &&
	       !c->host_eof && !(c->guest_shut & VSOCK_SHUTDOWN_RCV) && vsock_credit(c) > 0;
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
		    vsock_credit(c) > 0)
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
 * vsock_conn_update: after anything changed (c): queue it for the rx pass or take
 * it off, and re-arm its fd for what the device can act on. An fd left armed
 * with events no longer wanted fires at most once (EPOLLONESHOT) and is then
 * looked at again here, so nothing spins.
 */
void vsock_conn_update(struct vsock *v, struct conn *c)
{
	uint32_t ev;

	if (c->state == ST_DEAD)
		return;
	if (wants_rx(c))
		vsock_rxq_add(v, c);
	else
		vsock_rxq_del(v, c);
	ev = desired(c);
	if (ev == 0 || ev == c->armed)
		return;
	int rc = virtio_rearm(&v->w, c->fd, ev | EPOLLONESHOT);
	if (rc < 0) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "rearming a host socket: %s",
			     strerror(-rc));
		vsock_conn_abort(v, c);
		return;
	}
	c->armed = ev;
}

/* ---- guest -> host bytes ------------------------------------------------ */

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
		vsock_conn_kill(v, c);
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
			metrics_inc(&v->metrics->tx_flush_fails);
			vlog_debug(VSOCK_WHO ": host port %u: send: %s", c->host_port,
				   strerror((int)-r));
			if (c->state == ST_DRAINING)
				vsock_conn_drop(v, c);
			else
				vsock_conn_abort(v, c);
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
			metrics_inc(&v->metrics->tx_write_fails);
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
		    &v->log, VSOCK_WHO, ERR_CREDIT,
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

/* ---- guest packets on a connection -------------------------------------- */

/* vsock_guest_response: the guest accepted our REQUEST: tell the host program. */
void vsock_guest_response(struct vsock *v, struct conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
	struct iovec iov = {ok, (size_t)n};

	c->state = ST_ESTABLISHED;
	c->deadline = 0;
	c->readable = true; /* bytes may have followed the CONNECT line */
	if (to_host(v, c, &iov, 1, 0, (uint32_t)n, false) < 0)
		vsock_conn_abort(v, c);
}

void vsock_guest_shutdown(struct vsock *v, struct conn *c, uint32_t flags)
{
	c->guest_shut |= flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	if (c->state == ST_CLOSING) {
		vsock_conn_reset(v, c); /* both sides are done: the RST ends it (5.10.6.5) */
		return;
	}
	if (c->guest_shut == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
		/* The guest closed; it waits for our RST. Bytes it sent still go out. */
		if (c->buf_len == 0) {
			vsock_conn_reset(v, c);
			return;
		}
		vsock_rst_queue(v, c->host_port, c->guest_port, false);
		vsock_hash_del(v, c);
		vsock_rxq_del(v, c);
		c->state = ST_DRAINING;
		c->pending = 0;
		vsock_set_deadline(v, c, v->timeout_ms);
		return;
	}
	if ((c->guest_shut & VSOCK_SHUTDOWN_SEND) && c->buf_len == 0)
		shutdown(c->fd, SHUT_WR);
}

void vsock_guest_rw(struct vsock *v, struct conn *c, const struct virtio_vsock_hdr *h)
{
	int rc;

	if (c->state == ST_CLOSING) {
		vsock_conn_reset(v, c); /* the host hung up: a normal race, not worth a log line */
		return;
	}
	if (c->state != ST_ESTABLISHED || (c->guest_shut & VSOCK_SHUTDOWN_SEND)) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_STATE,
			     "RW on port %u -> %u after shutdown or before RESPONSE: RST",
			     h->src_port, h->dst_port);
		vsock_conn_abort(v, c);
		return;
	}
	if (h->len == 0)
		return;
	c->rx_cnt += h->len;
	rc = to_host(v, c, v->tx_chain.iov, v->tx_chain.nread, VSOCK_HDR_BYTES, h->len, true);
	if (rc < 0) {
		if (rc != -ENOBUFS)
			vlog_debug(VSOCK_WHO ": host port %u: send: %s", c->host_port,
				   strerror(-rc));
		vsock_conn_abort(v, c);
	}
}

/* ---- packets to the guest ----------------------------------------------- */

/* conn_hdr: a header from (c), carrying its credit; clears a pending CREDIT_UPDATE. */
static uint32_t conn_hdr(struct vsock *v, struct conn *c, uint16_t op, uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr h;

	vsock_fill_hdr(v, &h, c->host_port, c->guest_port, op);
	h.flags = flags;
	h.len = len;
	h.fwd_cnt = c->fwd_cnt;
	c->fwd_sent = c->fwd_cnt;
	c->pending &= ~PEND_CREDIT_UPDATE;
	return vsock_put_hdr(v, &h) + len;
}

/* read_data: host bytes into the rx chain after the header. Packet bytes, or 0. */
static uint32_t read_data(struct vsock *v, struct conn *c)
{
	const struct virtq_chain *ch = &v->rx_chain;
	uint64_t cap = ch->write_len - VSOCK_HDR_BYTES, skip = VSOCK_HDR_BYTES;
	struct iovec iov[VIRTQ_MAX_SIZE];
	size_t k = 0;
	ssize_t r;

	if (cap > vsock_credit(c))
		cap = vsock_credit(c);
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
		metrics_inc(&v->metrics->rx_read_fails);
		vlog_debug(VSOCK_WHO ": host port %u: read: %s", c->host_port, strerror(errno));
		vsock_conn_abort(v, c);
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
			vsock_set_deadline(v, c, v->timeout_ms);
		}
	}
	c->pending &= ~PEND_SHUTDOWN;
	return conn_hdr(v, c, VSOCK_OP_SHUTDOWN, c->shut_flags, 0);
}

/* vsock_conn_emit: the next packet (c) owes the guest into rx_chain: its length, or 0. */
uint32_t vsock_conn_emit(struct vsock *v, struct conn *c)
{
	struct virtio_vsock_hdr h;

	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		vsock_fill_hdr(v, &h, c->host_port, c->guest_port, VSOCK_OP_REQUEST);
		h.fwd_cnt = c->fwd_cnt;
		return vsock_put_hdr(v, &h);
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

/* ---- host socket events ------------------------------------------------- */

void vsock_conn_event(struct vsock *v, struct conn *c, uint32_t events)
{
	if (c->state == ST_DEAD)
		return;
	c->armed = 0; /* EPOLLONESHOT: disabled until conn_update re-arms */
	if (c->state == ST_LINE) {
		vsock_read_line(v, c);
		vsock_conn_update(v, c);
		return;
	}
	if (events & EPOLLERR)
		metrics_inc(&v->metrics->conn_event_fails);
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->buf_len > 0)
		flush(v, c);
	if (c->state == ST_DRAINING && (events & (EPOLLHUP | EPOLLERR)))
		vsock_conn_kill(v, c);
	if (c->state != ST_DEAD && c->host_eof && c->host_hup && c->state == ST_ESTABLISHED) {
		/* We said SHUTDOWN(SEND) at EOF; now the host takes nothing either. */
		c->shut_flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
		c->pending |= PEND_SHUTDOWN;
		c->state = ST_CLOSING;
		vsock_set_deadline(v, c, v->timeout_ms);
	}
	vsock_conn_update(v, c);
}
