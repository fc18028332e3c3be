#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mkseeds.py: write the seed corpora in tests/fuzz/corpus/<harness>/ and the
dictionaries in tests/fuzz/dict/.

Seeds are real inputs in each harness's input format: a driver bringing a
virtio device up and making the requests the guests of tests/guests/vio.c
make, tiny but valid ELF, PVH and bzImage kernels (the bzImage made by
tests/guests/mkbzimage.c), the config files of README.md and the unit tests,
the request bodies and HTTP requests of tests/integration/test_api.sh, a
UART, i8042, IOAPIC and boot timer driven as a booting Linux does, and
snapshots of such a machine, saved and loaded, some with corrupted states,
the snapshot state file of a small VM.

Files named crash-* are reproducers of bugs the fuzzers found; this script
leaves them alone. Usage: tests/fuzz/mkseeds.py (from anywhere; needs gcc).
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes(data))


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


# ---------------------------------------------------------------- virtio
# Operations of tests/fuzz/fuzz_virtio.c (enum op).
(OP_DRIVER_UP, OP_CHAIN, OP_CHAIN_NOTIFY, OP_INDIRECT, OP_NOTIFY, OP_EVENT, OP_HOST,
 OP_REG_WRITE, OP_REG_READ, OP_CONFIG, OP_DESC, OP_PUBLISH, OP_RING_FIELD, OP_POKE,
 OP_STATUS, OP_STATE) = range(16)


def driver_up(nqueues, size_log2=4):
    """Every offered feature, each queue of 1 << size_log2 entries in the usual layout."""
    out = [OP_DRIVER_UP, 0]
    for _ in range(nqueues):
        out += [1, size_log2]
    return bytes(out)


def blen(n):
    """A buffer length as pick_len reads it."""
    return bytes([1, n]) if n < 256 else bytes([2]) + u16(n)


def chain(q, descs, notify=True, indirect=False):
    """descs: (length, writable, contents) each; contents fill a readable buffer's first bytes."""
    op = OP_INDIRECT if indirect else (OP_CHAIN_NOTIFY if notify else OP_CHAIN)
    wmask = sum(1 << i for i, (_, w, _) in enumerate(descs) if w)
    out = bytes([op, q, len(descs) - 1, wmask, 2 if (notify and indirect) else 0])
    for length, writable, contents in descs:
        out += blen(length)
        if not writable:
            out += bytes(contents[:min(length, 64)]).ljust(min(length, 64), b"\0")
    return out


def notify(q):
    return bytes([OP_NOTIFY, q])


def event():
    return bytes([OP_EVENT])


def host(*b):
    return bytes([OP_HOST]) + bytes(b)


def reset():
    return bytes([OP_STATUS, 0])


def snapshot(how=2):
    """A snapshot (fuzz_virtio.c state()): 0 quiesce and resume, 1 quiesce, 2 save and load."""
    return bytes([OP_STATE, how])


def snapshot_patched(patches):
    """Save, then load with (offset, byte) patches into the state."""
    out = bytes([OP_STATE, 3 | (len(patches) << 2)])
    for off, val in patches:
        out += u16(off) + bytes([val])
    return out


def blk_req(rtype, sector, data_len, data_write, contents=b""):
    hdr = u32(rtype) + u32(0) + u64(sector)
    descs = [(16, False, hdr)]
    if data_len:
        descs.append((data_len, data_write, contents))
    descs.append((1, True, b""))
    return chain(0, descs)


def seeds_blk():
    up = driver_up(1)
    read = blk_req(0, 0, 512, True)
    write_ = blk_req(1, 2, 512, False, b"ember" * 12)
    flush = blk_req(4, 0, 0, False)
    get_id = blk_req(8, 0, 20, True)
    write("virtio_blk", "read", bytes([0]) + up + read)
    write("virtio_blk", "write-read-flush", bytes([0]) + up + write_ + blk_req(0, 2, 1024, True) + flush)
    write("virtio_blk", "get-id", bytes([0]) + up + get_id)
    write("virtio_blk", "read-only-write", bytes([1]) + up + write_ + read)
    write("virtio_blk", "io-uring", bytes([2]) + up + read + write_ + flush + event() + event())
    limit = host(0, 0x05) + u16(4096) + bytes([10]) + bytes([0x05]) + u16(2) + bytes([10])
    write("virtio_blk", "rate-limited", bytes([3]) + up + limit + read + write_ + read + event())
    write("virtio_blk", "new-backing", bytes([0]) + up + read + host(1 | (1 << 2)) + read +
          blk_req(0, 1, 512, True) + host(1 | (2 << 2)))
    write("virtio_blk", "past-the-end", bytes([0]) + up + blk_req(0, 127, 1024, True) +
          blk_req(0, 1 << 40, 512, True) + blk_req(99, 0, 0, False))
    ind = chain(0, [(16, False, u32(0) + u32(0) + u64(0)), (512, True, b""), (1, True, b"")],
                indirect=True)
    write("virtio_blk", "indirect", bytes([0]) + up + ind)
    write("virtio_blk", "reset-and-again", bytes([0]) + up + read + reset() + up + read)
    write("virtio_blk", "snapshot", bytes([0]) + up + write_ + snapshot() + read + flush)
    write("virtio_blk", "snapshot-io-uring", bytes([2]) + up + read + write_ + snapshot() +
          read + event() + snapshot(0) + read + event())
    write("virtio_blk", "snapshot-rate-limited", bytes([3]) + up + limit + read + write_ +
          snapshot() + event() + read + event())
    # One field spoilt per load (struct virtio_mmio_state): the status (offset 8), queue 0's
    # size (48) and last_avail (80), the disk's part (248 on); the driver starts over after each.
    patched = b"".join(up + read + snapshot_patched([p]) for p in [(8, 0x0b), (48, 3), (80, 1),
                                                                  (252, 1)])
    write("virtio_blk", "snapshot-patched", bytes([0]) + patched + up + read)
    write("virtio_blk", "quiesced", bytes([2]) + up + read + snapshot(1) + read + event() +
          snapshot(0) + event())


