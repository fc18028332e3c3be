// SPDX-License-Identifier: Apache-2.0
/*
 * init_sys.c: guest-init's struct init_ops on real Linux system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

static int sys_mkdir(const char *path)
{
	return mkdir(path, 0755) < 0 ? -errno : 0;
}

static int sys_mount(const char *source, const char *target, const char *fstype)
{
	return mount(source, target, fstype, 0, NULL) < 0 ? -errno : 0;
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
};
