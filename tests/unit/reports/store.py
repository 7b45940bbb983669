"""A temporary database with the real EventWriter, for report tests without a kernel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tracerd.engines.tracefs.pairing import SyscallPairer
from tracerd.reports.query import SessionInfo
from tracerd.specs import SPEC_BY_KIND
from tracerd.storage import db as storage_db
from tracerd.storage.tables import SessionRow
from tracerd.storage.writer import EventWriter
from tracerd.types import WireEvent
from tracerd.workers.wire import event_row

from ...pg import reset_schema

T0 = 1_000_000_000_000


class Store:
    """SQLite on tmp_path (or the PostgreSQL database at `url`, emptied first); events go in
    through a real EventWriter on a private loop."""

    def __init__(self, root: Path, url: str | None = None) -> None:
        if url is None:
            url = f"sqlite:///{root / 'r.db'}"
        else:
            reset_schema(url)
        storage_db.upgrade(url)
        self.engine: Engine = storage_db.make_engine(url)
        self.db: sessionmaker[Session] = storage_db.make_sessionmaker(self.engine)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.writer = self.call(self._make_writer)
        self.writer.start()
        self.next_seq: dict[int, int] = {}
        self.pairers: dict[int, SyscallPairer] = {}

    async def _make_writer(self) -> EventWriter:
        return EventWriter(self.engine, asyncio.get_running_loop(), 1_000_000)

    def call(self, coro_fn: Any, *args: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self.loop).result(60)

    def close(self) -> None:
        self.writer.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
        self.engine.dispose()

    def session(self, kind: str, spec: dict[str, Any] | None = None, state: str = "stopped") -> int:
        now = datetime.now(UTC)
        row = SessionRow(
            kind=kind,
            name=f"test-{kind}",
            state=state,
            spec=spec or {},
            created_at=now - timedelta(seconds=10),
            started_at=now - timedelta(seconds=10),
            stopped_at=now if state == "stopped" else None,
            clock="mono",
            wall_offset_ns=0,
            counters={"events": 0, "stored": 0, "lost": {}},
            resources=[],
            info={},
            daemon_id="test",
            host_id="test",
            stored_bytes=0,
        )
        with self.db.begin() as db:
            db.add(row)
            db.flush()
            return int(row.id)

    def info(self, sid: int) -> SessionInfo:
        with self.db() as db:
            row = db.get(SessionRow, sid)
            assert row is not None
            return SessionInfo(
                row.id,
                row.kind,
                row.name,
                row.state,
                SPEC_BY_KIND[row.kind].model_construct(**row.spec),  # test rows: partial specs
                row.started_at.isoformat() if row.started_at else None,
                row.stopped_at.isoformat() if row.stopped_at else None,
                row.wall_offset_ns,
                row.counters,
            )

    def ingest(self, sid: int, events: Sequence[Sequence[Any]], batch: int = 1000) -> None:
        """Submit in batches (as the daemon does) and wait until committed; syscall exits
        are paired first, as a tracefs worker does (its other events are left as they are)."""
        pairer = self.pairers.setdefault(sid, SyscallPairer())

        async def go() -> None:
            seq = self.next_seq.get(sid, 0)
            for i in range(0, len(events), batch):
                part = [WireEvent(*e) for e in events[i : i + batch]]
                pairer.apply(part)
                chunk = [event_row(e) for e in part]
                self.writer.submit(sid, seq, chunk)
                seq += len(chunk)
            self.next_seq[sid] = seq
            await self.writer.wait_committed(sid, seq - 1)

        self.call(go)


def ev(
    ts: int,
    name: str,
    fields: dict[str, Any] | None = None,
    *,
    cpu: int | None = 0,
    pid: int | None = 100,
    tid: int | None = None,
    comm: str | None = "prog",
    dur: int | None = None,
    ret: int | None = None,
    errno: str | None = None,
) -> WireEvent:
    return WireEvent(
        T0 + ts, cpu, pid, pid if tid is None else tid, comm, name, fields or {}, dur, ret, errno
    )


def iter_ts(start: int, step: int) -> Iterator[int]:
    t = start
    while True:
        yield t
        t += step
