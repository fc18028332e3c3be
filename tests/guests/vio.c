/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vio.c: the virtio test guest. Lists the virtio-mmio devices the kernel
 * command line announces, then acts on its guest args in order, printing
 * lines the integration tests grep:
 *
 *   vio: devices=<n>
 *   vio: dev <index> id=<device id> addr=0x<hex> irq=<n>      (per device)
 *   cmdline         vio: cmdline=<whole command line>
 *   rng=<n>         vio: rng ok bytes=<n> distinct=<distinct byte values>
 *   blk-info        vio: blk capacity=<sectors> ro=<0|1> id=<id string>
 *   blk-read=<s>    vio: blk read sector=<s> crc=0x<crc32> first=<16 bytes hex>
 *   blk-write=<s>,<byte>
 *                   vio: blk write sector=<s> status=<0 ok|1 ioerr|2 unsupp>
 *   blk-flush       vio: blk flush status=<n>
 *   blk-past-end    vio: blk past-end status=<n>      (1 = IOERR expected)
 *   net-info        vio: net mac=<xx:xx:xx:xx:xx:xx>
 *   net-send=<len>  vio: net send len=<len> ret=<0|error>
 *                   (broadcast, ethertype 0x88b5, payload bytes = index)
 *   net-arp=<a.b.c.d>,<my a.b.c.d>
 *                   ARP who-has; vio: net arp sent, then as net-recv
 *   net-recv        vio: net recv len=<n> ethertype=0x<hex> src=<mac>
 *                   | vio: net recv timeout
 *   vsock-connect=<port>
 *                   vio: vsock cid=<guest cid> connect port=<p> ret=<n>
 *   vsock-send=<text>
 *                   vio: vsock send ret=<bytes>
 *   vsock-recv      vio: vsock recv len=<n> data=<text> | ... ret=<error>
 *   vsock-close     vio: vsock closed
 *   irq             completions by interrupt from here on: vio: irq mode
 *   no-event-idx    never negotiate VIRTIO_F_RING_EVENT_IDX: vio: no event-idx
 *   timeout=<ms>    bound for the evil words' waits (default 1000)
 *   evil-loop       a descriptor whose NEXT points at itself
 *   evil-oob        a buffer past the end of RAM
 *   evil-avail      avail->idx bumped by 1000
 *                   each: vio: evil <name> sent, then one of
 *                   vio: evil <name> completed len=<n> status=<blk status>
 *                   vio: evil <name> needs-reset  (device set NEEDS_RESET/FAILED)
 *                   vio: evil <name> timeout
 *                   and vio: device status=0x<Status register>
 *                   (the device is reset before its next use)
 *   exit=<n>        exit status (default 0)
 *   virtio_mmio.device=...  ignored (QEMU microvm appends its after "--")
 *   anything else   vio: unknown arg <word>
 *   vio: done                                               (always last)
 *
 * Driver errors print "vio: <what> error=<negative code>" (virtio.h's
 * RT_VIRTIO_E*) or "vio: <dev> none" when the device is missing.
 */
#include "runtime.h"
#include "virtio.h"

#define RNG_MAX		 16384
#define EVIL_TIMEOUT_MS	 1000
#define NET_TIMEOUT_US	 2000000ULL
#define VSOCK_TIMEOUT_US 2000000ULL
#define ETH_P_TEST	 0x88b5
#define ETH_P_ARP	 0x0806

static const uint32_t crc_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f,
	0xe963a535, 0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
	0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2,
	0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
	0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9,
	0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
	0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
	0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
	0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423,
	0xcfba9599, 0xb8bda50f, 0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
	0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d, 0x76dc4190, 0x01db7106,
	0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
	0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d,
	0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950,
	0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
	0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7,
	0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
	0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9, 0x5005713c, 0x270241aa,
	0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
	0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
	0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
	0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84,
	0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
	0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb,
	0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
	0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8, 0xa1d1937e,
	0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55,
	0x316e8eef, 0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
	0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28,
	0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
	0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f,
	0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
	0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
	0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
	0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69,
	0x616bffd3, 0x166ccf45, 0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
	0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db, 0xaed16a4a, 0xd9d65adc,
	0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
	0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693,
	0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d
};

