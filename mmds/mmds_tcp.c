// SPDX-License-Identifier: Apache-2.0
/* mmds_tcp.c: MMDS's TCP connections: a small passive-open server (RFC 793). */
#include "mmds_stack_impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ISN_STRIDE 64000 /* between connections' initial sequence numbers */

static uint64_t now_ms(struct mmds_stack *s)
{
	return mmds_store_now_ms(s->store);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static uint16_t rcv_window(const struct mmds_conn *c)
{
	return (uint16_t)(MMDS_HTTP_REQUEST_MAX - c->rx_len);
}

static void conn_free(struct mmds_stack *s, struct mmds_conn *c)
{
	free(c->resp.data);
	memset(c, 0, offsetof(struct mmds_conn, rx));
	c->rx_len = 0;
	mmds_stats_add(&s->st->connections_destroyed, 1);
}

void tcp_destroy_all(struct mmds_stack *s)
{
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNS; i++)
		if (s->conns[i].used)
			conn_free(s, &s->conns[i]);
}

static struct mmds_conn *lookup(struct mmds_stack *s, uint32_t ip, uint16_t port)
{
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNS; i++) {
		struct mmds_conn *c = &s->conns[i];
		if (c->used && c->ip == ip && c->port == port)
			return c;
	}
	return NULL;
}

/* control: a segment with no data to the control queue. */
static void control(struct mmds_stack *s, const uint8_t *mac, uint32_t ip, uint16_t port,
		    uint32_t seq, uint32_t ack, uint8_t flags)
{
	uint8_t frame[CTRL_FRAME_MAX];
	struct tcp_seg seg = {
	    .mac = mac, .ip = ip, .port = port, .seq = seq, .ack = ack, .flags = flags};
	size_t len = build_tcp(s, frame, sizeof(frame), &seg);

	queue_ctrl(s, frame, len);
}

/* reset_reply: RST for segment (tcp) that has no place here (RFC 793, 3.4, "Reset Generation"). */
static void reset_reply(struct mmds_stack *s, const uint8_t *mac, uint32_t ip, const uint8_t *tcp,
			size_t dlen)
{
	uint8_t flags = tcp[TCP_OFF_FLAGS];
	uint16_t port = get16(tcp + TCP_OFF_SPORT);

	if (flags & TCP_RST)
		return;
	if (flags & TCP_ACK) {
		control(s, mac, ip, port, get32(tcp + TCP_OFF_ACK), 0, TCP_RST);
		return;
	}
	uint32_t ack =
	    get32(tcp + TCP_OFF_SEQ) + (uint32_t)dlen + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
	control(s, mac, ip, port, 0, ack, TCP_RST | TCP_ACK);
}

/* parse_mss: the MSS option of a SYN's options (opt, len), or TCP_MSS_DEFAULT. */
static uint16_t parse_mss(const uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (opt[i] == TCP_OPT_END)
			break;
		if (opt[i] == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || opt[i + 1] > len - i)
			break; /* a malformed option ends the walk */
		if (opt[i] == TCP_OPT_MSS && opt[i + 1] == TCP_OPT_MSS_LEN)
			return get16(opt + i + 2);
		i += opt[i + 1];
	}
	return TCP_MSS_DEFAULT;
}

/* slot: a free connection, or one idle for MMDS_STACK_IDLE_MS (the quietest); NULL if none. */
static struct mmds_conn *slot(struct mmds_stack *s, uint64_t now)
{
	struct mmds_conn *idle = NULL;

	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNS; i++) {
		struct mmds_conn *c = &s->conns[i];
		if (!c->used)
			return c;
		if (now - c->last_ms >= MMDS_STACK_IDLE_MS &&
		    (idle == NULL || c->last_ms < idle->last_ms))
			idle = c;
	}
	if (idle != NULL) {
		control(s, idle->mac, idle->ip, idle->port, idle->snd_nxt, 0, TCP_RST);
		conn_free(s, idle);
	}
	return idle;
}

