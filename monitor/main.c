// SPDX-License-Identifier: Apache-2.0
/*
 * main.c: ember's entry: command line [-> config file] -> configuration ->
 * microVM -> exit status. With --api-sock, the API configures the same
 * struct vm_config until InstanceStart, and keeps serving from the VM's
 * own event loop afterwards; without, ember boots at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "api_routes.h"
#include "builder.h"
#include "config.h"
#include "config_json.h"
#include "exit_status.h"
#include "fd_budget.h"
#include "instance.h"
#include "log.h"
#include "logger.h"
#include "machine_backend.h"
#include "metrics.h"
#include "mmds_store.h"
#include "restore_client.h"
#include "restore_server.h"
#include "snap_file.h"
#include "startup_trace.h"
#include "vlog.h"

#define PVM_MODULE_DIR "/sys/module/kvm_pvm"
#define VMX_MODULE_DIR "/sys/module/kvm_intel"
#define SVM_MODULE_DIR "/sys/module/kvm_amd"
#define NS_PER_SEC     1000000000ULL
#define NS_PER_US      1000ULL
/* Metrics are flushed every minute, as Firecracker's. */
#define METRICS_PERIOD_S 60
/* Exit status for a run ended by a host signal before boot: 128 + signal. */
#define SIGNAL_EXIT_BASE 128
/* Room for the startup report's key=value pairs. */
#define STARTUP_LINE_MAX 512

/* The control plane's state: one per process, on main's stack. */
struct control {
	struct vm_config cfg;
	struct logger logger;
	struct metrics metrics;
	struct machine_backend backend;
	struct instance inst;
	struct mmds_store *mmds; /* the metadata service's document, for the process's life */
	struct api_server api;
	bool api_open;
	struct evloop loop; /* the one event loop, for the life of the process */
	struct startup_trace startup;
	int signal_fd;
	int timer_fd;
	bool running;	 /* the VM runs: a signal stops it rather than the loop */
	int exit_status; /* set when a signal ends ember before boot */
};

/*
 * exec_time_ns: when this process started, on CLOCK_MONOTONIC. A static
 * binary reaches main() after only CPU work (exec, loading, libc start),
 * so now minus the CPU time used so far is a close estimate.
 */
static uint64_t exec_time_ns(void)
{
	struct timespec cpu;
	uint64_t now = vm_now_ns();

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) != 0)
		return now;
	uint64_t used = (uint64_t)cpu.tv_sec * NS_PER_SEC + (uint64_t)cpu.tv_nsec;
	return used < now ? now - used : now;
}

static void note_software_kvm(void)
{
	struct stat st;

	/* kvm_pvm alone serves /dev/kvm; beside kvm_intel or kvm_amd, those do. */
	if (stat(PVM_MODULE_DIR, &st) == 0 && stat(VMX_MODULE_DIR, &st) != 0 &&
	    stat(SVM_MODULE_DIR, &st) != 0)
		log_warn("note: /dev/kvm here is kvm_pvm (software virtualisation): guest "
			 "ring-0 code partly runs in KVM's instruction emulator");
}

static void virtio_line(void *opaque, enum vlog_level level, int errnum, const char *fmt,
			va_list ap) __attribute__((format(printf, 4, 0)));

/*
 * virtio_line: the virtio library's lines join ember's own, so they obey
 * --level and reach the logger.
 */
static void virtio_line(void *opaque, enum vlog_level level, int errnum, const char *fmt,
			va_list ap)
{
	static const enum log_level to_log[] = {
	    [VLOG_ERROR] = LOG_ERROR,
	    [VLOG_WARN] = LOG_WARN,
	    [VLOG_INFO] = LOG_INFO,
	    [VLOG_DEBUG] = LOG_DEBUG,
	};

	(void)opaque;
	log_vmsg(to_log[level], errnum, fmt, ap);
}

/*
 * on_signal: SIGINT, SIGTERM and SIGHUP, the one path for the life of the
 * process: a running VM is stopped (its exit status 128 + the signal, as
 * shells report it); before boot, ember ends with that status.
 */
static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct control *ctl = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	int status = SIGNAL_EXIT_BASE + (int)si.ssi_signo;
	if (ctl->running) {
		log_warn("stopping the VM on signal %u", si.ssi_signo);
		vm_request_stop(&ctl->backend.m.vm, status);
		return;
	}
	log_warn("stopping on signal %u before the VM started", si.ssi_signo);
	ctl->exit_status = status;
	evloop_stop(&ctl->loop);
}

