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
 *   runner burst -n N [-T SECS] [-m MIB] [-H MS] [-o CSV] [-s SUMMARY] NAME -- ARGV...
 *       Starts N copies of ARGV at once, waits until each prints "ready",
 *       holds them H ms, samples memory (/proc/meminfo, /proc/PID/smaps),
 *       then SIGTERMs them all and waits. Per-VM rows go to CSV, one summary
 *       row (BURST_HEADER) to SUMMARY. N=1 is the footprint measurement.
 *
 * ARGV "@clone SOCKET SNAP MEM" is no program: the runner asks the ember
 * --restore-server on SOCKET for a clone of that snapshot, passing its own
 * pipes as the clone's stdio; the "exec" instant is then just before the
 * request, and the exit status comes back on the connection.
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

#define SEQ_HEADER                                                                          \
	"name,round,exit,ok,wall_us,first_out_us,ready_us,boot_us,since_exec_us,first_run_us," \
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

/* clone_answer: the integer after (key) in the server's next message, or -1. */
static long clone_answer(int conn, const char *key)
{
	char buf[512];
	ssize_t n = recv(conn, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, key);
	if (p == NULL) {
		fprintf(stderr, "runner: restore server: %s\n", buf);
		return -1;
	}
	return strtol(p + strlen(key), NULL, 10);
}

/*
 * send_clone: "@clone SOCKET SNAP MEM": one request to an ember
 * --restore-server, with /dev/null, (outfd) and (errfd) as the clone's
 * stdio. Returns the connection, on which the clone's pid and later its
 * exit status come (clone_answer).
 */
static int send_clone(char *const argv[], int outfd, int errfd, volatile uint64_t *t_exec)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char body[4096];
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int fds[3] = {nul, outfd, errfd >= 0 ? errfd : outfd};
	char control[CMSG_SPACE(sizeof(fds))];

	if (!argv[1] || !argv[2] || !argv[3] || strlen(argv[1]) >= sizeof(addr.sun_path))
		die("@clone SOCKET SNAP MEM");
	memcpy(addr.sun_path, argv[1], strlen(argv[1]) + 1);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("@clone: connect");
	int len = snprintf(body, sizeof(body),
			   "{\"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\"}", argv[2],
			   argv[3]);
	struct iovec iov = {.iov_base = body, .iov_len = (size_t)len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	memset(control, 0, sizeof(control));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	*t_exec = now_ns();
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		die("@clone: sendmsg");
	close(nul);
	return fd;
}

/* spawn_clone: send_clone, then its pid; *conn will carry its exit status. */
static pid_t spawn_clone(char *const argv[], int outfd, int errfd, volatile uint64_t *t_exec,
			 int *conn)
{
	int fd = send_clone(argv, outfd, errfd, t_exec);
	long pid = clone_answer(fd, "\"pid\": ");
	if (pid <= 0) {
		close(fd);
		return -1;
	}
	*conn = fd;
	return (pid_t)pid;
}

/*
 * burst_status: the exit status of a burst's VM (pid) that ended: its wait
 * status (and rusage, when (ru) is set) for a child, the server's message
 * for a clone (no rusage: not our child).
 */
