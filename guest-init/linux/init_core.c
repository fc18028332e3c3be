// SPDX-License-Identifier: Apache-2.0
/*
 * init_core.c: guest-init's logic, on top of struct init_ops (init.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "init.h"
#include "layout.h"

static void say(const struct init_ops *ops, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const struct init_ops *ops, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ops->log(line);
}

int init_mount_all(const struct init_ops *ops)
{
	static const struct {
		const char *source, *target, *fstype;
	} mounts[] = {
	    {"proc", "/proc", "proc"},
	    {"sysfs", "/sys", "sysfs"},
	    {"devtmpfs", "/dev", "devtmpfs"},
	};
	int failed = 0;

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		int r = ops->mkdir(mounts[i].target);

		if (r < 0 && r != -EEXIST)
			say(ops, "init: mkdir %s: %s", mounts[i].target, strerror(-r));
		r = ops->mount(mounts[i].source, mounts[i].target, mounts[i].fstype, 0, NULL);
		/* EBUSY: already mounted (e.g. devtmpfs by the kernel). */
		if (r < 0 && r != -EBUSY) {
			say(ops, "init: mount %s on %s: %s", mounts[i].fstype, mounts[i].target,
			    strerror(-r));
			failed++;
		}
	}
	return failed;
}

int init_boot_done(const struct init_ops *ops)
{
	int r = ops->mmio_write8(LAYOUT_BOOT_TIMER_ADDR, LAYOUT_BOOT_TIMER_MAGIC);

	if (r == 0)
		return 0;
	/* No /dev/mem (or it refused the page): the older port boot timer. */
	r = ops->port_write8(LAYOUT_BOOT_TIMER_PORT, LAYOUT_BOOT_TIMER_MAGIC);
	if (r < 0)
		say(ops, "init: boot timer: %s", strerror(-r));
	return r;
}

int init_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus)) {
		int s = 128 + WTERMSIG(wstatus);

		return s > 255 ? 255 : s;
	}
	return INIT_STATUS_LOST;
}

void init_finish(const struct init_ops *ops, int status)
{
	int r;

	/* Before the exit port: it may end the VM at once, page cache and all. */
	ops->sync();
	r = ops->port_write8(LAYOUT_EXIT_PORT, (uint8_t)status);
	if (r < 0)
		say(ops, "init: exit port: %s", strerror(-r));
	/* Still here: no exit port on this monitor. The i8042 reset stops it. */
	r = ops->reboot();
	say(ops, "init: reboot: %s", strerror(r < 0 ? -r : EINVAL));
}

/* ------------------------------------------------------------- root= */

/* Copy (len) bytes of (src) to (dst) of (size), dropping enclosing quotes. */
static void copy_value(char *dst, size_t size, const char *src, size_t len)
{
	if (len >= 2 && src[0] == '"' && src[len - 1] == '"') {
		src++;
		len -= 2;
	}
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int init_parse_cmdline(const char *cmdline, struct init_root *root)
{
	const char *p = cmdline;

	memset(root, 0, sizeof(*root));
	snprintf(root->fstype, sizeof(root->fstype), "%s", INIT_ROOT_FSTYPE);
	root->readonly = 1;
	root->wait_ms = INIT_ROOT_WAIT_MS;

	for (;;) {
		const char *word, *eq;
		size_t len, klen;
		int quoted = 0;

		p += strspn(p, " \t\n");
		if (!*p)
			break;
		/* A word ends at white space outside double quotes. */
		word = p;
		for (; *p && (quoted || !strchr(" \t\n", *p)); p++)
			if (*p == '"')
				quoted = !quoted;
		len = (size_t)(p - word);
		if (len == 2 && !strncmp(word, "--", 2))
			break;
		eq = memchr(word, '=', len);
		klen = eq ? (size_t)(eq - word) : len;
#define KEY(k) (klen == sizeof(k) - 1 && !strncmp(word, k, klen))
		if (!eq) {
			if (KEY("ro"))
				root->readonly = 1;
			else if (KEY("rw"))
				root->readonly = 0;
			else if (KEY("rootwait"))
				root->wait_ms = INIT_ROOT_WAIT_MAX_MS;
			continue;
		}
		eq++;
		len -= klen + 1;
		if (KEY("root")) {
			copy_value(root->dev, sizeof(root->dev), eq, len);
		} else if (KEY("rootfstype")) {
			copy_value(root->fstype, sizeof(root->fstype), eq, len);
			if (!root->fstype[0])
				snprintf(root->fstype, sizeof(root->fstype), "%s",
					 INIT_ROOT_FSTYPE);
		} else if (KEY("rootflags")) {
			copy_value(root->data, sizeof(root->data), eq, len);
		} else if (KEY("init")) {
			copy_value(root->init, sizeof(root->init), eq, len);
		} else if (KEY("rootdelay")) {
			char num[16];
			unsigned long s;

			copy_value(num, sizeof(num), eq, len);
			s = strtoul(num, NULL, 10);
			root->wait_ms = s >= INIT_ROOT_WAIT_MAX_MS / 1000 ? INIT_ROOT_WAIT_MAX_MS
									  : (unsigned)s * 1000u;
		}
#undef KEY
	}
	return root->dev[0] != '\0';
}

/* The value of "KEY=" on a line of (text) (a uevent file) into (out). */
static int uevent_value(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		size_t len;

		line += *line == '\n';
		if (strncmp(line, key, klen) || line[klen] != '=')
			continue;
		line += klen + 1;
		len = strcspn(line, "\n");
		if (len >= size)
			return -ENAMETOOLONG;
		memcpy(out, line, len);
		out[len] = '\0';
		return 0;
	}
	return -ENOENT;
}

