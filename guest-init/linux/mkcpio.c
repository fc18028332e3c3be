// SPDX-License-Identifier: Apache-2.0
/*
 * mkcpio.c: write a newc cpio archive (the initramfs format) from a text spec.
 *
 *   mkcpio [-t MTIME] < spec > archive.cpio
 *
 * The spec is the kernel's usr/gen_init_cpio format, one entry a line:
 *   dir   <name> <mode> <uid> <gid>
 *   file  <name> <source> <mode> <uid> <gid>
 *   slink <name> <target> <mode> <uid> <gid>
 *   nod   <name> <mode> <uid> <gid> <b|c> <major> <minor>
 * Device nodes come from the spec, so no mknod on the host. Every entry gets
 * MTIME (default 0) and inode numbers count up from 1 in spec order, so the
 * same spec and files always give the same bytes. Entries are written in
 * spec order: the caller sorts them (parents before children).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned long ino = 1;
static unsigned long long offset;
static unsigned long mtime;

static int put(const void *buf, size_t len)
{
	offset += len;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

static int pad4(void)
{
	static const char zero[4];
	size_t n = (size_t)((4 - offset % 4) % 4);

	return put(zero, n);
}

/* One newc header (SVR4 "070701", no checksum) and the name, padded. */
static int header(const char *name, unsigned long mode, unsigned long uid, unsigned long gid,
		  unsigned long nlink, unsigned long size, unsigned long rmaj, unsigned long rmin)
{
	unsigned long field[13] = {0}; /* 12: check, only for "070702" */
	char hdr[6 + 13 * 8 + 1] = "070701";

	field[0] = strcmp(name, "TRAILER!!!") ? ino++ : 0;
	field[1] = mode;
	field[2] = uid;
	field[3] = gid;
	field[4] = nlink;
	field[5] = mtime;
	field[6] = size;
	/* 7, 8: devmajor, devminor of the archive's own device: unused. */
	field[9] = rmaj;
	field[10] = rmin;
	field[11] = strlen(name) + 1;

	for (int i = 0; i < 13; i++) {
		if (field[i] > 0xffffffffUL)
			return -1;
		snprintf(hdr + 6 + i * 8, 9, "%08lX", field[i]);
	}
	if (put(hdr, 110) || put(name, field[11]) || pad4())
		return -1;
	return 0;
}

static int file_data(const char *src, unsigned long size)
{
	char buf[65536];
	unsigned long left = size;
	FILE *f = fopen(src, "rb");
	size_t n;

	if (!f)
		return -1;
	while (left && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (n > left)
			n = left;
		if (put(buf, n)) {
			fclose(f);
			return -1;
		}
		left -= n;
	}
	fclose(f);
	return left ? -1 : pad4();
}

/* The archive name: no leading slash, as gen_init_cpio writes it. */
static const char *arcname(const char *name)
{
	while (*name == '/')
		name++;
	return name;
}

static int entry(char *line, unsigned lineno)
{
	char type[8], name[4096], arg[4096], dev;
	unsigned long mode, uid, gid, maj, min;
	struct stat st;

	line[strcspn(line, "\n")] = '\0';
	if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
		return 0;
	if (sscanf(line, "%7s", type) != 1)
		goto bad;

	if (!strcmp(type, "dir")) {
		if (sscanf(line, "dir %4095s %lo %lu %lu", name, &mode, &uid, &gid) != 4)
			goto bad;
		return header(arcname(name), S_IFDIR | mode, uid, gid, 2, 0, 0, 0);
	}
	if (!strcmp(type, "nod")) {
		if (sscanf(line, "nod %4095s %lo %lu %lu %c %lu %lu", name, &mode, &uid, &gid, &dev,
			   &maj, &min) != 7 ||
		    (dev != 'c' && dev != 'b'))
			goto bad;
		return header(arcname(name), (dev == 'c' ? S_IFCHR : S_IFBLK) | mode, uid, gid, 1,
			      0, maj, min);
	}
	if (!strcmp(type, "slink")) {
		if (sscanf(line, "slink %4095s %4095s %lo %lu %lu", name, arg, &mode, &uid, &gid) !=
		    5)
			goto bad;
		if (header(arcname(name), S_IFLNK | mode, uid, gid, 1, strlen(arg), 0, 0) ||
		    put(arg, strlen(arg)) || pad4())
			return -1;
		return 0;
	}
	if (!strcmp(type, "file")) {
		if (sscanf(line, "file %4095s %4095s %lo %lu %lu", name, arg, &mode, &uid, &gid) !=
		    5)
			goto bad;
		if (stat(arg, &st) < 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "mkcpio: line %u: %s: %s\n", lineno, arg,
				errno ? strerror(errno) : "not a regular file");
			return -1;
		}
		if (header(arcname(name), S_IFREG | mode, uid, gid, 1, (unsigned long)st.st_size, 0,
			   0) ||
		    file_data(arg, (unsigned long)st.st_size))
			return -1;
		return 0;
	}
bad:
	fprintf(stderr, "mkcpio: line %u: cannot parse: %s\n", lineno, line);
	return -1;
}

int main(int argc, char *argv[])
{
	char line[8320];
	unsigned lineno = 0;

	if (argc == 3 && !strcmp(argv[1], "-t")) {
		char *end;

		errno = 0;
		mtime = strtoul(argv[2], &end, 10);
		if (errno || *end || mtime > 0xffffffffUL) {
			fprintf(stderr, "mkcpio: bad mtime %s\n", argv[2]);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: mkcpio [-t MTIME] < spec > archive.cpio\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		lineno++;
		if (entry(line, lineno))
			return 1;
	}
	if (ferror(stdin) || header("TRAILER!!!", 0, 0, 0, 1, 0, 0, 0))
		return 1;
	/* Pad to a 512-byte block as cpio(1) does. */
	while (offset % 512)
		if (put("", 1))
			return 1;
	return fflush(stdout) ? 1 : 0;
}
