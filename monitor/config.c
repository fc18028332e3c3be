// SPDX-License-Identifier: Apache-2.0
/* config.c: ember's command line -> struct vm_config, with errors naming the flag. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_MEM,
	OPT_VCPUS,
	OPT_BOOT_TIMER,
	OPT_BOOT_ENTRY,
	OPT_VERSION,
	OPT_HELP,
	OPT_VERBOSE,
};

static const struct option long_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"mem", required_argument, NULL, OPT_MEM},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"boot-entry", required_argument, NULL, OPT_BOOT_ENTRY},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: ember --kernel PATH [OPTIONS] [-- GUEST_ARGS...]\n"
    "\n"
    "Boot a kernel under KVM straight into 64-bit mode and exit with the\n"
    "guest's status.\n"
    "\n"
    "  --kernel PATH      ELF vmlinux, bzImage, or ELF with a PVH note (required)\n"
    "  --initrd PATH      initial ramdisk, placed at the top of RAM below 3 GiB\n"
    "  --cmdline STR      replace the default kernel command line\n"
    "  --mem MIB          guest RAM in MiB (default 128, 2..1048576)\n"
    "  --vcpus N          virtual CPUs (default 1, 1..32)\n"
    "  --boot-timer       report the guest's boot-complete signal on stderr\n"
    "  --boot-entry E     auto (default), linux64 or pvh: how to enter an ELF\n"
    "  --verbose          more messages (twice: debug)\n"
    "  --version          print the version and exit\n"
    "  --help             print this help and exit\n"
    "\n"
    "Words after -- are appended to the kernel command line after \" -- \".\n"
    "Exit status: the guest's (exit port), 0 on guest reset, 120 host/KVM\n"
    "error, 121 triple fault, 122 KVM internal error, 123 unhandled exit,\n"
    "125 bad configuration or input.\n";

void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_mib = CONFIG_DEFAULT_MEM_MIB;
	cfg->vcpus = CONFIG_DEFAULT_VCPUS;
	cfg->boot_entry = BOOT_ENTRY_AUTO;
}

/* parse_u64: a whole decimal number in [min, max], or false. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_entry(const char *s, enum boot_entry_pref *out)
{
	if (strcmp(s, "auto") == 0)
		*out = BOOT_ENTRY_AUTO;
	else if (strcmp(s, "linux64") == 0)
		*out = BOOT_ENTRY_LINUX64;
	else if (strcmp(s, "pvh") == 0)
		*out = BOOT_ENTRY_PVH;
	else
		return false;
	return true;
}

/* apply: one option; false after printing an error naming it. */
static bool apply(struct vm_config *cfg, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_KERNEL:
		cfg->kernel_path = arg;
		return true;
	case OPT_INITRD:
		cfg->initrd_path = arg;
		return true;
	case OPT_CMDLINE:
		cfg->cmdline = arg;
		return true;
	case OPT_MEM:
		if (!parse_u64(arg, CONFIG_MIN_MEM_MIB, CONFIG_MAX_MEM_MIB, &v)) {
			log_error("--mem: '%s' is not a size in MiB from %d to %llu", arg,
				  CONFIG_MIN_MEM_MIB, (unsigned long long)CONFIG_MAX_MEM_MIB);
			return false;
		}
		cfg->mem_mib = v;
		return true;
	case OPT_VCPUS:
		if (!parse_u64(arg, 1, CONFIG_MAX_VCPUS, &v)) {
			log_error("--vcpus: '%s' is not a vCPU count from 1 to %d", arg,
				  CONFIG_MAX_VCPUS);
			return false;
		}
		cfg->vcpus = (unsigned int)v;
		return true;
	case OPT_BOOT_TIMER:
		cfg->boot_timer = true;
		return true;
	case OPT_BOOT_ENTRY:
		if (!parse_entry(arg, &cfg->boot_entry)) {
			log_error("--boot-entry: '%s' is not one of auto, linux64, pvh", arg);
			return false;
		}
		return true;
	case OPT_VERBOSE:
		cfg->verbosity++;
		return true;
	default:
		return false;
	}
}

enum config_action config_parse_args(struct vm_config *cfg, int argc, char **argv)
{
	int opt;

	opterr = 0; /* we print our own messages */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			fputs(usage_text, stdout);
			return CONFIG_EXIT_OK;
		case OPT_VERSION:
			printf("ember %s\n", EMBER_VERSION);
			return CONFIG_EXIT_OK;
		case ':':
			log_error("%s: needs a value", argv[optind - 1]);
			return CONFIG_INVALID;
		case '?':
			log_error("%s: unknown option (see --help)", argv[optind - 1]);
			return CONFIG_INVALID;
		default:
			if (!apply(cfg, opt, optarg))
				return CONFIG_INVALID;
		}
	}
	/* getopt_long permutes: anything left that was not after "--" is stray. */
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
		log_error("'%s': unexpected argument (guest arguments go after --)", argv[optind]);
		return CONFIG_INVALID;
	}
	cfg->guest_args = argv + optind;
	cfg->nguest_args = argc - optind;
	if (cfg->kernel_path == NULL) {
		log_error("--kernel: missing: which kernel to boot (see --help)");
		return CONFIG_INVALID;
	}
	return CONFIG_RUN;
}

/* append: add (s) at (*len); false when it does not fit. */
static bool append(char *out, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (n >= size - *len)
		return false;
	memcpy(out + *len, s, n + 1);
	*len += n;
	return true;
}

int config_cmdline(const struct vm_config *cfg, const char *extra, char *out, size_t size)
{
	const char *base = cfg->cmdline != NULL ? cfg->cmdline : CONFIG_DEFAULT_CMDLINE;
	size_t len = 0;
	bool ok;

	if (size == 0)
		return -E2BIG;
	out[0] = '\0';
	ok = append(out, size, &len, base);
	if (ok && extra != NULL && extra[0] != '\0')
		ok = append(out, size, &len, len ? " " : "") && append(out, size, &len, extra);
	if (ok && cfg->nguest_args > 0)
		ok = append(out, size, &len, len ? " --" : "--");
	for (int i = 0; ok && i < cfg->nguest_args; i++) {
		const char *arg = cfg->guest_args[i];
		/* Linux splits its command line at spaces outside double quotes. */
		bool quote = arg[0] == '\0' || strpbrk(arg, " \t\n") != NULL;
		if (strchr(arg, '"') != NULL) {
			log_error(
			    "guest argument %d ('%s'): a double quote cannot be passed on the "
			    "kernel command line",
			    i + 1, arg);
			return -EINVAL;
		}
		ok = append(out, size, &len, quote ? " \"" : " ") && append(out, size, &len, arg) &&
		     append(out, size, &len, quote ? "\"" : "");
	}
	if (!ok) {
		log_error("--cmdline: the kernel command line with guest arguments is longer "
			  "than %zu bytes",
			  size - 1);
		return -E2BIG;
	}
	return (int)len;
}
