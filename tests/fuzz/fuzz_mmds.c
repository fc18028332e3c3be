// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_mmds.c: MMDS's guest side (mmds/) fed what a hostile guest sends:
 * each input is a sequence of operations on a fresh store and stack: raw
 * frames, TCP segments to MMDS with correct checksums (so the fuzzer gets
 * past them to the connection logic and HTTP), ARP requests, reading the
 * stack's replies, the clock moving, and the host replacing, patching or
 * reconfiguring the document meanwhile. Checked: every reply fits the
 * buffer and is a whole IPv4/TCP or ARP frame from MMDS's MAC; connections
 * stay within the limit.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_util.h"
#include "mmds_stack.h"
#include "mmds_store.h"

#define MMDS_IP	    0xa9fea9feU
#define GUEST_IP    0xa9fe0002U
#define STORE_LIMIT 4096
#define FRAME_MAX   2048
#define OPS_MAX	    256
#define PORTS	    4 /* guest ports the structured segments use: connections meet again */

static const uint8_t mmds_mac[6] = MMDS_DEFAULT_MAC;
static const uint8_t guest_mac[6] = {0x02, 0, 0, 0, 0, 0x07};
static uint64_t now_ms;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return now_ms;
}

/*
 * tx_checked: a frame to the stack, and the promise the device relies on: a
 * frame the stack takes is one its head said it might (may_take).
 */
static void tx_checked(struct mmds_stack *stack, const uint8_t *f, size_t len)
{
	bool may =
	    mmds_stack_may_take(stack, f, len < MMDS_STACK_PEEK_LEN ? len : MMDS_STACK_PEEK_LEN);
	FZ_CHECK(!mmds_stack_guest_tx(stack, f, len) || may, "took a frame may_take refused");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* segment: a TCP segment to MMDS, headers and checksums right, the rest from the input. */
static size_t segment(struct fz *in, uint8_t *f)
{
	const uint8_t *data;
	size_t dlen = fz_take(in, fz_u16(in) % 1500, &data);
	size_t tcp_len = 20 + dlen;
	uint8_t *ip = f + 14, *tcp = ip + 20;

	memset(f, 0, 54);
	memcpy(f, mmds_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint32_t)(20 + tcp_len));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, GUEST_IP);
	put32(ip + 16, MMDS_IP);
	put16(ip + 10, csum(0, ip, 20));
	put16(tcp, 40000 + fz_u8(in) % PORTS);
	put16(tcp + 2, fz_u8(in) < 250 ? 80 : 81);
	put32(tcp + 4, fz_u32(in));
	put32(tcp + 8, fz_u32(in));
	tcp[12] = 5 << 4;
	tcp[13] = fz_u8(in);
	put16(tcp + 14, fz_u16(in));
	memcpy(tcp + 20, data, dlen);
	uint32_t pseudo = (GUEST_IP >> 16) + (GUEST_IP & 0xffff) + (MMDS_IP >> 16) +
			  (MMDS_IP & 0xffff) + 6 + (uint32_t)tcp_len;
	put16(tcp + 16, csum(pseudo, tcp, tcp_len));
	return 14 + 20 + tcp_len;
}

static size_t arp_request(uint8_t *f)
{
	memset(f, 0, 42);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, 1);
	memcpy(f + 22, guest_mac, 6);
	put32(f + 28, GUEST_IP);
	put32(f + 38, MMDS_IP);
	return 42;
}

/* drain: take up to (n) replies, each checked. */
static void drain(struct mmds_stack *s, unsigned int n)
{
	static uint8_t buf[FRAME_MAX];

	for (unsigned int i = 0; i < n; i++) {
		size_t len = mmds_stack_guest_rx(s, buf, sizeof(buf));
		if (len == 0)
			return;
		FZ_CHECK(len <= MMDS_STACK_FRAME_MAX && len >= 42, "reply of %zu bytes", len);
		FZ_CHECK(memcmp(buf + 6, mmds_mac, 6) == 0, "reply not from MMDS's MAC");
		uint16_t type = (uint16_t)(buf[12] << 8 | buf[13]);
		FZ_CHECK(type == 0x0800 || type == 0x0806, "reply of ethertype 0x%x", type);
		if (type == 0x0800) {
			size_t total = (size_t)(buf[16] << 8 | buf[17]);
			FZ_CHECK(total + 14 == len, "IPv4 total %zu in a %zu-byte frame", total,
				 len);
			FZ_CHECK(csum(0, buf + 14, 20) == 0, "bad IPv4 checksum in a reply");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[FRAME_MAX];
	struct mmds_stats st = {0};
	const struct mmds_stack_config cfg = {
	    .ipv4 = MMDS_IP, .mac = MMDS_DEFAULT_MAC, .stats = &st};
	struct fz in;
	char err[256];
	const char *doc = "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1\", \"n\": 1}}}";

	fz_init(&in, data, size);
	now_ms = 1000;
	struct mmds_store *store = mmds_store_create(STORE_LIMIT, fake_clock, NULL);
	struct mmds_stack *stack = store != NULL ? mmds_stack_create(store, &cfg) : NULL;
	FZ_CHECK(stack != NULL, "out of memory");
	mmds_store_put(store, doc, strlen(doc), err, sizeof(err));
	for (unsigned int op = 0; op < OPS_MAX && fz_more(&in); op++) {
		const uint8_t *raw;
		size_t len;

		switch (fz_u8(&in) % 8) {
		case 0: /* anything at all */
			len = fz_take(&in, fz_u16(&in) % FRAME_MAX, &raw);
			tx_checked(stack, raw, len);
			break;
		case 1:
		case 2:
			len = segment(&in, frame);
			FZ_CHECK(mmds_stack_guest_tx(stack, frame, len),
				 "a segment to MMDS passed");
			break;
		case 3:
			len = segment(&in, frame);
			/* ... then broken in one byte of the input's choosing */
			frame[fz_u16(&in) % len] ^= (uint8_t)(1u << (fz_u8(&in) % 8));
			tx_checked(stack, frame, len);
			break;
		case 4:
			FZ_CHECK(mmds_stack_guest_tx(stack, frame, arp_request(frame)),
				 "ARP passed");
			break;
		case 5:
			drain(stack, fz_u8(&in));
			break;
		case 6:
			now_ms += fz_u16(&in);
			break;
		default: /* the host meanwhile */
			len = fz_take(&in, fz_u8(&in), &raw);
			if (fz_u8(&in) & 1)
				mmds_store_patch(store, (const char *)raw, len, err, sizeof(err));
			else
				mmds_store_put(store, (const char *)raw, len, err, sizeof(err));
			mmds_store_set_mode(store, fz_u8(&in) & 1 ? MMDS_V2 : MMDS_V1,
					    fz_u8(&in) & 1);
			break;
		}
		FZ_CHECK(st.connections_created - st.connections_destroyed <= MMDS_STACK_MAX_CONNS,
			 "%llu connections open",
			 (unsigned long long)(st.connections_created - st.connections_destroyed));
	}
	drain(stack, OPS_MAX);
	mmds_stack_destroy(stack);
	mmds_store_destroy(store);
	return 0;
}
