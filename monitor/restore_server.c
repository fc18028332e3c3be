// SPDX-License-Identifier: Apache-2.0
/* restore_server.c: snapshot clones by fork (see restore_server.h). */
#include "restore_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit_status.h"
#include "log.h"
#include "pid_map.h"
#include "restore_clients.h"
#include "warm_pool.h"
#include "vm.h"

/* A request is a PUT /snapshot/load body: the API's default payload limit. */
#define REQUEST_MAX 51200u
#define STDIO_FDS   RESTORE_STDIO_FDS
#define ANSWER_MAX  RESTORE_ANSWER_MAX
/* Connections waiting for accept: clones come in bursts. */
#define LISTEN_BACKLOG 4096
/* epoll events taken per wait. */
#define EVENTS_MAX 64
/* Exit status of a clone killed by a signal: 128 + the signal, as shells say. */
#define SIGNAL_EXIT_BASE 128
/* A client that connects and sends nothing is dropped after this long. */
#define REQUEST_TIMEOUT_S  5
#define REQUEST_TIMEOUT_NS (REQUEST_TIMEOUT_S * 1000000000ULL)
/* How often the server looks for such clients (epoll's timeout, ms). */
#define SWEEP_PERIOD_MS 1000
/* Snapshots that may each have warm clones waiting. */
#define WARM_MAX CONFIG_PREWARM_MAX
/*
 * A pool of more than one refills only when no event came for this long,
 * a few clones at a time: a burst the pool serves is not slowed by the
 * clones being made to replace those it took.
 */
#define REFILL_QUIET_MS 2
#define REFILL_PER_TURN 4
/* After a pool could not fork (out of descriptors or processes), it waits this long. */
#define REFILL_RETRY_NS 1000000000ULL
/* Descriptors the server holds besides its clients and warm clones: stdio, its own, a log, libc. */
#define SERVER_BASE_FDS 16
/* Kept from warm clones for clients: their connections, and the stdio each request passes. */
#define CLIENT_FD_RESERVE 64

struct server {
	const char *path;
	struct warm_pool warm[WARM_MAX];
	struct pid_map warm_pids; /* each waiting warm clone's pid -> its pool */
	uint64_t requests;	  /* the clock of last_used */
	int listen_fd, epfd, sig_fd;
	bool listen_paused;		/* out of descriptors: accept again at the next sweep */
	struct restore_clients clients; /* every connection and what it is owed */
	struct pid_map clones;		/* each running clone's pid -> its conn */
	char *buf;			/* one request at a time */
	sigset_t blocked;
};

/* The epoll tags of the two fds that are not connections. */
static const int tag_listen, tag_signal;

static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			/* The connection waits in the backlog: no spinning on it meanwhile. */
			struct epoll_event ev = {.events = 0, .data.ptr = (void *)&tag_listen};
			log_warn_errno(errno, "restore server: cannot accept a client now");
			(void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
			s->listen_paused = true;
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn_errno(errno, "restore server: accept");
			return;
		}
		if (clients_add(&s->clients, fd, vm_now_ns()) < 0) {
			static const char busy[] =
			    "{\"error\":\"the restore server is out of memory\"}";
			(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
		}
	}
}

/*
 * take_fds: the descriptors that came with a request, into (fds). None or
 * exactly the three of stdio; anything else is closed and refused.
 */
static int take_fds(struct msghdr *mh, int *fds, const char **why)
{
	int n = 0, extra = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (n < STDIO_FDS) {
				fds[n++] = fd;
			} else {
				close(fd);
				extra++;
			}
		}
	}
	if ((mh->msg_flags & MSG_CTRUNC) || extra > 0 || (n != 0 && n != STDIO_FDS)) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		*why = "pass no file descriptors, or exactly three: the clone's stdin, stdout "
		       "and stderr";
		return -EINVAL;
	}
	return n;
}

/* clone_stdio: in the clone, the request's descriptors become 0, 1 and 2. */
static void clone_stdio(const int *fds, int nfds)
{
	int high[STDIO_FDS];

	if (nfds != STDIO_FDS)
		return;
	/* Out of the way first: a passed fd may itself be 0, 1 or 2. */
	for (int i = 0; i < STDIO_FDS; i++)
		high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, STDIO_FDS);
	for (int i = 0; i < STDIO_FDS; i++)
		close(fds[i]);
	for (int i = 0; i < STDIO_FDS; i++) {
		if (high[i] >= 0) {
			dup2(high[i], i);
			close(high[i]);
		}
	}
}

