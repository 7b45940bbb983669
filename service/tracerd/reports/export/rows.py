"""Stored events in `seq` order, fetched in chunks, each chunk in its own short read
transaction (a long one would keep SQLite's WAL from being checkpointed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...fields import expand_syscall, is_compact
from ...storage.queries import EventFilter
from ...storage.rollups import REBUILD_COLUMNS
from ...storage.tables import EventRow

CHUNK_ROWS = 2000  # a few MB at most for large events: memory is bounded by a chunk


class Row(NamedTuple):
    seq: int
    ts_ns: int
    cpu: int | None
    pid: int | None
    tid: int | None
    comm: str | None
    name: str
    fields: str
    """JSON text (a compact syscall's rebuilt: `fields.expand_syscall`)"""
    dur_ns: int | None
    ret: int | None
    errno: str | None


def iter_chunks(
    sessions: Callable[[], Session],
    session_id: int,
    flt: EventFilter,
    until_seq: int | None = None,
    chunk: int = CHUNK_ROWS,
) -> Iterator[list[Row]]:
    """Every matching event, `chunk` rows at a time (keyset paging on seq)."""
    after = -1
    while True:
        query = select(*REBUILD_COLUMNS).where(
            EventRow.session_id == session_id, EventRow.seq > after
        )
        if until_seq is not None:
            query = query.where(EventRow.seq <= until_seq)
        query = flt.apply(query, session_id).order_by(EventRow.seq).limit(chunk)
        with sessions() as db:  # Core rows: no ORM loading for millions of tuples
            rows = list(map(_row, db.connection().execute(query).all()))
        if not rows:
            return
        yield rows
        if len(rows) < chunk:
            return
        after = rows[-1].seq


def _row(stored: Any) -> Row:
    row = Row._make(stored)
    if is_compact(row.fields):
        text = expand_syscall(row.name, row.fields, row.ret, row.errno, row.dur_ns)
        return row._replace(fields=text)
    return row


def event_dict(row: Row, fields: Any) -> dict[str, Any]:
    """The API's event shape (GET /events)."""
    return {
        "seq": row.seq,
        "ts_ns": row.ts_ns,
        "cpu": row.cpu,
        "pid": row.pid,
        "tid": row.tid,
        "comm": row.comm,
        "name": row.name,
        "fields": fields,
    }
