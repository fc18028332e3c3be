// SPDX-License-Identifier: Apache-2.0
/*
 * test_mmds_stack.c: the MMDS stack fed frames built by hand, as a guest
 * would send them: ARP, a TCP handshake, a request, the response and FIN,
 * with every checksum of what comes back checked here independently; frames
 * for other addresses pass; malformed ones are dropped and counted; the
 * connection table is bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mmds_stack.h"

#define MMDS_IP	  0xa9fea9feU /* 169.254.169.254 */
#define GUEST_IP  0xa9fe0002U /* 169.254.0.2 */
#define OTHER_IP  0x0a000001U
#define GUEST_ISN 1000u

static const uint8_t guest_mac[6] = {0x02, 0, 0, 0, 0, 0x42};
static const uint8_t mmds_mac[6] = MMDS_DEFAULT_MAC;
static uint64_t fake_ms;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_ms;
}

/* ---- what the guest's side does, written apart from mmds/ ---- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* sum16: RFC 1071's sum of (p, len) onto (sum), unfolded. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo(uint32_t src, uint32_t dst, size_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)len;
}

struct guest {
	struct mmds_store *store;
	struct mmds_stack *stack;
	uint16_t port;
	uint32_t seq, ack;    /* next to send, next expected */
	struct mmds_stats mx; /* the group the stack counts into */
};

/* tcp_frame: a guest segment to (dst) into (f): its length. */
static size_t tcp_frame(uint8_t *f, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
			uint32_t ack, uint8_t flags, uint16_t window, const char *data)
{
	size_t dlen = data != NULL ? strlen(data) : 0, tcp_len = 20 + dlen;
	uint8_t *ip = f + 14, *tcp = ip + 20;

	memset(f, 0, 14 + 20 + 20);
	memcpy(f, mmds_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	wr16(f + 12, 0x0800);
	ip[0] = 0x45;
	wr16(ip + 2, (uint32_t)(20 + tcp_len));
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, GUEST_IP);
	wr32(ip + 16, dst);
	wr16(ip + 10, fold(sum16(0, ip, 20)));
	wr16(tcp, sport);
	wr16(tcp + 2, dport);
	wr32(tcp + 4, seq);
	wr32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	wr16(tcp + 14, window);
	if (dlen > 0)
		memcpy(tcp + 20, data, dlen);
	wr16(tcp + 16, fold(sum16(pseudo(GUEST_IP, dst, tcp_len), tcp, tcp_len)));
	return 14 + 20 + tcp_len;
}

/* A segment from MMDS, checked whole. */
struct seg {
	uint16_t dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window, mss;
	size_t len;
	char data[2048];
};

/* parse: frame (f, len) from MMDS to the guest: every header and checksum checked. */
static void parse(const uint8_t *f, size_t len, struct seg *s)
{
	const uint8_t *ip = f + 14, *tcp;
	size_t hl, total, doff;

	assert_true(len >= 54);
	assert_memory_equal(f, guest_mac, 6);
	assert_memory_equal(f + 6, mmds_mac, 6);
	assert_int_equal(be16(f + 12), 0x0800);
	assert_int_equal(ip[0] >> 4, 4);
	hl = (size_t)(ip[0] & 0xf) * 4;
	total = be16(ip + 2);
	assert_int_equal(total, len - 14);
	assert_int_equal(fold(sum16(0, ip, hl)), 0);
	assert_int_equal(ip[9], 6);
	assert_int_equal(be32(ip + 12), MMDS_IP);
	assert_int_equal(be32(ip + 16), GUEST_IP);
	assert_int_equal(be16(ip + 6) & 0x3fff, 0); /* no fragment */
	tcp = ip + hl;
	assert_int_equal(fold(sum16(pseudo(MMDS_IP, GUEST_IP, total - hl), tcp, total - hl)), 0);
	memset(s, 0, sizeof(*s));
	assert_int_equal(be16(tcp), 80);
	s->dport = be16(tcp + 2);
	s->seq = be32(tcp + 4);
	s->ack = be32(tcp + 8);
	s->flags = tcp[13];
	s->window = be16(tcp + 14);
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff == 24 && tcp[20] == 2 && tcp[21] == 4)
		s->mss = be16(tcp + 22);
	s->len = total - hl - doff;
	assert_true(s->len < sizeof(s->data));
	memcpy(s->data, tcp + doff, s->len);
}

