// SPDX-License-Identifier: Apache-2.0
/*
 * runner.c: the bench driver. It forks and execs monitors, takes
 * CLOCK_MONOTONIC in the child right before execve (the "exec" instant every
 * number is measured from), watches the child's output and exit through
 * pipes and a pidfd, and writes one CSV row per run.
 *
 *   runner seq [-r ROUNDS] [-T SECS] [-o CSV] SPEC
 *       Runs every line of SPEC once per round, interleaved (A B C A B C ...,
 *       each round rotated by one so no config always goes first).
 *       SPEC lines, TAB separated: name, expected exit status, ready marker
 *       (a string on stdout, "-" for none), argv[0], argv[1], ...
 *       Columns: see SEQ_HEADER.
 *
 *   runner burst -n N [-j K] [-T SECS] [-m MIB] [-H MS] [-o CSV] [-s SUMMARY] NAME -- ARGV...
 *       Starts N copies of ARGV at once, waits until each prints "ready",
 *       holds them H ms, samples memory (/proc/meminfo, /proc/PID/smaps),
 *       then SIGTERMs them all and waits. Per-VM rows go to CSV, one summary
 *       row (BURST_HEADER) to SUMMARY. N=1 is the footprint measurement.
 *       Clones (below) are asked for at most K at a time (BURST_WINDOW by
 *       default): with N above K, the first K are asked for at once and each
 *       further one as soon as one before is ready (or ended). Programs are
 *       all started at once (two descriptors each).
 *
 * ARGV "@clone SOCKET SNAP MEM" is no program: the runner asks the ember
 * --restore-server on SOCKET for a clone of that snapshot, passing its own
 * pipes as the clone's stdio; the "exec" instant is then just before the
 * request, and the exit status comes back on the connection. A burst sends
 * all its requests on one connection.
 *
 * Every child is killed when the runner is interrupted. A run that does not
 * exit with the expected status (or never gets ready) is a failure: the
 * runner's own exit status is 1 when any run failed, 0 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONFIGS 64
#define MAX_ARGS    64
#define OUT_KEEP    8192
#define MAX_VMS	    32768

#define SEQ_HEADER                                                                                 \
	"name,round,exit,ok,wall_us,first_out_us,ready_us,boot_us,since_exec_us,first_run_us,"     \
	"user_us,sys_us,maxrss_kb,start_ms,startup\n"
#define BURST_HEADER                                                                               \
	"name,n,ready,failures,spawn_us,first_ready_us,median_ready_us,last_ready_us,"             \
	"memavail_delta_kb,rss_sum_kb,pss_sum_kb,overhead_rss_kb,overhead_pss_kb,guest_rss_kb,"    \
	"maxrss_kb,teardown_us,hold_ms,guest_private_kb\n"

static volatile pid_t *g_pids; /* children to kill on interrupt */
static volatile int g_npids;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	for (int i = 0; i < g_npids; i++)
		if (g_pids[i] > 0)
			kill(g_pids[i], SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what)
{
	perror(what);
	on_signal(SIGTERM);
	exit(2);
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * spawn: fork and exec (argv) with stdout (and stderr, when errfd < 0) on
 * outfd, stdin on /dev/null. *t_exec receives the child's clock right before
 * execve, through a shared page.
 */
static pid_t spawn(char *const argv[], int outfd, int errfd, volatile uint64_t *t_exec)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(outfd, 1);
		dup2(errfd >= 0 ? errfd : outfd, 2);
		*t_exec = now_ns();
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/*
 * spawn_fast: posix_spawn (a vfork-style clone, so a launcher with many
 * children does not pay for copying itself) with stdout and stderr on outfd,
 * stdin on /dev/null. The exec instant is taken in the parent, just before.
 */
static pid_t spawn_fast(char *const argv[], int outfd, volatile uint64_t *t_exec)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	posix_spawnattr_init(&at);
	sigemptyset(&def);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
	*t_exec = now_ns();
	int err = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return err ? -1 : pid;
}

/* is_clone: whether (argv) asks a restore server rather than naming a program. */
static bool is_clone(char *const argv[])
{
	return strcmp(argv[0], "@clone") == 0;
}

/*
 * The restore server's protocol (monitor/restore_server.h): a connection
 * carries any number of requests, one SOCK_SEQPACKET message each, with the
 * clone's stdin, stdout and stderr beside it. Each request gets one answer,
 * in the order they were sent: {"pid": N} (the clone runs) or
 * {"error": "..."} (nothing runs). Each clone that ends gets
 * {"pid": N, "exit_status": S} on the connection that asked for it,
 * whenever it ends, between the others.
 */

/* Room for one answer (the server's are at most 640 bytes). */
#define CLONE_MSG_MAX 1024
/* Room for one request's body. */
#define CLONE_BODY_MAX 4096
/* Descriptors beside each request: the clone's stdin, stdout, stderr. */
#define FDS_PER_REQUEST 3

enum answer_kind {
	ANSWER_PID,  /* {"pid": N}: the clone asked for runs */
	ANSWER_EXIT, /* {"pid": N, "exit_status": S}: a clone ended ("pid" absent: older servers) */
	ANSWER_ERROR, /* {"error": "..."}: the request was refused, nothing runs */
	ANSWER_OTHER, /* anything else */
};

/* One answer, parsed. */
struct answer {
	enum answer_kind kind;
	long pid;    /* -1 when absent */
	long status; /* ANSWER_EXIT: ember's exit status (128 + signal when killed) */
};

/*
 * json_long: the integer value of (key) in the flat JSON object (msg), with
 * any spacing around the colon. False when it has none.
 */
static bool json_long(const char *msg, const char *key, long *value)
{
	char quoted[32];
	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	const char *p = strstr(msg, quoted);
	if (p == NULL)
		return false;
	p += strlen(quoted);
	p += strspn(p, " \t\r\n");
	if (*p != ':')
		return false;
	p++;
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (end == p || errno != 0)
		return false;
	*value = v;
	return true;
}