def net_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_off=0):
    return bytes([flags, gso]) + u16(hdr_len) + u16(gso_size) + u16(csum_start) + u16(csum_off) + u16(0)


def frame(n):
    eth = bytes([0x02, 0, 0, 0, 0, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00])
    return (eth + bytes(range(n)))[:n]


def seeds_net():
    up = driver_up(2)
    rx_bufs = b"".join(chain(0, [(1526, True, b"")], notify=(i == 3)) for i in range(4))
    tx = chain(1, [(12 + 60, False, net_hdr() + frame(60))])
    inject = host(0, 0, 60 - 26) + frame(60)
    write("virtio_net", "tx", up + tx + host(2))
    write("virtio_net", "rx", up + rx_bufs + inject + event())
    small = b"".join(chain(0, [(128, True, b"")], notify=(i == 7)) for i in range(8))
    big = host(0, 1) + u16(1514) + frame(64)
    write("virtio_net", "rx-mergeable", up + small + big + event() + small + event())
    csum = chain(1, [(12, False, net_hdr(1, 0, 0, 0, 34, 16)), (60, False, frame(60))])
    tso = chain(1, [(12 + 64, False, net_hdr(1, 1, 54, 1448, 34, 16) + frame(64))])
    write("virtio_net", "tx-offloads", up + csum + tso + host(2))
    limits = host(0x30) + u16(1000) + bytes([0, 100, 1, 100]) + u16(1000) + bytes([0, 100, 1, 100])
    write("virtio_net", "rate-limited", up + limits + tx + tx + rx_bufs + inject + inject + event())
    write("virtio_net", "no-rx-buffers", up + inject + inject + event() + rx_bufs + event())
    write("virtio_net", "snapshot", up + rx_bufs + inject + event() + tx + snapshot() + inject +
          event() + tx + host(2))
    write("virtio_net", "snapshot-rate-limited", up + limits + tx + tx + rx_bufs + inject + inject +
          snapshot() + event() + tx + event())
    write("virtio_net", "quiesced", up + rx_bufs + snapshot(1) + inject + event() + tx +
          snapshot(0) + event())


VSOCK_REQUEST, VSOCK_RESPONSE, VSOCK_RST, VSOCK_SHUTDOWN, VSOCK_RW, VSOCK_CREDIT_UPDATE, \
    VSOCK_CREDIT_REQUEST = 1, 2, 3, 4, 5, 6, 7


def vhdr(op, src_port, dst_port, length=0, flags=0, src_cid=3, dst_cid=2, vtype=1):
    return (u64(src_cid) + u64(dst_cid) + u32(src_port) + u32(dst_port) + u32(length) +
            u16(vtype) + u16(op) + u32(flags) + u32(65536) + u32(0))


def vpkt(*args, payload=b"", **kw):
    h = vhdr(*args, length=len(payload), **kw)
    if payload:
        return chain(1, [(44, False, h), (len(payload), False, payload)])
    return chain(1, [(44, False, h)])