/*
 * forget_clients: close every connection and free what the server keeps
 * of its clients (in a clone, so nothing of the server's leaks into it;
 * in the server, at the end).
 */
static void forget_clients(struct server *s)
{
	clients_forget(&s->clients);
	pid_map_free(&s->clones);
	free(s->buf);
	s->buf = NULL;
}

/*
 * become_clone: the forked child lets go of everything the server holds
 * and takes the request's stdio. Its own session: a signal to the server's
 * terminal is not one to the clones.
 */
static void become_clone(struct server *s, const int *fds, int nfds)
{
	close(s->listen_fd);
	close(s->epfd);
	close(s->sig_fd);
	for (unsigned int i = 0; i < WARM_MAX; i++)
		warm_pool_clear(&s->warm[i], NULL, NULL);
	pid_map_free(&s->warm_pids);
	forget_clients(s);
	setsid();
	sigprocmask(SIG_UNBLOCK, &s->blocked, NULL);
	clone_stdio(fds, nfds);
}

/* warm_eligible: a request any clone of the files can serve, no per-clone overrides. */
static bool warm_eligible(const struct snapshot_load_body *b)
{
	return b->nnets == 0 && !b->has_vsock_uds && !b->track_dirty_pages && !b->uffd;
}

/* warm_slot: the pool of (b)'s files, or the one to use for them (unused or least recent). */
static struct warm_pool *warm_slot(struct server *s, const struct snapshot_load_body *b,
				   bool *found)
{
	struct warm_pool *pick = &s->warm[0];

	for (unsigned int i = 0; i < WARM_MAX; i++) {
		struct warm_pool *w = &s->warm[i];
		if (w->target > 0 && strcmp(w->snapshot, b->snapshot_path) == 0 &&
		    strcmp(w->mem, b->mem_path) == 0) {
			*found = true;
			return w;
		}
		if (w->last_used < pick->last_used)
			pick = w;
	}
	*found = false;
	return pick;
}

static void forget_warm_pid(void *opaque, pid_t pid)
{
	struct server *s = opaque;

	(void)pid_map_take(&s->warm_pids, pid);
}

/* warm_clear: empty (w); its clones, hearing their channels close, end their paused VMs. */
static void warm_clear(struct server *s, struct warm_pool *w)
{
	warm_pool_clear(w, forget_warm_pid, s);
}

/*
 * warm_starved: (w) could not make a clone ((what) failed, errno says why):
 * out of descriptors or processes passes, so it tries again later; said
 * once until one is made.
 */
static void warm_starved(struct warm_pool *w, const char *what)
{
	if (w->retry_ns == 0)
		log_warn_errno(errno, "restore server: no warm clone of '%s' for now (%s)",
			       w->snapshot, what);
	w->retry_ns = vm_now_ns() + REFILL_RETRY_NS;
}

/*
 * room_for_warm: whether one more warm clone (a descriptor here) leaves
 * CLIENT_FD_RESERVE free: a pool must never keep clients out.
 */
static bool room_for_warm(const struct server *s)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return true;
	return SERVER_BASE_FDS + s->clients.nopen + s->warm_pids.count + 1 + CLIENT_FD_RESERVE <=
	       rl.rlim_cur;
}

/* warm_due: whether (w) wants a clone now (short, and not waiting after a failure). */
static bool warm_due(const struct warm_pool *w, uint64_t now)
{
	return warm_pool_short(w) && now >= w->retry_ns;
}

/*
 * warm_fork: one more warm clone into (w). Returns true in the clone, with
 * (order) set for a paused restore and its order channel.
 */
static bool warm_fork(struct server *s, struct warm_pool *w, struct restore_order *order)
{
	int pair[2];

	if (!warm_due(w, vm_now_ns()) || pid_map_reserve(&s->warm_pids, s->warm_pids.count + 1) < 0)
		return false;
	if (!room_for_warm(s)) {
		errno = EMFILE;
		warm_starved(w, "the descriptors left are kept for clients");
		return false;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		warm_starved(w, "socketpair");
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct snapshot_load_body *b = &order->body;
		memset(b, 0, sizeof(*b));
		memcpy(b->snapshot_path, w->snapshot, sizeof(b->snapshot_path));
		memcpy(b->mem_path, w->mem, sizeof(b->mem_path));
		close(pair[0]);
		become_clone(s, NULL, 0);
		/* Nothing to read or print until the order: the guest is paused. */
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
			close(nul);
		}
		order->warm_fd = pair[1];
		order->t_request_ns = vm_now_ns();
		return true;
	}
	close(pair[1]);
	if (pid < 0) {
		int e = errno;
		close(pair[0]);
		errno = e;
		warm_starved(w, "fork");
		return false;
	}
	w->retry_ns = 0;
	(void)warm_pool_push(w, pid, pair[0]);	  /* short, checked above */
	(void)pid_map_put(&s->warm_pids, pid, w); /* reserved above */
	return false;
}