/* parse_answer: what the server's message (msg) says. */
static struct answer parse_answer(const char *msg)
{
	struct answer a = {.kind = ANSWER_OTHER, .pid = -1, .status = -1};

	if (!json_long(msg, "pid", &a.pid))
		a.pid = -1;
	if (json_long(msg, "exit_status", &a.status))
		a.kind = ANSWER_EXIT;
	else if (a.pid > 0)
		a.kind = ANSWER_PID;
	else if (strstr(msg, "\"error\"") != NULL)
		a.kind = ANSWER_ERROR;
	return a;
}

/*
 * clone_answer: wait for the next message on (conn) and, when it is a (kind)
 * answer, return its pid (ANSWER_PID) or exit status (ANSWER_EXIT). Anything
 * else is shown on stderr and gives -1.
 */
static long clone_answer(int conn, enum answer_kind kind)
{
	char buf[CLONE_MSG_MAX + 1];
	ssize_t n = recv(conn, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	struct answer a = parse_answer(buf);
	if (a.kind != kind) {
		fprintf(stderr, "runner: restore server: %s\n", buf);
		return -1;
	}
	return kind == ANSWER_EXIT ? a.status : a.pid;
}

/* dev_null: /dev/null, opened once: every clone's stdin. */
static int dev_null(void)
{
	static int fd = -1;

	if (fd < 0 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		die("/dev/null");
	return fd;
}

/*
 * clone_connect: "@clone SOCKET SNAP MEM": a connection to the server at
 * SOCKET, and in (body) the request for a clone of SNAP and MEM. Returns the
 * connection; *body_len is the body's length.
 */
static int clone_connect(char *const argv[], char body[CLONE_BODY_MAX], int *body_len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	if (!argv[1] || !argv[2] || !argv[3] || strlen(argv[1]) >= sizeof(addr.sun_path))
		die("@clone SOCKET SNAP MEM");
	*body_len =
	    snprintf(body, CLONE_BODY_MAX, "{\"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\"}",
		     argv[2], argv[3]);
	if (*body_len <= 0 || *body_len >= CLONE_BODY_MAX)
		die("@clone: paths too long");
	memcpy(addr.sun_path, argv[1], strlen(argv[1]) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("@clone: connect");
	return fd;
}

/*
 * clone_request: send the request (body) on (conn), with /dev/null, (outfd)
 * and (errfd, or outfd when negative) as the clone's stdio. *t_exec is taken
 * just before. (flags) go to sendmsg (MSG_DONTWAIT: do not wait for room).
 * Returns 0 or -errno.
 */
static int clone_request(int conn, const char *body, int body_len, int outfd, int errfd,
			 volatile uint64_t *t_exec, int flags)
{
	int fds[FDS_PER_REQUEST] = {dev_null(), outfd, errfd >= 0 ? errfd : outfd};
	char control[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = {.iov_base = (void *)body, .iov_len = (size_t)body_len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = control,
			    .msg_controllen = sizeof(control)};

	memset(control, 0, sizeof(control));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	*t_exec = now_ns();
	return sendmsg(conn, &mh, MSG_NOSIGNAL | flags) < 0 ? -errno : 0;
}

/*
 * spawn_clone: "@clone SOCKET SNAP MEM" on a connection of its own: one
 * request with (outfd) and (errfd) as the clone's output, then its pid;
 * *conn will carry its exit status (clone_answer).
 */
static pid_t spawn_clone(char *const argv[], int outfd, int errfd, volatile uint64_t *t_exec,
			 int *conn)
{
	char body[CLONE_BODY_MAX];
	int len;
	int fd = clone_connect(argv, body, &len);
	if (clone_request(fd, body, len, outfd, errfd, t_exec, 0) < 0)
		die("@clone: sendmsg");
	long pid = clone_answer(fd, ANSWER_PID);
	if (pid <= 0) {
		close(fd);
		return -1;
	}
	*conn = fd;
	return (pid_t)pid;
}

/* ------------------------------------------------------------------ seq */

struct config {
	char name[64];
	int expect;
	char marker[64];
	char *argv[MAX_ARGS + 1];
};

struct run_result {
	int exit; /* exit status, 128+sig when killed by a signal, -1 timeout */
	int64_t wall_us, out_us, ready_us, boot_us, since_exec_us, first_run_us;
	int64_t user_us, sys_us, maxrss_kb;
	char startup[512];
};

static int parse_spec(const char *path, struct config *cfg, int max)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (f == NULL)
		die(path);
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		char *save = NULL, *tok;
		int field = 0, argc = 0;

		line[strcspn(line, "\n")] = 0;
		if (line[0] == 0 || line[0] == '#')
			continue;
		for (tok = strtok_r(line, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) {
			if (field == 0)
				snprintf(cfg[n].name, sizeof(cfg[n].name), "%s", tok);
			else if (field == 1)
				cfg[n].expect = atoi(tok);
			else if (field == 2)
				snprintf(cfg[n].marker, sizeof(cfg[n].marker), "%s",
					 strcmp(tok, "-") == 0 ? "" : tok);
			else if (argc < MAX_ARGS)
				cfg[n].argv[argc++] = strdup(tok);
			field++;
		}
		cfg[n].argv[argc] = NULL;
		if (argc > 0)
			n++;
	}
	fclose(f);
	return n;
}

static int64_t us_since(uint64_t t, uint64_t t0)
{
	return t == 0 ? -1 : (int64_t)(t - t0) / 1000;
}

static void parse_stderr(struct run_result *r, char *err, uint64_t t_exec)
{
	char *p;
	unsigned long long a, b;

	if ((p = strstr(err, "guest boot time ")) != NULL &&
	    sscanf(p, "guest boot time %llu us (%llu us since exec)", &a, &b) == 2) {
		r->boot_us = (int64_t)a;
		r->since_exec_us = (int64_t)b;
	}
	if ((p = strstr(err, "floor: first_run_ns=")) != NULL &&
	    sscanf(p, "floor: first_run_ns=%llu", &a) == 1)
		r->first_run_us = ((int64_t)a - (int64_t)t_exec) / 1000;
	/* The proposed in-monitor probe: "ember: startup key=value ..." */
	if ((p = strstr(err, "ember: startup ")) != NULL) {
		p += strlen("ember: startup ");
		size_t n = strcspn(p, "\n");
		if (n >= sizeof(r->startup))
			n = sizeof(r->startup) - 1;
		memcpy(r->startup, p, n);
		r->startup[n] = 0;
		for (char *c = r->startup; *c; c++)
			if (*c == ',' || *c == '"')
				*c = ' ';
	}
}

static void run_once(const struct config *c, int timeout_s, volatile uint64_t *shared,
		     struct run_result *r)
{
	int out[2], err[2];
	char obuf[OUT_KEEP + 1], ebuf[OUT_KEEP + 1];
	size_t olen = 0, elen = 0;
	uint64_t t_out = 0, t_ready = 0, t_exit = 0, deadline;
	struct rusage ru;
	int st = 0;

	memset(r, 0, sizeof(*r));
	r->boot_us = r->since_exec_us = r->first_run_us = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		die("pipe2");
	*shared = 0;
	int conn = -1;
	pid_t pid = is_clone(c->argv) ? spawn_clone(c->argv, out[1], err[1], shared, &conn)
				      : spawn(c->argv, out[1], err[1], shared);
	if (pid < 0)
		die("fork");
	g_pids[0] = pid;
	g_npids = 1;
	close(out[1]);
	close(err[1]);
	/* A clone is not our child: its end is the server's message. */
	int pfd = conn >= 0 ? conn : pidfd_open(pid);
	if (pfd < 0)
		die("pidfd_open");
	deadline = now_ns() + (uint64_t)timeout_s * 1000000000ULL;

	struct pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {pfd, POLLIN, 0}};
	bool out_open = true, err_open = true;
	while (t_exit == 0 || out_open || err_open) {
		uint64_t t = now_ns();
		if (t >= deadline) {
			kill(pid, SIGKILL);
			r->exit = -1;
			break;
		}
		fds[0].fd = out_open ? out[0] : -1;
		fds[1].fd = err_open ? err[0] : -1;
		fds[2].fd = t_exit == 0 ? pfd : -1;
		int n = poll(fds, 3, (int)((deadline - t) / 1000000) + 1);
		t = now_ns();
		if (n < 0 && errno != EINTR)
			die("poll");
		if (fds[2].fd >= 0 && (fds[2].revents & POLLIN))
			t_exit = t;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			char tmp[4096];
			ssize_t k = read(fds[i].fd, tmp, sizeof(tmp));
			if (k <= 0) {
				if (i == 0)
					out_open = false;
				else
					err_open = false;
				continue;
			}
			char *buf = i == 0 ? obuf : ebuf;
			size_t *len = i == 0 ? &olen : &elen;
			size_t take = (size_t)k < OUT_KEEP - *len ? (size_t)k : OUT_KEEP - *len;
			memcpy(buf + *len, tmp, take);
			*len += take;
			buf[*len] = 0;
			if (i == 0 && t_out == 0)
				t_out = t;
			if (i == 0 && t_ready == 0 && c->marker[0] && strstr(obuf, c->marker))
				t_ready = t;
		}
	}
	obuf[olen] = 0;
	ebuf[elen] = 0;
	memset(&ru, 0, sizeof(ru));
	if (conn >= 0) {
		long status = r->exit == -1 ? -1 : clone_answer(conn, ANSWER_EXIT);
		st = status < 0 ? SIGKILL : (int)status << 8; /* as a wait status */
	} else if (wait4(pid, &st, 0, &ru) < 0) {
		die("wait4");
	}
	g_npids = 0;
	close(out[0]);
	close(err[0]);
	close(pfd);
	uint64_t t0 = *shared;
	if (r->exit != -1)
		r->exit = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->wall_us = us_since(t_exit, t0);
	r->out_us = us_since(t_out, t0);
	r->ready_us = us_since(t_ready, t0);
	r->user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
	r->sys_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
	r->maxrss_kb = ru.ru_maxrss;
	parse_stderr(r, ebuf, t0);
	if (r->exit != c->expect || (c->marker[0] && t_ready == 0)) {
		fprintf(stderr, "\nrunner: %s: exit %d (expected %d)%s; stderr: %.300s\n", c->name,
			r->exit, c->expect, c->marker[0] && !t_ready ? ", no ready marker" : "",
			ebuf);
	}
}

static int cmd_seq(int argc, char **argv)
{
	static struct config cfg[MAX_CONFIGS];
	int rounds = 20, timeout_s = 30, opt, failures = 0;
	const char *outpath = NULL;
	FILE *out = stdout;

	while ((opt = getopt(argc, argv, "r:T:o:")) != -1) {
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'T')
			timeout_s = atoi(optarg);
		else if (opt == 'o')
			outpath = optarg;
		else
			return 2;
	}
	if (optind >= argc)
		return 2;
	int n = parse_spec(argv[optind], cfg, MAX_CONFIGS);
	if (outpath && (out = fopen(outpath, "w")) == NULL)
		die(outpath);
	volatile uint64_t *shared =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap");
	fputs(SEQ_HEADER, out);
	uint64_t t_begin = now_ns();
	int step = rounds >= 10 ? rounds / 10 : 1;
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < n; k++) {
			const struct config *c = &cfg[(k + r) % n];
			struct run_result res;
			uint64_t t_start = now_ns();

			run_once(c, timeout_s, shared, &res);
			bool ok = res.exit == c->expect && (!c->marker[0] || res.ready_us >= 0);
			failures += !ok;
			fprintf(
			    out,
			    "%s,%d,%d,%d,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%.3f,%s\n",
			    c->name, r, res.exit, ok, (long long)res.wall_us, (long long)res.out_us,
			    (long long)res.ready_us, (long long)res.boot_us,
			    (long long)res.since_exec_us, (long long)res.first_run_us,
			    (long long)res.user_us, (long long)res.sys_us, (long long)res.maxrss_kb,
			    (double)(t_start - t_begin) / 1e6, res.startup);
		}
		if ((r + 1) % step == 0 || r + 1 == rounds)
			fprintf(stderr, "    round %d/%d (%d configs, %.1f s, %d failed)\n", r + 1,
				rounds, n, (double)(now_ns() - t_begin) / 1e9, failures);
	}
	if (out != stdout)
		fclose(out);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- burst */