static void on_metrics_timer(void *opaque, int fd, uint32_t events)
{
	struct control *ctl = opaque;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	if (ctl->metrics.fd >= 0)
		metrics_flush(&ctl->metrics);
}

/* handle: the API handler; it ends the pre-boot loop once the VM is built. */
static void handle(void *opaque, const struct api_request *req, struct api_response *resp)
{
	struct control *ctl = opaque;

	api_routes_handle(&ctl->inst, req, resp);
	if (ctl->inst.start_done && !ctl->running)
		evloop_stop(&ctl->loop); /* main goes on to run the VM on the same loop */
}

/*
 * on_warm_order: a warm clone's order came (restore_server.h): take the
 * client's stdio, hear its stdin, and let the parked vCPUs go. The clone's
 * start-up clock starts at the request. Without an order (the server
 * ended), the paused VM ends.
 */
static void on_warm_order(void *opaque, int fd, uint32_t events)
{
	struct control *ctl = opaque;
	struct machine *m = &ctl->backend.m;
	struct warm_order order;
	char err[CONFIG_JSON_ERR_MAX];

	(void)events;
	int ret = restore_warm_take(fd, &order);
	if (ret == -EAGAIN)
		return;
	evloop_del(&ctl->loop, fd);
	close(fd);
	if (ret < 0) {
		if (ret != -EPIPE)
			log_error_errno(-ret, "warm clone: a bad order from the restore server");
		vm_request_stop(&m->vm, 0);
		return;
	}
	startup_restart(&ctl->startup, order.t_request_ns);
	console_close(&m->console);
	if (console_open(&m->console, STDIN_FILENO, &m->serial, &ctl->loop) < 0)
		log_warn("warm clone: cannot read the new stdin");
	if (instance_set_paused(&ctl->inst, false, err, sizeof(err)) < 0) {
		log_error("warm clone: %s", err);
		vm_request_stop(&m->vm, EMBER_EXIT_HOST_ERROR);
	}
}

/* startup_metrics: Firecracker's api_server.process_startup_time{,_cpu}_us. */
static void startup_metrics(struct control *ctl, uint64_t t_exec)
{
	struct timespec cpu, wall;
	const struct vm_config *cfg = &ctl->cfg;

	clock_gettime(CLOCK_MONOTONIC, &wall);
	uint64_t now_us = ((uint64_t)wall.tv_sec * NS_PER_SEC + (uint64_t)wall.tv_nsec) / NS_PER_US;
	/* The jailer's --start-time-us is CLOCK_MONOTONIC too. */
	uint64_t start_us = cfg->has_start_time_us ? cfg->start_time_us : t_exec / NS_PER_US;
	ctl->metrics.store.process_startup_time_us = now_us > start_us ? now_us - start_us : 0;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0) {
		uint64_t cpu_us =
		    ((uint64_t)cpu.tv_sec * NS_PER_SEC + (uint64_t)cpu.tv_nsec) / NS_PER_US;
		if (cfg->has_start_time_cpu_us)
			cpu_us =
			    cpu_us > cfg->start_time_cpu_us ? cpu_us - cfg->start_time_cpu_us : 0;
		if (cfg->has_parent_cpu_time_us)
			cpu_us += cfg->parent_cpu_time_us;
		ctl->metrics.store.process_startup_time_cpu_us = cpu_us;
	}
}

/* report_startup: the exec -> first KVM_RUN breakdown, when asked for. */
static void report_startup(const struct startup_trace *t)
{
	char line[STARTUP_LINE_MAX];

	if (startup_format(t, line, sizeof(line)) <= 0)
		return;
	if (startup_wanted())
		log_report("startup %s", line);
	else
		log_debug("startup %s", line);
}

/* describe_snapshot: --describe-snapshot FILE: what the state file holds. */
static int describe_snapshot(const char *path)
{
	char err[CONFIG_JSON_ERR_MAX];
	struct snap_reader r;

	if (snap_read_file(&r, path, err, sizeof(err)) < 0) {
		log_error("--describe-snapshot: %s", err);
		return EMBER_EXIT_CONFIG;
	}
	snap_describe(&r, stdout);
	snap_reader_free(&r);
	return 0;
}

/*
 * cli_overrides: --restore's --net and --vsock flags are overrides of the
 * snapshot's devices, not devices of their own: into (b), out of (cfg).
 */
