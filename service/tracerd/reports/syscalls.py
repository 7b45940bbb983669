"""The `strace -c -w` table of any session: calls, errors, wall-clock seconds in each
syscall, usecs/call, the longest call, % time; sorted by time (then calls, name) with the
total row.

- ptrace: one event per completed syscall (`ret` not null; an `exit_group` never returns,
  as strace does not count it); `dur_ns` is entry to exit.
- tracefs: exits of `syscalls:sys_exit_*` or `raw_syscalls:sys_exit` (by `id`) that the
  writer paired with their enter (per tid: they have a `dur_ns`), as strace -c counts calls
  it saw enter and return: a forked child's return from clone, or the return of a call a
  task was blocked in when the session began, has no enter and is not a call, nor an
  error if it failed (from the rollups: a call is an exit with a duration, and their error
  count leaves unpaired exits out). When both are recorded, raw_syscalls wins.
- bpf: the `syscount` tool's map in the final snapshot (or the difference between the
  snapshots bounding a time range); no errors unless it counted failures only.

Names in the filter without a `:` select syscalls; with one, event names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ..specs import BpfSpec
from ..storage.queries import EventFilter, name_condition
from ..storage.tables import EventRow, RollupTaskRow
from .models import Source, SyscallRow, SyscallsReport
from .query import SessionInfo, as_integer, events_of, field_expr, scope_of, task_scope, use_rollups
from .sysnames import syscall_name

NON_SYSCALLS = (
    "signal",
    "exec",
    "exit",
    "breakpoint",
    "stdout",
    "stderr",
    "marker",
    "lost",
    "maps",
)
EXIT_PREFIX = "syscalls:sys_exit_"
RAW_EXIT = "raw_syscalls:sys_exit"
NS_PER_S = 1e9


@dataclass(frozen=True, slots=True)
class Tally:
    syscall: str
    calls: int
    errors: int | None
    ns: int | None
    max_ns: int | None


def split_names(info: SessionInfo, flt: EventFilter) -> tuple[EventFilter, set[str]]:
    """(filter on events, syscall names); ptrace events are named by syscall."""
    if info.kind == "ptrace":
        return flt, set()
    events = tuple(n for n in flt.names if ":" in n)
    wanted = {n for n in flt.names if ":" not in n}
    return EventFilter(events, flt.pids, flt.comms, flt.since_ns, flt.until_ns), wanted


def ptrace_tallies(db: Session, sid: int, flt: EventFilter, fast: bool) -> list[Tally]:
    query: Any
    if fast:
        r = RollupTaskRow
        query = select(r.name, func.sum(r.calls), func.sum(r.errors))
        query = query.add_columns(func.sum(r.call_ns), func.max(r.call_max_ns))
        query = query.where(*task_scope(sid, flt), r.name.not_in(NON_SYSCALLS))
        query = query.group_by(r.name).having(func.sum(r.calls) > 0)
    else:
        e = EventRow
        query = events_of(db, sid, flt, e.name, func.count(), func.count(e.errno))
        query = query.add_columns(func.sum(e.dur_ns), func.max(e.dur_ns))
        query = query.where(e.ret.is_not(None), e.name.not_in(NON_SYSCALLS)).group_by(e.name)
    return [
        Tally(n, int(c), int(err), _int(ns), _int(mx)) for n, c, err, ns, mx in db.execute(query)
    ]


def tracefs_tallies(db: Session, sid: int, flt: EventFilter, fast: bool) -> list[Tally]:
    query: Any
    if fast:
        r = RollupTaskRow
        exits = or_(r.name.startswith(EXIT_PREFIX, autoescape=True), r.name == RAW_EXIT)
        query = select(r.name, r.nr, func.sum(r.dur_count), func.sum(r.errors))
        query = query.add_columns(func.sum(r.call_ns), func.max(r.call_max_ns))
        query = query.where(*task_scope(sid, flt), exits).group_by(r.name, r.nr)
    else:
        e = EventRow
        exits = or_(e.name.startswith(EXIT_PREFIX, autoescape=True), e.name == RAW_EXIT)
        nr = case((e.name == RAW_EXIT, as_integer(field_expr(db, "id"))), else_=-1).label("nr")
        query = events_of(db, sid, flt, e.name, nr, func.count(), func.count(e.errno))
        query = query.add_columns(func.sum(e.dur_ns), func.max(e.dur_ns))
        query = query.where(e.dur_ns.is_not(None), exits).group_by(e.name, nr)
    rows = list(db.execute(query))
    raw = any(name == RAW_EXIT for name, *_ in rows)
    out = []
    for name, nr, calls, errors, ns, max_ns in rows:
        if (name == RAW_EXIT) != raw or not calls:
            continue
        syscall = syscall_name(int(nr)) if raw else name[len(EXIT_PREFIX) :]
        out.append(Tally(syscall, int(calls), int(errors), _int(ns), _int(max_ns)))
    return out


def bpf_tallies(db: Session, info: SessionInfo, flt: EventFilter) -> list[Tally]:
    """From syscount's map: the snapshot at the end minus the one before the range."""
    end = _counts(_snapshot(db, info.id, flt.until_ns))
    start = _counts(_snapshot(db, info.id, flt.since_ns)) if flt.since_ns is not None else {}
    args = info.spec.args if isinstance(info.spec, BpfSpec) else {}
    timed = bool(args.get("latency"))
    out = []
    for syscall, (count, total_ns) in end.items():
        count0, total0 = start.get(syscall, (0, 0))
        calls = count - count0
        if calls > 0:
            errors = calls if args.get("failed") else None
            ns = total_ns - total0 if timed else None
            out.append(Tally(syscall, calls, errors, ns, None))
    return out


