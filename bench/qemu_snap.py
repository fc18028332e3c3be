#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""qemu_snap.py: QEMU's own save and restore of the snapshot bench's warm guest.

    qemu_snap.py save STATE TXT -- QEMU ARGV...
    qemu_snap.py restore ROUNDS CSV STATE -- QEMU ARGV...

save boots QEMU (ARGV: the warm guest with "beat", which prints "ready"
every millisecond once initialised), and when the guest prints "warm" migrates its state to the file STATE through QMP ("exec:cat > STATE",
QEMU's way to save a VM to a file), then quits it. TXT gets save_us (stop to
migration completed) and state_bytes.

restore starts `ARGV -incoming "exec:cat STATE"` ROUNDS times and times
each from just before the exec to the restored guest's first "ready" (its
next beat, within a millisecond of running again); CSV gets name, round,
ready_us. The warm guest has no generation page to wait on under QEMU,
hence the beat rather than ember's "wait".
"""
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

BOOT_TIMEOUT_S = 180
SAVE_TIMEOUT_S = 120
POLL_S = 0.005


def qmp(sock, f, cmd, **args):
    msg = {"execute": cmd}
    if args:
        msg["arguments"] = args
    sock.sendall((json.dumps(msg) + "\n").encode())
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("QMP closed during %s" % cmd)
        reply = json.loads(line)
        if "return" in reply:
            return reply["return"]
        if "error" in reply:
            raise RuntimeError("QMP %s: %s" % (cmd, reply["error"]))
        # anything else is an event: read on


def wait_for(proc, marker, timeout_s):
    """read proc's stdout until marker; False on timeout or exit"""
    out = b""
    deadline = time.monotonic() + timeout_s
    while marker not in out.replace(b"\r", b""):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            return False
        r, _, _ = select.select([proc.stdout], [], [], left)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return False
            out += chunk
    return True


def restore(rounds, csv, state, argv):
    failures = 0
    with open(csv, "a") as out:
        if out.tell() == 0:
            out.write("name,round,ready_us\n")
        for i in range(rounds):
            t0 = time.monotonic()
            proc = subprocess.Popen(argv + ["-incoming", "exec:cat %s" % state],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
            ok = wait_for(proc, b"ready\n", SAVE_TIMEOUT_S)
            t = time.monotonic()
            proc.kill()
            proc.wait()
            if not ok:
                failures += 1
            out.write("qemu-restore,%d,%d\n" % (i, int((t - t0) * 1e6) if ok else -1))
    return 1 if failures else 0


def main():
    if len(sys.argv) >= 7 and sys.argv[1] == "restore" and sys.argv[5] == "--":
        sys.exit(restore(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[6:]))
    if len(sys.argv) < 6 or sys.argv[1] != "save" or sys.argv[4] != "--":
        sys.exit(__doc__)
    state, txt, argv = sys.argv[2], sys.argv[3], sys.argv[5:]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "qmp.sock")
        proc = subprocess.Popen(argv + ["-qmp", "unix:%s,server=on,wait=off" % path],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        try:
            if not wait_for(proc, b"warm\n", BOOT_TIMEOUT_S):
                raise RuntimeError("the guest never printed warm")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            f = sock.makefile("r")
            f.readline()  # the greeting
            qmp(sock, f, "qmp_capabilities")
            # Migrated running: QEMU stops it at the end, and a restore of a
            # VM saved stopped would wait stopped for a "cont".
            t0 = time.monotonic()
            qmp(sock, f, "migrate", uri="exec:cat > %s" % state)
            deadline = t0 + SAVE_TIMEOUT_S
            while True:
                status = qmp(sock, f, "query-migrate").get("status")
                if status == "completed":
                    break
                if status in ("failed", "cancelled") or time.monotonic() > deadline:
                    raise RuntimeError("migration to %s: %s" % (state, status))
                time.sleep(POLL_S)
            save_us = int((time.monotonic() - t0) * 1e6)
            qmp(sock, f, "quit")
        finally:
            if proc.poll() is None:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    with open(txt, "w") as out:
        out.write("save_us=%d\nstate_bytes=%d\n" % (save_us, os.path.getsize(state)))


if __name__ == "__main__":
    main()
