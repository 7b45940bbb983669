"""Benchmark: the bpf engine's per-event path and in-kernel aggregation, against bpftrace and
BCC's own syscount, on the same floods in one run.

  sudo PYTHONPATH=service .venv/bin/python bench/bpf_events.py [--calls N]

A: events/s into the worker. An openat() flood (a C loop on CPU 1, ENOENT path) traced by
   `opensnoop` (ring buffer, BPF_RB_NO_WAKEUP, polled in batches by this process on CPU 0)
   vs `bpftrace -f json` printing the same fields. Reported: events delivered, lost
   (counted: delivered + lost must equal the calls), end-to-end events/s (wall), and the
   worker's capacity: events per CPU-second this process spent (the poller decoding into
   WireEvents and handing batches to a sink).
B: load slowdown. A getppid() flood timed alone, then under per-event delivery (a custom
   program emitting one ring-buffer record per call), under our `syscount` (per-CPU array in
   the kernel), under BCC's syscount-bpfcc, and under bpftrace printf / count().
Figures are noisy on shared 2-vCPU VMs: each configuration runs --reps times, interleaved
with the others, and the best run of each is kept; compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracerd.engines.base import EngineContext
from tracerd.engines.bpf.engine import BpfEngine
from tracerd.specs import BpfSpec
from tracerd.types import LOST_EVENT_NAME, WireEvent

FLOOD_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    char go[8];
    long n = atol(argv[1]);
    int getppid_mode = argc > 2 && argv[2][0] == 'g';
    if (!fgets(go, sizeof(go), stdin)) return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (getppid_mode) syscall(SYS_getppid);
        else openat(AT_FDCWD, "/nonexistent/tracerd-bench", O_RDONLY);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.6f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
"""

PER_EVENT_PROGRAM = r"""
struct rec { u64 ts_ns; u32 pid; u32 tid; u64 nr; };
BPF_RINGBUF_OUTPUT(calls, 4096);
int trd_bench_evt(struct tracepoint__syscalls__sys_enter_getppid *args)
{
    struct rec *r = calls.ringbuf_reserve(sizeof(*r));
    if (!r)
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    r->ts_ns = bpf_ktime_get_ns();
    r->pid = id >> 32;
    r->tid = (u32)id;
    r->nr = args->__syscall_nr;
    calls.ringbuf_submit(r, BPF_RB_NO_WAKEUP);
    return 0;
}
"""
PER_EVENT_OUTPUT = {
    "map": "calls",
    "fields": [
        {"name": "ts_ns", "type": "u64"},
        {"name": "pid", "type": "u32"},
        {"name": "tid", "type": "u32"},
        {"name": "nr", "type": "u64"},
    ],
}

FLOOD_CPU = 1
WORKER_CPU = 0
REPS = 3
DRAIN_EVENTS = 500_000


def best(runs: list[dict[str, Any]], key: str = "flood_s") -> dict[str, Any]:
    """The run least disturbed by the machine's other load (shortest flood)."""
    return min(runs, key=lambda r: r[key])


