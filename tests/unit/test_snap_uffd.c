// SPDX-License-Identifier: Apache-2.0
/*
 * test_snap_uffd.c: the Uffd memory backend without KVM, over anonymous
 * memory standing for guest RAM and this test playing the page-fault
 * handler: the message is Firecracker's region list, byte for byte, with
 * a working userfaultfd; a fault is served through it; a socket that is
 * missing, refuses, or whose path is too long is refused naming the field;
 * a handler that hangs up during the guarded part of a restore makes it
 * fail without hanging, and one that hangs up later stops the VM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "exit_status.h"
#include "snap_uffd.h"
#include "vm.h"

#define PAGE	   4096u
#define LOW_BYTES  (16u * PAGE)
#define HIGH_BYTES (8u * PAGE)
#define ERR_MAX	   512
#define PATTERN	   0x5a
#define MSG_MAX	   1024
#define WAIT_MS	   5000

/* One test's world: fake guest RAM in a struct vm, a listening socket. */
struct world {
	struct vm vm;
	char dir[64];
	char path[96];
	int listener;
	struct snap_uffd u;
	int conn; /* the handler's end, once accepted */
	int uffd; /* the handler's copy of the userfaultfd */
	char msg[MSG_MAX];
};

/* vm.c kicks each vCPU on a stop; these VMs have none (vcpu.c stays out of the test). */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu)
{
	(void)vcpu;
	fail_msg("a VM without vCPUs kicked one");
}

