/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_uffd.h: the Uffd memory backend of a snapshot restore, Firecracker's
 * protocol. Guest RAM is anonymous memory registered with a userfaultfd for
 * missing-page faults; a page-fault handler, another process listening on
 * a Unix stream socket, serves each first touch of a page (UFFDIO_COPY,
 * UFFDIO_ZEROPAGE) from wherever it keeps the snapshot's memory. ember
 * connects to the socket and sends one message: the guest RAM regions as
 * a JSON array, with the userfaultfd attached (SCM_RIGHTS):
 *
 *   [{"base_host_virt_addr": A, "size": S, "offset": O,
 *     "page_size": 4096, "page_size_kib": 4096}, ...]
 *
 * A is where the region is mapped in ember, S its length in bytes, O where
 * it starts in the memory file (RAM below the MMIO gap first, snap_memory.h);
 * page_size_kib is Firecracker's older, misnamed field, in bytes as there.
 * The page size is the one backing guest RAM: 4096, or 2097152 for a VM on
 * 2M huge pages, whose handler must fill whole 2 MiB pages by UFFDIO_COPY
 * (hugetlbfs has no UFFDIO_ZEROPAGE).
 *
 * ember keeps the connection for the VM's life: the handler learns that
 * ember ended by its hangup, and ember that the handler did by the
 * handler's. A handler that hangs up while the restore is reading guest
 * RAM fails the restore; one that hangs up later stops the VM. Either way
 * ember closes its userfaultfd, so nothing waits for a page for ever.
 */
#ifndef EMBER_SNAP_UFFD_H
#define EMBER_SNAP_UFFD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

struct evloop;
struct vm;

/* The longest socket path: sun_path less its NUL. */
#define SNAP_UFFD_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* One VM's userfaultfd and its handler connection. Zeroed: not in use. */
struct snap_uffd {
	bool active;	 /* attached; the fds below are ours */
	atomic_int uffd; /* -1 once closed (by whichever thread sees the hangup first) */
	int sock;	 /* the connection to the handler */
	char path[SNAP_UFFD_PATH_MAX + 1];
	struct vm *vm;

	/* While the restore reads guest RAM: a thread watching for the hangup. */
	pthread_t guard;
	int guard_stop_fd; /* eventfd: the guarded part is done */
	bool guarding;
	atomic_bool hung_up;

	/* After the restore: the VMM loop watches the connection. */
	struct evloop *loop;
};

/*
 * snap_uffd_attach: (vm)'s RAM, freshly mapped anonymous and never
 * touched, registered with a new userfaultfd, which goes with the region
 * list to the handler at (path). Call right after vm_create, before
 * anything reads or writes guest RAM. Returns 0, or -errno with (err)
 * naming the field: "mem_backend.backend_path: cannot connect to 'X': ..."
 * or, when the host gives no userfaultfd, what to change. On failure (u)
 * holds nothing.
 */
int snap_uffd_attach(struct snap_uffd *u, struct vm *vm, const char *path, char *err, size_t errsz);

/*
 * snap_uffd_guard_begin / _end: around the part of a restore that reads
 * guest RAM (device and vCPU state). A handler that hangs up in between has
 * its userfaultfd closed under it, so every wait for a page ends; _end
 * then returns -EPIPE with (err) saying so, else 0. A (u) not in use:
 * both do nothing. _begin returns 0 or -errno (err).
 */
int snap_uffd_guard_begin(struct snap_uffd *u, char *err, size_t errsz);
int snap_uffd_guard_end(struct snap_uffd *u, char *err, size_t errsz);

/*
 * snap_uffd_watch: from now on (loop), the VMM thread's, watches the
 * handler connection: when the handler hangs up, the VM stops with a host
 * error and the userfaultfd is closed. 0 or -errno (logged).
 */
int snap_uffd_watch(struct snap_uffd *u, struct evloop *loop);

/*
 * snap_uffd_release: close the connection (the handler sees ember's end)
 * and the userfaultfd. Before guest RAM is unmapped. A zeroed (u): nothing.
 */
void snap_uffd_release(struct snap_uffd *u);

#endif /* EMBER_SNAP_UFFD_H */