def repeat(configs: dict[str, Any], reps: int) -> dict[str, dict[str, Any]]:
    """Run every configuration `reps` times, interleaved; keep the best run of each."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    for _ in range(reps):
        for name, fn in configs.items():
            result = fn()
            runs[name].append(result if isinstance(result, dict) else {"flood_s": result})
    return {name: best(r) for name, r in runs.items()}


class CountingSink:
    """Counts what arrives (keeps nothing: the flood is large)."""

    def __init__(self) -> None:
        self.events = 0
        self.lost = 0
        self.lost_total_seen: int | None = None

    def emit(self, events: Sequence[WireEvent]) -> None:
        for ev in events:
            if ev.name == LOST_EVENT_NAME:
                self.lost += ev.fields["count"]
            else:
                self.events += 1

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        self.last_maps = dict(maps)

    def lost_total(self, source: str, count: int) -> None:
        self.lost_total_seen = count

    def info(self, values: Mapping[str, Any]) -> None:
        pass

    def ended(self, exit_status: Any, reason: str | None = None, failed: bool = False) -> None:
        pass


class NullLedger:
    def record(self, type: str, name: str, data: Mapping[str, Any] | None = None) -> str:
        return name

    def cross_off(self, key: str) -> None:
        pass


def build_flood(tmp: Path) -> str:
    src, out = tmp / "flood.c", tmp / "tdflood"
    src.write_text(FLOOD_C)
    subprocess.run(["gcc", "-O2", "-o", str(out), str(src)], check=True)
    return str(out)


@contextmanager
def gated_flood(binary: str, calls: int, mode: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        ["taskset", "-c", str(FLOOD_CPU), binary, str(calls), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def release(proc: subprocess.Popen[str]) -> float:
    """Start the flood; its own elapsed seconds."""
    out, _ = proc.communicate("go\n", timeout=600)
    return float(out.strip())


def engine_ctx(tmp: Path) -> EngineContext:
    spool = tmp / "spool"
    spool.mkdir(exist_ok=True)
    return EngineContext(
        session_id=1,
        daemon_id="bench",
        daemon_pid=os.getppid(),
        exclude_pids=(os.getpid(),),
        caps={},
        state_dir=str(tmp),
        spool_dir=str(spool),
    )


def run_engine(
    tmp: Path, spec: dict[str, Any], binary: str, calls: int, mode: str
) -> dict[str, float]:
    with gated_flood(binary, calls, mode) as flood:
        engine = BpfEngine(engine_ctx(tmp))
        handle = engine.prepare(BpfSpec.model_validate({**spec, "pid": flood.pid}), NullLedger())
        sink = CountingSink()
        engine.start(handle, sink)
        cpu0, wall0 = time.process_time(), time.monotonic()
        flood_s = release(flood)
        deadline = time.monotonic() + 60
        while sink.events + sink.lost < calls and time.monotonic() < deadline:
            time.sleep(0.01)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        engine.stop(handle)
    return {
        "flood_s": flood_s,
        "events": sink.events,
        "lost": sink.lost,
        "wall_s": wall,
        "cpu_s": cpu,
        "lost_total": float(sink.lost_total_seen or 0),
        "maps": getattr(sink, "last_maps", {}),
    }


@contextmanager
def bpftrace(script: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """bpftrace -f json on CPU 0, its stdout read in a thread."""
    import threading

    lines: list[str] = []
    proc = subprocess.Popen(
        ["taskset", "-c", str(WORKER_CPU), "bpftrace", "-f", "json", "-e", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout
    reader = threading.Thread(target=lambda: lines.extend(out), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # attached once its main thread waits in epoll
        if lines and "epoll" in Path(f"/proc/{proc.pid}/wchan").read_text():
            break
        time.sleep(0.05)
    try:
        yield proc, lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(10)


def run_bpftrace(
    script: str, binary: str, calls: int, mode: str, expect_lines: bool
) -> dict[str, float]:
    """bpftrace on the same flood; end to end = until its output stops (1 s of silence)."""

    def counts(lines: list[str]) -> tuple[int, int]:
        printed = sum('"printf"' in ln for ln in lines)
        lost = sum(json.loads(ln)["data"]["events"] for ln in lines if '"lost_events"' in ln)
        return printed, lost

    with (
        gated_flood(binary, calls, mode) as flood,
        bpftrace(script.replace("FLOODPID", str(flood.pid))) as (_proc, lines),
    ):
        wall0 = time.monotonic()
        flood_s = release(flood)
        last, seen = time.monotonic(), -1
        while expect_lines and time.monotonic() - last < 1.0:
            printed, lost = counts(lines)
            if printed + lost != seen:
                seen, last = printed + lost, time.monotonic()
            if seen >= calls:
                break
            time.sleep(0.05)
        wall = last - wall0
    printed, lost = counts(lines)
    return {"flood_s": flood_s, "events": printed, "lost": lost, "wall_s": max(wall, flood_s)}


def drain_rate(tmp: Path, binary: str, calls: int) -> dict[str, float]:
    """The worker's intake when the kernel buffer already holds the events: the flood runs
    before the poller starts (the 16 MiB ring holds 500k 32-byte records)."""
    with gated_flood(binary, calls, "g") as flood:
        engine = BpfEngine(engine_ctx(tmp))
        handle = engine.prepare({**PER_EVENT_SPEC, "pid": flood.pid}, NullLedger())
        release(flood)
        sink = CountingSink()
        cpu0, wall0 = time.process_time(), time.monotonic()
        engine.start(handle, sink)
        while sink.events + sink.lost < calls and time.monotonic() - wall0 < 60:
            time.sleep(0.001)
        wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
        engine.stop(handle)
    return {"flood_s": wall, "events": sink.events, "lost": sink.lost, "wall_s": wall, "cpu_s": cpu}


def run_bcc_syscount(binary: str, calls: int) -> float:
    tool = shutil.which("syscount-bpfcc") or "/usr/sbin/syscount-bpfcc"
    with (
        gated_flood(binary, calls, "g") as flood,
        subprocess.Popen(
            ["taskset", "-c", str(WORKER_CPU), tool],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as bcc,
    ):
        assert bcc.stdout is not None
        while "Tracing" not in bcc.stdout.readline():
            pass
        flood_s = release(flood)
        bcc.send_signal(signal.SIGINT)
        bcc.communicate(timeout=30)
    return flood_s


def alone(binary: str, calls: int, mode: str) -> float:
    with gated_flood(binary, calls, mode) as flood:
        return release(flood)


PER_EVENT_SPEC = {
    "program": PER_EVENT_PROGRAM,
    "output": PER_EVENT_OUTPUT,
    "attach": [
        {"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_bench_evt"}
    ],
}


def _line(name: str, r: Mapping[str, Any], calls: int, base: float) -> None:
    accounted = r["events"] + r["lost"] == calls
    print(
        f"  {name:<30} {r['events'] / r['wall_s']:>10,.0f} events/s end to end; "
        f"{r['events']:,} delivered + {r['lost']:,} lost"
        f"{'' if accounted else ' (NOT all accounted)'}; flood slowed {r['flood_s'] / base:.2f}x"
    )


def part_a(tmp: Path, binary: str, calls: int, reps: int) -> None:
    print(
        f"A. events/s into the worker ({calls:,}-call floods on CPU {FLOOD_CPU}, "
        f"worker on CPU {WORKER_CPU}; best of {reps})"
    )
    script = (
        "tracepoint:syscalls:sys_exit_openat /pid == FLOODPID/ "
        '{ printf("%d %d %s %d\\n", pid, tid, comm, args->ret); }'
    )
    r = repeat(
        {
            "alone": lambda: alone(binary, calls, "o"),
            "ours": lambda: run_engine(tmp, {"tool": "opensnoop"}, binary, calls, "o"),
            "bpftrace": lambda: run_bpftrace(script, binary, calls, "o", True),
            "alone_g": lambda: alone(binary, calls * 2, "g"),
            "fast": lambda: run_engine(tmp, PER_EVENT_SPEC, binary, calls * 2, "g"),
            "drain": lambda: drain_rate(tmp, binary, DRAIN_EVENTS),
        },
        reps,
    )
    base_open, base_ppid = r["alone"]["flood_s"], r["alone_g"]["flood_s"]
    ours, bt, fast = r["ours"], r["bpftrace"], r["fast"]
    print(f"  openat() flood alone           {calls / base_open:>10,.0f} calls/s")
    _line("tracerd opensnoop (312 B rec)", ours, calls, base_open)
    _line("bpftrace printf (same fields)", bt, calls, base_open)
    print(
        f"  tracerd worker capacity        {ours['events'] / max(ours['cpu_s'], 1e-9):>10,.0f}"
        " events per CPU-second of the worker (poll + decode + batch)"
    )
    ratio = (ours["events"] / ours["wall_s"]) / max(bt["events"] / bt["wall_s"], 1e-9)
    print(f"  ratio tracerd / bpftrace (events/s end to end): {ratio:.1f}x")
    print(f"  getppid() flood alone          {calls * 2 / base_ppid:>10,.0f} calls/s")
    _line("tracerd per-event (32 B rec)", fast, calls * 2, base_ppid)
    print(
        f"  tracerd worker capacity        {fast['events'] / max(fast['cpu_s'], 1e-9):>10,.0f}"
        " events per CPU-second of the worker"
    )
    drain = r["drain"]
    print(
        f"  tracerd drain of a full ring   {drain['events'] / drain['wall_s']:>10,.0f} events/s "
        f"into the worker ({drain['events']:,} events queued by the kernel, "
        f"{drain['lost']:,} lost; {drain['events'] / max(drain['cpu_s'], 1e-9):,.0f} "
        "per CPU-second)"
    )


def part_b(tmp: Path, binary: str, calls: int, reps: int) -> None:
    print(
        f"B. load slowdown: getppid() flood of {calls:,} calls on CPU {FLOOD_CPU}; best of {reps}"
    )
    r = repeat(
        {
            "alone": lambda: alone(binary, calls, "g"),
            "per_event": lambda: run_engine(tmp, PER_EVENT_SPEC, binary, calls, "g"),
            "syscount": lambda: run_engine(tmp, {"tool": "syscount"}, binary, calls, "g"),
            "bcc": lambda: run_bcc_syscount(binary, calls),
            "bt_print": lambda: run_bpftrace(
                'tracepoint:syscalls:sys_enter_getppid /pid == FLOODPID/ { printf("%d\\n", tid); }',
                binary,
                calls,
                "g",
                True,
            ),
            "bt_count": lambda: run_bpftrace(
                "tracepoint:raw_syscalls:sys_exit { @[args->id] = count(); }",
                binary,
                calls,
                "g",
                False,
            ),
        },
        reps,
    )
    base = r["alone"]["flood_s"]
    agg, per_event = r["syscount"], r["per_event"]
    counted = next(
        (
            e["value"]["count"]
            for e in agg["maps"]["counts"]["entries"]
            if e["key"]["syscall"] == "getppid"
        ),
        0,
    )
    rows = [
        ("tracerd per-event (ring buffer)", per_event["flood_s"]),
        ("tracerd syscount (in kernel)", agg["flood_s"]),
        ("BCC syscount-bpfcc", r["bcc"]["flood_s"]),
        ("bpftrace printf per event", r["bt_print"]["flood_s"]),
        ("bpftrace count() in kernel", r["bt_count"]["flood_s"]),
    ]
    print(f"  flood alone                        {calls / base:>12,.0f} calls/s")
    for name, secs in rows:
        print(f"  {name:<34} {calls / secs:>12,.0f} calls/s  slowdown {secs / base:.2f}x")
    print(
        f"  per-event delivered {per_event['events']:,}, lost {per_event['lost']:,}; "
        f"syscount counted {counted:,} getppid calls"
    )
    print(
        f"  ratio tracerd syscount / BCC syscount (slowdowns): "
        f"{agg['flood_s'] / r['bcc']['flood_s']:.2f}x (target <= 1.10)"
    )
    print(
        f"  ratio per-event / in-kernel aggregation (slowdowns): "
        f"{per_event['flood_s'] / agg['flood_s']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--part", choices=("a", "b", "ab"), default="ab")
    parser.add_argument("--reps", type=int, default=REPS)
    args = parser.parse_args()
    os.sched_setaffinity(0, {WORKER_CPU})
    with tempfile.TemporaryDirectory(prefix="tdbench") as tmp_dir:
        tmp = Path(tmp_dir)
        binary = build_flood(tmp)
        if "a" in args.part:
            part_a(tmp, binary, args.calls, args.reps)
        if "b" in args.part:
            part_b(tmp, binary, args.calls * 4, args.reps)


if __name__ == "__main__":
    sys.exit(main())
