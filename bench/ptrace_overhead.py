"""Slowdown of syscall-heavy programs under the ptrace engine vs `strace -f`, same run.

Workloads: 200,000 getppid() (C, built here) and `dd if=/dev/zero of=/dev/null bs=1
count=100000` (~200k read/write). Filters: a traced syscall (`getppid` / `read`), and a
filter that traces nothing the loop does (`getpid` / `openat`: seccomp shows its worth).
Each with seccomp off and on (strace: `--seccomp-bpf`). Placement: tracer and tracee
pinned to CPU 0 ("same"), or tracer on CPU 0 and tracee on CPU 1 ("across"), the same for
both tools (`taskset`). Wall time of the traced command, best of N runs.

    sudo PYTHONPATH=service .venv/bin/python bench/ptrace_overhead.py [--runs 3] [--quick]
        [--across]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from tracerd.engines.base import EngineContext
from tracerd.engines.ptrace.engine import PtraceEngine
from tracerd.specs import PtraceSpec
from tracerd.types import WireEvent

GETPPID_C = r"""
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 200000;
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}
"""


class CountingSink:
    def __init__(self) -> None:
        self.count = 0
        self.done = 0.0
        self.ended_flag = threading.Event()

    def emit(self, events: Sequence[WireEvent]) -> None:
        self.count += len(events)

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        pass

    def lost_total(self, source: str, count: int) -> None:
        pass

    def info(self, values: Mapping[str, Any]) -> None:
        pass

    def ended(self, exit_status: Any, reason: str | None = None, failed: bool = False) -> None:
        self.done = time.perf_counter()
        self.ended_flag.set()


def ours(argv: list[str], syscalls: list[str], seccomp: str) -> tuple[float, int]:
    ctx = EngineContext(1, "bench", os.getpid(), (), {}, "/tmp", "/tmp")
    engine = PtraceEngine(ctx)
    spec = PtraceSpec(command=argv, syscalls=syscalls, follow_forks=True, seccomp=seccomp)  # type: ignore[arg-type]
    handle = engine.prepare(spec, _Ledger())
    sink = CountingSink()
    begin = time.perf_counter()
    engine.start(handle, sink)
    sink.ended_flag.wait()
    engine.stop(handle)
    return sink.done - begin, sink.count


class _Ledger:
    def record(self, type: str, name: str, data: Any = None) -> str:
        return name

    def cross_off(self, key: str) -> None:
        pass


def strace(argv: list[str], syscalls: list[str], seccomp: str) -> float:
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"trace={','.join(syscalls)}"]
    if seccomp == "on":
        cmd.append("--seccomp-bpf")
    begin = time.perf_counter()
    subprocess.run([*cmd, "--", *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - begin


def plain(argv: list[str]) -> float:
    begin = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - begin


def measure(
    pin: list[str], argv: list[str], syscalls: list[str], mode: str, runs: int
) -> tuple[float, float]:
    """Best-of-`runs` wall times (strace, ours), alternating the tools to share the noise."""
    cmd = [*pin, *argv]
    theirs = min(strace(cmd, syscalls, mode) for _ in range(runs))
    mine = min(ours(cmd, syscalls, mode)[0] for _ in range(runs))
    theirs = min(theirs, *(strace(cmd, syscalls, mode) for _ in range(runs)))
    return theirs, mine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 calls instead of 200,000")
    parser.add_argument("--across", action="store_true", help="also tracee on CPU 1")
    args = parser.parse_args()
    n = 20000 if args.quick else 200000
    tmp = Path(tempfile.mkdtemp())
    (tmp / "g.c").write_text(GETPPID_C)
    prog = str(tmp / "getppid")
    subprocess.run(["gcc", "-O2", "-o", prog, str(tmp / "g.c")], check=True)
    dd = ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={n // 2}", "status=none"]
    loads = [
        ("getppid traced", [prog, str(n)], ["getppid"], n),
        ("getppid untraced", [prog, str(n)], ["getpid"], 0),
        ("dd, read traced", dd, ["read"], n // 2),
        ("dd, untraced", dd, ["openat"], 0),
    ]
    os.sched_setaffinity(0, {0})  # the tracer (this process, strace) on CPU 0
    print(
        f"{'workload':<18} {'tracee':<7} {'seccomp':<7} {'plain s':>8} {'strace s':>9} "
        f"{'ours s':>8} {'ours/strace':>11} {'us/call strace':>15} {'us/call ours':>13}"
    )
    places = [("CPU 0", ["taskset", "-c", "0"])]
    if args.across:  # cross-CPU wake-ups (~90 us each on the 2-vCPU VMs) dominate there
        places.append(("CPU 1", ["taskset", "-c", "1"]))
    for place, pin in places:
        for label, argv, syscalls, calls in loads:
            base = min(plain([*pin, *argv]) for _ in range(args.runs))
            for mode in ("off", "on"):
                theirs, mine = measure(pin, argv, syscalls, mode, args.runs)
                per_s = f"{(theirs - base) / calls * 1e6:15.2f}" if calls else f"{'-':>15}"
                per_o = f"{(mine - base) / calls * 1e6:13.2f}" if calls else f"{'-':>13}"
                print(
                    f"{label:<18} {place:<7} {mode:<7} {base:8.3f} {theirs:9.3f} {mine:8.3f} "
                    f"{mine / theirs:11.2f} {per_s} {per_o}"
                )


if __name__ == "__main__":
    main()
