"""Reports on a 10M-event session: load it through the real EventWriter (rollups kept at
ingest), then time every report from rollups and, for comparison, the same report over the
events table (a time range covering the whole session forces that path).

    PYTHONPATH=service python bench/reports_10m.py [--events N] [--db PATH] [--skip-events-path]

The session looks like a busy tracefs recording: raw_syscalls enter/exit pairs of 48
threads on 2 CPUs (70 %), sched_switch (20 %) and sched_wakeup (10 %) over ~100 s. The
writer's throughput with and without rollups is measured on a short run first (same
data). Figures are wall-clock seconds on this machine (shared, noisy CPUs): compare the
ratios printed side by side, not the absolute numbers with another machine's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from tracerd.engines.tracefs.pairing import SyscallPairer
from tracerd.reports.export import encoder_for, export_stream, first_ts
from tracerd.reports.latency import latency
from tracerd.reports.query import SessionInfo
from tracerd.reports.sched import sched
from tracerd.reports.summary import summary
from tracerd.reports.syscalls import syscalls
from tracerd.reports.timeline import timeline
from tracerd.reports.top import top
from tracerd.specs import TracefsSpec
from tracerd.storage import db as storage_db
from tracerd.storage.queries import EventFilter
from tracerd.storage.tables import EventRow
from tracerd.storage.writer import EventWriter
from tracerd.types import WireEvent
from tracerd.workers.wire import event_rows

BATCH = 20_000
THREADS = 48
NRS = (0, 1, 3, 257, 202, 9, 232, 7)  # read write close openat futex mmap epoll_wait poll
T0 = 10**12
SPAN_NS = 100 * 10**9


def events(n: int, seed: int = 7) -> Iterator[list[list[Any]]]:
    """Batches of wire-shaped events (lists), in ts order."""
    rng = random.Random(seed)
    step = SPAN_NS // n
    inflight: dict[int, int] = {}
    running = [0, 0]
    batch: list[list[Any]] = []
    pairer = SyscallPairer()
    ts = T0
    for _ in range(n):
        ts += rng.randint(1, 2 * step)
        roll = rng.random()
        cpu = rng.randint(0, 1)
        if roll < 0.7:
            tid = 1000 + rng.randrange(THREADS)
            comm = f"worker{tid % 6}"
            if tid in inflight:
                nr = inflight.pop(tid)
                ret = -11 if nr == 202 and rng.random() < 0.2 else 8
                batch.append(
                    [
                        ts,
                        cpu,
                        1000,
                        tid,
                        comm,
                        "raw_syscalls:sys_exit",
                        {"id": nr, "ret": ret},
                        None,
                        None,
                        None,
                    ]
                )
            else:
                nr = rng.choice(NRS)
                inflight[tid] = nr
                args = [3, 140000000, 4096, 0, 0, 0]
                batch.append(
                    [
                        ts,
                        cpu,
                        1000,
                        tid,
                        comm,
                        "raw_syscalls:sys_enter",
                        {"id": nr, "args": args},
                        None,
                        None,
                        None,
                    ]
                )
        elif roll < 0.9:
            prev, nxt = running[cpu], rng.choice([0, *range(1000, 1000 + THREADS)])
            fields = {
                "prev_comm": f"worker{prev % 6}",
                "prev_pid": prev,
                "prev_prio": 120,
                "prev_state": rng.choice([0, 1, 1, 2]),
                "next_comm": f"worker{nxt % 6}",
                "next_pid": nxt,
                "next_prio": 120,
            }
            batch.append(
                [
                    ts,
                    cpu,
                    1000,
                    prev,
                    f"worker{prev % 6}",
                    "sched:sched_switch",
                    fields,
                    None,
                    None,
                    None,
                ]
            )
            running[cpu] = nxt
        else:
            woken = 1000 + rng.randrange(THREADS)
            fields = {"comm": f"worker{woken % 6}", "pid": woken, "prio": 120, "target_cpu": cpu}
            batch.append(
                [
                    ts,
                    cpu,
                    1000,
                    running[cpu],
                    "waker",
                    "sched:sched_wakeup",
                    fields,
                    None,
                    None,
                    None,
                ]
            )
        if len(batch) == BATCH:
            yield as_worker_sends(pairer, batch)
            batch = []
    if batch:
        yield as_worker_sends(pairer, batch)


def as_worker_sends(pairer: SyscallPairer, batch: list[list[Any]]) -> list[list[Any]]:
    """A tracefs worker's batch: syscall exits paired, fields as JSON text."""
    events = [WireEvent(*e) for e in batch]
    pairer.apply(events)
    return event_rows(events)


def new_session(engine: Any) -> int:
    with engine.begin() as c:
        return int(
            c.execute(
                text(
                    "INSERT INTO sessions (kind, name, state, spec, created_at, started_at, "
                    "stopped_at, clock, wall_offset_ns, counters, resources, info, daemon_id, "
                    "host_id, stored_bytes) VALUES ('tracefs', 'bench', 'stopped', '{}', "
                    "'2026-01-01', '2026-01-01', '2026-01-01 00:01:40', 'mono', 0, '{}', '[]', "
                    "'{}', 'bench', 'bench', 0) RETURNING id"
                )
            ).scalar_one()
        )


