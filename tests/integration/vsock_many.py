#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""vsock_many.py: the host side of test_vsock.sh's many-streams tests.

  vsock_many.py serve PATH N BYTES
      Listen at PATH (a guest-initiated port's UDS_PATH_<port>), accept N
      connections and echo each one's bytes back as they come. A stream must
      carry exactly BYTES bytes, those of one of vio.elf's vsock-multi streams
      (stream_bytes in tests/guests/vio.c). Creates PATH.ready once listening;
      prints one line when all N ended (or the time ran out):
        host: streams=<n> distinct=<n> valid=<n> max_open=<n>
  vsock_many.py connect UDS_PATH PORT N BYTES
      Open N connections to UDS_PATH at once, "CONNECT PORT" on each, then
      send each its own BYTES bytes, shut the sending side, and read the echo
      up to EOF. Prints:
        host: connected=<n> distinct_ports=<n> verified=<n>
Exits 0 when every stream was right, 1 otherwise.
"""
import os
import socket
import sys
import threading

TIMEOUT_S = 20
CHUNK = 65536
TAG = 4  # 'h' and three decimal digits of the stream number
MAX_STREAMS = 128  # vio.c: RT_VSOCK_MAX_CONNS


PATTERN_LEN = 16381
PATTERN_STRIDE = 127
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


PATTERN = make_pattern()


def guest_stream(s, n):
    """What guest stream s sends (vio.c stream_bytes)."""
    start = s * PATTERN_STRIDE % PATTERN_LEN
    reps = (start + n) // PATTERN_LEN + 1
    return (PATTERN * reps)[start:start + n]


def host_stream(s, n):
    head = b"h%03d" % s
    return head + bytes((s * 41 + k * 13 + (k >> 9)) & 0xFF for k in range(TAG, n))


def serve(path, want, nbytes):
    expected = [guest_stream(i, nbytes) for i in range(MAX_STREAMS)]
    lock = threading.Lock()
    state = {"open": 0, "max_open": 0, "ended": 0, "valid": 0, "seen": set()}
    done = threading.Event()

    def one(c):
        data = bytearray()
        with c:
            c.settimeout(TIMEOUT_S)
            try:
                while True:
                    d = c.recv(CHUNK)
                    if not d:
                        break
                    data += d
                    c.sendall(d)
            except OSError:
                pass  # an RST after the guest's SHUTDOWN ends the stream as well
        s = next((i for i in range(MAX_STREAMS) if data == expected[i]), None)
        ok = s is not None
        with lock:
            state["open"] -= 1
            state["ended"] += 1
            if ok:
                state["valid"] += 1
                state["seen"].add(s)
            if state["ended"] == want:
                done.set()

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4 * want)
    open(path + ".ready", "w").close()
    srv.settimeout(TIMEOUT_S)
    try:
        for _ in range(want):
            c, _ = srv.accept()
            with lock:
                state["open"] += 1
                state["max_open"] = max(state["max_open"], state["open"])
            threading.Thread(target=one, args=(c,), daemon=True).start()
    except OSError:
        pass
    done.wait(TIMEOUT_S)
    with lock:
        print("host: streams=%d distinct=%d valid=%d max_open=%d"
              % (state["ended"], len(state["seen"]), state["valid"], state["max_open"]),
              flush=True)
        return state["valid"] == want and len(state["seen"]) == want


def read_line(c):
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        d = c.recv(1)
        if not d:
            break
        line += d
    return line


def connect(uds, port, want, nbytes):
    socks, ports, oks = [], set(), 0
    for _ in range(want):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(TIMEOUT_S)
        c.connect(uds)
        c.sendall(b"CONNECT %d\n" % port)
        socks.append(c)
    # every stream is open at once before any data moves
    for c in socks:
        try:
            line = read_line(c)
        except OSError:
            line = b""
        if line.startswith(b"OK ") and line[3:-1].isdigit():
            oks += 1
            ports.add(int(line[3:-1]))
    for i, c in enumerate(socks):
        try:
            c.sendall(host_stream(i, nbytes))
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    verified = 0
    for i, c in enumerate(socks):
        got = bytearray()
        try:
            while True:
                d = c.recv(CHUNK)
                if not d:
                    break
                got += d
        except OSError:
            pass
        c.close()
        verified += got == host_stream(i, nbytes)
    print("host: connected=%d distinct_ports=%d verified=%d" % (oks, len(ports), verified),
          flush=True)
    return verified == want and len(ports) == want


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        ok = serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 6 and sys.argv[1] == "connect":
        ok = connect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
