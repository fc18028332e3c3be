/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h: the one configuration model of a microVM, which the command
 * line (config.c), the config file and the API (config_json.c) fill alike
 * through the same validators (resources.h). No KVM here: plain data.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu_template.h"
#include "loader.h"

#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_MIN_MEM_MIB     2
#define CONFIG_MAX_MEM_MIB     (1024ULL * 1024) /* 1 TiB */
#define CONFIG_DEFAULT_VCPUS   1
#define CONFIG_MAX_VCPUS       32

/* virtio-mmio devices fit IRQs LAYOUT_VIRTIO_FIRST_IRQ..23 of the IOAPIC. */
#define CONFIG_MAX_DEVICES 19
#define CONFIG_DISK_ID_MAX 20 /* virtio-blk GET_ID returns at most 20 bytes */

enum disk_engine { DISK_ENGINE_SYNC, DISK_ENGINE_IO_URING };

/*
 * Which interface configured a device, so a failure found only when it is
 * built (a tap that does not exist) names it in that interface's words.
 */
enum config_origin {
	CONFIG_FROM_FLAGS, /* --disk, --net, --vsock, --rng */
	CONFIG_FROM_JSON,  /* a config file or an API request: drive ids, iface_ids */
};

/* Firecracker's ids: instance (--id) and device ids, 1..64 bytes. */
#define CONFIG_ID_MAX	    64
#define CONFIG_PARTUUID_MAX 64
#define CONFIG_DEFAULT_ID   "anonymous-instance"
/*
 * Firecracker's API socket when no --api-sock is given: served whenever
 * neither --no-api nor one of ember's own machine flags (--kernel, --disk,
 * --restore, ...) is on the command line, so `ember --config-file F`, as a
 * jailer or Kata runs it, answers there, and `ember --kernel K` stays a
 * plain command.
 */
#define CONFIG_DEFAULT_API_SOCK "/run/firecracker.socket"
/* --prewarm flags a restore server takes: as many snapshots as it keeps warm clones of. */
#define CONFIG_PREWARM_MAX 4
/* The most warm clones of one snapshot (--prewarm's COUNT): each holds a descriptor in the server.
 */
#define CONFIG_PREWARM_COUNT_MAX 4096
/* --http-api-max-payload-size default, as Firecracker's. */
#define CONFIG_DEFAULT_API_PAYLOAD 51200
#define CONFIG_MIN_VSOCK_CID	   3

/* A Firecracker token bucket (TokenBucket): size tokens per refill_time ms. */
struct rate_bucket {
	bool set;
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time; /* ms */
};

/* A Firecracker RateLimiter: a bytes bucket and an operations bucket. */
struct rate_limiter {
	struct rate_bucket bandwidth;
	struct rate_bucket ops;
};

/*
 * Firecracker's PUT /serial: the guest's serial output to a file or FIFO
 * instead of stdout, and a byte budget past which it is dropped (counted).
 */
struct serial_config {
	const char *out_path; /* NULL: stdout */
	struct rate_bucket limiter;
};

/* Firecracker's cache_type: whether the guest's FLUSH reaches the disk. */
enum disk_cache { DISK_CACHE_UNSAFE, DISK_CACHE_WRITEBACK };

/* One --disk: a raw image or block device, /dev/vda for the first. */
struct disk_config {
	const char *path;
	bool read_only;
	char id[CONFIG_DISK_ID_MAX + 1]; /* empty: derived from the file */
	enum disk_engine engine;
	/* Firecracker's drive fields (API, config file). */
	bool is_root;				/* the root device: always disks[0] */
	char partuuid[CONFIG_PARTUUID_MAX + 1]; /* root=PARTUUID=...; empty: /dev/vda */
	enum disk_cache cache;
	struct rate_limiter limiter;
	enum config_origin origin;
};

/* One Firecracker network interface (a tap device). */
struct net_config {
	char iface_id[CONFIG_ID_MAX + 1];
	const char *host_dev_name;
	bool has_mac;
	uint8_t guest_mac[6];
	bool has_mtu;
	uint64_t mtu; /* advised to the guest (VIRTIO_NET_F_MTU) when has_mtu */
	struct rate_limiter rx_limiter;
	struct rate_limiter tx_limiter;
	enum config_origin origin;
};

/*
 * machine-config.huge_pages: what backs guest RAM. Transparent asks the
 * kernel for transparent huge pages (madvise); 2M takes hugetlbfs pages
 * from the host's pool (vm.nr_hugepages), reserved when the VM is made.
 */
enum config_huge_pages {
	CONFIG_HUGE_PAGES_NONE,
	CONFIG_HUGE_PAGES_TRANSPARENT,
	CONFIG_HUGE_PAGES_2M
};