def seeds_vsock():
    up = driver_up(3)
    rx = b"".join(chain(0, [(4096, True, b"")], notify=(i == 3)) for i in range(4))
    # The guest connects to the host listener on port 1024, sends, reads, closes.
    guest = (up + rx + vpkt(VSOCK_REQUEST, 1234, 1024) + event() + host(6) +
             vpkt(VSOCK_RW, 1234, 1024, payload=b"hello host") + host(8) +
             host(7, 4) + b"hello guest".ljust(64, b"\0") + event() + rx +
             vpkt(VSOCK_CREDIT_REQUEST, 1234, 1024) + vpkt(VSOCK_SHUTDOWN, 1234, 1024, flags=3) +
             event() + vpkt(VSOCK_RST, 1234, 1024))
    write("virtio_vsock", "guest-connect", guest)
    write("virtio_vsock", "guest-connect-refused", up + rx + vpkt(VSOCK_REQUEST, 1234, 4444) + event())
    # A host program connects and asks for guest port 1024; the guest answers.
    hostc = (up + rx + host(0) + host(2, 0) + event() + event() +
             vpkt(VSOCK_RESPONSE, 1024, 1 << 30) + host(3) + host(1, 12) + b"host to gues" +
             event() + rx + vpkt(VSOCK_RW, 1024, 1 << 30, payload=b"guest to host") + host(3) +
             host(5) + event())
    write("virtio_vsock", "host-connect", hostc)
    bad = (up + rx + chain(1, [(20, False, b"short")]) + vpkt(VSOCK_RW, 1, 2, src_cid=9) +
           vpkt(VSOCK_RW, 1, 2, dst_cid=7) + vpkt(VSOCK_RW, 1, 2, vtype=2) + vpkt(99, 1, 2) +
           vpkt(VSOCK_RW, 5, 6, payload=b"x") + event())
    write("virtio_vsock", "bad-packets", bad)
    # an event buffer posted: TRANSPORT_RESET lands there after the load
    evbuf = chain(2, [(4, True, b"")])
    write("virtio_vsock", "snapshot",
          up + rx + evbuf + vpkt(VSOCK_REQUEST, 1234, 1024) + event() + host(6) +
          vpkt(VSOCK_RW, 1234, 1024, payload=b"before") + snapshot() + event() +
          vpkt(VSOCK_RW, 1234, 1024, payload=b"after") + vpkt(VSOCK_REQUEST, 1235, 1024) +
          event() + evbuf)
    write("virtio_vsock", "quiesced",
          up + rx + vpkt(VSOCK_REQUEST, 1234, 1024) + event() + host(6) + snapshot(1) +
          host(7, 4) + b"while quiesced".ljust(64, b"\0") + event() + snapshot(0) + event())
    write("virtio_vsock", "reset-with-connections",
          up + rx + vpkt(VSOCK_REQUEST, 1234, 1024) + event() + host(6) + host(0) + host(2, 1) +
          event() + event() + reset() + up + rx + event())


def seeds_rng():
    up = driver_up(1)
    req = chain(0, [(64, True, b"")]) + chain(0, [(16, True, b""), (4096, True, b"")])
    write("virtio_rng", "plain", bytes([0]) + up + req)
    limit = host(0) + u32(128) + u16(0) + bytes([100]) + bytes([1, 0, 100])
    write("virtio_rng", "rate-limited", bytes([1]) + up + limit + req + req + event())
    write("virtio_rng", "snapshot", bytes([1]) + up + limit + req + req + snapshot() + event() +
          req)
    # driver_features_sel (offset 16), then queue 0's used ring address (72), misaligned
    write("virtio_rng", "snapshot-patched", bytes([0]) + up + req + snapshot_patched([(16, 1)]) +
          req + snapshot_patched([(72, 0x11)]) + up + req)
    write("virtio_rng", "indirect", bytes([0]) + up + chain(0, [(32, True, b""), (32, True, b"")],
                                                            indirect=True))


# ---------------------------------------------------------------- loader
PT_LOAD, PT_NOTE = 1, 4


def elf(segments, entry, notes=b""):
    """A minimal ELF64 x86_64 ET_EXEC: segments are (paddr, bytes, memsz)."""
    phnum = len(segments) + (1 if notes else 0)
    off = 64 + 56 * phnum
    body, phdrs = b"", b""
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, 5, off + len(body), paddr, paddr, len(data),
                             memsz, 0x1000)
        body += data
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", PT_NOTE, 4, off + len(body), 0, 0, len(notes),
                             len(notes), 4)
        body += notes
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    return ehdr + phdrs + body


def pvh_note(entry):
    return u32(4) + u32(4) + u32(18) + b"Xen\0" + u32(entry)


def loader_opts(flags=0, vcpus=1, initrd_units=0, cmdline_len=0, seed=0):
    return bytes([flags, vcpus]) + u16(initrd_units) + u16(cmdline_len) + u16(seed)


def seeds_loader():
    code = bytes([0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd])  # mov al,0; out 0xf4,al; hlt
    vmlinux = elf([(0x200000, code, 0x1000)], 0x200000)
    pvh = elf([(0x200000, code, 0x2000)], 0x200000, pvh_note(0x200000))
    write("loader", "elf", loader_opts() + vmlinux)
    write("loader", "elf-initrd-cmdline", loader_opts(0x34, 2, 0x100, 300, 7) + vmlinux)
    write("loader", "elf-two-segments",
          loader_opts(0x08) + elf([(0x100000, code, 0x100), (0x300000, code * 4, 0x10000)], 0x100000))
    write("loader", "pvh", loader_opts() + pvh)
    write("loader", "pvh-forced-linux64", loader_opts(1) + pvh)
    write("loader", "pvh-initrd", loader_opts(0x12 | 0x80, 4, 8) + pvh)
    write("loader", "elf-forced-pvh", loader_opts(2) + vmlinux)
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "mkbzimage")
        subprocess.run(["gcc", "-O1", "-o", tool, os.path.join(ROOT, "tests/guests/mkbzimage.c")],
                       check=True)
        guest = os.path.join(tmp, "guest.elf")
        with open(guest, "wb") as f:
            f.write(elf([(0x100000, bytes(0x200) + code, 0x4000)], 0x100200))
        for extra, name in (([], "bzimage"), (["--no64"], "bzimage-no64")):
            out = os.path.join(tmp, name)
            subprocess.run([tool] + extra + [guest, out], check=True)
            with open(out, "rb") as f:
                img = f.read()
            write("loader", name, loader_opts() + img)
            if not extra:
                write("loader", "bzimage-initrd-cmdline", loader_opts(0x30, 1, 0x1000, 2000, 3) + img)


