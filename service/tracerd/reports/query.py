"""What every report shares: the session it is about, its filter, where to read from, and
SQL expressions for event fields (promoted columns, or JSON paths in `fields`).

JSON paths compile per dialect: `json_extract(fields, '$.a.b')` on SQLite, `fields::jsonb
#>> '{a,b}'` on PostgreSQL. They are for filtered, bounded reads (a name, a time range):
hot paths use promoted columns and rollups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Text,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
)
from sqlalchemy.orm import Session

from ..errors import BadRequest
from ..fields import COMPACT_MARK
from ..specs import AnySpec
from ..storage.queries import EventFilter
from ..storage.rollups import ROLLUP_BUCKET_NS
from ..storage.tables import EventRow, RollupSessionRow, RollupTaskRow, RollupTimeRow
from .models import Scope, Source

PROMOTED: dict[str, Any] = {
    "seq": EventRow.seq,
    "ts_ns": EventRow.ts_ns,
    "cpu": EventRow.cpu,
    "pid": EventRow.pid,
    "tid": EventRow.tid,
    "comm": EventRow.comm,
    "name": EventRow.name,
    "dur_ns": EventRow.dur_ns,
    "ret": EventRow.ret,
    "errno": EventRow.errno,
}
FIELD_PATH = re.compile(
    r"^(?:fields\.)?([A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z0-9_]{1,64}){0,3})$"
)
NO_PID = -1
COMPACT_PATHS: dict[str, Any] = {
    "ret": EventRow.ret,
    "errno": EventRow.errno,
    "duration_ns": EventRow.dur_ns,
}
"""paths of a compact syscall's fields (fields.py) that its row's columns hold; its other
paths (`args`, `raw_args`, `text`) are NULL in SQL"""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The session as the manager shows it (live or stored)."""

    id: int
    kind: str
    name: str | None
    state: str
    spec: AnySpec
    """the session's validated spec (the API's model of its kind)"""
    started_at: str | None
    stopped_at: str | None
    wall_offset_ns: int
    counters: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_view(cls, view: dict[str, Any], spec: AnySpec) -> SessionInfo:
        """`view`: the manager's view of the session; `spec`: its spec, validated."""
        return cls(
            int(view["id"]),
            str(view["kind"]),
            view.get("name"),
            str(view["state"]),
            spec,
            view.get("started_at"),
            view.get("stopped_at"),
            int(view.get("wall_offset_ns") or 0),
            dict(view.get("counters") or {}),
            dict(view.get("info") or {}),
        )

    @property
    def duration_s(self) -> float | None:
        if not self.started_at or not self.stopped_at:
            return None
        delta = datetime.fromisoformat(self.stopped_at) - datetime.fromisoformat(self.started_at)
        return delta.total_seconds()


def timed(flt: EventFilter) -> bool:
    return flt.since_ns is not None or flt.until_ns is not None


def rollups_complete(db: Session, session_id: int) -> bool:
    row = db.get(RollupSessionRow, session_id)
    return bool(row is not None and row.complete)


def use_rollups(db: Session, session_id: int, flt: EventFilter, exact: bool = False) -> bool:
    """Rollups answer whole-session questions (they have no finer time than 100 ms)."""
    return not exact and not timed(flt) and rollups_complete(db, session_id)


def events_of(
    db: Session, session_id: int, flt: EventFilter, *columns: Any, narrow: bool = True
) -> Any:
    """SELECT columns FROM events of the session, filtered; a time range reads only the
    seq span of the blocks that overlap it (storage/blocks.py). `narrow` is kept for
    callers: every query is narrowed the same way now."""
    del narrow
    flt = narrowed_by_rollups(db, session_id, flt)
    return flt.apply(select(*columns).where(EventRow.session_id == session_id), session_id)


def narrowed_by_rollups(db: Session, session_id: int, flt: EventFilter) -> EventFilter:
    """A name filter's time range tightened to the 100 ms buckets where those names occur
    (rollup_time), so that it reads only that span of the session's blocks."""
    if not flt.names or not rollups_complete(db, session_id):
        return flt
    t = RollupTimeRow
    key = ("name-span", session_id, tuple(flt.names))
    if key not in db.info:
        db.info[key] = db.execute(
            select(func.min(t.bucket), func.max(t.bucket)).where(
                t.session_id == session_id, t.name.in_(list(flt.names))
            )
        ).first()
    low, high = db.info[key] or (None, None)
    if low is None or high is None:  # none of these names: an empty range
        return replace(flt, since_ns=0, until_ns=0)
    since, until = low * ROLLUP_BUCKET_NS, (high + 1) * ROLLUP_BUCKET_NS
    if flt.since_ns is not None:
        since = max(since, flt.since_ns)
    if flt.until_ns is not None:
        until = min(until, flt.until_ns)
    return replace(flt, since_ns=since, until_ns=until)


def task_scope(session_id: int, flt: EventFilter) -> list[ColumnElement[bool]]:
    """WHERE conditions on rollup_tasks for the filter's names, pids and comms."""
    conds: list[ColumnElement[bool]] = [RollupTaskRow.session_id == session_id]
    if flt.names:
        conds.append(RollupTaskRow.name.in_(list(flt.names)))
    if flt.pids:
        conds.append(RollupTaskRow.pid.in_(list(flt.pids)))
    if flt.comms:
        conds.append(RollupTaskRow.comm.in_(list(flt.comms)))
    return conds


def field_expr(db: Session, name: str, numeric: bool = False) -> Any:
    """A promoted column, or the JSON value at a path of `fields` (`filename`, `fields.a.b`)."""
    if name in PROMOTED:
        return PROMOTED[name]
    match = FIELD_PATH.match(name)
    if match is None:
        raise BadRequest(
            f"bad field {name!r}: a column ({', '.join(PROMOTED)}) or a path in fields",
            {"field": name},
        )
    parts = match[1].split(".")
    compact: Any = COMPACT_PATHS.get(match[1], null())
    if db.get_bind().dialect.name == "postgresql":  # CASE's branches: one type
        compact = cast(compact, Float if numeric else Text)
    # inlined, as the path: one expression in both SELECT and GROUP BY
    is_compact = func.substr(EventRow.fields, 1, 1) == literal_column(f"'{COMPACT_MARK}'")
    return case((is_compact, compact), else_=_json_path(db, parts, numeric))


def _json_path(db: Session, parts: list[str], numeric: bool) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        # the path is validated above: inlined (a bound text[] would not be one expression
        # in both SELECT and GROUP BY)
        path: Any = literal_column("'{" + ",".join(parts) + "}'::text[]")
        text = cast(EventRow.fields, JSONB).op("#>>")(path)
        return cast(text, Float) if numeric else text
    return func.json_extract(EventRow.fields, "$." + ".".join(parts))


def as_integer(expr: Any) -> Any:
    return cast(expr, BigInteger)


def percent(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def pid_value(pid: int) -> int | None:
    return None if pid == NO_PID else pid


def names_in(names: Sequence[str]) -> list[str]:
    return sorted(set(names))


def scope_of(info: SessionInfo, flt: EventFilter, source: Source) -> Scope:
    return Scope(
        session_id=str(info.id),
        kind=info.kind,
        since_ns=flt.since_ns,
        until_ns=flt.until_ns,
        pids=list(flt.pids),
        comms=list(flt.comms),
        names=list(flt.names),
        source=source,
    )
