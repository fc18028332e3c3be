// SPDX-License-Identifier: Apache-2.0
/* devnodes.c: /dev/kvm, /dev/net/tun, /dev/urandom, /dev/userfaultfd, /run. */
#include "devnodes.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

dev_t devnodes_probe_uffd(void)
{
	struct stat st;

	if (stat("/dev/userfaultfd", &st) || !S_ISCHR(st.st_mode))
		return 0;
	return st.st_rdev;
}

/* An owned 0700 directory; one that exists already (the user's) is kept. */
static int own_dir(struct jail *j, const char *path, uid_t uid, gid_t gid, struct jerr *e)
{
	if (mkdir(path, 0700) == 0) {
		if (jail_record(j, path + 1, true))
			return jerr_set(e, -ENOSPC, "record %s", path);
	} else if (errno != EEXIST) {
		return jerr_set(e, -errno, "mkdir %s", path);
	}
	if (chown(path, uid, gid) || chmod(path, 0700))
		return jerr_set(e, -errno, "chown %s to %u:%u", path, (unsigned)uid, (unsigned)gid);
	return 0;
}

static int node(struct jail *j, const char *path, dev_t dev, uid_t uid, gid_t gid, struct jerr *e)
{
	/* 0600 and owned by the monitor's uid: usable by it alone. */
	if (mknod(path, S_IFCHR | S_IRUSR | S_IWUSR, dev))
		return jerr_set(e, -errno, "mknod %s (%u,%u)", path, major(dev), minor(dev));
	if (jail_record(j, path + 1, false))
		return jerr_set(e, -ENOSPC, "record %s", path);
	if (chown(path, uid, gid))
		return jerr_set(e, -errno, "chown %s to %u:%u", path, (unsigned)uid, (unsigned)gid);
	return 0;
}

int devnodes_create(struct jail *j, uid_t uid, gid_t gid, dev_t uffd, struct jerr *e)
{
	int rc;

	/* The jail root is the monitor's: it creates its API socket there. */
	if (chown("/", uid, gid) || chmod("/", 0700))
		return jerr_set(e, -errno, "chown %s to %u:%u", j->root, (unsigned)uid, (unsigned)gid);
	if ((rc = own_dir(j, "/dev", uid, gid, e)) ||
	    (rc = own_dir(j, "/dev/net", uid, gid, e)) ||
	    (rc = own_dir(j, "/run", uid, gid, e)))
		return rc;
	/* Major/minor from the kernel's Documentation/admin-guide/devices.txt. */
	if ((rc = node(j, "/dev/kvm", makedev(10, 232), uid, gid, e)) ||
	    (rc = node(j, "/dev/net/tun", makedev(10, 200), uid, gid, e)) ||
	    (rc = node(j, "/dev/urandom", makedev(1, 9), uid, gid, e)))
		return rc;
	if (uffd && (rc = node(j, "/dev/userfaultfd", uffd, uid, gid, e)))
		return rc;
	return 0;
}