/* any_short: whether a pool wants more warm clones. */
static bool any_short(const struct server *s)
{
	uint64_t now = vm_now_ns();

	for (unsigned int i = 0; i < WARM_MAX; i++)
		if (warm_due(&s->warm[i], now))
			return true;
	return false;
}

/*
 * refill: fork warm clones for the pools below their target, at most
 * REFILL_PER_TURN, so a long refill does not keep requests waiting.
 * Returns true in a clone.
 */
static bool refill(struct server *s, struct restore_order *order)
{
	unsigned int forked = 0;
	uint64_t now = vm_now_ns();

	for (unsigned int i = 0; i < WARM_MAX; i++) {
		struct warm_pool *w = &s->warm[i];
		while (warm_due(w, now) && forked < REFILL_PER_TURN) {
			if (warm_fork(s, w, order))
				return true;
			forked++;
		}
	}
	return false;
}

/*
 * send_order: the order to warm clone (wc), with the stdio (fds) (the
 * server's own when none came).
 */
static bool send_order(const struct warm_clone *wc, const int *fds, int nfds, uint64_t t_request)
{
	const int own[STDIO_FDS] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
	struct warm_order payload = {.t_request_ns = t_request};

	return restore_send_stdio(wc->fd, &payload, sizeof(payload), nfds == STDIO_FDS ? fds : own,
				  MSG_DONTWAIT) == (ssize_t)sizeof(payload);
}

/*
 * warm_hand_off: give a request to (w)'s oldest waiting clone. Returns its
 * pid, or 0 when none is left (one that is gone is passed over).
 */
static pid_t warm_hand_off(struct server *s, struct warm_pool *w, const int *fds, int nfds,
			   uint64_t t_request)
{
	struct warm_clone wc;

	while (warm_pool_pop(w, &wc)) {
		(void)pid_map_take(&s->warm_pids, wc.pid);
		bool sent = send_order(&wc, fds, nfds, t_request);
		close(wc.fd);
		if (sent)
			return wc.pid;
	}
	return 0;
}

/*
 * serve_request: read (c)'s request and fork its clone. Returns true in
 * the clone (with (order) filled), false in the server.
 */
static bool serve_request(struct server *s, struct restore_conn *c, struct restore_order *order)
{
	char control[CMSG_SPACE(sizeof(int) * STDIO_FDS)];
	struct iovec iov = {.iov_base = s->buf, .iov_len = REQUEST_MAX};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control,
			    .msg_controllen = sizeof(control)};
	char err[ANSWER_MAX];
	int fds[STDIO_FDS];
	const char *why = NULL;

	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	uint64_t t_request = vm_now_ns();
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		/* The client hung up: its clones run on. */
		clients_close(&s->clients, c);
		return false;
	}
	c->requests++;
	int nfds = take_fds(&mh, fds, &why);
	if (nfds < 0) {
		clients_refuse(&s->clients, c, why);
		return false;
	}
	memset(&order->body, 0, sizeof(order->body));
	int ret = (mh.msg_flags & MSG_TRUNC) ? -EMSGSIZE : 0;
	if (ret < 0)
		snprintf(err, sizeof(err), "the request is longer than %u bytes", REQUEST_MAX);
	else
		ret = config_json_snapshot_load(s->buf, (size_t)n, &order->body, err, sizeof(err));
	/* Room for the pid first, so a clone that runs is always answered for. */
	if (ret == 0 && pid_map_reserve(&s->clones, s->clones.count + 1) < 0) {
		ret = -ENOMEM;
		snprintf(err, sizeof(err), "the restore server is out of memory");
	}
	if (ret < 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		clients_refuse(&s->clients, c, err);
		return false;
	}
	/* A clone has no API to resume it by: it always runs at once. */
	order->body.resume_vm = true;
	order->t_request_ns = t_request;
	order->warm_fd = -1;
	bool warm = warm_eligible(&order->body), found = false;
	struct warm_pool *w = warm ? warm_slot(s, &order->body, &found) : NULL;
	pid_t pid = found ? warm_hand_off(s, w, fds, nfds, t_request) : 0;
	if (pid == 0) {
		pid = fork();
		if (pid == 0) {
			become_clone(s, fds, nfds);
			return true;
		}
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (pid < 0) {
		snprintf(err, sizeof(err), "cannot fork a clone: %s", strerror(errno));
		clients_refuse(&s->clients, c, err);
		return false;
	}
	(void)pid_map_put(&s->clones, pid, c); /* reserved above: cannot fail */
	clients_started(&s->clients, c, pid);
	if (!warm)
		return false;
	/*
	 * A pool of one: the next request for these files finds a clone ready,
	 * even in this same batch. A larger pool refills when the server is quiet.
	 */
	if (!found) {
		warm_clear(s, w);
		(void)warm_pool_init(w, order->body.snapshot_path, order->body.mem_path, 1);
	}
	w->last_used = ++s->requests;
	return w->target == 1 && warm_fork(s, w, order);
}

