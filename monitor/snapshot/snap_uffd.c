// SPDX-License-Identifier: Apache-2.0
/* snap_uffd.c: guest RAM served by a page-fault handler process (see snap_uffd.h). */
#include "snap_uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "evloop.h"
#include "exit_status.h"
#include "log.h"
#include "vm.h"

/* A small page: RAM of these may be zero-filled (UFFDIO_ZEROPAGE); hugetlbfs pages only copied. */
#define UFFD_PAGE_BYTES 4096u
/* Both regions' JSON, with room to spare (Firecracker's handlers read up to 1 KiB). */
#define UFFD_MSG_MAX 512
/* The device that hands out userfaultfds by its file permissions (Linux 6.1). */
#define UFFD_DEVICE "/dev/userfaultfd"
#define FIELD	    "mem_backend.backend_path"
#define HUNG_UP	    FIELD ": the page-fault handler at '%s' hung up before the restore was done"

/* One guest RAM region as the handler needs it. */
struct region {
	const void *host;
	uint64_t size;
	uint64_t offset; /* in the memory file */
};

/* regions: (vm)'s RAM below the MMIO gap, then above it. Returns how many. */
static unsigned int regions(const struct vm *vm, struct region out[2])
{
	unsigned int n = 0;

	out[n++] = (struct region){vm->mem_low, vm->mem_low_size, 0};
	if (vm->mem_high != NULL)
		out[n++] = (struct region){vm->mem_high, vm->mem_high_size, vm->mem_low_size};
	return n;
}

/*
 * new_uffd: a userfaultfd that also sees faults from kernel mode (KVM's
 * accesses to guest RAM are those). userfaultfd(2) gives one to a process
 * with CAP_SYS_PTRACE or when vm.unprivileged_userfaultfd is 1;
 * /dev/userfaultfd gives one to whoever may open it. Non-blocking, as
 * Firecracker makes it: the handler shares the file and polls it.
 */
static int new_uffd(char *err, size_t errsz)
{
	const int flags = O_CLOEXEC | O_NONBLOCK;
	int fd = (int)syscall(SYS_userfaultfd, flags);

	if (fd >= 0)
		return fd;
	int e = errno;
#ifdef USERFAULTFD_IOC_NEW
	int dev = open(UFFD_DEVICE, O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		e = fd < 0 ? errno : e;
		close(dev);
		if (fd >= 0)
			return fd;
	}
#endif
	snprintf(
	    err, errsz,
	    "mem_backend: this host gives ember no userfaultfd (%s): it needs CAP_SYS_PTRACE "
	    "or the sysctl vm.unprivileged_userfaultfd=1, or read-write access to " UFFD_DEVICE,
	    strerror(e));
	return -e;
}

/*
 * setup_uffd: the API handshake, then every region registered for missing
 * pages. Small pages are filled by UFFDIO_COPY or UFFDIO_ZEROPAGE; hugetlbfs
 * pages (page > 4 KiB) by UFFDIO_COPY alone, which is all the kernel offers.
 */
static int setup_uffd(int fd, const struct region *r, unsigned int n, uint64_t page, char *err,
		      size_t errsz)
{
	struct uffdio_api api = {.api = UFFD_API};

	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int e = errno;
		snprintf(err, errsz, "mem_backend: userfaultfd: UFFDIO_API: %s", strerror(e));
		return -e;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct uffdio_register reg = {
		    .range = {.start = (uint64_t)(uintptr_t)r[i].host, .len = r[i].size},
		    .mode = UFFDIO_REGISTER_MODE_MISSING,
		};
		if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
			int e = errno;
			snprintf(err, errsz,
				 "mem_backend: userfaultfd: UFFDIO_REGISTER of %" PRIu64
				 " MiB of guest RAM: %s",
				 r[i].size >> 20, strerror(e));
			return -e;
		}
		const uint64_t need = (1ULL << _UFFDIO_COPY) |
				      (page == UFFD_PAGE_BYTES ? 1ULL << _UFFDIO_ZEROPAGE : 0);
		if ((reg.ioctls & need) != need) {
			snprintf(err, errsz,
				 "mem_backend: userfaultfd: the host cannot fill guest RAM "
				 "(no UFFDIO_COPY or UFFDIO_ZEROPAGE)");
			return -ENOTSUP;
		}
	}
	return 0;
}

