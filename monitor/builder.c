// SPDX-License-Identifier: Apache-2.0
/*
 * builder.c: the recipe that turns a configuration into a running microVM:
 * memory -> VM -> devices -> kernel, initrd, command line -> boot structures
 * -> vCPUs; and the VMM loop that waits for it to end.
 */
#include "builder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bootparams.h"
#include "cpu_template.h"
#include "exit_port.h"
#include "exit_status.h"
#include "fd_budget.h"
#include "isa_irq.h"
#include "kernel_cmdline.h"
#include "layout.h"
#include "log.h"
#include "metrics.h"
#include "blk.h"
#include "mmds_stack.h"
#include "mmio.h"
#include "mptable.h"
#include "net.h"
#include "rng.h"
#include "seccomp.h"
#include "snapshot.h"
#include "vcpu.h"
#include "vsock.h"
#include "x86_cpu.h"

#define MIB (1024ULL * 1024)
/* KVM_GET_SUPPORTED_CPUID: start with this many entries, grow on E2BIG. */
#define CPUID_INITIAL_ENTRIES 128
#define CPUID_MAX_ENTRIES     1024
#define SERIAL_OUT_MODE	      0600 /* a serial_out_path ember creates: the owner's alone */

/* Teardown stages, in build order. */
enum {
	BUILT_NOTHING,
	BUILT_VM,
	BUILT_LOOP,
	BUILT_DEVICES,
	BUILT_CONSOLE,
};

/* A host file mapped read-only. */
struct host_file {
	const uint8_t *data;
	size_t size;
};

/* map_file: (path) mapped, or -EINVAL with (err) naming it by (word), a flag or a field. */
static int map_file(const char *word, const char *path, struct host_file *f, struct ember_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		ember_err_set(err, errno, "%s: cannot open '%s'", word, path);
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ember_err_set(err, 0, "%s: '%s' is not a regular file", word, path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		ember_err_set(err, 0, "%s: '%s' is empty", word, path);
		close(fd);
		return -EINVAL;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		ember_err_set(err, e, "%s: cannot map '%s'", word, path);
		return -EINVAL;
	}
	f->data = p;
	f->size = (size_t)st.st_size;
	return 0;
}

static void unmap_file(struct host_file *f)
{
	if (f->data != NULL)
		munmap((void *)f->data, f->size);
	f->data = NULL;
}

static void serial_irq(void *ctx)
{
	struct machine *m = ctx;

	isa_irq_pulse(&m->vm, LAYOUT_COM1_IRQ);
}

/* pic_output: the 8259's INT rose: the boot vCPU runs the acknowledge (vcpu.c). */
static void pic_output(void *ctx)
{
	struct machine *m = ctx;

	vcpu_kick(m->vm.vcpus[0]);
}

/* add_pic: the 8259 pair beside the IOAPIC, its ports and its ELCR. */
static int add_pic(struct machine *m)
{
	struct vm *vm = &m->vm;
	int ret = pic_init(&m->pic, pic_output, m);

	if (ret == 0)
		ret =
		    bus_register(&vm->pio, PIC_MASTER_PORT, PIC_PORT_COUNT, pic_master_io, &m->pic);
	if (ret == 0)
		ret = bus_register(&vm->pio, PIC_SLAVE_PORT, PIC_PORT_COUNT, pic_slave_io, &m->pic);
	if (ret == 0)
		ret = bus_register(&vm->pio, PIC_ELCR_PORT, PIC_ELCR_COUNT, pic_elcr_io, &m->pic);
	if (ret == 0)
		vm->pic = &m->pic;
	return ret;
}

/*
 * open_serial_output: PUT /serial's serial_out_path, appended to and never
 * waited on: a FIFO must have its reader already, and a full one drops the
 * guest's bytes rather than stalling its vCPU.
 */
static int open_serial_output(struct machine *m, const struct vm_config *cfg, struct ember_err *err)
{
	const char *path = cfg->serial.out_path;

	m->serial_out_fd = -1;
	if (path == NULL)
		return 0;
	m->serial_out_fd =
	    open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, SERIAL_OUT_MODE);
	if (m->serial_out_fd < 0) {
		int e = errno;
		ember_err_set(err, e, "serial_out_path: cannot open '%s'%s", path,
			      e == ENXIO ? " (a FIFO with no reader)" : "");
		return -e;
	}
	return 0;
}

