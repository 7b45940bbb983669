"""A worker's GC on the tracefs send path: CPython's default thresholds vs `tune_gc`.

Usage (no root): PYTHONPATH=service python bench/worker_gc.py [--batches N]
Each configuration runs in its own process: batches of 8,192 getppid-like WireEvents are
built while 32 batches wait (as the merge holds decoded events for the horizon), and each
batch leaving is turned into wire rows and packed with msgpack. Printed: the time per
event and, per GC generation, the collections, the longest pause and their sum (a pause
holds the GIL: the per-CPU readers cannot drain the kernel meanwhile, and a 1408 KiB
buffer holds ~27 ms of a getppid flood).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import msgpack

from tracerd.engines.base import tune_gc
from tracerd.types import WireEvent
from tracerd.workers import wire

BATCH = 8192
WAITING = 32


def measure(batches: int, tuned: bool) -> None:
    if tuned:
        tune_gc()
    pauses: dict[int, list[float]] = defaultdict(list)
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - started[0])

    gc.callbacks.append(on_gc)
    waiting: list[list[WireEvent]] = []
    t0 = time.perf_counter()
    for k in range(batches):
        fields = {"__syscall_nr": 110}
        waiting.append(
            [
                WireEvent(k * BATCH + i, 1, 1234, 1234, "tdload", "getppid", dict(fields))
                for i in range(BATCH)
            ]
        )
        if len(waiting) > WAITING:
            msgpack.packb({"t": "events", "events": wire.event_rows(waiting.pop(0))})
    per_event = (time.perf_counter() - t0) / (batches * BATCH)
    gc.callbacks.remove(on_gc)
    label = "tune_gc" if tuned else "default"
    print(f"{label:8s}: {per_event * 1e6:.2f} µs an event")
    for gen, p in sorted(pauses.items()):
        print(
            f"  gen {gen}: {len(p):5d} collections, longest {max(p) * 1e3:6.2f} ms, "
            f"sum {sum(p) * 1e3:7.1f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=250)
    ap.add_argument("--one", choices=["default", "tuned"])
    args = ap.parse_args()
    if args.one:
        measure(args.batches, args.one == "tuned")
        return
    for one in ("default", "tuned"):
        cmd = [sys.executable, __file__, "--batches", str(args.batches), "--one", one]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
