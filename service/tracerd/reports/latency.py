"""Distribution of a numeric field: count, min/max/mean, p50/p90/p99/max, log2 buckets
(BCC's [2^(i-1), 2^i - 1]) and linear buckets.

`dur_ns` over whole sessions comes from the writer's log-linear histogram (rollup_latency:
exact below 32 ns, then 32 slots per power of two): log2 buckets are exact (slots never
straddle a power of two), percentiles are the middle of their slot (±1.6 %), linear
buckets put each slot in the bucket of its middle, count/mean/max are exact. Otherwise
(another field, a time range, pid/comm filters, `exact`) everything is computed over the
events: buckets with GROUP BY, exact percentiles by nearest rank with ROW_NUMBER() and
COUNT() windows (SQLite >= 3.25 and PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, case, cast, func, or_, select
from sqlalchemy.orm import Session

from ..storage.queries import EventFilter
from ..storage.rollups import slot_bounds
from ..storage.tables import EventRow, RollupLatencyRow, RollupTaskRow
from .models import Bucket, LatencyReport, Percentiles
from .query import SessionInfo, events_of, field_expr, scope_of, task_scope, use_rollups
from .series import nice_width
from .syscalls import EXIT_PREFIX, RAW_EXIT
from .sysnames import syscall_nr

PERCENTILES_BP = {"p50": 5000, "p90": 9000, "p99": 9900}  # basis points
LINEAR_BUCKETS = 20
MAX_LINEAR_BUCKETS = 1000
LOG2_MAX = 62  # 2^63 does not bind as a signed 64-bit integer


class Selection:
    """Which events a latency report reads: the filter, plus a syscall if asked."""

    def __init__(self, db: Session, info: SessionInfo, flt: EventFilter, syscall: str | None):
        self.flt, self.nr = flt, None
        if syscall is None:
            return
        names: tuple[str, ...] = (syscall,)
        if info.kind == "tracefs":
            raw = db.execute(
                select(EventRow.seq)
                .where(EventRow.session_id == info.id, EventRow.name == RAW_EXIT)
                .limit(1)
            ).first()
            self.nr = syscall_nr(syscall) if raw else None
            names = (RAW_EXIT,) if raw else (EXIT_PREFIX + syscall,)
        self.flt = EventFilter(names, flt.pids, flt.comms, flt.since_ns, flt.until_ns)


def log2_index(value: int) -> int:
    return int(value).bit_length()


def log2_bounds(index: int) -> tuple[int, int]:
    return (0, 0) if index == 0 else (1 << (index - 1), (1 << index) - 1)


def rank_of(n: int, basis_points: int) -> int:
    """Nearest rank (1-based) of a percentile: ceil(n * p)."""
    return max(1, (n * basis_points + 9999) // 10000)


def linear_width(max_value: float, width: float | None) -> float:
    floor = max(max_value, 0) / MAX_LINEAR_BUCKETS
    if width is None:
        return float(nice_width(int(max_value) + 1, LINEAR_BUCKETS))
    return max(width, floor)


def from_rollups(db: Session, sid: int, sel: Selection, width: float | None) -> dict[str, Any]:
    lat = RollupLatencyRow
    query = select(lat.slot, func.sum(lat.count)).where(lat.session_id == sid)
    tasks = select(
        func.sum(RollupTaskRow.dur_count),
        func.sum(RollupTaskRow.dur_ns),
        func.max(RollupTaskRow.dur_max_ns),
    ).where(*task_scope(sid, sel.flt))
    if sel.flt.names:
        query = query.where(lat.name.in_(list(sel.flt.names)))
    if sel.nr is not None:
        query = query.where(lat.nr == sel.nr)
        tasks = tasks.where(RollupTaskRow.nr == sel.nr)
    slots = [(int(s), int(c)) for s, c in db.execute(query.group_by(lat.slot).order_by(lat.slot))]
    count, total, max_ns = db.execute(tasks).one()
    count = int(count or 0)
    if not slots or not count:
        return _empty(approximate=True)
    first_slot, _count = slots[0]
    low, _ = slot_bounds(first_slot)
    log2: dict[int, int] = {}
    width = linear_width(max_ns, width)
    linear: dict[int, int] = {}
    for slot, n in slots:
        a, b = slot_bounds(slot)
        log2[log2_index(a)] = log2.get(log2_index(a), 0) + n
        k = int((a + b) / 2 // width)
        linear[k] = linear.get(k, 0) + n
    pcts = {}
    for key, bp in PERCENTILES_BP.items():
        rank, seen = rank_of(count, bp), 0
        for slot, n in slots:
            seen += n
            if seen >= rank:
                a, b = slot_bounds(slot)
                pcts[key] = min(float(max_ns), (a + b) / 2)
                break
    return {
        "count": count,
        "min": float(low),
        "max": float(max_ns),
        "mean": total / count,
        "percentiles": Percentiles(**pcts, max=float(max_ns)),
        "approximate": True,
        "log2": _log2_buckets(log2),
        "linear": _linear_buckets(linear, width),
        "linear_width": width,
        "negative": 0,
    }


def from_events(
    db: Session, sid: int, sel: Selection, field: str, width: float | None
) -> dict[str, Any]:
    value = field_expr(db, field, numeric=True)
    base = events_of(db, sid, sel.flt, value.label("v")).where(value.is_not(None))
    if sel.nr is not None:
        base = base.where(or_(EventRow.name != RAW_EXIT, field_expr(db, "id") == sel.nr))
    vals = base.subquery()
    v = vals.c.v
    negative = func.sum(case((v < 0, 1), else_=0))
    count, low, high, total, neg = db.execute(
        select(func.count(v), func.min(v), func.max(v), func.sum(v), negative)
    ).one()
    if not count:
        return _empty(approximate=False)
    ladder = case(*[(v < (1 << i), i) for i in range(LOG2_MAX + 1)], else_=LOG2_MAX + 1)
    log2 = {
        int(i): int(n)
        for i, n in db.execute(select(ladder, func.count()).where(v >= 0).group_by(ladder))
    }
    width = linear_width(float(high), width)
    bucket = _divide(db, v, width)
    linear = {
        int(k): int(n)
        for k, n in db.execute(select(bucket, func.count()).where(v >= 0).group_by(bucket))
    }
    return {
        "count": int(count),
        "min": float(low),
        "max": float(high),
        "mean": float(total) / count,
        "percentiles": _exact_percentiles(db, vals.c.v, float(high)),
        "approximate": False,
        "log2": _log2_buckets(log2),
        "linear": _linear_buckets(linear, width),
        "linear_width": width,
        "negative": int(neg or 0),
    }


def _divide(db: Session, v: Any, width: float) -> Any:
    if db.get_bind().dialect.name == "postgresql":
        return func.floor(cast(v, Float) / width)
    if float(width).is_integer():
        return cast(v, Integer) // int(width)  # values >= 0
    return cast(v / width, Integer)


def _exact_percentiles(db: Session, v: Any, high: float) -> Percentiles:
    ranked = select(
        v.label("v"),
        func.row_number().over(order_by=v).label("rn"),
        func.count().over().label("n"),
    ).subquery()
    wanted = or_(
        *[ranked.c.rn == (ranked.c.n * bp + 9999) // 10000 for bp in PERCENTILES_BP.values()]
    )
    rows = db.execute(select(ranked.c.rn, ranked.c.n, ranked.c.v).where(wanted)).all()
    by_rank = {int(rn): float(val) for rn, _n, val in rows}
    n = int(rows[0].n) if rows else 0
    pcts = {key: by_rank.get(rank_of(n, bp)) for key, bp in PERCENTILES_BP.items()}
    return Percentiles(**pcts, max=high)


def _log2_buckets(counts: dict[int, int]) -> list[Bucket]:
    top = max(counts, default=-1)
    return [
        Bucket(low=log2_bounds(i)[0], high=log2_bounds(i)[1], count=counts.get(i, 0))
        for i in range(top + 1)
    ]


def _linear_buckets(counts: dict[int, int], width: float) -> list[Bucket]:
    """[k*w, (k+1)*w - 1] for integer widths (like the log2 buckets), else [k*w, (k+1)*w)."""
    top = max(counts, default=-1)
    span = width - 1 if float(width).is_integer() else width
    return [
        Bucket(low=k * width, high=k * width + span, count=counts.get(k, 0)) for k in range(top + 1)
    ]


def _empty(approximate: bool) -> dict[str, Any]:
    none = Percentiles(p50=None, p90=None, p99=None, max=None)
    return {
        "count": 0,
        "min": None,
        "max": None,
        "mean": None,
        "percentiles": none,
        "approximate": approximate,
        "log2": [],
        "linear": [],
        "linear_width": None,
        "negative": 0,
    }


def latency(
    db: Session,
    info: SessionInfo,
    flt: EventFilter,
    field: str = "dur_ns",
    syscall: str | None = None,
    width: float | None = None,
    exact: bool = False,
) -> LatencyReport:
    sel = Selection(db, info, flt, syscall)
    fast = (
        field == "dur_ns" and not (flt.pids or flt.comms) and use_rollups(db, info.id, flt, exact)
    )
    data = (
        from_rollups(db, info.id, sel, width)
        if fast
        else from_events(db, info.id, sel, field, width)
    )
    unit = "ns" if field.endswith("_ns") else None
    return LatencyReport(
        scope=scope_of(info, sel.flt, "rollups" if fast else "events"),
        field=field,
        unit=unit,
        **data,
    )