static int add_legacy_devices(struct machine *m, const struct vm_config *cfg, struct ember_err *err)
{
	struct vm *vm = &m->vm;
	int ret = open_serial_output(m, cfg, err);

	if (ret < 0)
		return ret;
	/* The IOAPIC's id follows the CPUs' APIC ids, as the MP table says. */
	ret = ioapic_init(&m->ioapic, vm, cfg->vcpus);
	if (ret == 0)
		ret = add_pic(m);
	if (ret == 0) {
		serial_init(&m->serial, m->serial_out_fd >= 0 ? m->serial_out_fd : STDOUT_FILENO,
			    serial_irq, m);
		serial_count_into(&m->serial, &m->metrics->now.uart);
		if (cfg->serial.limiter.set) {
			const struct virtio_rate_limit rl = {
			    .bandwidth = {
				.size = cfg->serial.limiter.size,
				.one_time_burst = cfg->serial.limiter.one_time_burst,
				.refill_time = cfg->serial.limiter.refill_time,
			    }};
			ratelimit_init_untimed(&m->serial_limit, &rl);
			serial_limit_output(&m->serial, &m->serial_limit);
		}
		ret = bus_register(&vm->pio, LAYOUT_COM1_PORT, SERIAL_PORT_COUNT, serial_io,
				   &m->serial);
	}
	if (ret == 0)
		ret = i8042_init(&m->i8042, vm, &m->metrics->now.i8042);
	if (ret == 0)
		ret = rtc_init(&m->rtc, NULL);
	if (ret == 0)
		ret = bus_register(&vm->pio, RTC_PORT, RTC_PORT_COUNT, rtc_io, &m->rtc);
	if (ret == 0)
		ret = pit_init(&m->pit, NULL);
	if (ret == 0)
		ret = bus_register(&vm->pio, PIT_PORT, PIT_PORT_COUNT, pit_io, &m->pit);
	if (ret == 0)
		ret = bus_register(&vm->pio, PIT_PORT_B, 1, pit_port_b_io, &m->pit);
	if (ret == 0)
		ret = pit_timer_init(&m->pit_timer, &m->pit, vm, m->loop);
	if (ret == 0)
		ret = boot_timer_init(&m->boot_timer, vm, cfg->boot_timer);
	if (ret == 0)
		ret = exit_port_init(vm);
	if (ret == 0)
		ret = generation_init(&m->generation, vm);
	if (ret < 0) {
		ember_err_set(err, -ret, "devices: cannot place legacy devices on the bus");
		if (m->serial_out_fd >= 0)
			close(m->serial_out_fd); /* machine_destroy closes it only once built */
		m->serial_out_fd = -1;
	}
	return ret;
}

struct virtio_rate_limit machine_rate_limit(const struct rate_limiter *rl)
{
	return (struct virtio_rate_limit){
	    .bandwidth = {rl->bandwidth.size, rl->bandwidth.one_time_burst,
			  rl->bandwidth.refill_time},
	    .ops = {rl->ops.size, rl->ops.one_time_burst, rl->ops.refill_time},
	};
}

/*
 * add_root_args: a root drive's part of the command line, as Firecracker
 * adds it: "root=/dev/vda" (the root drive is always the first) or
 * "root=PARTUUID=<uuid>", then "ro" or "rw"; nothing when boot_args set a
 * root= of their own.
 */
static void add_root_args(struct machine *m, const struct vm_config *cfg)
{
	if (cfg->ndisks == 0 || !cfg->disks[0].is_root ||
	    kernel_cmdline_base_has(&m->cmdline, "root="))
		return;
	const struct disk_config *d = &cfg->disks[0];
	const char *mode = d->read_only ? "ro" : "rw";
	if (d->partuuid[0] != '\0')
		kernel_cmdline_add(&m->cmdline, "root=PARTUUID=%s %s", d->partuuid, mode);
	else
		kernel_cmdline_add(&m->cmdline, "root=/dev/vda %s", mode);
}

/*
 * create_failed: a device could not be created or attached (the device says
 * only what failed, in (why)): (err) names it in the words of the interface
 * that configured it, the flag and its value (--disk PATH) or the resource,
 * its id and the value (drive 'rootfs' (PATH)).
 */
static void create_failed(enum config_origin origin, const char *flag, const char *value,
			  const char *resource, const char *id, const struct vlog_err *why,
			  struct ember_err *err)
{
	char what[CONFIG_ID_MAX + 64];

	if (origin == CONFIG_FROM_JSON) {
		if (id != NULL)
			snprintf(what, sizeof(what), "%s '%s'", resource, id);
		else
			snprintf(what, sizeof(what), "%s", resource);
		if (value != NULL)
			ember_err_set(err, why->errnum, "%s (%s): %s", what, value, why->msg);
		else
			ember_err_set(err, why->errnum, "%s: %s", what, why->msg);
	} else if (value != NULL)
		ember_err_set(err, why->errnum, "%s %s: %s", flag, value, why->msg);
	else
		ember_err_set(err, why->errnum, "%s: %s", flag, why->msg);
}

