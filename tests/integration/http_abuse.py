#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""http_abuse.py: hostile HTTP clients for test_http_robust.sh.

Usage: http_abuse.py SOCKET SCENARIO [ARG]

Each scenario talks to ember's API socket the way a broken or hostile client
would, checks what ember answers (when an answer is possible: a 400 whose
body is {"fault_message": "..."}), prints one line per check and exits 1 on
the first check that fails. Only the standard library: no third-party HTTP
client would send these bytes.
"""
import json
import random
import socket
import sys
import time

TIMEOUT_S = 5.0  # per recv: ember answers in milliseconds
REQUEST_DEADLINE_S = 5.0  # API_REQUEST_TIMEOUT_MS in monitor/control/api.h
API_MAX_CONNS = 8  # monitor/control/api.h: more connections than this and ember closes one
STALL_SLACK_S = 5.0  # the deadline sweep's period and a loaded host
SEED = 4  # binary garbage is random but the same on every run


def connect(path):
    """A connection; waits while the listen backlog is full (EAGAIN on Unix sockets)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT_S)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def read_all(s):
    """Everything until ember closes the connection."""
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    return out


def read_response(s):
    """One response: status line, headers, Content-Length body. (status, headers, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise AssertionError("connection closed before a response: %r" % buf[:200])
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            raise AssertionError("body cut short")
        rest += d
    return status, headers, rest[:n]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok   " + msg)


def expect_fault(raw, what, needle):
    """(raw) holds one response: a 400 with a JSON fault naming (needle), then close."""
    head, _, body = raw.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 400 "), "%s: 400 (got %r)" % (what, head[:40]))
    try:
        msg = json.loads(body.decode("utf-8"))["fault_message"]
    except (ValueError, KeyError) as e:
        fail("%s: body is not a JSON fault (%s): %r" % (what, e, body[:200]))
    check(needle in msg, "%s: fault_message %r names %r" % (what, msg, needle))


def send_and_read(path, data, shut=False):
    s = connect(path)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    out = read_all(s)
    s.close()
    return out


def get_root_ok(path):
    s = connect(path)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body = read_response(s)
    s.close()
    return status == 200 and json.loads(body)["state"] in ("Running", "Paused")


# ---------------------------------------------------------------- scenarios

def truncated(path):
    # Half a request line, half the headers, half a body: then the client goes.
    for part in (b"GET / HT", b"PUT /machine-config HTTP/1.1\r\nContent-Ty",
                 b"PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n\r\n{\"vcpu_"):
        out = send_and_read(path, part, shut=True)
        check(out == b"", "truncated %r: no answer, connection closed" % part[:24])
    # The same, with the client staying: ember must still serve others meanwhile.
    hold = connect(path)
    hold.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 40\r\n\r\n{")
    check(get_root_ok(path), "a half-sent request does not hold up another client")
    hold.close()


def huge_headers(path):
    big = b"X-Big: " + b"a" * (200 * 1024) + b"\r\n"
    out = send_and_read(path, b"GET / HTTP/1.1\r\n" + big + b"\r\n")
    expect_fault(out, "one 200 KiB header", "header")
    many = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 64) for i in range(2000))
    out = send_and_read(path, b"GET / HTTP/1.1\r\n" + many + b"\r\n")
    expect_fault(out, "2000 headers", "header")
    url = b"/" + b"u" * 100000
    out = send_and_read(path, b"GET " + url + b" HTTP/1.1\r\n\r\n")
    expect_fault(out, "a 100 KB URL", "URL")


def content_length(path):
    body = b'{"vcpu_count": 1, "mem_size_mib": 64}'
    for cl, needle in ((b"-1", "content-length"), (b"abc", "content-length"),
                       (b"99999999999999999999999", "content-length"),
                       (b"4294967296", "limit")):
        req = b"PUT /machine-config HTTP/1.1\r\nContent-Length: " + cl + b"\r\n\r\n" + body
        out = send_and_read(path, req)
        expect_fault(out, "Content-Length: %s" % cl.decode(), needle)
    req = (b"PUT /machine-config HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n" +
           b"1234567")
    expect_fault(send_and_read(path, req), "two Content-Length headers", "content-length")
    # Shorter than the body: the first 3 bytes are the body (the JSON parser
    # says where it ran out: column 3), the rest is read as the next
    # request, which is garbage. Were the whole body taken, the VM would pause.
    req = b"PATCH /vm HTTP/1.1\r\nContent-Length: 3\r\n\r\n" + b'{"state": "Paused"}'
    out = send_and_read(path, req)
    first, sep, rest = out.partition(b"HTTP/1.1 ")[2].partition(b"HTTP/1.1 ")
    expect_fault(b"HTTP/1.1 " + first, "Content-Length too short: the 3-byte body",
                 "invalid JSON at line 1 column 3: premature end of input")
    expect_fault(sep + rest, "Content-Length too short: the rest",
                 "malformed HTTP request: invalid HTTP method")
    # Longer than what comes: ember waits for the rest; the client gives up.
    s = connect(path)
    s.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{}")
    check(get_root_ok(path), "a body that never comes does not hold up another client")
    s.close()


def payload(path, limit):
    limit = int(limit)
    body = b'{"x": "' + b"a" * limit + b'"}'
    req = b"PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    expect_fault(send_and_read(path, req), "a body of %d bytes" % len(body), "limit of %d" % limit)
    # Chunked: no Content-Length to refuse up front; the chunks are counted.
    chunk = b"a" * 4096
    req = b"PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    req += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(limit // 4096 + 2))
    expect_fault(send_and_read(path, req), "a chunked body past the limit", "limit of %d" % limit)


def garbage(path):
    rnd = random.Random(SEED)
    answered = 0
    for i in range(40):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 3000)))
        if i % 2:
            data = b"GET /" + data  # garbage after something that looks like a request
        out = send_and_read(path, data, shut=True)
        # None of them can be the start of a request: each is refused at once.
        expect_fault(out, "garbage #%d (%d bytes)" % (i, len(data)), "malformed HTTP request: ")
        answered += 1
    check(answered == 40, "all %d of 40 garbage inputs answered with a JSON fault" % answered)
    out = send_and_read(path, b"GET /drives/\xff\xfe HTTP/1.1\r\n\r\n", shut=True)
    expect_fault(out, "bytes that are not text in the path", "invalid request URL")
    nul = b"\x00" * 100 + b"\r\n\r\n"
    expect_fault(send_and_read(path, nul), "NUL bytes", "malformed HTTP request")


def slow(path):
    # Byte by byte, with pauses: ember assembles the request across reads.
    idle = connect(path)  # connects and never sends, the whole time
    s = connect(path)
    req = b"GET / HTTP/1.1\r\nHost: slow\r\n\r\n"
    t0 = time.monotonic()
    for b in req:
        s.send(bytes([b]))
        time.sleep(0.01)
        if b == ord("\n"):
            check(get_root_ok(path), "another client is served while the slow one sends")
    status, _, body = read_response(s)
    check(status == 200 and b'"state":"Running"' in body,
          "byte-by-byte request answered after %.2f s" % (time.monotonic() - t0))
    # A client that sends requests but never reads answers: ember does not block on it.
    greedy = connect(path)
    greedy.setblocking(False)
    sent = 0
    try:
        for _ in range(20000):
            sent += greedy.send(b"GET /machine-config HTTP/1.1\r\n\r\n")
    except BlockingIOError:
        pass
    check(get_root_ok(path), "a client that never reads (%d bytes sent) blocks nobody" % sent)
    greedy.close()
    check(get_root_ok(path), "an idle connection and a slow one did not stop the server")
    idle.close()
    s.close()


def stall(path):
    """Open a half request and leave it: print the fd so the caller can check it later."""
    s = connect(path)
    # ember answers when its 5 s request deadline passes (checked every
    # 250 ms): wait well past that, not just the usual per-recv timeout.
    s.settimeout(REQUEST_DEADLINE_S + STALL_SLACK_S)
    s.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 10\r\n\r\n{")
    t0 = time.monotonic()
    out = read_all(s)
    expect_fault(out, "a request stalled for %.1f s" % (time.monotonic() - t0), "not completed")


def closed_by_peer(s):
    """True when the other end closed (s); whatever it sent first is read."""
    s.setblocking(False)
    try:
        while s.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def many(path, n):
    """Connections in batches of 50, silent, half a request or half a request
    line. Once ember has answered a request on a connection made after a
    batch, it has taken every connection of the batch, and it keeps at most
    API_MAX_CONNS open: it must have closed all but a few of them."""
    n = int(n)
    t0 = time.monotonic()
    batch = 50
    opened = closed = 0
    while opened < n:
        socks = []
        for i in range(min(batch, n - opened)):
            s = connect(path)
            k = opened + i
            if k % 3 == 1:
                s.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 30\r\n\r\n{\"vc")
            elif k % 3 == 2:
                s.sendall(b"GET / HT")
            socks.append(s)
        if not get_root_ok(path):
            fail("GET / not answered after %d connections" % (opened + len(socks)))
        left = sum(1 for s in socks if not closed_by_peer(s))
        if left > API_MAX_CONNS:
            fail("%d of a batch of %d connections still open, at most %d expected" %
                 (left, len(socks), API_MAX_CONNS))
        closed += len(socks) - left
        for s in socks:
            s.close()
        opened += len(socks)
    check(closed >= n - (n // batch + 1) * API_MAX_CONNS,
          "%d connections opened, %d of them closed by ember to stay within %d, in %.2f s" %
          (opened, closed, API_MAX_CONNS, time.monotonic() - t0))
    check(get_root_ok(path), "the API still answers after them")


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    path, scenario, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    fn = globals().get(scenario)
    if fn is None or scenario.startswith("_"):
        fail("no scenario " + scenario)
    try:
        fn(path, *args)
    except (AssertionError, OSError, ValueError) as e:
        fail("%s: %s: %s" % (scenario, type(e).__name__, e))


if __name__ == "__main__":
    main()
