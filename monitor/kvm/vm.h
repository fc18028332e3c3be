/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h: one KVM virtual machine: its fds, guest memory, buses, interrupt
 * controller set-up, and the one-way "stop" that ends a run.
 *
 * Everything a second VM in the same process would need is in struct vm;
 * nothing here lives in a file-scope variable.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "ember_err.h"
#include "gmem.h"
#include "startup_trace.h"

#define VM_MAX_VCPUS 32
/* IOAPIC pins the split irqchip reserves routes for (KVM_CAP_SPLIT_IRQCHIP). */
#define VM_IOAPIC_PINS 24

struct ioapic;
struct metrics;
struct pic;
struct seccomp_user_filters;
struct vcpu;

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size; /* bytes of each vCPU's struct kvm_run mapping */

	uint8_t *mem_low; /* [0, mem_low_size) */
	uint64_t mem_low_size;
	uint8_t *mem_high; /* [LAYOUT_MMIO_GAP_END, + mem_high_size), or NULL */
	uint64_t mem_high_size;
	uint64_t ram_page_bytes; /* what backs RAM: 4 KiB, or 2 MiB hugetlbfs pages */
	struct gmem gmem;
	bool track_dirty; /* KVM_MEM_LOG_DIRTY_PAGES on the slots, gmem tracking */

	struct bus pio;
	struct bus mmio;
	struct ioapic *ioapic; /* set by the builder; NULL until then */
	struct pic *pic;       /* the 8259 pair, set by the builder; NULL until then */

	unsigned int nvcpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	bool seccomp;				/* each thread confines itself before it runs */
	struct metrics *metrics;		/* Firecracker-style counters, or NULL */
	const struct seccomp_user_filters *user_filter; /* --seccomp-filter, or NULL */

	/* Run state, guarded by lock; cond wakes parked vCPUs and pausers. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	int exit_status;
	bool paused;		      /* vCPUs must stay out of KVM_RUN */
	unsigned int parked;	      /* vCPU threads waiting because of paused */
	unsigned int running_threads; /* vCPU threads started and not yet ended */
	int stop_fd;		      /* eventfd, readable once the VM is stopping */

	/*
	 * MSI routes for IOAPIC pins (GSI == pin), so irqfds reach the guest
	 * the way the guest programmed the pin. Guarded by route_lock.
	 */
	pthread_mutex_t route_lock;
	struct vm_msi_route {
		bool enabled;
		uint64_t address;
		uint32_t data;
	} routes[VM_IOAPIC_PINS];

	/* Clocks (CLOCK_MONOTONIC ns) for the boot-time report. */
	uint64_t t_exec_ns;	       /* process start, see main.c */
	uint64_t t_build_ns;	       /* start of VM build */
	struct startup_trace *startup; /* phase stamps up to the first KVM_RUN, or NULL */
};

/* Guest RAM as vm_create maps it. */
struct vm_memory {
	uint64_t bytes;
	int fd;		  /* a snapshot's memory file, mapped private; or -1: anonymous */
	bool restored;	  /* RAM holds a snapshot's memory (from fd or from elsewhere) */
	bool track_dirty; /* log writes for diff snapshots (vm_take_dirty) */
	/* Anonymous RAM only: ask for transparent huge pages, or take 2 MiB hugetlbfs pages. */
	bool thp;
	bool hugetlb_2m;
};

/*
 * vm_create: open /dev/kvm, create the VM with a split irqchip (LAPIC in
 * KVM, IOAPIC in ember), and map (mem)'s RAM split around the MMIO gap:
 * anonymous when its fd is -1, else the memory file mapped private (RAM below
 * the gap at offset 0, the rest after it; the caller checks the file is long
 * enough). With track_dirty, KVM logs the vCPUs' writes to every slot and
 * gmem the VMM's; a booted VM starts with every page dirty (no snapshot
 * holds any of it yet), a restored one with none. (vm) is zeroed first;
 * (startup), if not NULL, gets the ends of the KVM and memory phases stamped
 * and stays attached to the VM. Returns 0, or -errno with (err) saying which
 * step failed; on failure everything made so far is released.
 */
int vm_create(struct vm *vm, const struct vm_memory *mem, struct startup_trace *startup,
	      struct ember_err *err);

/*
 * The pages of each RAM region (gmem's order, KVM's bitmap layout) written
 * since the last vm_take_dirty, or since the VM was made.
 */
struct vm_dirty {
	unsigned int nregions;
	uint64_t *bits[GMEM_MAX_REGIONS];
};