static uint8_t rng_buf[RNG_MAX];
static uint8_t sector_buf[VIRTIO_BLK_SECTOR] __attribute__((aligned(64)));
static uint8_t frame[RT_VNET_FRAME_MAX] __attribute__((aligned(64)));
static uint8_t vsock_buf[RT_VSOCK_BUF] __attribute__((aligned(64)));
static uint8_t evil_scratch[64] __attribute__((aligned(64)));

static struct rt_vblk blk;
static struct rt_vnet net;
static struct rt_vsock vsock;
static int blk_up, rng_up, net_up, vsock_up;
static uint64_t evil_timeout_ms = EVIL_TIMEOUT_MS;

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffU;

	while (n-- > 0)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static void mac_str(char out[18], const uint8_t *m)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 6; i++) {
		out[3 * i] = digits[m[i] >> 4];
		out[3 * i + 1] = digits[m[i] & 15];
		out[3 * i + 2] = i < 5 ? ':' : '\0';
	}
}

static struct rt_virtio_dev *rng_dev(void)
{
	struct rt_virtio_dev *d = rt_virtio_find(VIRTIO_ID_RNG, 0);
	int ret;

	if (d == NULL) {
		rt_printf("vio: rng none\n");
		return NULL;
	}
	if (!rng_up) {
		ret = rt_vrng_init(d);
		if (ret != 0) {
			rt_printf("vio: rng init error=%d status=0x%x\n", ret, rt_virtio_status(d));
			return NULL;
		}
		rng_up = 1;
	}
	return d;
}

static struct rt_vblk *blk_dev(void)
{
	struct rt_virtio_dev *d = rt_virtio_find(VIRTIO_ID_BLK, 0);
	int ret;

	if (d == NULL) {
		rt_printf("vio: blk none\n");
		return NULL;
	}
	if (!blk_up) {
		ret = rt_vblk_init(&blk, d);
		if (ret != 0) {
			rt_printf("vio: blk init error=%d status=0x%x\n", ret, rt_virtio_status(d));
			return NULL;
		}
		blk_up = 1;
	}
	return &blk;
}

static struct rt_vnet *net_dev(void)
{
	struct rt_virtio_dev *d = rt_virtio_find(VIRTIO_ID_NET, 0);
	int ret;

	if (d == NULL) {
		rt_printf("vio: net none\n");
		return NULL;
	}
	if (!net_up) {
		ret = rt_vnet_init(&net, d);
		if (ret != 0) {
			rt_printf("vio: net init error=%d status=0x%x\n", ret, rt_virtio_status(d));
			return NULL;
		}
		net_up = 1;
	}
	return &net;
}

static struct rt_vsock *vsock_dev(void)
{
	struct rt_virtio_dev *d = rt_virtio_find(VIRTIO_ID_VSOCK, 0);
	int ret;

	if (d == NULL) {
		rt_printf("vio: vsock none\n");
		return NULL;
	}
	if (!vsock_up) {
		ret = rt_vsock_init(&vsock, d);
		if (ret != 0) {
			rt_printf("vio: vsock init error=%d status=0x%x\n", ret,
				  rt_virtio_status(d));
			return NULL;
		}
		vsock_up = 1;
	}
	return &vsock;
}