static struct mmds_conn *open_conn(struct mmds_stack *s, const uint8_t *mac, uint32_t ip,
				   const uint8_t *tcp, size_t doff_len)
{
	uint64_t now = now_ms(s);
	struct mmds_conn *c = slot(s, now);
	uint16_t mss;

	if (c == NULL)
		return NULL;
	mss = parse_mss(tcp + TCP_HDR_MIN, doff_len - TCP_HDR_MIN);
	c->used = true;
	memcpy(c->mac, mac, ETH_ADDR_LEN);
	c->ip = ip;
	c->port = get16(tcp + TCP_OFF_SPORT);
	c->mss = (uint16_t)min_size(MMDS_STACK_MSS, mss != 0 ? mss : TCP_MSS_DEFAULT);
	c->iss = s->isn;
	s->isn += ISN_STRIDE;
	c->rcv_nxt = get32(tcp + TCP_OFF_SEQ) + 1;
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->tx_seq0 = c->iss + 1;
	c->snd_wnd = get16(tcp + TCP_OFF_WINDOW);
	c->synack_due = true;
	c->last_ms = c->sent_ms = now;
	mmds_stats_add(&s->st->connections_created, 1);
	return c;
}

/* data_end: the seq just past the response's last byte (where our FIN goes). */
static uint32_t data_end(const struct mmds_conn *c)
{
	if (c->resp.data == NULL)
		return c->fin_out ? c->fin_seq : c->snd_una;
	return c->tx_seq0 + (uint32_t)(c->resp.len - c->tx_off);
}

/* rewind: send again from the oldest unacknowledged byte (our FIN too, if unacknowledged). */
static void rewind_send(struct mmds_conn *c, uint64_t now)
{
	if (c->fin_sent && seq_cmp(c->snd_una, c->fin_seq) <= 0)
		c->fin_sent = false;
	c->snd_nxt = c->snd_una;
	c->sent_ms = now;
}

/* acked: the guest acknowledged up to (ack): drop what it has from the response. */
static void acked(struct mmds_conn *c, uint32_t ack, uint64_t now)
{
	uint32_t n = ack - c->snd_una;

	if (c->resp.data != NULL) {
		size_t d = min_size(n, c->resp.len - c->tx_off);
		c->tx_off += d;
		c->tx_seq0 += (uint32_t)d;
		if (c->tx_off == c->resp.len) {
			free(c->resp.data);
			c->resp.data = NULL;
			c->resp.len = c->tx_off = 0;
		}
	}
	c->snd_una = ack;
	/* After a rewind, an acknowledgement of what went before moves us on too. */
	if (seq_cmp(ack, c->snd_nxt) > 0)
		c->snd_nxt = ack;
	if (c->fin_out && seq_cmp(ack, c->fin_seq) > 0)
		c->fin_sent = true;
	c->sent_ms = now;
}

/* serve: answer the next whole request once the last response is acknowledged. false: reset. */
static bool serve(struct mmds_stack *s, struct mmds_conn *c)
{
	if (c->resp.data == NULL && !c->close_after && !c->fin_out) {
		long r = c->rx_len > 0 ? mmds_http_frame(c->rx, c->rx_len) : 0;
		if (r != 0) {
			struct mmds_http_response resp;
			int ret = r < 0
				      ? mmds_http_refuse(&resp)
				      : mmds_http_respond(s->store, s->st, c->rx, (size_t)r, &resp);
			size_t used = r < 0 ? c->rx_len : (size_t)r;
			memmove(c->rx, c->rx + used, c->rx_len - used);
			c->rx_len -= used;
			if (ret < 0)
				return false;
			c->resp = resp;
			c->tx_off = 0;
			c->tx_seq0 = c->snd_nxt;
			c->close_after = resp.close;
			c->ack_due = true;
		}
	}
	/* The guest is done sending and no whole request is left: close our side too. */
	if (c->fin_rcvd && c->resp.data == NULL)
		c->close_after = true;
	return true;
}

