// SPDX-License-Identifier: Apache-2.0
/* mmds_stack.c: which guest frames are MMDS's, ARP replies, IPv4 checks, frames out. */
#include "mmds_stack_impl.h"

#include <stdlib.h>
#include <string.h>

struct mmds_stack *mmds_stack_create(struct mmds_store *store, const struct mmds_stack_config *cfg)
{
	struct mmds_stack *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->store = store;
	s->st = cfg->stats != NULL ? cfg->stats : &s->own;
	s->ip = cfg->ipv4;
	memcpy(s->mac, cfg->mac, ETH_ADDR_LEN);
	/* Initial sequence numbers need not be secret from the guest, only distinct. */
	s->isn = (uint32_t)(mmds_store_now_ms(store) * 2654435761u);
	return s;
}

void mmds_stack_destroy(struct mmds_stack *s)
{
	if (s == NULL)
		return;
	tcp_destroy_all(s);
	free(s);
}

void queue_ctrl(struct mmds_stack *s, const uint8_t *frame, size_t len)
{
	if (s->ctrl_n == MMDS_STACK_CTRL_MAX || len > CTRL_FRAME_MAX) {
		mmds_stats_add(&s->st->tx_errors, 1);
		return;
	}
	unsigned int i = (s->ctrl_first + s->ctrl_n) % MMDS_STACK_CTRL_MAX;
	memcpy(s->ctrl[i], frame, len);
	s->ctrl_len[i] = (uint16_t)len;
	s->ctrl_n++;
}

/* eth_header: Ethernet from MMDS to (dst) of (type) at (buf). */
static void eth_header(const struct mmds_stack *s, uint8_t *buf, const uint8_t *dst, uint16_t type)
{
	memcpy(buf + ETH_OFF_DST, dst, ETH_ADDR_LEN);
	memcpy(buf + ETH_OFF_SRC, s->mac, ETH_ADDR_LEN);
	put16(buf + ETH_OFF_TYPE, type);
}

size_t build_tcp(struct mmds_stack *s, uint8_t *buf, size_t cap, const struct tcp_seg *seg)
{
	size_t opt = seg->mss_opt != 0 ? TCP_OPT_MSS_LEN : 0;
	size_t tcp_len = TCP_HDR_MIN + opt + seg->len;
	size_t total = ETH_HDR_LEN + IP_HDR_MIN + tcp_len;
	uint8_t *ip = buf + ETH_HDR_LEN, *tcp = ip + IP_HDR_MIN;

	if (total > cap)
		return 0;
	eth_header(s, buf, seg->mac, ETH_TYPE_IPV4);
	memset(ip, 0, IP_HDR_MIN + TCP_HDR_MIN + opt);
	ip[IP_OFF_VER_IHL] = IP_VERSION << 4 | IP_IHL_WORDS;
	put16(ip + IP_OFF_TOTAL, (uint16_t)(IP_HDR_MIN + tcp_len));
	put16(ip + IP_OFF_ID, s->ip_id++);
	put16(ip + IP_OFF_FRAG, IP_FLAG_DF);
	ip[IP_OFF_TTL] = IP_TTL_DEFAULT;
	ip[IP_OFF_PROTO] = IP_PROTO_TCP;
	put32(ip + IP_OFF_SRC, s->ip);
	put32(ip + IP_OFF_DST, seg->ip);
	put16(ip + IP_OFF_CSUM, csum_fold(csum_add(0, ip, IP_HDR_MIN)));
	put16(tcp + TCP_OFF_SPORT, MMDS_STACK_PORT);
	put16(tcp + TCP_OFF_DPORT, seg->port);
	put32(tcp + TCP_OFF_SEQ, seg->seq);
	put32(tcp + TCP_OFF_ACK, seg->ack);
	tcp[TCP_OFF_DOFF] = (uint8_t)(((TCP_HDR_MIN + opt) / IP_WORD) << 4);
	tcp[TCP_OFF_FLAGS] = seg->flags;
	put16(tcp + TCP_OFF_WINDOW, seg->window);
	if (opt != 0) {
		tcp[TCP_HDR_MIN] = TCP_OPT_MSS;
		tcp[TCP_HDR_MIN + 1] = TCP_OPT_MSS_LEN;
		put16(tcp + TCP_HDR_MIN + 2, seg->mss_opt);
	}
	if (seg->len > 0)
		memcpy(tcp + TCP_HDR_MIN + opt, seg->data, seg->len);
	uint32_t sum = csum_add(tcp_pseudo(s->ip, seg->ip, tcp_len), tcp, tcp_len);
	put16(tcp + TCP_OFF_CSUM, csum_fold(sum));
	return total;
}

/*
 * arp: an ARP frame (body, len) from the guest: ours when it asks for (or
 * answers about) the MMDS address. A request gets a reply.
 */
