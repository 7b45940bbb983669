"""Events per time bucket per name, dense from the first event to the last.

The bucket width is `bucket_ns`, or a 1-2-5 width giving about `buckets` buckets; from
rollups it is a multiple of 100 ms (aligned on it). The most frequent MAX_NAMES names are
kept, the rest summed as `(other)`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..storage.queries import EventFilter
from ..storage.rollups import ROLLUP_BUCKET_NS
from .models import TimelineBucket, TimelineReport
from .query import SessionInfo, scope_of, use_rollups
from .series import MAX_BUCKETS, Grid, counts_by_bucket, nice_width, rollup_aligned
from .summary import span

MAX_NAMES = 20
OTHER = "(other)"
DEFAULT_BUCKETS = 100


def timeline(
    db: Session,
    info: SessionInfo,
    flt: EventFilter,
    bucket_ns: int | None = None,
    buckets: int = DEFAULT_BUCKETS,
) -> TimelineReport:
    fast = use_rollups(db, info.id, flt) and not (flt.pids or flt.comms)
    fast = fast and (bucket_ns is None or rollup_aligned(bucket_ns))
    first, last = span(db, info.id, flt)
    scope = scope_of(info, flt, "rollups" if fast else "events")
    if first is None or last is None:
        return TimelineReport(
            scope=scope, start_ns=None, bucket_ns=bucket_ns or 0, names=[], buckets=[]
        )
    minimum = ROLLUP_BUCKET_NS if fast else 1
    width = bucket_ns or nice_width(last - first + 1, min(buckets, MAX_BUCKETS), minimum)
    width = max(width, -(-(last - first + 1) // MAX_BUCKETS))
    if fast and not rollup_aligned(width):
        width = nice_width(width, 1, ROLLUP_BUCKET_NS)
    grid = Grid.over(first, last, width)
    counts = counts_by_bucket(db, info.id, flt, grid, fast)
    totals: dict[str, int] = {}
    for (_i, name), n in counts.items():
        totals[name] = totals.get(name, 0) + n
    ranked = sorted(totals, key=lambda name: (-totals[name], name))
    kept = set(ranked[:MAX_NAMES])
    rows = [
        TimelineBucket(start_ns=grid.start_ns + i * width, total=0, counts={})
        for i in range(grid.count)
    ]
    for (i, name), n in counts.items():
        label = name if name in kept else OTHER
        row = rows[i]
        row.counts[label] = row.counts.get(label, 0) + n
        row.total += n
    names = ranked[:MAX_NAMES] + ([OTHER] if len(ranked) > MAX_NAMES else [])
    return TimelineReport(
        scope=scope, start_ns=grid.start_ns, bucket_ns=width, names=names, buckets=rows
    )