static long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':')
			v = atol(line + kl + 1);
	fclose(f);
	return v;
}

/* smaps_rollup of (pid): Rss and Pss in kB. */
static void rollup(pid_t pid, long *rss, long *pss)
{
	char path[64], line[256];
	FILE *f;

	*rss = *pss = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Rss:", 4) == 0)
			*rss = atol(line + 4);
		else if (strncmp(line, "Pss:", 4) == 0)
			*pss = atol(line + 4);
	}
	fclose(f);
}

/*
 * smaps of (pid): Rss and Pss outside the guest-memory mapping, and the Rss
 * of that mapping and the part of it private to (pid) (a snapshot's clone
 * shares the memory file's pages it only read). Guest memory is every
 * mapping at least (mem_kb) large (QEMU rounds its RAM block up a little;
 * ember maps exactly mem_kb).
 */
static void overhead(pid_t pid, long mem_kb, long *o_rss, long *o_pss, long *g_rss, long *g_priv)
{
	char path[64], line[512];
	FILE *f;
	long size = 0;

	*o_rss = *o_pss = *g_rss = *g_priv = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Size:", 5) == 0)
			size = atol(line + 5);
		else if (strncmp(line, "Rss:", 4) == 0) {
			if (size >= mem_kb)
				*g_rss += atol(line + 4);
			else
				*o_rss += atol(line + 4);
		} else if (strncmp(line, "Pss:", 4) == 0 && size < mem_kb) {
			*o_pss += atol(line + 4);
		} else if (strncmp(line, "Private_", 8) == 0 && size >= mem_kb) {
			const char *colon = strchr(line, ':');
			if (colon != NULL)
				*g_priv += atol(colon + 1);
		}
	}
	fclose(f);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, int n)
{
	if (n == 0)
		return -1;
	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * A burst's VMs are watched through one epoll set: each VM's output pipe
 * (until it printed the marker), and its end: a pidfd per VM for programs,
 * the one connection to the restore server for clones.
 */

/* What a VM prints once it is up. */
#define READY_MARKER "ready"
/* Per VM, the end of its output, kept to find the marker in and to show when it fails. */
#define TAIL_SIZE 64
/* What is kept of a full tail: more than the marker, so one split across reads is found. */
#define TAIL_KEEP 32
/* Default for -j: most clones requested and not yet ready (or ended) at a time. */
#define BURST_WINDOW 4096
/* Descriptors besides the VMs': stdio, epoll, the connection, /dev/null, CSV files. */
#define FD_SPARE 64
/* Events taken in by one epoll_wait. */
#define MAX_EVENTS 256
/* While the server has no room for the next request: how soon to send it again. */
#define SEND_RETRY_MS 1
/* After SIGTERM: how long the VMs have to end before SIGKILL, then how long after it. */
#define STOP_TIMEOUT_MS 30000
#define KILL_GRACE_MS	5000
/* After the start-up: how long to wait for the pids of clones ready before their answer. */
#define PID_WAIT_MS 5000
/* How many failures (and odd answers) are shown on stderr; the rest are only counted. */
#define FAILURES_SHOWN 5
/* An exit status is at most this (128 + signal when killed). */
#define EXIT_STATUS_MAX 255
/* The largest pid_max there is, when /proc/sys/kernel/pid_max cannot be read. */
#define PID_MAX_LIMIT (4L * 1024 * 1024)
#define NS_PER_MS     1000000ULL

/* What a descriptor in the epoll set is (the tag's top half; the VM index is the bottom). */
enum watch_kind {
	WATCH_OUTPUT = 1, /* a VM's output pipe */
	WATCH_PIDFD,	  /* a program's pidfd */
	WATCH_SERVER,	  /* the connection to the restore server */
};

struct burst_vm {
	uint64_t t_exec;      /* the "exec" instant: before posix_spawn, or before the request */
	uint64_t t_ready;     /* when the marker was seen; 0 before */
	int out;	      /* read end of its output pipe (non-blocking); -1 once closed */
	bool out_watched;     /* out is in the epoll set (it is read) */
	int pidfd;	      /* a program's pidfd until it is reaped; else -1 */
	bool started;	      /* spawned, or its request sent */
	bool ended;	      /* exited, refused by the server, or given up on */
	int exit;	      /* exit status (128 + signal when killed); -1: unknown, never ran */
	long maxrss_kb;	      /* a program's peak RSS (wait4); 0 unknown */
	size_t tail_len;      /* bytes in tail */
	char tail[TAIL_SIZE]; /* the end of its output, NUL terminated */
};

enum burst_phase {
	PHASE_START, /* starting VMs until all are ready: one that ends first failed */
	PHASE_HOLD,  /* start-up over (all ready, or out of time): holding, sampling memory */
	PHASE_STOP,  /* SIGTERM sent: waiting for every VM's end */
};

struct burst {
	const char *name;
	char **argv; /* the program's argv, or "@clone SOCKET SNAP MEM" */
	bool clone;  /* argv asks a restore server for clones */
	int n;	     /* VMs in the burst */
	int window;  /* most VMs started and not yet ready or ended (programs: n) */
	struct burst_vm *vm;
	pid_t *pid; /* per VM: its pid; 0 before it is known and once it ended (g_pids) */
	int epfd;   /* the epoll set */
	enum burst_phase phase;
	int stop_signal; /* PHASE_STOP: the signal a clone whose pid comes late gets */
	int nstarted;	 /* VMs started: always vm[0 .. nstarted - 1] */
	int nsettled;	 /* VMs ready, or ended before ready: no longer in the window */
	int nrunning;	 /* VMs started and not ended */
	int failures;
	uint64_t t_last_start; /* when the last VM was started */
	bool send_stalled;     /* the server had no room for a request: send it again soon */
	/* clones only */
	int conn;		   /* the connection to the restore server; -1 once lost */
	char body[CLONE_BODY_MAX]; /* the request, the same for every clone */
	int body_len;
	int *fifo;		  /* VMs whose pid (or error) answer is awaited, in request order */
	int fifo_head, fifo_tail; /* fifo[fifo_head .. fifo_tail - 1] are waiting */
	long pid_max;		  /* pids are below it (/proc/sys/kernel/pid_max) */
	int32_t *by_pid;	  /* per pid: the VM index + 1; -(exit status + 1) when the
				     clone's end came before its pid; 0 unknown */
	int odd_answers;	  /* answers that fit no request or clone */
};

static long read_pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 ? v : PID_MAX_LIMIT;
}

