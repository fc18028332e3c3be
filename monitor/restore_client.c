// SPDX-License-Identifier: Apache-2.0
/* restore_client.c: --restore-via, a shell's way to ask a restore server for a clone. */
#include "restore_client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "exit_status.h"
#include "log.h"
#include "restore_server.h"

/* send_request: the body and this process's stdio, in one message. */
static int send_request(int fd, const char *snapshot, const char *mem)
{
	json_t *o = json_pack("{s:s,s:s,s:b}", "snapshot_path", snapshot, "mem_file_path", mem,
			      "resume_vm", 1);
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	const int stdio[RESTORE_STDIO_FDS] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
	int ret = 0;

	json_decref(o);
	if (text == NULL)
		return -ENOMEM;
	if (restore_send_stdio(fd, text, strlen(text), stdio, 0) < 0)
		ret = -errno;
	free(text);
	return ret;
}

/* One answer of the server, read. */
struct server_answer {
	int pid;	 /* > 0: {"pid": N}, the clone runs */
	int exit_status; /* >= 0: {"pid": N, "exit_status": S}, it ended */
	char error[RESTORE_ANSWER_MAX];
};

static int parse_answer(const char *text, size_t len, struct server_answer *a)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	json_t *v;

	a->pid = 0;
	a->exit_status = -1;
	a->error[0] = 0;
	if (o == NULL)
		return -EINVAL;
	/* An ending names its pid too: exit_status is what marks it. */
	if ((v = json_object_get(o, "exit_status")) != NULL && json_is_integer(v))
		a->exit_status = (int)json_integer_value(v);
	else if ((v = json_object_get(o, "pid")) != NULL && json_is_integer(v))
		a->pid = (int)json_integer_value(v);
	else if ((v = json_object_get(o, "error")) != NULL && json_is_string(v))
		snprintf(a->error, sizeof(a->error), "%s", json_string_value(v));
	json_decref(o);
	return a->pid > 0 || a->exit_status >= 0 || a->error[0] ? 0 : -EINVAL;
}

int restore_client_run(const char *path, const char *snapshot, const char *mem)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char buf[RESTORE_ANSWER_MAX];
	sigset_t sigs;
	int pid = 0;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("--restore-via: '%s': longer than a socket path may be", path);
		return EMBER_EXIT_CONFIG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		log_error_errno(errno, "--restore-via: cannot reach a restore server at '%s'",
				path);
		if (fd >= 0)
			close(fd);
		return EMBER_EXIT_CONFIG;
	}
	int ret = send_request(fd, snapshot, mem);
	if (ret < 0) {
		log_error_errno(-ret, "--restore-via: cannot send the request to '%s'", path);
		close(fd);
		return EMBER_EXIT_HOST_ERROR;
	}
	/* Ctrl+C or a kill here stops the clone, which then reports its status. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = sig_fd, .events = POLLIN}};
	int status = EMBER_EXIT_HOST_ERROR;
	for (;;) {
		if (poll(pfd, sig_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error_errno(errno, "--restore-via: poll");
			break;
		}
		if (sig_fd >= 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si) && pid > 0)
				kill(pid, (int)si.ssi_signo);
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct server_answer a;
		if (n <= 0) {
			log_error("--restore-via: the restore server at '%s' hung up%s", path,
				  pid > 0 ? " before the clone ended" : "");
			break;
		}
		if (parse_answer(buf, (size_t)n, &a) < 0) {
			log_error("--restore-via: the restore server's answer is not one of "
				  "pid, exit_status, error: %.*s",
				  (int)n, buf);
			break;
		}
		if (a.error[0]) {
			log_error("--restore-via: %s", a.error);
			status = EMBER_EXIT_CONFIG;
			break;
		}
		if (a.pid > 0) {
			pid = a.pid;
			log_info("--restore-via: clone %d runs", pid);
			continue;
		}
		status = a.exit_status;
		break;
	}
	if (sig_fd >= 0)
		close(sig_fd);
	close(fd);
	return status;
}
