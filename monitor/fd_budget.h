/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fd_budget.h: how many file descriptors the guest may make ember hold.
 *
 * Some host resources are created at the guest's request (a vsock
 * connection is one host socket). Left unbounded, a guest could take every
 * fd the process may open, and the API could then accept nothing and
 * PATCH /drives open nothing. So ember raises its soft RLIMIT_NOFILE to the
 * hard limit at start, counts what it holds once the VM is built, keeps
 * FD_BUDGET_RESERVE for itself (API connections, a new backing file, log
 * and metrics reopen), and gives the guest the rest.
 */
#ifndef EMBER_FD_BUDGET_H
#define EMBER_FD_BUDGET_H

#include "api.h"

/* fds for what ember may still open itself: a new backing file, a reopened log, libc. */
#define FD_BUDGET_SLACK 16
/* fds ember keeps for itself after the build: API connections, one being accepted, slack. */
#define FD_BUDGET_RESERVE (API_MAX_CONNS + 1 + FD_BUDGET_SLACK)

/* fd_budget_raise: soft RLIMIT_NOFILE up to the hard limit (no-op if equal). */
void fd_budget_raise(void);

/*
 * fd_budget_spare: fds this process may still open beyond (reserve): the
 * soft RLIMIT_NOFILE less the fds open now (counted as the lowest free fd
 * number: ember opens its fds in order and closes none while it builds) and
 * (reserve); 0 when none.
 */
unsigned long fd_budget_spare(unsigned int reserve);

#endif /* EMBER_FD_BUDGET_H */