/*
 * raise_nofile: room for the descriptors the burst holds. Programs: two a VM
 * (output pipe, pidfd), all N at once. Clones: one a VM in the window (its
 * output pipe, until ready) and the connection. Besides, the descriptors
 * beside requests the server has not taken yet count against RLIMIT_NOFILE
 * (the kernel's limit on descriptors in flight): room for a window of them
 * is asked for too, but when there is less, sending just waits.
 */
static void raise_nofile(const struct burst *b)
{
	rlim_t need = (rlim_t)(b->clone ? b->window : 2 * b->n) + FD_SPARE;
	rlim_t want = need + (b->clone ? (rlim_t)b->window * FDS_PER_REQUEST : 0);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit(RLIMIT_NOFILE)");
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		if (b->clone)
			fprintf(
			    stderr,
			    "runner: %d clones, %d at a time, need %llu open files but the hard "
			    "limit is %llu: lower -j or raise ulimit -Hn\n",
			    b->n, b->window, (unsigned long long)need,
			    (unsigned long long)rl.rlim_max);
		else
			fprintf(stderr,
				"runner: %d VMs at once need %llu open files (2 each) but the hard "
				"limit is %llu: raise ulimit -Hn\n",
				b->n, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		exit(2);
	}
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit(RLIMIT_NOFILE)");
}