static void do_rng(const char *arg)
{
	struct rt_virtio_dev *d;
	uint8_t seen[256];
	uint64_t n;
	int64_t got;
	unsigned int distinct = 0, i;

	if (rt_parse_u64(arg, &n) != 0 || n == 0 || n > RNG_MAX) {
		rt_printf("vio: rng bad count %s (1..%u)\n", arg, RNG_MAX);
		return;
	}
	d = rng_dev();
	if (d == NULL)
		return;
	got = rt_vrng_read(d, rng_buf, (size_t)n);
	if (got < 0) {
		rt_printf("vio: rng error=%ld\n", got);
		return;
	}
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++)
		seen[rng_buf[i]] = 1;
	for (i = 0; i < 256; i++)
		distinct += seen[i];
	rt_printf("vio: rng ok bytes=%lu distinct=%u\n", n, distinct);
}

static void do_blk_info(void)
{
	struct rt_vblk *b = blk_dev();
	char id[VIRTIO_BLK_ID_BYTES + 1];
	int ret;

	if (b == NULL)
		return;
	ret = rt_vblk_get_id(b, id);
	if (ret != VIRTIO_BLK_S_OK)
		id[0] = '\0';
	rt_printf("vio: blk capacity=%lu ro=%d id=%s\n", b->capacity, b->ro, id);
	if (ret != VIRTIO_BLK_S_OK)
		rt_printf("vio: blk get-id status=%d\n", ret);
}

static void do_blk_read(const char *arg)
{
	struct rt_vblk *b;
	char first[33];
	uint64_t s;
	int ret;

	if (rt_parse_u64(arg, &s) != 0) {
		rt_printf("vio: blk bad sector %s\n", arg);
		return;
	}
	b = blk_dev();
	if (b == NULL)
		return;
	memset(sector_buf, 0, sizeof(sector_buf));
	ret = rt_vblk_rw(b, 0, s, sector_buf, 1);
	if (ret != VIRTIO_BLK_S_OK) {
		rt_printf("vio: blk read sector=%lu status=%d\n", s, ret);
		return;
	}
	hex(first, sector_buf, 16);
	rt_printf("vio: blk read sector=%lu crc=0x%08x first=%s\n", s,
		  crc32(sector_buf, sizeof(sector_buf)), first);
}

static void do_blk_write(const char *arg)
{
	char num[24];
	const char *comma = rt_memchr(arg, ',', strlen(arg));
	struct rt_vblk *b;
	uint64_t s, v;
	int ret;

	if (comma == NULL || (size_t)(comma - arg) >= sizeof(num)) {
		rt_printf("vio: blk bad write %s (want <sector>,<byte>)\n", arg);
		return;
	}
	memcpy(num, arg, (size_t)(comma - arg));
	num[comma - arg] = '\0';
	if (rt_parse_u64(num, &s) != 0 || rt_parse_u64(comma + 1, &v) != 0 || v > 255) {
		rt_printf("vio: blk bad write %s (want <sector>,<byte>)\n", arg);
		return;
	}
	b = blk_dev();
	if (b == NULL)
		return;
	memset(sector_buf, (int)v, sizeof(sector_buf));
	ret = rt_vblk_rw(b, 1, s, sector_buf, 1);
	rt_printf("vio: blk write sector=%lu status=%d\n", s, ret);
}

static void do_blk_flush(void)
{
	struct rt_vblk *b = blk_dev();

	if (b != NULL)
		rt_printf("vio: blk flush status=%d\n", rt_vblk_flush(b));
}

static void do_blk_past_end(void)
{
	struct rt_vblk *b = blk_dev();

	if (b != NULL)
		rt_printf("vio: blk past-end status=%d\n",
			  rt_vblk_rw(b, 0, b->capacity, sector_buf, 1));
}

