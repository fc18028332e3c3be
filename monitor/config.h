/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h: the one configuration model of a microVM. The command line
 * fills it today; the API and the config file will fill the same struct.
 * No KVM here: this is plain data and its validation.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

#define CONFIG_DEFAULT_MEM_MIB 128
#define CONFIG_MIN_MEM_MIB     2
#define CONFIG_MAX_MEM_MIB     (1024ULL * 1024) /* 1 TiB */
#define CONFIG_DEFAULT_VCPUS   1
#define CONFIG_MAX_VCPUS       32

/*
 * The default kernel command line for Linux guests: serial console, no PCI
 * probing, reboot through the i8042 (which ember turns into a clean stop),
 * reboot at once on panic, and boot-time shortcuts for a VM whose TSC and
 * timer are known good.
 */
#define CONFIG_DEFAULT_CMDLINE                                                                     \
	"console=ttyS0 reboot=k panic=-1 pci=off nomodule i8042.noaux i8042.nomux "                \
	"i8042.nopnp i8042.dumbkbd tsc=reliable no_timer_check rcupdate.rcu_expedited=1 quiet"

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
	int verbosity; /* 0 warnings, 1 info, 2 debug */
};

/* What config_parse_args asks the caller to do. */
enum config_action {
	CONFIG_RUN,	/* boot the VM */
	CONFIG_EXIT_OK, /* --help or --version was printed */
	CONFIG_INVALID, /* an error naming the flag was printed */
};

/* config_defaults: fill (cfg) with the defaults above. */
void config_defaults(struct vm_config *cfg);

/*
 * config_parse_args: parse ember's command line into (cfg). Messages go to
 * stderr (errors) or stdout (--help, --version). (argv) must outlive (cfg).
 */
enum config_action config_parse_args(struct vm_config *cfg, int argc, char **argv);

/*
 * config_cmdline: the guest's command line: the base (cfg->cmdline or the
 * default), then (extra) (what devices need; may be NULL), then " -- " and
 * the guest args (an arg with whitespace, or an empty one, is put in double
 * quotes so Linux hands it to init as one word). Returns its length,
 * -E2BIG when it does not fit in (size) bytes with its NUL (the message names
 * the limit), or -EINVAL for a guest arg holding a double quote.
 */
int config_cmdline(const struct vm_config *cfg, const char *extra, char *out, size_t size);

#endif /* EMBER_CONFIG_H */