/* Firecracker's vsock device: guest CID, host-side Unix socket. */
struct vsock_config {
	bool enabled;
	uint32_t guest_cid;
	const char *uds_path;
	char vsock_id[CONFIG_ID_MAX + 1]; /* deprecated by Firecracker; kept */
	enum config_origin origin;
};

/*
 * Firecracker's mmds-config: which interfaces' guests reach the metadata
 * service (MMDS), at which address, and how it answers them.
 */
#define CONFIG_MMDS_DEFAULT_IPV4 0xa9fea9feU /* 169.254.169.254 */

struct mmds_config {
	bool set;
	unsigned int nifaces;
	char ifaces[CONFIG_MAX_DEVICES][CONFIG_ID_MAX + 1]; /* network_interfaces: iface_ids */
	bool v2;					    /* version "V2": session tokens */
	uint32_t ipv4;					    /* ipv4_address, host byte order */
	bool imds_compat;
};

/* Firecracker's logger levels (Logger.level). */
enum config_log_level {
	CONFIG_LOG_OFF,
	CONFIG_LOG_ERROR,
	CONFIG_LOG_WARNING,
	CONFIG_LOG_INFO,
	CONFIG_LOG_DEBUG,
	CONFIG_LOG_TRACE,
};

/* PUT /logger, the "logger" section, or --log-path/--level/... */
struct logger_config {
	bool set;	      /* configured by any of the above */
	const char *log_path; /* file or FIFO; NULL: stderr */
	enum config_log_level level;
	bool level_set;
	bool show_level;
	bool show_log_origin;
	const char *module; /* stored and reported; filters nothing yet */
};

/*
 * The default kernel command line for Linux guests: serial console, no PCI
 * probing, reboot through the i8042 (which ember turns into a clean stop),
 * reboot at once on panic, and boot-time shortcuts for a VM whose TSC and
 * timer are known good.
 */
#define CONFIG_DEFAULT_CMDLINE                                                                     \
	"console=ttyS0 reboot=k panic=-1 pci=off nomodule i8042.noaux i8042.nomux "                \
	"i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check rcupdate.rcu_expedited=1 quiet"

/* --prewarm SNAP,MEM[,COUNT]: a restore server keeps COUNT clones of that snapshot warm. */
struct config_prewarm {
	const char *snapshot;
	const char *mem;
	unsigned int count; /* 1 to CONFIG_PREWARM_COUNT_MAX */
};

struct vm_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;	 /* NULL: CONFIG_DEFAULT_CMDLINE */
	char **guest_args;	 /* words after "--" */
	int nguest_args;
	uint64_t mem_mib;
	unsigned int vcpus;
	bool boot_timer;
	enum boot_entry_pref boot_entry;
	enum config_origin boot_origin; /* --kernel and --initrd, or boot-source */
	struct disk_config disks[CONFIG_MAX_DEVICES];
	unsigned int ndisks;
	bool rng; /* --rng or the entropy resource: a virtio entropy device */
	enum config_origin rng_origin;
	bool no_seccomp; /* --no-seccomp: debugging only */
	int verbosity;	 /* 0 warnings, 1 info, 2 debug */

	/* Firecracker's machine-config beyond vcpus and memory. */
	bool smt;
	bool track_dirty_pages;
	enum config_huge_pages huge_pages;
	struct serial_config serial;
	/* machine-config.cpu_template, or the custom one of PUT /cpu-config (cpu_template.h). */
	enum cpu_template_id cpu_template;
	struct cpu_template custom_cpu; /* when cpu_template is CPU_TEMPLATE_CUSTOM */
	/* Network interfaces, vsock and the entropy device's limiter. */
	struct net_config nets[CONFIG_MAX_DEVICES];
	unsigned int nnets;
	struct vsock_config vsock;
	struct rate_limiter rng_limiter; /* entropy.rate_limiter */
	/* The metadata service: its config, the store's limit, a document to load at start. */
	struct mmds_config mmds;
	uint64_t mmds_size_limit;  /* --mmds-size-limit; 0: the API's payload limit */
	const char *metadata_path; /* --metadata: a JSON file put into the store at start */
	/* Observability. */
	struct logger_config logger;
	const char *metrics_path; /* NULL: no metrics */
	/* Control plane: Firecracker's process flags. */
	char id[CONFIG_ID_MAX + 1];	 /* --id, default CONFIG_DEFAULT_ID */
	const char *api_sock;		 /* --api-sock: serve the API there */
	const char *config_file;	 /* --config-file: boot from it at once */
	const char *restore_path;	 /* --restore: a snapshot's VM-state file */
	const char *mem_file_path;	 /* --mem-file: its memory file */
	const char *snapshot_when_ready; /* --snapshot-when-ready: a template's state file */
	const char *describe_snapshot;	 /* --describe-snapshot: print it and exit */
	const char *restore_server;	 /* --restore-server: serve clones on this socket */
	const char *restore_via;	 /* --restore-via: --restore through that server */
	struct config_prewarm prewarm[CONFIG_PREWARM_MAX]; /* --prewarm: the server's warm clones */
	unsigned int nprewarm;
	bool snapshot_version;	    /* --snapshot-version: print it and exit */
	bool no_api;		    /* --no-api: only with --config-file */
	uint64_t api_max_payload;   /* --http-api-max-payload-size */
	const char *seccomp_filter; /* --seccomp-filter: raw BPF to load */
	bool has_start_time_us, has_start_time_cpu_us, has_parent_cpu_time_us;
	uint64_t start_time_us;	     /* --start-time-us (jailer's clock) */
	uint64_t start_time_cpu_us;  /* --start-time-cpu-us */
	uint64_t parent_cpu_time_us; /* --parent-cpu-time-us */
};

