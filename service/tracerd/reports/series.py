"""Events per time bucket (and name): the event rate of the summary and the timeline.

Widths that are whole multiples of the 100 ms rollup bucket are aligned on it (rollups can
only answer those); from the events table, `(ts_ns - start) / width` is grouped in SQL
(integer division on both SQLite and PostgreSQL) over the (session, name, ts) index.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..storage.queries import EventFilter
from ..storage.rollups import ROLLUP_BUCKET_NS
from ..storage.tables import EventRow, RollupTimeRow
from ..types import LOST_EVENT_NAME
from .query import events_of

MAX_BUCKETS = 10_000
NICE_STEPS = (1, 2, 5)


def nice_width(span_ns: int, buckets: int, minimum_ns: int = 1) -> int:
    """The smallest 1-2-5 x 10^k width (ns) that covers `span_ns` in `buckets` buckets."""
    target = max(minimum_ns, -(-max(span_ns, 1) // max(buckets, 1)))
    scale = 1
    while True:
        for step in NICE_STEPS:
            if step * scale >= target:
                return step * scale
        scale *= 10


@dataclass(frozen=True, slots=True)
class Grid:
    start_ns: int
    width_ns: int
    count: int

    @classmethod
    def over(cls, first: int, last: int, width: int) -> Grid:
        start = first - first % ROLLUP_BUCKET_NS if rollup_aligned(width) else first
        count = min(MAX_BUCKETS, (last - start) // width + 1)
        return cls(start, width, count)

    def index(self, ts: int) -> int | None:
        i = (ts - self.start_ns) // self.width_ns
        return i if 0 <= i < self.count else None


def rollup_aligned(width_ns: int) -> bool:
    return width_ns % ROLLUP_BUCKET_NS == 0


def counts_by_bucket(
    db: Session, session_id: int, flt: EventFilter, grid: Grid, fast: bool
) -> dict[tuple[int, str], int]:
    """(bucket index, name) -> events; `lost` records are not events."""
    out: dict[tuple[int, str], int] = {}
    if fast:
        query = select(RollupTimeRow.bucket, RollupTimeRow.name, func.sum(RollupTimeRow.count))
        query = query.where(
            RollupTimeRow.session_id == session_id, RollupTimeRow.name != LOST_EVENT_NAME
        )
        if flt.names:
            query = query.where(RollupTimeRow.name.in_(list(flt.names)))
        query = query.group_by(RollupTimeRow.bucket, RollupTimeRow.name)
        rows = [(b * ROLLUP_BUCKET_NS, n, c) for b, n, c in db.execute(query)]
    else:
        bucket = ((EventRow.ts_ns - grid.start_ns) // grid.width_ns).label("b")
        query = events_of(db, session_id, flt, bucket, EventRow.name, func.count())
        query = query.where(EventRow.name != LOST_EVENT_NAME).group_by(bucket, EventRow.name)
        rows = [(grid.start_ns + int(b) * grid.width_ns, n, c) for b, n, c in db.execute(query)]
    for ts, name, count in rows:
        i = grid.index(ts)
        if i is not None:
            out[(i, name)] = out.get((i, name), 0) + int(count)
    return out