# ---------------------------------------------------------------- config file and API bodies
README_CONFIG = b"""{
  "boot-source": {
    "kernel_image_path": "/dev/null",
    "boot_args": "console=ttyS0 -- blk-info rng=16 exit=0"
  },
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 128},
  "drives": [
    {"drive_id": "scratch", "path_on_host": "/dev/null",
     "is_root_device": false, "is_read_only": false}
  ],
  "entropy": {}
}
"""

FULL_CONFIG = b"""{
  "boot-source": {"kernel_image_path": "/dev/null", "initrd_path": "/dev/null",
                  "boot_args": "console=ttyS0 reboot=k panic=1"},
  "drives": [
    {"drive_id": "rootfs", "path_on_host": "/dev/null", "is_root_device": true,
     "partuuid": "0eaa91a0-01", "is_read_only": true, "cache_type": "Writeback",
     "io_engine": "Sync",
     "rate_limiter": {"bandwidth": {"size": 1048576, "one_time_burst": 0, "refill_time": 100},
                      "ops": {"size": 100, "refill_time": 1000}}},
    {"drive_id": "data", "path_on_host": "/dev/null", "is_root_device": false}
  ],
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 256, "smt": false,
                     "track_dirty_pages": false},
  "network-interfaces": [
    {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "AA:FC:00:00:00:01",
     "rx_rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 10}},
     "tx_rate_limiter": {"ops": {"size": 10, "refill_time": 10}}}
  ],
  "vsock": {"guest_cid": 3, "uds_path": "/tmp/v.sock", "vsock_id": "vsock0"},
  "entropy": {"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}},
  "logger": {"log_path": "/dev/null", "level": "Info", "show_level": true,
             "show_log_origin": false},
  "metrics": {"metrics_path": "/dev/null"}
}
"""


CPU_CONFIG = b'''{"machine-config": {"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "None"},
  "cpu-config": {"cpuid_modifiers": [{"leaf": "0x7", "subleaf": "0b0", "flags": 1,
      "modifiers": [{"register": "ebx", "bitmap": "0bxxxx_xxxx_xxx0_xxxx_xxxx_xx1x_xxxx_xxxx"}]}],
    "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b1100"}],
    "kvm_capabilities": ["171", "!172"]}}
'''


def seeds_config_file():
    write("config_file", "readme", README_CONFIG)
    write("config_file", "full", FULL_CONFIG)
    write("config_file", "nulls", b'{"boot-source": {"kernel_image_path": "/dev/null"}, '
          b'"logger": null, "metrics": null, "vsock": null, "balloon": null, '
          b'"network-interfaces": []}')
    write("config_file", "unknown-field", b'{\n\n  "machine_config": {}\n}')
    write("config_file", "out-of-range", b'{"machine-config": {"vcpu_count": 1,\n"mem_size_mib": 0}}')
    write("config_file", "truncated", b'{\n  "machine-config": {"vcpu_count": 1,\n')
    write("config_file", "second-drive-missing", b'{"drives": [\n  {"drive_id": "a", "path_on_host": '
          b'"/dev/null", "is_root_device": false},\n  {"drive_id": "b",\n   "path_on_host": '
          b'"/nonexistent", "is_root_device": false}\n]}')
    write("config_file", "cpu-config", CPU_CONFIG)


# enum config_resource order, then the extra targets of fuzz_api_body.c.
(RES_MACHINE, RES_MACHINE_PATCH, RES_BOOT, RES_DRIVE, RES_NET, RES_VSOCK, RES_ENTROPY, RES_LOGGER,
 RES_METRICS, T_ACTION, T_VM, T_DRIVE_PATCH, T_NET_PATCH, T_ROUTE) = range(14)


def body(target, body_text, ident=b"", aux=0):
    return bytes([target, aux, len(ident)]) + ident + body_text


def route(state, method, path_index, ident, text, populate=True):
    aux = state | (method << 2) | (path_index << 4)
    return body(T_ROUTE | (0x40 if populate else 0), text, ident, aux)