/* attach_failed: virtio_slots_add refused the device (-errno (ret)); (why) gets that. */
static struct vlog_err *attach_failed(int ret, struct vlog_err *why)
{
	why->errnum = -ret;
	snprintf(why->msg, sizeof(why->msg), "cannot attach the device");
	return why;
}

/* The detour a virtio-net device takes to MMDS (net.h), over the interface's stack. */
_Static_assert(NET_DETOUR_PEEK >= MMDS_STACK_PEEK_LEN, "the device must show MMDS enough");

static bool mmds_may_take(void *opaque, const uint8_t *head, size_t len)
{
	return mmds_stack_may_take(opaque, head, len);
}

static bool mmds_tx(void *opaque, const uint8_t *frame, size_t len)
{
	return mmds_stack_guest_tx(opaque, frame, len);
}

static size_t mmds_rx(void *opaque, uint8_t *buf, size_t cap)
{
	return mmds_stack_guest_rx(opaque, buf, cap);
}

/*
 * mmds_detour: when mmds-config names interface (i), its stack in (*d);
 * false when it reaches no MMDS. -ENOMEM as a stack fails.
 */
static int mmds_detour(struct machine *m, const struct vm_config *cfg, unsigned int i,
		       struct net_detour *d)
{
	const struct mmds_stack_config sc = {
	    .ipv4 = cfg->mmds.ipv4, .mac = MMDS_DEFAULT_MAC, .stats = &m->metrics->now.mmds};
	bool listed = false;

	for (unsigned int k = 0; cfg->mmds.set && k < cfg->mmds.nifaces; k++)
		listed = listed || strcmp(cfg->mmds.ifaces[k], cfg->nets[i].iface_id) == 0;
	if (!listed || m->mmds == NULL)
		return 0;
	m->mmds_stacks[i] = mmds_stack_create(m->mmds, &sc);
	if (m->mmds_stacks[i] == NULL)
		return -ENOMEM;
	*d = (struct net_detour){
	    .may_take = mmds_may_take, .tx = mmds_tx, .rx = mmds_rx, .opaque = m->mmds_stacks[i]};
	return 1;
}

/*
 * TRANSPORT_COUNTS: the transport's two counters in device group (g)
 * (dev_metrics.h). NULL (the metrics had no room, which a build's devices
 * never exceed): none.
 */
#define TRANSPORT_COUNTS(g)                                                                        \
	((g) == NULL ? NULL                                                                        \
		     : &(const struct virtio_mmio_counters){                                       \
			   .activate_fails = &(g)->activate_fails, .cfg_fails = &(g)->cfg_fails})

/*
 * add_virtio_devices: disks first, in command-line order (the first is
 * /dev/vda), then network interfaces, entropy, vsock. A device that cannot be created (a
 * bad disk path) is the user's error; one that cannot be attached, the
 * host's. Either way (err) names the device as its interface does.
 */
static int add_virtio_devices(struct machine *m, const struct vm_config *cfg, int *status,
			      struct ember_err *err)
{
	const struct virtio_device_ops *ops;
	struct vlog_err why = {0};
	void *dev;
	int ret;