/* segment_data: take the in-order part of (data, dlen) at (seq), and a FIN after it. */
static void segment_data(struct mmds_conn *c, uint32_t seq, const uint8_t *data, size_t dlen,
			 bool fin)
{
	c->ack_due = true;
	if (seq != c->rcv_nxt) {
		/* A retransmission overlapping new bytes keeps those; anything else waits. */
		if (seq_cmp(seq, c->rcv_nxt) > 0 || seq_cmp(seq + (uint32_t)dlen, c->rcv_nxt) <= 0)
			return;
		size_t skip = c->rcv_nxt - seq;
		data += skip;
		dlen -= skip;
	}
	if (c->fin_rcvd)
		return;
	size_t take = min_size(dlen, MMDS_HTTP_REQUEST_MAX - c->rx_len);
	memcpy(c->rx + c->rx_len, data, take);
	c->rx_len += take;
	c->rcv_nxt += (uint32_t)take;
	if (fin && take == dlen) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
	}
}

void tcp_input(struct mmds_stack *s, const uint8_t *mac, uint32_t ip, const uint8_t *tcp,
	       size_t len)
{
	size_t doff_len = (size_t)(tcp[TCP_OFF_DOFF] >> 4) * IP_WORD, dlen = len - doff_len;
	uint8_t flags = tcp[TCP_OFF_FLAGS];
	uint32_t seq = get32(tcp + TCP_OFF_SEQ), ack = get32(tcp + TCP_OFF_ACK);
	struct mmds_conn *c = lookup(s, ip, get16(tcp + TCP_OFF_SPORT));
	uint64_t now = now_ms(s);

	if (get16(tcp + TCP_OFF_DPORT) != MMDS_STACK_PORT || c == NULL) {
		/* A new connection, or a segment that has none: it gets a reset. */
		bool syn = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN;
		if (get16(tcp + TCP_OFF_DPORT) == MMDS_STACK_PORT && syn &&
		    open_conn(s, mac, ip, tcp, doff_len) != NULL)
			return;
		mmds_stats_add(&s->st->rx_accepted_unusual, 1);
		reset_reply(s, mac, ip, tcp, dlen);
		return;
	}
	c->last_ms = now;
	if (flags & TCP_RST) {
		/* Only a reset at the point we expect (RFC 5961, 3.2) ends the connection. */
		if (seq == c->rcv_nxt)
			conn_free(s, c);
		else
			mmds_stats_add(&s->st->rx_accepted_unusual, 1);
		return;
	}
	if (flags & TCP_SYN) {
		if (!c->established && seq + 1 == c->rcv_nxt) {
			c->synack_due = true; /* our SYN-ACK was lost */
			return;
		}
		mmds_stats_add(&s->st->rx_accepted_unusual, 1);
		control(s, c->mac, c->ip, c->port, c->snd_nxt, 0, TCP_RST);
		conn_free(s, c);
		return;
	}
	if (!(flags & TCP_ACK)) {
		mmds_stats_add(&s->st->rx_accepted_unusual, 1);
		return;
	}
	if (!c->established) {
		if (ack != c->iss + 1) {
			mmds_stats_add(&s->st->rx_accepted_unusual, 1);
			reset_reply(s, mac, ip, tcp, dlen);
			return;
		}
		c->established = true;
		c->snd_una = ack;
	}
	if (seq_cmp(ack, c->snd_una) > 0 && seq_cmp(ack, c->snd_max) <= 0)
		acked(c, ack, now);
	else if (ack == c->snd_una && c->snd_una != c->snd_max && dlen == 0 && !(flags & TCP_FIN) &&
		 get16(tcp + TCP_OFF_WINDOW) == c->snd_wnd)
		rewind_send(c, now); /* a duplicate acknowledgement: something was lost */
	c->snd_wnd = get16(tcp + TCP_OFF_WINDOW);
	if (dlen > 0 || (flags & TCP_FIN))
		segment_data(c, seq, tcp + doff_len, dlen, flags & TCP_FIN);
	if (!serve(s, c)) {
		control(s, c->mac, c->ip, c->port, c->snd_nxt, 0, TCP_RST);
		conn_free(s, c);
		return;
	}
	/* Both sides closed and our FIN acknowledged: done, with a last ACK if one is owed. */
	if (c->fin_rcvd && c->fin_out && seq_cmp(c->snd_una, c->fin_seq) > 0) {
		if (c->ack_due)
			control(s, c->mac, c->ip, c->port, c->snd_nxt, c->rcv_nxt, TCP_ACK);
		conn_free(s, c);
	}
}