/* watch_tag: the epoll tag of VM (i)'s descriptor of (kind). */
static uint64_t watch_tag(enum watch_kind kind, int i)
{
	return (uint64_t)kind << 32 | (uint32_t)i;
}

static void watch(const struct burst *b, int fd, enum watch_kind kind, int i)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = watch_tag(kind, i)};

	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

static void unwatch(const struct burst *b, int fd)
{
	epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* output_pipe: a VM's output pipe: *rd (non-blocking) for us, *wr (blocking) for the VM. */
static void output_pipe(int *rd, int *wr)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2");
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		die("fcntl");
	*rd = p[0];
	*wr = p[1];
}

static void close_output(struct burst *b, int i)
{
	struct burst_vm *v = &b->vm[i];

	if (v->out_watched)
		unwatch(b, v->out);
	if (v->out >= 0)
		close(v->out);
	v->out = -1;
	v->out_watched = false;
}

/*
 * stop_reading: VM (i)'s output is read no more. A clone's pipe is closed at
 * once, so the runner holds about one descriptor per VM in the window: ember
 * ignores SIGPIPE, so what the clone writes later is just lost. A program's
 * pipe stays open until it ended (it may not ignore SIGPIPE), unwatched.
 */
static void stop_reading(struct burst *b, int i)
{
	struct burst_vm *v = &b->vm[i];

	if (b->clone) {
		close_output(b, i);
	} else if (v->out_watched) {
		unwatch(b, v->out);
		v->out_watched = false;
	}
}

/* scan_ready: add (len) bytes of output to (v)'s tail; whether the marker is in it now. */
static bool scan_ready(struct burst_vm *v, const char *data, size_t len)
{
	while (len > 0) {
		size_t room = TAIL_SIZE - 1 - v->tail_len;
		size_t take = len < room ? len : room;

		memcpy(v->tail + v->tail_len, data, take);
		v->tail_len += take;
		v->tail[v->tail_len] = 0;
		data += take;
		len -= take;
		if (strstr(v->tail, READY_MARKER) != NULL)
			return true;
		if (v->tail_len == TAIL_SIZE - 1) {
			memmove(v->tail, v->tail + v->tail_len - TAIL_KEEP, TAIL_KEEP);
			v->tail_len = TAIL_KEEP;
			v->tail[TAIL_KEEP] = 0;
		}
	}
	return false;
}

static void vm_ready(struct burst *b, int i, uint64_t t)
{
	b->vm[i].t_ready = t;
	b->nsettled++;
	stop_reading(b, i);
}

/* read_output: read what VM (i) printed until its pipe is empty; the marker makes it ready at (t).
 */
static void read_output(struct burst *b, int i, uint64_t t)
{
	struct burst_vm *v = &b->vm[i];
	char buf[512];

	while (v->out_watched) {
		ssize_t m = read(v->out, buf, sizeof(buf));
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && errno == EAGAIN)
			return;
		if (m <= 0) { /* end of file: no writer left */
			close_output(b, i);
			return;
		}
		if (scan_ready(v, buf, (size_t)m)) {
			vm_ready(b, i, t);
			return;
		}
	}
}

/*
 * vm_end: VM (i) is gone with exit status (status) (-1: never ran, or
 * unknown). During the start-up, one that was not ready failed: said on
 * stderr with (why), or its exit status and last output.
 */
