// SPDX-License-Identifier: Apache-2.0
/*
 * vsock_mux.c: virtio-vsock's host side: the connection table, the RSTs owed
 * to the guest, the listening socket and CONNECT lines, guest connects to
 * UDS_PATH_<port>, timeouts, and the routing of each guest packet.
 */
#include "vsock_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RST_STRAY_MAX 1024 /* of the RST_RING, answers to packets of no connection */
#define MAX_ACCEPTS   64   /* accepts per listener wakeup */

/* ---- connection table and lifecycle ------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

void vsock_hash_del(struct vsock *v, struct conn *c)
{
	for (struct conn **p = &v->buckets[bucket(c->host_port, c->guest_port)]; *p != NULL;
	     p = &(*p)->hnext)
		if (*p == c) {
			*p = c->hnext;
			c->hnext = NULL;
			return;
		}
}

void vsock_rxq_add(struct vsock *v, struct conn *c)
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

void vsock_rxq_del(struct vsock *v, struct conn *c)
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
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "timerfd_settime: %s", strerror(errno));
}

void vsock_set_deadline(struct vsock *v, struct conn *c, uint32_t ms)
{
	c->deadline = now_ms() + ms;
	start_timer(v);
}

/* conn_new: a connection over host socket (fd), watched for (events), once (EPOLLONESHOT). */
static struct conn *conn_new(struct vsock *v, int fd, enum conn_state state, uint32_t events)
{
	struct conn *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "out of memory for a connection");
		return NULL;
	}
	rc = virtio_watch(&v->w, fd, events | EPOLLONESHOT, vsock_conn_tag(c));
	if (rc < 0) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "watching a host socket: %s",
			     strerror(-rc));
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
	metrics_inc(&v->metrics->conns_added);
	return c;
}

/*
 * vsock_conn_kill: forget the connection. Its host socket is closed, and the
 * connection freed, by vsock_reap() at the end of the VMM thread's entry point:
 * events already fetched in this batch may still point here, and a reset
 * runs on a vCPU thread, which must not close fds (DESIGN.md).
 */
void vsock_conn_kill(struct vsock *v, struct conn *c)
{
	if (c->state == ST_DEAD)
		return;
	if (hashed(c)) {
		vsock_hash_del(v, c);
		v->gone[v->gone_next] =
		    (struct rst){.host_port = c->host_port, .guest_port = c->guest_port};
		v->gone_next = (v->gone_next + 1) % RECENT_GONE;
	}
	vsock_rxq_del(v, c);
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
	metrics_inc(&v->metrics->conns_removed);
	c->next = v->grave;
	v->grave = c;
}

/* vsock_reap: close and free what vsock_conn_kill forgot (VMM thread). */
void vsock_reap(struct vsock *v)
{
	while (v->grave != NULL) {
		struct conn *c = v->grave;
		v->grave = c->next;
		virtio_unwatch(&v->w, c->fd); /* its tag, (c), is freed next */
		close(c->fd);
		free(c);
	}
}

/*
 * recently_gone: whether (host_port, guest_port) named one of the last
 * connections to end: the guest's packets sent before it heard of the end
 * are expected, not a guest error.
 */
static bool recently_gone(const struct vsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (unsigned int i = 0; i < RECENT_GONE; i++)
		if (v->gone[i].host_port == host_port && v->gone[i].guest_port == guest_port &&
		    (host_port | guest_port) != 0)
			return true;
	return false;
}

/* vsock_rst_queue: an RST from (host_port) to the guest's (guest_port). */
void vsock_rst_queue(struct vsock *v, uint32_t host_port, uint32_t guest_port, bool stray)
{
	if (v->rst_len == RST_RING || (stray && v->rst_len >= RST_STRAY_MAX)) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_RING,
			     "RST to port %u dropped: the guest posts no rx buffers", guest_port);
		return;
	}
	v->rsts[(v->rst_head + v->rst_len) % RST_RING] =
	    (struct rst){.host_port = host_port, .guest_port = guest_port};
	v->rst_len++;
}

/* vsock_conn_reset: RST the guest's side (if it knows the connection) and close ours. */
void vsock_conn_reset(struct vsock *v, struct conn *c)
{
	if (hashed(c))
		vsock_rst_queue(v, c->host_port, c->guest_port, false);
	vsock_conn_kill(v, c);
}

/* vsock_conn_abort: vsock_conn_reset for a connection that failed (not one that ended in order). */
void vsock_conn_abort(struct vsock *v, struct conn *c)
{
	metrics_inc(&v->metrics->conns_killed);
	vsock_conn_reset(v, c);
}

