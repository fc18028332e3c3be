/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmds_wire.h: the bytes of Ethernet II (IEEE 802.3), ARP (RFC 826), IPv4
 * (RFC 791) and TCP (RFC 793) headers as the MMDS stack reads and writes
 * them: offsets, constants, big-endian access and the Internet checksum
 * (RFC 1071). Internal to mmds/.
 */
#ifndef EMBER_MMDS_WIRE_H
#define EMBER_MMDS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define ETH_HDR_LEN   14
#define ETH_ADDR_LEN  6
#define ETH_OFF_DST   0
#define ETH_OFF_SRC   6
#define ETH_OFF_TYPE  12
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806

#define ARP_LEN	       28 /* Ethernet/IPv4 ARP body */
#define ARP_OFF_HTYPE  0
#define ARP_OFF_PTYPE  2
#define ARP_OFF_HLEN   4
#define ARP_OFF_PLEN   5
#define ARP_OFF_OP     6
#define ARP_OFF_SHA    8
#define ARP_OFF_SPA    14
#define ARP_OFF_THA    18
#define ARP_OFF_TPA    24
#define ARP_HTYPE_ETH  1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2
#define IPV4_ADDR_LEN  4

#define IP_HDR_MIN     20
#define IP_OFF_VER_IHL 0
#define IP_OFF_TOTAL   2
#define IP_OFF_ID      4
#define IP_OFF_FRAG    6
#define IP_OFF_TTL     8
#define IP_OFF_PROTO   9
#define IP_OFF_CSUM    10
#define IP_OFF_SRC     12
#define IP_OFF_DST     16
#define IP_VERSION     4
#define IP_FLAG_DF     0x4000
#define IP_FLAG_MF     0x2000
#define IP_FRAG_MASK   0x1fff
#define IP_PROTO_TCP   6
#define IP_TTL_DEFAULT 64
#define IP_IHL_WORDS   5 /* what we send: no options */
#define IP_WORD	       4

#define TCP_HDR_MIN	20
#define TCP_OFF_SPORT	0
#define TCP_OFF_DPORT	2
#define TCP_OFF_SEQ	4
#define TCP_OFF_ACK	8
#define TCP_OFF_DOFF	12
#define TCP_OFF_FLAGS	13
#define TCP_OFF_WINDOW	14
#define TCP_OFF_CSUM	16
#define TCP_OFF_URG	18
#define TCP_FIN		0x01
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_PSH		0x08
#define TCP_ACK		0x10
#define TCP_OPT_END	0
#define TCP_OPT_NOP	1
#define TCP_OPT_MSS	2
#define TCP_OPT_MSS_LEN 4
#define TCP_MSS_DEFAULT 536 /* RFC 1122, 4.2.2.6: when the peer says none */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* csum_add: (sum) plus the 16-bit big-endian words of (p, len), an odd last byte padded. */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	/* Fold as we go: no 32-bit overflow however long the data. */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* csum_fold: the ones' complement of (sum) folded to 16 bits. */
static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* tcp_pseudo: the TCP pseudo-header's sum (RFC 793, 3.1). */
static inline uint32_t tcp_pseudo(uint32_t src, uint32_t dst, size_t tcp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + IP_PROTO_TCP +
	       (uint32_t)tcp_len;
}

/* Sequence numbers compare modulo 2^32 (RFC 793, 3.3). */
static inline int seq_cmp(uint32_t a, uint32_t b)
{
	int32_t d = (int32_t)(a - b);

	return d < 0 ? -1 : d > 0;
}

#endif /* EMBER_MMDS_WIRE_H */