static void vm_end(struct burst *b, int i, int status, const char *why)
{
	struct burst_vm *v = &b->vm[i];
	pid_t pid = b->pid[i];

	if (v->ended)
		return;
	if (b->phase == PHASE_START && !v->t_ready)
		read_output(b, i, now_ns()); /* the marker may be there, unread */
	v->ended = true;
	v->exit = status;
	if (v->started)
		b->nrunning--;
	if (b->by_pid != NULL && pid > 0 && b->by_pid[pid] == i + 1)
		b->by_pid[pid] = 0;
	b->pid[i] = 0;
	close_output(b, i);
	if (v->pidfd >= 0) {
		unwatch(b, v->pidfd);
		close(v->pidfd);
		v->pidfd = -1;
	}
	if (b->phase != PHASE_START || v->t_ready)
		return;
	b->nsettled++;
	if (++b->failures > FAILURES_SHOWN)
		return;
	if (why != NULL)
		fprintf(stderr, "runner: %s #%d: %s\n", b->name, i, why);
	else
		fprintf(stderr, "runner: %s #%d exited %d before ready: %s\n", b->name, i, status,
			v->tail);
}

/* start_exec: spawn VM (i), a program. */
static void start_exec(struct burst *b, int i)
{
	struct burst_vm *v = &b->vm[i];
	int wr;

	output_pipe(&v->out, &wr);
	pid_t pid = spawn_fast(b->argv, wr, &v->t_exec);
	if (pid < 0)
		die("spawn");
	b->pid[i] = pid;
	if ((v->pidfd = pidfd_open(pid)) < 0)
		die("pidfd_open");
	close(wr);
	watch(b, v->out, WATCH_OUTPUT, i);
	v->out_watched = true;
	watch(b, v->pidfd, WATCH_PIDFD, i);
}

/* reap_exec: VM (i), a program, ended (its pidfd says): its status and peak RSS. */
static void reap_exec(struct burst *b, int i)
{
	struct rusage ru;
	int st = 0;
	pid_t r;

	do
		r = wait4(b->pid[i], &st, WNOHANG, &ru);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return; /* not yet */
	if (r != b->pid[i]) {
		vm_end(b, i, -1, NULL);
		return;
	}
	b->vm[i].maxrss_kb = ru.ru_maxrss;
	vm_end(b, i, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), NULL);
}

/*
 * server_lost: the connection to the restore server is gone: no answer will
 * come. The requests still waiting for theirs, and the VMs not started yet,
 * end here (exit -1).
 */
static void server_lost(struct burst *b)
{
	if (b->conn < 0)
		return;
	fprintf(stderr, "runner: %s: lost the restore server\n", b->name);
	unwatch(b, b->conn);
	close(b->conn);
	b->conn = -1;
	while (b->fifo_head < b->fifo_tail)
		vm_end(b, b->fifo[b->fifo_head++], -1, "no answer from the restore server");
	for (int i = b->nstarted; i < b->n; i++)
		vm_end(b, i, -1, "not started: lost the restore server");
}

/*
 * start_clone: request VM (i), a clone, on the connection; its pid comes in
 * the answer to it (fifo). False when it was not sent: the server had no
 * room (send_stalled), or is gone.
 */
static bool start_clone(struct burst *b, int i)
{
	struct burst_vm *v = &b->vm[i];
	int wr;

	output_pipe(&v->out, &wr);
	int err = clone_request(b->conn, b->body, b->body_len, wr, -1, &v->t_exec, MSG_DONTWAIT);
	close(wr);
	if (err < 0) {
		close(v->out);
		v->out = -1;
		/* ETOOMANYREFS: too many of our descriptors wait in the server's queue */
		if (err == -EAGAIN || err == -ETOOMANYREFS || err == -ENOBUFS || err == -EINTR) {
			b->send_stalled = true;
		} else {
			fprintf(stderr, "runner: @clone: sendmsg: %s\n", strerror(-err));
			server_lost(b);
		}
		return false;
	}
	b->fifo[b->fifo_tail++] = i;
	watch(b, v->out, WATCH_OUTPUT, i);
	v->out_watched = true;
	return true;
}

/* start_more: start the next VMs, as many as the window has room for. */
static void start_more(struct burst *b)
{
	bool any = false;

	b->send_stalled = false;
	while (b->nstarted < b->n && b->nstarted - b->nsettled < b->window) {
		int i = b->nstarted;

		if (b->clone) {
			if (b->conn < 0 || !start_clone(b, i))
				break;
		} else {
			start_exec(b, i);
		}
		b->vm[i].started = true;
		b->nstarted++;
		b->nrunning++;
		any = true;
	}
	if (any)
		b->t_last_start = now_ns();
}

/* clone_runs: the server's answer to VM (i)'s request: it runs as (pid). */
static void clone_runs(struct burst *b, int i, pid_t pid)
{
	int32_t early = b->by_pid[pid];

	b->pid[i] = pid;
	if (early < 0) { /* its end came first */
		b->by_pid[pid] = 0;
		vm_end(b, i, -early - 1, NULL);
		return;
	}
	b->by_pid[pid] = i + 1;
	if (b->phase == PHASE_STOP)
		kill(pid, b->stop_signal);
}

/* clone_ended: the clone (pid) ended with (status). */
static void clone_ended(struct burst *b, pid_t pid, int status)
{
	int32_t slot = b->by_pid[pid];

	if (slot > 0)
		vm_end(b, slot - 1, status, NULL);
	else
		b->by_pid[pid] = -status - 1; /* its pid answer is still to come */
}

static void odd_answer(struct burst *b, const char *msg)
{
	if (++b->odd_answers <= FAILURES_SHOWN)
		fprintf(stderr, "runner: %s: unexpected answer from the restore server: %s\n",
			b->name, msg);
}

/*
 * take_answer: one message from the server: a pid or an error answers the
 * oldest request still waiting; an end is the clone's with that pid.
 */
