// SPDX-License-Identifier: Apache-2.0
/*
 * probe_exec.c: stands in for the monitor in ember-jailer's integration
 * test. Prints what it sees from inside the jail (argv, ids, limits, fds,
 * devices, whether host files are visible), one "key: value" per line,
 * then "ready". Words among its arguments: "wait" (sleep until SIGTERM, at
 * most 60 s, so the host can look at /proc/<pid>), "tap=NAME" (attach to
 * that tap through /dev/net/tun), "exit=N".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

static void dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	printf("dev %s: %s\n", path, fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[64];
	struct rlimit rl;
	char cwd[4096];
	int ng, exit_code = 0, wait = 0, tapfd = -1;
	DIR *d;
	struct dirent *de;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]: %s\n", i, argv[i]);
	printf("pid: %d\n", (int)getpid());
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	printf("uid: %u %u %u\n", ru, eu, su);
	printf("gid: %u %u %u\n", rg, eg, sg);
	ng = getgroups(64, groups);
	printf("groups: %d\n", ng);
	printf("cwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : strerror(errno));
	printf("nnp: %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("nofile: %llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	getrlimit(RLIMIT_FSIZE, &rl);
	if (rl.rlim_cur == RLIM_INFINITY)
		printf("fsize: unlimited\n");
	else
		printf("fsize: %llu\n", (unsigned long long)rl.rlim_cur);
	printf("fds:");
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf(" %d", fd);
	printf("\n");
	printf("environ: %s\n", getenv("PATH") || getenv("HOME") ? "set" : "empty");
	{
		static const char *const host[] = { "/etc/passwd", "/proc/1", "/bin/sh", "/work", "/tmp" };
		int seen = 0;

		for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
			struct stat st;

			if (stat(host[i], &st) == 0) {
				printf("host file visible: %s\n", host[i]);
				seen++;
			}
		}
		printf("host files: %s\n", seen ? "visible" : "hidden");
	}
	printf("root:");
	d = opendir("/");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			printf(" %s", de->d_name);
	if (d)
		closedir(d);
	printf("\n");
	dev("/dev/kvm");
	dev("/dev/net/tun");
	dev("/dev/urandom");
	printf("write /: %s\n", mkdir("/probe-dir", 0700) == 0 && rmdir("/probe-dir") == 0 ? "ok" : strerror(errno));

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "wait")) {
			wait = 1;
		} else if (!strncmp(argv[i], "exit=", 5)) {
			exit_code = atoi(argv[i] + 5);
		} else if (!strncmp(argv[i], "tap=", 4)) {
			struct ifreq ifr;

			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[i] + 4);
			ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
			tapfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
			if (tapfd >= 0 && ioctl(tapfd, TUNSETIFF, &ifr) == 0)
				printf("tap: %s attached\n", ifr.ifr_name);
			else
				printf("tap: %s: %s\n", argv[i] + 4, strerror(errno));
		}
	}
	printf("ready\n");
	if (wait) {
		signal(SIGTERM, on_term);
		alarm(60);
		for (;;)
			pause();
	}
	return exit_code;
}