/*
 * A vm_config owns every string it points at (paths, the command line, the
 * guest's words, tap names, socket paths), whichever interface set it: set
 * one with config_set_str (or hand it over, malloc'd, to a resources.h
 * add/set), copy a whole config with config_copy, release with config_free.
 */

/* config_set_str: (*field) becomes a copy of (value) (NULL: none); the old one is freed. 0 or
 * -ENOMEM. */
int config_set_str(const char **field, const char *value);

/* config_copy: (dst) becomes a deep copy of (src). 0, or -ENOMEM with (dst) holding nothing. */
int config_copy(struct vm_config *dst, const struct vm_config *src);

/* config_free: release (cfg)'s strings; the string fields are left NULL. */
void config_free(struct vm_config *cfg);

/* What config_parse_args asks the caller to do. */
enum config_action {
	CONFIG_RUN,	/* boot the VM */
	CONFIG_EXIT_OK, /* --help or --version was printed */
	CONFIG_INVALID, /* an error naming the flag was printed */
};

/* config_device_count: virtio devices (cfg) asks for. */
unsigned int config_device_count(const struct vm_config *cfg);

/*
 * config_parse_disk: parse "PATH[,ro][,id=NAME][,engine=sync|io_uring]"
 * into (disk). (spec) must outlive (disk). Returns 0, or -EINVAL after an
 * error naming the part.
 */
int config_parse_disk(char *spec, struct disk_config *disk);

/* config_parse_net: "TAP[,mac=xx:xx:xx:xx:xx:xx][,mtu=N]" into (net); 0 or -EINVAL (logged). */
int config_parse_net(char *spec, struct net_config *net);

/* config_parse_vsock: "CID,UDS_PATH" into (vsock); 0 or -EINVAL (logged). */
int config_parse_vsock(char *spec, struct vsock_config *vsock);

/*
 * config_parse_log_level: Firecracker's level names, any case (Error,
 * Warning, Info, Debug, Trace, Off) -> (out). 0 or -EINVAL.
 */
int config_parse_log_level(const char *s, enum config_log_level *out);

/* config_log_level_name: the canonical name of (level), "Info" when unknown. */
const char *config_log_level_name(enum config_log_level level);

/*
 * The Firecracker release whose API (swagger), flags and config file ember
 * follows. Orchestrators gate on it: Kata reads the second word of
 * `--version` and refuses anything older than 0.21.1; firecracker_version
 * (GET /version) and vmm_version (GET /) carry it too.
 */
#define CONFIG_FIRECRACKER_API_VERSION "1.16.0"

/* config_version: ember's own version string ("0.1.0"). */
const char *config_version(void);

/* config_api_version: CONFIG_FIRECRACKER_API_VERSION, what clients of Firecracker's API see. */
const char *config_api_version(void);

/* config_valid_instance_id: 1..64 alphanumerics or '-' (Firecracker's --id rule). */
bool config_valid_instance_id(const char *id);

/*
 * config_check_seccomp_filter: (path) is a filter file Firecracker's
 * seccompiler-bin wrote (seccomp_file.h). 0, or -EINVAL after an error.
 */
int config_check_seccomp_filter(const char *path);

/* config_defaults: fill (cfg) with the defaults above. */
void config_defaults(struct vm_config *cfg);

/*
 * config_parse_args: parse ember's command line into (cfg). Messages go to
 * stderr (errors) or stdout (--help, --version). (argv) must outlive (cfg).
 */
enum config_action config_parse_args(struct vm_config *cfg, int argc, char **argv);

#endif /* EMBER_CONFIG_H */