static void cli_overrides(struct vm_config *cfg, struct snapshot_load_body *b)
{
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		b->nets[i].iface_id[0] = '\0'; /* the snapshot's i-th interface */
		snprintf(b->nets[i].host_dev_name, sizeof(b->nets[i].host_dev_name), "%s",
			 cfg->nets[i].host_dev_name);
		config_set_str(&cfg->nets[i].host_dev_name, NULL);
	}
	b->nnets = cfg->nnets;
	cfg->nnets = 0;
	if (cfg->vsock.enabled) {
		b->has_vsock_uds = true;
		b->vsock_cid = cfg->vsock.guest_cid;
		snprintf(b->vsock_uds, sizeof(b->vsock_uds), "%s", cfg->vsock.uds_path);
		config_set_str(&cfg->vsock.uds_path, NULL);
		cfg->vsock.enabled = false;
	}
}

/*
 * restore: --restore SNAP --mem-file MEM, or a restore server's request
 * (clone, else NULL): the snapshot's VM, resumed at once.
 */
static int restore(struct control *ctl, const struct snapshot_load_body *clone, char *err,
		   size_t errsz)
{
	if (clone != NULL)
		return instance_snapshot_load(&ctl->inst, clone, err, errsz);
	struct snapshot_load_body *b = calloc(1, sizeof(*b));
	int ret = -ENOMEM;

	if (b == NULL) {
		snprintf(err, errsz, "--restore: out of memory");
		return ret;
	}
	snprintf(b->snapshot_path, sizeof(b->snapshot_path), "%s", ctl->cfg.restore_path);
	snprintf(b->mem_path, sizeof(b->mem_path), "%s", ctl->cfg.mem_file_path);
	b->resume_vm = true;
	cli_overrides(&ctl->cfg, b);
	ret = instance_snapshot_load(&ctl->inst, b, err, errsz);
	free(b);
	return ret;
}

/* Room for a --metadata document beyond the store's limit (whitespace the store drops). */
#define METADATA_FILE_MAX (64ULL * 1024 * 1024)

/*
 * open_mmds: the metadata service's store, for the life of the process
 * (PUT /mmds works before boot and after), with --metadata's document.
 */
static int open_mmds(struct control *ctl)
{
	const struct vm_config *cfg = &ctl->cfg;
	size_t limit = cfg->mmds_size_limit != 0 ? cfg->mmds_size_limit : cfg->api_max_payload;
	char err[CONFIG_JSON_ERR_MAX];

	ctl->mmds = mmds_store_create(limit, NULL, NULL);
	if (ctl->mmds == NULL) {
		log_error("mmds: out of memory");
		return -ENOMEM;
	}
	ctl->inst.mmds = ctl->mmds;
	ctl->backend.m.mmds = ctl->mmds;
	if (cfg->metadata_path == NULL)
		return 0;
	FILE *f = fopen(cfg->metadata_path, "re");
	char *text = f != NULL ? malloc(METADATA_FILE_MAX) : NULL;
	size_t n = text != NULL ? fread(text, 1, METADATA_FILE_MAX, f) : 0;
	int ret = -EINVAL;
	if (f == NULL)
		log_error_errno(errno, "--metadata: cannot open '%s'", cfg->metadata_path);
	else if (text == NULL || ferror(f) || n == METADATA_FILE_MAX)
		log_error("--metadata: '%s': cannot read it (at most %llu bytes)",
			  cfg->metadata_path, (unsigned long long)METADATA_FILE_MAX - 1);
	else if ((ret = mmds_store_put(ctl->mmds, text, n, err, sizeof(err))) < 0)
		log_error("--metadata: '%s': %s", cfg->metadata_path, err);
	free(text);
	if (f != NULL)
		fclose(f);
	return ret < 0 ? -EINVAL : 0;
}

/* observability: the logger and metrics the flags or the config file ask for. */
static int observability(struct control *ctl)
{
	char err[CONFIG_JSON_ERR_MAX];
	struct vm_config *cfg = &ctl->cfg;

	if (cfg->logger.set &&
	    logger_configure(&ctl->logger, &cfg->logger, cfg->id, err, sizeof(err)) < 0) {
		log_error("logger: %s", err);
		return -EINVAL;
	}
	if (cfg->metrics_path != NULL && ctl->metrics.fd < 0 &&
	    metrics_configure(&ctl->metrics, cfg->metrics_path, err, sizeof(err)) < 0) {
		log_error("metrics: %s", err);
		return -EINVAL;
	}
	return 0;
}