/* next: the stack's next frame to the guest, parsed; false when none. */
static bool next(struct guest *g, struct seg *s)
{
	uint8_t f[MMDS_STACK_FRAME_MAX];
	size_t len = mmds_stack_guest_rx(g->stack, f, sizeof(f));

	if (len == 0)
		return false;
	parse(f, len, s);
	return true;
}

static bool send_seg(struct guest *g, uint8_t flags, const char *data, uint16_t window)
{
	uint8_t f[2048];
	size_t len = tcp_frame(f, MMDS_IP, g->port, 80, g->seq, g->ack, flags, window, data);

	g->seq += (uint32_t)(data != NULL ? strlen(data) : 0) + !!(flags & 0x03);
	return mmds_stack_guest_tx(g->stack, f, len);
}

static void setup(struct guest *g, const char *doc)
{
	struct mmds_stack_config cfg = {.ipv4 = MMDS_IP, .mac = MMDS_DEFAULT_MAC, .stats = &g->mx};
	char err[128];

	fake_ms = 10000;
	memset(g, 0, sizeof(*g));
	g->store = mmds_store_create(MMDS_DEFAULT_LIMIT, fake_clock, NULL);
	assert_non_null(g->store);
	assert_int_equal(mmds_store_put(g->store, doc, strlen(doc), err, sizeof(err)), 0);
	g->stack = mmds_stack_create(g->store, &cfg);
	assert_non_null(g->stack);
	g->port = 40000;
}

static void teardown(struct guest *g)
{
	mmds_stack_destroy(g->stack);
	mmds_store_destroy(g->store);
}

/* stats: the stack's group as it stands. */
static struct mmds_stats stats(const struct guest *g)
{
	return g->mx;
}

/* connect: SYN, SYN-ACK (checked), ACK. */
static void connect_guest(struct guest *g)
{
	struct seg s;

	g->seq = GUEST_ISN;
	assert_true(send_seg(g, 0x02, NULL, 65535));
	assert_true(next(g, &s));
	assert_int_equal(s.flags, 0x12); /* SYN|ACK */
	assert_int_equal(s.ack, GUEST_ISN + 1);
	assert_int_equal(s.dport, g->port);
	assert_int_equal(s.mss, 1460);
	assert_int_equal(s.len, 0);
	g->ack = s.seq + 1;
	assert_true(send_seg(g, 0x10, NULL, 65535));
	assert_false(next(g, &s));
}

/* ---- tests ---- */

static void test_arp_reply(void **state)
{
	struct guest g;
	uint8_t f[60] = {0}, r[MMDS_STACK_FRAME_MAX];

	(void)state;
	setup(&g, "{}");
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	wr16(f + 12, 0x0806);
	wr16(f + 14, 1);
	wr16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	wr16(f + 20, 1);
	memcpy(f + 22, guest_mac, 6);
	wr32(f + 28, GUEST_IP);
	wr32(f + 38, MMDS_IP);
	assert_true(mmds_stack_guest_tx(g.stack, f, sizeof(f)));
	assert_true(mmds_stack_has_rx(g.stack));
	assert_int_equal(mmds_stack_guest_rx(g.stack, r, sizeof(r)), 42);
	assert_memory_equal(r, guest_mac, 6);
	assert_memory_equal(r + 6, mmds_mac, 6);
	assert_int_equal(be16(r + 12), 0x0806);
	assert_int_equal(be16(r + 20), 2); /* reply */
	assert_memory_equal(r + 22, mmds_mac, 6);
	assert_int_equal(be32(r + 28), MMDS_IP);
	assert_memory_equal(r + 32, guest_mac, 6);
	assert_int_equal(be32(r + 38), GUEST_IP);
	assert_int_equal(mmds_stack_guest_rx(g.stack, r, sizeof(r)), 0);
	/* An ARP for someone else is the tap's. */
	wr32(f + 38, OTHER_IP);
	assert_false(mmds_stack_guest_tx(g.stack, f, sizeof(f)));
	/* A truncated ARP body cannot be about MMDS. */
	wr32(f + 38, MMDS_IP);
	assert_false(mmds_stack_guest_tx(g.stack, f, 14 + 27));
	assert_false(mmds_stack_has_rx(g.stack));
	assert_int_equal(stats(&g).rx_accepted, 1);
	assert_int_equal(stats(&g).tx_frames, 1);
	teardown(&g);
}