def _snapshot(db: Session, sid: int, before_ns: int | None) -> dict[str, Any]:
    query = select(EventRow.fields).where(EventRow.session_id == sid, name_condition(["maps"]))
    if before_ns is not None:
        query = query.where(EventRow.ts_ns < before_ns)
    text = db.execute(query.order_by(EventRow.seq.desc()).limit(1)).scalar()
    return dict(orjson.loads(text).get("maps") or {}) if text else {}


def _counts(maps: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """syscall -> (count, total_ns) from any map whose keys name syscalls."""
    out: dict[str, tuple[int, int]] = {}
    for contents in maps.values():
        for entry in (contents or {}).get("entries") or () if isinstance(contents, dict) else ():
            key, value = entry.get("key"), entry.get("value")
            if not isinstance(key, dict) or "syscall" not in key or not isinstance(value, dict):
                continue
            count, total = out.get(str(key["syscall"]), (0, 0))
            out[str(key["syscall"])] = (
                count + int(value.get("count", 0)),
                total + int(value.get("total_ns", 0)),
            )
    return out


def table(tallies: Iterable[Tally]) -> tuple[list[SyscallRow], SyscallRow]:
    """strace's rows and total: integer usecs/call truncated as strace prints them."""
    items = list(tallies)
    timed = any(t.ns is not None for t in items)
    total_ns = sum(t.ns or 0 for t in items)
    items.sort(
        key=lambda t: (-(t.ns or 0), -t.calls, t.syscall) if timed else (-t.calls, t.syscall)
    )
    rows = [_row(t.syscall, t.calls, t.errors, t.ns, t.max_ns, total_ns) for t in items]
    errors = [t.errors for t in items if t.errors is not None]
    maxes = [t.max_ns for t in items if t.max_ns is not None]
    total = _row(
        "total",
        sum(t.calls for t in items),
        sum(errors) if errors or not items else None,
        total_ns if timed else None,
        max(maxes) if maxes else None,
        total_ns,
    )
    return rows, total


def _row(
    name: str, calls: int, errors: int | None, ns: int | None, max_ns: int | None, total_ns: int
) -> SyscallRow:
    return SyscallRow(
        syscall=name,
        calls=calls,
        errors=errors,
        seconds=ns / NS_PER_S if ns is not None else None,
        usecs_per_call=(ns // calls) // 1000 if ns is not None and calls else None,
        max_seconds=max_ns / NS_PER_S if max_ns is not None else None,
        percent_time=(100.0 * ns / total_ns if total_ns else 0.0) if ns is not None else None,
    )


def syscalls(db: Session, info: SessionInfo, flt: EventFilter) -> SyscallsReport:
    events_flt, wanted = split_names(info, flt)
    note = None
    source: Source
    if info.kind == "bpf":
        tallies, source = bpf_tallies(db, info, events_flt), "maps"
        if not tallies:
            note = "no syscall counts in this session's maps (the syscount tool has them)"
    else:
        fast = use_rollups(db, info.id, events_flt)
        source = "rollups" if fast else "events"
        pick = ptrace_tallies if info.kind == "ptrace" else tracefs_tallies
        tallies = pick(db, info.id, events_flt, fast)
        if info.kind == "tracefs" and not tallies:
            note = "record syscalls:sys_enter_*/sys_exit_* or raw_syscalls:sys_enter/sys_exit"
    if wanted:
        tallies = [t for t in tallies if t.syscall in wanted]
    rows, total = table(tallies)
    return SyscallsReport(
        scope=scope_of(info, flt, source),
        rows=rows,
        total=total,
        note=note,
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None