	*status = EMBER_EXIT_CONFIG;
	add_root_args(m, cfg);
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		/* Every disk gets its limiter's timer now: PATCH /drives may limit it later. */
		struct virtio_rate_limit limit = machine_rate_limit(&d->limiter);
		struct virtio_blk_config bc = {
		    .path = d->path,
		    .read_only = d->read_only,
		    .id = d->id[0] ? d->id : NULL,
		    .engine =
			d->engine == DISK_ENGINE_IO_URING ? BLK_ENGINE_IO_URING : BLK_ENGINE_SYNC,
		    .limiter = &limit,
		    .metrics = metrics_block(m->metrics, d->id, i),
		};
		dev = blk_create(&bc, &ops, &why);
		if (dev == NULL) {
			create_failed(d->origin, "--disk", d->path, "drive", d->id, &why, err);
			return -EINVAL;
		}
		ret = virtio_slots_add(&m->virtio, ops, dev, TRANSPORT_COUNTS(bc.metrics));
		if (ret < 0) {
			create_failed(d->origin, "--disk", d->path, "drive", d->id,
				      attach_failed(ret, &why), err);
			goto host_error;
		}
	}
	if (cfg->mmds.set && m->mmds != NULL)
		mmds_store_set_mode(m->mmds, cfg->mmds.v2 ? MMDS_V2 : MMDS_V1,
				    cfg->mmds.imds_compat);
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->nets[i];
		const char *tap = n->host_dev_name != NULL ? n->host_dev_name : "";
		struct net_detour detour;
		int has_detour = mmds_detour(m, cfg, i, &detour);
		if (has_detour < 0) {
			vlog_err_set(&why, -has_detour, "the metadata service's network stack");
			create_failed(n->origin, "--net", tap, "network interface", n->iface_id,
				      &why, err);
			goto host_error;
		}
		struct virtio_rate_limit rx = machine_rate_limit(&n->rx_limiter);
		struct virtio_rate_limit tx = machine_rate_limit(&n->tx_limiter);
		struct virtio_net_config nc = {
		    .tap_name = n->host_dev_name,
		    .has_mac = n->has_mac,
		    .mtu = n->has_mtu ? (uint16_t)n->mtu : 0,
		    .rx_limiter = &rx,
		    .tx_limiter = &tx,
		    .detour = has_detour ? &detour : NULL,
		    .metrics = metrics_net(m->metrics, cfg->nets[i].iface_id),
		};
		memcpy(nc.mac, n->guest_mac, sizeof(nc.mac));
		dev = net_create(&nc, &ops, &why);
		if (dev == NULL) {
			create_failed(n->origin, "--net", tap, "network interface", n->iface_id,
				      &why, err);
			return -EINVAL;
		}
		ret = virtio_slots_add(&m->virtio, ops, dev, TRANSPORT_COUNTS(nc.metrics));
		if (ret < 0) {
			create_failed(n->origin, "--net", tap, "network interface", n->iface_id,
				      attach_failed(ret, &why), err);
			goto host_error;
		}
	}
	if (cfg->rng) {
		struct virtio_rate_limit limit = machine_rate_limit(&cfg->rng_limiter);
		struct entropy_metrics *em = &m->metrics->now.entropy;
		/* The device has no config space: no cfg_fails in its group. */
		const struct virtio_mmio_counters counts = {.activate_fails = &em->activate_fails};
		dev = rng_create_limited(&limit, em, &ops, &why);
		ret = dev != NULL ? virtio_slots_add(&m->virtio, ops, dev, &counts) : 0;
		if (dev == NULL || ret < 0) {
			create_failed(cfg->rng_origin, "--rng", NULL, "entropy", NULL,
				      dev == NULL ? &why : attach_failed(ret, &why), err);
			goto host_error;
		}
	}
	if (cfg->vsock.enabled) {
		struct virtio_vsock_config vc = {
		    .guest_cid = cfg->vsock.guest_cid,
		    .uds_path = cfg->vsock.uds_path,
		    .metrics = &m->metrics->now.vsock,
		};
		const char *uds = vc.uds_path != NULL ? vc.uds_path : "";
		dev = vsock_create(&vc, &ops, &why);
		if (dev == NULL) {
			create_failed(cfg->vsock.origin, "--vsock", uds, "vsock", NULL, &why, err);
			return -EINVAL;
		}
		ret = virtio_slots_add(&m->virtio, ops, dev, TRANSPORT_COUNTS(vc.metrics));
		if (ret < 0) {
			create_failed(cfg->vsock.origin, "--vsock", uds, "vsock", NULL,
				      attach_failed(ret, &why), err);
			goto host_error;
		}
	}
	return 0;
host_error:
	*status = EMBER_EXIT_HOST_ERROR;
	return -EIO;
}

/* boot_word: how the user named a boot setting: by its flag, or by its JSON field. */
static const char *boot_word(const struct vm_config *cfg, const char *flag, const char *field)
{
	return cfg->boot_origin == CONFIG_FROM_JSON ? field : flag;
}

/* from_file: after a loader's reason ("kernel: ..."), the setting that named the file. */
static void from_file(struct ember_err *err, const char *word, const char *path)
{
	char reason[EMBER_ERR_MAX];

	memcpy(reason, err->msg, sizeof(reason));
	if (snprintf(err->msg, sizeof(err->msg), "%s (%s '%s')", reason, word, path) >=
	    (int)sizeof(err->msg))
		ember_err_cut(err);
}

static int load_kernel_and_initrd(struct machine *m, const struct vm_config *cfg,
				  struct boot_layout *bl, struct ember_err *err)
{
	const char *kernel_word = boot_word(cfg, "--kernel", "kernel_image_path");
	const char *initrd_word = boot_word(cfg, "--initrd", "initrd_path");
	struct host_file kernel = {0}, initrd = {0};
	int ret;