static void do_net_info(void)
{
	struct rt_vnet *n = net_dev();
	char m[18];

	if (n == NULL)
		return;
	mac_str(m, n->mac);
	rt_printf("vio: net mac=%s\n", m);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void do_net_send(const char *arg)
{
	struct rt_vnet *n;
	uint64_t len;
	unsigned int i;

	if (rt_parse_u64(arg, &len) != 0 || len < 14 || len > RT_VNET_FRAME_MAX) {
		rt_printf("vio: net bad length %s (14..%u)\n", arg, RT_VNET_FRAME_MAX);
		return;
	}
	n = net_dev();
	if (n == NULL)
		return;
	memset(frame, 0xff, 6);
	memcpy(frame + 6, n->mac, 6);
	put_be16(frame + 12, ETH_P_TEST);
	for (i = 14; i < len; i++)
		frame[i] = (uint8_t)i;
	rt_printf("vio: net send len=%lu ret=%d\n", len, rt_vnet_send(n, frame, (size_t)len));
}

static int parse_ip(const char *s, uint8_t ip[4], const char **rest)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		unsigned int v = 0, digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned int)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || v > 255 || (i < 3 && *s++ != '.'))
			return -1;
		ip[i] = (uint8_t)v;
	}
	*rest = s;
	return 0;
}

static void do_net_recv(void)
{
	struct rt_vnet *n = net_dev();
	char m[18];
	int64_t len;

	if (n == NULL)
		return;
	len = rt_vnet_recv(n, frame, sizeof(frame), NET_TIMEOUT_US);
	if (len == RT_VIRTIO_ETIMEDOUT) {
		rt_printf("vio: net recv timeout\n");
		return;
	}
	if (len < 14) {
		rt_printf("vio: net recv error=%ld\n", len);
		return;
	}
	mac_str(m, frame + 6);
	rt_printf("vio: net recv len=%ld ethertype=0x%04x src=%s\n", len,
		  (unsigned int)frame[12] << 8 | frame[13], m);
}

/* net-arp=<target ip>,<our ip>: ARP request (RFC 826), then wait for a frame. */
static void do_net_arp(const char *arg)
{
	uint8_t target[4], self[4];
	const char *rest;
	struct rt_vnet *n;
	int ret;

	if (parse_ip(arg, target, &rest) != 0 || *rest++ != ',' || parse_ip(rest, self, &rest) != 0 ||
	    *rest != '\0') {
		rt_printf("vio: net bad arp %s (want <ip>,<our ip>)\n", arg);
		return;
	}
	n = net_dev();
	if (n == NULL)
		return;
	memset(frame, 0, 60);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, n->mac, 6);
	put_be16(frame + 12, ETH_P_ARP);
	put_be16(frame + 14, 1);      /* hardware: Ethernet */
	put_be16(frame + 16, 0x0800); /* protocol: IPv4 */
	frame[18] = 6;
	frame[19] = 4;
	put_be16(frame + 20, 1); /* request */
	memcpy(frame + 22, n->mac, 6);
	memcpy(frame + 28, self, 4);
	memcpy(frame + 38, target, 4);
	ret = rt_vnet_send(n, frame, 60);
	rt_printf("vio: net arp sent ret=%d\n", ret);
	if (ret == 0)
		do_net_recv();
}

