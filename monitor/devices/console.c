// SPDX-License-Identifier: Apache-2.0
/* console.c: terminal input to the guest's UART. */
#include "console.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "serial.h"

static void console_readable(void *opaque, int fd, uint32_t events)
{
	struct console *con = opaque;
	uint8_t buf[SERIAL_RX_FIFO];

	(void)events;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		evloop_del(con->loop, fd); /* end of input: the guest just stops hearing */
		con->attached = false;
		return;
	}
	size_t taken = serial_input(con->serial, buf, (size_t)n);
	if (taken < (size_t)n)
		log_warn("console: guest is not reading its UART; dropped %zu bytes",
			 (size_t)n - taken);
}

/* is_stream: a terminal, pipe or socket: something epoll can watch. */
static bool is_stream(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false; /* closed */
	return S_ISCHR(st.st_mode) ? isatty(fd) == 1 : S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

int console_open(struct console *con, int in_fd, struct serial *serial, struct evloop *loop)
{
	memset(con, 0, sizeof(*con));
	con->serial = serial;
	con->loop = loop;
	con->in_fd = in_fd;
	if (!is_stream(in_fd))
		return 0;
	if (isatty(in_fd) == 1 && tcgetattr(in_fd, &con->saved) == 0) {
		struct termios raw = con->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(in_fd, TCSANOW, &raw) == 0)
			con->tty_saved = true;
	}
	int ret = evloop_add(loop, in_fd, EPOLLIN, console_readable, con);
	if (ret < 0) {
		console_close(con);
		return ret;
	}
	con->attached = true;
	return 0;
}

void console_close(struct console *con)
{
	if (con->attached)
		evloop_del(con->loop, con->in_fd);
	con->attached = false;
	if (con->tty_saved)
		tcsetattr(con->in_fd, TCSANOW, &con->saved);
	con->tty_saved = false;
}
