"""The summary of any session: span, events and losses by source, counts by name, top
pids and comms, and the event rate over time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from ..storage.blocks import ts_span
from ..storage.queries import EventFilter
from ..storage.rollups import ROLLUP_BUCKET_NS
from ..storage.tables import EventRow, RollupTaskRow
from ..types import LOST_EVENT_NAME
from .models import CommCount, NameCount, PidCount, Rate, Summary
from .query import (
    SessionInfo,
    events_of,
    field_expr,
    percent,
    pid_value,
    scope_of,
    task_scope,
    use_rollups,
)
from .series import Grid, counts_by_bucket, nice_width

TOP_N = 10
RATE_BUCKETS = 100
NOT_TASK_EVENTS = (LOST_EVENT_NAME, "maps")


def span(db: Session, session_id: int, flt: EventFilter) -> tuple[int | None, int | None]:
    """First and last timestamps: index seeks (per name when names are given), a scan only
    with pid or comm filters."""
    if flt.pids or flt.comms or not flt.names:
        return _edge(db, session_id, flt, False), _edge(db, session_id, flt, True)
    firsts, lasts = [], []
    for name in set(flt.names):
        one = EventFilter((name,), since_ns=flt.since_ns, until_ns=flt.until_ns)
        firsts.append(_edge(db, session_id, one, False))
        lasts.append(_edge(db, session_id, one, True))
    known_first = [t for t in firsts if t is not None]
    known_last = [t for t in lasts if t is not None]
    return min(known_first, default=None), max(known_last, default=None)


def _edge(db: Session, session_id: int, flt: EventFilter, last: bool) -> int | None:
    if flt == EventFilter():  # the whole session: its blocks know
        first_ns, last_ns = ts_span(db, session_id)
        if first_ns is not None:
            return last_ns if last else first_ns
    order = EventRow.ts_ns.desc() if last else EventRow.ts_ns
    query = events_of(db, session_id, flt, EventRow.ts_ns, narrow=False).order_by(order).limit(1)
    value = db.execute(query).scalar()
    return int(value) if value is not None else None


def counts_by_name(db: Session, session_id: int, flt: EventFilter, fast: bool) -> dict[str, int]:
    if fast:
        total = func.sum(RollupTaskRow.count)
        query = select(RollupTaskRow.name, total).where(*task_scope(session_id, flt))
        query = query.group_by(RollupTaskRow.name)
    else:
        query = events_of(db, session_id, flt, EventRow.name, func.count()).group_by(EventRow.name)
    return {name: int(n) for name, n in db.execute(query)}


def top_tasks(
    db: Session, session_id: int, flt: EventFilter, fast: bool, by_pid: bool
) -> list[tuple[Any, ...]]:
    """(pid, comm, count) or (comm, count), most events first."""
    pid: Any
    comm: Any
    total: Any
    if fast:
        pid, comm, total = RollupTaskRow.pid, RollupTaskRow.comm, func.sum(RollupTaskRow.count)
        query = select(*((pid, comm) if by_pid else (comm,)), total)
        query = query.where(*task_scope(session_id, flt))
        query = query.where(RollupTaskRow.name.not_in(NOT_TASK_EVENTS))
    else:
        pid, comm, total = EventRow.pid, EventRow.comm, func.count()
        query = events_of(db, session_id, flt, *((pid, comm) if by_pid else (comm,)), total)
        query = query.where(EventRow.name.not_in(NOT_TASK_EVENTS))
    keys = (pid, comm) if by_pid else (comm,)
    query = query.group_by(*keys).order_by(total.desc(), *keys).limit(TOP_N)
    rows = [tuple(r) for r in db.execute(query)]
    if fast:  # rollups store "no pid" as -1 and "no comm" as ""
        if by_pid:
            rows = [(pid_value(pid), comm or None, count) for pid, comm, count in rows]
        else:
            rows = [(comm or None, count) for comm, count in rows]
    return rows


def lost_by_source(db: Session, session_id: int, flt: EventFilter) -> dict[str, int]:
    """Sum of the in-band `lost` records (they carry no pid or comm: only time filters)."""
    only_time = EventFilter((LOST_EVENT_NAME,), since_ns=flt.since_ns, until_ns=flt.until_ns)
    source = field_expr(db, "source")
    count = func.sum(cast(field_expr(db, "count", numeric=True), Integer))
    query = events_of(db, session_id, only_time, source, count).group_by(source)
    return {str(src): int(n or 0) for src, n in db.execute(query)}


def rate(
    db: Session, session_id: int, flt: EventFilter, first: int | None, last: int | None, fast: bool
) -> Rate:
    if first is None or last is None:
        return Rate(start_ns=None, bucket_ns=ROLLUP_BUCKET_NS, counts=[])
    fast = fast and not (flt.pids or flt.comms)
    width = nice_width(last - first + 1, RATE_BUCKETS, ROLLUP_BUCKET_NS)
    grid = Grid.over(first, last, width)
    counts = [0] * grid.count
    for (i, _name), n in counts_by_bucket(db, session_id, flt, grid, fast).items():
        counts[i] += n
    return Rate(start_ns=grid.start_ns, bucket_ns=width, counts=counts)


def summary(db: Session, info: SessionInfo, flt: EventFilter) -> Summary:
    fast = use_rollups(db, info.id, flt)
    first, last = span(db, info.id, flt)
    by_name = counts_by_name(db, info.id, flt, fast)
    by_name.pop(LOST_EVENT_NAME, None)
    events = sum(by_name.values())
    names = [
        NameCount(name=n, count=c, percent=percent(c, events))
        for n, c in sorted(by_name.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    pids = [PidCount(pid=p, comm=c, count=n) for p, c, n in top_tasks(db, info.id, flt, fast, True)]
    comms = [CommCount(comm=c, count=n) for c, n in top_tasks(db, info.id, flt, fast, False)]
    lost_counters = {k: int(v) for k, v in (info.counters.get("lost") or {}).items()}
    return Summary(
        scope=scope_of(info, flt, "rollups" if fast else "events"),
        name=info.name,
        state=info.state,
        duration_s=info.duration_s,
        first_ts_ns=first,
        last_ts_ns=last,
        span_s=(last - first) / 1e9 if first is not None and last is not None else None,
        events=events,
        lost=lost_by_source(db, info.id, flt),
        lost_counters=lost_counters,
        names=names,
        top_pids=pids,
        top_comms=comms,
        rate=rate(db, info.id, flt, first, last, fast),
    )