static void take_answer(struct burst *b, const char *msg)
{
	struct answer a = parse_answer(msg);
	bool pid_ok = a.pid > 0 && a.pid < b->pid_max;
	bool waiting = b->fifo_head < b->fifo_tail;

	if (a.kind == ANSWER_EXIT && pid_ok && a.status >= 0 && a.status <= EXIT_STATUS_MAX) {
		clone_ended(b, (pid_t)a.pid, (int)a.status);
	} else if (a.kind == ANSWER_PID && pid_ok && waiting) {
		clone_runs(b, b->fifo[b->fifo_head++], (pid_t)a.pid);
	} else if (a.kind == ANSWER_ERROR && waiting) {
		char why[CLONE_MSG_MAX + 32];

		snprintf(why, sizeof(why), "restore server: %s", msg);
		vm_end(b, b->fifo[b->fifo_head++], -1, why);
	} else {
		odd_answer(b, msg);
	}
}

/* read_server: take every message waiting on the connection. */
static void read_server(struct burst *b)
{
	char buf[CLONE_MSG_MAX + 1];

	while (b->conn >= 0) {
		ssize_t m = recv(b->conn, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && errno == EAGAIN)
			return;
		if (m <= 0) {
			server_lost(b);
			return;
		}
		buf[m] = 0;
		take_answer(b, buf);
	}
}

