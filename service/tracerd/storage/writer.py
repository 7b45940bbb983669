"""EventWriter: the single database writer of events, one thread, batched Core inserts.

Batches arrive from the event loop already stamped with `seq` (fields as JSON text, made
in the worker; columns packed by the worker, unpacked here: `wire.EventBatch`); the thread
turns them into rows, inserts them with one executemany per
transaction and commits at most every COMMIT_INTERVAL_S. Memory is bounded: `pending` counts queued
events and the bridges stop reading from workers while it is over the cap (backpressure
reaches the kernel buffers, which count the loss). Deleting a session's events also runs
here, one chunk per queue item (re-queued until done), so batches keep flowing meanwhile.
Rollups (rollups.py) are aggregated from each batch and upserted in its transaction, and so
are the batch's zone-map blocks (blocks.py); names and comms are stored as ids (interned.py).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from ..fields import compact_rows
from .batch import EventBatch
from .blocks import BlockBuilder
from .bulk import DEFAULT_MAX_VARIABLES, MultiRowInsert
from .interned import Interned
from .rollups import RollupBuilder
from .tables import (
    COMPACT_KINDS,
    SPECIAL_NAMES,
    EventBlockRow,
    EventRow,
    SessionRow,
    event_comms_table,
    event_names_table,
    events_table,
)

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.1
MAX_ROWS_PER_TXN = 50_000
DELETE_CHUNK_ROWS = 20_000
REBUILD_CHUNK_ROWS = 50_000
ROW_OVERHEAD_BYTES = 48
WRITER_CACHE_KIB = 8 * 1024
"""the writer's page cache: appends touch only the right edge of each B-tree (no secondary
index since schema 0003), so a bigger cache only held written pages (64 MiB of RSS)"""
WAL_CHECKPOINT_PAGES = 8000
RECORD_NAMES = frozenset(SPECIAL_NAMES)
"""rows that are records about the session (loss, maps), not its events: not `stored`"""


@dataclass(slots=True)
class _Batch:
    session_id: int
    first_seq: int
    events: EventBatch


@dataclass(slots=True)
class _Delete:
    session_id: int
    done: asyncio.Future[None]
    before_seq: int | None = None


@dataclass(slots=True)
class _Rebuild:
    """Re-aggregate a session's rollups from its stored events, one chunk per item."""

    session_id: int
    done: asyncio.Future[None] | None = None
    after_seq: int = -1


@dataclass(slots=True)
class SessionProgress:
    committed_seq: int = -1
    stored: int = 0
    stored_bytes: int = 0
    lost: int = 0
    """events that could not be stored (source "storage")"""
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


