#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""report.py DIR: turn the raw CSV of one `make bench` run into DIR/report.md
and DIR/*.png. Medians with [min, max]; ratios to QEMU microvm and to the
floor are taken pair by pair (same round, runs interleaved), then the median."""
import csv
import math
import os
import statistics
import sys

D = sys.argv[1]


def rows(name):
    path = os.path.join(D, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if x < 0 else x


def col(rs, key, name=None, ok_only=True):
    return [num(r[key]) for r in rs if (name is None or r["name"] == name)
            and (not ok_only or r.get("ok", "1") == "1") and num(r[key]) is not None]


def med(v):
    return statistics.median(v) if v else None


def fmt(v, unit="ms", scale=1000.0, nd=2):
    if v is None:
        return "n/a"
    return ("%." + str(nd) + "f %s") % (v / scale, unit) if unit else ("%." + str(nd) + "f") % (v / scale)


def mmm(v, unit="ms", scale=1000.0, nd=2):
    if not v:
        return "n/a"
    return "%s [%s, %s]" % (fmt(med(v), unit, scale, nd), fmt(min(v), "", scale, nd),
                            fmt(max(v), "", scale, nd))


def pair_ratio(rs, a, b, key):
    """median over rounds of a[key] / b[key] (same round)"""
    by = {}
    for r in rs:
        if r.get("ok", "1") == "1" and num(r[key]):
            by.setdefault(r["round"], {})[r["name"]] = num(r[key])
    v = [x[a] / x[b] for x in by.values() if a in x and b in x and x[b]]
    return med(v), len(v)


def rfmt(r):
    return "n/a" if r is None or r[0] is None else "%.2fx" % r[0]


machine = {}
for line in open(os.path.join(D, "machine.txt")):
    k, _, v = line.rstrip("\n").partition("=")
    machine[k] = v
startup = rows("startup.csv")
boot = rows("boot.csv")
b2b = rows("b2b.csv")
foot = rows("footprint.csv")
dens = rows("density.csv")
dvms = rows("density-vms.csv")
linux = rows("linux.csv")
io = rows("io.csv")
snap = rows("snapshot.csv") + rows("snapshot-cold.csv")
clones = rows("clones.csv")
io_costs = rows("io-costs.csv")
cores = int(machine.get("cores", "1"))
out = []
P = out.append

# ------------------------------------------------------------ numbers
ember_run = col(startup, "exec_to_run_us", "ember")
probe = [r for r in boot if r["name"] == "ember" and r.get("startup")]
ember_wall = col(boot, "wall_us", "ember")
floor_wall = col(boot, "wall_us", "floor")
qemu_wall = col(boot, "wall_us", "qemu")
r_floor = pair_ratio(boot, "ember", "floor", "wall_us")
r_qemu = pair_ratio(boot, "ember", "qemu", "wall_us")
ov = {n: col(foot, "overhead_rss_kb", n) for n in ("ember", "qemu")}


def b2b_rate(name):
    rs = [r for r in b2b if r["name"] == name]
    okv = [num(r["wall_us"]) for r in rs if r["ok"] == "1" and num(r["wall_us"])]
    cpu = [num(r["user_us"]) + num(r["sys_us"]) for r in rs if r["ok"] == "1"]
    fails = sum(1 for r in rs if r["ok"] != "1")
    rate = len(okv) / (sum(okv) / 1e6) if okv else None
    return len(rs), fails, rate, (sum(cpu) / len(cpu) if cpu else None), okv


dn = {}
for r in dens:
    dn[(r["name"], int(r["n"]))] = r
skipped = {}
if os.path.exists(os.path.join(D, "density.skipped")):
    for line in open(os.path.join(D, "density.skipped")):
        name, n, need, avail = line.strip().split(",")
        skipped[(name, int(n))] = (int(need), int(avail))


def burst_rate(r):
    last = num(r["last_ready_us"])
    return int(r["ready"]) / (last / 1e6) / cores if last else None


# ------------------------------------------------------------ I/O
IO_NAMES = ("ember", "qemu", "host")


def io_metric(r):
    """(value, unit) of one io.csv row: MB/s for sequential, IOPS for random,
    frames/s delivered to the host process for net."""
    ns, ops, by = num(r["ns"]), num(r["ops"]), num(r["bytes"])
    if not ns:
        return None
    if r["test"] == "nettx":
        got = num(r["sink_frames"])
        n = min(got, ops) if got is not None else ops
        return n * 1e9 / ns
    if r["test"].startswith("seq"):
        return by * 1e3 / ns
    return ops * 1e9 / ns


def io_mbps(r):
    ns, by, ops = num(r["ns"]), num(r["bytes"]), num(r["ops"])
    if not ns:
        return None
    if r["test"] == "nettx" and num(r["sink_frames"]) is not None:
        by = by * min(num(r["sink_frames"]), ops) / ops
    return by * 1e3 / ns


io_labels = []
for r in io:
    if r["label"] not in io_labels:
        io_labels.append(r["label"])


def io_vals(label, name, f=io_metric):
    return [v for v in (f(r) for r in io if r["label"] == label and r["name"] == name) if v]


def io_ratio(label, a, b, f=io_metric):
    by = {}
    for r in io:
        if r["label"] == label and f(r):
            by.setdefault(r["round"], {})[r["name"]] = f(r)
    v = [x[a] / x[b] for x in by.values() if a in x and b in x]
    return med(v), len(v)


def io_unit(label):
    return "frames/s" if label.startswith("nettx") else ("MB/s" if label.startswith("seq") else "IOPS")


def io_fmt(v, unit):
    if v is None:
        return "n/a"
    return ("%.0f" % v) if v >= 100 else ("%.1f" % v)


def io_mmm(v, unit):
    if not v:
        return "n/a"
    return "%s %s [%s, %s]" % (io_fmt(med(v), unit), unit, io_fmt(min(v), unit), io_fmt(max(v), unit))


IO_WHAT = {"seqread": "sequential 1 MiB reads", "seqwrite": "sequential 1 MiB writes (not flushed)",
           "randread": "random 4 KiB reads"}


def io_desc(label):
    """'randread-qd5' -> 'random 4 KiB reads, QD 5'; 'nettx-60' -> 'transmit 60-byte frames'"""
    test, _, arg = label.partition("-")
    if test == "nettx":
        return "transmit %s-byte frames" % arg
    return "%s, QD %s" % (IO_WHAT.get(test, test), arg[2:]) if arg.startswith("qd") else label


io_skipped = []
if os.path.exists(os.path.join(D, "io.skipped")):
    io_skipped = [line.strip() for line in open(os.path.join(D, "io.skipped")) if line.strip()]

# ------------------------------------------------------------ report
P("# ember benchmarks: %s%s" % (machine.get("date", "?"), " (QUICK)" if machine.get("quick") == "1" else ""))
P("")
P("Machine: `%s`, %s cores (%s), %s GiB, kernel %s, KVM: %s. Peer: %s. ember %s."
  % (machine.get("host"), machine.get("cores"), machine.get("cpu"), machine.get("mem_gib"),
     machine.get("kernel"), machine.get("kvm"), machine.get("qemu"), machine.get("ember")))
P("")
P("Every number is from exec (CLOCK_MONOTONIC in the forked child right before execve) "
  "unless said otherwise; median [min, max] over the interleaved rounds; ratios are "
  "pair by pair (same round). Guest: `hello.elf` (PVH ELF, the very same file on both "
  "monitors), 1 vCPU, 128 MiB unless said otherwise.")
if "kvm_pvm" in machine.get("kvm", ""):
    P("")
    insn = med(col(io_costs, "insn_ps"))
    P("**Software KVM (kvm_pvm)**: small guests that mostly do port and MMIO I/O boot in "
      "milliseconds, but every guest instruction goes through KVM's instruction emulator%s, "
      "and Linux runs ~300x slow; absolute numbers are this host's, ratios are what carries over."
      % (" (%.2f us each, section 5)" % (insn / 1e6) if insn else ""))
P("")
P("## Targets")
P("")
P("| target | where we stand | met |")
P("|---|---|---|")


def yes(c):
    return "n/a" if c is None else ("yes" if c else "**no**")


m = med(ember_run)
P("| exec -> first KVM_RUN < 1 ms | %s (traced, tracefs) | %s |" % (fmt(m), yes(m < 1000 if m else None)))
P("| hello exec -> exit <= 1.2x floor | %s (ember %s, floor %s) | %s |"
  % (rfmt(r_floor), fmt(med(ember_wall)), fmt(med(floor_wall)), yes(r_floor[0] <= 1.2 if r_floor[0] else None)))
P("| hello exec -> exit <= 1/5 of QEMU microvm | %s of QEMU (QEMU %s) | %s |"
  % (rfmt(r_qemu), fmt(med(qemu_wall)), yes(r_qemu[0] <= 0.2 if r_qemu[0] else None)))
m = med(ov["ember"])
P("| memory overhead < 2 MiB RSS outside guest memory | %s | %s |" % (fmt(m, "MiB", 1024.0), yes(m < 2048 if m else None)))
n, fails, rate, cpu, _ = b2b_rate("ember")
P("| >= 100 microVMs/s/core back to back | %s/s (one at a time, %d runs, %d failed) | %s |"
  % ("n/a" if rate is None else "%.0f" % rate, n, fails, yes(rate >= 100 if rate else None)))
r = dn.get(("ember", 1000))
if r:
    P("| 1000 at once, 0 failures | %s ready, %s failed, last ready after %s | %s |"
      % (r["ready"], r["failures"], fmt(num(r["last_ready_us"]), "s", 1e6), yes(int(r["failures"]) == 0 and int(r["ready"]) == 1000)))
else:
    P("| 1000 at once, 0 failures | not run (QUICK runs N = 10, 100) | n/a |")
P("")

P("## Summary")
P("")
P("| metric | ember | QEMU microvm | ember / QEMU | floor |")
P("|---|---|---|---|---|")
P("| exec -> first KVM_RUN (traced) | %s | %s | %s | %s |"
  % (mmm(ember_run), mmm(col(startup, "exec_to_run_us", "qemu")),
     rfmt(pair_ratio(startup, "ember", "qemu", "exec_to_run_us")), mmm(col(startup, "exec_to_run_us", "floor"))))
P("| CPU until first KVM_RUN (traced) | %s | %s | %s | %s |"
  % (mmm(col(startup, "cpu_us", "ember")), mmm(col(startup, "cpu_us", "qemu")),
     rfmt(pair_ratio(startup, "ember", "qemu", "cpu_us")), mmm(col(startup, "cpu_us", "floor"))))
P("| hello: exec -> boot timer | %s | n/a (QEMU has no boot timer) | | |" % mmm(col(boot, "since_exec_us", "ember")))
P("| hello: exec -> first guest output | %s | %s | %s | |"
  % (mmm(col(boot, "first_out_us", "ember")), mmm(col(boot, "first_out_us", "qemu")),
     rfmt(pair_ratio(boot, "ember", "qemu", "first_out_us"))))
P("| hello: exec -> exit | %s | %s | %s | %s |"
  % (mmm(ember_wall), mmm(qemu_wall), rfmt(r_qemu), mmm(floor_wall)))
P("| hello: CPU (user+sys) | %s | %s | | %s |" % tuple(
    mmm([num(r["user_us"]) + num(r["sys_us"]) for r in boot if r["name"] == n and r["ok"] == "1"])
    for n in ("ember", "qemu", "floor")))
P("| memory overhead (RSS outside guest RAM, idle) | %s | %s | %s | |"
  % (mmm(ov["ember"], "MiB", 1024.0), mmm(ov["qemu"], "MiB", 1024.0),
     "%.3fx" % (med(ov["ember"]) / med(ov["qemu"])) if ov["ember"] and ov["qemu"] else "n/a"))
pk = {n: col(foot, "maxrss_kb", n) for n in ("ember", "qemu")}
P("| peak RSS (idle guest) | %s | %s | | %s |"
  % (mmm(pk["ember"], "MiB", 1024.0), mmm(pk["qemu"], "MiB", 1024.0),
     mmm(col(boot, "maxrss_kb", "floor"), "MiB", 1024.0)))
P("| binary size | %.2f MiB (static) | %.2f MiB + %s shared libs | | %.2f MiB (static) |"
  % (int(machine["ember_size"]) / 2**20, int(machine["qemu_size"]) / 2**20, machine.get("qemu_libs"),
     int(machine["floor_size"]) / 2**20))
re_, rq = b2b_rate("ember"), b2b_rate("qemu")
P("| back to back: microVMs/s (1 at a time) | %s | %s | %s | %s |"
  % tuple(["n/a" if x[2] is None else "%.0f" % x[2] for x in (re_, rq)] +
          ["%.1fx" % (re_[2] / rq[2]) if re_[2] and rq[2] else "n/a"] +
          ["%.0f" % b2b_rate("floor")[2] if b2b_rate("floor")[2] else "n/a"]))
for n in (10, 100, 1000):
    a, b = dn.get(("ember", n)), dn.get(("qemu", n))
    if not a and not b:
        continue

    def cell(r, name):
        if r:
            return "%s, %.0f/s/core, %s ready, %s failed" % (
                fmt(num(r["last_ready_us"]), "ms"), burst_rate(r) or 0, r["ready"], r["failures"])
        s = skipped.get((name, n))
        return "skipped: needs ~%d MiB (> 60%% of MemAvailable)" % (s[0] // 1024) if s else "not run"
    rat = ("%.2fx" % (num(a["last_ready_us"]) / num(b["last_ready_us"]))) if a and b else ""
    P("| %d at once: last ready | %s | %s | %s | |" % (n, cell(a, "ember"), cell(b, "qemu"), rat))
    if a or b:
        def memc(r):
            # MemAvailable moves with the page cache too: with few VMs the
            # delta can be negative (noise); PSS is the robust figure then.
            if not r:
                return "n/a"
            host = num(r["memavail_delta_kb"])
            host_s = "%.2f MiB host" % (host / n / 1024) if host is not None else "host: below noise"
            return "%s, %.2f MiB PSS" % (host_s, num(r["pss_sum_kb"]) / n / 1024)
        P("| %d at once: memory per microVM | %s | %s | | |" % (n, memc(a), memc(b)))
if linux:
    P("| Linux: exec -> guest-init ready (boot timer) | %s | n/a | | |" % mmm(col(linux, "since_exec_us", "ember-linux")))
    P("| Linux: exec -> exit | %s | %s | %s | |" % (mmm(col(linux, "wall_us", "ember-linux")),
      mmm(col(linux, "wall_us", "qemu-linux")), rfmt(pair_ratio(linux, "ember-linux", "qemu-linux", "wall_us"))))
else:
    P("| Linux guest: exec -> ready, exec -> exit | skipped: software KVM | skipped: software KVM | | |")
if io:
    for lb in io_labels:
        u = io_unit(lb)
        P("| I/O: %s | %s %s | %s %s | %s | host itself: %s %s |"
          % (io_desc(lb), io_fmt(med(io_vals(lb, "ember")), u), u, io_fmt(med(io_vals(lb, "qemu")), u), u,
             rfmt(io_ratio(lb, "ember", "qemu")), io_fmt(med(io_vals(lb, "host")), u), u))
else:
    P("| I/O (disk, network) | not measured (no io.csv) | not measured | | |")
P("")

# ------------------------------------------------------------ details
P("## 1. Start-up: where the time goes (exec -> first KVM_RUN)")
P("")
P("From the kernel's syscall and scheduler tracepoints (bench/ktrace.py), medians in ms; "
  "tracing adds a little to each. Phases end at: process = first KVM ioctl; kvm = first "
  "KVM_SET_USER_MEMORY_REGION; memory = its return; load = KVM_GET_SUPPORTED_CPUID or "
  "KVM_CREATE_VCPU; vcpu = first KVM_RUN. QEMU's order of work differs, so its split is coarse.")
P("")
P("| | exec -> KVM_RUN | CPU | process | kvm | memory | load | vcpu |")
P("|---|---|---|---|---|---|---|---|")
for n in ("floor", "ember", "qemu"):
    P("| %s | %s |" % (n, " | ".join(fmt(med(col(startup, k, n)), "") for k in
                                   ("exec_to_run_us", "cpu_us", "process_us", "kvm_us", "memory_us", "load_us", "vcpu_us"))))
P("")
if probe:
    keys = []
    vals = {}
    for r in probe:
        for kv in r["startup"].split():
            k, _, v = kv.partition("=")
            if num(v.rstrip("us")) is not None:
                keys.append(k) if k not in keys else None
                vals.setdefault(k, []).append(num(v.rstrip("us")))
    P("In-monitor probe (`EMBER_TRACE_STARTUP=1`), medians, as ember prints them:")
    P("")
    P("| " + " | ".join(keys) + " |")
    P("|" + "---|" * len(keys))
    P("| " + " | ".join("%g" % med(vals[k]) for k in keys) + " |")
else:
    P("In-monitor probe: needs EMBER_TRACE_STARTUP (no `ember: startup ...` line in this run).")
P("")
P("## 2. Boot, per configuration (%d rounds, interleaved)" % (len(set(r["round"] for r in boot)) if boot else 0))
P("")
P("| config | runs ok | exec -> boot timer | exec -> ready | exec -> exit | CPU | peak RSS | vs QEMU (exit) |")
P("|---|---|---|---|---|---|---|---|")
names = []
for r in boot:
    if r["name"] not in names:
        names.append(r["name"])
for n in names:
    rs = [r for r in boot if r["name"] == n]
    peer = n.replace("ember", "qemu") if n.startswith("ember") else None
    ratio = rfmt(pair_ratio(boot, n, peer, "wall_us")) if peer in names else ""
    P("| %s | %d/%d | %s | %s | %s | %s | %s | %s |" % (
        n, sum(r["ok"] == "1" for r in rs), len(rs), mmm(col(boot, "since_exec_us", n)),
        mmm(col(boot, "ready_us", n)), mmm(col(boot, "wall_us", n)),
        mmm([num(r["user_us"]) + num(r["sys_us"]) for r in rs if r["ok"] == "1"]),
        fmt(med(col(boot, "maxrss_kb", n)), "MiB", 1024.0), ratio))
P("")
P("ready = the guest's marker on the serial console (hello: `hello`; probe: `probe: done`; smp: `cpus=4`). "
  "ember-linux64 enters the same hello.elf at e_entry; ember-probe-bzimage boots probe as a bzImage "
  "(QEMU cannot boot that image or a PVH-less ELF with -kernel on microvm). smp4 brings up 4 vCPUs by INIT/SIPI.")
P("")
P("## 3. Footprint (idle guest held 500 ms after `ready`)")
P("")
P("| monitor | RSS outside guest RAM | PSS outside guest RAM | guest RAM touched | peak RSS |")
P("|---|---|---|---|---|")
for n in ("ember", "qemu"):
    P("| %s | %s | %s | %s | %s |" % (n, mmm(col(foot, "overhead_rss_kb", n), "MiB", 1024.0),
      mmm(col(foot, "overhead_pss_kb", n), "MiB", 1024.0), mmm(col(foot, "guest_rss_kb", n), "MiB", 1024.0),
      mmm(col(foot, "maxrss_kb", n), "MiB", 1024.0)))
P("")
P("## 4. Launch rate and density")
P("")
P("Back to back (one microVM at a time, interleaved ember / QEMU / floor):")
P("")
P("| | runs | failed | microVMs/s | exec -> exit | CPU per launch |")
P("|---|---|---|---|---|---|")
for n in ("ember", "qemu", "floor"):
    cnt, fails, rate, cpu, okv = b2b_rate(n)
    P("| %s | %d | %d | %s | %s | %s |" % (n, cnt, fails, "n/a" if rate is None else "%.0f" % rate,
      mmm(okv), fmt(cpu)))
P("")
P("N at once (1 vCPU, 128 MiB, idle guest, all started together, SIGTERM after all ready):")
P("")
P("| monitor | N | ready | failed | spawn all | median exec -> ready | last ready | microVMs/s/core | host MiB/VM (MemAvailable) | PSS MiB/VM | teardown |")
P("|---|---|---|---|---|---|---|---|---|---|---|")
for (name, n), r in sorted(dn.items()):
    host = num(r["memavail_delta_kb"])
    P("| %s | %d | %s | %s | %s | %s | %s | %.0f | %s | %.2f | %s |" % (
        name, n, r["ready"], r["failures"], fmt(num(r["spawn_us"])), fmt(num(r["median_ready_us"])),
        fmt(num(r["last_ready_us"])), burst_rate(r) or 0,
        "%.2f" % (host / n / 1024) if host is not None else "below noise",
        num(r["pss_sum_kb"]) / n / 1024, fmt(num(r["teardown_us"]))))
for (name, n), (need, avail) in sorted(skipped.items()):
    P("| %s | %d | skipped: would need ~%d MiB, MemAvailable %d MiB | | | | | | | | |" % (name, n, need // 1024, avail // 1024))
P("")
P("## 5. Snapshots")
P("")


def pct(v, q):
    """the q-th percentile (nearest rank) of v"""
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(math.ceil(q / 100.0 * len(v))) - 1))]


def keyvals(name):
    path = os.path.join(D, name)
    kv = {}
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.strip().partition("=")
            kv[k] = v
    return kv


if snap:
    rounds = len(set(r["round"] for r in snap))
    P("The guest (`bench/warm.c`) spins 300 ms and writes 16 MiB before it is ready, as a "
      "function runtime initialising would; the template is that guest booted once and "
      "snapshotted by `--snapshot-when-ready` when it signals the boot timer. Cold: `ember "
      "--kernel warm.elf` to its \"ready\" line; restore: `ember --restore` of the template to "
      "the same line; clone: the same restore asked of an `ember --restore-server` (forked, not "
      "exec'd; the server keeps a warm clone of the template restored and paused, so a request "
      "only resumes it); the floor (`bench/floor.c`): the least a process does to run a guest's "
      "first instruction. Exec -> for a clone is the request. Restore, clone and floor "
      "interleaved, %d rounds; the cold boot, seconds long "
      "here, fewer rounds. Exec -> first `KVM_RUN` (ember's own stamp, the floor's) and exec -> "
      "the guest's \"ready\" line (its first output after the restore)." % rounds)
    P("")
    P("| | exec -> first KVM_RUN p50 | p99 | exec -> \"ready\" p50 | p99 | min | max | runs |")
    P("|---|---|---|---|---|---|---|---|")
    def first_run(r):
        """exec -> first KVM_RUN: the floor's own column, ember's startup stamp"""
        if r["name"] == "floor":
            return num(r["first_run_us"])
        for kv in (r.get("startup") or "").split():
            k, _, v = kv.partition("=")
            if k == "exec_to_run_us":
                return num(v)
        return None

    for r in snap:
        r["run_us"] = first_run(r)
    for n in ("floor", "ember-restore", "ember-clone", "ember-cold"):
        fr = [r["run_us"] for r in snap if r["name"] == n and r.get("ok", "1") == "1" and r["run_us"]]
        rd = col(snap, "ready_us", n)
        P("| %s | %s | %s | %s | %s | %s | %s | %d |" % (
            n, fmt(med(fr)), fmt(pct(fr, 99)), fmt(med(rd)), fmt(pct(rd, 99)),
            fmt(min(rd) if rd else None), fmt(max(rd) if rd else None), len(fr or rd)))
    rr = pair_ratio([r for r in snap if r["run_us"] is not None], "ember-restore", "floor", "run_us")
    P("")
    cr = pair_ratio([r for r in snap if r["run_us"] is not None], "ember-clone", "floor", "run_us")
    P("Restore / floor, exec -> first KVM_RUN, pairwise median: %s; clone / floor: %s." % (
        rfmt(rr), rfmt(cr)))
    P("")
    qsnap = rows("snapshot-qemu.csv")
    qkv = keyvals("snapshot-qemu.txt")
    if qsnap or qkv.get("save_us"):
        qrd = [num(r["ready_us"]) for r in qsnap if num(r["ready_us"]) and num(r["ready_us"]) > 0]
        er = col(snap, "ready_us", "ember-restore")
        P("QEMU's own save and restore of the same guest (`bench/qemu_snap.py`: QMP `migrate` to "
          "`exec:cat > FILE`, then `-incoming \"exec:cat FILE\"`; the guest prints \"ready\" every "
          "millisecond after initialising, as QEMU has no generation page to wait on): save %s, "
          "state file %s KiB; restore exec -> \"ready\" p50 %s, p99 %s (%d runs), against ember's "
          "%s (%s)." % (
              fmt(num(qkv.get("save_us"))), int(num(qkv.get("state_bytes")) // 1024)
              if qkv.get("state_bytes") else "?", fmt(med(qrd)), fmt(pct(qrd, 99)), len(qrd),
              fmt(med(er)), "%.0fx faster" % (med(qrd) / med(er)) if qrd and er else "n/a"))
        P("")
    for t in ("warm", "idle"):
        kv = keyvals("snapshot-%s.txt" % t)
        if kv.get("create_us"):
            P("Template `%s`: created in %s; state file %s KiB; memory file %s MiB long, %s KiB "
              "written (non-zero pages), %s KiB on disk." % (
                  t, fmt(num(kv["create_us"])), int(num(kv["state_bytes"]) // 1024),
                  int(num(kv["mem_bytes"]) // 1048576), int(num(kv["mem_written"]) // 1024),
                  kv.get("mem_disk_kb", "?")))
    P("")
if clones:
    P("Clones: N restores of one idle template at once (the guest prints \"ready\" after the "
      "restore and halts), held, then SIGTERM; `ember-restore` execs `ember --restore` N "
      "times, `ember-clone` sends N requests to the restore server (one warm clone kept ahead), "
      "`ember-pool` sends them to a server that made a pool of N warm clones before the burst "
      "(`--prewarm SNAP,MEM,N`: the burst only resumes them; their restores were paid before "
      "it, and its MemAvailable column also counts the pool refilling during the hold). Per clone (medians over the first ten): RSS and "
      "PSS of ember's own mappings (outside guest RAM), and the part of guest RAM the clone made "
      "private (the rest is the memory file's page cache, shared by all); then the drop in "
      "MemAvailable over N:")
    P("")
    P("| | N | ready | failed | last ready | median exec -> ready | overhead RSS KiB | overhead PSS KiB | guest RAM private KiB | MemAvailable KiB/clone |")
    P("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(clones, key=lambda r: (r["name"], int(r["n"]))):
        n = int(r["n"])
        host = num(r["memavail_delta_kb"])
        P("| %s | %d | %s | %s | %s | %s | %.0f | %.0f | %s | %s |" % (
            r["name"], n, r["ready"], r["failures"], fmt(num(r["last_ready_us"])), fmt(num(r["median_ready_us"])),
            num(r["overhead_rss_kb"]) or 0, num(r["overhead_pss_kb"]) or 0,
            r.get("guest_private_kb") or "n/a", "%.0f" % (host / n) if host is not None else "below noise"))
    P("")
    kv = keyvals("clones-max.txt")
    if kv.get("n"):
        P("`CLONES_MAX=%s`: `ember-clone-%sm` is that many clones at once of the same idle guest "
          "made a %s MiB template (KVM's per-VM bookkeeping grows with guest RAM), through the same "
          "server, with %s MiB available before; kernel.pid_max %s." % (
              kv["n"], kv["guest_mib"], kv["guest_mib"], int(num(kv["memavailable_kb"]) // 1024),
              ("raised from %s to %s for that run and put back after" % (kv["pid_max"], kv["pid_max_raised_to"]))
              if kv.get("pid_max_raised_to") else "%s, left as it was" % kv["pid_max"]))
        P("")
P("## 6. I/O")
P("")
if io:
    rounds = len(set(r["round"] for r in io))
    P("The I/O guest (`bench/iobench.c`, the very same file on both monitors, 1 vCPU, 128 MiB) "
      "drives the first virtio-blk and virtio-net device from ring 0, polling the used ring; "
      "`bench/iohost.c` does the same transfers as a host process. %d rounds, interleaved "
      "ember / QEMU / host; median [min, max]; ratios pair by pair. Guest times come from the TSC "
      "(rate measured on the host), host times from CLOCK_MONOTONIC." % rounds)
    P("")
    P("| test | ember | QEMU microvm | host itself | ember / QEMU | ember / host |")
    P("|---|---|---|---|---|---|")
    for lb in io_labels:
        u = io_unit(lb)
        P("| %s | %s | %s | %s | %s | %s |" % (
            io_desc(lb), io_mmm(io_vals(lb, "ember"), u), io_mmm(io_vals(lb, "qemu"), u),
            io_mmm(io_vals(lb, "host"), u), rfmt(io_ratio(lb, "ember", "qemu")),
            ("%.3fx" % io_ratio(lb, "ember", "host")[0]) if io_ratio(lb, "ember", "host")[0] else "n/a"))
    P("")
    blk = [lb for lb in io_labels if not lb.startswith("nettx")]
    if any(r["name"] in ("ember-uring", "qemu-uring") for r in io):
        P("The block transfers again with each monitor's io_uring engine (ember `--disk "
          "PATH,engine=io_uring`, QEMU `aio=io_uring`), interleaved in the same rounds:")
        P("")
        P("| test | ember io_uring | QEMU microvm io_uring | ember / QEMU (io_uring) | "
          "ember io_uring / ember sync |")
        P("|---|---|---|---|---|")
        for lb in blk:
            u = io_unit(lb)
            P("| %s | %s | %s | %s | %s |" % (
                io_desc(lb), io_mmm(io_vals(lb, "ember-uring"), u), io_mmm(io_vals(lb, "qemu-uring"), u),
                rfmt(io_ratio(lb, "ember-uring", "qemu-uring")), rfmt(io_ratio(lb, "ember-uring", "ember"))))
        P("")
    net = [lb for lb in io_labels if lb.startswith("nettx")]
    if net:
        P("Network in bytes: frame bytes (Ethernet header and payload, no FCS) delivered to the "
          "host process per second:")
        P("")
        P("| test | ember | QEMU microvm | host itself | frames lost (ember, QEMU, host) |")
        P("|---|---|---|---|---|")
        for lb in net:
            lost = []
            for n in IO_NAMES:
                rs = [r for r in io if r["label"] == lb and r["name"] == n]
                lost.append("%d of %d" % (sum(int(r["ops"]) - min(int(r["ops"]), int(r["sink_frames"] or 0)) for r in rs),
                                          sum(int(r["ops"]) for r in rs)))
            P("| %s | %s | %s | %s | %s |" % (io_desc(lb), *(io_mmm(io_vals(lb, n, io_mbps), "MB/s") for n in IO_NAMES),
                                             ", ".join(lost)))
        P("")
    qd = sorted(set(r["qd"] for r in io if r["name"] != "host" and r["test"] == "randread"))
    P("How: block tests run on a raw image on /dev/shm (tmpfs, so the page cache and no disk "
      "below it: this measures the I/O path, not a device), the same image for all three; "
      "ember and QEMU open it buffered (no O_DIRECT; ember's default sync engine, QEMU's "
      "default cache=writeback, aio=threads), and the host baseline uses buffered pread/pwrite, "
      "one request at a time. Writes are not flushed. Random offsets are the same xorshift "
      "sequence everywhere. The guest keeps %s block requests in flight (%s is the most the "
      "runtime's queues allow: they hold 16 descriptors and a request takes 3, header, data and "
      "status); frames go out 16 at a time (one descriptor each). Network: frames go to a tap in a network namespace the bench makes; a host "
      "process (`iohost sink`) counts them on a packet socket; the host baseline writes the "
      "same frames to the same tap with one writev each, as a monitor does. Rates are frames the "
      "host process received over the sender's time." % (" or ".join(qd or ["?"]),
                                                                       max(qd or ["?"], key=lambda x: int(x) if x.isdigit() else 0)))
    P("")
    if io_costs:
        P("What the guest's primitives cost here (`iobench costs`, medians over rounds):")
        P("")
        P("| primitive | ember | QEMU microvm |")
        P("|---|---|---|")
        for k, t, sc in (("insn_ps", "one guest instruction (register-only loop)", 1e3),
                         ("tsc_ns", "RDTSC", 1.0), ("mmio_read_ns", "MMIO read of a virtio register (exit to the monitor)", 1.0),
                         ("notify_ns", "QueueNotify write (ioeventfd; nothing queued)", 1.0)):
            P("| %s | %s | %s |" % (t, *(fmt(med(col(io_costs, k, n)), "us", sc * 1000.0, 2) for n in ("ember", "qemu"))))
        P("")
        insn = med(col(io_costs, "insn_ps"))
        if insn and insn > 10000:
            P("On this host every guest instruction is emulated (%.2f us each), so a guest spends "
              "tens of microseconds of its own per request however lean its loop: small requests "
              "and frames are bound by the guest, not by the monitor, and ember and QEMU come out "
              "close; large requests show the monitor's data path. On hardware KVM the same "
              "guest runs natively and the monitors' differences show." % (insn / 1e6))
            P("")
else:
    P("Not measured (no io.csv).")
    P("")
for line in io_skipped:
    P("Not measured: %s." % line)
if io_skipped:
    P("")

# ------------------------------------------------------------ plots
plots = []
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"ember": "#d9480f", "qemu": "#1864ab", "floor": "#5c940d"}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (title, data, key) in zip(axes, (("exec -> first KVM_RUN (traced)", startup, "exec_to_run_us"),
                                             ("hello.elf: exec -> exit", boot, "wall_us"))):
        series = [(n, [v / 1000 for v in col(data, key, n)]) for n in ("floor", "ember", "qemu")]
        series = [(n, v) for n, v in series if v]
        if not series:
            continue
        parts = ax.violinplot([v for _, v in series], vert=False, showmedians=True)
        for body, (n, _) in zip(parts["bodies"], series):
            body.set_facecolor(colors[n])
            body.set_alpha(0.6)
        for i, (n, v) in enumerate(series):
            ax.scatter(v, [i + 1 + (j % 7 - 3) * 0.03 for j in range(len(v))], s=4, color=colors[n], alpha=0.5)
            ax.annotate("median %.2f ms" % statistics.median(v), (statistics.median(v), i + 1.3), fontsize=8)
        ax.set_yticks(range(1, len(series) + 1))
        ax.set_yticklabels([n if n != "qemu" else "QEMU microvm" for n, _ in series])
        ax.set_xscale("log")
        ax.set_xlabel("ms (log scale)")
        ax.set_title(title)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.suptitle("Start-up distributions, %s, %s" % (machine.get("host"), machine.get("kvm")))
    fig.tight_layout()
    fig.savefig(os.path.join(D, "startup.png"), dpi=110)
    plots.append(("startup.png", "start-up and exec -> exit distributions"))
    plt.close(fig)

    if startup:
        fig, ax = plt.subplots(figsize=(9, 3.2))
        ph = ("process_us", "kvm_us", "memory_us", "load_us", "vcpu_us")
        pc = ("#adb5bd", "#4dabf7", "#69db7c", "#ffd43b", "#ff8787")
        for i, n in enumerate(("floor", "ember", "qemu")):
            left = 0
            for k, c in zip(ph, pc):
                v = med(col(startup, k, n)) or 0
                ax.barh(i, v / 1000, left=left, color=c, label=k[:-3] if i == 0 else None)
                left += v / 1000
        ax.set_yticks(range(3))
        ax.set_yticklabels(["floor", "ember", "QEMU microvm"])
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel("ms from exec to first KVM_RUN (medians; symlog)")
        ax.legend(ncol=5, fontsize=8, loc="lower right")
        ax.set_title("Where start-up goes (phases by ioctl, traced)")
        fig.tight_layout()
        fig.savefig(os.path.join(D, "startup-phases.png"), dpi=110)
        plots.append(("startup-phases.png", "start-up phases"))
        plt.close(fig)

    if dens:
        fig, axes = plt.subplots(1, 3, figsize=(14, 4))
        for name in ("ember", "qemu"):
            pts = sorted((n, r) for (nm, n), r in dn.items() if nm == name)
            if not pts:
                continue
            ns = [n for n, _ in pts]
            lbl = "QEMU microvm" if name == "qemu" else name
            axes[0].plot(ns, [burst_rate(r) for _, r in pts], "o-", color=colors[name], label=lbl)
            axes[1].plot(ns, [num(r["last_ready_us"]) / 1000 for _, r in pts], "o-", color=colors[name], label=lbl)
            axes[2].plot(ns, [(num(r["memavail_delta_kb"]) or 0) / n / 1024 for n, r in pts], "o-", color=colors[name],
                         label=lbl + " (host, MemAvailable)")
            axes[2].plot(ns, [num(r["pss_sum_kb"]) / n / 1024 for n, r in pts], "s--", color=colors[name],
                         label=lbl + " (PSS)")
        for ax, t, yl in zip(axes, ("launch rate, N at once", "time until the last is ready", "memory per microVM"),
                             ("microVMs / s / core", "ms", "MiB")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("N microVMs started at once")
            ax.set_ylabel(yl)
            ax.set_title(t)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(D, "density.png"), dpi=110)
        plots.append(("density.png", "launch rate and memory against N"))
        plt.close(fig)

    if dvms:
        fig, ax = plt.subplots(figsize=(7, 4))
        for (name, n) in sorted(dn):
            v = sorted(num(r["since_start_us"]) / 1000 for r in dvms
                       if r["name"] == name and int(r["n"]) == n and num(r["since_start_us"]) is not None)
            if v:
                ax.plot(v, [(i + 1) / n for i in range(len(v))], color=colors[name],
                        alpha=0.4 + 0.6 * (n / 1000), label="%s N=%d" % (name, n))
        ax.set_xscale("log")
        ax.set_xlabel("ms after the first spawn")
        ax.set_ylabel("fraction ready")
        ax.set_title("N at once: readiness over time")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(D, "density-ready.png"), dpi=110)
        plots.append(("density-ready.png", "readiness over time, N at once"))
        plt.close(fig)
    if io:
        groups = [("1 MiB sequential", "MB/s", [lb for lb in io_labels if lb.startswith("seq")]),
                  ("4 KiB random reads", "IOPS", [lb for lb in io_labels if lb.startswith("rand")]),
                  ("net transmit", "frames/s", [lb for lb in io_labels if lb.startswith("nettx")])]
        groups = [g for g in groups if g[2]]
        fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.8))
        axes = axes if len(groups) > 1 else [axes]
        io_colors = {"ember": colors["ember"], "qemu": colors["qemu"], "host": "#868e96"}
        for ax, (title, unit, lbs) in zip(axes, groups):
            w = 0.27
            for j, n in enumerate(IO_NAMES):
                ys, lo, hi = [], [], []
                for lb in lbs:
                    v = io_vals(lb, n)
                    m = med(v) or 0
                    ys.append(m)
                    lo.append(m - min(v) if v else 0)
                    hi.append(max(v) - m if v else 0)
                ax.bar([i + (j - 1) * w for i in range(len(lbs))], ys, w, yerr=[lo, hi],
                       color=io_colors[n], label="QEMU microvm" if n == "qemu" else n, capsize=2)
            ax.set_xticks(range(len(lbs)))
            ax.set_xticklabels(lbs, fontsize=8)
            ax.set_yscale("log")
            low = min([m for lb in lbs for n in IO_NAMES for m in [med(io_vals(lb, n))] if m] or [1])
            high = max([max(io_vals(lb, n) or [1]) for lb in lbs for n in IO_NAMES] or [10])
            ax.set_ylim(10 ** math.floor(math.log10(low)), high * 4)
            ax.set_ylabel(unit + " (log scale)")
            ax.set_title(title)
            ax.grid(True, axis="y", which="both", alpha=0.3)
            ax.legend(fontsize=7, loc="upper left", ncol=3)
        fig.suptitle("I/O from the same guest: ember, QEMU microvm, and the host itself (medians, min-max)")
        fig.tight_layout()
        fig.savefig(os.path.join(D, "io.png"), dpi=110)
        plots.append(("io.png", "I/O throughput: ember, QEMU microvm, host"))
        plt.close(fig)
except ImportError as e:
    P("(plots skipped: %s)" % e)

if plots:
    P("## Plots")
    P("")
    for f, t in plots:
        P("![%s](%s)" % (t, f))
    P("")
P("Raw data: startup.csv (traced), boot.csv, b2b.csv, footprint.csv, density.csv, density-vms.csv, "
  "snapshot.csv, snapshot-*.txt, clones.csv, clones-vms.csv, "
  "io.csv, io-costs.csv (each run's output in io-logs/); the command lines in *.spec; the machine "
  "in machine.txt.")

with open(os.path.join(D, "report.md"), "w") as f:
    f.write("\n".join(out) + "\n")
# the summary on the terminal
s = "\n".join(out)
print(s[s.index("## Targets"):s.index("## 1.")])