/*
 * sweep: drop the clients that connected and sent no request in time, so
 * idle connections cannot pile up (each holds a descriptor). One whose
 * request is there, waiting for a busy server to read it, is not idle.
 * Accepting, paused when descriptors ran out, starts again.
 */
static void sweep(struct server *s)
{
	uint64_t now = vm_now_ns();
	char msg[ANSWER_MAX], peek;

	if (s->listen_paused) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)&tag_listen};
		(void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev);
		s->listen_paused = false;
	}
	snprintf(msg, sizeof(msg), "no request within %d s of connecting", REQUEST_TIMEOUT_S);
	for (size_t i = 0; i < s->clients.n;) {
		struct restore_conn *c = s->clients.conns[i];
		/* No request yet, so no clone: it leaves, and the last client takes (i). */
		if (c->fd >= 0 && c->requests == 0 && now - c->t_accept_ns > REQUEST_TIMEOUT_NS &&
		    recv(c->fd, &peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT) <= 0) {
			clients_refuse(&s->clients, c, msg);
			clients_close(&s->clients, c);
			continue;
		}
		i++;
	}
}

/* reap: every clone that ended; its client, if still there, gets the status. */
static void reap(struct server *s)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int status = WIFEXITED(st) ? WEXITSTATUS(st) : SIGNAL_EXIT_BASE + WTERMSIG(st);
		struct warm_pool *w = pid_map_take(&s->warm_pids, pid);
		struct warm_clone wc;
		if (w != NULL && warm_pool_remove(w, pid, &wc)) {
			if (!w->broken)
				log_warn(
				    "restore server: a warm clone of '%s' ended (status %d) before "
				    "a request came: no more warm clones of it",
				    w->snapshot, status);
			close(wc.fd);
			w->broken = true;
		}
		struct restore_conn *c = pid_map_take(&s->clones, pid);
		if (c != NULL) {
			clients_ended(&s->clients, c, pid, status);
		}
	}
}

/* on_signal: SIGCHLD reaps; anything else ends the server. */
static bool on_signal(struct server *s)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else
			stop = true;
	}
	return stop;
}