/*
 * vm_take_dirty: collect into (d) and clear what the vCPUs (KVM's dirty
 * log) and the VMM (gmem) wrote. The VM must be paused and its devices
 * quiesced. -ENOTSUP when the VM does not track, -errno on failure
 * (logged); (d) then holds nothing and no bit is lost.
 */
int vm_take_dirty(struct vm *vm, struct vm_dirty *d);

/* vm_give_back_dirty: a snapshot of (d) failed: the next take gets its pages again. */
void vm_give_back_dirty(struct vm *vm, const struct vm_dirty *d);

/* vm_dirty_free: release (d); a zeroed (d) is fine. */
void vm_dirty_free(struct vm_dirty *d);

/* vm_page_dirty: whether page (page) of region (region) is set in (d). */
bool vm_page_dirty(const struct vm_dirty *d, unsigned int region, uint64_t page);

/* vm_destroy: release what vm_create made. vCPUs must be gone already. */
void vm_destroy(struct vm *vm);

/*
 * vm_request_stop: end the run with (status). The first request wins; later
 * ones are ignored. Kicks every vCPU out of KVM_RUN and wakes the VMM loop.
 * Safe from any thread.
 */
void vm_request_stop(struct vm *vm, int status);

/* vm_is_stopping: whether vm_request_stop has been called. */
bool vm_is_stopping(struct vm *vm);

/*
 * vm_pause: take every vCPU out of KVM_RUN and keep it parked; returns when
 * all running vCPU threads are parked (or the VM is stopping). Call from
 * the VMM thread. Returns 0, or -ESHUTDOWN when the VM is stopping.
 */
int vm_pause(struct vm *vm);

/*
 * vm_pause_soon: ask every vCPU to park at its next gate and return at
 * once: for a vCPU thread that must stop the guest before it goes on (the
 * caller's own vCPU parks as it leaves its exit). vm_pause then waits for
 * them all. Safe from any thread.
 */
void vm_pause_soon(struct vm *vm);

/* vm_resume: let parked vCPUs run again. */
void vm_resume(struct vm *vm);

/* What a vCPU thread does next, from vm_vcpu_gate. */
enum vm_gate {
	VM_GATE_RUN,	/* enter KVM_RUN */
	VM_GATE_SETTLE, /* a pause is asked: complete the last exit first, then ask again */
	VM_GATE_STOP,	/* the VM is stopping: end the thread */
};

/*
 * vm_vcpu_gate: called by a vCPU thread before each KVM_RUN. While the VM
 * is paused it parks, but only once (settled) says KVM holds no half-done
 * port or MMIO access: a paused VM's state must be complete for a snapshot
 * (KVM finishes such an access on the next KVM_RUN, see api.rst), so an
 * unsettled vCPU gets VM_GATE_SETTLE instead and is not counted as parked.
 */
enum vm_gate vm_vcpu_gate(struct vm *vm, bool settled);

/*
 * vm_start_paused: the vCPUs park before their first KVM_RUN, as after
 * vm_pause (a restored VM waiting for PATCH /vm). Before machine_run.
 */
void vm_start_paused(struct vm *vm);

/* vm_vcpu_thread_started / _ended: a vCPU thread's life, for vm_pause. */
void vm_vcpu_thread_started(struct vm *vm);
void vm_vcpu_thread_ended(struct vm *vm);

/* vm_signal_msi: inject one MSI (address, data) through KVM_SIGNAL_MSI. */
int vm_signal_msi(struct vm *vm, uint64_t address, uint32_t data);

/*
 * vm_set_msi_route: make GSI (gsi) deliver MSI (address, data), or nothing
 * when (enabled) is false; pushes the whole table with
 * KVM_SET_GSI_ROUTING. The IOAPIC calls this whenever the guest changes a
 * redirection entry. Returns 0 or -errno.
 */
int vm_set_msi_route(struct vm *vm, unsigned int gsi, bool enabled, uint64_t address,
		     uint32_t data);

/*
 * vm_irqfd: writes to eventfd (fd) raise GSI (gsi) inside KVM (KVM_IRQFD),
 * with no exit to ember. Returns 0 or -errno.
 */
int vm_irqfd(struct vm *vm, int fd, unsigned int gsi);

/*
 * vm_ioeventfd: a guest write of (len) bytes equal to (datamatch) at MMIO
 * address (addr) signals eventfd (fd) inside KVM (KVM_IOEVENTFD) instead of
 * exiting to a vCPU thread. Returns 0 or -errno.
 */
int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, uint64_t datamatch);

/* vm_now_ns: CLOCK_MONOTONIC in nanoseconds. */
uint64_t vm_now_ns(void);

#endif /* EMBER_VM_H */