/* wait_ms: epoll_wait's timeout: until (deadline), or sooner to send again. */
static int wait_ms(const struct burst *b, uint64_t deadline)
{
	uint64_t t = now_ns();

	if (t >= deadline)
		return 0;
	uint64_t left = (deadline - t + NS_PER_MS - 1) / NS_PER_MS;
	if (b->send_stalled && left > SEND_RETRY_MS)
		return SEND_RETRY_MS;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* burst_events: wait up to (timeout_ms) for the VMs and the server, and take in what came. */
static void burst_events(struct burst *b, int timeout_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int k = epoll_wait(b->epfd, ev, MAX_EVENTS, timeout_ms);
	uint64_t t = now_ns();

	if (k < 0 && errno != EINTR)
		die("epoll_wait");
	for (int j = 0; j < k; j++) {
		int i = (int)(uint32_t)ev[j].data.u64;

		switch ((enum watch_kind)(ev[j].data.u64 >> 32)) {
		case WATCH_OUTPUT:
			read_output(b, i, t);
			break;
		case WATCH_PIDFD:
			if (!b->vm[i].ended)
				reap_exec(b, i);
			break;
		case WATCH_SERVER:
			read_server(b);
			break;
		}
	}
}

static void burst_init(struct burst *b, const char *name, char **argv, int n, int window)
{
	b->name = name;
	b->argv = argv;
	b->clone = is_clone(argv);
	b->n = n;
	b->window = b->clone && window < n ? window : n;
	b->phase = PHASE_START;
	b->conn = -1;
	raise_nofile(b);
	b->vm = calloc((size_t)n, sizeof(*b->vm));
	b->pid = calloc((size_t)n, sizeof(*b->pid));
	if (b->vm == NULL || b->pid == NULL)
		die("alloc");
	for (int i = 0; i < n; i++) {
		b->vm[i].out = b->vm[i].pidfd = -1;
		b->vm[i].exit = -1;
	}
	if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	if (b->clone) {
		b->conn = clone_connect(argv, b->body, &b->body_len);
		watch(b, b->conn, WATCH_SERVER, 0);
		b->pid_max = read_pid_max();
		b->fifo = calloc((size_t)n, sizeof(*b->fifo));
		b->by_pid = calloc((size_t)b->pid_max, sizeof(*b->by_pid));
		if (b->fifo == NULL || b->by_pid == NULL)
			die("alloc");
	}
	g_pids = b->pid;
	g_npids = n;
}

/*
 * end_start: the start-up is over. A VM neither ready nor ended by now (or
 * never started) failed; output is read no more.
 */
static void end_start(struct burst *b)
{
	b->phase = PHASE_HOLD;
	for (int i = 0; i < b->n; i++) {
		if (!b->vm[i].t_ready && !b->vm[i].ended)
			b->failures++;
		stop_reading(b, i);
	}
}

/* ready_without_pid: whether a clone that is ready still waits for its pid answer. */
static bool ready_without_pid(const struct burst *b)
{
	for (int j = b->fifo_head; j < b->fifo_tail; j++)
		if (b->vm[b->fifo[j]].t_ready)
			return true;
	return false;
}

static void signal_all(struct burst *b, int sig)
{
	b->stop_signal = sig;
	for (int i = 0; i < b->n; i++)
		if (b->pid[i] > 0)
			kill(b->pid[i], sig);
}

/* wait_ended: take in the VMs' ends until every one started ended, or (deadline). */
static void wait_ended(struct burst *b, uint64_t deadline)
{
	while (b->nrunning > 0 && now_ns() < deadline && !(b->clone && b->conn < 0))
		burst_events(b, wait_ms(b, deadline));
}

/*
 * burst_stop: SIGTERM every VM and wait for their ends; SIGKILL those left
 * after STOP_TIMEOUT_MS and wait KILL_GRACE_MS more. A clone whose pid comes
 * meanwhile gets the signal at once (clone_runs). One never heard of again
 * keeps exit -1.
 */
static void burst_stop(struct burst *b)
{
	b->phase = PHASE_STOP;
	signal_all(b, SIGTERM);
	wait_ended(b, now_ns() + STOP_TIMEOUT_MS * NS_PER_MS);
	if (b->nrunning == 0)
		return;
	signal_all(b, SIGKILL);
	wait_ended(b, now_ns() + KILL_GRACE_MS * NS_PER_MS);
}

static int cmd_burst(int argc, char **argv)
{
	int n = 10, window = BURST_WINDOW, timeout_s = 60, hold_ms = 200, opt;
	long mem_mib = 128;
	const char *outpath = NULL, *sumpath = NULL;

	while ((opt = getopt(argc, argv, "n:j:T:m:H:o:s:")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
		else if (opt == 'j')
			window = atoi(optarg);
		else if (opt == 'T')
			timeout_s = atoi(optarg);
		else if (opt == 'm')
			mem_mib = atol(optarg);
		else if (opt == 'H')
			hold_ms = atoi(optarg);
		else if (opt == 'o')
			outpath = optarg;
		else if (opt == 's')
			sumpath = optarg;
		else
			return 2;
	}
	if (optind + 1 >= argc || n < 1 || n > MAX_VMS || window < 1)
		return 2;
	const char *name = argv[optind];
	char **cargv = argv + optind + 1;
	if (strcmp(cargv[0], "--") == 0)
		cargv++;
	if (cargv[0] == NULL)
		return 2;

	static struct burst b;
	burst_init(&b, name, cargv, n, window);
	struct burst_vm *vm = b.vm;

	long avail0 = meminfo_kb("MemAvailable");
	uint64_t t0 = now_ns();
	uint64_t deadline = t0 + (uint64_t)timeout_s * 1000000000ULL;
	for (;;) {
		start_more(&b);
		if (b.nsettled == n || now_ns() >= deadline)
			break;
		burst_events(&b, wait_ms(&b, deadline));
	}
	uint64_t t_all = now_ns();
	uint64_t t_spawned = b.nstarted > 0 ? b.t_last_start : t0;
	end_start(&b);
	/* Clones ready before their pid came: it is needed to sample and to stop them. */
	uint64_t pid_deadline = now_ns() + PID_WAIT_MS * NS_PER_MS;
	while (b.clone && b.conn >= 0 && ready_without_pid(&b) && now_ns() < pid_deadline)
		burst_events(&b, wait_ms(&b, pid_deadline));
	int failures = b.failures;
	if (hold_ms > 0)
		usleep((useconds_t)hold_ms * 1000);

	/* memory, with every microVM booted and idle */
	long avail1 = meminfo_kb("MemAvailable");
	long rss_sum = 0, pss_sum = 0;
	int64_t *o_rss = calloc((size_t)n, 8), *o_pss = calloc((size_t)n, 8),
		*g_rss = calloc((size_t)n, 8), *rdy = calloc((size_t)n, 8),
		*maxrss = calloc((size_t)n, 8), *g_priv = calloc((size_t)n, 8);
	if (!o_rss || !o_pss || !g_rss || !rdy || !maxrss || !g_priv)
		die("alloc");
	int nover = 0, nready = 0, nmax = 0;
	for (int i = 0; i < n; i++) {
		long r, p;
		if (!vm[i].t_ready)
			continue;
		rdy[nready++] = (int64_t)(vm[i].t_ready - vm[i].t_exec) / 1000;
		if (b.pid[i] <= 0)
			continue;
		rollup(b.pid[i], &r, &p);
		rss_sum += r;
		pss_sum += p;
		if (nover < 10) {
			long a, o, c, d;
			overhead(b.pid[i], mem_mib * 1024, &a, &o, &c, &d);
			o_rss[nover] = a;
			o_pss[nover] = o;
			g_priv[nover] = d;
			g_rss[nover++] = c;
		}
	}
	int64_t first_ready = -1, last_ready = -1;
	for (int i = 0; i < n; i++) {
		if (!vm[i].t_ready)
			continue;
		int64_t d = (int64_t)(vm[i].t_ready - t0) / 1000;
		if (first_ready < 0 || d < first_ready)
			first_ready = d;
		if (d > last_ready)
			last_ready = d;
	}

	/* tell every microVM to exit, wait for all */
	uint64_t t_term = now_ns();
	burst_stop(&b);
	uint64_t t_gone = now_ns();
	g_npids = 0;
	for (int i = 0; i < n; i++)
		if (vm[i].t_ready && vm[i].maxrss_kb > 0)
			maxrss[nmax++] = vm[i].maxrss_kb;

	FILE *out = outpath ? fopen(outpath, "a") : NULL;
	if (out) {
		fseek(out, 0, SEEK_END);
		if (ftell(out) == 0)
			fputs("name,n,i,ready_us,since_start_us,exit\n", out);
		for (int i = 0; i < n; i++)
			fprintf(out, "%s,%d,%d,%lld,%lld,%d\n", name, n, i,
				vm[i].t_ready ? (long long)(vm[i].t_ready - vm[i].t_exec) / 1000
					      : -1LL,
				vm[i].t_ready ? (long long)(vm[i].t_ready - t0) / 1000 : -1LL,
				vm[i].exit);
		fclose(out);
	}
	FILE *sum = sumpath ? fopen(sumpath, "a") : stdout;
	if (sum == NULL)
		die(sumpath);
	fseek(sum, 0, SEEK_END);
	if (sum != stdout && ftell(sum) == 0)
		fputs(BURST_HEADER, sum);
	fprintf(
	    sum, "%s,%d,%d,%d,%lld,%lld,%lld,%lld,%ld,%ld,%ld,%lld,%lld,%lld,%lld,%lld,%d,%lld\n",
	    name, n, nready, failures, (long long)(t_spawned - t0) / 1000, (long long)first_ready,
	    (long long)median(rdy, nready), (long long)last_ready, avail0 - avail1, rss_sum,
	    pss_sum, (long long)median(o_rss, nover), (long long)median(o_pss, nover),
	    (long long)median(g_rss, nover), (long long)median(maxrss, nmax),
	    (long long)(t_gone - t_term) / 1000, hold_ms, (long long)median(g_priv, nover));
	if (sum != stdout)
		fclose(sum);
	fprintf(stderr, "    %s: %d at once: %d ready, %d failed, last ready after %.1f ms\n", name,
		n, nready, failures, (double)(t_all - t0) / 1e6);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	static pid_t one[1];
	struct sigaction sa = {.sa_handler = on_signal};

	g_pids = one;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (argc >= 2 && strcmp(argv[1], "seq") == 0)
		return cmd_seq(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "burst") == 0)
		return cmd_burst(argc - 1, argv + 1);
	fprintf(stderr,
		"usage: runner seq [-r ROUNDS] [-T SECS] [-o CSV] SPEC\n"
		"       runner burst -n N [-j K] [-T SECS] [-m MIB] [-H MS] [-o CSV] [-s CSV] "
		"NAME -- ARGV...\n");
	return 2;
}