static bool arp(struct mmds_stack *s, const uint8_t *body, size_t len)
{
	uint8_t reply[ETH_HDR_LEN + ARP_LEN];
	uint8_t *r = reply + ETH_HDR_LEN;

	if (len < ARP_LEN || get16(body + ARP_OFF_HTYPE) != ARP_HTYPE_ETH ||
	    get16(body + ARP_OFF_PTYPE) != ETH_TYPE_IPV4 || body[ARP_OFF_HLEN] != ETH_ADDR_LEN ||
	    body[ARP_OFF_PLEN] != IPV4_ADDR_LEN || get32(body + ARP_OFF_TPA) != s->ip)
		return false; /* not about MMDS: the tap's business */
	mmds_stats_add(&s->st->rx_accepted, 1);
	if (get16(body + ARP_OFF_OP) != ARP_OP_REQUEST) {
		mmds_stats_add(&s->st->rx_accepted_unusual, 1);
		return true;
	}
	eth_header(s, reply, body + ARP_OFF_SHA, ETH_TYPE_ARP);
	put16(r + ARP_OFF_HTYPE, ARP_HTYPE_ETH);
	put16(r + ARP_OFF_PTYPE, ETH_TYPE_IPV4);
	r[ARP_OFF_HLEN] = ETH_ADDR_LEN;
	r[ARP_OFF_PLEN] = IPV4_ADDR_LEN;
	put16(r + ARP_OFF_OP, ARP_OP_REPLY);
	memcpy(r + ARP_OFF_SHA, s->mac, ETH_ADDR_LEN);
	put32(r + ARP_OFF_SPA, s->ip);
	memcpy(r + ARP_OFF_THA, body + ARP_OFF_SHA, ETH_ADDR_LEN);
	memcpy(r + ARP_OFF_TPA, body + ARP_OFF_SPA, IPV4_ADDR_LEN);
	queue_ctrl(s, reply, sizeof(reply));
	return true;
}

/* ipv4: an IPv4 packet (ip, len) from the guest (mac): ours when it is to the MMDS address. */
static bool ipv4(struct mmds_stack *s, const uint8_t *mac, const uint8_t *ip, size_t len)
{
	size_t hlen, total;

	if (len < IP_HDR_MIN || get32(ip + IP_OFF_DST) != s->ip)
		return false;
	mmds_stats_add(&s->st->rx_accepted, 1);
	hlen = (size_t)(ip[IP_OFF_VER_IHL] & 0xf) * IP_WORD;
	total = get16(ip + IP_OFF_TOTAL);
	if (ip[IP_OFF_VER_IHL] >> 4 != IP_VERSION || hlen < IP_HDR_MIN || total < hlen ||
	    total > len || csum_fold(csum_add(0, ip, hlen)) != 0 ||
	    (get16(ip + IP_OFF_FRAG) & (IP_FLAG_MF | IP_FRAG_MASK)) != 0) {
		mmds_stats_add(&s->st->rx_accepted_err, 1);
		return true;
	}
	if (ip[IP_OFF_PROTO] != IP_PROTO_TCP) {
		mmds_stats_add(&s->st->rx_accepted_unusual, 1);
		return true;
	}
	uint32_t src = get32(ip + IP_OFF_SRC);
	const uint8_t *tcp = ip + hlen;
	size_t tcp_len = total - hlen;
	if (tcp_len < TCP_HDR_MIN || (size_t)(tcp[TCP_OFF_DOFF] >> 4) * IP_WORD < TCP_HDR_MIN ||
	    (size_t)(tcp[TCP_OFF_DOFF] >> 4) * IP_WORD > tcp_len ||
	    csum_fold(csum_add(tcp_pseudo(src, s->ip, tcp_len), tcp, tcp_len)) != 0) {
		mmds_stats_add(&s->st->rx_accepted_err, 1);
		return true;
	}
	tcp_input(s, mac, src, tcp, tcp_len);
	return true;
}

bool mmds_stack_guest_tx(struct mmds_stack *s, const uint8_t *frame, size_t len)
{
	if (len < ETH_HDR_LEN) {
		mmds_stats_add(&s->st->rx_bad_eth, 1);
		return false;
	}
	switch (get16(frame + ETH_OFF_TYPE)) {
	case ETH_TYPE_ARP:
		return arp(s, frame + ETH_HDR_LEN, len - ETH_HDR_LEN);
	case ETH_TYPE_IPV4:
		return ipv4(s, frame + ETH_OFF_SRC, frame + ETH_HDR_LEN, len - ETH_HDR_LEN);
	default:
		return false;
	}
}

bool mmds_stack_may_take(const struct mmds_stack *s, const uint8_t *head, size_t len)
{
	const uint8_t *body = head + ETH_HDR_LEN;

	if (len < ETH_HDR_LEN)
		return true; /* short: guest_tx counts it */
	switch (get16(head + ETH_OFF_TYPE)) {
	case ETH_TYPE_ARP:
		return len < ETH_HDR_LEN + ARP_LEN || get32(body + ARP_OFF_TPA) == s->ip;
	case ETH_TYPE_IPV4:
		return len < ETH_HDR_LEN + IP_HDR_MIN || get32(body + IP_OFF_DST) == s->ip;
	default:
		return false;
	}
}

size_t mmds_stack_guest_rx(struct mmds_stack *s, uint8_t *buf, size_t cap)
{
	size_t len;

	if (cap < MMDS_STACK_FRAME_MAX) {
		mmds_stats_add(&s->st->tx_errors, 1);
		return 0;
	}
	if (s->ctrl_n > 0) {
		len = s->ctrl_len[s->ctrl_first];
		memcpy(buf, s->ctrl[s->ctrl_first], len);
		s->ctrl_first = (s->ctrl_first + 1) % MMDS_STACK_CTRL_MAX;
		s->ctrl_n--;
	} else {
		len = tcp_output(s, buf, cap);
	}
	if (len > 0) {
		mmds_stats_add(&s->st->tx_frames, 1);
		mmds_stats_add(&s->st->tx_bytes, len);
	}
	return len;
}

bool mmds_stack_has_rx(struct mmds_stack *s)
{
	return s->ctrl_n > 0 || tcp_pending(s);
}
