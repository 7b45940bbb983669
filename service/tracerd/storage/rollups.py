"""Rollups kept at ingest by the EventWriter thread, so reports on millions of events read
thousands of rows (tables in tables.py: rollup_time, rollup_tasks, rollup_latency,
rollup_sched, rollup_sessions).

Mechanism: `ingest()` runs over each batch before it is inserted. Syscall exits arrive
paired: the tracefs worker gave each `syscalls:sys_exit_*`/`raw_syscalls:sys_exit` its
`ret`, `errno` and `dur_ns` after merging the CPUs (engines/tracefs/pairing.py); a
`ftrace:funcgraph_exit` gets `dur_ns` (rettime - calltime) here. Every event is added to
per-batch aggregates: per 100 ms bucket and name; per name/syscall nr/pid/comm (count,
errors, calls, durations); a log-linear histogram of `dur_ns` (32 sub-buckets per power of
two: ±1.6 %); per-task scheduling from `sched_switch`/`sched_wakeup` (on-CPU time between
switches of a CPU, wait from the first wake-up, or preemption, to the switch-in). Batches
of plain events and syscalls are counted per batch in C (`Counter`; a batch of one name
within one 100 ms bucket counts its buckets by min/max and its tasks by (pid, comm), and
errno/return counts reuse the task counts when every event has one), with a Python step
only per event that has a result; scheduling and function-graph events go one by one.
`write()` upserts the aggregates in the batch's transaction.

Requirements: events of a session arrive in `seq` order (one writer). Caveats: an exit
without its enter has `ret` (and `errno`) but no duration, and is not counted in `errors`
(as strace -c counts only calls it saw enter); pruning the oldest events of a session
invalidates its rollups until `rebuild_chunk` has re-read what is left (reports use the
events meanwhile).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_not
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, delete, select

from ..syscalls import (
    ENTER,
    EXIT,
    FGRAPH_EXIT,
    PLAIN,
    SWITCH,
    WAKEUP,
    EventKind,
    classify,
)
from ..types import EV_DUR_NS, EV_NAME
from .queries import COLUMNS
from .rollup_sql import (
    ROLLUP_TABLES,
    SCHED_COMM,
    SCHED_ONCPU_NS,
    SCHED_PREEMPTED,
    SCHED_SWITCHES,
    SCHED_WAIT_MAX_NS,
    SCHED_WAIT_NS,
    SCHED_WAITS,
    TASK_CALL_MAX_NS,
    TASK_CALL_NS,
    TASK_CALLS,
    TASK_COUNT,
    TASK_DUR_COUNT,
    TASK_DUR_MAX_NS,
    TASK_DUR_NS,
    TASK_ERRORS,
    Upserts,
)
from .tables import (
    EventRow,
)

ROLLUP_BUCKET_NS = 100_000_000
SUB_BUCKET_BITS = 5
SUB_BUCKETS = 1 << SUB_BUCKET_BITS
NO_NR = -1
MAX_PENDING = 65_536  # runnable tasks remembered per session
BATCH_KINDS = frozenset({PLAIN, ENTER, EXIT})
"""batches of only these are counted per batch (_ingest_counted, _ingest_syscalls)"""
MAX_SESSIONS = 256  # sessions whose scheduler state is kept (least recently used dropped)
RUNNABLE_MASK = 0xFF  # prev_state bits of sched_switch; none set = still runnable ("R", "R+")


def slot_of(value: int) -> int:
    """Log-linear histogram slot: exact below 32, then 32 slots per power of two."""
    if value < SUB_BUCKETS:
        return max(value, 0)
    shift = value.bit_length() - 1 - SUB_BUCKET_BITS
    return (shift + 1) * SUB_BUCKETS + (value >> shift) - SUB_BUCKETS


def slot_bounds(slot: int) -> tuple[int, int]:
    """The [low, high] values of a slot (inclusive)."""
    if slot < SUB_BUCKETS:
        return slot, slot
    shift = slot // SUB_BUCKETS - 1
    sub = slot % SUB_BUCKETS + SUB_BUCKETS
    return sub << shift, ((sub + 1) << shift) - 1


TaskKey = tuple[str, int, int | None, str | None]
"""(name, syscall nr or NO_NR, pid, comm) of a rollup_tasks row"""


@dataclass(slots=True)
class _State:
    """One session: aggregates of the current transaction and its scheduler state (last
    switch per CPU, runnable tasks) for wake-to-run latencies."""

    time: dict[int, dict[str, int]] = field(default_factory=dict)
    """bucket -> name -> count"""
    tasks: dict[TaskKey, list[int]] = field(default_factory=dict)
    latency: dict[tuple[str, int, int], int] = field(default_factory=dict)
    sched: dict[int, list[Any]] = field(default_factory=dict)
    cpu_last: dict[int, int] = field(default_factory=dict)
    runnable: dict[int, int] = field(default_factory=dict)
    new: bool = False

    def clear_aggregates(self) -> None:
        self.time, self.tasks, self.latency, self.sched = {}, {}, {}, {}
        self.new = False

    def task(self, tid: int, comm: object) -> list[Any]:
        row = self.sched.get(tid)
        if row is None:
            row = self.sched[tid] = ["", 0, 0, 0, 0, 0, 0]
        if comm:
            row[SCHED_COMM] = str(comm)
        return row

    def switch(self, ts: int, cpu: int | None, tid: int | None, fields: dict[str, Any]) -> None:
        prev = tid if tid is not None else fields.get("prev_pid")
        if prev is None or cpu is None:
            return
        row = self.task(prev, fields.get("prev_comm"))
        last = self.cpu_last.get(cpu)
        if last is not None:
            row[SCHED_ONCPU_NS] += ts - last
        row[SCHED_SWITCHES] += 1
        self.cpu_last[cpu] = ts
        state = fields.get("prev_state")
        if prev != 0 and isinstance(state, int) and state & RUNNABLE_MASK == 0:
            row[SCHED_PREEMPTED] += 1
            self.wake(prev, ts)
        nxt = fields.get("next_pid")
        if nxt is not None:
            nrow = self.task(nxt, fields.get("next_comm"))
            since = self.runnable.pop(nxt, None)
            if since is not None:
                wait = ts - since
                nrow[SCHED_WAIT_NS] += wait
                nrow[SCHED_WAITS] += 1
                nrow[SCHED_WAIT_MAX_NS] = max(nrow[SCHED_WAIT_MAX_NS], wait)

    def wake(self, tid: int | None, ts: int) -> None:
        if tid is None or tid == 0:
            return
        if len(self.runnable) >= MAX_PENDING:
            self.runnable.clear()
        self.runnable.setdefault(tid, ts)

    def add(
        self,
        name: str,
        nr: int,
        ts: int,
        pid: int | None,
        comm: str | None,
        dur: int | None,
        ret: int | None,
        err: str | None,
    ) -> None:
        names = self.time.setdefault(ts // ROLLUP_BUCKET_NS, {})
        names[name] = names.get(name, 0) + 1
        key = (name, nr, pid, comm)
        row = self.tasks.get(key)
        if row is None:
            row = self.tasks[key] = [0, 0, 0, 0, 0, 0, 0, 0]
        row[TASK_COUNT] += 1
        if err is not None:
            row[TASK_ERRORS] += 1
        if ret is not None:
            row[TASK_CALLS] += 1
        if dur is not None:
            _add_duration(row, self.latency, key, dur, ret is not None)


def _add_duration(
    row: list[int], latency: dict[tuple[str, int, int], int], key: TaskKey, dur: int, call: bool
) -> None:
    _add_durations(latency, ((row, key, dur, call),))


def _add_durations(
    latency: dict[tuple[str, int, int], int],
    items: Iterable[tuple[list[int], TaskKey, int, bool]],
) -> None:
    """Add each (task row, its key, duration, is a call) to its row and the histogram."""
    for row, (name, nr, _pid, _comm), dur, call in items:
        if call:
            row[TASK_CALL_NS] += dur
            if dur > row[TASK_CALL_MAX_NS]:
                row[TASK_CALL_MAX_NS] = dur
        row[TASK_DUR_COUNT] += 1
        row[TASK_DUR_NS] += dur
        if dur > row[TASK_DUR_MAX_NS]:
            row[TASK_DUR_MAX_NS] = dur
        if dur < SUB_BUCKETS:
            slot = dur if dur > 0 else 0
        else:
            shift = dur.bit_length() - 1 - SUB_BUCKET_BITS
            slot = (shift + 1) * SUB_BUCKETS + (dur >> shift) - SUB_BUCKETS
        lkey = (name, nr, slot)
        latency[lkey] = latency.get(lkey, 0) + 1


class RollupBuilder:
    """Aggregates batches for the writer; only the writer thread calls it."""

    def __init__(self, dialect: Dialect) -> None:
        self._kinds: dict[str, EventKind] = {}
        self._states: dict[int, _State] = {}
        self._rebuilds: dict[int, _State] = {}
        self._sql = Upserts(dialect)

    def _state(self, session_id: int, first_seq: int) -> _State:
        st = self._states.pop(session_id, None)
        if st is None:
            st = _State()
            if len(self._states) >= MAX_SESSIONS:
                idle = next((k for k, v in self._states.items() if not v.tasks), None)
                self._states.pop(idle if idle is not None else -1, None)
        st.new = st.new or first_seq == 0
        self._states[session_id] = st  # most recently used last
        return st

    def ingest(
        self,
        session_id: int,
        first_seq: int,
        events: Sequence[Sequence[Any]],
        columns: Sequence[Sequence[Any]] | None = None,
    ) -> Sequence[Sequence[Any]]:
        """Aggregate a batch (`columns`: its columns, `zip(*events)`, if the caller has
        them); returns it with promoted columns (a new list if any changed). The common
        path is inlined: it runs for every event the daemon stores."""
        st = self._state(session_id, first_seq)
        present = set(columns[EV_NAME]) if columns is not None else {ev[EV_NAME] for ev in events}
        classes = {cls for cls, _, _ in self._kinds_of(present)}
        if classes <= BATCH_KINDS:
            cols = columns if columns is not None else list(zip(*events, strict=True))
            if self._ingest_counted(st, present, cols) or self._ingest_syscalls(st, present, cols):
                return events
        out: list[Sequence[Any]] | None = None
        kinds, times, tasks, latency = self._kinds, st.time, st.tasks, st.latency
        low = high = 0  # the current time bucket [low, high): events come in ts order
        names: dict[str, int] = {}
        for i, ev in enumerate(events):
            ts, _cpu, pid, _tid, comm, name, _fields, dur, ret, err = ev
            kind = kinds.get(name)
            if kind is None:
                kind = kinds[name] = classify(name)
            if kind.cls != PLAIN:
                promoted = self._special(st, kind, ev)
                if promoted is not ev:
                    if out is None:
                        out = list(events)
                    out[i] = promoted
                continue
            if not low <= ts < high:
                bucket = ts // ROLLUP_BUCKET_NS
                low, high = bucket * ROLLUP_BUCKET_NS, (bucket + 1) * ROLLUP_BUCKET_NS
                names = times.setdefault(bucket, {})
            names[name] = names.get(name, 0) + 1
            key = (name, NO_NR, pid, comm)
            row = tasks.get(key)
            if row is None:
                row = tasks[key] = [0, 0, 0, 0, 0, 0, 0, 0]
            row[TASK_COUNT] += 1
            if err is not None:
                row[TASK_ERRORS] += 1
            if ret is not None:
                row[TASK_CALLS] += 1
            if dur is not None:
                _add_duration(row, latency, key, dur, ret is not None)
        return events if out is None else out

    def _kinds_of(self, names: set[str]) -> list[EventKind]:
        kinds = self._kinds
        out = []
        for name in names:
            kind = kinds.get(name)
            if kind is None:
                kind = kinds[name] = classify(name)
            out.append(kind)
        return out

    def _ingest_counted(
        self, st: _State, present: set[str], columns: Sequence[Sequence[Any]]
    ) -> bool:
        """The common flood, aggregated per batch with C-level counting: every event plain
        or a `syscalls:sys_enter_*` (no state: the worker pairs), none with a duration;
        plain events may carry a return value and errno (a bpf tool's promoted `ret`:
        counted per task as the loop does). False (nothing done) otherwise."""
        for name in present:
            cls, family, _ = self._kinds[name]
            if cls != PLAIN and not (cls == ENTER and family == "s"):
                return False
        ts, _cpu, pids, _tids, comms, names, _f, durs, rets, errs = columns
        n = len(ts)
        if durs.count(None) != n:
            return False
        per_task = self._count_tasks(st, present, ts, names, None, pids, comms)
        tasks = st.tasks
        # the events with an errno, with a return value, per task: the counts above when
        # every event has one (a bpf tool's flood), else one more count
        for slot, values in ((TASK_ERRORS, errs), (TASK_CALLS, rets)):
            some = n - values.count(None)
            if not some:
                continue
            having = map(is_not, values, repeat(None))
            counts = per_task if some == n else _per_task(present, names, pids, comms, having)
            for key, count in counts.items():
                tasks[key][slot] += count
        return True

    def _ingest_syscalls(
        self, st: _State, present: set[str], columns: Sequence[Sequence[Any]]
    ) -> bool:
        """Batches of plain events and paired syscalls (both families): counted per batch
        in C; the raw syscalls' numbers read from one parse of the batch's fields; a Python
        step only per event with a duration (its histogram slot)."""
        ts, _cpu, pids, _tids, comms, names, texts, durs, rets, errs = columns
        n = len(ts)
        raw = {name for name in present if self._kinds[name].family == "r"}
        nrs: Sequence[int]
        if raw:
            docs = orjson.loads("[" + ",".join(texts) + "]")
            nrs = [
                int(doc.get("id", NO_NR)) if name in raw else NO_NR
                for doc, name in zip(docs, names, strict=True)
            ]
        else:
            nrs = [NO_NR] * n
        keys = list(zip(names, nrs, pids, comms, strict=True))
        self._count_tasks(st, present, ts, names, keys, pids, comms)
        tasks, latency = st.tasks, st.latency
        if rets.count(None) != n:
            for key, count in Counter(compress(keys, map(is_not, rets, repeat(None)))).items():
                tasks[key][TASK_CALLS] += count
        if errs.count(None) != n:
            exits = {name for name in present if self._kinds[name].cls == EXIT}
            # an exit without its enter is not a call, so not a failed one (strace -c)
            paired = map(is_not, durs, repeat(None))
            with_err = compress(zip(keys, paired, strict=True), map(is_not, errs, repeat(None)))
            for (key, has_dur), count in Counter(with_err).items():
                name, _nr, _pid, _comm = key
                if has_dur or name not in exits:
                    tasks[key][TASK_ERRORS] += count
        if durs.count(None) == n:
            return True
        timed = map(is_not, durs, repeat(None))
        timed_events = compress(zip(keys, durs, rets, strict=True), timed)
        _add_durations(
            latency,
            ((tasks[k], k, dur, ret is not None) for k, dur, ret in timed_events),
        )
        return True

    def _count_tasks(
        self,
        st: _State,
        present: set[str],
        ts: Sequence[int],
        names: Sequence[str],
        keys: Iterable[TaskKey] | None,
        pids: Sequence[int | None],
        comms: Sequence[str | None],
    ) -> Mapping[TaskKey, int]:
        """Events per time bucket and name, and per task key (name, nr, pid, comm), in C;
        returns the counts per task key (`keys`: the batch's, or None for NO_NR)."""
        times = st.time
        if len(present) == 1:  # a flood of one event: no (bucket, name) tuple per event
            only = next(iter(present))
            first, last = min(ts) // ROLLUP_BUCKET_NS, max(ts) // ROLLUP_BUCKET_NS
            if first == last:  # the batch lies in one bucket (the common case)
                time_counts = [((first, only), len(ts))]
            else:
                buckets = map(ROLLUP_BUCKET_NS.__rfloordiv__, ts)
                time_counts = [((b, only), c) for b, c in Counter(buckets).items()]
        else:
            buckets = map(ROLLUP_BUCKET_NS.__rfloordiv__, ts)
            time_counts = list(Counter(zip(buckets, names, strict=True)).items())
        for (bucket, name), count in time_counts:
            per_name = times.setdefault(bucket, {})
            per_name[name] = per_name.get(name, 0) + count
        tasks = st.tasks
        counts = Counter(keys) if keys is not None else _per_task(present, names, pids, comms)
        for key, count in counts.items():
            row = tasks.get(key)
            if row is None:
                tasks[key] = [count, 0, 0, 0, 0, 0, 0, 0]
            else:
                row[TASK_COUNT] += count
        return counts

    def _special(self, st: _State, kind: EventKind, ev: Sequence[Any]) -> Sequence[Any]:
        cls, family, _syscall = kind
        ts, cpu, pid, tid, comm, name, fields, dur, ret, err = ev
        if isinstance(fields, str):  # JSON text, as the wire and the table carry it
            # rollups read the fields of raw syscalls (their number), scheduling events and
            # function-graph exits without a duration
            wanted = (
                family == "r" or cls in (SWITCH, WAKEUP) or (cls == FGRAPH_EXIT and dur is None)
            )
            fields = orjson.loads(fields) if wanted else {}
        nr = NO_NR
        if family == "r":
            nr = int(fields.get("id", NO_NR))
        if cls == EXIT and dur is None:  # no enter: not a call, so not a failed one (strace -c)
            err = None
        elif cls == FGRAPH_EXIT and dur is None:
            calltime, rettime = fields.get("calltime"), fields.get("rettime")
            if isinstance(calltime, int) and isinstance(rettime, int):
                dur = rettime - calltime
                ev = (*ev[:EV_DUR_NS], dur, ret, err)
        elif cls == SWITCH:
            st.switch(ts, cpu, tid, fields)
        elif cls == WAKEUP:
            st.wake(fields.get("pid"), ts)
        st.add(name, nr, ts, pid, comm, dur, ret, err)
        return ev

    def write(self, conn: Connection) -> None:
        """Upsert the aggregates of the current transaction (the caller commits)."""
        for sid, st in self._states.items():
            self._sql.write(conn, sid, st)
            st.clear_aggregates()

    def discard(self) -> None:
        """The transaction failed: its events were not stored, nor are their aggregates."""
        for st in self._states.values():
            st.clear_aggregates()

    def forget(self, session_id: int) -> None:
        self._states.pop(session_id, None)
        self._rebuilds.pop(session_id, None)

    # -- after pruning the oldest events of a (stopped) session -------------------------

    def invalidate(self, conn: Connection, session_id: int) -> None:
        """Drop a session's rollups and mark them incomplete until rebuilt."""
        self.forget(session_id)
        for table in ROLLUP_TABLES:
            conn.execute(delete(table).where(table.c.session_id == session_id))
        conn.execute(self._sql.mark, {"session_id": session_id, "complete": False})
        self._rebuilds[session_id] = _State()

    def rebuild_chunk(
        self, conn: Connection, session_id: int, after_seq: int, limit: int
    ) -> int | None:
        """Re-aggregate up to `limit` stored events after `after_seq`; the last seq read, or
        None when the session's rollups are complete again."""
        st = self._rebuilds.setdefault(session_id, _State())
        query = (
            select(*REBUILD_COLUMNS)
            .where(EventRow.session_id == session_id, EventRow.seq > after_seq)
            .order_by(EventRow.seq)
            .limit(limit)
        )
        rows = conn.execute(query).all()
        for row in rows:
            ev = tuple(row[1:])
            ts, _cpu, pid, _tid, comm, name, _fields, dur, ret, err = ev
            kind = self._kinds.get(name) or classify(name)
            if kind.cls == PLAIN:
                st.add(name, NO_NR, ts, pid, comm, dur, ret, err)
            else:
                self._special(st, kind, ev)
        self._sql.write(conn, session_id, st)
        st.clear_aggregates()
        if len(rows) == limit:
            return int(rows[-1][0])
        conn.execute(self._sql.mark, {"session_id": session_id, "complete": True})
        del self._rebuilds[session_id]
        return None


def _per_task(
    present: set[str],
    names: Sequence[str],
    pids: Sequence[Any],
    comms: Sequence[Any],
    selected: Iterable[bool] | None = None,
) -> Mapping[tuple[str, int, Any, Any], int]:
    """Events (those `selected`) per task key (name, NO_NR, pid, comm), counted in C; a
    batch of one name counts (pid, comm) pairs: no 4-tuple per event."""
    if len(present) == 1:
        only = next(iter(present))
        pairs: Iterable[tuple[Any, Any]] = zip(pids, comms, strict=True)
        if selected is not None:
            pairs = compress(pairs, selected)
        return {(only, NO_NR, pid, comm): c for (pid, comm), c in Counter(pairs).items()}
    keys: Iterable[tuple[str, int, Any, Any]] = zip(names, repeat(NO_NR), pids, comms, strict=False)
    if selected is not None:
        keys = compress(keys, selected)
    return Counter(keys)


REBUILD_COLUMNS = (*COLUMNS, EventRow.dur_ns, EventRow.ret, EventRow.errno)
"""seq, then the stored event in WireEvent order"""
