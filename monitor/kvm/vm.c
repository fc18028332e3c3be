// SPDX-License-Identifier: Apache-2.0
/* vm.c: KVM VM fd, guest memory slots, split irqchip, stop. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "ember_err.h"
#include "log.h"
#include "vcpu.h"

/* mmap's page-size request for 2 MiB hugetlbfs pages: log2(2 MiB) in the size bits. */
#define HUGE_2M_LOG2	 21
#define HUGE_2M_BYTES	 (1ULL << HUGE_2M_LOG2)
#define SMALL_PAGE_BYTES 4096ULL
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (HUGE_2M_LOG2 << MAP_HUGE_SHIFT)
#endif

#define KVM_DEVICE "/dev/kvm"
#define SLOT_LOW   0
#define SLOT_HIGH  1

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int check_kvm(struct vm *vm, struct ember_err *err)
{
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);

	if (version != KVM_API_VERSION) {
		ember_err_set(err, 0, "kvm: KVM_GET_API_VERSION: got %d, need %d", version,
			      KVM_API_VERSION);
		return -ENOTSUP;
	}
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP"},
	    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
	    {KVM_CAP_TSC_DEADLINE_TIMER, "KVM_CAP_TSC_DEADLINE_TIMER"},
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			ember_err_set(err, 0, "kvm: host KVM lacks %s", needed[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

/*
 * map_ram: (size) bytes of guest RAM: anonymous, or the memory file's bytes
 * at (offset) mapped private, so pages come in from the page cache when the
 * guest first touches them (shared by every VM restored from the file) and
 * the guest's writes go to copies of its own.
 */
static void *map_ram(const struct vm_memory *mem, uint64_t size, uint64_t offset)
{
	int fd = mem->fd;
	int flags = MAP_PRIVATE | (fd < 0 ? MAP_ANONYMOUS : 0);

	/*
	 * hugetlbfs pages are reserved now (no MAP_NORESERVE), so a pool too
	 * small fails here and not with SIGBUS when the guest touches a page.
	 */
	if (fd < 0 && mem->hugetlb_2m)
		flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	else
		flags |= MAP_NORESERVE;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, fd < 0 ? 0 : (off_t)offset);
	if (p == MAP_FAILED)
		return NULL;
	/* A hint: the kernel may still use small pages (THP "never", fragmentation). */
	if (fd < 0 && mem->thp && madvise(p, size, MADV_HUGEPAGE) < 0)
		log_warn("memory: transparent huge pages unavailable: %s", strerror(errno));
	return p;
}

static int add_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
		    struct ember_err *err)
{
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .flags = vm->track_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		int e = errno;
		ember_err_set(err, e, "kvm: KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB)", slot,
			      (unsigned long long)(size >> 20));
		return -e;
	}
	int ret = gmem_add_region(&vm->gmem, gpa, size, host);
	if (ret < 0)
		ember_err_set(err, -ret, "memory: slot %u", slot);
	return ret;
}

/* track_vmm_writes: gmem's half of dirty tracking, once the regions exist. */
static int track_vmm_writes(struct vm *vm, const struct vm_memory *mem, struct ember_err *err)
{
	if (!vm->track_dirty)
		return 0;
	int ret = gmem_track_dirty(&vm->gmem, !mem->restored);
	if (ret < 0)
		ember_err_set(err, -ret, "memory: dirty-page bitmaps");
	return ret;
}

static int setup_memory(struct vm *vm, const struct vm_memory *mem, struct ember_err *err)
{
	const uint64_t low_max = LAYOUT_MMIO_GAP_START;
	uint64_t mem_bytes = mem->bytes;
	int ret;

	vm->mem_low_size = mem_bytes < low_max ? mem_bytes : low_max;
	vm->mem_high_size = mem_bytes - vm->mem_low_size;

	vm->ram_page_bytes = mem->fd < 0 && mem->hugetlb_2m ? HUGE_2M_BYTES : SMALL_PAGE_BYTES;
	vm->mem_low = map_ram(mem, vm->mem_low_size, 0);
	if (vm->mem_low == NULL) {
		ember_err_set(err, errno, "memory: mmap of %llu MiB of guest RAM%s",
			      (unsigned long long)(vm->mem_low_size >> 20),
			      mem->hugetlb_2m ? " on 2M huge pages (is vm.nr_hugepages enough?)"
					      : "");
		return -ENOMEM;
	}
	ret = add_slot(vm, SLOT_LOW, 0, vm->mem_low_size, vm->mem_low, err);
	if (ret < 0)
		return ret;
	if (vm->mem_high_size == 0)
		return track_vmm_writes(vm, mem, err);
	vm->mem_high = map_ram(mem, vm->mem_high_size, vm->mem_low_size);
	if (vm->mem_high == NULL) {
		ember_err_set(err, errno, "memory: mmap of %llu MiB of guest RAM above 4 GiB%s",
			      (unsigned long long)(vm->mem_high_size >> 20),
			      mem->hugetlb_2m ? " on 2M huge pages (is vm.nr_hugepages enough?)"
					      : "");
		return -ENOMEM;
	}
	ret = add_slot(vm, SLOT_HIGH, LAYOUT_MMIO_GAP_END, vm->mem_high_size, vm->mem_high, err);
	return ret < 0 ? ret : track_vmm_writes(vm, mem, err);
}