/*
 * open_loop: the process's event loop with the signals on it. The signals
 * are blocked first, before any thread exists, so every thread inherits
 * the block and only the loop hears them.
 */
static int open_loop(struct control *ctl)
{
	sigset_t mask;
	int ret = evloop_init(&ctl->loop);

	if (ret < 0)
		return ret;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	ctl->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ctl->signal_fd < 0)
		return -errno;
	return evloop_add(&ctl->loop, ctl->signal_fd, EPOLLIN, on_signal, ctl);
}

/* run: the VM is built: run it to its end on the same loop, the API still served. */
static int run(struct control *ctl)
{
	struct machine *m = &ctl->backend.m;

	ctl->running = true;
	int status = machine_run(m);
	ctl->running = false;
	if (ctl->api_open)
		api_server_detach(&ctl->api);
	/* The last flush, with the vCPUs joined. */
	if (ctl->metrics.fd >= 0)
		metrics_flush(&ctl->metrics);
	snapshot_template_disarm(&ctl->backend.template);
	machine_destroy(m);
	return status;
}

int main(int argc, char **argv)
{
	uint64_t t_exec = exec_time_ns();
	static struct control ctl;

	startup_stamp(&ctl.startup, STARTUP_MAIN);
	struct vm_config *cfg = &ctl.cfg;
	char err[CONFIG_JSON_ERR_MAX];

	/* A client that hangs up must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Room for what the guest may make us hold (fd_budget.h). */
	fd_budget_raise();
	/*
	 * jansson seeds its hash tables from /dev/urandom on first use; do it
	 * now, while files may still be opened, not in a metrics flush after
	 * the seccomp filters are live.
	 */
	json_object_seed(0);
	/*
	 * glibc reads /etc/localtime on its first time conversion, even for
	 * gmtime_r (the logger's timestamps); a vCPU thread's filter would kill
	 * the process for that open. Load it now (absent in a jail: UTC).
	 */
	tzset();
	ctl.signal_fd = ctl.timer_fd = -1;
	ctl.loop.epfd = -1;
	config_defaults(cfg);
	switch (config_parse_args(cfg, argc, argv)) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_INVALID:
		return EMBER_EXIT_CONFIG;
	case CONFIG_RUN:
		break;
	}
	if (cfg->snapshot_version) {
		printf("%d\n", SNAP_FORMAT_VERSION);
		config_free(cfg);
		return 0;
	}
	if (cfg->describe_snapshot != NULL) {
		int ret = describe_snapshot(cfg->describe_snapshot);
		config_free(cfg);
		return ret;
	}
	log_set_level(cfg->verbosity >= 2 ? LOG_DEBUG : cfg->verbosity == 1 ? LOG_INFO : LOG_WARN);
	vlog_set_sink(virtio_line, NULL);
	if (cfg->verbosity > 0)
		note_software_kvm();
	if (cfg->restore_via != NULL) {
		int ret =
		    restore_client_run(cfg->restore_via, cfg->restore_path, cfg->mem_file_path);
		config_free(cfg);
		return ret;
	}
	/* A restore server returns here only in a clone, which goes on as --restore. */
	static struct restore_order clone_order;
	const struct snapshot_load_body *clone = NULL;
	if (cfg->restore_server != NULL) {
		int ret = restore_server_run(cfg->restore_server, cfg->prewarm, cfg->nprewarm,
					     &clone_order);
		if (ret != RESTORE_SERVER_CLONE) {
			config_free(cfg);
			return ret;
		}
		clone = &clone_order.body;
		t_exec = clone_order.t_request_ns;
		memset(&ctl.startup, 0, sizeof(ctl.startup));
		startup_stamp(&ctl.startup, STARTUP_MAIN); /* the fork, as the clone's "main" */
	}

	logger_init(&ctl.logger);
	metrics_init(&ctl.metrics);
	ctl.metrics.missed_log_count = &ctl.logger.missed_log_count;
	ctl.metrics.log_fails = &ctl.logger.log_fails;
	if (observability(&ctl) < 0)
		return EMBER_EXIT_CONFIG;
	if (cfg->config_file != NULL) {
		if (config_json_load_file(cfg, cfg->config_file, err, sizeof(err)) < 0) {
			log_error("--config-file: %s", err);
			return EMBER_EXIT_CONFIG;
		}
		if (observability(&ctl) < 0)
			return EMBER_EXIT_CONFIG;
	}
	/* The jailer's or a launcher's --start-time-us is the better exec instant. */
	startup_set_exec(&ctl.startup,
			 cfg->has_start_time_us ? cfg->start_time_us * NS_PER_US : t_exec);
	startup_stamp(&ctl.startup, STARTUP_CONFIG);
	ctl.backend.startup = &ctl.startup;
	ctl.backend.loop = &ctl.loop;
	ctl.backend.m.metrics = &ctl.metrics;
	instance_init(&ctl.inst, cfg, &machine_backend_ops, &ctl.backend, &ctl.logger,
		      &ctl.metrics);
	if (open_mmds(&ctl) < 0)
		return EMBER_EXIT_CONFIG;
	if (ctl.metrics.fd >= 0 || cfg->api_sock != NULL)
		ctl.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	int status = 0;
	if (open_loop(&ctl) < 0 ||
	    (ctl.timer_fd >= 0 &&
	     evloop_add(&ctl.loop, ctl.timer_fd, EPOLLIN, on_metrics_timer, &ctl) < 0)) {
		log_error_errno(errno, "cannot set up the event loop");
		return EMBER_EXIT_HOST_ERROR;
	}
	if (cfg->api_sock != NULL) {
		if (api_server_open(&ctl.api, cfg->api_sock, cfg->api_max_payload, handle, &ctl) <
		    0)
			return EMBER_EXIT_CONFIG;
		ctl.api_open = true;
		if (api_server_attach(&ctl.api, &ctl.loop) < 0) {
			log_error("api: cannot set up the event loop");
			api_server_close(&ctl.api, true);
			return EMBER_EXIT_HOST_ERROR;
		}
	}
	if (ctl.timer_fd >= 0) {
		struct itimerspec period = {.it_interval = {METRICS_PERIOD_S, 0},
					    .it_value = {METRICS_PERIOD_S, 0}};
		timerfd_settime(ctl.timer_fd, 0, &period, NULL);
	}
	startup_metrics(&ctl, t_exec);

	/* A snapshot, the command line or the config file start at once; the API waits. */
	if (cfg->restore_path != NULL || clone != NULL) {
		if (restore(&ctl, clone, err, sizeof(err)) < 0) {
			/*
			 * A warm clone's order may be here already: then its
			 * client, not the server, is the one to tell why.
			 */
			struct warm_order order;
			if (clone != NULL && clone_order.warm_fd >= 0)
				(void)restore_warm_take(clone_order.warm_fd, &order);
			log_error("--restore: %s", err);
			status =
			    ctl.backend.build_status ? ctl.backend.build_status : EMBER_EXIT_CONFIG;
		} else if (clone != NULL && clone_order.warm_fd >= 0 &&
			   evloop_add(&ctl.loop, clone_order.warm_fd, EPOLLIN, on_warm_order,
				      &ctl) < 0) {
			log_error("warm clone: cannot wait for its order");
			status = EMBER_EXIT_HOST_ERROR;
		}
	} else if (cfg->api_sock == NULL || cfg->config_file != NULL) {
		if (instance_start(&ctl.inst, err, sizeof(err)) < 0) {
			/* A failed build's line is logged by the instance, as it was found. */
			if (ctl.backend.build_status == 0)
				log_error("%s", err);
			status =
			    ctl.backend.build_status ? ctl.backend.build_status : EMBER_EXIT_CONFIG;
		}
	} else if (evloop_run(&ctl.loop) < 0) {
		status = EMBER_EXIT_HOST_ERROR;
	} else if (!ctl.inst.start_done) {
		status = ctl.exit_status;
	}
	if (ctl.inst.start_done) {
		status = run(&ctl);
		report_startup(&ctl.startup);
	}
	/*
	 * The socket file goes on every path from here: its guard thread
	 * removes it; this thread may do so itself only while no seccomp
	 * filter is on (before boot, or --no-seccomp).
	 */
	if (ctl.api_open)
		api_server_close(&ctl.api, !ctl.inst.start_done || cfg->no_seccomp);
	if (ctl.loop.epfd >= 0)
		evloop_destroy(&ctl.loop);
	if (ctl.signal_fd >= 0)
		close(ctl.signal_fd);
	logger_destroy(&ctl.logger);
	metrics_destroy(&ctl.metrics);
	mmds_store_destroy(ctl.mmds);
	config_free(cfg);
	fflush(stdout);
	return status;
}