/* connect_handler: a stream connection to the handler's socket at (path). */
static int connect_handler(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);

	if (len == 0 || len > SNAP_UFFD_PATH_MAX) {
		snprintf(err, errsz, FIELD ": a socket path of %zu bytes (1 to %zu)", len,
			 (size_t)SNAP_UFFD_PATH_MAX);
		return -EINVAL;
	}
	memcpy(addr.sun_path, path, len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		snprintf(err, errsz, FIELD ": cannot connect to '%s': %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

/* mappings_json: the message, Firecracker's GuestRegionUffdMapping array. */
static int mappings_json(const struct region *r, unsigned int n, uint64_t page, char *buf,
			 size_t size)
{
	size_t at = 0;

	for (unsigned int i = 0; i < n; i++) {
		int len = snprintf(buf + at, size - at,
				   "%s{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64
				   ",\"offset\":%" PRIu64 ",\"page_size\":%" PRIu64
				   ",\"page_size_kib\":%" PRIu64 "}",
				   i == 0 ? "[" : ",", (uint64_t)(uintptr_t)r[i].host, r[i].size,
				   r[i].offset, page, page);
		if (len < 0 || (size_t)len >= size - at)
			return -ENOSPC;
		at += (size_t)len;
	}
	if (at + 2 > size)
		return -ENOSPC;
	buf[at++] = ']';
	buf[at] = '\0';
	return (int)at;
}

/* send_mappings: the JSON with the userfaultfd attached, then any rest of it. */
static int send_mappings(int sock, int uffd, const char *msg, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control.buf,
	    .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(control.buf, 0, sizeof(control.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	ssize_t sent = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (sent >= 0 && (size_t)sent < len) {
		ssize_t more = send(sock, msg + sent, len - (size_t)sent, MSG_NOSIGNAL);
		sent = more < 0 ? more : sent + more;
	}
	return sent < 0 ? -errno : 0;
}

/* drop_uffd: close the userfaultfd once, whichever thread comes first. */
static void drop_uffd(struct snap_uffd *u)
{
	int fd = atomic_exchange(&u->uffd, -1);

	if (fd >= 0)
		close(fd);
}

int snap_uffd_attach(struct snap_uffd *u, struct vm *vm, const char *path, char *err, size_t errsz)
{
	struct region r[2];
	unsigned int n = regions(vm, r);
	char msg[UFFD_MSG_MAX];
	int len = mappings_json(r, n, vm->ram_page_bytes, msg, sizeof(msg));

	memset(u, 0, sizeof(*u));
	atomic_init(&u->uffd, -1);
	u->sock = u->guard_stop_fd = -1;
	if (len < 0) {
		snprintf(err, errsz, "mem_backend: the region list does not fit its message");
		return len;
	}
	int sock = connect_handler(path, err, errsz);
	if (sock < 0)
		return sock;
	int uffd = new_uffd(err, errsz);
	int ret = uffd < 0 ? uffd : setup_uffd(uffd, r, n, vm->ram_page_bytes, err, errsz);
	if (ret == 0) {
		ret = send_mappings(sock, uffd, msg, (size_t)len);
		/* A hangup before the message is the one the guard would report after it. */
		if (ret == -EPIPE || ret == -ECONNRESET)
			snprintf(err, errsz, HUNG_UP, path);
		else if (ret < 0)
			snprintf(err, errsz,
				 FIELD ": cannot send the guest memory regions to '%s': %s", path,
				 strerror(-ret));
	}
	if (ret < 0) {
		if (uffd >= 0)
			close(uffd);
		close(sock);
		return ret;
	}
	atomic_store(&u->uffd, uffd);
	u->sock = sock;
	u->vm = vm;
	snprintf(u->path, sizeof(u->path), "%s", path);
	u->active = true;
	log_info("snapshot: guest RAM served by the page-fault handler at '%s'", path);
	return 0;
}

/* guard_main: wait for the handler's hangup or the end of the guarded part. */
static void *guard_main(void *arg)
{
	struct snap_uffd *u = arg;
	struct pollfd p[2] = {{.fd = u->sock, .events = POLLRDHUP},
			      {.fd = u->guard_stop_fd, .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if ((p[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
			/* No one will serve a page now: let every wait for one end. */
			atomic_store(&u->hung_up, true);
			drop_uffd(u);
			break;
		}
	}
	return NULL;
}

int snap_uffd_guard_begin(struct snap_uffd *u, char *err, size_t errsz)
{
	if (!u->active)
		return 0;
	u->guard_stop_fd = eventfd(0, EFD_CLOEXEC);
	int ret = u->guard_stop_fd < 0 ? errno : pthread_create(&u->guard, NULL, guard_main, u);
	if (ret != 0) {
		snprintf(err, errsz, "mem_backend: cannot watch the page-fault handler: %s",
			 strerror(ret));
		if (u->guard_stop_fd >= 0)
			close(u->guard_stop_fd);
		u->guard_stop_fd = -1;
		return -ret;
	}
	u->guarding = true;
	/*
	 * One page read here, before anything else: a handler that serves
	 * it is alive; one that hung up, or does before it answers, is seen
	 * by the guard, and the read goes on once the guard closes the fd.
	 * So the outcome does not hang on whether the restore itself happens
	 * to read guest RAM before the handler's hangup.
	 */
	(void)*(volatile const uint8_t *)u->vm->mem_low;
	return 0;
}

int snap_uffd_guard_end(struct snap_uffd *u, char *err, size_t errsz)
{
	uint64_t one = 1;

	if (!u->guarding)
		return 0;
	if (write(u->guard_stop_fd, &one, sizeof(one)) < 0)
		log_warn_errno(errno, "snapshot: cannot end the page-fault handler's watch");
	pthread_join(u->guard, NULL);
	close(u->guard_stop_fd);
	u->guard_stop_fd = -1;
	u->guarding = false;
	if (!atomic_load(&u->hung_up))
		return 0;
	snprintf(err, errsz, HUNG_UP, u->path);
	return -EPIPE;
}

/* on_hangup: the handler is gone while the VM lives: nothing will serve its pages. */
static void on_hangup(void *opaque, int fd, uint32_t events)
{
	struct snap_uffd *u = opaque;

	(void)fd;
	(void)events;
	log_error("snapshot: the page-fault handler at '%s' hung up: stopping the microVM",
		  u->path);
	evloop_del(u->loop, u->sock);
	u->loop = NULL;
	/* Stop first: a vCPU woken by the close below must find the stop request. */
	vm_request_stop(u->vm, EMBER_EXIT_HOST_ERROR);
	drop_uffd(u);
}

int snap_uffd_watch(struct snap_uffd *u, struct evloop *loop)
{
	if (!u->active)
		return 0;
	int ret = evloop_add(loop, u->sock, EPOLLRDHUP, on_hangup, u);
	if (ret < 0) {
		log_error_errno(-ret, "snapshot: cannot watch the page-fault handler");
		return ret;
	}
	u->loop = loop;
	return 0;
}

void snap_uffd_release(struct snap_uffd *u)
{
	if (!u->active)
		return;
	if (u->loop != NULL)
		evloop_del(u->loop, u->sock);
	close(u->sock);
	drop_uffd(u);
	u->loop = NULL;
	u->sock = -1;
	u->active = false;
}
