"""The store path alone (no root): the real EventWriter against a bare executemany, one run.

    PYTHONPATH=service python bench/store_rate.py [--events N] [--batch B] [--kind K] [--rounds R]

Feeds N wire-shaped events (as a worker's frames carry them: columns packed once) in
batches of B through the daemon's EventWriter (rollups, commits) into a fresh SQLite
database and times until all are committed. Then it reads the rows the writer stored
back and inserts the same rows with one bare `executemany` per 50,000 rows into an
index-free copy of the events table (the limit the issue names), and once more into a copy
with the three secondary indexes the table had before schema 0003. Printed: events/s of
each, the ratio writer/bare by wall time and by CPU time of the process (steadier on a
shared machine), and the bytes per stored event (pages of the table and its indexes).

Kinds: `getppid` (tracefs `syscalls:sys_enter_getppid`, as bench/tracefs_capture.py
records), `raw` (raw_syscalls enter/exit pairs, paired as the tracefs worker sends them:
the latency rollups at work), `opensnoop` (the bpf tool's events: promoted return value and
errno, ~80 B of fields).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reports_10m import feed, new_session

from tracerd.engines.tracefs.pairing import SyscallPairer
from tracerd.storage import db as storage_db
from tracerd.storage.writer import EventWriter
from tracerd.types import WireEvent
from tracerd.workers.wire import HEADER, EventBatch, events_frame, frame_batch, pack, unpack

T0 = 10**12
TXN_ROWS = 50_000


def wire_batches(kind: str, n: int, batch: int) -> Iterator[EventBatch]:
    """Batches as a worker sends them (tracefs syscall exits paired in the worker)."""
    pairer = SyscallPairer()
    out: list[WireEvent] = []
    for i in range(n):
        ts = T0 + i * 350
        ret: int | None = None
        err: str | None = None
        fields: dict[str, Any]
        if kind == "getppid":
            fields = {"__syscall_nr": 110}
            name = "syscalls:sys_enter_getppid"
        elif kind == "opensnoop":
            fields = {"ret": -2, "fd": -1, "err": 2, "flags": 0, "path": f"/nonexistent/{i % 97}"}
            name, ret, err = "opensnoop", -2, "ENOENT"
        elif i % 2 == 0:
            fields = {"id": 110, "args": [0, 0, 0, 0, 0, 0]}
            name = "raw_syscalls:sys_enter"
        else:
            fields = {"id": 110, "ret": 4321}
            name = "raw_syscalls:sys_exit"
        out.append(WireEvent(ts, i & 1, 4321, 4321, "tdload5e2f1a", name, fields, None, ret, err))
        if len(out) == batch:
            pairer.apply(out)
            yield as_sent(out)
            out = []
    if out:
        pairer.apply(out)
        yield as_sent(out)


def as_sent(events: list[WireEvent]) -> EventBatch:
    """A batch as the daemon's writer gets it from a worker: columns packed in the worker,
    unpacked by the writer."""
    return frame_batch(unpack(pack(events_frame(events))[HEADER.size :]))


async def through_writer(engine: Any, sid: int, batches: list[EventBatch]) -> float:
    return await feed(EventWriter(engine, asyncio.get_running_loop(), 400_000), sid, batches)


def cpu_and_wall(fn: Callable[[], Any]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of `fn()`: the CPU figure holds on a
    machine shared with other work, where wall time swings by 2x between runs."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def table_bytes(path: Path, prefix: str) -> int:
    """Bytes of the pages of tables and indexes whose name starts with `prefix`."""
    con = sqlite3.connect(path)
    try:
        row = con.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE ? OR name IN "
            "(SELECT name FROM sqlite_schema WHERE tbl_name LIKE ?)",
            (prefix + "%", prefix + "%"),
        ).fetchone()
    finally:
        con.close()
    return int(row[0] or 0)


def bare_copy(path: Path, table: str, indexes: bool) -> None:
    """An empty copy of the events table (same columns and primary key, no foreign key),
    with or without the three secondary indexes the events table had before schema 0003."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        ddl = con.execute("SELECT sql FROM sqlite_schema WHERE name = 'events'").fetchone()[0]
        ddl = re.sub(r",\s*FOREIGN KEY\([^)]*\) REFERENCES [^)]*\)[A-Z ]*", "", ddl)
        con.execute(re.sub(r'CREATE TABLE "?events"?', f"CREATE TABLE {table}", ddl, count=1))
        if indexes:  # the three of schema 0002 (name_id in place of the name)
            for cols in ("session_id, name_id, ts_ns", "session_id, ts_ns", "session_id, pid"):
                label = cols.replace(", ", "_")
                con.execute(f"CREATE INDEX {table}_{label} ON {table} ({cols})")
    finally:
        con.close()


