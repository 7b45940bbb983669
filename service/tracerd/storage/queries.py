"""Read queries over stored events: filtered, paged by `seq`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from ..fields import load_stored
from .blocks import seq_bounds
from .tables import SPECIAL_NAME_MAX, SPECIAL_NAMES, EventCommRow, EventNameRow, EventRow

MAX_PAGE = 10_001  # a page of 10,000 plus one row to know there is more
SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True, slots=True)
class EventFilter:
    names: Sequence[str] = ()
    pids: Sequence[int] = ()
    comms: Sequence[str] = ()
    since_ns: int | None = None
    until_ns: int | None = None

    def apply(self, query: SelectT, session_id: int | None = None) -> SelectT:
        """The filter's conditions; with `session_id`, a time range also narrows `seq` to
        the session's blocks that overlap it (blocks.py)."""
        if self.names:
            query = query.where(name_condition(self.names))
        if self.pids:
            query = query.where(EventRow.pid.in_(list(self.pids)))
        if self.comms:
            comm_ids = select(EventCommRow.id).where(EventCommRow.comm.in_(list(self.comms)))
            query = query.where(EventRow.comm_id.in_(comm_ids.scalar_subquery()))
        if self.since_ns is not None:
            query = query.where(EventRow.ts_ns >= self.since_ns)
        if self.until_ns is not None:
            query = query.where(EventRow.ts_ns < self.until_ns)
        if session_id is not None:
            query = query.where(*seq_bounds(session_id, self.since_ns, self.until_ns))
        return query


def name_condition(names: Sequence[str]) -> ColumnElement[bool]:
    """`name IN names` on the name ids; only rare special names (`lost`, `maps`) also get
    the partial index's predicate, so that it is used."""
    wanted = list(dict.fromkeys(names))
    if all(n in SPECIAL_NAMES for n in wanted):
        ids = [SPECIAL_NAMES.index(n) + 1 for n in wanted]
        return and_(EventRow.name_id.in_(ids), EventRow.name_id <= SPECIAL_NAME_MAX)
    ids_of = select(EventNameRow.id).where(EventNameRow.name.in_(wanted))
    return EventRow.name_id.in_(ids_of.scalar_subquery())


COLUMNS = (
    EventRow.seq,
    EventRow.ts_ns,
    EventRow.cpu,
    EventRow.pid,
    EventRow.tid,
    EventRow.comm,
    EventRow.name,
    EventRow.fields,
)
PAGE_COLUMNS = (*COLUMNS, EventRow.dur_ns, EventRow.ret, EventRow.errno)
"""COLUMNS, then those a compact syscall's fields are rebuilt from (`fields.load_stored`)"""


def row_to_event(row: Sequence[Any]) -> dict[str, Any]:
    seq, ts, cpu, pid, tid, comm, name, fields, dur_ns, ret, errno = row
    return {
        "seq": seq,
        "ts_ns": ts,
        "cpu": cpu,
        "pid": pid,
        "tid": tid,
        "comm": comm,
        "name": name,
        "fields": load_stored(name, fields, ret, errno, dur_ns),
    }


def events_page(
    db: Session,
    session_id: int,
    flt: EventFilter,
    after_seq: int | None,
    limit: int,
    until_seq: int | None = None,
) -> list[dict[str, Any]]:
    query = select(*PAGE_COLUMNS).where(EventRow.session_id == session_id)
    if after_seq is not None:
        query = query.where(EventRow.seq > after_seq)
    if until_seq is not None:
        query = query.where(EventRow.seq <= until_seq)
    query = flt.apply(query, session_id).order_by(EventRow.seq).limit(min(limit, MAX_PAGE))
    return [row_to_event(row) for row in db.execute(query)]