static int setup_irqchip(struct vm *vm, struct ember_err *err)
{
	/*
	 * Split irqchip: KVM emulates each vCPU's local APIC, ember emulates
	 * the IOAPIC. No PIC and no PIT: a full in-kernel irqchip costs about
	 * 20 ms of VM teardown on our hosts (shared/HOST-KVM.md), and guests
	 * with a TSC-deadline LAPIC timer and kvmclock need neither.
	 */
	struct kvm_enable_cap cap = {
	    .cap = KVM_CAP_SPLIT_IRQCHIP,
	    .args = {VM_IOAPIC_PINS},
	};
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		int e = errno;
		ember_err_set(err, e, "kvm: KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");
		return -e;
	}
	return 0;
}

static int setup_x86_addresses(struct vm *vm, struct ember_err *err)
{
	/* Only VMX uses these, but KVM wants them set before vCPUs exist. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS_ADDR) < 0) {
		int e = errno;
		ember_err_set(err, e, "kvm: KVM_SET_TSS_ADDR");
		return -e;
	}
	uint64_t identity = LAYOUT_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		int e = errno;
		ember_err_set(err, e, "kvm: KVM_SET_IDENTITY_MAP_ADDR");
		return -e;
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_memory *mem, struct startup_trace *startup,
	      struct ember_err *err)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->startup = startup;
	vm->track_dirty = mem->track_dirty;
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->route_lock, NULL);

	vm->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		ember_err_set(err, -ret, "kvm: open %s", KVM_DEVICE);
		goto fail;
	}
	ret = check_kvm(vm, err);
	if (ret < 0)
		goto fail;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		ret = -errno;
		ember_err_set(err, -ret, "kvm: KVM_GET_VCPU_MMAP_SIZE");
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		ember_err_set(err, -ret, "kvm: KVM_CREATE_VM");
		goto fail;
	}
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		ret = -errno;
		ember_err_set(err, -ret, "vm: eventfd");
		goto fail;
	}
	ret = setup_x86_addresses(vm, err);
	if (ret < 0)
		goto fail;
	ret = setup_irqchip(vm, err);
	if (ret < 0)
		goto fail;
	if (startup != NULL)
		startup_stamp(startup, STARTUP_KVM);
	ret = setup_memory(vm, mem, err);
	if (ret < 0)
		goto fail;
	if (startup != NULL)
		startup_stamp(startup, STARTUP_MEMORY);
	return 0;
fail:
	vm_destroy(vm);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	gmem_untrack_dirty(&vm->gmem);
	if (vm->mem_high != NULL)
		munmap(vm->mem_high, vm->mem_high_size);
	if (vm->mem_low != NULL)
		munmap(vm->mem_low, vm->mem_low_size);
	vm->mem_low = vm->mem_high = NULL;
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->stop_fd = vm->vm_fd = vm->kvm_fd = -1;
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->route_lock);
}

void vm_dirty_free(struct vm_dirty *d)
{
	for (unsigned int i = 0; i < GMEM_MAX_REGIONS; i++)
		free(d->bits[i]);
	memset(d, 0, sizeof(*d));
}

int vm_take_dirty(struct vm *vm, struct vm_dirty *d)
{
	const struct gmem *gm = &vm->gmem;

	memset(d, 0, sizeof(*d));
	if (!vm->track_dirty)
		return -ENOTSUP;
	for (unsigned int i = 0; i < gm->nregions; i++) {
		d->bits[i] = calloc(gmem_dirty_words(&gm->regions[i]), sizeof(uint64_t));
		if (d->bits[i] == NULL) {
			vm_dirty_free(d);
			log_error("memory: no room for a dirty-page bitmap");
			return -ENOMEM;
		}
	}
	d->nregions = gm->nregions;
	/* Slot i is region i (setup_memory adds them in that order). */
	for (unsigned int i = 0; i < gm->nregions; i++) {
		struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = d->bits[i]};
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int e = errno;
			log_error_errno(e, "kvm: KVM_GET_DIRTY_LOG (slot %u)", i);
			/* What KVM handed over for earlier slots must not be lost. */
			vm_give_back_dirty(vm, d);
			vm_dirty_free(d);
			return -e;
		}
	}
	for (unsigned int i = 0; i < gm->nregions; i++)
		gmem_take_dirty(gm, i, d->bits[i]);
	return 0;
}

