/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restore_client.h: --restore-via SOCKET, the shell's client of a restore
 * server (restore_server.h has the protocol): one request with this
 * process's stdio, one clone, its exit status relayed.
 */
#ifndef EMBER_RESTORE_CLIENT_H
#define EMBER_RESTORE_CLIENT_H

/*
 * restore_client_run: ask the server at (path) for a clone of (snapshot,
 * mem) with this process's stdio, and return its exit status (SIGINT,
 * SIGTERM and SIGHUP here are passed on to the clone). Errors say which
 * step failed; EMBER_EXIT_CONFIG/HOST_ERROR then.
 */
int restore_client_run(const char *path, const char *snapshot, const char *mem);

#endif /* EMBER_RESTORE_CLIENT_H */