static void test_other_traffic_passes(void **state)
{
	struct guest g;
	uint8_t f[128];
	size_t len;

	(void)state;
	setup(&g, "{}");
	len = tcp_frame(f, OTHER_IP, 1234, 80, 1, 0, 0x02, 1000, NULL);
	assert_false(mmds_stack_guest_tx(g.stack, f, len));
	wr16(f + 12, 0x86dd); /* IPv6 */
	assert_false(mmds_stack_guest_tx(g.stack, f, len));
	assert_false(mmds_stack_guest_tx(g.stack, f, 10));
	assert_int_equal(stats(&g).rx_bad_eth, 1);
	assert_int_equal(stats(&g).rx_accepted, 0);
	assert_false(mmds_stack_has_rx(g.stack));
	teardown(&g);
}

/*
 * may_take, from a frame's first bytes: only what could be MMDS's (IPv4 to
 * its address, ARP for it, anything too short to tell) is worth the device
 * copying whole; everything guest_tx takes, may_take allows.
 */
static void test_may_take_from_the_head(void **state)
{
	struct guest g;
	uint8_t f[128];
	size_t len;

	(void)state;
	setup(&g, "{}");
	len = tcp_frame(f, MMDS_IP, 1234, 80, 1, 0, 0x02, 1000, NULL);
	assert_true(mmds_stack_may_take(g.stack, f, MMDS_STACK_PEEK_LEN));
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	len = tcp_frame(f, OTHER_IP, 1234, 80, 1, 0, 0x02, 1000, NULL);
	assert_false(mmds_stack_may_take(g.stack, f, MMDS_STACK_PEEK_LEN));
	assert_true(mmds_stack_may_take(g.stack, f, 14 + 19)); /* IPv4 header cut short */
	assert_true(mmds_stack_may_take(g.stack, f, 10));      /* not even Ethernet */
	wr16(f + 12, 0x86dd);				       /* IPv6 */
	assert_false(mmds_stack_may_take(g.stack, f, MMDS_STACK_PEEK_LEN));
	memset(f, 0, sizeof(f));
	wr16(f + 12, 0x0806);
	wr32(f + 38, MMDS_IP);
	assert_true(mmds_stack_may_take(g.stack, f, MMDS_STACK_PEEK_LEN));
	assert_true(mmds_stack_may_take(g.stack, f, 14 + 27)); /* ARP body cut short */
	wr32(f + 38, OTHER_IP);
	assert_false(mmds_stack_may_take(g.stack, f, MMDS_STACK_PEEK_LEN));
	teardown(&g);
}