static void do_vsock_connect(const char *arg)
{
	struct rt_vsock *v;
	uint64_t port;

	if (rt_parse_u64(arg, &port) != 0 || port > 0xffffffffULL) {
		rt_printf("vio: vsock bad port %s\n", arg);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	rt_printf("vio: vsock cid=%lu connect port=%lu ret=%d\n", v->guest_cid, port,
		  rt_vsock_connect(v, (uint32_t)port, VSOCK_TIMEOUT_US));
}

static void do_vsock_send(const char *arg)
{
	struct rt_vsock *v = vsock_dev();

	if (v != NULL)
		rt_printf("vio: vsock send ret=%ld\n", rt_vsock_send(v, arg, strlen(arg)));
}

static void do_vsock_recv(void)
{
	struct rt_vsock *v = vsock_dev();
	int64_t len;

	if (v == NULL)
		return;
	len = rt_vsock_recv(v, vsock_buf, sizeof(vsock_buf) - 1, VSOCK_TIMEOUT_US);
	if (len < 0) {
		rt_printf("vio: vsock recv ret=%ld\n", len);
		return;
	}
	vsock_buf[len] = '\0';
	/* Printable text only; stop at the first newline. */
	for (int64_t i = 0; i < len; i++)
		if (vsock_buf[i] < 0x20 || vsock_buf[i] > 0x7e) {
			vsock_buf[i] = '\0';
			break;
		}
	rt_printf("vio: vsock recv len=%ld data=%s\n", len, (const char *)vsock_buf);
}

/* --- hostile virtqueues --------------------------------------------- */

enum evil { EVIL_LOOP, EVIL_OOB, EVIL_AVAIL };

/* The end of the highest RAM region: the first byte past guest RAM. */
static uint64_t ram_top(const struct boot_info *bi)
{
	uint64_t top = 0;
	unsigned int i;

	for (i = 0; i < bi->nr_mem; i++)
		if (bi->mem[i].type == RT_MEM_RAM && bi->mem[i].end > top)
			top = bi->mem[i].end;
	return top;
}

static void do_evil(const struct boot_info *bi, const char *name, enum evil kind)
{
	static struct {
		uint32_t type, reserved;
		uint64_t sector;
	} hdr __attribute__((aligned(16)));
	static uint8_t st __attribute__((aligned(16)));
	struct rt_virtio_dev *d;
	struct rt_virtqueue *q;
	int is_blk = 0, ret;
	uint64_t oob = ram_top(bi) + (1ULL << 20);
	uint32_t len = 0;

	if (rt_virtio_find(VIRTIO_ID_BLK, 0) != NULL) {
		if (blk_dev() == NULL)
			return;
		d = blk.dev;
		is_blk = 1;
	} else if ((d = rt_virtio_find(VIRTIO_ID_RNG, 0)) != NULL) {
		if (rng_dev() == NULL)
			return;
	} else {
		rt_printf("vio: evil %s no blk or rng device\n", name);
		return;
	}
	q = &d->vq[0];
	hdr.type = VIRTIO_BLK_T_IN;
	hdr.reserved = 0;
	hdr.sector = 0;
	st = 0xff;
	switch (kind) {
	case EVIL_LOOP: {
		int i = rt_virtq_alloc(q);

		if (i < 0)
			return;
		q->desc[i].addr = (uint64_t)(uintptr_t)evil_scratch;
		q->desc[i].len = sizeof(evil_scratch);
		q->desc[i].flags = VIRTQ_DESC_F_NEXT;
		q->desc[i].next = (uint16_t)i;
		rt_virtq_publish(q, (uint16_t)i);
		break;
	}
	case EVIL_OOB:
		if (is_blk) {
			struct rt_vbuf b[3] = {{&hdr, sizeof(hdr), 0},
					       {(const void *)(uintptr_t)oob, VIRTIO_BLK_SECTOR, 1},
					       {&st, 1, 1}};

			ret = rt_virtq_submit(q, b, 3);
		} else {
			struct rt_vbuf b = {(const void *)(uintptr_t)oob, 64, 1};

			ret = rt_virtq_submit(q, &b, 1);
		}
		if (ret < 0)
			return;
		break;
	case EVIL_AVAIL:
		q->avail_idx = (uint16_t)(q->avail_idx + 1000);
		*(volatile uint16_t *)&q->avail->idx = q->avail_idx;
		__asm__ volatile("lock; addl $0, -4(%%rsp)" ::: "memory", "cc");
		rt_virtq_notify(q);
		break;
	}
	rt_printf("vio: evil %s sent\n", name);
	ret = rt_virtq_wait(q, evil_timeout_ms * 1000);
	if (ret == 0) {
		(void)rt_virtq_get(q, &len);
		rt_printf("vio: evil %s completed len=%u status=%d\n", name, len,
			  is_blk ? *(volatile uint8_t *)&st : -1);
	} else if (ret == RT_VIRTIO_EDEVICE) {
		rt_printf("vio: evil %s needs-reset\n", name);
	} else {
		rt_printf("vio: evil %s timeout\n", name);
	}
	rt_printf("vio: device status=0x%x\n", rt_virtio_status(d));
	/* The queue is in an unknown state: reset the device before next use. */
	rt_virtio_reset(d);
	blk_up = rng_up = 0;
}

int main(const struct boot_info *bi)
{
	uint64_t status = 0;
	unsigned int i, n;
	int a;

	n = rt_virtio_probe(bi);
	rt_printf("vio: devices=%u\n", n);
	for (i = 0; i < n; i++) {
		const struct rt_virtio_dev *d = rt_virtio_dev(i);

		rt_printf("vio: dev %u id=%u addr=0x%lx irq=%u\n", i, d->device_id, d->base,
			  d->irq);
	}
	for (a = 0; a < bi->argc; a++) {
		const char *w = bi->argv[a];

		if (strncmp(w, "virtio_mmio.device=", 19) == 0) {
			continue; /* QEMU microvm appends these after "--" */
		} else if (strcmp(w, "cmdline") == 0) {
			rt_printf("vio: cmdline=%s\n", bi->cmdline);
		} else if (strncmp(w, "rng=", 4) == 0) {
			do_rng(w + 4);
		} else if (strcmp(w, "blk-info") == 0) {
			do_blk_info();
		} else if (strncmp(w, "blk-read=", 9) == 0) {
			do_blk_read(w + 9);
		} else if (strncmp(w, "blk-write=", 10) == 0) {
			do_blk_write(w + 10);
		} else if (strcmp(w, "blk-flush") == 0) {
			do_blk_flush();
		} else if (strcmp(w, "blk-past-end") == 0) {
			do_blk_past_end();
		} else if (strcmp(w, "net-info") == 0) {
			do_net_info();
		} else if (strncmp(w, "net-send=", 9) == 0) {
			do_net_send(w + 9);
		} else if (strncmp(w, "net-arp=", 8) == 0) {
			do_net_arp(w + 8);
		} else if (strcmp(w, "net-recv") == 0) {
			do_net_recv();
		} else if (strncmp(w, "vsock-connect=", 14) == 0) {
			do_vsock_connect(w + 14);
		} else if (strncmp(w, "vsock-send=", 11) == 0) {
			do_vsock_send(w + 11);
		} else if (strcmp(w, "vsock-recv") == 0) {
			do_vsock_recv();
		} else if (strcmp(w, "vsock-close") == 0) {
			if (vsock_dev() != NULL) {
				rt_vsock_close(&vsock);
				rt_printf("vio: vsock closed\n");
			}
		} else if (strcmp(w, "irq") == 0) {
			rt_virtio_use_irq(1);
			rt_printf("vio: irq mode\n");
		} else if (strcmp(w, "no-event-idx") == 0) {
			rt_virtio_set_event_idx(0);
			rt_printf("vio: no event-idx\n");
		} else if (strncmp(w, "timeout=", 8) == 0) {
			if (rt_parse_u64(w + 8, &evil_timeout_ms) != 0)
				evil_timeout_ms = EVIL_TIMEOUT_MS;
		} else if (strcmp(w, "evil-loop") == 0) {
			do_evil(bi, "loop", EVIL_LOOP);
		} else if (strcmp(w, "evil-oob") == 0) {
			do_evil(bi, "oob", EVIL_OOB);
		} else if (strcmp(w, "evil-avail") == 0) {
			do_evil(bi, "avail", EVIL_AVAIL);
		} else if (strncmp(w, "exit=", 5) == 0) {
			if (rt_parse_u64(w + 5, &status) != 0 || status > 255) {
				rt_printf("vio: bad exit status %s\n", w + 5);
				status = 0;
			}
		} else {
			rt_printf("vio: unknown arg %s\n", w);
		}
	}
	rt_printf("vio: done\n");
	return (int)status;
}