	ret = map_file(kernel_word, cfg->kernel_path, &kernel, err);
	if (ret < 0)
		return ret;
	ret = loader_load_kernel(&m->vm.gmem, kernel.data, kernel.size, cfg->boot_entry,
				 LOAD_RAM_ZEROED, &m->kernel, err);
	unmap_file(&kernel);
	if (ret < 0) {
		from_file(err, kernel_word, cfg->kernel_path);
		return ret;
	}
	if (cfg->initrd_path == NULL)
		return 0;
	ret = map_file(initrd_word, cfg->initrd_path, &initrd, err);
	if (ret < 0)
		return ret;
	ret = loader_load_initrd(&m->vm.gmem, &m->kernel, initrd.data, initrd.size, &bl->initrd_gpa,
				 err);
	bl->initrd_size = initrd.size;
	unmap_file(&initrd);
	if (ret < 0)
		from_file(err, initrd_word, cfg->initrd_path);
	return ret;
}

static int write_cmdline(struct machine *m, const struct vm_config *cfg, struct boot_layout *bl,
			 struct ember_err *err)
{
	char cmdline[LAYOUT_CMDLINE_MAX];
	size_t limit = sizeof(cmdline);

	/* A bzImage may accept less than our buffer (its cmdline_size, without the NUL). */
	if (m->kernel.cmdline_max != 0 && m->kernel.cmdline_max < limit - 1)
		limit = (size_t)m->kernel.cmdline_max + 1;
	int len = kernel_cmdline_render(&m->cmdline, cfg->guest_args, cfg->nguest_args, cmdline,
					limit, err);
	if (len < 0) {
		/* Too long for the kernel rather than for ember: say whose limit it is. */
		if (len == -E2BIG && limit < sizeof(cmdline))
			ember_err_set(err, 0,
				      "kernel: its setup header's cmdline_size allows %u bytes",
				      m->kernel.cmdline_max);
		else if (len == -E2BIG)
			ember_err_prefix(err, "%s", boot_word(cfg, "--cmdline", "boot_args"));
		return len;
	}
	bl->cmdline_gpa = LAYOUT_CMDLINE_ADDR;
	bl->cmdline_size = (uint32_t)len + 1;
	if (gmem_write(&m->vm.gmem, LAYOUT_CMDLINE_ADDR, cmdline, (uint64_t)len + 1) != 0) {
		ember_err_set(err, 0, "cmdline: 0x%llx is not in guest RAM", LAYOUT_CMDLINE_ADDR);
		return -EFAULT;
	}
	return 0;
}

static int write_boot_structures(struct machine *m, const struct vm_config *cfg,
				 struct vcpu_boot *boot, struct ember_err *err)
{
	struct boot_layout bl = {0};
	const struct gmem *gm = &m->vm.gmem;
	int ret;

	ret = load_kernel_and_initrd(m, cfg, &bl, err);
	if (ret == 0)
		ret = write_cmdline(m, cfg, &bl, err);
	if (ret < 0)
		return ret;

	boot->entry = m->kernel.entry;
	if (m->kernel.format == KERNEL_FORMAT_PVH) {
		boot->mode = X86_BOOT_PROTECTED;
		boot->boot_info = LAYOUT_PVH_INFO_ADDR;
		ret = bootparams_write_pvh(gm, &bl, err);
	} else {
		boot->mode = X86_BOOT_LONG_MODE;
		boot->boot_info = LAYOUT_ZERO_PAGE_ADDR;
		ret = bootparams_write_zero_page(gm, &m->kernel, &bl, err);
	}
	if (ret == 0)
		ret = mptable_write(gm, cfg->vcpus, err);
	if (ret == 0) {
		ret = x86_write_boot_tables(gm, boot->mode);
		if (ret < 0)
			ember_err_set(err, 0,
				      "x86: the GDT, IDT and page tables are not in guest RAM");
	}
	if (ret < 0)
		ember_err_prefix(err, "boot: cannot write the boot structures (is %s too small?)",
				 boot_word(cfg, "--mem", "mem_size_mib"));
	return ret;
}

static struct kvm_cpuid2 *supported_cpuid(int kvm_fd, struct ember_err *err)
{
	for (unsigned int nent = CPUID_INITIAL_ENTRIES; nent <= CPUID_MAX_ENTRIES; nent *= 2) {
		struct kvm_cpuid2 *c =
		    calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
		if (c == NULL) {
			ember_err_set(err, ENOMEM, "kvm: KVM_GET_SUPPORTED_CPUID");
			return NULL;
		}
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		int e = errno;
		free(c);
		if (e != E2BIG) {
			ember_err_set(err, e, "kvm: KVM_GET_SUPPORTED_CPUID");
			return NULL;
		}
	}
	ember_err_set(err, 0, "kvm: KVM_GET_SUPPORTED_CPUID: more than %d entries",
		      CPUID_MAX_ENTRIES);
	return NULL;
}