async def load(engine: Any, sid: int, n: int, rollups: bool = True) -> float:
    writer = EventWriter(engine, asyncio.get_running_loop(), 400_000)
    if not rollups:
        writer._rollups.ingest = lambda s, f, e: e  # type: ignore[method-assign]
        writer._rollups.write = lambda c: None  # type: ignore[method-assign]
    return await feed(writer, sid, events(n))


async def feed(writer: EventWriter, sid: int, batches: Iterable[Sequence[Sequence[Any]]]) -> float:
    """Starts `writer`, submits `batches` as the ingest does (waiting for space), and returns
    the seconds until all are committed; the writer is closed after."""
    writer.start()
    seq = 0
    t = time.perf_counter()
    for batch in batches:
        await writer.wait_for_space()
        writer.submit(sid, seq, batch)
        seq += len(batch)
    await writer.wait_committed(sid, seq - 1)
    elapsed = time.perf_counter() - t
    await asyncio.to_thread(writer.close)
    return elapsed


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--db", type=Path, help="reuse (or create) this database")
    ap.add_argument("--skip-events-path", action="store_true", help="only the rollup path")
    ap.add_argument("--writer-sample", type=int, default=200_000)
    args = ap.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="reports10m", dir="/var/tmp")) / "bench.db"
    url = f"sqlite:///{path}"
    storage_db.upgrade(url)
    engine = storage_db.make_engine(url)
    sessions = storage_db.make_sessionmaker(engine)

    sample = args.writer_sample
    on = asyncio.run(load(engine, new_session(engine), sample))
    off = asyncio.run(load(engine, new_session(engine), sample, rollups=False))
    print(f"writer, {sample} events: with rollups {sample / on:,.0f} ev/s, "
          f"without {sample / off:,.0f} ev/s (ratio {off / on:.2f})")  # fmt: skip

    with sessions() as db:
        sid = db.execute(
            select(EventRow.session_id, func.count())
            .group_by(EventRow.session_id)
            .having(func.count() >= args.events)
        ).scalar()
    if sid is None:
        sid = new_session(engine)
        elapsed = asyncio.run(load(engine, sid, args.events))
        print(f"loaded {args.events:,} events through the writer in {elapsed:.1f}s "
              f"({args.events / elapsed:,.0f} ev/s) into {path}")  # fmt: skip
    info = SessionInfo(
        sid,
        "tracefs",
        "bench",
        "stopped",
        TracefsSpec(events=["raw_syscalls:*"]),
        None,
        None,
        0,
        {},
    )
    whole = EventFilter(since_ns=0)
    reports: list[tuple[str, Callable[[Any, EventFilter], Any]]] = [
        ("summary", lambda db, f: summary(db, info, f)),
        ("syscalls", lambda db, f: syscalls(db, info, f)),
        ("latency syscall=read", lambda db, f: latency(db, info, f, syscall="read")),
        ("latency all dur_ns", lambda db, f: latency(db, info, f)),
        ("timeline", lambda db, f: timeline(db, info, f)),
        ("top comm", lambda db, f: top(db, info, f, "comm")),
        ("sched", lambda db, f: sched(db, info, f)),
    ]
    print(f"{'report':<22} {'rollups s':>10} {'events s':>10} {'ratio':>7}")
    for name, fn in reports:
        with sessions() as db:
            fast, _ = timed(lambda fn=fn, db=db: fn(db, EventFilter()))  # type: ignore[misc]
        slow_text, ratio = "-", "-"
        if not args.skip_events_path:
            with sessions() as db:
                slow, _ = timed(lambda fn=fn, db=db: fn(db, whole))  # type: ignore[misc]
            slow_text, ratio = f"{slow:.3f}", f"{slow / fast:.0f}x"
        print(f"{name:<22} {fast:>10.3f} {slow_text:>10} {ratio:>7}")
        sys.stdout.flush()
    with sessions() as db:
        base = first_ts(db, sid)
        one_s = EventFilter(since_ns=base + 50 * 10**9, until_ns=base + 51 * 10**9)
        for name, fn in reports:
            spent, _ = timed(lambda fn=fn: fn(db, one_s))  # type: ignore[misc]
            print(f"{name:<22} over a 1 s range (events path): {spent:.3f}s")
    for fmt in ("jsonl", "chrome"):
        limit = EventFilter(until_ns=base + 10 * 10**9)  # the first 10 % of the session
        encoder = encoder_for(fmt, info, base)
        t = time.perf_counter()
        size = sum(len(c) for c in export_stream(sessions, info, limit, encoder))
        spent = time.perf_counter() - t
        print(f"export {fmt}: {size / 1e6:.0f} MB in {spent:.1f}s ({size / 1e6 / spent:.0f} MB/s)")


if __name__ == "__main__":
    main()
