#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""fsd_prof.py: where the fsd bench's small-file operations spend their time.

  fsd_prof.py snap OUT NEEDLE...
      append one snapshot (a JSON line) of every thread of every process
      whose command line contains one of the NEEDLEs (the bench's work and
      shared directories): its scheduler run time (ns) and the
      number of times it was put on a CPU (/proc/PID/task/TID/schedstat).
      The bench runs it as a veilvm hook when the guest prints
      "VEIL-HOST prof", just before and just after each profiled phase.
  fsd_prof.py report OUT < guest-lines
      pair the snapshots, in order, with the guest's own "BENCHPROF CASE
      PHASE begin|end ctxt intr busy [ops N]" lines and print, per
      operation of each phase, "CASE prof_PHASE_METRIC value unit" rows:
      the guest's context switches, interrupts and CPU time, and each host
      component's run time and times scheduled.

Host components: the guest's vCPU threads (QEMU's "CPU n/TCG": everything
the guest kernel and the workload do), the rest of QEMU (main loop, I/O and
9p worker threads), the vhost-user-vsock back end, and the file server
(veil-fsd, diod and the socat in front of it, or virtiofsd).  Only the
servers of the case being run are busy, so each case's figures are its own.
"""
import json
import os
import sys

USER_HZ = 100


def component(comm, thread):
    if comm.startswith("qemu-system"):
        return "vcpu" if thread.startswith("CPU ") else "qemu_io"
    if comm.startswith("vhost-user-vso"):
        return "backend"
    return "server"


def snap(out, needles):
    threads = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            if not any(n.encode() in cmd for n in needles):
                continue
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    tcomm = f.read().strip()
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    run, _, slices = (int(x) for x in f.read().split())
                threads[tid] = (component(comm, tcomm), run, slices)
        except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
            continue	# gone meanwhile, or not ours to read
    with open(out, "a") as f:
        f.write(json.dumps(threads) + "\n")


def delta(a, b):
    """Run time (ns) and slices per component between snapshots a and b."""
    tot = {}
    for tid, (comp, run, slices) in b.items():
        r0, s0 = (a[tid][1], a[tid][2]) if tid in a else (0, 0)
        t = tot.setdefault(comp, [0, 0])
        t[0] += run - r0
        t[1] += slices - s0
    return tot


def report(out):
    with open(out) as f:
        snaps = [json.loads(l) for l in f if l.strip()]
    marks = []
    for line in sys.stdin:
        p = line.split()
        if len(p) >= 7 and p[0] == "BENCHPROF":
            marks.append(p[1:])
    if len(marks) != len(snaps):
        print(f"fsd profile: {len(marks)} guest marks but {len(snaps)} host snapshots: no profile",
              file=sys.stderr)
        return
    for i in range(0, len(marks) - 1, 2):
        b, e = marks[i], marks[i + 1]
        case, phase = b[0], b[1]
        if (b[2] != "begin" or e[2] != "end" or e[:2] != b[:2] or "ops" not in e or
                e.index("ops") + 1 >= len(e)):
            print(f"fsd profile: marks out of order at {b} / {e}", file=sys.stderr)
            return
        ops = int(e[e.index("ops") + 1])
        if ops <= 0:
            continue
        g0 = [int(x) for x in b[3:6]]
        g1 = [int(x) for x in e[3:6]]
        rows = [("guest_ctxt", (g1[0] - g0[0]) / ops, "per-op"),
                ("guest_irq", (g1[1] - g0[1]) / ops, "per-op"),
                ("guest_cpu", (g1[2] - g0[2]) * 1e6 / USER_HZ / ops, "us/op")]
        tot = delta(snaps[i], snaps[i + 1])
        for comp in ("vcpu", "qemu_io", "backend", "server"):
            run, slices = tot.get(comp, (0, 0))
            rows.append((f"host_{comp}_cpu", run / 1e3 / ops, "us/op"))
            rows.append((f"host_{comp}_wakes", slices / ops, "per-op"))
        for m, v, u in rows:
            print(f"{case} prof_{phase}_{m} {v:.2f} {u}")


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "snap":
        snap(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
