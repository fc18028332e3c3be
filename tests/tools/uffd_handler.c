// SPDX-License-Identifier: Apache-2.0
/*
 * uffd_handler.c: a page-fault handler for ember's Uffd memory backend
 * (monitor/snapshot/snap_uffd.h), for the tests: the other end of
 * Firecracker's protocol, written for ember.
 *
 *   uffd_handler SOCKET MEMFILE [--exit-after N | --hang-up]
 *
 * It listens on SOCKET, accepts one connection, receives the JSON region
 * list with the userfaultfd, maps MEMFILE, and serves each missing-page
 * fault with the page from the file: UFFDIO_COPY, or UFFDIO_ZEROPAGE for
 * a page of zeros (a hole); when ember's RAM is on 2M hugetlbfs pages, a
 * whole 2 MiB page, always copied (hugetlbfs has no zero-page fill). It
 * ends when ember hangs up (or the uffd says ember's memory is gone) and
 * prints
 *
 *   uffd_handler: served N faults (C copied, Z zero pages)
 *
 * --exit-after N: exit (status 3) after serving N faults, as a handler
 * that crashes. --hang-up: close the connection at once, unread.
 * Exit status: 0 served until ember ended, 3 --exit-after, 1 an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PAGE_BYTES   4096u		/* small pages: zero-filled or copied */
#define HUGE_BYTES   (2u * 1024 * 1024) /* 2M hugetlbfs pages: copied whole */
#define MAX_REGIONS  8
#define MSG_MAX	     4096
#define EXIT_CRASHED 3

struct region {
	uint64_t base; /* in ember */
	uint64_t size;
	uint64_t offset; /* in the memory file */
};

struct handler {
	int uffd;
	int conn;
	const uint8_t *file;
	uint64_t file_size;
	struct region regions[MAX_REGIONS];
	unsigned int nregions;
	uint64_t page; /* every region's page size */
	unsigned long copied, zeroed;
};