static int burst_status(char *const argv[], pid_t pid, int endfd, struct rusage *ru)
{
	int st = 0;

	if (ru != NULL)
		memset(ru, 0, sizeof(*ru));
	if (is_clone(argv)) {
		long status = clone_answer(endfd, "\"exit_status\": ");
		return status < 0 ? -1 : (int)status;
	}
	if (wait4(pid, &st, 0, ru) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------------ seq */

struct config {
	char name[64];
	int expect;
	char marker[64];
	char *argv[MAX_ARGS + 1];
};

struct run_result {
	int exit;   /* exit status, 128+sig when killed by a signal, -1 timeout */
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
		long status = r->exit == -1 ? -1 : clone_answer(conn, "\"exit_status\": ");
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
	volatile uint64_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
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
			fprintf(out,
				"%s,%d,%d,%d,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%.3f,%s\n",
				c->name, r, res.exit, ok, (long long)res.wall_us,
				(long long)res.out_us, (long long)res.ready_us,
				(long long)res.boot_us, (long long)res.since_exec_us,
				(long long)res.first_run_us, (long long)res.user_us,
				(long long)res.sys_us, (long long)res.maxrss_kb,
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

static int cmd_burst(int argc, char **argv)
{
	int n = 10, timeout_s = 60, hold_ms = 200, opt;
	long mem_mib = 128;
	const char *outpath = NULL, *sumpath = NULL;

	while ((opt = getopt(argc, argv, "n:T:m:H:o:s:")) != -1) {
		if (opt == 'n')
			n = atoi(optarg);
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
	if (optind + 1 >= argc || n < 1 || n > MAX_VMS)
		return 2;
	const char *name = argv[optind];
	char **cargv = argv + optind + 1;
	if (strcmp(cargv[0], "--") == 0)
		cargv++;

	/* Two descriptors a VM (its output pipe, its pidfd or connection), and spare. */
	struct rlimit rl = {.rlim_cur = (rlim_t)n * 2 + 64, .rlim_max = (rlim_t)n * 2 + 64};
	struct rlimit old;
	getrlimit(RLIMIT_NOFILE, &old);
	if (old.rlim_max > rl.rlim_max)
		rl.rlim_max = old.rlim_max;
	if (old.rlim_cur < rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit(RLIMIT_NOFILE): raise the hard limit (ulimit -Hn) for this many VMs");

	pid_t *pids = calloc((size_t)n, sizeof(*pids));
	int *ofd = calloc((size_t)n, sizeof(int)), *pfd = calloc((size_t)n, sizeof(int));
	uint64_t *t_ready = calloc((size_t)n, sizeof(uint64_t));
	int *exitst = calloc((size_t)n, sizeof(int));
	bool *exited = calloc((size_t)n, sizeof(bool));
	char (*obuf)[64] = calloc((size_t)n, 64);
	size_t *olen = calloc((size_t)n, sizeof(size_t));
	struct pollfd *fds = calloc((size_t)n * 2, sizeof(*fds));
	int *idx = calloc((size_t)n, sizeof(int));
	volatile uint64_t *shared = mmap(NULL, (size_t)n * 8 + 4096, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!pids || !idx || !ofd || !pfd || !t_ready || !exitst || !exited || !obuf || !olen || !fds ||
	    shared == MAP_FAILED)
		die("alloc");
	g_pids = pids;

	long avail0 = meminfo_kb("MemAvailable");
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			die("pipe2");
		/* Clones: every request goes out first, the pids are read after. */
		if (is_clone(cargv)) {
			pfd[i] = send_clone(cargv, p[1], -1, &shared[i]);
			pids[i] = 0;
		} else {
			pids[i] = spawn_fast(cargv, p[1], &shared[i]);
			if (pids[i] < 0 || (pfd[i] = pidfd_open(pids[i])) < 0)
				die("spawn");
		}
		g_npids = i + 1;
		close(p[1]);
		ofd[i] = p[0];
	}
	/* A clone's pid is the server's first answer: read as it comes, below. */
	uint64_t t_spawned = now_ns();

	int pending = n, failures = 0;
	uint64_t deadline = t0 + (uint64_t)timeout_s * 1000000000ULL;
	while (pending > 0 && now_ns() < deadline) {
		int k = 0;
		for (int i = 0; i < n; i++) {
			if (t_ready[i] || exited[i])
				continue;
			idx[k / 2] = i;
			fds[k++] = (struct pollfd){ofd[i], POLLIN, 0};
			fds[k++] = (struct pollfd){pfd[i], POLLIN, 0};
		}
		int r = poll(fds, (nfds_t)k, 100);
		uint64_t t = now_ns();
		if (r < 0 && errno != EINTR)
			die("poll");
		for (int j = 0; j < k; j += 2) {
			int i = idx[j / 2];
			if (fds[j].revents & (POLLIN | POLLHUP)) {
				char tmp[256];
				ssize_t m = read(ofd[i], tmp, sizeof(tmp));
				if (m > 0) {
					size_t take = (size_t)m < 63 - olen[i] ? (size_t)m : 63 - olen[i];
					memcpy(obuf[i] + olen[i], tmp, take);
					olen[i] += take;
					if (strstr(obuf[i], "ready")) {
						t_ready[i] = t;
						pending--;
						continue;
					}
					/* keep only a tail long enough to find the marker */
					if (olen[i] == 63) {
						memmove(obuf[i], obuf[i] + 58, 5);
						olen[i] = 5;
						obuf[i][5] = 0;
					}
				}
			}
			if ((fds[j + 1].revents & POLLIN) && pids[i] == 0) {
				long pid = clone_answer(pfd[i], "\"pid\": ");
				if (pid <= 0)
					die("@clone: no pid");
				pids[i] = (pid_t)pid;
				continue;
			}
			if (fds[j + 1].revents & POLLIN) {
				exited[i] = true;
				exitst[i] = burst_status(cargv, pids[i], pfd[i], NULL);
				pids[i] = 0;
				pending--;
				failures++;
				if (failures <= 5)
					fprintf(stderr, "runner: %s #%d exited %d before ready: %s\n",
						name, i, exitst[i], obuf[i]);
			}
		}
	}
	uint64_t t_all = now_ns();
	/* Clones ready before their pid was read: it is waiting on the connection. */
	for (int i = 0; is_clone(cargv) && i < n; i++) {
		if (pids[i] != 0 || exited[i])
			continue;
		long pid = clone_answer(pfd[i], "\"pid\": ");
		if (pid <= 0)
			die("@clone: no pid");
		pids[i] = (pid_t)pid;
	}
	for (int i = 0; i < n; i++)
		if (!t_ready[i] && !exited[i])
			failures++;
	if (hold_ms > 0)
		usleep((useconds_t)hold_ms * 1000);

	/* memory, with every microVM booted and idle */
	long avail1 = meminfo_kb("MemAvailable");
	long rss_sum = 0, pss_sum = 0;
	int64_t *o_rss = calloc((size_t)n, 8), *o_pss = calloc((size_t)n, 8),
		*g_rss = calloc((size_t)n, 8), *rdy = calloc((size_t)n, 8),
		*maxrss = calloc((size_t)n, 8), *g_priv = calloc((size_t)n, 8);
	int nover = 0, nready = 0, nmax = 0;
	for (int i = 0; i < n; i++) {
		long r, p;
		if (!t_ready[i])
			continue;
		rollup(pids[i], &r, &p);
		rss_sum += r;
		pss_sum += p;
		if (nover < 10) {
			long a, b, c, d;
			overhead(pids[i], mem_mib * 1024, &a, &b, &c, &d);
			o_rss[nover] = a;
			o_pss[nover] = b;
			g_priv[nover] = d;
			g_rss[nover++] = c;
		}
		rdy[nready++] = (int64_t)(t_ready[i] - shared[i]) / 1000;
	}
	int64_t first_ready = -1, last_ready = -1;
	for (int i = 0; i < n; i++) {
		if (!t_ready[i])
			continue;
		int64_t d = (int64_t)(t_ready[i] - t0) / 1000;
		if (first_ready < 0 || d < first_ready)
			first_ready = d;
		if (d > last_ready)
			last_ready = d;
	}

	/* tell every microVM to exit, wait for all */
	uint64_t t_term = now_ns();
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	uint64_t kill_deadline = t_term + 30000000000ULL;
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		struct pollfd pf = {pfd[i], POLLIN, 0};
		int64_t left = (int64_t)(kill_deadline - now_ns()) / 1000000;
		if (poll(&pf, 1, left > 0 ? (int)left : 0) <= 0)
			kill(pids[i], SIGKILL);
		struct rusage ru;
		exitst[i] = burst_status(cargv, pids[i], pfd[i], &ru);
		if (t_ready[i] && ru.ru_maxrss > 0)
			maxrss[nmax++] = ru.ru_maxrss;
		pids[i] = 0;
	}
	uint64_t t_gone = now_ns();
	g_npids = 0;

	FILE *out = outpath ? fopen(outpath, "a") : NULL;
	if (out) {
		fseek(out, 0, SEEK_END);
		if (ftell(out) == 0)
			fputs("name,n,i,ready_us,since_start_us,exit\n", out);
		for (int i = 0; i < n; i++)
			fprintf(out, "%s,%d,%d,%lld,%lld,%d\n", name, n, i,
				t_ready[i] ? (long long)(t_ready[i] - shared[i]) / 1000 : -1LL,
				t_ready[i] ? (long long)(t_ready[i] - t0) / 1000 : -1LL, exitst[i]);
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
	fprintf(stderr, "usage: runner seq [-r ROUNDS] [-T SECS] [-o CSV] SPEC\n"
			"       runner burst -n N [-T SECS] [-m MIB] [-H MS] [-o CSV] [-s CSV] "
			"NAME -- ARGV...\n");
	return 2;
}