/*
 * check_template: whether this host can take CPU template (t) named (name):
 * the vendor a static one is written for (Firecracker's rule), the KVM
 * capabilities a custom one requires. A "!N" capability (one Firecracker
 * would stop checking) changes nothing here: ember cannot run without the
 * ones it checks (vm.c). 0, or -EINVAL with (err) saying why.
 */
static int check_template(struct machine *m, const struct cpu_template *t, const char *name,
			  const struct kvm_cpuid2 *supported, struct ember_err *err)
{
	char why[CPU_TEMPLATE_ERR_MAX];

	if (cpu_template_check_vendor(t, supported, why, sizeof(why)) < 0) {
		ember_err_set(err, 0, "cpu_template %s: %s", name, why);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < t->ncaps; i++) {
		if (t->caps[i].remove ||
		    ioctl(m->vm.kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)t->caps[i].cap) > 0)
			continue;
		ember_err_set(err, 0,
			      "cpu-config: kvm_capabilities: this host's KVM lacks capability %u",
			      t->caps[i].cap);
		return -EINVAL;
	}
	log_info("cpu template %s: %u CPUID leaves, %u MSRs", name, t->nleaves, t->nmsrs);
	return 0;
}

/*
 * resolve_template: the CPU template (cfg) asks for, checked against this
 * host, in (*out) (static) or (cfg) (custom); NULL in (*tmpl) for none.
 * 0, -ENOMEM or -EINVAL, with (err) saying why.
 */
static int resolve_template(struct machine *m, const struct vm_config *cfg,
			    const struct kvm_cpuid2 *supported, struct cpu_template **out,
			    const struct cpu_template **tmpl, struct ember_err *err)
{
	const char *name = cpu_template_name(cfg->cpu_template);

	*tmpl = NULL;
	if (cfg->cpu_template == CPU_TEMPLATE_NONE)
		return 0;
	if (cfg->cpu_template == CPU_TEMPLATE_CUSTOM) {
		*tmpl = &cfg->custom_cpu;
	} else {
		*out = malloc(sizeof(**out));
		if (*out == NULL || cpu_template_static(cfg->cpu_template, *out) < 0) {
			ember_err_set(err, ENOMEM, "cpu_template %s", name);
			return -ENOMEM;
		}
		*tmpl = *out;
	}
	return check_template(m, *tmpl, name, supported, err);
}

/* create_vcpus: -EINVAL when the CPU template does not fit the host (a config error). */
static int create_vcpus(struct machine *m, const struct vm_config *cfg,
			const struct vcpu_boot *boot, struct ember_err *err)
{
	struct kvm_cpuid2 *cpuid = supported_cpuid(m->vm.kvm_fd, err);
	struct cpu_template *own = NULL;
	const struct cpu_template *tmpl = NULL;
	int ret = 0;

	if (cpuid == NULL)
		return -EIO;
	ret = resolve_template(m, cfg, cpuid, &own, &tmpl, err);
	m->vm.nvcpus = cfg->vcpus;
	for (unsigned int i = 0; i < cfg->vcpus && ret == 0; i++) {
		struct vcpu *vcpu = vcpu_create(&m->vm, i, err);
		ret = vcpu != NULL ? vcpu_configure(vcpu, cpuid, tmpl, boot, err) : -EIO;
	}
	if (ret == -EINVAL && tmpl == NULL)
		ret = -EIO; /* without a template, a refusal is KVM's */
	free(own);
	free(cpuid);
	return ret;
}

static void on_stop(void *opaque, int fd, uint32_t events)
{
	struct machine *m = opaque;
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn_errno(errno, "vm: read stop eventfd");
	evloop_stop(m->loop);
}

/* join_loop: the process's loop watches the VM's stop eventfd; devices join it next. */
static int join_loop(struct machine *m, struct evloop *loop)
{
	m->loop = loop;
	virtio_slots_init(&m->virtio, &m->vm, loop, &m->cmdline);
	/* Device fd events count straight into the metrics (vmm.device_events). */
	m->virtio.device_events = &m->metrics->now.vmm.device_events;
	int ret = evloop_add(loop, m->vm.stop_fd, EPOLLIN, on_stop, m);
	if (ret == 0)
		m->built = BUILT_LOOP;
	return ret;
}

/* open_console: terminal input, last, so a failed build never leaves the terminal changed. */
static int open_console(struct machine *m)
{
	m->built = BUILT_CONSOLE;
	return console_open(&m->console, STDIN_FILENO, &m->serial, m->loop);
}

static int set_max_conns(void *dev, void *arg)
{
	vsock_set_max_conns(dev, *(unsigned int *)arg);
	return 0;
}