/* vsock_conn_drop: vsock_conn_kill for a connection that failed and the guest owes no RST for. */
void vsock_conn_drop(struct vsock *v, struct conn *c)
{
	metrics_inc(&v->metrics->conns_killed);
	vsock_conn_kill(v, c);
}

/* ---- guest packets ------------------------------------------------------ */

static void reject(struct vsock *v, struct conn *c, const struct virtio_vsock_hdr *h)
{
	if (c != NULL)
		vsock_conn_abort(v, c);
	else if (h->op != VSOCK_OP_RST)
		vsock_rst_queue(v, h->dst_port, h->src_port, true);
}

/* guest_connect: REQUEST to host port (h->dst_port): connect to <uds_path>_<port>. */
static void guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct conn *c;
	int fd;

	if (v->nconns >= v->max_conns) {
		metrics_inc(&v->metrics->conns_refused);
		vlog_limited(&v->log, VSOCK_WHO, ERR_LIMIT,
			     "guest connect to port %u refused: %u connections open (the limit)",
			     h->dst_port, v->nconns);
		vsock_rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	/* vsock_create checked that the longest suffix fits. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "socket: %s", strerror(errno));
		vsock_rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	/* AF_UNIX connects at once or fails (EAGAIN: backlog full); no EINPROGRESS. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		vlog_debug(VSOCK_WHO ": guest port %u -> %s: %s", h->src_port, sa.sun_path,
			   strerror(errno));
		close(fd);
		vsock_rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	c = conn_new(v, fd, ST_ESTABLISHED, EPOLLIN | EPOLLRDHUP);
	if (c == NULL) {
		close(fd);
		vsock_rst_queue(v, h->dst_port, h->src_port, true);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	vsock_peer_credit(c, h->buf_alloc, h->fwd_cnt);
	c->pending = PEND_RESPONSE;
	hash_add(v, c);
	vsock_conn_update(v, c);
	vlog_debug(VSOCK_WHO ": guest port %u -> %s connected", h->src_port, sa.sun_path);
}

static const char *op_name(uint16_t op)
{
	static const char *const names[] = {"INVALID",	     "REQUEST",	      "RESPONSE",
					    "RST",	     "SHUTDOWN",      "RW",
					    "CREDIT_UPDATE", "CREDIT_REQUEST"};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}

/* vsock_packet: one chain from the tx queue, header first (5.10.6). */
void vsock_packet(struct vsock *v, const struct virtq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct conn *c;

	if (ch->read_len < VSOCK_HDR_BYTES ||
	    vq_chain_read(ch, 0, &h, sizeof(h)) != VSOCK_HDR_BYTES) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_SHORT,
			     "tx buffer at head %u holds %llu readable bytes, < 44: dropped",
			     ch->head, (unsigned long long)ch->read_len);
		return;
	}
	if (h.src_cid != v->guest_cid) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_CID,
			     "packet from cid %llu, the guest is %u: dropped",
			     (unsigned long long)h.src_cid, v->guest_cid);
		return;
	}
	c = find(v, h.dst_port, h.src_port);
	if (h.len > ch->read_len - VSOCK_HDR_BYTES || h.len > VSOCK_MAX_PKT) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_LEN,
			     "%s port %u -> %u: len %u, the buffer holds %llu: RST", op_name(h.op),
			     h.src_port, h.dst_port, h.len,
			     (unsigned long long)(ch->read_len - VSOCK_HDR_BYTES));
		reject(v, c, &h);
		return;
	}
	if (h.dst_cid != VSOCK_HOST_CID) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_CID,
			     "packet to cid %llu: only the host (2) is reachable: RST",
			     (unsigned long long)h.dst_cid);
		reject(v, c, &h);
		return;
	}
	if (h.type != VSOCK_TYPE_STREAM) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_TYPE,
			     "packet of type %u: only streams (1): RST", h.type);
		reject(v, c, &h);
		return;
	}
	if (h.op == VSOCK_OP_INVALID || h.op > VSOCK_OP_CREDIT_REQUEST) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_OP, "unknown op %u: RST", h.op);
		reject(v, c, &h);
		return;
	}
	metrics_inc(&v->metrics->tx_packets_count);
	if (h.op == VSOCK_OP_RW)
		metrics_add(&v->metrics->tx_bytes_count, h.len);
	if (c == NULL) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(v, &h);
		else if (h.op != VSOCK_OP_RST) {
			if (!recently_gone(v, h.dst_port, h.src_port))
				vlog_limited(&v->log, VSOCK_WHO, ERR_STATE,
					     "%s port %u -> %u: no such connection: RST",
					     op_name(h.op), h.src_port, h.dst_port);
			reject(v, NULL, &h);
		}
		return;
	}
	vsock_peer_credit(c, h.buf_alloc, h.fwd_cnt);
	if (vsock_credit(c) > 0)
		c->credit_requested = false;
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		vlog_limited(&v->log, VSOCK_WHO, ERR_STATE,
			     "REQUEST port %u -> %u: already connected: RST", h.src_port,
			     h.dst_port);
		vsock_conn_abort(v, c);
		break;
	case VSOCK_OP_RESPONSE:
		if (c->state != ST_REQUESTING) {
			vlog_limited(&v->log, VSOCK_WHO, ERR_STATE,
				     "RESPONSE port %u -> %u: not requested: RST", h.src_port,
				     h.dst_port);
			vsock_conn_abort(v, c);
		} else {
			vsock_guest_response(v, c);
		}
		break;
	case VSOCK_OP_RST:
		vsock_conn_kill(v, c);
		break;
	case VSOCK_OP_SHUTDOWN:
		vsock_guest_shutdown(v, c, h.flags);
		break;
	case VSOCK_OP_RW:
		vsock_guest_rw(v, c, &h);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* taken above */
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT_UPDATE;
		break;
	}
	vsock_conn_update(v, c);
}