def seeds_api_body():
    w = lambda name, data: write("api_body", name, data)
    w("machine", body(RES_MACHINE, b'{"vcpu_count": 2, "mem_size_mib": 256, "smt": false}'))
    w("machine-bad", body(RES_MACHINE, b'{"vcpu_count": "2", "mem_size_mib": 256}'))
    w("machine-patch", body(RES_MACHINE_PATCH, b'{"mem_size_mib": 64}'))
    w("boot-source", body(RES_BOOT, b'{"kernel_image_path": "/dev/null", '
                                    b'"boot_args": "console=ttyS0 -- from the API"}'))
    w("drive", body(RES_DRIVE, b'{"drive_id": "rootfs", "path_on_host": "/dev/null", '
                               b'"is_root_device": true, "is_read_only": true}', b"rootfs"))
    w("drive-limited", body(RES_DRIVE | 0x40, b'{"drive_id": "data", "path_on_host": "/dev/null", '
                            b'"is_root_device": false, "rate_limiter": {"bandwidth": '
                            b'{"size": 1048576, "refill_time": 100}}}', b"data"))
    w("net", body(RES_NET, b'{"iface_id": "eth0", "host_dev_name": "tap0", '
                           b'"guest_mac": "AA:FC:00:00:00:01"}', b"eth0"))
    w("vsock", body(RES_VSOCK, b'{"guest_cid": 3, "uds_path": "/tmp/v.sock"}'))
    w("entropy", body(RES_ENTROPY, b'{}'))
    w("logger", body(RES_LOGGER, b'{"log_path": "/dev/null", "level": "Debug", "show_level": true}'))
    w("metrics", body(RES_METRICS, b'{"metrics_path": "/dev/null"}'))
    w("action", body(T_ACTION, b'{"action_type": "InstanceStart"}'))
    w("vm-state", body(T_VM, b'{"state": "Paused"}'))
    w("drive-patch", body(T_DRIVE_PATCH | 0x40, b'{"drive_id": "rootfs", "path_on_host": "/dev/null", '
                          b'"rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100}}}',
                          b"rootfs"))
    w("net-patch", body(T_NET_PATCH | 0x40, b'{"iface_id": "eth0", "rx_rate_limiter": '
                        b'{"ops": {"size": 10, "refill_time": 10}}}', b"eth0"))
    w("route-start", route(0, 1, 11, b"", b'{"action_type": "InstanceStart"}'))
    w("route-flush", route(1, 1, 11, b"", b'{"action_type": "FlushMetrics"}'))
    w("route-patch-drive", route(1, 2, 5, b"rootfs", b'{"drive_id": "rootfs", '
                                 b'"path_on_host": "/dev/null"}'))
    w("route-pause", route(1, 2, 12, b"", b'{"state": "Paused"}'))
    w("route-get-config", route(0, 0, 2, b"", b""))
    w("route-balloon", route(0, 1, 13, b"", b'{"amount_mib": 64, "deflate_on_oom": true}'))


# ---------------------------------------------------------------- HTTP
def curl(method, path, text=None):
    head = b"%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n" % (
        method, path)
    if text is None:
        return head + b"\r\n"
    return head + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(text) + text


def http_send(k, data):
    """Operation 1 carries at most 255 bytes: split."""
    out = b""
    for i in range(0, len(data), 255):
        piece = data[i:i + 255]
        out += bytes([1 | (k << 4), len(piece)]) + piece
    return out


def http_session(setup, requests, k=0):
    out = bytes([setup, 0])  # setup, then connect
    for r in requests:
        out += http_send(k, r) + bytes([3 | (k << 4)])  # send, run, read the answer
    return out


