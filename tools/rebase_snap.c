// SPDX-License-Identifier: Apache-2.0
/*
 * rebase_snap.c: ember-rebase-snap, which lays a Diff snapshot's memory file
 * over the memory file it follows (Firecracker's rebase-snap, same flags):
 *
 *   ember-rebase-snap --base-file BASE --diff-file DIFF
 *
 * A diff memory file is as long as guest RAM and holds only the pages
 * written since the previous snapshot; everywhere else it is a hole. Every
 * data extent of DIFF is copied into BASE at the same offset, so BASE then
 * holds guest RAM as it was at the diff snapshot and restores with the
 * diff's state file. BASE is changed in place: copy it first to keep it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "ember-rebase-snap"
/* Bytes copied per read/write. */
#define COPY_CHUNK (1u << 20)
/* st_blocks counts 512-byte units. */
#define STAT_BLOCK_BYTES 512
/* Exit statuses: done, bad usage or files, I/O failed on the way. */
#define EXIT_DONE  0
#define EXIT_USAGE 1
#define EXIT_IO	   2

struct file {
	const char *flag; /* "--base-file", to name it in errors */
	const char *path;
	int fd;
	struct stat st;
};

static int fail(const struct file *f, const char *what, int e)
{
	fprintf(stderr, "%s: %s '%s': %s%s%s\n", PROG, f->flag, f->path, what, e ? ": " : "",
		e ? strerror(e) : "");
	return -1;
}

static int open_file(struct file *f, int flags)
{
	f->fd = open(f->path, flags | O_CLOEXEC);
	if (f->fd < 0)
		return fail(f, "cannot open", errno);
	if (fstat(f->fd, &f->st) < 0)
		return fail(f, "cannot stat", errno);
	if (!S_ISREG(f->st.st_mode))
		return fail(f, "not a regular file", 0);
	return 0;
}

/* copy_range: DIFF's bytes [off, end) onto BASE at the same offsets. */
static int copy_range(const struct file *diff, const struct file *base, char *buf, off_t off,
		      off_t end)
{
	while (off < end) {
		size_t want = (size_t)(end - off) < COPY_CHUNK ? (size_t)(end - off) : COPY_CHUNK;
		ssize_t n = pread(diff->fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(diff, "cannot read", n < 0 ? errno : EIO);
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(base->fd, buf + done, (size_t)(n - done), off + done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return fail(base, "cannot write", w < 0 ? errno : EIO);
			done += w;
		}
		off += n;
	}
	return 0;
}

/*
 * rebase: every data extent of (diff) onto (base). A file system that does
 * not report holes shows the whole file as data; copying that would wipe
 * BASE with the diff's zeros, so a diff that is all data yet takes less
 * room than its length is refused.
 */
static int rebase(const struct file *diff, const struct file *base, uint64_t *copied)
{
	char *buf = malloc(COPY_CHUNK);
	off_t off = 0, size = diff->st.st_size;
	int ret = 0;

	if (buf == NULL)
		return fail(diff, "out of memory", ENOMEM);
	*copied = 0;
	while (ret == 0 && off < size) {
		off_t data = lseek(diff->fd, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break; /* only a hole from here on */
		if (data < 0) {
			ret = fail(diff, "cannot find its data (SEEK_DATA)", errno);
			break;
		}
		off_t hole = lseek(diff->fd, data, SEEK_HOLE);
		if (hole < 0) {
			ret = fail(diff, "cannot find its holes (SEEK_HOLE)", errno);
			break;
		}
		if (data == 0 && hole == size &&
		    (uint64_t)diff->st.st_blocks * STAT_BLOCK_BYTES < (uint64_t)size) {
			ret = fail(diff,
				   "its file system does not report holes, so the pages the diff "
				   "does not hold cannot be told apart",
				   0);
			break;
		}
		ret = copy_range(diff, base, buf, data, hole);
		*copied += (uint64_t)(hole - data);
		off = hole;
	}
	free(buf);
	return ret;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: %s --base-file BASE --diff-file DIFF\n"
		"  Copy the pages a Diff snapshot's memory file DIFF holds onto the memory\n"
		"  file BASE it follows (in place); BASE then restores with DIFF's state file.\n",
		PROG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"base-file", required_argument, NULL, 'b'},
	    {"diff-file", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct file base = {.flag = "--base-file", .fd = -1};
	struct file diff = {.flag = "--diff-file", .fd = -1};
	int c, status = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			base.path = optarg;
			break;
		case 'd':
			diff.path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_DONE;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || base.path == NULL || diff.path == NULL) {
		fprintf(stderr, "%s: %s\n", PROG,
			optind != argc ? "unexpected arguments"
				       : "both --base-file and --diff-file are needed");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (open_file(&diff, O_RDONLY) < 0 || open_file(&base, O_WRONLY) < 0)
		goto out;
	if (base.st.st_dev == diff.st.st_dev && base.st.st_ino == diff.st.st_ino) {
		fail(&diff, "is the base file itself", 0);
		goto out;
	}
	if (diff.st.st_size != base.st.st_size) {
		fprintf(stderr,
			"%s: --diff-file '%s' is %lld bytes and --base-file '%s' %lld: a diff "
			"follows a memory file of the same guest, as long as its RAM\n",
			PROG, diff.path, (long long)diff.st.st_size, base.path,
			(long long)base.st.st_size);
		goto out;
	}
	uint64_t copied = 0;
	status = EXIT_IO;
	if (rebase(&diff, &base, &copied) < 0)
		goto out;
	if (fsync(base.fd) < 0) {
		fail(&base, "cannot flush", errno);
		goto out;
	}
	printf("%s: %llu bytes of '%s' laid over '%s'\n", PROG, (unsigned long long)copied,
	       diff.path, base.path);
	status = EXIT_DONE;
out:
	if (diff.fd >= 0)
		close(diff.fd);
	if (base.fd >= 0 && close(base.fd) < 0 && status == EXIT_DONE) {
		fail(&base, "cannot close", errno);
		status = EXIT_IO;
	}
	return status;
}