/* ---- host side: listener, CONNECT lines, timers ------------------------- */

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

/* vsock_read_line: bytes of the CONNECT line, one at a time so none of the stream is eaten. */
void vsock_read_line(struct vsock *v, struct conn *c)
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
			vsock_conn_kill(v, c); /* gone before asking for anything */
			return;
		}
		if (ch == '\n')
			break;
		if (c->line_len + 1 >= sizeof(c->line)) {
			vlog_limited(&v->log, VSOCK_WHO, ERR_HOST,
				     "host connection: CONNECT line longer than %u bytes: closed",
				     VSOCK_CONNECT_LINE_MAX);
			vsock_conn_drop(v, c);
			return;
		}
		c->line[c->line_len++] = ch;
	}
	c->line[c->line_len] = '\0';
	if (!parse_connect(c->line, &port)) {
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST,
			     "host connection: expected \"CONNECT <port>\": closed");
		vsock_conn_drop(v, c);
		return;
	}
	c->guest_port = port;
	c->host_port = alloc_port(v, port);
	c->state = ST_REQUESTING;
	c->pending = PEND_REQUEST;
	hash_add(v, c);
	vsock_set_deadline(v, c, v->timeout_ms);
	vlog_debug(VSOCK_WHO ": host CONNECT %u from host port %u", port, c->host_port);
}

void vsock_accept_all(struct vsock *v)
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
			metrics_inc(&v->metrics->muxer_event_fails);
			vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "accept on %s: %s", v->path,
				     strerror(errno));
			if (virtio_rearm(&v->w, v->listen_fd, 0) == 0) {
				v->listen_paused = true;
				start_timer(v);
			}
			return;
		}
		if (v->nconns >= v->max_conns) {
			metrics_inc(&v->metrics->conns_refused);
			vlog_limited(&v->log, VSOCK_WHO, ERR_LIMIT,
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
		vsock_set_deadline(v, c, v->line_timeout_ms);
	}
}

/* vsock_expire: the timer ticked: end what waited too long. */
void vsock_expire(struct vsock *v)
{
	uint64_t now = now_ms(), ticks;
	bool any = false;
	struct conn *next;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		vlog_limited(&v->log, VSOCK_WHO, ERR_HOST, "timerfd read: %s", strerror(errno));
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
			vlog_limited(&v->log, VSOCK_WHO, ERR_HOST,
				     "host connection sent no CONNECT line in %u ms: closed",
				     v->line_timeout_ms);
			vsock_conn_drop(v, c);
			break;
		case ST_REQUESTING:
			vlog_debug(VSOCK_WHO ": guest did not answer REQUEST to port %u",
				   c->guest_port);
			vsock_conn_abort(v, c);
			break;
		case ST_DRAINING:
			vsock_conn_drop(v, c);
			break;
		default: /* ST_CLOSING: the guest never sent its RST */
			vsock_conn_abort(v, c);
			break;
		}
	}
	if (v->listen_paused) {
		if (virtio_rearm(&v->w, v->listen_fd, EPOLLIN) == 0)
			v->listen_paused = false;
		any = true;
	}
	if (!any && v->timer_on) {
		struct itimerspec off = {0};
		if (timerfd_settime(v->timer_fd, 0, &off, NULL) == 0)
			v->timer_on = false;
	}
}

/* vsock_listen: bind and listen on (path), replacing a stale socket file. The fd or -errno. */
int vsock_listen(const char *path, struct vlog_err *err)
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
