#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""soak.py: the host side of tests/soak/soak.sh. Each part prints one JSON
object on stdout (progress goes to stderr) and exits 0 when it passed,
1 when it found a failure or a leak.

  soak.py boots --ember E --hello H --vio V --n N --work DIR
      N boots of hello.elf and N of vio.elf (a disk, the entropy device and a
      vsock with one guest-initiated echo each), interleaved, one at a time.
      Every boot must exit with its status and print its lines. Afterwards
      nothing may be left: no child process, no file in DIR but ours (the
      vsock UDS_PATH excepted when --allow-vsock-uds: ember, as Firecracker,
      leaves it), and, with --tmp-dirs, no file in those directories but DIR.

  soak.py api --ember E --vio V --m M --work DIR
      One ember booted from a config file (vio.elf with idle=, a disk, the
      entropy device) with --api-sock and --metrics-path (a FIFO this program
      drains), then M API requests of many kinds (the GETs, FlushMetrics,
      pause and resume, PATCH /drives swapping the backing file and setting a
      rate limiter, errors the routes refuse, malformed HTTP), on fresh
      connections, on keep-alive connections and pipelined, each answer
      checked, and aborted connections in between; the metrics lines must
      count exactly what was sent. Samples fds, threads and RSS at start, after the warm-up and at
      the end (client connections closed each time); then SIGTERM.

  soak.py vsock --ember E --vio V --k K --kg KG --work DIR
      One ember with a vsock: KG guest-initiated streams (vio vsock-dial to
      this program's echo server), then K host-initiated ones ("CONNECT
      <port>" to vio vsock-serve, a few bytes echoed, close). Samples at
      start, after each warm-up and at each end, at moments the guest is
      idle; then SIGTERM.

Pass criteria for api and vsock: every request or stream right, the fd and
thread counts at the end equal to those after the warm-up, and the RSS
growth from the warm-up to the end at most --rss-bound-kb (256).
"""
import argparse
import ctypes
import json
import os
import re
import selectors
import signal
import socket
import stat
import statistics
import subprocess
import sys
import threading
import time
import zlib

PR_SET_CHILD_SUBREAPER = 36
F_SETPIPE_SZ = 1031
SIGTERM_STATUS = 128 + signal.SIGTERM
IO_TIMEOUT_S = 20
LONG_MS = 24 * 3600 * 1000  # how long the guests of api and vsock would live
MAX_DETAILS = 10  # failure messages kept
GIVE_UP = 20  # failed requests or streams after which a part stops early
EOF_TIMEOUT_S = 5  # for the server to close after an answer with Connection: close
NOT_JUDGED = ("not judged: a sanitizer build, whose allocator keeps freed memory in "
              "quarantine; its leak checker reports at exit instead")
UDS_NOTE = ("v.sock (s): the vsock UDS_PATH; ember does not remove it when it ends (nor does "
            "Firecracker); the next start replaces it")


def log(msg):
    print("soak: " + msg, file=sys.stderr, flush=True)


def subreaper():
    """Become the reaper of orphaned descendants, so a process a child
    leaves behind is ours to find (children_left) rather than init's."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except OSError:
        return False


def children_left():
    """Processes whose parent is this one (running or zombie), as 'pid:comm'."""
    me, left = os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        if ppid == me:
            left.append("%s:%s" % (d, comm))
    return left


def listing(d):
    """Every path under d, relative, with a type letter."""
    out = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            try:
                m = os.lstat(p).st_mode
            except OSError:
                continue
            kind = "s" if stat.S_ISSOCK(m) else "d" if stat.S_ISDIR(m) else "p" if stat.S_ISFIFO(m) else "f"
            out.append(os.path.relpath(p, d) + ("" if kind == "f" else " (%s)" % kind))
    return sorted(out)


def sample(pid):
    """fds, threads and RSS (kB) of pid, from /proc."""
    s = {"t": round(time.monotonic(), 3)}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k == "VmRSS":
                s["rss_kb"] = int(v.split()[0])
            elif k == "Threads":
                s["threads"] = int(v)
    s["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return s


def settle(pid, want_fds, limit_s=3.0):
    """A sample once pid's fd count is down to want_fds (connections the
    client closed are closed by ember when it reads their end), or the last
    one after limit_s."""
    end = time.monotonic() + limit_s
    while True:
        s = sample(pid)
        if s["fds"] <= want_fds or time.monotonic() >= end:
            return s
        time.sleep(0.01)


def rss_bound(a):
    return None if a.no_rss_check else a.rss_bound_kb


def verdict_steady(name, warm, end, bound_kb, failures):
    """The pass criteria: fds and threads back to the warm-up level, RSS growth
    bounded (bound_kb None: RSS not judged, as for a sanitizer build, whose
    allocator holds freed memory in quarantine)."""
    growth = end["rss_kb"] - warm["rss_kb"]
    if end["fds"] != warm["fds"]:
        failures.append("%s: fds %d after the warm-up, %d at the end" % (name, warm["fds"], end["fds"]))
    if end["threads"] != warm["threads"]:
        failures.append("%s: threads %d after the warm-up, %d at the end" %
                        (name, warm["threads"], end["threads"]))
    if bound_kb is not None and growth > bound_kb:
        failures.append("%s: RSS grew %d kB from the warm-up to the end (bound %d kB)" %
                        (name, growth, bound_kb))
    return growth


class Ember:
    """A running ember: its stdout lines collected by a thread."""

    def __init__(self, argv, work, name):
        self.errpath = os.path.join(work, name + ".stderr")
        self.err = open(self.errpath, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=self.err, cwd=work)
        self.lines = []
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n").replace("\r", "")
            with self.cv:
                self.lines.append((time.monotonic(), line))
                self.cv.notify_all()
        with self.cv:
            self.lines.append((time.monotonic(), None))  # EOF
            self.cv.notify_all()

    def wait_line(self, pattern, timeout=60, start=0):
        """The index and text of the first stdout line from (start) on matching pattern."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cv:
            i = start
            while True:
                while i < len(self.lines):
                    line = self.lines[i][1]
                    if line is None:
                        raise RuntimeError("ember ended before printing /%s/ (exit %s)" %
                                           (pattern, self.p.poll()))
                    if rx.search(line):
                        return i, line
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("no stdout line /%s/ in %d s" % (pattern, timeout))
                self.cv.wait(left)

    def line_after(self, i, pattern):
        """Whether some line after index i matches (has already been printed)."""
        rx = re.compile(pattern)
        with self.cv:
            return any(l is not None and rx.search(l) for _, l in self.lines[i + 1:])

    def stop(self):
        """SIGTERM; the exit status (None when it had to be killed)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = None
        self.t.join(timeout=5)
        self.err.close()
        return rc

    def stderr_tail(self, n=20):
        with open(self.errpath, errors="replace") as f:
            return f.read().splitlines()[-n:]


# ---------------------------------------------------------------- echo server

class EchoServer:
    """A Unix stream socket at path echoing every connection (one thread, selectors)."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(128)
        self.s.setblocking(False)
        self.accepted = self.ended = self.bytes = 0
        self.stop_r, self.stop_w = os.pipe()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.s, selectors.EVENT_READ, None)
        sel.register(self.stop_r, selectors.EVENT_READ, "stop")
        while True:
            for key, _ in sel.select():
                if key.data == "stop":
                    for k in list(sel.get_map().values()):
                        if isinstance(k.fileobj, socket.socket) and k.fileobj is not self.s:
                            k.fileobj.close()
                    sel.close()
                    return
                if key.fileobj is self.s:
                    try:
                        c, _ = self.s.accept()
                    except BlockingIOError:
                        continue
                    c.setblocking(False)
                    self.accepted += 1
                    sel.register(c, selectors.EVENT_READ, "conn")
                    continue
                c = key.fileobj
                try:
                    d = c.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    d = b""
                if d:
                    try:
                        c.setblocking(True)
                        c.settimeout(IO_TIMEOUT_S)
                        c.sendall(d)
                        c.setblocking(False)
                        self.bytes += len(d)
                        continue
                    except OSError:
                        pass
                sel.unregister(c)
                c.close()
                self.ended += 1

    def close(self):
        os.write(self.stop_w, b"x")
        self.t.join(timeout=5)
        self.s.close()
        os.close(self.stop_r)
        os.close(self.stop_w)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------- part a: boots

def cmd_boots(a):
    subreaper()
    work = a.work
    os.makedirs(work, exist_ok=True)
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.write(os.urandom(1 << 20))
    with open(disk, "rb") as f:
        sector0 = f.read(512)
    crc = "0x%08x" % zlib.crc32(sector0)  # as the guest prints it: 8 digits
    uds = os.path.join(work, "v.sock")
    echo = EchoServer(uds + "_5000")
    before = listing(work)
    tmp_before = {d: listing(d) for d in a.tmp_dirs}

    def hello_argv(i):
        return [a.ember, "--kernel", a.hello, "--", "soak", str(i)]

    def hello_check(i, rc, out):
        if rc != 0:
            return "exit status %s, expected 0" % rc
        if out != ["hello, soak %d" % i]:
            return "stdout %r, expected ['hello, soak %d']" % (out[:4], i)
        return None

    def vio_argv(i):
        return [a.ember, "--kernel", a.vio, "--disk", disk, "--rng", "--vsock", "3," + uds, "--",
                "blk-info", "blk-read=0", "rng=16", "vsock-connect=5000",
                "vsock-send=soak%d" % i, "vsock-recv", "vsock-close", "exit=7"]

    def vio_check(i, rc, out):
        want = ["vio: devices=3",
                "vio: blk capacity=2048 ro=0",
                "vio: blk read sector=0 crc=%s first=%s" % (crc, sector0[:16].hex()),
                "vio: rng ok bytes=16",
                "vio: vsock cid=3 connect port=5000 ret=0",
                "vio: vsock send ret=%d" % len("soak%d" % i),
                "vio: vsock recv len=%d data=soak%d" % (len("soak%d" % i), i),
                "vio: vsock closed",
                "vio: done"]
        if rc != 7:
            return "exit status %s, expected 7" % rc
        for w in want:
            if not any(line.startswith(w) for line in out):
                return "stdout lacks %r" % w
        return None

    kinds = {"hello": (hello_argv, hello_check), "vio": (vio_argv, vio_check)}
    stats = {k: {"boots": 0, "failures": 0, "wall_us": []} for k in kinds}
    details = []
    t0 = time.monotonic()
    step = max(1, a.n // 10)
    for i in range(a.n):
        for k in (("hello", "vio") if i % 2 == 0 else ("vio", "hello")):
            argv, check = kinds[k]
            ts = time.monotonic()
            try:
                p = subprocess.run(argv(i), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=30)
                rc, out, err = p.returncode, p.stdout, p.stderr
            except subprocess.TimeoutExpired as e:
                rc, out, err = "timeout", e.stdout or b"", e.stderr or b""
            wall = time.monotonic() - ts
            lines = out.decode(errors="replace").replace("\r", "").splitlines()
            why = check(i, rc, lines)
            st = stats[k]
            st["boots"] += 1
            st["wall_us"].append(int(wall * 1e6))
            if why is not None:
                st["failures"] += 1
                if len(details) < MAX_DETAILS:
                    details.append("%s boot %d: %s; stderr: %s" %
                                   (k, i, why, err.decode(errors="replace")[-300:].strip()))
        if (i + 1) % step == 0:
            log("boots: %d/%d of each, %.1f s, %d failed" %
                (i + 1, a.n, time.monotonic() - t0, sum(s["failures"] for s in stats.values())))
    wall_s = time.monotonic() - t0
    echo_accepted = echo.accepted
    echo.close()

    # What is left behind.
    left_procs = children_left()
    after = listing(work)
    extra = [p for p in after if p not in before and p != "v.sock_5000 (s)"]
    allowed = []
    if a.allow_vsock_uds and "v.sock (s)" in extra:
        extra.remove("v.sock (s)")
        allowed.append(UDS_NOTE)
    tmp_extra = {}
    for d in a.tmp_dirs:
        new = [p for p in listing(d) if p not in tmp_before[d]
               and not os.path.join(d, p.split(" (")[0]).startswith(work.rstrip("/") + "/")
               and os.path.join(d, p.split(" (")[0]) != work.rstrip("/")]
        if new:
            tmp_extra[d] = new[:20]
    failures = list(details)
    nfail = sum(s["failures"] for s in stats.values())
    if nfail > len(details):
        failures.append("(and %d more failed boots)" % (nfail - len(details)))
    if left_procs:
        failures.append("processes left behind: %s" % left_procs)
    if extra:
        failures.append("files left in the work directory: %s" % extra)
    for d, new in tmp_extra.items():
        failures.append("files left in %s: %s" % (d, new))
    if echo_accepted != stats["vio"]["boots"]:
        failures.append("the echo server saw %d vsock streams for %d vio boots" %
                        (echo_accepted, stats["vio"]["boots"]))

    def summary(st):
        w = sorted(st["wall_us"])
        return {"boots": st["boots"], "failures": st["failures"],
                "wall_us_median": int(statistics.median(w)) if w else None,
                "wall_us_p99": w[min(len(w) - 1, int(len(w) * 0.99))] if w else None,
                "wall_us_max": w[-1] if w else None}

    res = {"part": "boots", "n_each": a.n, "boots": sum(s["boots"] for s in stats.values()),
           "failed_boots": nfail, "wall_s": round(wall_s, 2),
           "per_kind": {k: summary(s) for k, s in stats.items()},
           "left_processes": left_procs, "left_files": extra, "left_tmp": tmp_extra,
           "allowed_leftovers": allowed, "checked_tmp_dirs": a.tmp_dirs,
           "failures": failures, "pass": not failures}
    print(json.dumps(res))
    return 0 if res["pass"] else 1


# ---------------------------------------------------------------- part b: API

def http_req(method, path, body=None, extra=""):
    h = "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n%s" % (method, path, extra)
    b = b""
    if body is not None:
        b = body.encode()
        h += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(b)
    return (h + "\r\n").encode() + b


class HttpConn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(IO_TIMEOUT_S)
        self.s.connect(path)
        self.buf = b""

    def send(self, raw):
        self.s.sendall(raw)

    def response(self):
        """(status, headers, body) of the next answer."""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed before an answer (%d bytes)" % len(self.buf))
            self.buf += d
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[0] != "HTTP/1.1":
            raise ValueError("bad status line %r" % lines[0])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed inside a body")
            rest += d
        self.buf = rest[n:]
        return int(parts[1]), headers, rest[:n]

    def expect_eof(self):
        """The server closes the connection (after an answer with Connection: close)."""
        self.s.settimeout(EOF_TIMEOUT_S)
        while True:
            d = self.s.recv(65536)
            if not d:
                return not self.buf
            self.buf += d

    def close(self):
        self.s.close()


def json_body(body):
    return json.loads(body.decode())


def check_fault(substr=None):
    def f(body):
        o = json_body(body)
        msg = o.get("fault_message")
        if not isinstance(msg, str) or not msg:
            return "no fault_message in %r" % body[:200]
        if substr is not None and substr not in msg:
            return "fault_message %r lacks %r" % (msg, substr)
        return None
    return f


def api_kinds(vio, disk):
    """name -> (raw request, status, body check, server closes)."""
    def info(body):
        o = json_body(body)
        if o.get("state") != "Running" or o.get("app_name") != "ember" or "id" not in o:
            return "GET /: %r" % o
        return None

    def vm_config(body):
        o = json_body(body)
        bs, dr, mc = o.get("boot-source", {}), o.get("drives", []), o.get("machine-config", {})
        if (bs.get("kernel_image_path") != vio or len(dr) != 1 or dr[0].get("path_on_host") != disk
                or mc.get("vcpu_count") != 1 or mc.get("mem_size_mib") != 128):
            return "GET /vm/config: %r" % o
        return None

    def machine(body):
        o = json_body(body)
        if o.get("vcpu_count") != 1 or o.get("mem_size_mib") != 128:
            return "GET /machine-config: %r" % o
        return None

    def version(body):
        o = json_body(body)
        return None if isinstance(o.get("firecracker_version"), str) else "GET /version: %r" % o

    def paused(body):
        o = json_body(body)
        return None if o.get("state") == "Paused" else "GET / while paused: %r" % o

    flush = '{"action_type": "FlushMetrics"}'
    swap = disk + ".swap"
    limit = '{"drive_id": "scratch", "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100}}}'
    unlimit = '{"drive_id": "scratch", "rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}}'
    return {
        "get_info": (http_req("GET", "/"), 200, info, False),
        "get_vm_config": (http_req("GET", "/vm/config"), 200, vm_config, False),
        "get_machine_config": (http_req("GET", "/machine-config"), 200, machine, False),
        "flush_metrics": (http_req("PUT", "/actions", flush), 204, None, False),
        "get_version": (http_req("GET", "/version"), 200, version, False),
        "bad_action": (http_req("PUT", "/actions", '{"action_type": "Bogus"}'), 400,
                       check_fault(), False),
        "bad_json": (http_req("PUT", "/actions", '{"action_type": '), 400, check_fault(), False),
        "no_route": (http_req("GET", "/soak/nowhere"), 400, check_fault("/soak/nowhere"), False),
        "bad_method": (http_req("DELETE", "/machine-config"), 400, check_fault(), False),
        "put_after_boot": (http_req("PUT", "/machine-config", '{"vcpu_count": 2, "mem_size_mib": 256}'),
                           400, check_fault("after starting"), False),
        "unsupported": (http_req("PUT", "/balloon", '{"amount_mib": 1}'), 400,
                        check_fault("balloon"), False),
        "not_http": (b"THIS IS NOT HTTP\r\n\r\n", 400, check_fault("malformed"), True),
        "too_big": (b"PUT /actions HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999\r\n\r\n",
                    400, check_fault("larger than"), True),
        "bad_url": (b"GET /\x01x HTTP/1.1\r\nHost: localhost\r\n\r\n", 400, check_fault(), True),
        "close_req": (http_req("GET", "/", extra="Connection: close\r\n"), 200, info, True),
        # Live changes, each undone by the next one in API_CYCLE.
        "pause": (http_req("PATCH", "/vm", '{"state": "Paused"}'), 204, None, False),
        "get_info_paused": (http_req("GET", "/"), 200, paused, False),
        "resume": (http_req("PATCH", "/vm", '{"state": "Resumed"}'), 204, None, False),
        "drive_swap": (http_req("PATCH", "/drives/scratch",
                                '{"drive_id": "scratch", "path_on_host": "%s"}' % swap), 204, None, False),
        "drive_back": (http_req("PATCH", "/drives/scratch",
                                '{"drive_id": "scratch", "path_on_host": "%s"}' % disk), 204, None, False),
        "drive_limit": (http_req("PATCH", "/drives/scratch", limit), 204, None, False),
        "drive_unlimit": (http_req("PATCH", "/drives/scratch", unlimit), 204, None, False),
    }


# Each cycle of the API run: the four the brief names most, the rest in between.
API_CYCLE = ["get_info", "get_vm_config", "get_machine_config", "flush_metrics",
             "get_info", "bad_action", "get_machine_config", "not_http", "get_vm_config",
             "flush_metrics", "no_route", "get_info", "put_after_boot", "get_version",
             "bad_json", "get_machine_config", "too_big", "flush_metrics", "bad_method",
             "get_vm_config", "unsupported", "get_info", "bad_url", "close_req",
             "pause", "get_info_paused", "resume", "get_info", "drive_swap", "drive_back",
             "get_vm_config", "drive_limit", "get_machine_config", "drive_unlimit", "flush_metrics"]


class MetricsReader:
    """Drains the metrics FIFO; every complete line is summed."""

    def __init__(self, path):
        os.mkfifo(path, 0o600)
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # never EOF, never blocks ember
        try:
            import fcntl
            fcntl.fcntl(self.fd, F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass
        self.buf = b""
        self.lines = 0
        self.bad = 0
        self.sums = {}
        self.lock = threading.Lock()
        self.stop_r, self.stop_w = os.pipe()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _take(self, data):
        self.buf += data
        while b"\n" in self.buf:
            line, _, self.buf = self.buf.partition(b"\n")
            with self.lock:
                self.lines += 1
                try:
                    o = json.loads(line)
                except ValueError:
                    self.bad += 1
                    continue
                for g in ("get_api_requests", "put_api_requests", "patch_api_requests"):
                    for k, v in o.get(g, {}).items():
                        self.sums[g + "." + k] = self.sums.get(g + "." + k, 0) + v

    def _drain(self):
        while True:
            try:
                d = os.read(self.fd, 1 << 20)
            except BlockingIOError:
                return
            if not d:
                return
            self._take(d)

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.fd, selectors.EVENT_READ, "m")
        sel.register(self.stop_r, selectors.EVENT_READ, "stop")
        while True:
            for key, _ in sel.select():
                if key.data == "stop":
                    self._drain()
                    sel.close()
                    return
                self._drain()

    def close(self):
        os.write(self.stop_w, b"x")
        self.t.join(timeout=5)
        for fd in (self.fd, self.stop_r, self.stop_w):
            os.close(fd)
        os.unlink(self.path)


def cmd_api(a):
    subreaper()
    work = a.work
    os.makedirs(work, exist_ok=True)
    disk = os.path.join(work, "disk.img")
    for d in (disk, disk + ".swap"):
        with open(d, "wb") as f:
            f.truncate(1 << 20)
    sock = os.path.join(work, "api.sock")
    mpath = os.path.join(work, "metrics.fifo")
    logpath = os.path.join(work, "ember.log")
    cfgpath = os.path.join(work, "vm.json")
    with open(cfgpath, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": a.vio,
                                   "boot_args": "console=ttyS0 -- irq idle=%d" % LONG_MS},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
                   "drives": [{"drive_id": "scratch", "path_on_host": disk,
                               "is_root_device": False, "is_read_only": False}],
                   "entropy": {}}, f)
    metrics = MetricsReader(mpath)
    e = Ember([a.ember, "--config-file", cfgpath, "--api-sock", sock, "--metrics-path", mpath,
               "--log-path", logpath, "--level", "Warning"], work, "api")
    kinds = api_kinds(a.vio, disk)
    sent = {k: 0 for k in kinds}
    bad = {k: 0 for k in kinds}
    details = []
    aborted = 0
    samples = {}
    failures = []
    rc = None

    def fail(msg):
        if len(details) < MAX_DETAILS:
            details.append(msg)

    try:
        e.wait_line(r"^vio: idle ms=", timeout=30)
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        samples["start"] = sample(e.p.pid)
        pool = [None, None]  # keep-alive connections
        done = 0
        warm_at = max(1, min(a.m // 10, a.m))
        t0 = time.monotonic()
        step = max(1, a.m // 10)

        def one(conn, name):
            """Send request (name) on conn and check its answer. False when the
            server closed the connection (as it should for some kinds)."""
            raw, status, check, closes = kinds[name]
            sent[name] += 1
            try:
                conn.send(raw)
                st, hd, body = conn.response()
                why = None
                if st != status:
                    why = "status %d, expected %d: %r" % (st, status, body[:200])
                elif check is not None:
                    why = check(body)
                elif body:
                    why = "unexpected body %r" % body[:200]
                if why is None and (hd.get("connection") == "close") != closes:
                    why = "Connection: %s" % hd.get("connection")
                if why is None and closes and not conn.expect_eof():
                    why = "bytes after the last answer"
            except (OSError, EOFError, ValueError) as ex:
                why = "%s: %s" % (type(ex).__name__, ex)
                closes = True
            if why is not None:
                bad[name] += 1
                fail("request %d %s: %s" % (done, name, why))
            return not closes

        def close_pool():
            for i, c in enumerate(pool):
                if c is not None:
                    c.close()
                    pool[i] = None

        while done < a.m:
            if sum(bad.values()) >= GIVE_UP:
                failures.append("gave up after %d failed requests (of %d sent)" %
                                (sum(bad.values()), done))
                break
            name = API_CYCLE[done % len(API_CYCLE)]
            mode = done % 5
            if mode == 0:
                # A fresh connection for this one request.
                c = HttpConn(sock)
                one(c, name)
                c.close()
                done += 1
            elif mode == 4 and not kinds[name][3] and done + 1 < a.m \
                    and not kinds[API_CYCLE[(done + 1) % len(API_CYCLE)]][3]:
                # Two requests in one write on a keep-alive connection (pipelined).
                if pool[0] is None:
                    pool[0] = HttpConn(sock)
                nxt = API_CYCLE[(done + 1) % len(API_CYCLE)]
                c = pool[0]
                names = [name, nxt]
                try:
                    c.send(kinds[name][0] + kinds[nxt][0])
                except OSError as ex:
                    fail("pipelined send: %s" % ex)
                for n in names:
                    raw, status, check, _ = kinds[n]
                    sent[n] += 1
                    try:
                        st, hd, body = c.response()
                        why = None if st == status else "status %d, expected %d" % (st, status)
                        if why is None and check is not None:
                            why = check(body)
                    except (OSError, EOFError, ValueError) as ex:
                        why = "%s: %s" % (type(ex).__name__, ex)
                    if why is not None:
                        bad[n] += 1
                        fail("request %d %s (pipelined): %s" % (done, n, why))
                        c.close()
                        pool[0] = None
                        sent[nxt] += n == name  # counted as sent, not answered
                        bad[nxt] += n == name
                        break
                done += 2
            else:
                k = mode % 2
                if pool[k] is None:
                    pool[k] = HttpConn(sock)
                if not one(pool[k], name):
                    pool[k].close()
                    pool[k] = None
                done += 1
            # Now and then a client that goes away: silent, or mid-request.
            if done % 97 == 0:
                c = HttpConn(sock)
                c.close()
                aborted += 1
            elif done % 101 == 0:
                c = HttpConn(sock)
                c.send(b"GET /machine-con")
                c.close()
                aborted += 1
            if "warm" not in samples and done >= warm_at:
                close_pool()
                time.sleep(0.2)
                samples["warm"] = settle(e.p.pid, samples["start"]["fds"])
                samples["warm"]["requests"] = done
            if done // step != (done - 1) // step or (mode == 4 and done % step == 1):
                log("api: %d/%d requests, %.1f s, %d failed" %
                    (done, a.m, time.monotonic() - t0, sum(bad.values())))
        close_pool()
        wall_s = time.monotonic() - t0
        samples["end"] = settle(e.p.pid, samples.get("warm", samples["start"])["fds"])
        samples["end"]["requests"] = done
    except (RuntimeError, OSError) as ex:
        failures.append("api run: %s" % ex)
        wall_s = None
    finally:
        rc = e.stop()
        metrics.close()

    total = sum(sent.values())
    nbad = sum(bad.values())
    failures += details
    if nbad > len(details):
        failures.append("(and %d more failed requests)" % (nbad - len(details)))
    if rc != SIGTERM_STATUS:
        failures.append("ember exit status %s after SIGTERM, expected %d; stderr: %s" %
                        (rc, SIGTERM_STATUS, e.stderr_tail(5)))
    if os.path.exists(sock):
        failures.append("the API socket %s is left after ember ended" % sock)
    left = children_left()
    if left:
        failures.append("processes left behind: %s" % left)
    extra = [f for f in listing(work)
             if f not in ("disk.img", "disk.img.swap", "vm.json", "ember.log", "api.stderr")]
    if extra:
        failures.append("files left in the work directory: %s" % extra)
    with open(logpath, errors="replace") as f:
        log_lines = f.read().splitlines()
    # The metrics lines (FlushMetrics, the periodic flush, the last one at exit)
    # count every request the routes saw, each once.
    want = {
        "get_api_requests.instance_info_count": (sent["get_info"] + sent["close_req"] +
                                                 sent["get_info_paused"]),
        "get_api_requests.vm_config_count": sent["get_vm_config"],
        "get_api_requests.machine_cfg_count": sent["get_machine_config"],
        "get_api_requests.vmm_version_count": sent["get_version"],
        "put_api_requests.actions_count": sent["flush_metrics"] + sent["bad_action"] + sent["bad_json"],
        "put_api_requests.actions_fails": sent["bad_action"] + sent["bad_json"],
        "put_api_requests.machine_cfg_count": sent["put_after_boot"],
        "put_api_requests.machine_cfg_fails": sent["put_after_boot"],
        "patch_api_requests.vm_count": sent["pause"] + sent["resume"],
        "patch_api_requests.vm_fails": 0,
        "patch_api_requests.drive_count": (sent["drive_swap"] + sent["drive_back"] +
                                           sent["drive_limit"] + sent["drive_unlimit"]),
        "patch_api_requests.drive_fails": 0,
    }
    got = {k: metrics.sums.get(k) for k in want}
    if nbad == 0 and got != want:
        failures.append("metrics counted %s, sent %s" %
                        ({k: v for k, v in got.items() if v != want[k]},
                         {k: v for k, v in want.items() if got[k] != v}))
    if metrics.lines < sent["flush_metrics"] or metrics.bad:
        failures.append("metrics: %d lines (%d not JSON) for %d FlushMetrics" %
                        (metrics.lines, metrics.bad, sent["flush_metrics"]))
    growth = None
    if "end" in samples and "warm" in samples:
        growth = verdict_steady("api", samples["warm"], samples["end"], rss_bound(a), failures)
    res = {"part": "api", "requests": total, "failed_requests": nbad, "aborted_connections": aborted,
           "per_kind": {k: [sent[k], bad[k]] for k in kinds}, "metrics_lines": metrics.lines,
           "metrics_counted": got, "wall_s": round(wall_s, 2) if wall_s else None,
           "samples": samples, "rss_growth_kb": growth, "rss_bound_kb": rss_bound(a),
           "exit_status": rc, "stderr_tail": e.stderr_tail(5), "left_files": extra,
           "log_lines": len(log_lines), "log_head": log_lines[:5],
           "failures": failures, "pass": not failures}
    print(json.dumps(res))
    return 0 if res["pass"] else 1


# ---------------------------------------------------------------- part c: vsock

def host_stream(uds, port, i):
    """One host-initiated stream: CONNECT, a few bytes echoed, close. None when right."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(IO_TIMEOUT_S)
    try:
        s.connect(uds)
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            d = s.recv(1)
            if not d:
                return "closed before OK (got %r)" % line
            line += d
            if len(line) > 64:
                return "answer too long %r" % line
        if not re.fullmatch(rb"OK \d+\n", line):
            return "answer %r" % line
        data = b"soak %08d host->guest->host" % i
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            d = s.recv(4096)
            if not d:
                return "EOF after %d of %d echoed bytes" % (len(got), len(data))
            got += d
        if got != data:
            return "echo %r, sent %r" % (got, data)
        s.shutdown(socket.SHUT_WR)
        d = s.recv(4096)
        if d:
            return "bytes %r after the echo" % d[:40]
        return None
    except OSError as ex:
        return "%s: %s" % (type(ex).__name__, ex)
    finally:
        s.close()


def cmd_vsock(a):
    subreaper()
    work = a.work
    os.makedirs(work, exist_ok=True)
    uds = os.path.join(work, "v.sock")
    gport, hport, nbytes = 5001, 6000, 64
    echo = EchoServer("%s_%d" % (uds, gport))
    gwarm = max(1, a.kg // 10) if a.kg > 0 else 0
    words = ["irq"]
    if a.kg > 0:
        words += ["vsock-dial=%d,%d,%d" % (gport, gwarm, nbytes), "idle=1000"]
        if a.kg > gwarm:
            words += ["vsock-dial=%d,%d,%d" % (gport, a.kg - gwarm, nbytes)]
        words += ["idle=1000"]
    words += ["vsock-serve=%d,%d" % (hport, LONG_MS)]
    e = Ember([a.ember, "--kernel", a.vio, "--vsock", "3," + uds, "--"] + words, work, "vsock")
    samples = {}
    failures = []
    details = []
    guest = {"streams": 0, "verified": 0, "closed": 0, "failed": 0}
    host = {"streams": 0, "failed": 0}
    wall = {}
    rc = None

    def dial_line(line):
        m = re.search(r"n=(\d+) connected=(\d+) verified=(\d+) closed=(\d+) refused=(\d+) failed=(\d+)",
                      line)
        n, _, ver, clo, ref, fai = (int(x) for x in m.groups())
        guest["streams"] += n
        guest["verified"] += ver
        guest["closed"] += clo
        guest["failed"] += n - clo
        if n - clo:
            details.append("guest dial: %s" % line)

    try:
        i, _ = e.wait_line(r"^vio: irq mode", timeout=30)
        samples["start"] = sample(e.p.pid)
        if a.kg > 0:
            t0 = time.monotonic()
            i, line = e.wait_line(r"^vio: vsock dial ", timeout=600, start=i + 1)
            samples["guest_warm"] = sample(e.p.pid)
            samples["guest_warm"]["streams"] = gwarm
            if e.line_after(i, r"^vio: (idle done|vsock dial)"):
                failures.append("guest warm-up sample not taken while the guest idled")
            dial_line(line)
            if a.kg > gwarm:
                i, line = e.wait_line(r"^vio: vsock dial ", timeout=max(600, a.kg // 50),
                                      start=i + 1)
                samples["guest_end"] = sample(e.p.pid)
                samples["guest_end"]["streams"] = a.kg
                if e.line_after(i, r"^vio: (idle done|vsock serving)"):
                    failures.append("guest end sample not taken while the guest idled")
                dial_line(line)
            else:
                samples["guest_end"] = dict(samples["guest_warm"])
            wall["guest_s"] = round(time.monotonic() - t0, 2)
        i, _ = e.wait_line(r"^vio: vsock serving port=", timeout=60, start=i + 1)
        if a.k > 0:
            lock = threading.Lock()
            counter = {"next": 0}
            hwarm = max(1, a.k // 10)

            def worker(limit):
                while True:
                    with lock:
                        n = counter["next"]
                        if n >= limit or host["failed"] >= GIVE_UP:
                            return
                        counter["next"] = n + 1
                    why = host_stream(uds, hport, n)
                    with lock:
                        host["streams"] += 1
                        if why is not None:
                            host["failed"] += 1
                            if len(details) < MAX_DETAILS:
                                details.append("host stream %d: %s" % (n, why))

            def run(limit):
                ts = [threading.Thread(target=worker, args=(limit,)) for _ in range(a.par)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()

            t0 = time.monotonic()
            run(hwarm)
            samples["host_warm"] = settle(e.p.pid, samples.get("guest_end", samples["start"])["fds"])
            samples["host_warm"]["streams"] = hwarm
            step = max(1, (a.k - hwarm) // 9)
            while counter["next"] < a.k and host["failed"] < GIVE_UP:
                run(min(a.k, counter["next"] + step))
                log("vsock: %d/%d host streams, %.1f s, %d failed" %
                    (counter["next"], a.k, time.monotonic() - t0, host["failed"]))
            if host["failed"] >= GIVE_UP:
                failures.append("gave up after %d failed host streams" % host["failed"])
            samples["host_end"] = settle(e.p.pid, samples["host_warm"]["fds"])
            samples["host_end"]["streams"] = a.k
            wall["host_s"] = round(time.monotonic() - t0, 2)
    except (RuntimeError, OSError) as ex:
        failures.append("vsock run: %s" % ex)
    finally:
        rc = e.stop()
        echo_seen = echo.accepted
        echo.close()

    failures += details
    if host["failed"] > len(details):
        failures.append("(and more failed host streams: %d in all)" % host["failed"])
    if guest["streams"] != a.kg or guest["failed"]:
        failures.append("guest streams: %d of %d dialled, %d failed" %
                        (guest["streams"], a.kg, guest["failed"]))
    if echo_seen != guest["streams"]:
        failures.append("the echo server saw %d streams, the guest dialled %d" %
                        (echo_seen, guest["streams"]))
    if host["streams"] != a.k:
        failures.append("host streams: %d of %d" % (host["streams"], a.k))
    if rc != SIGTERM_STATUS:
        failures.append("ember exit status %s after SIGTERM, expected %d; stderr: %s" %
                        (rc, SIGTERM_STATUS, e.stderr_tail(5)))
    left = children_left()
    if left:
        failures.append("processes left behind: %s" % left)
    extra = [f for f in listing(work) if f != "vsock.stderr"]
    allowed = []
    if a.allow_vsock_uds and "v.sock (s)" in extra:
        extra.remove("v.sock (s)")
        allowed.append(UDS_NOTE)
    if extra:
        failures.append("files left in the work directory: %s" % extra)
    growth = {}
    if "guest_warm" in samples and "guest_end" in samples:
        growth["guest"] = verdict_steady("vsock guest-initiated", samples["guest_warm"],
                                         samples["guest_end"], rss_bound(a), failures)
    if "host_warm" in samples and "host_end" in samples:
        growth["host"] = verdict_steady("vsock host-initiated", samples["host_warm"],
                                        samples["host_end"], rss_bound(a), failures)
    res = {"part": "vsock", "host_streams": host["streams"], "failed_host_streams": host["failed"],
           "guest_streams": guest["streams"], "failed_guest_streams": guest["failed"],
           "parallel_host_clients": a.par, "wall_s": wall, "samples": samples,
           "rss_growth_kb": growth, "rss_bound_kb": rss_bound(a), "exit_status": rc,
           "stderr_tail": e.stderr_tail(5), "left_files": extra, "allowed_leftovers": allowed,
           "failures": failures, "pass": not failures}
    print(json.dumps(res))
    return 0 if res["pass"] else 1


# ---------------------------------------------------------------- report

def fmt_samples(samples, keys):
    """'a / b / c' rows for fds, threads and RSS over the named samples."""
    got = [samples.get(k) for k in keys]
    def row(field):
        return " / ".join("-" if g is None else str(g[field]) for g in got)
    return ("fds %s, threads %s, RSS %s kB  (%s)" %
            (row("fds"), row("threads"), row("rss_kb"), " / ".join(k.replace("_", " ") for k in keys)))


def cmd_report(a):
    """Merge the parts' JSON in --dir into results.json and summary.txt."""
    parts, lines, ok = {}, [], True
    for name in a.parts:
        path = os.path.join(a.dir, name + ".json")
        try:
            with open(path) as f:
                parts[name] = json.loads(f.read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError) as ex:
            parts[name] = {"part": name, "pass": False, "failures": ["no result: %s" % ex]}
    lines.append("soak %s: %s mode, ember %s" % (a.date, a.mode, a.ember))
    lines.append("host: %s, %d CPUs, /dev/kvm by %s" % (os.uname().release, os.cpu_count(), a.kvm))
    bound = a.rss_bound_kb
    b = parts.get("boots")
    if b is not None:
        lines.append("")
        if "per_kind" in b:
            h, v = b["per_kind"]["hello"], b["per_kind"]["vio"]
            lines.append("boots: %d back to back (%d hello.elf, %d vio.elf with a disk, the rng "
                         "and a vsock echo), %d failed, %.1f s" %
                         (b["boots"], h["boots"], v["boots"], b["failed_boots"], b["wall_s"]))
            for k, x in (("hello", h), ("vio", v)):
                lines.append("  %-5s exec -> exit: median %.1f ms, p99 %.1f ms, max %.1f ms, %d failed" %
                             (k, x["wall_us_median"] / 1e3, x["wall_us_p99"] / 1e3,
                              x["wall_us_max"] / 1e3, x["failures"]))
            left = b["left_processes"] + b["left_files"] + ["%s: %s" % kv for kv in b["left_tmp"].items()]
            lines.append("  left behind: %s (checked: child processes, the work directory%s)" %
                         (", ".join(left) if left else "nothing",
                          ", " + " ".join(b["checked_tmp_dirs"]) + " (private tmpfs)"
                          if b["checked_tmp_dirs"] else ""))
            for n in b.get("allowed_leftovers", []):
                lines.append("  NOTE: allowed: %s" % n)
    api = parts.get("api")
    if api is not None:
        lines.append("")
        if "requests" in api:
            lines.append("api: %d requests on one ember, %d failed, %d aborted connections, "
                         "%d metrics lines, %s s" %
                         (api["requests"], api["failed_requests"], api["aborted_connections"],
                          api["metrics_lines"], api["wall_s"]))
            lines.append("  " + fmt_samples(api["samples"], ["start", "warm", "end"]))
            if api.get("rss_growth_kb") is not None and api.get("rss_bound_kb") is None:
                lines.append("  RSS growth warm-up -> end: %d kB (%s)" % (api["rss_growth_kb"], NOT_JUDGED))
            elif api.get("rss_growth_kb") is not None:
                sm = api["samples"]
                lines.append("  RSS growth warm-up -> end: %d kB (bound %d kB: catches a leak of "
                             "%d bytes or more per request after the warm-up)" %
                             (api["rss_growth_kb"], bound,
                              bound * 1024 // max(1, sm["end"]["requests"] - sm["warm"]["requests"])))
    vs = parts.get("vsock")
    if vs is not None:
        lines.append("")
        if "host_streams" in vs:
            w = vs.get("wall_s", {})
            lines.append("vsock: %d guest-initiated streams, %d failed, %s s; %d host-initiated "
                         "(CONNECT, %d clients at once), %d failed, %s s" %
                         (vs["guest_streams"], vs["failed_guest_streams"], w.get("guest_s"),
                          vs["host_streams"], vs["parallel_host_clients"],
                          vs["failed_host_streams"], w.get("host_s")))
            lines.append("  " + fmt_samples(vs["samples"], ["start", "guest_warm", "guest_end",
                                                           "host_warm", "host_end"]))
            g = vs.get("rss_growth_kb", {})
            sm = vs["samples"]
            n = max(1, min([sm[b + "_end"]["streams"] - sm[b + "_warm"]["streams"]
                            for b in ("guest", "host")
                            if b + "_end" in sm and b + "_warm" in sm] or [1]))
            if vs.get("rss_bound_kb") is None:
                lines.append("  RSS growth warm-up -> end: guest-initiated %s kB, host-initiated "
                             "%s kB (%s)" % (g.get("guest"), g.get("host"), NOT_JUDGED))
            else:
                lines.append("  RSS growth warm-up -> end: guest-initiated %s kB, host-initiated "
                             "%s kB (bound %d kB: catches a leak of %d bytes or more per stream "
                             "after the warm-up)" %
                             (g.get("guest"), g.get("host"), bound, bound * 1024 // n))
            for n in vs.get("allowed_leftovers", []):
                lines.append("  NOTE: allowed: %s" % n)
    lines.append("")
    lines.append("RSS bound (%d kB, warm-up to end): RSS moves without a leak when code or "
                 "stack pages are touched for the first time, and malloc grows its heap in pages "
                 "and gives back only what lies past its 128 kB trim threshold; the warm-up "
                 "(a tenth of each run) takes the one-time growth first, and non-leaking runs "
                 "here grow by 0 to a few pages. A leak of one byte per request or stream grows "
                 "RSS by the run's size in bytes, so the bound catches any leak of the per-item "
                 "size printed above (one leaked struct, buffer or connection is far more)." % bound)
    total_fail = 0
    for name in a.parts:
        p = parts[name]
        for f in p.get("failures", []):
            lines.append("FAIL %s: %s" % (name, f))
            total_fail += 1
        ok = ok and bool(p.get("pass"))
    lines.append("wall time: %s s" % a.wall)
    lines.append("soak: %s" % ("PASS" if ok else "FAIL (%d problem(s))" % max(1, total_fail)))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.dir, "summary.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.dir, "results.json"), "w") as f:
        json.dump({"date": a.date, "mode": a.mode, "wall_s": a.wall, "rss_bound_kb": bound,
                   "pass": ok, "parts": parts}, f, indent=1)
        f.write("\n")
    sys.stdout.write(text)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("boots", "api", "vsock"):
        p = sub.add_parser(name)
        p.add_argument("--ember", required=True)
        p.add_argument("--vio", required=True)
        p.add_argument("--work", required=True)
        p.add_argument("--rss-bound-kb", type=int, default=256)
        p.add_argument("--no-rss-check", action="store_true")
        if name == "boots":
            p.add_argument("--hello", required=True)
            p.add_argument("--n", type=int, required=True)
            p.add_argument("--tmp-dirs", nargs="*", default=[])
        elif name == "api":
            p.add_argument("--m", type=int, required=True)
        else:
            p.add_argument("--k", type=int, required=True)
            p.add_argument("--kg", type=int, required=True)
            p.add_argument("--par", type=int, default=4)
        if name != "api":
            p.add_argument("--allow-vsock-uds", action="store_true")
    p = sub.add_parser("report")
    p.add_argument("--dir", required=True)
    p.add_argument("--parts", nargs="+", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--ember", required=True)
    p.add_argument("--kvm", default="?")
    p.add_argument("--wall", required=True)
    p.add_argument("--rss-bound-kb", type=int, default=256)
    a = ap.parse_args()
    if a.cmd == "report":
        return cmd_report(a)
    a.ember, a.vio, a.work = (os.path.abspath(x) for x in (a.ember, a.vio, a.work))
    if getattr(a, "hello", None):
        a.hello = os.path.abspath(a.hello)
    return {"boots": cmd_boots, "api": cmd_api, "vsock": cmd_vsock}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
