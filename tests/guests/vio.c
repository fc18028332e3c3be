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
 *   blk-irq-read=<s>
 *                   one read the driver learns of from the disk's interrupt
 *                   alone (needs irq; best as the disk's first request, so that
 *                   no earlier completion's interrupt stands in for its own):
 *                   vio: blk irq-read sector=<s> crc=0x<crc32> by=<irq|timeout>
 *                   (by=irq: the handler ran within 2 s of the submission)
 *   blk-flush       vio: blk flush status=<n>
 *   blk-past-end    vio: blk past-end status=<n>      (1 = IOERR expected)
 *   blk-dev=<n>     the blk words drive the nth (0-based) disk from here on
 *                   (the one driven so far is reset): vio: blk dev=<n>
 *   blk-stress=<first>,<sectors>,<rounds>
 *                   rounds of writes over sectors [first, first+sectors), 8
 *                   sectors a request, each read back and checked (do_blk_stress);
 *                   after each round: vio: blk stress round=<r> done; at the end:
 *                   vio: blk stress rounds=<n> writes=<n> reads=<n> end=<done|timeout|error>
 *   wait            wait for a byte on the console: vio: waiting, then
 *                   vio: woke byte=0x<hex>
 *   net-dev=<n>     the net words drive the nth (0-based) net device from
 *                   here on (the one driven so far is reset): vio: net dev=<n>
 *   net-info        vio: net mac=<xx:xx:xx:xx:xx:xx>
 *   net-mtu         vio: net mtu=<n> (VIRTIO_NET_F_MTU's advice) | vio: net mtu=none
 *   net-send=<len>  vio: net send len=<len> ret=<0|error>
 *                   (broadcast, ethertype 0x88b5, payload bytes = index)
 *   net-arp=<a.b.c.d>,<my a.b.c.d>
 *                   ARP who-has; vio: net arp sent, then as net-recv
 *   net-recv        vio: net recv len=<n> ethertype=0x<hex> src=<mac>
 *                   | vio: net recv timeout
 *   mmds-get=<path>[,json]
 *                   one HTTP GET to MMDS at 169.254.169.254:80 over a tiny TCP
 *                   client (ARP, handshake, request, ACKs, FIN; the guest is
 *                   169.254.0.2), with "Accept: application/json" for json:
 *                   vio: mmds status=<code> body=<body, newlines as '|'>
 *                   | vio: mmds error=<what>
 *   mmds-token=<ttl>
 *                   PUT /latest/api/token with that TTL; the token is kept:
 *                   vio: mmds token status=<code> len=<token length>
 *   mmds-get-token=<path>
 *                   as mmds-get, with the kept token in X-metadata-token
 *   vsock-connect=<port>
 *                   vio: vsock cid=<guest cid> connect port=<p> ret=<n>
 *   vsock-send=<text>
 *                   vio: vsock send ret=<bytes>
 *   vsock-recv      vio: vsock recv len=<n> data=<text> | ... ret=<error>
 *   vsock-close     vio: vsock closed
 *   vsock-hold=<port>,<n>,<ms>
 *                   open n streams to host port <port>, hold them <ms> ms:
 *                   vio: vsock hold open=<n> refused=<n>, then vio: vsock hold done
 *   vsock-events    wait up to the vsock timeout for the device's transport
 *                   reset event (a restore sends one): vio: vsock resets=<n>
 *                   cid=<guest cid> state=<the current stream's state>
 *   vsock-reset     reset the vsock device (status 0), streams open or not:
 *                   vio: vsock reset status=0x<Status register after>
 *   vsock-stream=<port>,<bytes>
 *                   one stream to host port <port>: send <bytes> (0: none) of
 *                   stream 0's pattern while checking what the host sends is that
 *                   pattern too, until the stream ends (do_vsock_stream):
 *                   vio: vsock stream port=<p> sent=<n> got=<n> bad=<0|1> end=<how>
 *   vsock-multi=<port>,<n>,<bytes>
 *                   n streams to host port at once, data checked both ways
 *                   (do_vsock_multi): vio: vsock multi ... verified=<n> ...
 *   vsock-echo=<port>,<n>
 *                   echo n host-initiated streams (do_vsock_echo):
 *                   vio: vsock listening port=<p>, then
 *                   vio: vsock echo port=<p> accepted=<n> closed=<n> bytes=<b>
 *   vsock-serve=<port>,<ms>
 *                   echo every host-initiated stream to <port>, any number of
 *                   them one after another (up to RT_VSOCK_MAX_CONNS at once),
 *                   for <ms> ms (do_vsock_serve): vio: vsock serving port=<p>,
 *                   then vio: vsock serve port=<p> accepted=<n> closed=<n> bytes=<b>
 *   vsock-dial=<port>,<n>,<bytes>
 *                   n guest-initiated streams to host port <port>, one after
 *                   another: connect, send <bytes>, check the echo, shut down
 *                   (do_vsock_dial): vio: vsock dial port=<p> n=<n>
 *                   connected=<n> verified=<n> closed=<n> refused=<n> failed=<n>
 *   idle=<ms>       keep the guest alive <ms> ms with its vCPU halted (woken
 *                   by the local APIC timer): vio: idle ms=<ms>, then
 *                   vio: idle done
 *   irq             completions by interrupt from here on: vio: irq mode
 *   pic             interrupts through the 8259A pair instead of the IOAPIC
 *                   from here on (rt_irq_use_pic), the driver's timed waits on
 *                   the PIT (IRQ 0) instead of the local APIC timer:
 *                   vio: pic mode | vio: pic none (no 8259A) |
 *                   vio: pic no-virtual-wire (LINT0 not ExtINT)
 *                   With irq, a request sleeps on its device's IRQ through the
 *                   8259A: "pic irq blk-read=5 irqs". The order of pic and irq
 *                   does not matter (pins enabled before pic move to the 8259A).
 *   irqs            interrupts taken so far, per device:
 *                   vio: irqs dev=<index> irq=<n> count=<n>, then
 *                   vio: irqs spurious irq7=<n> irq15=<n> (8259A's, PIC mode)
 *   no-event-idx    never negotiate VIRTIO_F_RING_EVENT_IDX: vio: no event-idx
 *   ack-unoffered=<bit>
 *                   from now on also ack feature <bit> (0..63), offered or
 *                   not, as drivers built for other monitors may:
 *                   vio: ack-unoffered bit=<bit>
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
 *   target=<dev>    device the hostile= words attack: blk, net, vsock, rng
 *   hostile=<attack> a hostile queue layout, size or overrun (see do_hostile):
 *                   used-end, used-gap, used-gap-end, used-mmio, used-desc,
 *                   used-avail, num-big, num-zero, num-odd, resize-ready,
 *                   resize-live, overrun
 *                   vio: hostile <dev> <attack> ready=<n> status=0x<s> result=<r>
 *                   vio: hostile <dev> <attack> recovered=<0|1> status=0x<s>
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
#define VSOCK_EVENT_POLL_US 1000ULL /* vsock-events: how often the event queue is looked at */
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
static unsigned int net_nth; /* the net device the net words drive (net-dev=) */
static unsigned int blk_nth; /* the disk the blk words drive (blk-dev=) */
static uint64_t evil_timeout_ms = EVIL_TIMEOUT_MS;
static int irq_word; /* "irq" was given: completions by interrupt */

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
	struct rt_virtio_dev *d = rt_virtio_find(VIRTIO_ID_BLK, blk_nth);
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
	struct rt_virtio_dev *d = rt_virtio_find(VIRTIO_ID_NET, net_nth);
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

/*
 * pick_dev: blk-dev=<n> and net-dev=<n>: the words of (kind) drive its
 * (n)th device from here on; one at a time, as the driver's buffers are
 * shared, so the one driven so far (*up) is reset first.
 */
static void pick_dev(const char *kind, const char *arg, unsigned int *nth, int *up,
		     struct rt_virtio_dev *dev)
{
	uint64_t n;

	if (rt_parse_u64(arg, &n) != 0 || n > 31) {
		rt_printf("vio: %s bad device %s\n", kind, arg);
		return;
	}
	if (*up) {
		rt_virtio_reset(dev);
		*up = 0;
	}
	*nth = (unsigned int)n;
	rt_printf("vio: %s dev=%u\n", kind, *nth);
}

#define STRESS_NSECT	  8 /* sectors a request */
#define STRESS_TIMEOUT_US 20000000ULL

static uint8_t stress_out[STRESS_NSECT * VIRTIO_BLK_SECTOR] __attribute__((aligned(64)));
static uint8_t stress_in[STRESS_NSECT * VIRTIO_BLK_SECTOR] __attribute__((aligned(64)));

/*
 * stress_record: what blk-stress writes to sector (s) in round (r): "vio-strs",
 * r and s (little-endian u64), the rest the byte (r * 31 + s) & 0xff. A host
 * can tell a whole record from a torn one (tests/integration/test_faults.sh).
 */
static void stress_record(uint8_t *p, uint64_t r, uint64_t s)
{
	memset(p, (int)((r * 31 + s) & 0xff), VIRTIO_BLK_SECTOR);
	memcpy(p, "vio-strs", 8);
	memcpy(p + 8, &r, 8);
	memcpy(p + 16, &s, 8);
}

/* same8: (n8) 8-byte words at (a) and (b) are equal (one string instruction). */
static int same8(const void *a, const void *b, size_t n8)
{
	unsigned char ne;

	__asm__ volatile("repe cmpsq; setne %0"
			 : "=r"(ne), "+D"(a), "+S"(b), "+c"(n8)
			 :
			 : "memory", "cc");
	return !ne;
}

/*
 * blk-stress=<first>,<sectors>,<rounds>: for round 1..<rounds>, write each
 * sector of [first, first + sectors) with its record, STRESS_NSECT sectors a
 * request, and read each request back and compare; a round is announced
 * once all of it was written and read back. Stops at the first failed
 * request or mismatch, or after STRESS_TIMEOUT_US:
 *   vio: blk stress round=<r> done                      (after each round)
 *   vio: blk stress error round=<r> sector=<s> status=<n> (a failed request)
 *   vio: blk stress mismatch round=<r> sector=<s>        (read back differs)
 *   vio: blk stress rounds=<n> writes=<n> reads=<n> end=<done|timeout|error>
 */
static void do_blk_stress(const char *arg)
{
	char num[24];
	uint64_t a[3] = {0, 0, 0}, r, s, writes = 0, reads = 0, start = rt_tsc();
	const char *end = "done";
	unsigned int got = 0;
	struct rt_vblk *b;

	while (got < 3 && *arg != '\0') {
		size_t len = 0;

		while (arg[len] != '\0' && arg[len] != ',' && len < sizeof(num) - 1) {
			num[len] = arg[len];
			len++;
		}
		num[len] = '\0';
		if (rt_parse_u64(num, &a[got]) != 0)
			break;
		got++;
		arg += len;
		if (*arg == ',')
			arg++;
	}
	if (got != 3 || *arg != '\0' || a[1] == 0 || a[1] % STRESS_NSECT != 0 || a[2] == 0) {
		rt_printf(
		    "vio: blk bad stress (want <first>,<sectors: a multiple of %u>,<rounds>)\n",
		    STRESS_NSECT);
		return;
	}
	b = blk_dev();
	if (b == NULL)
		return;
	for (r = 1; r <= a[2]; r++) {
		for (s = a[0]; s < a[0] + a[1]; s += STRESS_NSECT) {
			int ret;

			for (unsigned int k = 0; k < STRESS_NSECT; k++)
				stress_record(stress_out + k * VIRTIO_BLK_SECTOR, r, s + k);
			ret = rt_vblk_rw(b, 1, s, stress_out, STRESS_NSECT);
			if (ret == VIRTIO_BLK_S_OK) {
				writes++;
				memset(stress_in, 0, sizeof(stress_in));
				ret = rt_vblk_rw(b, 0, s, stress_in, STRESS_NSECT);
			}
			if (ret != VIRTIO_BLK_S_OK) {
				rt_printf("vio: blk stress error round=%lu sector=%lu status=%d\n",
					  r, s, ret);
				end = "error";
				goto out;
			}
			reads++;
			if (!same8(stress_in, stress_out, sizeof(stress_out) / 8)) {
				rt_printf("vio: blk stress mismatch round=%lu sector=%lu\n", r, s);
				end = "error";
				goto out;
			}
		}
		rt_printf("vio: blk stress round=%lu done\n", r);
		if ((rt_tsc() - start) / rt_tsc_per_us() >= STRESS_TIMEOUT_US) {
			end = r < a[2] ? "timeout" : "done";
			r++;
			break;
		}
	}
out:
	rt_printf("vio: blk stress rounds=%lu writes=%lu reads=%lu end=%s\n", r - 1, writes, reads,
		  end);
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

static void do_net_mtu(void)
{
	const struct rt_vnet *n = net_dev();

	if (n == NULL)
		return;
	if (n->mtu == 0)
		rt_printf("vio: net mtu=none\n");
	else
		rt_printf("vio: net mtu=%u\n", n->mtu);
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

/* ---- mmds-*: a tiny TCP/HTTP client for MMDS ---- */

#define MMDS_GUEST_IP	0xa9fe0002U /* 169.254.0.2 */
#define MMDS_SERVER_IP	0xa9fea9feU /* 169.254.169.254 */
#define MMDS_PORT	80
#define MMDS_FIRST_PORT 40000
#define MMDS_TIMEOUT_US 5000000ULL
#define MMDS_RESP_MAX	4096
#define MMDS_TOKEN_MAX	128
#define ETH_P_IPV4	0x0800
#define TCP_F_FIN	0x01
#define TCP_F_SYN	0x02
#define TCP_F_RST	0x04
#define TCP_F_PSH	0x08
#define TCP_F_ACK	0x10

static uint8_t mmds_mac[6];
static int mmds_mac_known;
static uint16_t mmds_next_port = MMDS_FIRST_PORT;
static char mmds_token[MMDS_TOKEN_MAX];
static char mmds_resp[MMDS_RESP_MAX + 1];
static uint8_t mmds_out[RT_VNET_FRAME_MAX] __attribute__((aligned(64)));

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t inet_csum(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* mmds_recv: the next frame within the deadline (into frame): its length, or <= 0. */
static int64_t mmds_recv(struct rt_vnet *n, uint64_t deadline)
{
	uint64_t now = rt_tsc();

	if (now >= deadline)
		return RT_VIRTIO_ETIMEDOUT;
	return rt_vnet_recv(n, frame, sizeof(frame), (deadline - now) / rt_tsc_per_us());
}

/* mmds_arp: learn MMDS's MAC. 0 or -1. */
static int mmds_arp(struct rt_vnet *n, uint64_t deadline)
{
	if (mmds_mac_known)
		return 0;
	memset(mmds_out, 0, 42);
	memset(mmds_out, 0xff, 6);
	memcpy(mmds_out + 6, n->mac, 6);
	put_be16(mmds_out + 12, ETH_P_ARP);
	put_be16(mmds_out + 14, 1);
	put_be16(mmds_out + 16, ETH_P_IPV4);
	mmds_out[18] = 6;
	mmds_out[19] = 4;
	put_be16(mmds_out + 20, 1);
	memcpy(mmds_out + 22, n->mac, 6);
	put_be32(mmds_out + 28, MMDS_GUEST_IP);
	put_be32(mmds_out + 38, MMDS_SERVER_IP);
	if (rt_vnet_send(n, mmds_out, 42) != 0)
		return -1;
	for (;;) {
		int64_t len = mmds_recv(n, deadline);
		if (len <= 0)
			return -1;
		if (len >= 42 && get_be16(frame + 12) == ETH_P_ARP && get_be16(frame + 20) == 2 &&
		    get_be32(frame + 28) == MMDS_SERVER_IP) {
			memcpy(mmds_mac, frame + 22, 6);
			mmds_mac_known = 1;
			return 0;
		}
	}
}

/* mmds_send: one TCP segment from (port) to MMDS. */
static int mmds_send(struct rt_vnet *n, uint16_t port, uint32_t seq, uint32_t ack, uint8_t flags,
		     const char *data, size_t dlen)
{
	size_t opt = (flags & TCP_F_SYN) ? 4 : 0, tcp_len = 20 + opt + dlen;
	uint8_t *ip = mmds_out + 14, *tcp = ip + 20;
	uint32_t pseudo;

	if (14 + 20 + tcp_len > sizeof(mmds_out))
		return -1;
	memset(mmds_out, 0, 14 + 20 + 20 + opt);
	memcpy(mmds_out, mmds_mac, 6);
	memcpy(mmds_out + 6, n->mac, 6);
	put_be16(mmds_out + 12, ETH_P_IPV4);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(20 + tcp_len));
	ip[8] = 64;
	ip[9] = 6;
	put_be32(ip + 12, MMDS_GUEST_IP);
	put_be32(ip + 16, MMDS_SERVER_IP);
	put_be16(ip + 10, inet_csum(0, ip, 20));
	put_be16(tcp, port);
	put_be16(tcp + 2, MMDS_PORT);
	put_be32(tcp + 4, seq);
	put_be32(tcp + 8, ack);
	tcp[12] = (uint8_t)(((20 + opt) / 4) << 4);
	tcp[13] = flags;
	put_be16(tcp + 14, 65535);
	if (opt) {
		tcp[20] = 2; /* MSS */
		tcp[21] = 4;
		put_be16(tcp + 22, 1460);
	}
	memcpy(tcp + 20 + opt, data, dlen);
	pseudo = (MMDS_GUEST_IP >> 16) + (MMDS_GUEST_IP & 0xffff) + (MMDS_SERVER_IP >> 16) +
		 (MMDS_SERVER_IP & 0xffff) + 6 + (uint32_t)tcp_len;
	put_be16(tcp + 16, inet_csum(pseudo, tcp, tcp_len));
	return rt_vnet_send(n, mmds_out, 14 + 20 + tcp_len);
}

/*
 * mmds_segment: wait for a segment from MMDS to (port); its TCP header in
 * (*tcp), payload length in (*dlen). 0, or -1 on timeout.
 */
static int mmds_segment(struct rt_vnet *n, uint16_t port, uint64_t deadline, const uint8_t **tcp,
			size_t *dlen)
{
	for (;;) {
		int64_t len = mmds_recv(n, deadline);
		const uint8_t *ip = frame + 14;
		size_t hl, total, doff;

		if (len <= 0)
			return -1;
		if (len < 54 || get_be16(frame + 12) != ETH_P_IPV4 || ip[9] != 6 ||
		    get_be32(ip + 12) != MMDS_SERVER_IP)
			continue;
		hl = (size_t)(ip[0] & 0xf) * 4;
		total = get_be16(ip + 2);
		if (total > (size_t)len - 14 || total < hl + 20 || get_be16(ip + hl + 2) != port)
			continue;
		*tcp = ip + hl;
		doff = (size_t)((*tcp)[12] >> 4) * 4;
		if (doff < 20 || doff > total - hl)
			continue;
		*dlen = total - hl - doff;
		return 0;
	}
}

/*
 * mmds_http: send (req) on a new connection, collect the response until
 * MMDS's FIN into mmds_resp: its status, or a negative error (printed).
 */
static int mmds_http(const char *req)
{
	struct rt_vnet *n = net_dev();
	uint64_t deadline = rt_tsc() + MMDS_TIMEOUT_US * rt_tsc_per_us();
	uint16_t port = mmds_next_port++;
	uint32_t seq = (uint32_t)port << 16, rcv = 0;
	size_t got = 0, dlen;
	const uint8_t *tcp;
	int status = 0;
	const char *p;

	if (n == NULL)
		return -1;
	if (mmds_arp(n, deadline) != 0) {
		rt_printf("vio: mmds error=arp\n");
		return -1;
	}
	if (mmds_send(n, port, seq, 0, TCP_F_SYN, "", 0) != 0 ||
	    mmds_segment(n, port, deadline, &tcp, &dlen) != 0 ||
	    tcp[13] != (TCP_F_SYN | TCP_F_ACK) || get_be32(tcp + 8) != seq + 1) {
		rt_printf("vio: mmds error=handshake\n");
		return -1;
	}
	seq++;
	rcv = get_be32(tcp + 4) + 1;
	if (mmds_send(n, port, seq, rcv, TCP_F_ACK | TCP_F_PSH, req, strlen(req)) != 0) {
		rt_printf("vio: mmds error=send\n");
		return -1;
	}
	seq += (uint32_t)strlen(req);
	for (;;) {
		if (mmds_segment(n, port, deadline, &tcp, &dlen) != 0) {
			rt_printf("vio: mmds error=timeout got=%lu\n", (unsigned long)got);
			return -1;
		}
		if (tcp[13] & TCP_F_RST) {
			rt_printf("vio: mmds error=reset\n");
			return -1;
		}
		if (get_be32(tcp + 4) != rcv) {
			mmds_send(n, port, seq, rcv, TCP_F_ACK, "",
				  0); /* out of order: ask again */
			continue;
		}
		if (dlen > 0 && got + dlen <= MMDS_RESP_MAX) {
			memcpy(mmds_resp + got, tcp + (tcp[12] >> 4) * 4, dlen);
			got += dlen;
		}
		rcv += (uint32_t)dlen;
		if (tcp[13] & TCP_F_FIN) {
			rcv++;
			mmds_send(n, port, seq, rcv, TCP_F_ACK | TCP_F_FIN, "", 0);
			break;
		}
		if (dlen > 0)
			mmds_send(n, port, seq, rcv, TCP_F_ACK, "", 0);
	}
	mmds_resp[got] = '\0';
	if (got < 12 || strncmp(mmds_resp, "HTTP/1.", 7) != 0) {
		rt_printf("vio: mmds error=bad-response\n");
		return -1;
	}
	for (p = mmds_resp + 9; *p >= '0' && *p <= '9'; p++)
		status = status * 10 + (*p - '0');
	return status;
}

/* mmds_body: the response's body, its newlines as '|' so that it prints on one line. */
static char *mmds_body(void)
{
	char *b = mmds_resp;

	while (*b != '\0' && strncmp(b, "\r\n\r\n", 4) != 0)
		b++;
	b += *b != '\0' ? 4 : 0;
	for (char *c = b; *c != '\0'; c++)
		if (*c == '\n' || *c == '\r')
			*c = '|';
	return b;
}

static char mmds_req[1024];

/* do_mmds_get: mmds-get=<path>[,json] and mmds-get-token=<path> (with_token). */
static void do_mmds_get(const char *arg, int with_token)
{
	size_t len = strlen(arg);
	int json = len > 5 && strcmp(arg + len - 5, ",json") == 0;
	size_t plen = json ? len - 5 : len;
	int status;

	if (plen == 0 || plen > 512) {
		rt_printf("vio: mmds bad path %s\n", arg);
		return;
	}
	memcpy(mmds_req, "GET ", 4);
	memcpy(mmds_req + 4, arg, plen);
	mmds_req[4 + plen] = '\0';
	len = strlen(mmds_req);
	const char *tail = " HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n";
	memcpy(mmds_req + len, tail, strlen(tail) + 1);
	len = strlen(mmds_req);
	if (json) {
		const char *h = "Accept: application/json\r\n";
		memcpy(mmds_req + len, h, strlen(h) + 1);
		len = strlen(mmds_req);
	}
	if (with_token) {
		const char *h = "X-metadata-token: ";
		memcpy(mmds_req + len, h, strlen(h));
		len += strlen(h);
		memcpy(mmds_req + len, mmds_token, strlen(mmds_token));
		len += strlen(mmds_token);
		memcpy(mmds_req + len, "\r\n", 3);
		len += 2;
	}
	memcpy(mmds_req + len, "\r\n", 3);
	status = mmds_http(mmds_req);
	if (status >= 0)
		rt_printf("vio: mmds status=%d body=%s\n", status, mmds_body());
}

/* do_mmds_token: mmds-token=<ttl>. */
static void do_mmds_token(const char *arg)
{
	const char *head = "PUT /latest/api/token HTTP/1.1\r\nConnection: close\r\n"
			   "X-metadata-token-ttl-seconds: ";
	size_t len = strlen(head), alen = rt_strnlen(arg, 16);
	int status;

	memcpy(mmds_req, head, len);
	memcpy(mmds_req + len, arg, alen);
	memcpy(mmds_req + len + alen, "\r\n\r\n", 5);
	status = mmds_http(mmds_req);
	if (status < 0)
		return;
	const char *b = mmds_body();
	size_t blen = rt_strnlen(b, MMDS_TOKEN_MAX - 1);
	memcpy(mmds_token, b, blen);
	mmds_token[blen] = '\0';
	rt_printf("vio: mmds token status=%d len=%lu\n", status, (unsigned long)blen);
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

/* --- many vsock streams at once ---------------------------------------- */

#define MULTI_TIMEOUT_US 20000000ULL /* bound on vsock-multi / vsock-echo */
#define MULTI_POLL_US	 200	     /* wait for packets between passes */
#define MULTI_MAX_BYTES	 (1u << 20)
#define PATTERN_LEN	 16381 /* prime: no stream's window repeats another's */
#define PATTERN_STRIDE	 127   /* stream s starts s * 127 bytes into the pattern */
#define PATTERN_SEED	 0x9e3779b97f4a7c15ULL

/*
 * What guest-initiated stream s sends: byte k is pattern[(s * PATTERN_STRIDE
 * + k) % PATTERN_LEN], so streams differ from their first byte on (s * 127
 * < PATTERN_LEN for every s < RT_VSOCK_MAX_CONNS). The pattern is made once
 * (xorshift64) and extended by RT_VSOCK_BUF bytes, so any packet's worth of
 * a stream is one contiguous slice: the guest, whose every instruction may
 * go through KVM's emulator here, does no per-byte work per stream.
 * tests/integration/vsock_many.py makes the same bytes.
 */
static uint8_t pattern[PATTERN_LEN + RT_VSOCK_BUF];
static int pattern_made;

static const uint8_t *stream_bytes(unsigned int s, uint32_t k)
{
	if (!pattern_made) {
		uint64_t x = PATTERN_SEED;

		for (uint32_t i = 0; i < PATTERN_LEN; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			pattern[i] = (uint8_t)(x >> 24);
		}
		memcpy(pattern + PATTERN_LEN, pattern, RT_VSOCK_BUF);
		pattern_made = 1;
	}
	return pattern + ((uint64_t)s * PATTERN_STRIDE + k) % PATTERN_LEN;
}

/* differs: (n) bytes at (a) and (b) are not the same (8 at a time). */
static int differs(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y;
	uint32_t i = 0;

	for (; i + sizeof(x) <= n; i += sizeof(x)) {
		__builtin_memcpy(&x, a + i, sizeof(x));
		__builtin_memcpy(&y, b + i, sizeof(y));
		if (x != y)
			return 1;
	}
	for (; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

/* parse_list: up to (n) comma-separated numbers of (arg) into (out); how many. */
static unsigned int parse_list(const char *arg, uint64_t *out, unsigned int n)
{
	char num[24];
	unsigned int got = 0;

	while (got < n && *arg != '\0') {
		size_t len = 0;

		while (arg[len] != '\0' && arg[len] != ',' && len < sizeof(num) - 1) {
			num[len] = arg[len];
			len++;
		}
		num[len] = '\0';
		if (rt_parse_u64(num, &out[got]) != 0)
			return 0;
		got++;
		arg += len;
		if (*arg == ',')
			arg++;
	}
	return *arg == '\0' ? got : 0;
}

static uint64_t elapsed_us(uint64_t start)
{
	return (rt_tsc() - start) / rt_tsc_per_us();
}

/*
 * vsock-hold=<port>,<n>,<ms>: open n streams to host port <port> at once,
 * wait until each is answered (accepted or refused), then hold the open ones
 * for <ms> ms with the device running. For the host's limit on the host
 * sockets a guest may make it hold.
 */
static void do_vsock_hold(const char *arg)
{
	static int ids[RT_VSOCK_MAX_CONNS];
	unsigned int open = 0, refused = 0, i;
	uint64_t a[3], start = rt_tsc();
	struct rt_vsock *v;

	if (parse_list(arg, a, 3) != 3 || a[0] > 0xffffffffULL || a[1] == 0 ||
	    a[1] > RT_VSOCK_MAX_CONNS || a[2] > MULTI_TIMEOUT_US / 1000) {
		rt_printf("vio: vsock bad hold %s\n", arg);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	for (i = 0; i < a[1]; i++) {
		ids[i] = rt_vsock_open(v, (uint32_t)a[0]);
		if (ids[i] < 0) {
			rt_printf("vio: vsock hold open %u error=%d\n", i, ids[i]);
			return;
		}
	}
	while (open + refused < a[1] && elapsed_us(start) < MULTI_TIMEOUT_US) {
		(void)rt_vsock_poll(v, MULTI_POLL_US);
		open = refused = 0;
		for (i = 0; i < a[1]; i++) {
			int st = rt_vsock_state(v, ids[i]);
			open += st == RT_VSOCK_OPEN;
			refused += st == RT_VSOCK_EREFUSED || st == RT_VSOCK_RESET;
		}
	}
	rt_printf("vio: vsock hold open=%u refused=%u\n", open, refused);
	start = rt_tsc();
	while (elapsed_us(start) < a[2] * 1000)
		(void)rt_vsock_poll(v, MULTI_POLL_US);
	rt_printf("vio: vsock hold done\n");
}

/* vsock-events: wait for a transport reset (a restore), then report. */
static void do_vsock_events(void)
{
	struct rt_vsock *v = vsock_dev();
	uint64_t deadline = rt_tsc() + VSOCK_TIMEOUT_US * rt_tsc_per_us();

	if (v == NULL)
		return;
	while (v->resets == 0 && rt_tsc() < deadline && rt_vsock_events(v) >= 0)
		rt_delay_us(VSOCK_EVENT_POLL_US);
	rt_printf("vio: vsock resets=%u cid=%lu state=%d\n", v->resets, v->guest_cid,
		  v->cur >= 0 ? rt_vsock_state(v, v->cur) : 0);
}

/* vsock-reset: the driver resets the device whatever it has open (an unbind). */
static void do_vsock_reset(void)
{
	if (vsock_dev() == NULL)
		return;
	rt_virtio_reset(vsock.dev);
	vsock_up = 0;
	rt_printf("vio: vsock reset status=0x%x\n", rt_virtio_status(vsock.dev));
}

/*
 * vsock-stream=<port>,<bytes>: one guest-initiated stream to host port
 * <port>. Send <bytes> (0: none) of stream_bytes(0) and read whatever the
 * host sends, which must be stream_bytes(0) from its first byte too (an
 * echo of ours, or a host source); until the host ends the stream (end=reset
 * or end=peer-done), refuses it (end=refused), everything sent came back
 * (end=done), or MULTI_TIMEOUT_US passed (end=timeout):
 *   vio: vsock stream port=<p> sent=<n> got=<n> bad=<0|1> end=<how>
 */
static void do_vsock_stream(const char *arg)
{
	uint64_t a[2], sent = 0, got = 0, start = rt_tsc();
	const char *end = "timeout";
	struct rt_vsock *v;
	int id, bad = 0;

	if (parse_list(arg, a, 2) != 2 || a[0] > 0xffffffffULL) {
		rt_printf("vio: vsock bad stream %s (want <port>,<bytes>)\n", arg);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	id = rt_vsock_open(v, (uint32_t)a[0]);
	if (id < 0) {
		rt_printf("vio: vsock stream open error=%d\n", id);
		return;
	}
	while (elapsed_us(start) < MULTI_TIMEOUT_US) {
		int ret = rt_vsock_poll(v, MULTI_POLL_US), st;
		int64_t n;

		if (ret < 0 && ret != RT_VIRTIO_ETIMEDOUT) {
			rt_printf("vio: vsock stream poll error=%d\n", ret);
			end = "error";
			break;
		}
		st = rt_vsock_state(v, id);
		if (st == RT_VSOCK_CONNECTING)
			continue;
		while (st == RT_VSOCK_OPEN && sent < a[1]) {
			uint64_t chunk = a[1] - sent;

			if (chunk > RT_VSOCK_BUF)
				chunk = RT_VSOCK_BUF;
			n = rt_vsock_write(v, id, stream_bytes(0, (uint32_t)(sent % PATTERN_LEN)),
					   (size_t)chunk);
			if (n <= 0)
				break;
			sent += (uint64_t)n;
		}
		while ((n = rt_vsock_read(v, id, vsock_buf, sizeof(vsock_buf))) > 0) {
			bad |= differs(vsock_buf, stream_bytes(0, (uint32_t)(got % PATTERN_LEN)),
				       (uint32_t)n);
			got += (uint64_t)n;
		}
		if (st == RT_VSOCK_EREFUSED) {
			end = "refused";
			break;
		}
		if (st == RT_VSOCK_RESET) {
			end = "reset";
			break;
		}
		if (st == RT_VSOCK_PEER_DONE) {
			end = "peer-done";
			break;
		}
		if (a[1] > 0 && sent >= a[1] && got >= a[1]) {
			end = "done";
			break;
		}
	}
	rt_printf("vio: vsock stream port=%lu sent=%lu got=%lu bad=%d end=%s\n", a[0], sent, got,
		  bad, end);
	rt_vsock_release(v, id);
}

/*
 * vsock-multi=<port>,<n>,<bytes>: open n streams to host port <port> at
 * once, send <bytes> on each (stream_bytes), read them back from the host's
 * echo and check every byte, then shut each down and wait for its RST.
 *   vio: vsock multi port=<p> streams=<n> connected=<n> verified=<n> closed=<n> bytes=<sum>
 */
static void do_vsock_multi(const char *arg)
{
	static int ids[RT_VSOCK_MAX_CONNS];
	static uint32_t sent[RT_VSOCK_MAX_CONNS], got[RT_VSOCK_MAX_CONNS];
	static uint8_t up[RT_VSOCK_MAX_CONNS], bad[RT_VSOCK_MAX_CONNS], shut[RT_VSOCK_MAX_CONNS],
	    done[RT_VSOCK_MAX_CONNS];
	unsigned int connected = 0, verified = 0, closed = 0, finished = 0, i;
	uint64_t a[3], start = rt_tsc(), total = 0;
	struct rt_vsock *v;

	if (parse_list(arg, a, 3) != 3 || a[0] > 0xffffffffULL || a[1] == 0 ||
	    a[1] > RT_VSOCK_MAX_CONNS || a[2] == 0 || a[2] > MULTI_MAX_BYTES) {
		rt_printf("vio: vsock bad multi %s (want <port>,<1..%u>,<1..%u>)\n", arg,
			  RT_VSOCK_MAX_CONNS, MULTI_MAX_BYTES);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	for (i = 0; i < a[1]; i++) {
		ids[i] = rt_vsock_open(v, (uint32_t)a[0]);
		sent[i] = got[i] = 0;
		up[i] = bad[i] = shut[i] = done[i] = 0;
		if (ids[i] < 0) {
			rt_printf("vio: vsock multi open %u error=%d\n", i, ids[i]);
			return;
		}
	}
	while (finished < a[1] && elapsed_us(start) < MULTI_TIMEOUT_US) {
		int ret = rt_vsock_poll(v, MULTI_POLL_US);

		if (ret < 0 && ret != RT_VIRTIO_ETIMEDOUT) {
			rt_printf("vio: vsock multi poll error=%d\n", ret);
			break;
		}
		for (i = 0; i < a[1]; i++) {
			int st = rt_vsock_state(v, ids[i]);
			int64_t n;

			if (done[i] || st == RT_VSOCK_CONNECTING)
				continue;
			if (!up[i] && st == RT_VSOCK_OPEN) {
				up[i] = 1;
				connected++;
			}
			while (st == RT_VSOCK_OPEN && sent[i] < a[2]) {
				uint32_t chunk = (uint32_t)a[2] - sent[i];

				if (chunk > RT_VSOCK_BUF)
					chunk = RT_VSOCK_BUF;
				n = rt_vsock_write(v, ids[i], stream_bytes(i, sent[i]), chunk);
				if (n <= 0)
					break;
				sent[i] += (uint32_t)n;
			}
			while ((n = rt_vsock_read(v, ids[i], vsock_buf, sizeof(vsock_buf))) > 0) {
				bad[i] |= got[i] + (uint64_t)n > a[2] ||
					  differs(vsock_buf, stream_bytes(i, got[i]), (uint32_t)n);
				got[i] += (uint32_t)n;
				total += (uint64_t)n;
			}
			if (got[i] >= a[2] && !shut[i] && st == RT_VSOCK_OPEN) {
				verified += got[i] == a[2] && !bad[i];
				rt_vsock_shutdown(v, ids[i]);
				shut[i] = 1;
			}
			if (st != RT_VSOCK_OPEN && st != RT_VSOCK_PEER_DONE) {
				/* RST: the answer to our SHUTDOWN, or a failure */
				closed += shut[i];
				done[i] = 1;
				finished++;
				rt_vsock_release(v, ids[i]);
			}
		}
	}
	rt_printf("vio: vsock multi port=%lu streams=%lu connected=%u verified=%u closed=%u "
		  "bytes=%lu\n",
		  a[0], a[1], connected, verified, closed, total);
	for (i = 0; i < a[1]; i++)
		if (!done[i])
			rt_vsock_release(v, ids[i]);
}

/*
 * vsock-echo=<port>,<n>: listen on <port>, echo every byte of each stream
 * the host opens (CONNECT <port>) back to it, and when the host has shut its
 * side and everything is echoed, shut down too; stop after n streams ended.
 *   vio: vsock listening port=<p>       (the host may connect from here on)
 *   vio: vsock echo port=<p> accepted=<n> closed=<n> bytes=<echoed>
 */
static void do_vsock_echo(const char *arg)
{
	static int ids[RT_VSOCK_MAX_CONNS];
	static uint8_t shut[RT_VSOCK_MAX_CONNS];
	unsigned int accepted = 0, closed = 0, i;
	uint64_t a[2], start = rt_tsc(), total = 0;
	struct rt_vsock *v;

	if (parse_list(arg, a, 2) != 2 || a[0] > 0xffffffffULL || a[1] == 0 ||
	    a[1] > RT_VSOCK_MAX_CONNS) {
		rt_printf("vio: vsock bad echo %s (want <port>,<1..%u>)\n", arg,
			  RT_VSOCK_MAX_CONNS);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	rt_vsock_listen(v, (uint32_t)a[0]);
	rt_printf("vio: vsock listening port=%lu\n", a[0]);
	while (closed < a[1] && elapsed_us(start) < MULTI_TIMEOUT_US) {
		int ret = rt_vsock_poll(v, MULTI_POLL_US), id;

		if (ret < 0 && ret != RT_VIRTIO_ETIMEDOUT) {
			rt_printf("vio: vsock echo poll error=%d\n", ret);
			break;
		}
		while (accepted < RT_VSOCK_MAX_CONNS && (id = rt_vsock_accept(v)) >= 0) {
			ids[accepted] = id;
			shut[accepted++] = 0;
		}
		for (i = 0; i < accepted; i++) {
			int st;

			if (ids[i] < 0)
				continue;
			for (;;) {
				uint32_t m = rt_vsock_pending(v, ids[i]);
				uint32_t c = rt_vsock_credit(v, ids[i]);
				int64_t n;

				if (m > c)
					m = c;
				if (m > sizeof(vsock_buf))
					m = sizeof(vsock_buf);
				if (m == 0)
					break;
				n = rt_vsock_read(v, ids[i], vsock_buf, m);
				if (n <= 0 || rt_vsock_write(v, ids[i], vsock_buf, (size_t)n) != n)
					break;
				total += (uint64_t)n;
			}
			st = rt_vsock_state(v, ids[i]);
			if (st == RT_VSOCK_PEER_DONE && !shut[i]) {
				rt_vsock_shutdown(v, ids[i]);
				shut[i] = 1;
			} else if (st == RT_VSOCK_RESET) {
				closed++;
				rt_vsock_release(v, ids[i]);
				ids[i] = -1;
			}
		}
	}
	rt_printf("vio: vsock echo port=%lu accepted=%u closed=%u bytes=%lu\n", a[0], accepted,
		  closed, total);
	for (i = 0; i < accepted; i++)
		if (ids[i] >= 0)
			rt_vsock_release(v, ids[i]);
}

#define SERVE_MAX_MS	 (7ULL * 24 * 3600 * 1000) /* vsock-serve, idle: a week at most */
#define DIAL_STEP_US	 2000000ULL		   /* bound on each step of one dial */
#define DIAL_MAX_FAILS	 10			   /* consecutive failed dials: give up */

/*
 * vsock-serve=<port>,<ms>: as vsock-echo, for any number of host-initiated
 * streams (each stream's slot is reused once it ended) until <ms> ms have
 * passed: a long-lived guest for a host that opens and closes streams for as
 * long as it likes (tests/soak).
 *   vio: vsock serving port=<p>          (the host may connect from here on)
 *   vio: vsock serve port=<p> accepted=<n> closed=<n> bytes=<echoed>
 */
static void do_vsock_serve(const char *arg)
{
	static uint8_t live[RT_VSOCK_MAX_CONNS], shut[RT_VSOCK_MAX_CONNS];
	uint64_t a[2], start = rt_tsc(), total = 0, accepted = 0, closed = 0;
	struct rt_vsock *v;
	int id, i;

	if (parse_list(arg, a, 2) != 2 || a[0] > 0xffffffffULL || a[1] > SERVE_MAX_MS) {
		rt_printf("vio: vsock bad serve %s (want <port>,<ms>)\n", arg);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	rt_vsock_listen(v, (uint32_t)a[0]);
	rt_printf("vio: vsock serving port=%lu\n", a[0]);
	while (elapsed_us(start) < a[1] * 1000) {
		int ret = rt_vsock_poll(v, MULTI_POLL_US);

		if (ret < 0 && ret != RT_VIRTIO_ETIMEDOUT) {
			rt_printf("vio: vsock serve poll error=%d\n", ret);
			break;
		}
		while ((id = rt_vsock_accept(v)) >= 0) {
			live[id] = 1;
			shut[id] = 0;
			accepted++;
		}
		for (i = 0; i < RT_VSOCK_MAX_CONNS; i++) {
			int st;

			if (!live[i])
				continue;
			for (;;) {
				uint32_t m = rt_vsock_pending(v, i);
				uint32_t c = rt_vsock_credit(v, i);
				int64_t n;

				if (m > c)
					m = c;
				if (m > sizeof(vsock_buf))
					m = sizeof(vsock_buf);
				if (m == 0)
					break;
				n = rt_vsock_read(v, i, vsock_buf, m);
				if (n <= 0 || rt_vsock_write(v, i, vsock_buf, (size_t)n) != n)
					break;
				total += (uint64_t)n;
			}
			st = rt_vsock_state(v, i);
			if (st == RT_VSOCK_PEER_DONE && !shut[i]) {
				rt_vsock_shutdown(v, i);
				shut[i] = 1;
			} else if (st == RT_VSOCK_RESET || st < 0) {
				closed++;
				rt_vsock_release(v, i);
				live[i] = 0;
			}
		}
	}
	rt_printf("vio: vsock serve port=%lu accepted=%lu closed=%lu bytes=%lu\n", a[0], accepted,
		  closed, total);
	for (i = 0; i < RT_VSOCK_MAX_CONNS; i++)
		if (live[i])
			rt_vsock_release(v, i);
}

/* dial_wait: poll (v) until stream (id) is no longer connecting or DIAL_STEP_US pass. */
static int dial_wait(struct rt_vsock *v, int id)
{
	uint64_t start = rt_tsc();
	int st;

	while ((st = rt_vsock_state(v, id)) == RT_VSOCK_CONNECTING &&
	       elapsed_us(start) < DIAL_STEP_US)
		(void)rt_vsock_poll(v, MULTI_POLL_US);
	return st;
}

/*
 * dial_one: one guest-initiated stream (s) to (port) carrying (bytes) of
 * stream_bytes(s % RT_VSOCK_MAX_CONNS) both ways. Returns 0 when the echo was
 * right and the host answered our SHUTDOWN with its RST, 1 when the host
 * refused the stream, -1 when anything else went wrong. (*connected) and
 * (*verified) say how far it got.
 */
static int dial_one(struct rt_vsock *v, uint32_t port, uint64_t s, uint32_t bytes,
		    int *connected, int *verified)
{
	const uint8_t *want = stream_bytes((unsigned int)(s % RT_VSOCK_MAX_CONNS), 0);
	uint32_t sent = 0, got = 0;
	uint64_t start;
	int id = rt_vsock_open(v, port), st, bad = 0;

	*connected = *verified = 0;
	if (id < 0)
		return -1;
	st = dial_wait(v, id);
	if (st != RT_VSOCK_OPEN) {
		rt_vsock_release(v, id);
		return st == RT_VSOCK_EREFUSED ? 1 : -1;
	}
	*connected = 1;
	start = rt_tsc();
	while (got < bytes && elapsed_us(start) < DIAL_STEP_US) {
		int64_t n;

		while (sent < bytes) {
			n = rt_vsock_write(v, id, want + sent, bytes - sent);
			if (n <= 0)
				break;
			sent += (uint32_t)n;
		}
		while (got < bytes &&
		       (n = rt_vsock_read(v, id, vsock_buf, sizeof(vsock_buf))) > 0) {
			bad |= got + (uint64_t)n > bytes || differs(vsock_buf, want + got, (uint32_t)n);
			got += (uint32_t)n;
		}
		if (got >= bytes || rt_vsock_state(v, id) != RT_VSOCK_OPEN)
			break;
		(void)rt_vsock_poll(v, MULTI_POLL_US);
	}
	*verified = got == bytes && !bad;
	rt_vsock_shutdown(v, id);
	start = rt_tsc();
	while (((st = rt_vsock_state(v, id)) == RT_VSOCK_OPEN || st == RT_VSOCK_PEER_DONE) &&
	       elapsed_us(start) < DIAL_STEP_US)
		(void)rt_vsock_poll(v, MULTI_POLL_US);
	rt_vsock_release(v, id);
	return *verified && st == RT_VSOCK_RESET ? 0 : -1;
}

/*
 * vsock-dial=<port>,<n>,<bytes>: n guest-initiated streams to host port
 * <port>, one after another (dial_one), against a host echo server at
 * UDS_PATH_<port>; gives up after DIAL_MAX_FAILS failures in a row.
 *   vio: vsock dial port=<p> n=<n> connected=<n> verified=<n> closed=<n> refused=<n> failed=<n>
 */
static void do_vsock_dial(const char *arg)
{
	uint64_t a[3], s, connected = 0, verified = 0, closed = 0, refused = 0, failed = 0;
	unsigned int fails_in_row = 0;
	struct rt_vsock *v;

	if (parse_list(arg, a, 3) != 3 || a[0] > 0xffffffffULL || a[1] == 0 || a[2] == 0 ||
	    a[2] > RT_VSOCK_CONN_BUF) {
		rt_printf("vio: vsock bad dial %s (want <port>,<n>,<1..%u>)\n", arg,
			  RT_VSOCK_CONN_BUF);
		return;
	}
	v = vsock_dev();
	if (v == NULL)
		return;
	for (s = 0; s < a[1] && fails_in_row < DIAL_MAX_FAILS; s++) {
		int c, ok, ret = dial_one(v, (uint32_t)a[0], s, (uint32_t)a[2], &c, &ok);

		connected += (uint64_t)c;
		verified += (uint64_t)ok;
		closed += ret == 0;
		refused += ret == 1;
		failed += ret < 0;
		fails_in_row = ret == 0 ? 0 : fails_in_row + 1;
	}
	rt_printf("vio: vsock dial port=%lu n=%lu connected=%lu verified=%lu closed=%lu "
		  "refused=%lu failed=%lu\n",
		  a[0], s, connected, verified, closed, refused, failed);
}

/* idle=<ms>: the vCPU halts between local APIC timer interrupts for <ms> ms. */
static void do_idle(const char *arg)
{
	uint64_t ms, start = rt_tsc(), spent;

	if (rt_parse_u64(arg, &ms) != 0 || ms > SERVE_MAX_MS) {
		rt_printf("vio: bad idle %s (want <ms>)\n", arg);
		return;
	}
	rt_printf("vio: idle ms=%lu\n", ms);
	while ((spent = elapsed_us(start)) < ms * 1000) {
		uint64_t left = ms * 1000 - spent;

		rt_irq_wait_us(left < 1000000 ? left : 1000000);
	}
	rt_printf("vio: idle done\n");
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

/* --- hostile queue layouts, sizes and overruns ----------------------- */

/*
 * hostile=<attack> against the device chosen by target=<blk|net|vsock|rng>
 * (default blk, else rng). The guest sets the device up itself, with no
 * features, attacks one queue (blk, rng: queue 0; net, vsock: the transmit
 * queue 1, which completes without outside traffic), sets DRIVER_OK and
 * submits one well-formed request on that queue. Then it resets the device,
 * sets it up plainly and submits the request again, to show the device
 * recovered. Lines:
 *   vio: hostile <dev> <attack> ready=<QueueReady read back> status=0x<Status>
 *        result=<completed|needs-reset|timeout|error>  (error: also error=<n>)
 *   vio: hostile <dev> <attack> recovered=<1|0> status=0x<Status>
 */
enum hq {
	HQ_USED_END,	 /* used ring ends past the end of RAM */
	HQ_USED_GAP,	 /* used ring across the start of the MMIO gap */
	HQ_USED_GAP_END, /* used ring across the end of the MMIO gap (4 GiB) */
	HQ_USED_MMIO,	 /* used ring over the device's own registers */
	HQ_USED_DESC,	 /* used ring over the descriptor table */
	HQ_USED_AVAIL,	 /* used ring over the available ring */
	HQ_NUM_BIG,	 /* QueueNum twice QueueNumMax */
	HQ_NUM_ZERO,	 /* QueueNum 0 */
	HQ_NUM_ODD,	 /* QueueNum not a power of two */
	HQ_RESIZE_READY, /* QueueNum and ring addresses rewritten after QueueReady = 1 */
	HQ_RESIZE_LIVE,	 /* the same after DRIVER_OK, and QueueReady = 0 */
	HQ_OVERRUN,	 /* avail->idx queue size + 1 ahead: more buffers than descriptors */
};

static const struct {
	const char *name;
	enum hq kind;
} hostile_attacks[] = {
    {"used-end", HQ_USED_END},	       {"used-gap", HQ_USED_GAP},
    {"used-gap-end", HQ_USED_GAP_END}, {"used-mmio", HQ_USED_MMIO},
    {"used-desc", HQ_USED_DESC},       {"used-avail", HQ_USED_AVAIL},
    {"num-big", HQ_NUM_BIG},	       {"num-zero", HQ_NUM_ZERO},
    {"num-odd", HQ_NUM_ODD},	       {"resize-ready", HQ_RESIZE_READY},
    {"resize-live", HQ_RESIZE_LIVE},   {"overrun", HQ_OVERRUN},
};

/* virtio-mmio registers the attacks write directly (virtio 1.2, 4.2.2). */
#define MMIO_QUEUE_SEL	      0x030
#define MMIO_QUEUE_NUM_MAX    0x034
#define MMIO_QUEUE_NUM	      0x038
#define MMIO_QUEUE_READY      0x044
#define MMIO_QUEUE_DESC_LO    0x080
#define MMIO_QUEUE_DRIVER_LO  0x090
#define MMIO_QUEUE_DEVICE_LO  0x0a0
#define MMIO_HIGH_HALF	      4 /* each *_LO register's high half follows it */
#define MMIO_GAP_START	      0xc0000000ULL
#define MMIO_GAP_END	      0x100000000ULL
#define HOSTILE_STRADDLE      8 /* bytes of a ring left on the near side of an edge */
#define VSOCK_PROBE_PORT      1
#define VSOCK_OP_RST	      3
#define VSOCK_TYPE_STREAM     1
#define NET_PROBE_FRAME	      60

static uint32_t target_id; /* 0: blk when present, else rng */

static const char *dev_name(uint32_t id)
{
	switch (id) {
	case VIRTIO_ID_BLK:
		return "blk";
	case VIRTIO_ID_NET:
		return "net";
	case VIRTIO_ID_VSOCK:
		return "vsock";
	default:
		return "rng";
	}
}

static void do_target(const char *arg)
{
	static const uint32_t ids[] = {VIRTIO_ID_BLK, VIRTIO_ID_NET, VIRTIO_ID_VSOCK,
				       VIRTIO_ID_RNG};
	unsigned int i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcmp(arg, dev_name(ids[i])) == 0) {
			target_id = ids[i];
			rt_printf("vio: target %s\n", arg);
			return;
		}
	rt_printf("vio: bad target %s (blk, net, vsock, rng)\n", arg);
}

static void reg_wr(const struct rt_virtio_dev *d, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(d->base + reg) = v;
}

static uint32_t reg_rd(const struct rt_virtio_dev *d, unsigned int reg)
{
	return *(volatile uint32_t *)(uintptr_t)(d->base + reg);
}

static void reg_wr64(const struct rt_virtio_dev *d, unsigned int reg, uint64_t v)
{
	reg_wr(d, reg, (uint32_t)v);
	reg_wr(d, reg + MMIO_HIGH_HALF, (uint32_t)(v >> 32));
}

/* Queues the device has, and the one the attacks aim at. */
static unsigned int dev_queues(uint32_t id)
{
	return id == VIRTIO_ID_VSOCK ? 3 : id == VIRTIO_ID_NET ? 2 : 1;
}

static unsigned int attacked_queue(uint32_t id)
{
	return id == VIRTIO_ID_VSOCK || id == VIRTIO_ID_NET ? 1 : 0;
}

/* plain_setup: reset, no features, every queue, and unless (!ready) DRIVER_OK. */
static int plain_setup(struct rt_virtio_dev *d, int ready)
{
	unsigned int i;
	int ret = rt_virtio_begin(d, 0);

	for (i = 0; ret == 0 && i < dev_queues(d->device_id); i++)
		ret = rt_virtio_queue(d, i);
	if (ret == 0 && ready)
		rt_virtio_ready(d);
	return ret;
}

/* The one request each device serves on its attacked queue without outside help. */
static struct {
	struct {
		uint32_t type, reserved;
		uint64_t sector;
	} blk_hdr __attribute__((aligned(16)));
	uint8_t blk_status;
	uint8_t net_hdr[VIRTIO_NET_HDR_SIZE];
	struct {
		uint64_t src_cid, dst_cid;
		uint32_t src_port, dst_port, len;
		uint16_t type, op;
		uint32_t flags, buf_alloc, fwd_cnt;
	} __attribute__((packed)) vsock_hdr;
} probe __attribute__((aligned(64)));

static unsigned int probe_bufs(struct rt_virtio_dev *d, struct rt_vbuf b[3])
{
	switch (d->device_id) {
	case VIRTIO_ID_BLK:
		probe.blk_hdr.type = VIRTIO_BLK_T_IN;
		probe.blk_hdr.reserved = 0;
		probe.blk_hdr.sector = 0;
		probe.blk_status = 0xff;
		b[0] = (struct rt_vbuf){&probe.blk_hdr, sizeof(probe.blk_hdr), 0};
		b[1] = (struct rt_vbuf){sector_buf, VIRTIO_BLK_SECTOR, 1};
		b[2] = (struct rt_vbuf){&probe.blk_status, 1, 1};
		return 3;
	case VIRTIO_ID_NET:
		memset(probe.net_hdr, 0, sizeof(probe.net_hdr));
		memset(frame, 0xff, NET_PROBE_FRAME);
		put_be16(frame + 12, ETH_P_TEST);
		b[0] = (struct rt_vbuf){probe.net_hdr, sizeof(probe.net_hdr), 0};
		b[1] = (struct rt_vbuf){frame, NET_PROBE_FRAME, 0};
		return 2;
	case VIRTIO_ID_VSOCK:
		/* An RST for no connection: consumed without an answer. */
		memset(&probe.vsock_hdr, 0, sizeof(probe.vsock_hdr));
		probe.vsock_hdr.src_cid = rt_virtio_config(d, 0, 8);
		probe.vsock_hdr.dst_cid = VIRTIO_VSOCK_HOST_CID;
		probe.vsock_hdr.src_port = VSOCK_PROBE_PORT;
		probe.vsock_hdr.dst_port = VSOCK_PROBE_PORT;
		probe.vsock_hdr.type = VSOCK_TYPE_STREAM;
		probe.vsock_hdr.op = VSOCK_OP_RST;
		b[0] = (struct rt_vbuf){&probe.vsock_hdr, sizeof(probe.vsock_hdr), 0};
		return 1;
	default:
		b[0] = (struct rt_vbuf){rng_buf, 64, 1};
		return 1;
	}
}

/* probe_call: submit the probe on queue (qi) and wait for it. 0 (completed) or negative. */
static int probe_call(struct rt_virtio_dev *d, unsigned int qi)
{
	struct rt_vbuf b[3];
	unsigned int n = probe_bufs(d, b);
	int64_t ret = rt_virtq_call(&d->vq[qi], b, n, evil_timeout_ms * 1000);

	if (ret >= 0 && d->device_id == VIRTIO_ID_BLK &&
	    *(volatile uint8_t *)&probe.blk_status != VIRTIO_BLK_S_OK)
		return RT_VIRTIO_EDEVICE;
	return ret < 0 ? (int)ret : 0;
}

/* overrun: queue size + 1 copies of one well-formed chain, published at once. */
static int overrun(struct rt_virtio_dev *d, unsigned int qi)
{
	struct rt_virtqueue *q = &d->vq[qi];
	struct rt_vbuf b[3];
	unsigned int n = probe_bufs(d, b), k;
	uint16_t head = 0, i = 0;

	if (q->num_free < n)
		return RT_VIRTIO_ENOSPC;
	for (k = 0; k < n; k++) {
		int di = rt_virtq_alloc(q);

		if (k == 0)
			head = (uint16_t)di;
		else
			q->desc[i].next = (uint16_t)di;
		i = (uint16_t)di;
		q->desc[i].addr = (uint64_t)(uintptr_t)b[k].addr;
		q->desc[i].len = b[k].len;
		q->desc[i].flags = (uint16_t)((b[k].writable ? VIRTQ_DESC_F_WRITE : 0) |
					      (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
	}
	for (k = 0; k <= q->size; k++)
		q->avail->ring[(q->avail_idx + k) & (q->size - 1)] = head;
	q->avail_idx = (uint16_t)(q->avail_idx + q->size + 1);
	__asm__ volatile("" ::: "memory");
	*(volatile uint16_t *)&q->avail->idx = q->avail_idx;
	__asm__ volatile("lock; addl $0, -4(%%rsp)" ::: "memory", "cc");
	rt_virtq_notify(q);
	return rt_virtq_wait(q, evil_timeout_ms * 1000);
}

static const char *result_name(int ret)
{
	if (ret == 0)
		return "completed";
	if (ret == RT_VIRTIO_EDEVICE)
		return "needs-reset";
	if (ret == RT_VIRTIO_ETIMEDOUT)
		return "timeout";
	return "error";
}

static void do_hostile(const struct boot_info *bi, const char *arg)
{
	uint32_t id = target_id;
	struct rt_virtio_dev *d;
	struct rt_virtqueue *q;
	unsigned int k, qi;
	enum hq kind = HQ_USED_END;
	uint64_t bad = ram_top(bi) - HOSTILE_STRADDLE;
	uint32_t max, ready, status;
	int found = 0, ret;

	for (k = 0; k < sizeof(hostile_attacks) / sizeof(hostile_attacks[0]); k++)
		if (strcmp(arg, hostile_attacks[k].name) == 0) {
			kind = hostile_attacks[k].kind;
			found = 1;
		}
	if (!found) {
		rt_printf("vio: hostile bad attack %s\n", arg);
		return;
	}
	if (id == 0)
		id = rt_virtio_find(VIRTIO_ID_BLK, 0) != NULL ? VIRTIO_ID_BLK : VIRTIO_ID_RNG;
	d = rt_virtio_find(id, 0);
	if (d == NULL) {
		rt_printf("vio: hostile %s none\n", dev_name(id));
		return;
	}
	/* The drivers' state for this device is gone after this word. */
	blk_up = id == VIRTIO_ID_BLK ? 0 : blk_up;
	net_up = id == VIRTIO_ID_NET ? 0 : net_up;
	vsock_up = id == VIRTIO_ID_VSOCK ? 0 : vsock_up;
	rng_up = id == VIRTIO_ID_RNG ? 0 : rng_up;
	qi = attacked_queue(id);
	q = &d->vq[qi];
	ret = plain_setup(d, 0);
	if (ret != 0) {
		rt_printf("vio: hostile %s %s setup error=%d\n", dev_name(id), arg, ret);
		return;
	}
	reg_wr(d, MMIO_QUEUE_SEL, qi);
	max = reg_rd(d, MMIO_QUEUE_NUM_MAX);
	if (kind <= HQ_NUM_ODD) /* layout attacks: redo the queue's setup, wrongly */
		reg_wr(d, MMIO_QUEUE_READY, 0);
	switch (kind) {
	case HQ_USED_END:
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, bad);
		break;
	case HQ_USED_GAP:
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, MMIO_GAP_START - HOSTILE_STRADDLE);
		break;
	case HQ_USED_GAP_END:
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, MMIO_GAP_END - HOSTILE_STRADDLE);
		break;
	case HQ_USED_MMIO:
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, d->base);
		break;
	case HQ_USED_DESC:
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, (uint64_t)(uintptr_t)q->desc);
		break;
	case HQ_USED_AVAIL:
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, (uint64_t)(uintptr_t)q->avail);
		break;
	case HQ_NUM_BIG:
		reg_wr(d, MMIO_QUEUE_NUM, 2 * max);
		break;
	case HQ_NUM_ZERO:
		reg_wr(d, MMIO_QUEUE_NUM, 0);
		break;
	case HQ_NUM_ODD:
		reg_wr(d, MMIO_QUEUE_NUM, q->size > 2 ? q->size - 1u : 3u);
		break;
	default:
		break;
	}
	if (kind <= HQ_NUM_ODD)
		reg_wr(d, MMIO_QUEUE_READY, 1);
	if (kind == HQ_RESIZE_READY || kind == HQ_RESIZE_LIVE) {
		if (kind == HQ_RESIZE_LIVE)
			rt_virtio_ready(d);
		reg_wr(d, MMIO_QUEUE_SEL, qi);
		reg_wr(d, MMIO_QUEUE_NUM, 2 * max);
		reg_wr64(d, MMIO_QUEUE_DESC_LO, bad);
		reg_wr64(d, MMIO_QUEUE_DRIVER_LO, bad);
		reg_wr64(d, MMIO_QUEUE_DEVICE_LO, bad);
		if (kind == HQ_RESIZE_LIVE)
			reg_wr(d, MMIO_QUEUE_READY, 0);
	}
	reg_wr(d, MMIO_QUEUE_SEL, qi);
	ready = reg_rd(d, MMIO_QUEUE_READY);
	if (kind != HQ_RESIZE_LIVE)
		rt_virtio_ready(d);
	ret = kind == HQ_OVERRUN ? overrun(d, qi) : probe_call(d, qi);
	status = rt_virtio_status(d);
	rt_printf("vio: hostile %s %s ready=%u status=0x%x result=%s\n", dev_name(id), arg, ready,
		  status, result_name(ret));
	if (ret != 0 && ret != RT_VIRTIO_EDEVICE && ret != RT_VIRTIO_ETIMEDOUT)
		rt_printf("vio: hostile %s %s error=%d\n", dev_name(id), arg, ret);
	/* The driver resets the device; set up plainly it serves again. */
	ret = plain_setup(d, 1);
	if (ret == 0)
		ret = probe_call(d, qi);
	rt_printf("vio: hostile %s %s recovered=%d status=0x%x\n", dev_name(id), arg, ret == 0,
		  rt_virtio_status(d));
	rt_virtio_reset(d);
}

#define IRQ_READ_TIMEOUT_US 2000000ULL

static struct {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} irq_read_hdr __attribute__((aligned(16)));
static uint8_t irq_read_status __attribute__((aligned(16)));

/*
 * blk-irq-read=<s>: one read whose completion the driver learns of from the
 * disk's interrupt. It asks for an interrupt at the next used entry, submits
 * and sleeps until the disk's handler has run, without looking at the used
 * ring first: rt_virtq_wait() would, and a fast device finishes before the
 * driver ever sleeps. Only then is the request collected (waiting on if the
 * interrupt did not come).
 */
static void do_blk_irq_read(const char *arg)
{
	struct rt_vbuf bufs[3];
	struct rt_virtio_dev *d;
	struct rt_virtqueue *q;
	struct rt_vblk *b;
	uint64_t s, start, spent;
	int head, ret, by_irq;

	if (rt_parse_u64(arg, &s) != 0) {
		rt_printf("vio: blk bad sector %s\n", arg);
		return;
	}
	if (!irq_word) {
		rt_printf("vio: blk irq-read needs irq\n");
		return;
	}
	b = blk_dev();
	if (b == NULL)
		return;
	d = b->dev;
	q = &d->vq[0];
	irq_read_hdr.type = VIRTIO_BLK_T_IN;
	irq_read_hdr.reserved = 0;
	irq_read_hdr.sector = s;
	irq_read_status = 0xff;
	memset(sector_buf, 0, sizeof(sector_buf));
	bufs[0] = (struct rt_vbuf){&irq_read_hdr, sizeof(irq_read_hdr), 0};
	bufs[1] = (struct rt_vbuf){sector_buf, sizeof(sector_buf), 1};
	bufs[2] = (struct rt_vbuf){&irq_read_status, 1, 1};
	d->isr = 0;
	if (d->event_idx)
		*(volatile uint16_t *)&q->avail->ring[q->size] = q->last_used;
	else
		*(volatile uint16_t *)&q->avail->flags = 0;
	head = rt_virtq_submit(q, bufs, 3);
	if (head < 0) {
		rt_printf("vio: blk irq-read sector=%lu error=%d\n", s, head);
		return;
	}
	start = rt_tsc();
	while (d->isr == 0 && (spent = elapsed_us(start)) < IRQ_READ_TIMEOUT_US)
		rt_irq_wait_us(IRQ_READ_TIMEOUT_US - spent);
	by_irq = d->isr != 0;
	ret = rt_virtq_wait(q, RT_VIRTIO_TIMEOUT_US);
	if (ret == 0)
		ret = rt_virtq_get(q, NULL);
	if (ret != head) {
		rt_printf("vio: blk irq-read sector=%lu error=%d by=%s\n", s, ret,
			  by_irq ? "irq" : "timeout");
		return;
	}
	if (*(volatile uint8_t *)&irq_read_status != VIRTIO_BLK_S_OK) {
		rt_printf("vio: blk irq-read sector=%lu status=%u by=%s\n", s,
			  (unsigned int)irq_read_status, by_irq ? "irq" : "timeout");
		return;
	}
	rt_printf("vio: blk irq-read sector=%lu crc=0x%08x by=%s\n", s,
		  crc32(sector_buf, sizeof(sector_buf)), by_irq ? "irq" : "timeout");
}

/* pic: interrupts through the 8259A pair from here on. */
static void do_pic(void)
{
	int ret = rt_irq_use_pic();

	if (ret == 0)
		rt_printf("vio: pic mode\n");
	else if (ret == RT_PIC_ENOWIRE)
		rt_printf("vio: pic no-virtual-wire\n");
	else
		rt_printf("vio: pic none\n");
}

/* irqs: how many interrupts each device's IRQ delivered so far. */
static void do_irqs(void)
{
	unsigned int i;

	for (i = 0; i < rt_virtio_count(); i++) {
		const struct rt_virtio_dev *d = rt_virtio_dev(i);

		rt_printf("vio: irqs dev=%u irq=%u count=%lu\n", i, d->irq,
			  (unsigned long)rt_irq_count(d->irq));
	}
	rt_printf("vio: irqs spurious irq7=%lu irq15=%lu\n", (unsigned long)rt_irq_pic_spurious(7),
		  (unsigned long)rt_irq_pic_spurious(15));
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
		} else if (strncmp(w, "blk-irq-read=", 13) == 0) {
			do_blk_irq_read(w + 13);
		} else if (strcmp(w, "blk-flush") == 0) {
			do_blk_flush();
		} else if (strcmp(w, "blk-past-end") == 0) {
			do_blk_past_end();
		} else if (strncmp(w, "blk-dev=", 8) == 0) {
			pick_dev("blk", w + 8, &blk_nth, &blk_up, blk.dev);
		} else if (strncmp(w, "blk-stress=", 11) == 0) {
			do_blk_stress(w + 11);
		} else if (strcmp(w, "wait") == 0) {
			rt_printf("vio: waiting\n");
			rt_printf("vio: woke byte=0x%02x\n", (unsigned int)rt_getc_wait());
		} else if (strncmp(w, "net-dev=", 8) == 0) {
			pick_dev("net", w + 8, &net_nth, &net_up, net.dev);
		} else if (strcmp(w, "net-info") == 0) {
			do_net_info();
		} else if (strcmp(w, "net-mtu") == 0) {
			do_net_mtu();
		} else if (strncmp(w, "net-send=", 9) == 0) {
			do_net_send(w + 9);
		} else if (strncmp(w, "net-arp=", 8) == 0) {
			do_net_arp(w + 8);
		} else if (strcmp(w, "net-recv") == 0) {
			do_net_recv();
		} else if (strncmp(w, "mmds-get=", 9) == 0) {
			do_mmds_get(w + 9, 0);
		} else if (strncmp(w, "mmds-get-token=", 15) == 0) {
			do_mmds_get(w + 15, 1);
		} else if (strncmp(w, "mmds-token=", 11) == 0) {
			do_mmds_token(w + 11);
		} else if (strncmp(w, "vsock-connect=", 14) == 0) {
			do_vsock_connect(w + 14);
		} else if (strncmp(w, "vsock-send=", 11) == 0) {
			do_vsock_send(w + 11);
		} else if (strcmp(w, "vsock-recv") == 0) {
			do_vsock_recv();
		} else if (strncmp(w, "vsock-hold=", 11) == 0) {
			do_vsock_hold(w + 11);
		} else if (strcmp(w, "vsock-reset") == 0) {
			do_vsock_reset();
		} else if (strcmp(w, "vsock-events") == 0) {
			do_vsock_events();
		} else if (strncmp(w, "vsock-stream=", 13) == 0) {
			do_vsock_stream(w + 13);
		} else if (strncmp(w, "vsock-multi=", 12) == 0) {
			do_vsock_multi(w + 12);
		} else if (strncmp(w, "vsock-echo=", 11) == 0) {
			do_vsock_echo(w + 11);
		} else if (strncmp(w, "vsock-serve=", 12) == 0) {
			do_vsock_serve(w + 12);
		} else if (strncmp(w, "vsock-dial=", 11) == 0) {
			do_vsock_dial(w + 11);
		} else if (strncmp(w, "idle=", 5) == 0) {
			do_idle(w + 5);
		} else if (strcmp(w, "vsock-close") == 0) {
			if (vsock_dev() != NULL) {
				rt_vsock_close(&vsock);
				rt_printf("vio: vsock closed\n");
			}
		} else if (strcmp(w, "irq") == 0) {
			irq_word = 1;
			rt_virtio_use_irq(1);
			rt_printf("vio: irq mode\n");
		} else if (strcmp(w, "pic") == 0) {
			do_pic();
		} else if (strcmp(w, "irqs") == 0) {
			do_irqs();
		} else if (strncmp(w, "ack-unoffered=", 14) == 0) {
			uint64_t bit;
			if (rt_parse_u64(w + 14, &bit) != 0 || bit > 63) {
				rt_printf("vio: bad feature bit %s\n", w + 14);
			} else {
				rt_virtio_ack_unoffered(1ULL << bit);
				rt_printf("vio: ack-unoffered bit=%u\n", (unsigned int)bit);
			}
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
		} else if (strncmp(w, "target=", 7) == 0) {
			do_target(w + 7);
		} else if (strncmp(w, "hostile=", 8) == 0) {
			do_hostile(bi, w + 8);
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
