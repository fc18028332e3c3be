/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.h: the host side of the guest console. What arrives on stdin
 * goes to the UART when stdin is a terminal, a pipe or a socket (not a
 * regular file or /dev/null). A terminal is put in raw-ish mode (no echo,
 * no line buffering; Ctrl-C still stops ember) and restored when the
 * console is closed.
 */
#ifndef EMBER_CONSOLE_H
#define EMBER_CONSOLE_H

#include <stdbool.h>
#include <termios.h>

struct evloop;
struct serial;

struct console {
	struct serial *serial;
	struct evloop *loop;
	int in_fd;
	bool attached;
	bool tty_saved;
	struct termios saved;
};

/*
 * console_open: attach (in_fd) to (serial) through (loop) when it is a
 * terminal, pipe or socket; otherwise do nothing. Returns 0 or -errno.
 */
int console_open(struct console *con, int in_fd, struct serial *serial, struct evloop *loop);

/* console_close: stop reading and restore the terminal. */
void console_close(struct console *con);

#endif /* EMBER_CONSOLE_H */