/* "/dev/" + the DEVNAME= of the uevent file (uevent). */
static int devname_path(const struct init_ops *ops, const char *uevent, char *path, size_t size)
{
	char text[1024], name[128];
	long n = ops->read_file(uevent, text, sizeof(text));

	if (n < 0)
		return (int)n;
	if (uevent_value(text, "DEVNAME", name, sizeof(name)) < 0 || strchr(name, '.'))
		return -ENOENT;
	return snprintf(path, size, "/dev/%s", name) < (int)size ? 0 : -ENAMETOOLONG;
}

struct partuuid_scan {
	const struct init_ops *ops;
	const char *uuid;
	char *path;
	size_t size;
};

static int partuuid_match(const char *name, void *arg)
{
	struct partuuid_scan *scan = arg;
	char uevent[320], text[1024], uuid[64];

	if (strchr(name, '/') ||
	    snprintf(uevent, sizeof(uevent), "/sys/class/block/%s/uevent", name) >=
		(int)sizeof(uevent) ||
	    scan->ops->read_file(uevent, text, sizeof(text)) < 0 ||
	    uevent_value(text, "PARTUUID", uuid, sizeof(uuid)) < 0 || strcasecmp(uuid, scan->uuid))
		return 0;
	return devname_path(scan->ops, uevent, scan->path, scan->size) == 0 ? 1 : 0;
}