class EventWriter:
    """Owns the only connection that writes events."""

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop, cap_events: int) -> None:
        self._engine = engine
        self._loop = loop
        self.cap_events = cap_events
        self._queue: queue.SimpleQueue[_Batch | _Delete | _Rebuild | None] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._space = asyncio.Event()
        self._space.set()
        self._progress: dict[int, SessionProgress] = {}
        self.last_commit_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self._insert_sql = str(events_table.insert().compile(dialect=engine.dialect))
        self._positional = bool(engine.dialect.positional)
        self._columns = [c.name for c in events_table.columns]
        self._bulk: MultiRowInsert | None = None
        """SQLite: multi-row statements (bulk.py); set once the writer's connection is open"""
        self._rollups = RollupBuilder(engine.dialect)
        self._blocks = BlockBuilder()
        self._names = Interned(engine.dialect, event_names_table, "name")
        self._comms = Interned(engine.dialect, event_comms_table, "comm")
        self._compact: dict[int, bool] = {}
        """per session: whether its traced syscalls are stored compact (fields.py)"""

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout_s: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    # -- called on the event loop ------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._pending

    async def wait_for_space(self) -> None:
        while self._pending >= self.cap_events:
            self._space.clear()
            await self._space.wait()

    def progress(self, session_id: int) -> SessionProgress:
        return self._progress.setdefault(session_id, SessionProgress())

    def submit(self, session_id: int, first_seq: int, events: Sequence[Sequence[Any]]) -> None:
        """Queue a batch: an EventBatch, or rows in WireEvent order."""
        if not events:
            return
        batch = EventBatch.of_rows(events)
        with self._lock:
            self._pending += len(batch)
        self._queue.put(_Batch(session_id, first_seq, batch))

    async def wait_committed(self, session_id: int, seq: int) -> None:
        """Return once every event of the session up to `seq` is committed."""
        prog = self.progress(session_id)
        if prog.committed_seq >= seq:
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        prog.waiters.append((seq, fut))
        await fut

    async def delete_session(self, session_id: int, before_seq: int | None = None) -> None:
        """Delete a session's events (all, or those with seq < before_seq), in chunks; with
        `before_seq`, returns once the session's rollups are rebuilt from what is left."""
        fut: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Delete(session_id, fut, before_seq))
        await fut

    def forget(self, session_id: int) -> None:
        self._progress.pop(session_id, None)
        self._compact.pop(session_id, None)

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        with self._engine.connect() as conn:
            if self._engine.dialect.name == "sqlite":
                # the writer's own connection: its page cache, and fewer (larger) WAL
                # checkpoints
                conn.exec_driver_sql(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
                # no parent lookup per inserted event (a B-tree search each: ~15 % of the
                # insert): events are only written here, for sessions that exist until
                # their events are deleted (here too); other connections keep the checks
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                self._bulk = MultiRowInsert(events_table.name, _max_variables(conn))
            try:
                self._loop_items(conn)
            finally:
                conn.rollback()
                conn.invalidate()  # its pragmas are the writer's: not back into the pool

    def _loop_items(self, conn: Connection) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            batches: list[_Batch] = []
            rows = 0
            deadline = time.monotonic() + COMMIT_INTERVAL_S
            while item is not None:
                if isinstance(item, _Delete | _Rebuild):
                    self._flush(conn, batches)
                    batches, rows = [], 0
                    self._maintain(conn, item)
                else:
                    batches.append(item)
                    rows += len(item.events)
                if rows >= MAX_ROWS_PER_TXN or time.monotonic() >= deadline:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if item is None:
                stop = True
            self._flush(conn, batches)

    def _batch_columns(
        self, conn: Connection, batch: _Batch
    ) -> tuple[list[Sequence[Any]], int, int]:
        """The batch's columns after seq (rollups applied; names and comms as ids), their
        stored size and how many of them are events (not loss or maps records)."""
        sid, seq = batch.session_id, batch.first_seq
        cols = batch.events.columns()
        events: Sequence[Sequence[Any]] = batch.events
        promoted = self._rollups.ingest(sid, seq, events, cols)
        if promoted is not events:  # the rollups promoted columns of some events
            events, cols = promoted, list(zip(*promoted, strict=True))
        ts, cpus, pids, tids, comm_col, name_col, texts, durs, rets, errs = cols
        present = set(name_col)
        names = self._names.ensure(conn, present)
        comms = self._comms.ensure(conn, set(comm_col))
        if self._compacts(conn, sid):
            texts = tuple(compact_rows(name_col, texts, rets, errs, durs))
        columns: list[Sequence[Any]] = [  # column by column, in C: no Python code per event
            ts,
            cpus,
            pids,
            tids,
            list(map(comms.__getitem__, comm_col)),
            list(map(names.__getitem__, name_col)),
            durs,
            rets,
            errs,
            texts,
        ]
        size = sum(map(len, texts)) + ROW_OVERHEAD_BYTES * len(events)
        self._blocks.add(sid, seq, ts)
        return columns, size, _real_events(name_col, present)

    def _insert(self, conn: Connection, batch: _Batch, columns: list[Sequence[Any]]) -> None:
        sid, seq = batch.session_id, batch.first_seq
        if self._bulk is not None:
            self._bulk.insert(conn, sid, seq, columns)
            return
        n = len(columns[0])
        rows = zip(repeat(sid, n), range(seq, seq + n), *columns, strict=True)
        if self._positional:
            conn.exec_driver_sql(self._insert_sql, list(rows))
        else:
            conn.exec_driver_sql(
                self._insert_sql, [dict(zip(self._columns, r, strict=True)) for r in rows]
            )

    def _compacts(self, conn: Connection, sid: int) -> bool:
        """Whether the session's traced syscalls are stored compact (its kind, read once)."""
        known = self._compact.get(sid)
        if known is None:
            kind = conn.execute(select(SessionRow.kind).where(SessionRow.id == sid)).scalar()
            known = self._compact[sid] = kind in COMPACT_KINDS
        return known

    def _flush(self, conn: Connection, batches: list[_Batch]) -> None:
        if not batches:
            return
        sizes: dict[int, tuple[int, int, int, int]] = {}
        count = sum(len(batch.events) for batch in batches)
        try:
            for batch in batches:
                columns, size, real = self._batch_columns(conn, batch)
                self._insert(conn, batch, columns)
                last = batch.first_seq + len(batch.events) - 1
                n, b, _, _ = sizes.get(batch.session_id, (0, 0, 0, 0))
                sizes[batch.session_id] = (n + real, b + size, last, 0)
            self._blocks.write(conn)
            self._rollups.write(conn)
            conn.commit()
        except Exception:
            # a broken batch must not stop the writer: count it as storage loss
            log.exception("event batch of %d events could not be stored", count)
            conn.rollback()
            self._rollups.discard()
            self._blocks.discard()
            self._names.clear()  # ids made in the rolled-back transaction are gone
            self._comms.clear()
            sizes = {}  # every batch of the transaction, also those not turned into rows
            for batch in batches:
                last = batch.first_seq + len(batch.events) - 1
                n = sizes.get(batch.session_id, (0, 0, 0, 0))[3]
                real = _stored_if_committed(batch.events)
                sizes[batch.session_id] = (0, 0, last, n + real)
        with self._lock:
            self._pending -= count
        self._loop.call_soon_threadsafe(self._committed, sizes)

    def _maintain(self, conn: Connection, job: _Delete | _Rebuild) -> None:
        """One chunk of a delete or a rollup rebuild; re-queued until done."""
        try:
            if isinstance(job, _Rebuild):
                finished = self._rebuild_step(conn, job)
            else:
                finished = self._delete_step(conn, job)
            conn.commit()
        except Exception as exc:
            conn.rollback()
            log.exception("session %d: storage maintenance failed", job.session_id)
            if job.done is not None:
                self._loop.call_soon_threadsafe(_set_exception, job.done, exc)
            return
        if finished and job.done is not None:
            self._loop.call_soon_threadsafe(_set_result, job.done)

    def _rebuild_step(self, conn: Connection, job: _Rebuild) -> bool:
        after = self._rollups.rebuild_chunk(conn, job.session_id, job.after_seq, REBUILD_CHUNK_ROWS)
        if after is None:
            return True
        self._queue.put(_Rebuild(job.session_id, job.done, after))
        return False

    def _delete_step(self, conn: Connection, job: _Delete) -> bool:
        if self._delete_chunk(conn, job):
            self._queue.put(job)
            return False
        if job.before_seq is None:
            self._rollups.forget(job.session_id)
            return True
        # the rollups of what is left are rebuilt before the delete is done
        self._rollups.invalidate(conn, job.session_id)
        self._queue.put(_Rebuild(job.session_id, job.done))
        return False

    def _delete_chunk(self, conn: Connection, job: _Delete) -> bool:
        """Delete the oldest chunk of the job's events; False once none are left."""
        keys = select(EventRow.seq).where(EventRow.session_id == job.session_id)
        if job.before_seq is not None:
            keys = keys.where(EventRow.seq < job.before_seq)
        keys = keys.order_by(EventRow.seq).limit(DELETE_CHUNK_ROWS)
        seqs = [row[0] for row in conn.execute(keys)]
        if not seqs:
            return False
        conn.execute(
            delete(EventRow).where(
                EventRow.session_id == job.session_id,
                EventRow.seq >= seqs[0],
                EventRow.seq <= seqs[-1],
            )
        )
        conn.execute(  # blocks that end in the chunk (one across its end stays: wider)
            delete(EventBlockRow).where(
                EventBlockRow.session_id == job.session_id, EventBlockRow.last_seq <= seqs[-1]
            )
        )
        return True

    # -- back on the loop ----------------------------------------------------------------

    def _committed(self, sizes: dict[int, tuple[int, int, int, int]]) -> None:
        self.last_commit_at = time.monotonic()
        for sid, (n, size, last, lost) in sizes.items():
            prog = self.progress(sid)
            prog.stored += n
            prog.lost += lost
            prog.stored_bytes += size
            prog.committed_seq = max(prog.committed_seq, last)
            still = []
            for target, fut in prog.waiters:
                if target <= prog.committed_seq:
                    _set_result(fut)
                else:
                    still.append((target, fut))
            prog.waiters = still
        if self._pending < self.cap_events:
            self._space.set()


def _real_events(names: Sequence[str], present: set[str]) -> int:
    """How many events a batch's `names` column holds, not loss or maps records
    (`present`: the set of its names)."""
    if present.isdisjoint(RECORD_NAMES):
        return len(names)
    return len(names) - sum(names.count(record) for record in RECORD_NAMES & present)


def _stored_if_committed(batch: EventBatch) -> int:
    """The events (not records) of a batch whose transaction failed: its storage loss."""
    try:
        names = batch.columns()[5]
    except Exception:  # columns that cannot be read: count what the worker said
        return len(batch) - batch.lost
    return _real_events(names, set(names))


def _max_variables(conn: Connection) -> int:
    """SQLite's limit on parameters in one statement, for this connection."""
    dbapi = conn.connection.driver_connection
    getlimit = getattr(dbapi, "getlimit", None)  # Python >= 3.11
    if getlimit is None:
        return DEFAULT_MAX_VARIABLES
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _set_result(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _set_exception(fut: asyncio.Future[None], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