/* have_uffd: this process may make a userfaultfd that sees kernel faults. */
static int have_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	assert_non_null(w);
	w->conn = w->uffd = w->listener = -1;
	snprintf(w->dir, sizeof(w->dir), "/tmp/ember-uffd.XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->path, sizeof(w->path), "%s/h.sock", w->dir);
	w->vm.mem_low =
	    mmap(NULL, LOW_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->vm.mem_high =
	    mmap(NULL, HIGH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(w->vm.mem_low != MAP_FAILED && w->vm.mem_high != MAP_FAILED);
	w->vm.mem_low_size = LOW_BYTES;
	w->vm.mem_high_size = HIGH_BYTES;
	w->vm.ram_page_bytes = 4096; /* small pages, as vm_create sets them */
	pthread_mutex_init(&w->vm.lock, NULL);
	pthread_cond_init(&w->vm.cond, NULL);
	w->vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", w->path);
	assert_int_equal(bind(w->listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(w->listener, 1), 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	snap_uffd_release(&w->u);
	if (w->conn >= 0)
		close(w->conn);
	if (w->uffd >= 0)
		close(w->uffd);
	close(w->listener);
	close(w->vm.stop_fd);
	munmap(w->vm.mem_low, LOW_BYTES);
	munmap(w->vm.mem_high, HIGH_BYTES);
	unlink(w->path);
	rmdir(w->dir);
	pthread_mutex_destroy(&w->vm.lock);
	pthread_cond_destroy(&w->vm.cond);
	free(w);
	return 0;
}

/* accept_handler: the handler's side: the connection, the message and the fd. */
static void accept_handler(struct world *w)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = w->msg, .iov_len = sizeof(w->msg) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control.buf,
			    .msg_controllen = sizeof(control.buf)};

	w->conn = accept4(w->listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(w->conn >= 0);
	ssize_t n = recvmsg(w->conn, &mh, MSG_CMSG_CLOEXEC);
	assert_true(n > 0);
	w->msg[n] = '\0';
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	assert_non_null(c);
	assert_int_equal(c->cmsg_type, SCM_RIGHTS);
	memcpy(&w->uffd, CMSG_DATA(c), sizeof(int));
}

static void attach(struct world *w)
{
	char err[ERR_MAX] = "";

	assert_int_equal(snap_uffd_attach(&w->u, &w->vm, w->path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	accept_handler(w);
}

/* The message is Firecracker's region list, offsets in the memory file's layout. */
static void test_message_is_the_region_list(void **state)
{
	struct world *w = *state;
	char want[MSG_MAX];

	if (!have_uffd())
		skip();
	attach(w);
	snprintf(want, sizeof(want),
		 "[{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%u,\"offset\":0,"
		 "\"page_size\":4096,\"page_size_kib\":4096},"
		 "{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%u,\"offset\":%u,"
		 "\"page_size\":4096,\"page_size_kib\":4096}]",
		 (uint64_t)(uintptr_t)w->vm.mem_low, LOW_BYTES, (uint64_t)(uintptr_t)w->vm.mem_high,
		 HIGH_BYTES, LOW_BYTES);
	assert_string_equal(w->msg, want);
}

struct toucher {
	const volatile uint8_t *p;
	uint8_t seen;
};

static void *touch(void *arg)
{
	struct toucher *t = arg;

	t->seen = *t->p;
	return NULL;
}

/* A read of a page no one filled waits for the handler, and sees what it copied. */
static void test_a_fault_is_served_through_the_handler(void **state)
{
	struct world *w = *state;
	struct toucher t = {.p = w->vm.mem_high + 3 * PAGE + 17};
	struct uffd_msg msg;
	pthread_t thread;
	static uint8_t page[PAGE];

	if (!have_uffd())
		skip();
	attach(w);
	assert_int_equal(pthread_create(&thread, NULL, touch, &t), 0);
	struct pollfd p = {.fd = w->uffd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(w->uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_PAGEFAULT);
	assert_true(msg.arg.pagefault.address == (uint64_t)(uintptr_t)(w->vm.mem_high + 3 * PAGE));
	memset(page, PATTERN, sizeof(page));
	struct uffdio_copy c = {
	    .dst = msg.arg.pagefault.address, .src = (uint64_t)(uintptr_t)page, .len = PAGE};
	assert_int_equal(ioctl(w->uffd, UFFDIO_COPY, &c), 0);
	pthread_join(thread, NULL);
	assert_int_equal(t.seen, PATTERN);
}

static void test_missing_socket_names_the_field(void **state)
{
	struct world *w = *state;
	char err[ERR_MAX], want[ERR_MAX], path[256];

	snprintf(path, sizeof(path), "%s/none.sock", w->dir);
	assert_int_equal(snap_uffd_attach(&w->u, &w->vm, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want),
		 "mem_backend.backend_path: cannot connect to '%s': No such file or directory",
		 path);
	assert_string_equal(err, want);
	assert_false(w->u.active);

	/* A file that is no socket refuses the connection. */
	snprintf(path, sizeof(path), "%s/plain", w->dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(snap_uffd_attach(&w->u, &w->vm, path, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "Connection refused"));
	unlink(path);

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(snap_uffd_attach(&w->u, &w->vm, path, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "mem_backend.backend_path: a socket path of 255 bytes (1 to 107)");
	assert_false(w->u.active);
}

/*
 * A handler that hangs up before serving: the guarded part (its first read
 * of guest RAM included) ends, and the guard says why.
 */
static void test_hangup_during_the_restore_fails_it(void **state)
{
	struct world *w = *state;
	char err[ERR_MAX] = "", want[ERR_MAX];

	if (!have_uffd())
		skip();
	attach(w);
	close(w->uffd);
	w->uffd = -1;
	close(w->conn);
	w->conn = -1;
	assert_int_equal(snap_uffd_guard_begin(&w->u, err, sizeof(err)), 0);
	assert_int_equal(w->vm.mem_low[PAGE], 0); /* not served: ember's own zero page */
	assert_int_equal(snap_uffd_guard_end(&w->u, err, sizeof(err)), -EPIPE);
	snprintf(want, sizeof(want),
		 "mem_backend.backend_path: the page-fault handler at '%s' hung up before the "
		 "restore was done",
		 w->path);
	assert_string_equal(err, want);
}

/* A handler that stays: the guard reports nothing, and its thread is gone. */
static void test_guard_passes_while_the_handler_serves(void **state)
{
	struct world *w = *state;
	char err[ERR_MAX] = "";
	struct toucher t = {.p = w->vm.mem_low};
	pthread_t thread;
	struct uffd_msg msg;

	if (!have_uffd())
		skip();
	attach(w);
	/* guard_begin reads the first page: serve it from another thread's view. */
	assert_int_equal(pthread_create(&thread, NULL, touch, &t), 0);
	struct pollfd p = {.fd = w->uffd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(w->uffd, &msg, sizeof(msg)), sizeof(msg));
	struct uffdio_zeropage z = {.range = {.start = msg.arg.pagefault.address, .len = PAGE}};
	assert_int_equal(ioctl(w->uffd, UFFDIO_ZEROPAGE, &z), 0);
	pthread_join(thread, NULL);
	assert_int_equal(snap_uffd_guard_begin(&w->u, err, sizeof(err)), 0);
	assert_int_equal(snap_uffd_guard_end(&w->u, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

/* After the restore: the VMM loop sees the hangup and stops the VM with a host error. */
static void test_hangup_while_running_stops_the_vm(void **state)
{
	struct world *w = *state;
	struct evloop loop;

	if (!have_uffd())
		skip();
	attach(w);
	assert_int_equal(evloop_init(&loop), 0);
	assert_int_equal(snap_uffd_watch(&w->u, &loop), 0);
	assert_int_equal(evloop_poll(&loop, 0), 0); /* the handler is there: nothing */
	assert_false(vm_is_stopping(&w->vm));
	close(w->conn);
	w->conn = -1;
	assert_int_equal(evloop_poll(&loop, WAIT_MS), 1);
	assert_true(vm_is_stopping(&w->vm));
	assert_int_equal(w->vm.exit_status, EMBER_EXIT_HOST_ERROR);
	assert_int_equal(atomic_load(&w->u.uffd), -1);
	snap_uffd_release(&w->u);
	assert_int_equal(loop.count, 0);
	evloop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_message_is_the_region_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_fault_is_served_through_the_handler, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_missing_socket_names_the_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hangup_during_the_restore_fails_it, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_guard_passes_while_the_handler_serves, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_hangup_while_running_stops_the_vm, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
