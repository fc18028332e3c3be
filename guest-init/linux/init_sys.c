// SPDX-License-Identifier: Apache-2.0
/*
 * init_sys.c: guest-init's struct init_ops on real Linux system calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

static int sys_mkdir(const char *path)
{
	return mkdir(path, 0755) < 0 ? -errno : 0;
}

static int sys_mount(const char *source, const char *target, const char *fstype,
		     unsigned long flags, const char *data)
{
	return mount(source, target, fstype, flags, data) < 0 ? -errno : 0;
}

static int sys_mmio_write8(uint64_t addr, uint8_t val)
{
	long page = sysconf(_SC_PAGESIZE);
	off_t base = (off_t)(addr & ~(uint64_t)(page - 1));
	volatile uint8_t *p;
	int fd, err = 0;

	fd = open("/dev/mem", O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	p = mmap(NULL, (size_t)page, PROT_WRITE, MAP_SHARED, fd, base);
	if (p == MAP_FAILED) {
		err = -errno;
	} else {
		p[addr - (uint64_t)base] = val;
		munmap((void *)p, (size_t)page);
	}
	close(fd);
	return err;
}

static int sys_port_write8(uint16_t port, uint8_t val)
{
	if (ioperm(port, 1, 1) < 0)
		return -errno;
	outb(val, port);
	return 0;
}

static int sys_console(void)
{
	int fd;

	if (fcntl(STDERR_FILENO, F_GETFD) < 0) {
		fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			for (int i = STDIN_FILENO; i <= STDERR_FILENO; i++)
				if (fd != i)
					dup2(fd, i);
			if (fd > STDERR_FILENO)
				close(fd);
		}
	}
	return isatty(STDIN_FILENO);
}

/*
 * Make the console's real tty (ttyS0, named by /sys/class/tty/console/active)
 * the controlling terminal of the new session, so ^C reaches the command:
 * /dev/console itself never becomes one. Best effort, like busybox cttyhack.
 */
static void take_console(void)
{
	char name[64], path[80];
	ssize_t n;
	char *word;
	int fd;

	fd = open("/sys/class/tty/console/active", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, name, sizeof(name) - 1);
	close(fd);
	if (n <= 0)
		return;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	/* The last console listed is the one /dev/console writes to. */
	word = strrchr(name, ' ');
	word = word ? word + 1 : name;
	if (!*word || strchr(word, '/'))
		return;
	snprintf(path, sizeof(path), "/dev/%s", word);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return;
	if (ioctl(fd, TIOCSCTTY, 0) == 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	if (fd > STDERR_FILENO)
		close(fd);
}

static pid_t sys_spawn(char *const argv[])
{
	sigset_t none;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return pid;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() >= 0 && isatty(STDIN_FILENO))
		take_console();
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "init: exec %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static pid_t sys_wait_any(int *wstatus)
{
	pid_t pid = waitpid(-1, wstatus, 0);

	return pid < 0 ? -errno : pid;
}

static void sys_sync(void)
{
	sync();
}

static int sys_reboot(void)
{
	return reboot(RB_AUTOBOOT) < 0 ? -errno : 0;
}

static void sys_log(const char *msg)
{
	dprintf(STDERR_FILENO, "%s\n", msg);
}

static long sys_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		n = -errno;
	close(fd);
	if (size)
		buf[len] = '\0';
	return n < 0 ? (long)n : (long)len;
}

static int sys_list_dir(const char *path, int (*fn)(const char *name, void *arg), void *arg)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!dir)
		return -errno;
	while (r == 0 && (de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = fn(de->d_name, arg);
	closedir(dir);
	return r;
}

static int sys_stat_mode(const char *path, unsigned *mode)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	*mode = st.st_mode;
	return 0;
}

static void sys_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int sys_chdir(const char *path)
{
	return chdir(path) < 0 ? -errno : 0;
}

static int sys_chroot(const char *path)
{
	return chroot(path) < 0 ? -errno : 0;
}

/* Delete what is under the directory (fd) on device (dev); closes (fd). */
static void delete_under(int fd, dev_t dev)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;

	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_dev != dev)
			continue; /* another file system: the new root, a mount */
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(dir), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				delete_under(sub, dev);
			unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd(dir), de->d_name, 0);
		}
	}
	closedir(dir);
}

/*
 * busybox switch_root's delete_contents("/"), with its guards: PID 1, "/"
 * is ramfs or tmpfs (the initramfs), and never below another mount point.
 */
static int sys_free_initramfs(void)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	if (getpid() != 1 || statfs("/", &sfs) < 0 ||
	    (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC) || stat("/", &st) < 0)
		return -EPERM;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	delete_under(fd, st.st_dev);
	return 0;
}

static int sys_exec(char *const argv[])
{
	execvp(argv[0], argv);
	return -errno;
}

const struct init_ops init_sys_ops = {
    .mkdir = sys_mkdir,
    .mount = sys_mount,
    .mmio_write8 = sys_mmio_write8,
    .port_write8 = sys_port_write8,
    .console = sys_console,
    .spawn = sys_spawn,
    .wait_any = sys_wait_any,
    .sync = sys_sync,
    .reboot = sys_reboot,
    .log = sys_log,
    .read_file = sys_read_file,
    .list_dir = sys_list_dir,
    .stat_mode = sys_stat_mode,
    .sleep_ms = sys_sleep_ms,
    .chdir = sys_chdir,
    .chroot = sys_chroot,
    .free_initramfs = sys_free_initramfs,
    .exec = sys_exec,
};
