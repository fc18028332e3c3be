/* SPDX-License-Identifier: Apache-2.0 */
/* devnodes.h: the few device nodes and directories the jailed monitor needs. */
#ifndef JAILER_DEVNODES_H
#define JAILER_DEVNODES_H

#include <sys/types.h>

#include "chroot.h"
#include "jerr.h"

/*
 * devnodes_probe_uffd: the host's /dev/userfaultfd device number, or 0 if
 * the host has none (its minor is dynamic, so it is read, not assumed).
 * Call before jail_enter.
 */
dev_t devnodes_probe_uffd(void);

/*
 * devnodes_create: inside the jail (after jail_enter) make /dev, /dev/net
 * and /run (0700), and /dev/kvm (10,232), /dev/net/tun (10,200),
 * /dev/urandom (1,9) and, if (uffd) is non-zero, /dev/userfaultfd, all
 * character devices 0600; chown them and the jail root to (uid, gid).
 * Everything made is recorded in (j) for jail_cleanup. Returns 0 or -errno.
 */
int devnodes_create(struct jail *j, uid_t uid, gid_t gid, dev_t uffd, struct jerr *e);

#endif
