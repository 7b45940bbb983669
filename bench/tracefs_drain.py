"""Drain benchmark: N getppid() calls traced by tracerd's readers vs `trace-cmd record`.

Usage (root): PYTHONPATH=service python bench/tracefs_drain.py [N] [--buffer-kb KB]
Prints, for the untraced load, tracerd and trace-cmd: events stored, events lost (kernel
stats), the load's own loop time and its slowdown against the untraced run, and the ratios.
Builds a tiny C load with gcc in a temp dir; every instance it creates is removed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.reader import SWITCH_INTERVAL_S, TracefsReader, load_registry
from tracerd.engines.tracefs.sinks import CountingSink
from tracerd.kernel.tracefs import read_kernel_loss

TRACEFS = "/sys/kernel/tracing"
LOAD_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    char c;
    if (argc > 2 && read(0, &c, 1) != 1) return 2;   /* wait until the tracer is ready */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%ld\n", (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec));
    return 0;
}
"""


def write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def run_untraced(exe: str, n: int) -> float:
    out = subprocess.run([exe, str(n)], capture_output=True, text=True, check=True).stdout
    return int(out) / 1e9


def run_tracerd(exe: str, n: int, buffer_kb: int, switch: float | None) -> dict[str, float]:
    inst = f"{TRACEFS}/instances/tracerd_bench_{uuid.uuid4().hex[:8]}"
    os.mkdir(inst)
    try:
        write(f"{inst}/buffer_size_kb", str(buffer_kb))
        write(f"{inst}/trace_clock", "mono")
        write(f"{inst}/buffer_percent", "25")
        child = subprocess.Popen(
            [exe, str(n), "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        write(f"{inst}/set_event_pid", str(child.pid))
        write(f"{inst}/events/syscalls/sys_enter_getppid/enable", "1")
        sink = CountingSink()
        reg = load_registry(TRACEFS, ["syscalls:sys_enter_getppid"])
        reader = TracefsReader(inst, PageDecoder(reg), sink, switch_interval_s=switch)
        reader.start()
        write(f"{inst}/tracing_on", "1")
        t0 = time.monotonic()
        out, _ = child.communicate("g")
        write(f"{inst}/tracing_on", "0")
        stats = reader.stop(timeout_s=120)
        total = time.monotonic() - t0
        lost = read_kernel_loss(inst)
        write(f"{inst}/events/syscalls/sys_enter_getppid/enable", "0")
        return {
            "events": sink.events,
            "lost": lost,
            "loop_s": int(out) / 1e9,
            "until_all_out_s": total,
            "peak_raw_mb": stats.peak_memory_bytes / 2**20,
        }
    finally:
        os.rmdir(inst)


def run_trace_cmd(exe: str, n: int, buffer_kb: int, workdir: str) -> dict[str, float]:
    name = f"tracerd_bench_{uuid.uuid4().hex[:8]}"
    dat = os.path.join(workdir, "trace.dat")
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            "trace-cmd",
            "record",
            "-B",
            name,
            "-d",
            "--no-filter",
            "-b",
            str(buffer_kb),
            "-e",
            "syscalls:sys_enter_getppid",
            "-o",
            dat,
            exe,
            str(n),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    total = time.monotonic() - t0
    if os.path.isdir(f"{TRACEFS}/instances/{name}"):
        os.rmdir(f"{TRACEFS}/instances/{name}")
    loop = int(proc.stdout.split()[0]) / 1e9 if proc.stdout.split() else float("nan")
    comm = os.path.basename(exe)[:15]
    report = subprocess.run(
        ["trace-cmd", "report", "-i", dat], capture_output=True, text=True
    ).stdout
    events = sum(1 for line in report.splitlines() if f"{comm}-" in line)
    stat = subprocess.run(
        ["trace-cmd", "report", "--stat", "-i", dat], capture_output=True, text=True
    ).stdout
    lost = sum(int(m) for m in re.findall(r"(?:overrun|dropped events): (\d+)", stat))
    # trace-cmd 3 compresses its file (runs of alike events shrink to a few bytes each);
    # the same file uncompressed holds the ring's records as the kernel wrote them
    plain = dat + ".plain"
    subprocess.run(
        ["trace-cmd", "convert", "--compression", "none", "-i", dat, "-o", plain],
        capture_output=True,
        check=False,
    )
    plain_bytes = os.path.getsize(plain) if os.path.exists(plain) else float("nan")
    return {
        "events": events,
        "lost": lost,
        "loop_s": loop,
        "until_all_out_s": total,
        "bytes_per_event": os.path.getsize(dat) / max(1, events),
        "plain_bytes_per_event": plain_bytes / max(1, events),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=2_000_000)
    ap.add_argument("--buffer-kb", type=int, default=1408)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=SWITCH_INTERVAL_S,
        help="GIL switch interval set by the reader (0: leave Python's default)",
    )
    args = ap.parse_args()
    if os.geteuid() != 0 or shutil.which("gcc") is None:
        sys.exit("needs root and gcc")
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        src = os.path.join(tmp, "load.c")
        with open(src, "w") as fh:
            fh.write(LOAD_C)
        exe = os.path.join(tmp, f"tdload{uuid.uuid4().hex[:6]}")
        subprocess.run(["gcc", "-O2", "-o", exe, src], check=True)
        for _ in range(args.rounds):
            base = run_untraced(exe, args.n)
            ours = run_tracerd(exe, args.n, args.buffer_kb, args.switch_interval or None)
            peer = run_trace_cmd(exe, args.n, args.buffer_kb, tmp)
            print(f"untraced load: {base:.3f} s for {args.n} getppid()")
            for label, r in (("tracerd", ours), ("trace-cmd", peer)):
                print(
                    f"{label:9s}: events {r['events']:>9.0f}  lost {r['lost']:>8.0f}  "
                    f"load {r['loop_s']:.3f} s (x{r['loop_s'] / base:.2f})  "
                    f"all out after {r['until_all_out_s']:.2f} s"
                    + (f"  peak raw {r['peak_raw_mb']:.1f} MiB" if "peak_raw_mb" in r else "")
                )
            print(
                f"ratios tracerd/trace-cmd: events {ours['events'] / max(1, peer['events']):.3f}"
                f"  load slowdown {ours['loop_s'] / peer['loop_s']:.2f}"
            )


if __name__ == "__main__":
    main()