/*
 * limit_guest_fds: the guest makes ember hold a host socket per vsock
 * connection; allow it only what the process can afford once the machine
 * is built (fd_budget.h), so the API and the devices always have theirs.
 */
static void limit_guest_fds(struct machine *m)
{
	unsigned long spare = fd_budget_spare(FD_BUDGET_RESERVE);
	unsigned int n = spare < VSOCK_MAX_CONNS ? (unsigned int)spare : VSOCK_MAX_CONNS;

	for (unsigned int i = 0; i < m->virtio.count; i++) {
		struct virtio_slot *slot = &m->virtio.slots[i];
		if (slot->ops->device_id != VIRTIO_ID_VSOCK)
			continue;
		virtio_mmio_with_lock(slot->transport, set_max_conns, &n);
		if (n < VSOCK_MAX_CONNS)
			log_warn("vsock: at most %u connections at once (the RLIMIT_NOFILE soft "
				 "limit leaves %lu fds to the guest; raise it for up to %u)",
				 n, spare, VSOCK_MAX_CONNS);
	}
}

/* fail_build: tear down what exists and hand back (status). */
static int fail_build(struct machine *m, int status)
{
	machine_destroy(m);
	return status;
}

/*
 * build_devices: the part a boot and a restore share: the VM over (img)'s
 * RAM (NULL: fresh), the seccomp settings, the loop, and every device. On
 * failure (m) is torn down, (err) says why and the exit status is
 * returned; 0 on success.
 */
static int build_devices(struct machine *m, const struct vm_config *cfg,
			 const struct snapshot_image *img, struct startup_trace *startup,
			 struct evloop *loop, struct ember_err *err)
{
	int status;

	struct mmds_store *mmds = m->mmds;    /* the process's, not the machine's */
	struct metrics *metrics = m->metrics; /* the process's too */

	memset(m, 0, sizeof(*m));
	m->mmds = mmds;
	m->metrics = metrics;
	metrics_forget_devices(metrics); /* this machine's devices register their own */
	kernel_cmdline_init(&m->cmdline, cfg->cmdline);
	uint64_t t_build = vm_now_ns();

	struct vm_memory mem = {
	    .bytes = cfg->mem_mib * MIB,
	    .fd = img != NULL ? img->mem_fd : -1,
	    .restored = img != NULL,
	    .track_dirty = cfg->track_dirty_pages,
	    .thp = cfg->huge_pages == CONFIG_HUGE_PAGES_TRANSPARENT,
	    .hugetlb_2m = cfg->huge_pages == CONFIG_HUGE_PAGES_2M,
	};
	if (vm_create(&m->vm, &mem, startup, err) < 0)
		return EMBER_EXIT_HOST_ERROR;
	/* The Uffd backend: its handler must own guest RAM before anything touches it. */
	if (img != NULL && img->uffd_path != NULL &&
	    snap_uffd_attach(&m->uffd, &m->vm, img->uffd_path, err->msg, sizeof(err->msg)) < 0) {
		err->errnum = 0; /* snap_uffd_attach's line says it all */
		vm_destroy(&m->vm);
		return EMBER_EXIT_CONFIG;
	}
	m->vm.t_exec_ns = startup->wall_ns[STARTUP_EXEC];
	m->vm.t_build_ns = t_build;
	m->vm.seccomp = !cfg->no_seccomp;
	if (cfg->no_seccomp)
		log_warn("seccomp filters are off (--no-seccomp): for debugging only");
	else if (cfg->seccomp_filter != NULL) {
		char why[SECCOMP_ERR_MAX];
		if (seccomp_read_filters(cfg->seccomp_filter, &m->user_filter, why, sizeof(why)) <
		    0) {
			ember_err_set(err, 0, "--seccomp-filter: '%s': %s", cfg->seccomp_filter,
				      why);
			return fail_build(m, EMBER_EXIT_CONFIG);
		}
		m->vm.user_filter = &m->user_filter;
	}
	m->built = BUILT_VM;

	int ret = join_loop(m, loop);
	if (ret < 0) {
		ember_err_set(err, -ret, "vm: cannot join the event loop");
		return fail_build(m, EMBER_EXIT_HOST_ERROR);
	}
	if (add_legacy_devices(m, cfg, err) < 0)
		return fail_build(m, EMBER_EXIT_HOST_ERROR);
	m->built = BUILT_DEVICES;
	if (add_virtio_devices(m, cfg, &status, err) < 0)
		return fail_build(m, status);
	startup_stamp(startup, STARTUP_DEVICES);
	return 0;
}

/* start_console: open_console, or the host's error with (err) saying so. */
static int start_console(struct machine *m, struct ember_err *err)
{
	int ret = open_console(m);

	if (ret < 0)
		ember_err_set(err, -ret, "console: cannot read the terminal");
	return ret;
}