def seeds_http():
    w = lambda name, data: write("http", name, data)
    w("get-keep-alive", http_session(0, [curl(b"GET", b"/"), curl(b"GET", b"/version"),
                                         curl(b"GET", b"/machine-config")]))
    w("configure-and-start", http_session(0, [
        curl(b"PUT", b"/machine-config", b'{"vcpu_count": 1, "mem_size_mib": 64}'),
        curl(b"PUT", b"/boot-source", b'{"kernel_image_path": "/dev/null", '
             b'"boot_args": "console=ttyS0 -- from the API"}'),
        curl(b"PUT", b"/drives/rootfs", b'{"drive_id": "rootfs", "path_on_host": "/dev/null", '
             b'"is_root_device": true, "is_read_only": true}'),
        curl(b"PUT", b"/actions", b'{"action_type": "InstanceStart"}'),
        curl(b"PATCH", b"/vm", b'{"state": "Paused"}'),
        curl(b"GET", b"/vm/config")]))
    w("errors", http_session(0, [curl(b"PUT", b"/machine-config", b'{"vcpu_count": 1'),
                                 curl(b"PUT", b"/balloon", b'{"amount_mib": 64}'),
                                 curl(b"DELETE", b"/machine-config"),
                                 curl(b"GET", b"/nope")]))
    w("running", http_session(5, [curl(b"PUT", b"/actions", b'{"action_type": "FlushMetrics"}'),
                                  curl(b"PATCH", b"/drives/rootfs", b'{"drive_id": "rootfs", '
                                       b'"rate_limiter": {"bandwidth": {"size": 1048576, '
                                       b'"refill_time": 100}}}'),
                                  curl(b"PUT", b"/actions", b'{"action_type": "SendCtrlAltDel"}')]))
    pipelined = curl(b"GET", b"/a") + curl(b"PATCH", b"/b", b"{}") + curl(b"GET", b"/")
    w("pipelined", http_session(0, [pipelined]))
    split = curl(b"PUT", b"/machine-config", b'{"vcpu_count": 2, "mem_size_mib": 128}')
    w("split", bytes([0, 0]) + b"".join(bytes([1, 7]) + split[i:i + 7] + bytes([2])
                                        for i in range(0, len(split), 7)) + bytes([3]))
    # Every other client through the listening socket (op 0xf0), the rest through a socketpair.
    many = bytes([0]) + bytes([0xf0 * (k & 1) for k in range(10)]) + b"".join(bytes([6 | (k << 4), k]) for k in range(10)) + \
        bytes([2]) + b"".join(bytes([3 | (k << 4)]) for k in range(10))
    w("many-clients", many)
    w("oversized", http_session(0, [b"PUT /machine-config HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"]) +
      bytes([7, 200, 3]))
    w("malformed", http_session(0, [b"GARBAGE / HTTP/1.1\r\n\r\n", b"GET /\x01 HTTP/1.1\r\n\r\n"]))
    w("expect-continue-close", http_session(0, [
        b"PUT /drives/x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"]))
    w("chunked", http_session(0, [b"PUT /boot-source HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  b"10\r\n{\"kernel_image_p\r\n17\r\nath\": \"/dev/null\"}     \r\n"
                                  b"0\r\n\r\n"]))


# ---------------------------------------------------------------- devices
# tests/fuzz/fuzz_devices.c: an operation is its byte modulo DEV_OPS; the byte
# divided by DEV_OPS is operation 0's size code and operation 1's length.
DEV_OPS = 12
(D_PIO, D_MMIO, D_CONSOLE, D_CAD, D_IRQ_LEVEL, D_EOI, D_PULSE, D_FLUSH, D_PIC_ACK,
 D_SCHEDULE, D_SNAPSHOT, D_HOSTILE) = range(DEV_OPS)
IRQ_HIGH = D_IRQ_LEVEL + DEV_OPS * 11  # operation 4 with bit 7 set: the line goes high
# The harness's device order for operation 11.
(DEV_IOAPIC, DEV_PIC, DEV_PIT, DEV_PIT_TIMER, DEV_SERIAL, DEV_I8042, DEV_RTC,
 DEV_BOOT_TIMER) = range(8)


def pio(port_index, value=None, size_code=0):
    op = D_PIO + DEV_OPS * size_code
    if value is None:
        return bytes([op, port_index, 0])
    return bytes([op, port_index, 1, value])


def mmio(choice, length, value=None):
    op = D_MMIO + DEV_OPS * length
    if value is None:
        return bytes([op, choice, 0])
    return bytes([op, choice, 1]) + value.to_bytes(length, "little")


def time_passes(amount, shift=0):
    """Operation 7: flush the UART, then the clocks move on by amount << shift ns."""
    return bytes([D_FLUSH + DEV_OPS * shift]) + u16(amount)


def hostile(device, patches):
    """Operation 11: (offset, byte) patches over the device's saved state."""
    out = bytes([D_HOSTILE, device, 2 * len(patches)])
    for off, val in patches:
        out += bytes([off, val])
    return out


def hostile_whole(device, data):
    """Operation 11: the device's state bytes all from the input."""
    return bytes([D_HOSTILE, device, 1]) + bytes(data)


COM1, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(8)
KBD_DATA, KBD_CMD, EXIT_PORT, BOOT_PORT = 8, 9, 12, 11
PIC_M, PIC_M1, PIC_S, PIC_S1, ELCR_M, ELCR_S = range(13, 19)
PIT0, PIT1, PIT2, PIT_CTL, PORT_B, RTC_IDX, RTC_DATA = range(19, 26)
IOREGSEL, IOWIN, IOEOI = 0x00, 0x04, 0x08  # pick_mmio choices of the IOAPIC registers


def seeds_devices():
    w = lambda name, data: write("devices", name, data)
    uart_setup = (pio(LCR, 0x80) + pio(COM1, 0x01) + pio(IER, 0x00) + pio(LCR, 0x03) +
                  pio(IIR, 0xc7) + pio(MCR, 0x0b) + pio(IER, 0x0f) + pio(LSR) + pio(IIR) + pio(MSR) +
                  pio(SCR, 0x55) + pio(SCR))
    hello = b"".join(pio(COM1, c) for c in b"hello, world\n")
    w("uart-output", bytes([0]) + uart_setup + hello + bytes([D_FLUSH, 0, 0]))
    console = (bytes([D_CONSOLE, 6]) + b"ls -l\n" + pio(IIR) + pio(LSR) +
               b"".join(pio(COM1) for _ in range(7)))
    w("uart-input", bytes([0]) + uart_setup + console + bytes([D_CONSOLE, 70]) + bytes(range(70)))

    def rte(pin, low, high):
        return (mmio(IOREGSEL, 4, 0x10 + 2 * pin) + mmio(IOWIN, 4, low) +
                mmio(IOREGSEL, 4, 0x11 + 2 * pin) + mmio(IOWIN, 4, high))
    ioapic = (mmio(IOREGSEL, 4, 0) + mmio(IOWIN, 4) + mmio(IOREGSEL, 4, 1) + mmio(IOWIN, 4) +
              rte(4, 0x30, 0) + rte(1, 0x31, 1 << 24) + rte(9, 0x39 | (1 << 15), 0) +
              bytes([IRQ_HIGH, 9, D_IRQ_LEVEL, 9, D_EOI, 0x39, IRQ_HIGH, 9, D_EOI, 0x39]) +
              bytes([D_PULSE, 4]))
    w("ioapic", bytes([1]) + ioapic + uart_setup + pio(COM1, 0x41))
    kbd = (pio(KBD_CMD, 0xaa) + pio(KBD_DATA) + pio(KBD_CMD, 0x20) + pio(KBD_DATA) +
           pio(KBD_CMD, 0x60) + pio(KBD_DATA, 0x47) + bytes([D_CAD]) + pio(KBD_CMD) +
           b"".join(pio(KBD_DATA) for _ in range(4)) + pio(KBD_CMD, 0xd0) + pio(KBD_DATA) +
           pio(KBD_CMD, 0xfe))
    w("i8042", bytes([0]) + rte(1, 0x31, 0) + kbd)
    boot = mmio(0x06, 1, 123) + mmio(0x06, 1, 123) + pio(BOOT_PORT, 123) + pio(EXIT_PORT, 7)
    w("boot-timer-exit", bytes([3]) + boot)

    # A machine as Linux leaves it after boot, for the snapshot operations: the
    # 8259 pair initialised (level IRQ 10), the PIT's channel 0 at 100 Hz and
    # channel 2 one-shot behind its gate, the CMOS clock set, Ctrl+Alt+Del
    # queued, input waiting in the UART, the boot timer fired.
    pic = (pio(ELCR_S, 0x04) + pio(PIC_M, 0x11) + pio(PIC_M1, 0x30) + pio(PIC_M1, 0x04) +
           pio(PIC_M1, 0x01) + pio(PIC_S, 0x11) + pio(PIC_S1, 0x38) + pio(PIC_S1, 0x02) +
           pio(PIC_S1, 0x01) + pio(PIC_M1, 0x10) + bytes([D_PULSE, 3, D_PIC_ACK, D_PULSE, 9]) +
           pio(PIC_M, 0x0b))
    pit = (pio(PIT_CTL, 0x34) + pio(PIT0, 0x9c) + pio(PIT0, 0x2e) + pio(PORT_B, 0x01) +
           pio(PIT_CTL, 0xb0) + pio(PIT2, 0x00) + pio(PIT2, 0x40) + time_passes(5000, 4) +
           pio(PORT_B, 0x00) + pio(PIT_CTL, 0x40) + pio(PIT1) + bytes([D_SCHEDULE]))
    rtc = (pio(RTC_IDX, 0x0b) + pio(RTC_DATA, 0x82) + pio(RTC_IDX, 0x09) + pio(RTC_DATA, 0x30) +
           pio(RTC_IDX, 0x0b) + pio(RTC_DATA, 0x02) + pio(RTC_IDX, 0x40) + pio(RTC_DATA, 0x5a))
    machine = (ioapic + pic + pit + rtc + kbd[:-4] + bytes([D_CAD]) + uart_setup +
               bytes([D_CONSOLE, 5]) + b"abcde" + mmio(0x06, 1, 123))
    after = (pio(COM1) + pio(IIR) + pio(KBD_DATA) + pio(PIC_M) + bytes([D_PIC_ACK]) +
             pio(PIT_CTL, 0x00) + pio(PIT0) + pio(PIT0) + pio(PORT_B) + pio(RTC_IDX, 0x09) +
             pio(RTC_DATA) + mmio(IOREGSEL, 4, 0x22) + mmio(IOWIN, 4) + bytes([D_SCHEDULE]) +
             time_passes(30000, 8) + pio(PORT_B) + bytes([D_SCHEDULE]))
    w("snapshot", bytes([3]) + machine + bytes([D_SNAPSHOT]) + after + bytes([D_SNAPSHOT]) + after)
    # One device's saved state changed a little (or all new) each, then the machine runs on.
    w("hostile-pic", bytes([1]) + machine + hostile(DEV_PIC, [(0, 0x10), (26, 0xff)]) + after)
    w("hostile-pit", bytes([1]) + machine + hostile(DEV_PIT, [(8, 0x44), (18, 3), (120, 0x03)]) +
      after)
    w("hostile-serial", bytes([1]) + machine + hostile(DEV_SERIAL, [(64, 70)]) + after)
    w("hostile-ioapic", bytes([1]) + machine +
      hostile(DEV_IOAPIC, [(33, 0x10), (200, 0xff)]) + after)
    w("hostile-rtc", bytes([1]) + machine + hostile_whole(DEV_RTC, bytes(16) + bytes(range(128))) +
      after)
    w("hostile-timers", bytes([3]) + machine + hostile(DEV_PIT_TIMER, [(0, 1)]) +
      hostile(DEV_BOOT_TIMER, [(8, 0)]) + hostile(DEV_I8042, [(17, 0xd1)]) + after)


# ---------------------------------------------------------------- snapshot state files
# The format of monitor/snapshot/snap_file.h, written here independently of it.
(SNAP_INFO, SNAP_CONFIG, SNAP_VCPU, SNAP_VM_CLOCK, SNAP_IOAPIC, SNAP_PIC, SNAP_PIT, SNAP_RTC,
 SNAP_SERIAL, SNAP_I8042, SNAP_BOOT_TIMER, SNAP_VIRTIO, SNAP_MEMORY) = range(1, 14)
SNAP_MODE_RAW, SNAP_MODE_RESEAL = 0, 1


def snap_file(sections):
    """sections: (tag, index, payload) each, in file order."""
    body = b""
    for tag, index, payload in sections:
        body += u32(tag) + u32(index) + u64(len(payload)) + payload
        body += bytes(-len(payload) % 8)
    head = b"EMBERSNP" + u32(1) + u32(1) + u32(len(sections)) + u32(0) + u64(len(body))
    head += u32(zlib.crc32(body))
    return head + u32(zlib.crc32(head)) + body


def seeds_snapshot():
    """Small state files: what a 2-vCPU VM with a disk and a vsock might save, and edge cases."""
    def w(name, mode, data):
        write("snapshot", name, bytes([mode]) + data)

    # In the order a saver might go (memory and clock first, vCPUs last), not sorted.
    vm = [(SNAP_INFO, 0, b"ember 0.1"), (SNAP_CONFIG, 0, b'{"vcpu_count":2,"mem_size_mib":128}'),
          (SNAP_MEMORY, 0, u64(0) + u64(128 << 20)), (SNAP_VM_CLOCK, 0, u64(123456789)),
          (SNAP_IOAPIC, 0, bytes(24)), (SNAP_PIC, 0, bytes(6)), (SNAP_PIT, 0, bytes(12)),
          (SNAP_RTC, 0, bytes(3)), (SNAP_SERIAL, 0, b"\x03\x00\x01"), (SNAP_I8042, 0, b"\x47"),
          (SNAP_BOOT_TIMER, 0, b""), (SNAP_VIRTIO, 3, bytes(9)), (SNAP_VIRTIO, 0, bytes(17)),
          (SNAP_VCPU, 1, bytes(range(1, 41))), (SNAP_VCPU, 0, bytes(range(40)))]
    w("vm", SNAP_MODE_RAW, snap_file(vm))
    w("vm-resealed", SNAP_MODE_RESEAL, snap_file(vm))
    w("sorted", SNAP_MODE_RAW, snap_file(sorted(vm, key=lambda s: (s[0], s[1]))))
    w("empty", SNAP_MODE_RAW, snap_file([]))
    w("one-vcpu", SNAP_MODE_RESEAL, snap_file([(SNAP_VCPU, 0, b"regs")]))
    w("duplicate", SNAP_MODE_RESEAL, snap_file([(SNAP_PIT, 0, b"a"), (SNAP_PIT, 0, b"b")]))
    w("version-2", SNAP_MODE_RAW, b"EMBERSNP" + u32(2) + bytes(28))


# ---------------------------------------------------------------- dictionaries
def dict_entry(word):
    out = ""
    for c in word:
        if c in '"\\' or not 32 <= ord(c) < 127:
            out += "\\x%02x" % ord(c)
        else:
            out += c
    return '"%s"\n' % out


def words_of(path, pattern):
    import re
    with open(os.path.join(ROOT, path)) as f:
        return sorted(set(re.findall(pattern, f.read())))


def dictionaries():
    """JSON keys and values ember knows (from its sources), and HTTP words, for -dict=."""
    d = os.path.join(ROOT, "tests", "fuzz", "dict")
    os.makedirs(d, exist_ok=True)
    json_words = ['{', '}', '[', ']', ':', ',', '"', 'true', 'false', 'null', '-1', '0',
                  '4294967296', '18446744073709551616', '1e400', '"/dev/null"', '\\u0000']
    json_words += ['"%s"' % w for w in words_of("monitor/control/config_json.c", r'"([A-Za-z][A-Za-z0-9_-]*)"')]
    json_words += ['"%s"' % w for w in ("Error", "Warning", "Info", "Debug", "Trace", "Off")]
    http_words = ["GET ", "PUT ", "PATCH ", "DELETE ", "POST ", " HTTP/1.1\r\n", " HTTP/1.0\r\n",
                  "\r\n", "\r\n\r\n", "Host: localhost\r\n", "Content-Length: ",
                  "Content-Type: application/json\r\n", "Transfer-Encoding: chunked\r\n",
                  "Expect: 100-continue\r\n", "Connection: close\r\n",
                  "Connection: keep-alive\r\n", "Upgrade: h2c\r\n", "0\r\n\r\n", "?x=1", "#f"]
    http_words += words_of("monitor/control/api_routes.c", r'"(/[a-z/-]*)"')
    for name, words in (("json.dict", json_words), ("http.dict", http_words + json_words)):
        with open(os.path.join(d, name), "w") as f:
            f.write("# Generated by tests/fuzz/mkseeds.py: words for libFuzzer's -dict=.\n")
            for w in dict.fromkeys(words):
                f.write(dict_entry(w))


def main():
    for fn in (seeds_blk, seeds_net, seeds_vsock, seeds_rng, seeds_loader, seeds_config_file,
               seeds_api_body, seeds_http, seeds_devices, seeds_snapshot, dictionaries):
        fn()
    return 0


if __name__ == "__main__":
    sys.exit(main())
