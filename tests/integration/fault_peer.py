#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fault_peer.py: host programs test_faults.sh kills or cuts off mid-transfer.

  fault_peer.py sink PATH
      Listen at PATH (a guest-initiated port's UDS_PATH_<port>), take one
      connection and read it without end, writing how many bytes it has read
      so far to PATH.count. For a guest streaming to a host program that dies.
  fault_peer.py source PATH
      Listen at PATH, take one connection and send it vio.c's stream 0
      pattern (stream_bytes(0, k)) without end, writing how many bytes the
      kernel took so far to PATH.count. For a host program that dies while
      streaming to the guest.
  fault_peer.py echo PATH
      Listen at PATH and echo every connection (one after another or at once).
  fault_peer.py api SOCK CASE
      Be an API client that vanishes: CASE is partial-put (headers and half a
      body, then close), partial-headers (half a request line), big-get-close
      (a request whose answer is never read: close at once), pipelined-close
      (many GETs in one write, never read, close), reset-mid-response (as
      pipelined, with SO_LINGER 0: the close is an RST). Prints "api: <case> sent",
      and for the pipelined ones " queued=<bytes of answers that reached us>
      of <bytes of all the answers>".

Each listener creates PATH.ready once it listens. Exits on SIGKILL (or, echo,
SIGTERM); sink and source otherwise stop after TIMEOUT_S.
"""
import fcntl
import os
import socket
import struct
import sys
import termios
import threading
import time

TIMEOUT_S = 30
CHUNK = 3001  # source: bytes a send, odd so that packets are not page-sized
PATTERN_LEN = 16381
MASK64 = (1 << 64) - 1


def make_pattern():
    """vio.c's stream_bytes pattern (xorshift64 from the same seed)."""
    x, out = 0x9E3779B97F4A7C15, bytearray(PATTERN_LEN)
    for i in range(PATTERN_LEN):
        x ^= (x << 13) & MASK64
        x ^= x >> 7
        x ^= (x << 17) & MASK64
        out[i] = (x >> 24) & 0xFF
    return bytes(out)


def listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    open(path + ".ready", "w").close()
    return s


class Counter:
    """PATH.count holds the count, rewritten in place as it grows."""

    def __init__(self, path):
        self.fd = os.open(path + ".count", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.n = 0
        self.put()

    def add(self, k):
        self.n += k
        self.put()

    def put(self):
        b = b"%020d\n" % self.n
        os.pwrite(self.fd, b, 0)


def sink(path):
    s = listen(path)
    s.settimeout(TIMEOUT_S)
    c, _ = s.accept()
    c.settimeout(TIMEOUT_S)
    n = Counter(path)
    while True:
        d = c.recv(65536)
        if not d:
            return
        n.add(len(d))


def source(path):
    pattern = make_pattern()
    ring = pattern * 2
    s = listen(path)
    s.settimeout(TIMEOUT_S)
    c, _ = s.accept()
    c.settimeout(TIMEOUT_S)
    n = Counter(path)
    off = 0
    while True:
        k = c.send(ring[off:off + CHUNK])
        off = (off + k) % PATTERN_LEN
        n.add(k)


def echo(path):
    s = listen(path)

    def one(c):
        with c:
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        return
                    c.sendall(d)
            except OSError:
                return

    while True:
        c, _ = s.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


API_GET = b"GET /vm/config HTTP/1.1\r\nHost: localhost\r\n\r\n"
API_PIPELINED = 1000


def api(sock, case):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    extra = ""
    if case == "partial-put":
        body = b'{"vcpu_count": 1, "mem_size_mib": 128}'
        c.sendall(b"PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body[:len(body) // 2])
    elif case == "partial-headers":
        c.sendall(b"GET /vm/con")
    elif case == "big-get-close":
        c.sendall(b"GET /vm/config HTTP/1.1\r\nHost: localhost\r\n\r\n")
    elif case in ("pipelined-close", "reset-mid-response"):
        # Answers pile up in ember's socket buffer until it is full: ember
        # is then mid-response (EAGAIN) when we go. How many bytes of the
        # answers reached us says so: fewer than all of them.
        one = len(get_once(sock, API_GET))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sendall(API_GET * API_PIPELINED)
        time.sleep(0.2)
        queued = struct.unpack("i", fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        extra = " queued=%d of %d" % (queued, one * API_PIPELINED)
        if case == "reset-mid-response":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        sys.exit("fault_peer.py: unknown api case " + case)
    time.sleep(0.05)
    c.close()
    print("api: %s sent%s" % (case, extra))


def get_once(sock, req):
    """The whole answer to (req) on a connection of its own."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    c.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        data += c.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int([h.split(b":")[1] for h in head.split(b"\r\n")
                  if h.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        body += c.recv(65536)
    c.close()
    return head + b"\r\n\r\n" + body


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, path = sys.argv[1], sys.argv[2]
    try:
        if mode == "sink":
            sink(path)
        elif mode == "source":
            source(path)
        elif mode == "echo":
            echo(path)
        elif mode == "api":
            api(path, sys.argv[3])
        else:
            sys.exit(__doc__)
    except (OSError, socket.timeout) as e:
        print("fault_peer.py %s: %s" % (mode, e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
