"""The worker -> daemon wire alone (no root): a batch as rows vs as packed columns.

    PYTHONPATH=service python bench/wire_batches.py [--batch B] [--rounds R]

For batches of opensnoop-like and getppid-like WireEvents, the CPU time per event of
the worker's side (fields to JSON text, the frame packed) and of the daemon's side until
the writer holds the batch's columns (frame unpacked; rows: `zip(*rows)` in the writer;
columns: `EventBatch.columns()` on the writer thread), for the older row frame and the
column frame the worker sends now. Best of R rounds. And the rollups of the same batches
(`RollupBuilder.ingest` from columns), the writer's per-batch aggregation.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import sqlite

from tracerd.storage.rollups import RollupBuilder
from tracerd.types import WireEvent
from tracerd.workers import wire

T0 = 10**12


def events_of(kind: str, n: int) -> list[WireEvent]:
    """Events as the bpf tool (promoted return value and errno) or the tracefs flood makes
    them."""
    out = []
    for i in range(n):
        if kind == "opensnoop":
            path = f"/nonexistent/{i % 97}"
            fields = {"ret": -2, "fd": -1, "err": 2, "flags": 0, "path": path}
            name, ret, err = "opensnoop", -2, "ENOENT"
        else:
            fields, name, ret, err = {"__syscall_nr": 110}, "syscalls:sys_enter_getppid", None, None
        out.append(
            WireEvent(T0 + i * 350, i & 1, 4321, 4321, "tdload", name, fields, None, ret, err)
        )
    return out


def rows_path(events: list[WireEvent]) -> tuple[bytes, Callable[[bytes], Any]]:
    body = wire.pack({"t": "events", "events": wire.event_rows(events)})
    return body, lambda b: list(zip(*wire.unpack(b[wire.HEADER.size :])["events"], strict=True))


def columns_path(events: list[WireEvent]) -> tuple[bytes, Callable[[bytes], Any]]:
    body = wire.pack(wire.events_frame(events))
    return body, lambda b: wire.frame_batch(wire.unpack(b[wire.HEADER.size :])).columns()


def best(rounds: int, fn: Callable[[], Any]) -> float:
    out = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        fn()
        out = min(out, time.process_time() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    n = args.batch
    print(f"CPU ns per event, batches of {n}, best of {args.rounds}")
    for kind in ("opensnoop", "getppid"):
        events = events_of(kind, n)
        for label, path in (("rows (before)", rows_path), ("columns", columns_path)):
            body, receive = path(events)
            worker = best(args.rounds, lambda p=path, e=events: p(e))  # type: ignore[misc]
            daemon = best(args.rounds, lambda r=receive, b=body: r(b))  # type: ignore[misc]
            print(
                f"{kind:<10} {label:<14} worker {worker / n * 1e9:5.0f}  daemon "
                f"{daemon / n * 1e9:5.0f}  frame {len(body) / n:5.1f} B/event"
            )
        cols = wire.events_frame(events)
        batch_cols = wire.frame_batch(cols).columns()

        builder = RollupBuilder(sqlite.dialect())

        def rollups(c: Any = batch_cols, b: RollupBuilder = builder) -> None:
            b.ingest(1, n, wire.EventBatch(n, 0, cols=c), c)

        print(f"{kind:<10} rollups        {best(args.rounds, rollups) / n * 1e9:5.0f}")


if __name__ == "__main__":
    main()
