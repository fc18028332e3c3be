/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore_server.h: a long-lived ember that starts snapshot clones by fork,
 * not exec (ember --restore-server SOCKET).
 *
 * A restore by exec pays for a new process image and libc start-up before
 * it reaches KVM; a server pays for them once. A request is one
 * SOCK_SEQPACKET message on SOCKET: the body PUT /snapshot/load takes
 * (snapshot_path, mem_file_path or mem_backend, network_overrides,
 * vsock_override; the clone always runs at once), with either no file
 * descriptors or three passed beside it (SCM_RIGHTS): the clone's stdin,
 * stdout and stderr. The server forks; the child is an ember restoring that
 * snapshot exactly as --restore would (its own VM, since a KVM VM belongs to
 * the process that made it, and its own seccomp filters). The server
 * answers on the connection, one JSON message each:
 *
 *   {"pid": N}                    to each request, in the order they came:
 *   {"error": "..."}              the clone runs, or the request was refused
 *                                 and nothing runs
 *   {"pid": N, "exit_status": S}  when a clone the connection asked for
 *                                 ends: ember's exit status (128 + signal if
 *                                 killed); whenever it happens
 *
 * A connection may carry any number of requests: an orchestrator keeps one
 * and starts every clone on it, and the server then holds one descriptor
 * for all of them (a shell's --restore-via makes one per clone). Answers a
 * slow reader does not take yet wait in the server, in order; none is
 * dropped while the connection is open. A client that sends no request
 * within 5 s of connecting gets an error and is dropped. Closing the
 * connection does not stop its clones. SIGTERM, SIGINT or SIGHUP end the
 * server (its clones run on); the socket file is removed.
 *
 * The server's cost per clone does not grow with the clones it has: a pid
 * is found in a hash table (pid_map.h), and a fork copies the server's
 * descriptor table, which holds its connections, not its clones.
 *
 * Warm clones: a snapshot is mostly asked for again. After a request
 * without overrides (no network_overrides, vsock_override or
 * track_dirty_pages), the server forks a clone of the same files ahead of
 * time, which restores and waits, paused, its vCPU threads parked, for an
 * order on a socketpair. The next such request is handed to it (its stdio
 * passed along) and it only resumes; a new warm clone is made behind it.
 * --prewarm SNAP,MEM,COUNT keeps a pool of COUNT of them from the start,
 * refilled as requests take them, so a burst of up to COUNT requests only
 * resumes clones made before it (each is a restored VM: its memory is
 * spent ahead of time). At most WARM_MAX snapshots have warm clones; one
 * that dies before its order (the snapshot is gone, say) stops more being
 * made for those files.
 */
#ifndef EMBER_RESTORE_SERVER_H
#define EMBER_RESTORE_SERVER_H

#include <stdint.h>

#include "config.h"
#include "config_json.h"

/* A request's descriptors, when it passes any: the clone's stdin, stdout and stderr. */
#define RESTORE_STDIO_FDS 3
/* The longest answer: {"pid": N, "exit_status": S} or an error line. */
#define RESTORE_ANSWER_MAX 640

/* restore_server_run's answer in a forked clone (any other value is the server's exit status). */
#define RESTORE_SERVER_CLONE (-1)

/* What a clone is to restore, and when it was asked to. */
struct restore_order {
	struct snapshot_load_body body;
	uint64_t t_request_ns; /* CLOCK_MONOTONIC when the request arrived: its "exec" */
	int warm_fd;	       /* a warm clone's end of its order channel, else -1 */
};

/*
 * The order a warm clone waits for: this payload, with the client's three
 * stdio descriptors beside it.
 */
struct warm_order {
	uint64_t t_request_ns;
};

/*
 * restore_send_stdio: one message of (len) bytes at (buf) on (sock), with
 * the three descriptors (fds) beside it (SCM_RIGHTS): a request's or an
 * order's stdio. (flags) go to sendmsg (MSG_NOSIGNAL is added). Returns
 * what sendmsg does.
 */
ssize_t restore_send_stdio(int sock, const void *buf, size_t len, const int fds[RESTORE_STDIO_FDS],
			   int flags);

/*
 * restore_warm_take: read the order on (fd) and put its descriptors on
 * stdin, stdout and stderr. Returns 0 with (order) filled, or -errno
 * (-EPIPE when the server hung up without one).
 */
int restore_warm_take(int fd, struct warm_order *order);

/*
 * restore_server_run: serve (path) until a signal ends it, then return the
 * server's exit status. Each of the (nprewarm) (prewarm) gets its COUNT
 * warm clones from the start (made a few at a time between requests), so
 * even the first requests for it only resume one. In each forked clone it
 * returns RESTORE_SERVER_CLONE instead, with (order) filled, stdio replaced
 * by the request's and every server resource closed: the caller goes on
 * to restore.
 */
int restore_server_run(const char *path, const struct config_prewarm *prewarm,
		       unsigned int nprewarm, struct restore_order *order);

#endif /* EMBER_RESTORE_SERVER_H */
