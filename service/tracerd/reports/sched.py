"""Per-task scheduling from `sched:sched_switch` and `sched:sched_wakeup(_new)`.

On-CPU time: a switch on a CPU ends the slice of the task switched out (its tid is the
record's `common_pid`), which began at the previous switch on that CPU. Wait (run-queue
latency): from the first wake-up of a task — or its preemption (switched out with no state
bit set: `R`/`R+`) — to its next switch-in. The writer computes the same in one pass at
ingest (rollup_sched); with a time range the events are read with window functions: LAG
per CPU for slices, and per task a running count of switch-ins that groups each wait.
Caveats: the first slice of each CPU (and the first wait of a task) in the range is not
known and not counted; losses are not bridged.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Integer, and_, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from ..storage.queries import EventFilter
from ..storage.rollups import RUNNABLE_MASK
from ..storage.tables import EventRow, RollupSchedRow
from .models import SchedReport, SchedTask
from .query import SessionInfo, events_of, field_expr, scope_of, use_rollups

SWITCH = "sched:sched_switch"
WAKEUPS = ("sched:sched_wakeup", "sched:sched_wakeup_new")
MAX_TASKS = 1000


class Row(NamedTuple):
    """One task's scheduling (as SchedTask without the average)."""

    tid: int
    comm: str | None
    oncpu_ns: int
    switches: int
    preempted: int
    wait_ns: int
    waits: int
    wait_max_ns: int


def from_rollups(db: Session, sid: int) -> list[Row]:
    s = RollupSchedRow
    query = select(
        s.tid, s.comm, s.oncpu_ns, s.switches, s.preempted, s.wait_ns, s.waits, s.wait_max_ns
    ).where(s.session_id == sid)
    return [
        Row(
            r.tid,
            r.comm or None,
            int(r.oncpu_ns),
            int(r.switches),
            int(r.preempted),
            int(r.wait_ns),
            int(r.waits),
            int(r.wait_max_ns),
        )
        for r in db.execute(query)
    ]


def _time_only(flt: EventFilter, names: tuple[str, ...]) -> EventFilter:
    return EventFilter(names, since_ns=flt.since_ns, until_ns=flt.until_ns)


def slices(db: Session, sid: int, flt: EventFilter) -> dict[int, tuple[str | None, int, int, int]]:
    """tid -> (comm, oncpu, switches, preempted)."""
    e = EventRow
    prev_ts = func.lag(e.ts_ns).over(partition_by=e.cpu, order_by=(e.ts_ns, e.seq))
    state = cast(field_expr(db, "prev_state"), Integer)
    runnable = and_(e.tid != 0, state.op("&")(RUNNABLE_MASK) == 0)
    sw = events_of(
        db,
        sid,
        _time_only(flt, (SWITCH,)),
        e.tid,
        e.comm,
        e.ts_ns,
        prev_ts.label("prev_ts"),
        case((runnable, 1), else_=0).label("runnable"),
    )
    sw = sw.where(e.cpu.is_not(None), e.tid.is_not(None)).subquery()
    oncpu = func.sum(case((sw.c.prev_ts.is_not(None), sw.c.ts_ns - sw.c.prev_ts), else_=0))
    query = select(sw.c.tid, func.max(sw.c.comm), oncpu, func.count(), func.sum(sw.c.runnable))
    out: dict[int, tuple[str | None, int, int, int]] = {}
    for tid, comm, on, n, pre in db.execute(query.group_by(sw.c.tid)):
        out[int(tid)] = (comm, int(on or 0), int(n), int(pre or 0))
    return out


def waits(db: Session, sid: int, flt: EventFilter) -> dict[int, tuple[int, int, int]]:
    """tid -> (wait_ns, waits, wait_max_ns)."""
    e = EventRow
    state = cast(field_expr(db, "prev_state"), Integer)
    woken = cast(field_expr(db, "fields.pid"), Integer)
    nxt = cast(field_expr(db, "next_pid"), Integer)
    wake = events_of(db, sid, _time_only(flt, WAKEUPS), woken.label("task"), e.ts_ns, e.seq)
    wake = wake.add_columns(literal(0).label("run")).where(woken.is_not(None), woken != 0)
    sw = _time_only(flt, (SWITCH,))
    preempt = events_of(db, sid, sw, e.tid.label("task"), e.ts_ns, e.seq, literal(0).label("run"))
    preempt = preempt.where(e.cpu.is_not(None), e.tid != 0, state.op("&")(RUNNABLE_MASK) == 0)
    run = events_of(db, sid, sw, nxt.label("task"), e.ts_ns, e.seq, literal(1).label("run"))
    run = run.where(e.cpu.is_not(None), nxt.is_not(None))
    marks = union_all(wake, preempt, run).subquery()
    before = func.sum(marks.c.run).over(
        partition_by=marks.c.task,
        order_by=(marks.c.ts_ns, marks.c.seq),
        rows=(None, -1),
    )
    grouped = select(marks.c.task, marks.c.ts_ns, marks.c.run, before.label("runs")).subquery()
    first_wake = func.min(case((grouped.c.run == 0, grouped.c.ts_ns)))
    run_at = func.min(case((grouped.c.run == 1, grouped.c.ts_ns)))
    per_wait = (
        select(grouped.c.task, (run_at - first_wake).label("wait"))
        .group_by(grouped.c.task, func.coalesce(grouped.c.runs, 0))
        .subquery()
    )
    query = select(
        per_wait.c.task,
        func.sum(per_wait.c.wait),
        func.count(per_wait.c.wait),
        func.max(per_wait.c.wait),
    ).group_by(per_wait.c.task)
    return {int(t): (int(w or 0), int(n), int(m or 0)) for t, w, n, m in db.execute(query)}


def from_events(db: Session, sid: int, flt: EventFilter) -> list[Row]:
    tasks = slices(db, sid, flt)
    waited = waits(db, sid, flt)
    out: list[Row] = []
    for tid in set(tasks) | set(waited):
        comm, on, n, pre = tasks.get(tid, (None, 0, 0, 0))
        w, nw, mx = waited.get(tid, (0, 0, 0))
        out.append(Row(tid, comm, on, n, pre, w, nw, mx))
    return out


def sched(db: Session, info: SessionInfo, flt: EventFilter) -> SchedReport:
    fast = use_rollups(db, info.id, flt)
    rows = from_rollups(db, info.id) if fast else from_events(db, info.id, flt)
    if flt.pids or flt.comms:
        rows = [r for r in rows if r.tid in flt.pids or r.comm in flt.comms]
    rows.sort(key=lambda r: (-r.oncpu_ns, -r.wait_ns, r.tid))
    tasks = [
        SchedTask(
            tid=tid,
            comm=comm,
            oncpu_ns=on,
            switches=n,
            preempted=pre,
            wait_ns=w,
            waits=nw,
            wait_avg_ns=w // nw if nw else None,
            wait_max_ns=mx,
        )
        for tid, comm, on, n, pre, w, nw, mx in rows[:MAX_TASKS]
    ]
    return SchedReport(
        scope=scope_of(info, flt, "rollups" if fast else "events"),
        tasks=tasks,
        oncpu_ns=sum(r.oncpu_ns for r in rows),
        wait_ns=sum(r.wait_ns for r in rows),
    )