static int open_socket(struct server *s)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	if (strlen(s->path) >= sizeof(addr.sun_path)) {
		log_error("--restore-server: '%s': longer than a socket path may be (%zu bytes)",
			  s->path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		log_error_errno(errno, "--restore-server: socket");
		return -errno;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		log_error_errno(e, "--restore-server: '%s'%s", s->path,
				e == EADDRINUSE ? " exists (another server, or a stale socket "
						  "to remove)"
						: "");
		return -e;
	}
	if (listen(s->listen_fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		log_error_errno(e, "--restore-server: listen on '%s'", s->path);
		unlink(s->path);
		return -e;
	}
	return 0;
}

static int open_events(struct server *s)
{
	sigemptyset(&s->blocked);
	sigaddset(&s->blocked, SIGCHLD);
	sigaddset(&s->blocked, SIGINT);
	sigaddset(&s->blocked, SIGTERM);
	sigaddset(&s->blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, &s->blocked, NULL);
	s->sig_fd = signalfd(-1, &s->blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->clients.epfd = s->epfd;
	s->buf = malloc(REQUEST_MAX);
	if (s->sig_fd < 0 || s->epfd < 0 || s->buf == NULL) {
		log_error_errno(errno, "--restore-server: cannot set up its event loop");
		return -ENOMEM;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)&tag_listen};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
		return -errno;
	ev.data.ptr = (void *)&tag_signal;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->sig_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void close_server(struct server *s)
{
	for (unsigned int i = 0; i < WARM_MAX; i++)
		warm_clear(s, &s->warm[i]);
	pid_map_free(&s->warm_pids);
	forget_clients(s);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
}

/*
 * prewarm_all: a pool for each of (prewarm) (at most WARM_MAX, config.c
 * checked): the loop fills them.
 */
static void prewarm_all(struct server *s, const struct config_prewarm *prewarm, unsigned int n)
{
	for (unsigned int i = 0; i < n && i < WARM_MAX; i++) {
		struct warm_pool *w = &s->warm[i];
		int ret = warm_pool_init(w, prewarm[i].snapshot, prewarm[i].mem, prewarm[i].count);
		if (ret < 0)
			log_warn_errno(-ret, "restore server: no warm clones of '%s'",
				       prewarm[i].snapshot);
		w->last_used = ++s->requests;
	}
}

int restore_server_run(const char *path, const struct config_prewarm *prewarm,
		       unsigned int nprewarm, struct restore_order *order)
{
	struct server s = {.path = path, .listen_fd = -1, .epfd = -1, .sig_fd = -1};
	struct epoll_event events[EVENTS_MAX];
	int status = EMBER_EXIT_HOST_ERROR;

	if (open_socket(&s) < 0) {
		status = EMBER_EXIT_CONFIG;
		goto out;
	}
	if (open_events(&s) < 0)
		goto out;
	prewarm_all(&s, prewarm, nprewarm);
	log_info("restore server: serving clones on '%s'", path);
	uint64_t last_sweep = vm_now_ns();
	bool quiet = true;
	for (;;) {
		if (quiet && refill(&s, order))
			return RESTORE_SERVER_CLONE;
		/* While a pool is short, wait only as long as says the server is quiet. */
		int n = epoll_wait(s.epfd, events, EVENTS_MAX,
				   any_short(&s) ? REFILL_QUIET_MS : SWEEP_PERIOD_MS);
		quiet = n == 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error_errno(errno, "restore server: epoll_wait");
			goto out;
		}
		bool signalled = false;
		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;
			if (tag == &tag_listen) {
				accept_all(&s);
			} else if (tag == &tag_signal) {
				signalled = true; /* after the batch: reaping frees connections */
			} else {
				struct restore_conn *c = tag;
				uint32_t ev = events[i].events;
				if (ev & EPOLLOUT)
					clients_flush(&s.clients, c);
				if (ev & EPOLLIN) {
					/* One request a turn, so no client starves the rest. */
					if (serve_request(&s, c, order))
						return RESTORE_SERVER_CLONE;
				} else if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
					/* The client went away: its clones run on. */
					clients_close(&s.clients, c);
				}
			}
		}
		if (vm_now_ns() - last_sweep >= (uint64_t)SWEEP_PERIOD_MS * 1000000ULL) {
			sweep(&s);
			last_sweep = vm_now_ns();
		}
		if (signalled && on_signal(&s)) {
			log_info("restore server: stopping on a signal");
			status = 0;
			goto out;
		}
	}
out:
	close_server(&s);
	return status;
}

ssize_t restore_send_stdio(int sock, const void *buf, size_t len, const int fds[RESTORE_STDIO_FDS],
			   int flags)
{
	char control[CMSG_SPACE(sizeof(int) * RESTORE_STDIO_FDS)];
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control,
			    .msg_controllen = sizeof(control)};

	memset(control, 0, sizeof(control));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * RESTORE_STDIO_FDS);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * RESTORE_STDIO_FDS);
	return sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
}

int restore_warm_take(int fd, struct warm_order *order)
{
	char control[CMSG_SPACE(sizeof(int) * STDIO_FDS)];
	struct iovec iov = {.iov_base = order, .iov_len = sizeof(*order)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control,
			    .msg_controllen = sizeof(control)};
	int fds[STDIO_FDS];
	const char *why = NULL;

	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	int nfds = take_fds(&mh, fds, &why);
	if (nfds != STDIO_FDS || n != (ssize_t)sizeof(*order)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	for (int i = 0; i < STDIO_FDS; i++) {
		dup2(fds[i], i);
		close(fds[i]);
	}
	return 0;
}
