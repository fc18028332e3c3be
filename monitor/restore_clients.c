// SPDX-License-Identifier: Apache-2.0
/* restore_clients.c: a restore server's connections and their answers (see restore_clients.h). */
#include "restore_clients.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "restore_server.h"

/* The first table: a burst's connections, before it grows. */
#define CLIENTS_MIN_CAP 64

/* conn_arm: (c)'s epoll interest: EPOLLOUT too while answers wait. */
static void conn_arm(struct restore_clients *t, struct restore_conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};

	if (c->out_head != NULL)
		ev.events |= EPOLLOUT;
	(void)epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * clients_flush: send what waits for (c), in order, until the socket is
 * full (EPOLLOUT says when to go on) or nothing waits. A client gone is no
 * error here: its hangup comes as its own event.
 */
void clients_flush(struct restore_clients *t, struct restore_conn *c)
{
	bool had = c->out_head != NULL;

	while (c->out_head != NULL) {
		struct restore_answer *a = c->out_head;
		if (send(c->fd, a->text, a->len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    (errno == EAGAIN || errno == EINTR))
			break;
		c->out_head = a->next;
		free(a);
	}
	if (c->out_head == NULL)
		c->out_tail = NULL;
	if (had && c->out_head == NULL)
		conn_arm(t, c);
}

/* send_text: one JSON message to (c): now, or queued behind those waiting. */
static void send_text(struct restore_clients *t, struct restore_conn *c, const char *text,
		      size_t len)
{
	if (c->fd < 0)
		return;
	if (c->out_head == NULL) {
		ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			return;
	}
	struct restore_answer *a = malloc(sizeof(*a) + len);
	if (a == NULL) {
		log_warn("restore server: out of memory: an answer to a slow client is lost");
		return;
	}
	a->next = NULL;
	a->len = len;
	memcpy(a->text, text, len);
	bool was_empty = c->out_head == NULL;
	if (was_empty)
		c->out_head = a;
	else
		c->out_tail->next = a;
	c->out_tail = a;
	if (was_empty)
		conn_arm(t, c);
}

/* answer_pid: {"pid": N}, or {"pid": N, "exit_status": S} when (status) >= 0. */
static void answer_pid(struct restore_clients *t, struct restore_conn *c, pid_t pid, int status)
{
	char msg[RESTORE_ANSWER_MAX];
	int n = status < 0 ? snprintf(msg, sizeof(msg), "{\"pid\": %d}", (int)pid)
			   : snprintf(msg, sizeof(msg), "{\"pid\": %d, \"exit_status\": %d}",
				      (int)pid, status);

	if (n > 0 && (size_t)n < sizeof(msg))
		send_text(t, c, msg, (size_t)n);
}

/* clients_refuse: {"error": MSG}, MSG escaped by jansson. */
void clients_refuse(struct restore_clients *t, struct restore_conn *c, const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	if (text != NULL)
		send_text(t, c, text, strlen(text));
	free(text);
	json_decref(o);
}

int clients_add(struct restore_clients *t, int fd, uint64_t now_ns)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : CLIENTS_MIN_CAP;
		/* An array of pointers: a connection stays put while epoll holds it. */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		struct restore_conn **grown =
		    realloc(t->conns, cap * sizeof(struct restore_conn *));
		if (grown == NULL)
			return -ENOMEM;
		t->conns = grown;
		t->cap = cap;
	}
	struct restore_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->fd = fd;
	c->t_accept_ns = now_ns;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(c);
		return -e;
	}
	c->slot = t->n;
	t->conns[t->n++] = c;
	t->nopen++;
	return 0;
}

/* drop_answers: what waited for (c), dropped. */
static void drop_answers(struct restore_conn *c)
{
	while (c->out_head != NULL) {
		struct restore_answer *a = c->out_head;
		c->out_head = a->next;
		free(a);
	}
	c->out_tail = NULL;
}

/* free_conn: (c) leaves the table (the last one takes its place) and is freed. */
static void free_conn(struct restore_clients *t, struct restore_conn *c)
{
	struct restore_conn *last = t->conns[--t->n];

	last->slot = c->slot;
	t->conns[c->slot] = last;
	if (c->fd >= 0) {
		close(c->fd); /* leaves the epoll set with it */
		t->nopen--;
	}
	drop_answers(c);
	free(c);
}

/* conn_release: one clone of (c) ended; a hung-up (c) goes with its last. */
static void conn_release(struct restore_clients *t, struct restore_conn *c)
{
	c->clones--;
	if (c->fd < 0 && c->clones == 0)
		free_conn(t, c);
}

void clients_close(struct restore_clients *t, struct restore_conn *c)
{
	if (c->clones == 0) {
		free_conn(t, c);
		return;
	}
	close(c->fd);
	c->fd = -1;
	t->nopen--;
	drop_answers(c);
}

void clients_started(struct restore_clients *t, struct restore_conn *c, pid_t pid)
{
	c->clones++;
	answer_pid(t, c, pid, -1);
}

void clients_ended(struct restore_clients *t, struct restore_conn *c, pid_t pid, int status)
{
	answer_pid(t, c, pid, status);
	conn_release(t, c);
}

void clients_forget(struct restore_clients *t)
{
	while (t->n > 0)
		free_conn(t, t->conns[t->n - 1]);
	free(t->conns);
	t->conns = NULL;
	t->cap = 0;
}