static void test_request_response_fin(void **state)
{
	struct guest g;
	struct seg s;

	(void)state;
	setup(&g, "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-12345678\"}}}");
	connect_guest(&g);
	assert_true(send_seg(&g, 0x18, "GET /latest/meta-data/ami-id HTTP/1.1\r\n", 65535));
	/* Half a request is acknowledged and waits. */
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x10);
	assert_int_equal(s.ack, g.seq);
	assert_int_equal(s.len, 0);
	assert_true(send_seg(&g, 0x18, "Connection: close\r\n\r\n", 65535));
	assert_true(next(&g, &s));
	assert_int_equal(s.flags & 0x10, 0x10);
	assert_int_equal(s.seq, g.ack);
	assert_int_equal(s.ack, g.seq);
	assert_non_null(strstr(s.data, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(s.data, "\r\n\r\nami-12345678"));
	assert_non_null(strstr(s.data, "Connection: close\r\n"));
	g.ack += (uint32_t)s.len;
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x11); /* FIN|ACK after the response */
	assert_int_equal(s.seq, g.ack);
	g.ack++;
	assert_false(next(&g, &s));
	/* The guest acknowledges and closes its side: one last ACK, and the connection is gone. */
	assert_true(send_seg(&g, 0x11, NULL, 65535));
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x10);
	assert_int_equal(s.ack, g.seq);
	struct mmds_stats st = stats(&g);
	assert_int_equal(st.connections_created, 1);
	assert_int_equal(st.connections_destroyed, 1);
	assert_int_equal(st.rx_count, 1);
	assert_int_equal(st.tx_count, 1);
	assert_int_equal(st.rx_accepted_err, 0);
	/* A segment for the closed connection gets a reset. */
	assert_true(send_seg(&g, 0x10, NULL, 65535));
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x04);
	teardown(&g);
}

static void test_window_mss_and_retransmission(void **state)
{
	struct guest g;
	struct seg s;
	char doc[8200];
	uint32_t first;
	size_t got = 0;

	(void)state;
	memset(doc, 'x', sizeof(doc));
	memcpy(doc, "{\"big\": \"", 9);
	memcpy(doc + sizeof(doc) - 3, "\"}", 3);
	setup(&g, doc);
	connect_guest(&g);
	/* A 3000-byte window, no MSS option (536, RFC 1122): 536-byte segments up to 3000 bytes. */
	assert_true(send_seg(&g, 0x18, "GET /big HTTP/1.1\r\n\r\n", 3000));
	assert_true(next(&g, &s));
	first = s.seq;
	do {
		assert_int_equal(s.seq, first + got);
		assert_true(s.len == 536 || got + s.len == 3000);
		got += s.len;
	} while (next(&g, &s));
	assert_int_equal(got, 3000);
	/* A duplicate ACK of the first byte: everything goes again from there. */
	assert_true(send_seg(&g, 0x10, NULL, 3000));
	assert_true(next(&g, &s));
	assert_int_equal(s.seq, first);
	assert_int_equal(s.len, 536);
	/* Acknowledge all three; the window opens again. */
	g.ack = first + (uint32_t)got;
	assert_true(send_seg(&g, 0x10, NULL, 3000));
	assert_true(next(&g, &s));
	assert_int_equal(s.seq, first + got);
	/* Unacknowledged past the retransmission time: sent again without being asked. */
	fake_ms += MMDS_STACK_RTO_MS;
	assert_true(mmds_stack_has_rx(g.stack));
	assert_true(next(&g, &s));
	assert_int_equal(s.seq, first + got);
	teardown(&g);
}