static int die(const char *what)
{
	fprintf(stderr, "uffd_handler: %s: %s\n", what, strerror(errno));
	return 1;
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path))
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* receive: the region list and the userfaultfd, in one message. */
static int receive(struct handler *h, char *buf, size_t size)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = size - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(h->conn, &mh, MSG_CMSG_CLOEXEC);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&h->uffd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* parse: Firecracker's GuestRegionUffdMapping array, each region inside the file. */
static int parse(struct handler *h, const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	size_t i;
	json_t *o;

	if (!json_is_array(root) || json_array_size(root) == 0 ||
	    json_array_size(root) > MAX_REGIONS) {
		fprintf(stderr, "uffd_handler: bad region list: %s\n", text);
		json_decref(root);
		return -1;
	}
	json_array_foreach(root, i, o)
	{
		struct region *r = &h->regions[i];
		uint64_t page_size = 0, page_size_kib = 0;
		if (get_u64(o, "base_host_virt_addr", &r->base) < 0 ||
		    get_u64(o, "size", &r->size) < 0 || get_u64(o, "offset", &r->offset) < 0 ||
		    get_u64(o, "page_size", &page_size) < 0 ||
		    get_u64(o, "page_size_kib", &page_size_kib) < 0 ||
		    (page_size != PAGE_BYTES && page_size != HUGE_BYTES) ||
		    page_size_kib != page_size || (i > 0 && page_size != h->page) ||
		    r->base % page_size != 0 || r->size % page_size != 0 ||
		    r->offset > h->file_size || r->size > h->file_size - r->offset) {
			fprintf(stderr, "uffd_handler: bad region %zu in %s\n", i, text);
			json_decref(root);
			return -1;
		}
		h->page = page_size;
	}
	h->nregions = (unsigned int)json_array_size(root);
	json_decref(root);
	return 0;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* serve: one fault at (addr). 1 served, 0 nothing to do, -1 ember is gone, -2 an error. */
static int serve(struct handler *h, uint64_t addr)
{
	uint64_t page = addr & ~(h->page - 1);
	const struct region *r = NULL;

	for (unsigned int i = 0; i < h->nregions && r == NULL; i++)
		if (page >= h->regions[i].base && page - h->regions[i].base < h->regions[i].size)
			r = &h->regions[i];
	if (r == NULL) {
		fprintf(stderr, "uffd_handler: a fault outside every region: 0x%llx\n",
			(unsigned long long)addr);
		return -2;
	}
	const uint8_t *src = h->file + r->offset + (page - r->base);
	int ret;
	/* hugetlbfs has no UFFDIO_ZEROPAGE: a huge page of zeros is copied too. */
	bool zero = h->page == PAGE_BYTES && all_zero(src, h->page);
	if (zero) {
		struct uffdio_zeropage z = {.range = {.start = page, .len = h->page}};
		ret = ioctl(h->uffd, UFFDIO_ZEROPAGE, &z);
	} else {
		struct uffdio_copy c = {
		    .dst = page, .src = (uint64_t)(uintptr_t)src, .len = h->page};
		ret = ioctl(h->uffd, UFFDIO_COPY, &c);
	}
	if (ret < 0 && errno == EEXIST)
		return 0; /* another fault on the same page got there first */
	if (ret < 0 && errno == ESRCH)
		return -1; /* ember's memory is gone */
	if (ret < 0) {
		fprintf(stderr, "uffd_handler: %s at 0x%llx: %s\n",
			zero ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY", (unsigned long long)page,
			strerror(errno));
		return -2;
	}
	if (zero)
		h->zeroed++;
	else
		h->copied++;
	return 1;
}

static void report(const struct handler *h)
{
	printf("uffd_handler: served %lu faults (%lu copied, %lu zero pages)\n",
	       h->copied + h->zeroed, h->copied, h->zeroed);
	fflush(stdout);
}

/* run: serve faults until ember hangs up; (exit_after) 0 for no limit. */
static int run(struct handler *h, unsigned long exit_after)
{
	struct pollfd p[2] = {{.fd = h->uffd, .events = POLLIN},
			      {.fd = h->conn, .events = POLLRDHUP}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return die("poll");
		}
		if ((p[0].revents & POLLIN) != 0) {
			struct uffd_msg msg;
			ssize_t n = read(h->uffd, &msg, sizeof(msg));
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n != (ssize_t)sizeof(msg))
				return die("read uffd");
			if (msg.event != UFFD_EVENT_PAGEFAULT)
				continue;
			int ret = serve(h, msg.arg.pagefault.address);
			if (ret == -1)
				break;
			if (ret == -2)
				return 1;
			if (exit_after != 0 && h->copied + h->zeroed >= exit_after) {
				report(h);
				return EXIT_CRASHED;
			}
			continue;
		}
		if ((p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
			break; /* ember ended */
	}
	report(h);
	return 0;
}

int main(int argc, char **argv)
{
	struct handler h = {.uffd = -1, .conn = -1};
	unsigned long exit_after = 0;
	bool hang_up = false;
	char msg[MSG_MAX];
	struct stat st;

	if (argc == 5 && strcmp(argv[3], "--exit-after") == 0)
		exit_after = strtoul(argv[4], NULL, 10);
	else if (argc == 4 && strcmp(argv[3], "--hang-up") == 0)
		hang_up = true;
	else if (argc != 3) {
		fprintf(stderr,
			"usage: uffd_handler SOCKET MEMFILE [--exit-after N | --hang-up]\n");
		return 1;
	}
	int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return die(argv[2]);
	h.file_size = (uint64_t)st.st_size;
	h.file = mmap(NULL, h.file_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (h.file == MAP_FAILED)
		return die("mmap");
	close(fd);
	int lfd = listen_on(argv[1]);
	if (lfd < 0)
		return die(argv[1]);
	printf("uffd_handler: listening on %s\n", argv[1]);
	fflush(stdout);
	h.conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	unlink(argv[1]);
	if (h.conn < 0)
		return die("accept");
	if (hang_up) {
		close(h.conn);
		printf("uffd_handler: hung up\n");
		return 0;
	}
	if (receive(&h, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "uffd_handler: no region list with a userfaultfd\n");
		return 1;
	}
	if (parse(&h, msg) < 0)
		return 1;
	printf("uffd_handler: %u regions\n", h.nregions);
	fflush(stdout);
	return run(&h, exit_after);
}