int machine_build(struct machine *m, const struct vm_config *cfg, struct startup_trace *startup,
		  struct evloop *loop, struct ember_err *err)
{
	struct vcpu_boot boot = {0};

	*err = (struct ember_err){0};
	int status = build_devices(m, cfg, NULL, startup, loop, err);
	if (status != 0)
		return status;
	if (write_boot_structures(m, cfg, &boot, err) < 0)
		return fail_build(m, EMBER_EXIT_CONFIG);
	startup_stamp(startup, STARTUP_LOAD);
	int ret = create_vcpus(m, cfg, &boot, err);
	if (ret == 0)
		ret = start_console(m, err) < 0 ? -EIO : 0;
	if (ret < 0)
		return fail_build(m, ret == -EINVAL ? EMBER_EXIT_CONFIG : EMBER_EXIT_HOST_ERROR);
	limit_guest_fds(m);
	startup_stamp(startup, STARTUP_VCPUS);
	return 0;
}

int machine_restore(struct machine *m, const struct vm_config *cfg,
		    const struct snapshot_image *img, struct startup_trace *startup,
		    struct evloop *loop, struct ember_err *err)
{
	*err = (struct ember_err){0};
	int status = build_devices(m, cfg, img, startup, loop, err);

	if (status != 0)
		return status;
	m->vm.nvcpus = cfg->vcpus;
	for (unsigned int i = 0; i < cfg->vcpus; i++)
		if (vcpu_create(&m->vm, i, err) == NULL)
			return fail_build(m, EMBER_EXIT_HOST_ERROR);
	if (snapshot_restore_state(m, img, err->msg, sizeof(err->msg)) < 0)
		return fail_build(m, EMBER_EXIT_CONFIG);
	startup_stamp(startup, STARTUP_LOAD);
	if (start_console(m, err) < 0)
		return fail_build(m, EMBER_EXIT_HOST_ERROR);
	limit_guest_fds(m);
	startup_stamp(startup, STARTUP_VCPUS);
	return 0;
}

int machine_run(struct machine *m)
{
	struct vm *vm = &m->vm;

	for (unsigned int i = 0; i < vm->nvcpus; i++) {
		if (vcpu_start(vm->vcpus[i]) < 0) {
			vm_request_stop(vm, EMBER_EXIT_HOST_ERROR);
			break;
		}
	}
	/* The vCPU threads exist, so this filter is the VMM thread's alone. */
	if (vm->seccomp) {
		int ret = seccomp_install(SECCOMP_THREAD_VMM, vm->user_filter);
		if (ret < 0) {
			log_error_errno(-ret, "vmm: seccomp filter");
			vm_request_stop(vm, EMBER_EXIT_HOST_ERROR);
		}
	}
	if (evloop_run(m->loop) < 0)
		vm_request_stop(vm, EMBER_EXIT_HOST_ERROR);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_join(vm->vcpus[i]);
	serial_flush(&m->serial);
	pthread_mutex_lock(&vm->lock);
	int status = vm->exit_status;
	pthread_mutex_unlock(&vm->lock);
	return status;
}

void machine_destroy(struct machine *m)
{
	struct vm *vm = &m->vm;

	if (m->built >= BUILT_CONSOLE)
		console_close(&m->console);
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++) {
		if (vm->vcpus[i] == NULL)
			continue;
		vcpu_join(vm->vcpus[i]);
		vcpu_destroy(vm->vcpus[i]);
	}
	if (m->built >= BUILT_DEVICES) {
		virtio_slots_destroy(&m->virtio);
		serial_destroy(&m->serial);
		if (m->serial_out_fd >= 0)
			close(m->serial_out_fd);
		i8042_destroy(&m->i8042);
		rtc_destroy(&m->rtc);
		pit_timer_destroy(&m->pit_timer, m->loop);
		pit_destroy(&m->pit);
		pic_destroy(&m->pic);
		ioapic_destroy(&m->ioapic);
	}
	/* After the net devices, which call into them. */
	for (unsigned int i = 0; i < CONFIG_MAX_DEVICES; i++) {
		mmds_stack_destroy(m->mmds_stacks[i]);
		m->mmds_stacks[i] = NULL;
	}
	if (m->built >= BUILT_LOOP)
		evloop_del(m->loop, m->vm.stop_fd); /* the loop lives on; the eventfd goes */
	snap_uffd_release(&m->uffd);
	if (m->built >= BUILT_VM)
		vm_destroy(vm);
	seccomp_free_filters(&m->user_filter);
	m->built = BUILT_NOTHING;
}