int init_find_root(const struct init_ops *ops, const char *spec, char *path, size_t size)
{
	unsigned maj, min;
	char end;

	if (!strncmp(spec, "PARTUUID=", 9)) {
		struct partuuid_scan scan = {ops, spec + 9, path, size};

		if (!spec[9] || strchr(spec, '/'))
			return -EINVAL; /* empty, or /PARTNROFF=: not supported */
		return ops->list_dir("/sys/class/block", partuuid_match, &scan) == 1 ? 0
										       : -ENOENT;
	}
	if (strchr(spec, '=') || !spec[0])
		return -EINVAL; /* UUID=, LABEL=, PARTLABEL=: need blkid */
	if (sscanf(spec, "%u:%u%c", &maj, &min, &end) == 2) {
		char uevent[64];

		snprintf(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent", maj, min);
		return devname_path(ops, uevent, path, size);
	}
	if (snprintf(path, size, "%s%s", spec[0] == '/' ? "" : "/dev/", spec) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* Wait up to (root->wait_ms) for root= to be a block device under /dev. */
static int wait_root(const struct init_ops *ops, const struct init_root *root, char *path,
		     size_t size)
{
	unsigned waited = 0;
	int r;

	for (;;) {
		unsigned mode = 0;

		r = init_find_root(ops, root->dev, path, size);
		if (r == 0) {
			r = ops->stat_mode(path, &mode);
			if (r == 0 && !S_ISBLK(mode))
				r = -ENOTBLK;
			if (r == 0)
				return 0;
		}
		if (r == -EINVAL || r == -ENAMETOOLONG) {
			say(ops, "init: root=%s: not supported (use /dev/vdX, PARTUUID= or MAJ:MIN)",
			    root->dev);
			return r;
		}
		if (waited >= root->wait_ms)
			break;
		if (waited == 0)
			say(ops, "init: waiting up to %u ms for root=%s", root->wait_ms, root->dev);
		ops->sleep_ms(INIT_ROOT_POLL_MS);
		waited += INIT_ROOT_POLL_MS;
	}
	say(ops, "init: root=%s: no such block device after %u ms: %s", root->dev, waited,
	    strerror(-r));
	return r;
}

/* Mount (dev) on INIT_NEWROOT with each type of root->fstype in turn. */
static int mount_root(const struct init_ops *ops, const struct init_root *root, const char *dev)
{
	unsigned long flags = root->readonly ? MS_RDONLY : 0;
	const char *data = root->data[0] ? root->data : NULL;
	const char *p = root->fstype;
	char type[64];
	int r = -EINVAL;

	while (*p) {
		size_t len = strcspn(p, ",");

		if (len > 0 && len < sizeof(type)) {
			memcpy(type, p, len);
			type[len] = '\0';
			r = ops->mount(dev, INIT_NEWROOT, type, flags, data);
			if (r == 0)
				return 0;
			say(ops, "init: mount root %s (%s%s) on %s: %s", dev, type,
			    root->readonly ? ", ro" : "", INIT_NEWROOT, strerror(-r));
		}
		p += len + (p[len] == ',');
	}
	return r;
}

int init_switch_root(const struct init_ops *ops, struct init_root *root)
{
	static const char *const moves[] = {"/dev", "/proc", "/sys"};
	char cmdline[4096], dev[256], target[64];
	long n;
	int r;

	n = ops->read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (n < 0) {
		say(ops, "init: /proc/cmdline: %s: staying on the initramfs", strerror((int)-n));
		init_parse_cmdline("", root);
		return 0;
	}
	if (!init_parse_cmdline(cmdline, root))
		return 0;

	r = wait_root(ops, root, dev, sizeof(dev));
	if (r < 0)
		return r;
	r = ops->mkdir(INIT_NEWROOT);
	if (r < 0 && r != -EEXIST) {
		say(ops, "init: mkdir %s: %s", INIT_NEWROOT, strerror(-r));
		return r;
	}
	r = mount_root(ops, root, dev);
	if (r < 0)
		return r;
	/* A new root without /dev, /proc or /sys just goes without. */
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		snprintf(target, sizeof(target), "%s%s", INIT_NEWROOT, moves[i]);
		r = ops->mount(moves[i], target, NULL, MS_MOVE, NULL);
		if (r < 0)
			say(ops, "init: move %s to %s: %s", moves[i], target, strerror(-r));
	}
	r = ops->chdir(INIT_NEWROOT);
	if (r < 0) {
		say(ops, "init: chdir %s: %s", INIT_NEWROOT, strerror(-r));
		return r;
	}
	r = ops->free_initramfs();
	if (r < 0 && r != -EPERM)
		say(ops, "init: freeing the initramfs: %s", strerror(-r));
	r = ops->mount(".", "/", NULL, MS_MOVE, NULL);
	if (r < 0) {
		say(ops, "init: move %s to /: %s", INIT_NEWROOT, strerror(-r));
		return r;
	}
	r = ops->chroot(".");
	if (r < 0) {
		say(ops, "init: chroot %s: %s", INIT_NEWROOT, strerror(-r));
		return r;
	}
	r = ops->chdir("/");
	if (r < 0) {
		say(ops, "init: chdir /: %s", strerror(-r));
		return r;
	}
	say(ops, "init: switched to root=%s (%s, %s)", root->dev, dev,
	    root->readonly ? "ro" : "rw");
	return 1;
}

/* Wait for (child), reaping every orphan that is handed to PID 1 meanwhile. */
static int wait_child(const struct init_ops *ops, pid_t child)
{
	for (;;) {
		int wstatus = 0;
		pid_t pid = ops->wait_any(&wstatus);

		if (pid == child)
			return init_exit_status(wstatus);
		if (pid == -EINTR || pid > 0)
			continue;
		say(ops, "init: wait: %s", strerror(pid < 0 ? -pid : EINVAL));
		return INIT_STATUS_LOST;
	}
}

/*
 * After a switch and without a command: exec init= or INIT_ROOT_INIT when the
 * new root has it. Returns only if there is none (0) or exec failed (-errno).
 */
static int exec_root_init(const struct init_ops *ops, struct init_root *root)
{
	char *argv[] = {root->init[0] ? root->init : INIT_ROOT_INIT, NULL};
	unsigned mode = 0;
	int r;

	if (!root->init[0] && (ops->stat_mode(INIT_ROOT_INIT, &mode) < 0 || !S_ISREG(mode)))
		return 0;
	r = ops->exec(argv);
	say(ops, "init: exec %s: %s", argv[0], strerror(r < 0 ? -r : EINVAL));
	return r < 0 ? r : -EINVAL;
}

int init_main(const struct init_ops *ops, int argc, char *argv[])
{
	static char *shell[] = {INIT_SHELL, NULL};
	struct init_root root;
	char **cmd = shell;
	int status, interactive, switched;
	pid_t child;

	init_mount_all(ops);
	if (setenv("PATH", INIT_PATH, 1) < 0)
		say(ops, "init: setenv PATH: %s", strerror(errno));
	init_boot_done(ops);

	interactive = ops->console();
	switched = init_switch_root(ops, &root);
	if (switched < 0) {
		say(ops, "init: no root file system: exit status %d", INIT_STATUS_NOSTART);
		init_finish(ops, INIT_STATUS_NOSTART);
		return INIT_STATUS_NOSTART;
	}
	if (argc <= 1 && switched && exec_root_init(ops, &root) < 0) {
		init_finish(ops, INIT_STATUS_NOSTART);
		return INIT_STATUS_NOSTART;
	}
	if (argc > 1)
		cmd = argv + 1;
	else if (!interactive)
		say(ops, "init: no command and no console: running %s anyway", INIT_SHELL);

	child = ops->spawn(cmd);
	if (child < 0) {
		say(ops, "init: cannot start %s: %s", cmd[0], strerror(-child));
		status = INIT_STATUS_NOSTART;
	} else {
		status = wait_child(ops, child);
	}
	init_finish(ops, status);
	return status;
}