def bare_insert(path: Path, table: str, rows: list[tuple[Any, ...]]) -> tuple[float, float]:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    marks = ",".join("?" * len(rows[0]))
    sql = f"INSERT INTO {table} VALUES ({marks})"

    def insert() -> None:
        for i in range(0, len(rows), TXN_ROWS):
            con.execute("BEGIN")
            con.executemany(sql, rows[i : i + TXN_ROWS])
            con.execute("COMMIT")

    elapsed = cpu_and_wall(insert)
    con.close()
    return elapsed


Timing = tuple[float, float]
"""(CPU seconds, wall seconds)"""


def one_round(kind: str, n: int, batch: int) -> tuple[list[Timing], list[float]]:
    """The timings of the writer, the bare insert and the bare insert with the indexes of
    before, and the bytes per event of each, in a fresh database."""
    with tempfile.TemporaryDirectory(prefix="tracerd-store-", dir="/var/tmp") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        storage_db.upgrade(url)
        engine = storage_db.make_engine(url)
        sid = new_session(engine)
        batches = list(wire_batches(kind, n, batch))
        ours = cpu_and_wall(lambda: asyncio.run(through_writer(engine, sid, batches)))
        batches.clear()
        with engine.connect() as c:
            rows = [tuple(r) for r in c.exec_driver_sql("SELECT * FROM events").all()]
        engine.dispose()
        assert len(rows) == n, (len(rows), n)
        bare_copy(path, "bare_plain", indexes=False)
        bare_copy(path, "bare_indexed", indexes=True)
        plain = bare_insert(path, "bare_plain", rows)
        indexed = bare_insert(path, "bare_indexed", rows)
        sizes = [table_bytes(path, t) / n for t in ("events", "bare_plain", "bare_indexed")]
        return [ours, plain, indexed], sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--kind", choices=("getppid", "raw", "opensnoop"), default="getppid")
    ap.add_argument("--rounds", type=int, default=1, help="writer then bare, this many times")
    args = ap.parse_args()
    n = args.events
    rounds = [one_round(args.kind, n, args.batch) for _ in range(args.rounds)]
    sizes = rounds[-1][1]
    print(f"{n:,} {args.kind} events in batches of {args.batch}, 12 columns a row")
    print(f"{'path':<44} {'k ev/s wall (each round)':>26} {'k ev/CPU-s':>16} {'B/event':>8}")
    for i, label in enumerate(
        (
            "tracerd EventWriter (rollups, commits)",
            "bare executemany, index-free copy",
            "bare executemany, + the 3 indexes of before",
        )
    ):
        wall = " ".join(f"{n / r[0][i][1] / 1e3:,.0f}" for r in rounds)
        cpu = " ".join(f"{n / r[0][i][0] / 1e3:,.0f}" for r in rounds)
        print(f"{label:<44} {wall:>26} {cpu:>16} {sizes[i]:>8.1f}")
    for what, k in (("wall", 1), ("CPU", 0)):
        ratios = sorted(r[0][1][k] / r[0][0][k] for r in rounds)
        each = " ".join(f"{x:.2f}" for x in ratios)
        med = statistics.median(ratios)
        print(f"ratio writer / bare index-free ({what}): median {med:.2f} ({each}) (goal >= 0.65)")


if __name__ == "__main__":
    main()