/*
 * conn_output: the next segment of (c) into (buf, cap): its length, 0 when
 * none. With (dry), only whether there is one (1 or 0), nothing changes.
 */
static size_t conn_output(struct mmds_stack *s, struct mmds_conn *c, uint8_t *buf, size_t cap,
			  bool dry, uint64_t now)
{
	struct tcp_seg seg = {.mac = c->mac,
			      .ip = c->ip,
			      .port = c->port,
			      .seq = c->snd_nxt,
			      .ack = c->rcv_nxt,
			      .flags = TCP_ACK,
			      .window = rcv_window(c)};
	bool timed_out = c->snd_una != c->snd_max && now - c->sent_ms >= MMDS_STACK_RTO_MS;

	if (!c->established) {
		if (!c->synack_due && !timed_out)
			return 0;
		if (dry)
			return 1;
		c->synack_due = false;
		c->sent_ms = now;
		seg.seq = c->iss;
		seg.flags = TCP_SYN | TCP_ACK;
		seg.mss_opt = MMDS_STACK_MSS;
		return build_tcp(s, buf, cap, &seg);
	}
	if (timed_out && !dry)
		rewind_send(c, now);
	seg.seq = c->snd_nxt;
	uint32_t end = data_end(c);
	uint32_t in_flight = c->snd_nxt - c->snd_una;
	size_t avail = c->snd_wnd > in_flight ? c->snd_wnd - in_flight : 0;
	size_t n = 0;
	if (c->resp.data != NULL && seq_cmp(c->snd_nxt, end) < 0)
		n = min_size(min_size(c->mss, end - c->snd_nxt), avail);
	bool fin = c->close_after && !c->fin_sent && (c->resp.data == NULL || c->snd_nxt == end);
	if (n == 0 && !fin && !c->ack_due && !timed_out)
		return 0;
	if (dry)
		return 1;
	if (c->snd_una == c->snd_max)
		c->sent_ms = now; /* the retransmission clock starts with the first byte out */
	if (n > 0) {
		seg.data = (const uint8_t *)c->resp.data + c->tx_off + (c->snd_nxt - c->tx_seq0);
		seg.len = n;
		seg.flags |= TCP_PSH;
		c->snd_nxt += (uint32_t)n;
	} else if (fin) {
		seg.flags |= TCP_FIN;
		c->fin_seq = c->snd_nxt++;
		c->fin_sent = c->fin_out = true;
	}
	if (seq_cmp(c->snd_nxt, c->snd_max) > 0)
		c->snd_max = c->snd_nxt;
	c->ack_due = false;
	return build_tcp(s, buf, cap, &seg);
}

size_t tcp_output(struct mmds_stack *s, uint8_t *buf, size_t cap)
{
	uint64_t now = now_ms(s);

	for (unsigned int k = 0; k < MMDS_STACK_MAX_CONNS; k++) {
		unsigned int i = (s->rr + k) % MMDS_STACK_MAX_CONNS;
		struct mmds_conn *c = &s->conns[i];
		size_t len = c->used ? conn_output(s, c, buf, cap, false, now) : 0;
		if (len > 0) {
			s->rr = (i + 1) % MMDS_STACK_MAX_CONNS;
			return len;
		}
	}
	return 0;
}

bool tcp_pending(struct mmds_stack *s)
{
	uint64_t now = now_ms(s);

	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNS; i++)
		if (s->conns[i].used && conn_output(s, &s->conns[i], NULL, 0, true, now) > 0)
			return true;
	return false;
}