static void test_malformed_dropped_and_counted(void **state)
{
	struct guest g;
	uint8_t f[256];
	size_t len;

	(void)state;
	setup(&g, "{}");
	/* Bad IPv4 header checksum. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, NULL);
	f[14 + 10] ^= 1;
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	/* A fragment. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, NULL);
	wr16(f + 14 + 6, 0x2000);
	wr16(f + 14 + 10, 0);
	wr16(f + 14 + 10, fold(sum16(0, f + 14, 20)));
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	/* Total length past the frame. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, NULL);
	assert_true(mmds_stack_guest_tx(g.stack, f, len - 1));
	/* IHL below 5. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, NULL);
	f[14] = 0x44;
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	/* Bad TCP checksum. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, "data");
	f[len - 1] ^= 0x40;
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	/* TCP data offset past the segment. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, NULL);
	f[14 + 20 + 12] = 0xf0;
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	struct mmds_stats st = stats(&g);
	assert_int_equal(st.rx_accepted, 6);
	assert_int_equal(st.rx_accepted_err, 6);
	assert_int_equal(st.connections_created, 0);
	assert_false(mmds_stack_has_rx(g.stack));
	/* Another protocol to MMDS: consumed, unusual, unanswered. */
	len = tcp_frame(f, MMDS_IP, 1, 80, 1, 0, 0x02, 1000, NULL);
	f[14 + 9] = 17;
	wr16(f + 14 + 10, 0);
	wr16(f + 14 + 10, fold(sum16(0, f + 14, 20)));
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	assert_int_equal(stats(&g).rx_accepted_unusual, 1);
	/* Another port: reset. */
	len = tcp_frame(f, MMDS_IP, 1, 81, 1, 0, 0x02, 1000, NULL);
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	assert_true(mmds_stack_has_rx(g.stack));
	teardown(&g);
}

static void test_connection_limit(void **state)
{
	struct guest g;
	struct seg s;
	uint8_t f[128];
	size_t len;

	(void)state;
	setup(&g, "{}");
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNS; i++) {
		len = tcp_frame(f, MMDS_IP, (uint16_t)(2000 + i), 80, 7, 0, 0x02, 1000, NULL);
		assert_true(mmds_stack_guest_tx(g.stack, f, len));
		assert_true(next(&g, &s));
		assert_int_equal(s.flags, 0x12);
	}
	/* One more while all are fresh: refused with a reset. */
	len = tcp_frame(f, MMDS_IP, 3000, 80, 7, 0, 0x02, 1000, NULL);
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x14); /* RST|ACK */
	assert_int_equal(s.dport, 3000);
	assert_int_equal(stats(&g).connections_created, MMDS_STACK_MAX_CONNS);
	/* Once they have idled, a new one replaces the quietest, which is reset. */
	fake_ms += MMDS_STACK_IDLE_MS;
	assert_true(mmds_stack_guest_tx(g.stack, f, len));
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x04);
	assert_int_equal(s.dport, 2000);
	assert_true(next(&g, &s));
	assert_int_equal(s.flags, 0x12);
	assert_int_equal(s.dport, 3000);
	assert_int_equal(stats(&g).connections_destroyed, 1);
	teardown(&g);
}

static void test_control_queue_bounded(void **state)
{
	struct guest g;
	uint8_t f[128], r[MMDS_STACK_FRAME_MAX];
	size_t len;
	unsigned int n = 0;

	(void)state;
	setup(&g, "{}");
	/* Segments with no connection, each owed a reset, more than the queue holds. */
	for (unsigned int i = 0; i < MMDS_STACK_CTRL_MAX + 5; i++) {
		len = tcp_frame(f, MMDS_IP, (uint16_t)(100 + i), 80, 7, 9, 0x10, 1000, NULL);
		assert_true(mmds_stack_guest_tx(g.stack, f, len));
	}
	while (mmds_stack_guest_rx(g.stack, r, sizeof(r)) > 0)
		n++;
	assert_int_equal(n, MMDS_STACK_CTRL_MAX);
	assert_int_equal(stats(&g).tx_errors, 5);
	/* Too small a buffer gets nothing and is counted. */
	assert_int_equal(mmds_stack_guest_rx(g.stack, r, 100), 0);
	assert_int_equal(stats(&g).tx_errors, 6);
	teardown(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arp_reply),
	    cmocka_unit_test(test_other_traffic_passes),
	    cmocka_unit_test(test_may_take_from_the_head),
	    cmocka_unit_test(test_request_response_fin),
	    cmocka_unit_test(test_window_mss_and_retransmission),
	    cmocka_unit_test(test_malformed_dropped_and_counted),
	    cmocka_unit_test(test_connection_limit),
	    cmocka_unit_test(test_control_queue_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