void vm_give_back_dirty(struct vm *vm, const struct vm_dirty *d)
{
	for (unsigned int i = 0; i < d->nregions; i++)
		gmem_give_dirty(&vm->gmem, i, d->bits[i]);
}

bool vm_page_dirty(const struct vm_dirty *d, unsigned int region, uint64_t page)
{
	if (region >= d->nregions || d->bits[region] == NULL)
		return false;
	return (d->bits[region][page / GMEM_BITS_PER_WORD] >> (page % GMEM_BITS_PER_WORD)) & 1;
}

void vm_request_stop(struct vm *vm, int status)
{
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = !vm->stopping;
	if (first) {
		vm->stopping = true;
		vm->exit_status = status;
		pthread_cond_broadcast(&vm->cond); /* parked vCPUs and pausers */
	}
	pthread_mutex_unlock(&vm->lock);
	if (!first)
		return;

	uint64_t one = 1;
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_warn_errno(errno, "vm: wake the VMM loop");
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

bool vm_is_stopping(struct vm *vm)
{
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return stopping;
}

int vm_pause(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	vm->paused = true;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	pthread_mutex_lock(&vm->lock);
	while (!vm->stopping && vm->parked < vm->running_threads)
		pthread_cond_wait(&vm->cond, &vm->lock);
	if (vm->stopping)
		ret = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void vm_pause_soon(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->paused = true;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nvcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->paused = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vm_start_paused(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->paused = true;
	pthread_mutex_unlock(&vm->lock);
}

enum vm_gate vm_vcpu_gate(struct vm *vm, bool settled)
{
	enum vm_gate next;

	pthread_mutex_lock(&vm->lock);
	if (vm->paused && !vm->stopping && !settled) {
		pthread_mutex_unlock(&vm->lock);
		return VM_GATE_SETTLE;
	}
	while (vm->paused && !vm->stopping) {
		vm->parked++;
		pthread_cond_broadcast(&vm->cond); /* tell the pauser */
		pthread_cond_wait(&vm->cond, &vm->lock);
		vm->parked--;
	}
	next = vm->stopping ? VM_GATE_STOP : VM_GATE_RUN;
	pthread_mutex_unlock(&vm->lock);
	return next;
}

void vm_vcpu_thread_started(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->running_threads++;
	pthread_mutex_unlock(&vm->lock);
}

void vm_vcpu_thread_ended(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->running_threads--;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_signal_msi(struct vm *vm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
	    .address_lo = (uint32_t)address,
	    .address_hi = (uint32_t)(address >> 32),
	    .data = data,
	};
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

int vm_set_msi_route(struct vm *vm, unsigned int gsi, bool enabled, uint64_t address,
		     uint32_t data)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry entries[VM_IOAPIC_PINS];
	} table;
	int ret = 0;

	if (gsi >= VM_IOAPIC_PINS)
		return -EINVAL;
	memset(&table, 0, sizeof(table));
	pthread_mutex_lock(&vm->route_lock);
	struct vm_msi_route *r = &vm->routes[gsi];
	if (r->enabled == enabled && (!enabled || (r->address == address && r->data == data)))
		goto out; /* unchanged: spare KVM the table rebuild */
	*r = (struct vm_msi_route){.enabled = enabled, .address = address, .data = data};
	for (unsigned int i = 0; i < VM_IOAPIC_PINS; i++) {
		if (!vm->routes[i].enabled)
			continue;
		struct kvm_irq_routing_entry *e = &table.entries[table.hdr.nr++];
		e->gsi = i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)vm->routes[i].address;
		e->u.msi.address_hi = (uint32_t)(vm->routes[i].address >> 32);
		e->u.msi.data = vm->routes[i].data;
	}
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &table) < 0) {
		ret = -errno;
		log_warn_errno(-ret, "kvm: KVM_SET_GSI_ROUTING (GSI %u)", gsi);
	}
out:
	pthread_mutex_unlock(&vm->route_lock);
	return ret;
}

int vm_irqfd(struct vm *vm, int fd, unsigned int gsi)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int e = errno;
		log_error_errno(e, "kvm: KVM_IRQFD (GSI %u)", gsi);
		return -e;
	}
	return 0;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		int e = errno;
		log_error_errno(e, "kvm: KVM_IOEVENTFD (0x%llx)", (unsigned long long)addr);
		return -e;
	}
	return 0;
}
