"""Decode benchmark: tracerd's page decoder + merge vs `trace-cmd report` on the same pages.

Usage (root): PYTHONPATH=service python bench/tracefs_decode.py [N]
Records N getppid() calls and N/10 openat() calls with `trace-cmd record` (file version 6,
uncompressed, so the per-CPU raw pages can be cut out of trace.dat at the offsets
`trace-cmd dump --flyrecord` prints), then times
- `trace-cmd report -i trace.dat > /dev/null` (decode, merge, text),
- tracerd's `EventPump` over the same raw pages (decode, task lookup, merge, batches to a
  sink that only counts), and the bare `PageDecoder` loop,
and prints events/s and the ratios. Both see exactly the same records.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
import uuid

from tracerd.engines.base import Limits
from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.merge import EventPump, SessionClock
from tracerd.engines.tracefs.reader import load_registry
from tracerd.engines.tracefs.sinks import CountingSink
from tracerd.engines.tracefs.spool import RawBudget, RawStore
from tracerd.engines.tracefs.tasks import TaskResolver
from tracerd.types import WireEvent

TRACEFS = "/sys/kernel/tracing"
EVENTS = ["syscalls:sys_enter_getppid", "syscalls:sys_enter_openat"]
LOAD_C = r"""
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) {
        syscall(SYS_getppid);
        if (i % 10 == 0) { int fd = open("/etc/hostname", O_RDONLY); if (fd >= 0) close(fd); }
    }
    return 0;
}
"""


class Done:
    drained_ns = 0
    finished = True


def record(tmp: str, n: int) -> str:
    with open(os.path.join(tmp, "load.c"), "w") as fh:
        fh.write(LOAD_C)
    exe = os.path.join(tmp, f"tdload{uuid.uuid4().hex[:6]}")
    subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(tmp, "load.c")], check=True)
    name = f"tracerd_bench_{uuid.uuid4().hex[:8]}"
    dat = os.path.join(tmp, "trace.dat")
    cmd = [
        "trace-cmd",
        "record",
        "-B",
        name,
        "-d",
        "--no-filter",
        "--file-version",
        "6",
        "--compression",
        "none",
        "-b",
        "65536",
        "-o",
        dat,
    ]
    for ev in EVENTS:
        cmd += ["-e", ev]
    try:
        subprocess.run([*cmd, exe, str(n)], capture_output=True, cwd=tmp)
    finally:
        if os.path.isdir(f"{TRACEFS}/instances/{name}"):
            os.rmdir(f"{TRACEFS}/instances/{name}")
    return dat


def raw_pages(dat: str) -> dict[int, bytes]:
    """Per-CPU raw data of the instance buffer (the last flyrecord block of the dump)."""
    dump = subprocess.run(
        ["trace-cmd", "dump", "--flyrecord", "-i", dat], capture_output=True, text=True, check=True
    ).stdout
    blocks = dump.split("[Flyrecord tracing data]")
    out: dict[int, bytes] = {}
    with open(dat, "rb") as fh:
        for m in re.finditer(
            r"^\s*(\d+)\s+(\d+)\s+\[offset, size of cpu (\d+)\]", blocks[-1], re.M
        ):
            fh.seek(int(m[1]))
            out[int(m[3])] = fh.read(int(m[2]))
    return out


def count_trace_cmd(dat: str) -> int:
    text = subprocess.run(["trace-cmd", "report", "-i", dat], capture_output=True, text=True).stdout
    return sum(1 for line in text.splitlines() if ": sys_enter_" in line)


def time_trace_cmd(dat: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        ["trace-cmd", "report", "-i", dat], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t0


def time_pump(raw: dict[int, bytes], page_size: int) -> tuple[int, float]:
    reg = load_registry(TRACEFS, EVENTS)
    budget = RawBudget(1 << 40, 0, can_spool=False)
    stores = {cpu: RawStore(cpu, budget, None) for cpu in raw}
    for cpu, data in raw.items():
        for i in range(0, len(data), 1 << 20):
            stores[cpu].put(data[i : i + (1 << 20)])
    sink = CountingSink()
    pump = EventPump(
        PageDecoder(reg, TaskResolver()),
        stores,
        dict.fromkeys(raw, Done()),
        sink,
        page_size,
        Limits(),
        SessionClock("mono"),
    )
    t0 = time.perf_counter()
    pump.run()
    return sink.events, time.perf_counter() - t0


def time_decoder(raw: dict[int, bytes], page_size: int) -> tuple[int, float]:
    dec = PageDecoder(load_registry(TRACEFS, EVENTS), TaskResolver())
    n = 0
    t0 = time.perf_counter()
    for cpu, data in raw.items():
        words = memoryview(data).cast("I")
        out: list[WireEvent] = []
        for base in range(0, len(data) - len(data) % page_size, page_size):
            dec.decode(data, cpu, out, base, words)
            if len(out) > 4096:
                n += len(out)
                out = []
        n += len(out)
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracerd-bench-") as tmp:
        dat = record(tmp, args.n)
        raw = raw_pages(dat)
        page_size = 4096
        print(f"raw data: {sum(map(len, raw.values())) / 2**20:.1f} MiB over CPUs {sorted(raw)}")
        tc_n = count_trace_cmd(dat)
        for _ in range(args.rounds):
            tc_t = time_trace_cmd(dat)
            pump_n, pump_t = time_pump(raw, page_size)
            dec_n, dec_t = time_decoder(raw, page_size)
            print(
                f"trace-cmd report: {tc_n} events in {tc_t:.2f} s = {tc_n / tc_t / 1e6:.2f} M/s"
                " (text to /dev/null)"
            )
            print(
                f"tracerd pump    : {pump_n} events in {pump_t:.2f} s = "
                f"{pump_n / pump_t / 1e6:.2f} M/s  ratio {pump_n / pump_t / (tc_n / tc_t):.2f}"
            )
            print(
                f"tracerd decoder : {dec_n} events in {dec_t:.2f} s = "
                f"{dec_n / dec_t / 1e6:.2f} M/s  ratio {dec_n / dec_t / (tc_n / tc_t):.2f}"
            )


if __name__ == "__main__":
    main()
