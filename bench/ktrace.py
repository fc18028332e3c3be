#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""ktrace.py: exec -> first KVM_RUN of vCPU 0, the CPU time spent until then,
and where it goes, for any monitor, without changing it: the kernel's own
syscall and scheduler tracepoints (tracefs, a private instance, clock mono).

    ktrace.py -r ROUNDS -o CSV SPEC

SPEC is runner.c's spec format (name, expected status, marker, argv...);
each run is launched by runner (RUNNER=, default build/bench/runner).
Configs run interleaved. Phases, from the ioctl sequence (each ends where the
next begins; a phase whose marker the monitor never issues is left empty):

    process   execve -> first ioctl on /dev/kvm (exec, loader, libc, argv)
    kvm       -> first KVM_SET_USER_MEMORY_REGION (VM, irqchip, capabilities)
    memory    -> that ioctl returns (guest RAM registered)
    load      -> KVM_GET_SUPPORTED_CPUID or KVM_CREATE_VCPU (kernel image, boot data)
    vcpu      -> first KVM_RUN (vCPUs, CPUID, registers, threads)

Tracing adds a few microseconds per event; the untraced numbers come from
runner.c. Needs root and tracefs; prints "unavailable: <why>" otherwise.
"""
import os
import re
import subprocess
import sys
import time

TRACEFS = "/sys/kernel/tracing"
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_RUN = 0xAE80
KVM_CREATE_VCPU = 0xAE41
KVM_SET_USER_MEMORY_REGION = 0x4020AE46
KVM_GET_SUPPORTED_CPUID = 0xC008AE05

# "comm-tid (tgid) [cpu] flags ts: event(args)" / "event -> ret" / "event: text"
LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\(\s*(\d+|-+)\)\s+\[\d+\]\s+\S+\s+([\d.]+):\s+(\w+)(\(| ->|:)\s*(.*)$")


def w(path, val):
    with open(path, "w") as f:
        f.write(val)


def parse_spec(path):
    cfgs = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        cfgs.append((f[0], int(f[1]), f[3:]))
    return cfgs


def setup():
    if not os.path.isdir(TRACEFS + "/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], stderr=subprocess.DEVNULL)
    if not os.path.isdir(TRACEFS + "/events/syscalls/sys_enter_ioctl"):
        raise RuntimeError("no syscall tracepoints in tracefs")
    inst = "%s/instances/ember-bench-%d" % (TRACEFS, os.getpid())
    os.mkdir(inst)
    w(inst + "/tracing_on", "0")
    w(inst + "/trace_clock", "mono")
    w(inst + "/buffer_size_kb", "8192")
    w(inst + "/options/record-tgid", "1")
    for ev in ("syscalls/sys_enter_execve", "syscalls/sys_enter_ioctl",
               "syscalls/sys_exit_ioctl", "sched/sched_switch"):
        w(inst + "/events/%s/enable" % ev, "1")
    return inst


def teardown(inst):
    try:
        w(inst + "/tracing_on", "0")
        for ev in ("syscalls/sys_enter_execve", "syscalls/sys_enter_ioctl",
                   "syscalls/sys_exit_ioctl", "sched/sched_switch"):
            w(inst + "/events/%s/enable" % ev, "0")
        os.rmdir(inst)
    except OSError:
        pass


def analyse(text):
    """The process that issued the first KVM_RUN: exec -> that KVM_RUN, CPU until then, phases."""
    events = []
    pid = None
    for line in text.splitlines():
        m = LINE.match(line)
        if m and m.group(5) == "sys_ioctl" and m.group(6) == "(" and "cmd: 0xae80," in m.group(7):
            if not m.group(3).isdigit():
                continue  # ftrace knew no tgid for it (pids past its table, a raised pid_max)
            pid = int(m.group(3))
            break
    if pid is None:
        return None
    threads = {pid}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        tid, tgid, ts, ev, rest = int(m.group(2)), m.group(3), float(m.group(4)), m.group(5), m.group(7)
        tgid = int(tgid) if tgid.isdigit() else -1
        if m.group(6) == " ->":
            ev += "_exit"
        if tgid == pid:
            threads.add(tid)
        events.append((ts, tid, tgid, ev, rest))
    t_exec = t_run = None
    marks = {}
    last_enter = {}
    for ts, tid, tgid, ev, rest in events:
        if tid not in threads:
            continue
        if ev == "sys_execve" and tid == pid and t_exec is None:
            t_exec = ts
        elif ev == "sys_ioctl" and t_exec is not None:
            cmd = int(re.search(r"cmd: (0x[0-9a-f]+)", rest).group(1), 16)
            last_enter[tid] = cmd
            if cmd in (KVM_GET_API_VERSION, KVM_CREATE_VM) and "kvm" not in marks:
                marks["kvm"] = ts
            elif cmd == KVM_SET_USER_MEMORY_REGION and "memory" not in marks:
                marks["memory"] = ts
            elif cmd in (KVM_GET_SUPPORTED_CPUID, KVM_CREATE_VCPU) and "vcpu" not in marks:
                marks["vcpu"] = ts
            elif cmd == KVM_RUN:
                t_run = ts
                break
        elif ev == "sys_ioctl_exit":
            if last_enter.get(tid) == KVM_SET_USER_MEMORY_REGION and "load" not in marks:
                marks["load"] = ts
    if t_exec is None or t_run is None:
        return None
    # CPU time of the process's threads in [t_exec, t_run]. A thread is on a CPU
    # from a sched_switch to it, or from any event recorded in its context
    # (some switch-ins are not traced under kvm_pvm), until a switch away.
    cpu = 0.0
    on = {pid: t_exec}
    for ts, tid, tgid, ev, rest in events:
        if ts < t_exec:
            continue
        if ts > t_run:
            break
        if tid in threads and tid not in on:
            on[tid] = ts
        if ev != "sched_switch":
            continue
        m = re.search(r"prev_pid=(\d+).*next_pid=(\d+)", rest)
        if not m:
            continue
        prev, nxt = int(m.group(1)), int(m.group(2))
        if prev in on:
            cpu += ts - on.pop(prev)
        if nxt in threads:
            on[nxt] = ts
    for ts in on.values():
        cpu += t_run - ts
    order = ["process", "kvm", "memory", "load", "vcpu"]
    bounds = [t_exec, marks.get("kvm"), marks.get("memory"), marks.get("load"), marks.get("vcpu"), t_run]
    phases = {}
    prev = t_exec
    for i, name in enumerate(order):
        nxt = next((b for b in bounds[i + 1:] if b is not None), t_run)
        if bounds[i] is None and i > 0:
            phases[name] = None
            continue
        phases[name] = max(0.0, nxt - prev) * 1e6
        prev = nxt
    return (t_run - t_exec) * 1e6, cpu * 1e6, phases


def main():
    rounds, out, spec = 10, None, None
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "-r":
            rounds = int(args.pop(0))
        elif a == "-o":
            out = args.pop(0)
        else:
            spec = a
    cfgs = parse_spec(spec)
    runner = os.environ.get("RUNNER", "build/bench/runner")
    specs = {}
    tmpdir = os.environ.get("TMPDIR", "/tmp")
    for name, expect, argv in cfgs:
        specs[name] = os.path.join(tmpdir, "ktrace-%d-%s.spec" % (os.getpid(), name))
        with open(specs[name], "w") as f:
            f.write("\t".join([name, str(expect), "-"] + argv) + "\n")
    try:
        inst = setup()
    except (OSError, RuntimeError) as e:
        print("unavailable: %s" % e)
        return 0
    rows = []
    fail = 0
    try:
        for r in range(rounds):
            for k in range(len(cfgs)):
                name, expect, argv = cfgs[(k + r) % len(cfgs)]
                w(inst + "/trace", "")
                w(inst + "/tracing_on", "1")
                # Launched by runner (small, static), as in the untraced runs.
                st = subprocess.run([runner, "seq", "-r", "1", "-T", "30", "-o", "/dev/null",
                                     specs[name]], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
                w(inst + "/tracing_on", "0")
                with open(inst + "/trace") as f:
                    text = f.read()
                res = analyse(text)
                if st != 0 or res is None:
                    fail += 1
                    continue
                total, cpu, ph = res
                rows.append([name, r, "%.0f" % total, "%.0f" % cpu] +
                            ["" if ph[x] is None else "%.0f" % ph[x]
                             for x in ("process", "kvm", "memory", "load", "vcpu")])
            if (r + 1) % max(1, rounds // 5) == 0 or r + 1 == rounds:
                print("    traced round %d/%d" % (r + 1, rounds), file=sys.stderr)
    finally:
        teardown(inst)
        for path in specs.values():
            os.unlink(path)
    with open(out, "w") if out else sys.stdout as f:
        f.write("name,round,exec_to_run_us,cpu_us,process_us,kvm_us,memory_us,load_us,vcpu_us\n")
        for row in rows:
            f.write(",".join(str(x) for x in row) + "\n")
    if fail:
        print("ktrace: %d runs failed or were not traced" % fail, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
