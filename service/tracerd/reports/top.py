"""Top-N values of any field: a promoted column (`comm`, `pid`, `name`, `tid`, `cpu`,
`errno`, ...) or a path in `fields` (`filename` of `syscalls:sys_enter_openat`, ...).

`name`, `pid` and `comm` over whole sessions come from rollups; anything else is a GROUP
BY over the filtered events (give `name` to bound a JSON path to one event's rows). Events
without the field are not counted; `lost` and `maps` records only when named.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..storage.queries import EventFilter
from ..storage.tables import EventRow, RollupTaskRow
from .models import TopReport, TopRow
from .query import (
    NO_PID,
    SessionInfo,
    events_of,
    field_expr,
    percent,
    pid_value,
    scope_of,
    task_scope,
    use_rollups,
)
from .summary import NOT_TASK_EVENTS

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
ROLLUP_FIELDS = {"name": RollupTaskRow.name, "pid": RollupTaskRow.pid, "comm": RollupTaskRow.comm}


def _grouped(db: Session, sid: int, flt: EventFilter, field: str, fast: bool) -> tuple[Any, Any]:
    """(per-value query, total query)."""
    if fast:
        value: Any = ROLLUP_FIELDS[field]
        count: Any = func.sum(RollupTaskRow.count)
        conds = task_scope(sid, flt)
        if not flt.names:
            conds.append(RollupTaskRow.name.not_in(NOT_TASK_EVENTS))
        if field in ("comm", "pid"):
            conds.append(value != ("" if field == "comm" else NO_PID))
        return select(value, count).where(*conds).group_by(value), select(count).where(*conds)
    value = field_expr(db, field)

    def scoped(*columns: Any) -> Any:
        query = events_of(db, sid, flt, *columns).where(value.is_not(None))
        return query if flt.names else query.where(EventRow.name.not_in(NOT_TASK_EVENTS))

    return scoped(value, func.count()).group_by(value), scoped(func.count())


def top(
    db: Session, info: SessionInfo, flt: EventFilter, field: str, limit: int = DEFAULT_LIMIT
) -> TopReport:
    limit = max(1, min(limit, MAX_LIMIT))
    fast = field in ROLLUP_FIELDS and use_rollups(db, info.id, flt)
    per_value, total_query = _grouped(db, info.id, flt, field, fast)
    count_col = per_value.selected_columns[1]
    value_col = per_value.selected_columns[0]
    query = per_value.order_by(count_col.desc(), value_col).limit(limit)
    total = int(db.execute(total_query).scalar() or 0)
    rows = []
    for value, n in db.execute(query):
        shown = pid_value(value) if fast and field == "pid" else value
        rows.append(TopRow(value=shown, count=int(n), percent=percent(int(n), total)))
    return TopReport(
        scope=scope_of(info, flt, "rollups" if fast else "events"),
        field=field,
        total=total,
        rows=rows,
        other=total - sum(r.count for r in rows),
    )
