/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore_clients.h: a restore server's clients (restore_server.h has the
 * protocol): each connection, the clones it is owed an answer for, and the
 * answers its socket would not take yet, sent in order as it drains. A
 * client that hung up stays while clones it asked for run, so their ends
 * find it, and leaves with the last.
 */
#ifndef EMBER_RESTORE_CLIENTS_H
#define EMBER_RESTORE_CLIENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* An answer the client's socket would not take yet. */
struct restore_answer {
	struct restore_answer *next;
	size_t len;
	char text[];
};

/* One client, at (slot) in its table; its epoll tag is the struct itself. */
struct restore_conn {
	int fd; /* -1 once it hung up or was sent away */
	size_t slot;
	uint64_t t_accept_ns;	/* CLOCK_MONOTONIC when accepted */
	unsigned long requests; /* read so far */
	unsigned long clones;	/* running, each owed an answer here */
	struct restore_answer *out_head, *out_tail;
};

/* Every client of one server, in no order. */
struct restore_clients {
	int epfd; /* the server's epoll set, where each open connection is watched */
	struct restore_conn **conns;
	size_t n, cap;
	size_t nopen; /* those whose connection is open */
};

/*
 * clients_add: a connection (fd, nonblocking) accepted at (now_ns), watched
 * for requests and hangups. Returns 0, or -errno (fd then still the caller's).
 */
int clients_add(struct restore_clients *t, int fd, uint64_t now_ns);

/* clients_flush: (c)'s socket has room: send what waits, in order (on EPOLLOUT). */
void clients_flush(struct restore_clients *t, struct restore_conn *c);

/*
 * clients_close: (c) hung up, or is sent away: its connection closes and
 * what waited for it is dropped. Its clones run on; (c) stays while they do.
 */
void clients_close(struct restore_clients *t, struct restore_conn *c);

/* clients_started: (c) asked for clone (pid), which now runs: {"pid": N}, and its end is owed. */
void clients_started(struct restore_clients *t, struct restore_conn *c, pid_t pid);

/*
 * clients_ended: (c)'s clone (pid) ended with (status): {"pid": N,
 * "exit_status": S} if (c) is still there; a hung-up (c) goes with its last clone.
 */
void clients_ended(struct restore_clients *t, struct restore_conn *c, pid_t pid, int status);

/* clients_refuse: {"error": MSG} to (c) (a refused request, or a client sent away). */
void clients_refuse(struct restore_clients *t, struct restore_conn *c, const char *msg);

/* clients_forget: close every connection and free the table (at the end, and in a clone). */
void clients_forget(struct restore_clients *t);

#endif /* EMBER_RESTORE_CLIENTS_H */
