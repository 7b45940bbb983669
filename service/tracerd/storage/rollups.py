"""Rollups kept at ingest by the EventWriter thread, so reports on millions of events read
thousands of rows (tables in tables.py: rollup_time, rollup_tasks, rollup_latency,
rollup_sched, rollup_sessions).

Mechanism: `ingest()` runs over each batch before it is inserted. It promotes what the
kernel splits in two — a tracefs syscall exit (`syscalls:sys_exit_*`, `raw_syscalls:sys_exit`)
gets `ret`, `errno` and `dur_ns` (paired per tid with the enter of the same syscall, which
`seq` order makes the previous one of that thread); a `ftrace:funcgraph_exit` gets `dur_ns`
(rettime - calltime) — then adds every event to per-batch aggregates: per 100 ms bucket and
name; per name/syscall nr/pid/comm (count, errors, calls, durations); a log-linear histogram
of `dur_ns` (32 sub-buckets per power of two: ±1.6 %); per-task scheduling from
`sched_switch`/`sched_wakeup` (on-CPU time between switches of a CPU, wait from the first
wake-up, or preemption, to the switch-in). `write()` upserts them in the batch's transaction.

Requirements: events of a session arrive in `seq` order (one writer). Caveats: a `lost`
record clears pending syscall enters (a pair across a gap would be wrong); an exit without
its enter has `ret` (and `errno`) but no duration, and is not counted in `errors` (as
strace -c counts only calls it saw enter); pruning the oldest events of a session invalidates its
rollups until `rebuild_chunk` has re-read what is left (reports use the events meanwhile).
"""

from __future__ import annotations

import errno as errno_mod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_not
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, delete, select

from .queries import COLUMNS
from .rollup_sql import ROLLUP_TABLES, Upserts
from .tables import (
    EventRow,
)

ROLLUP_BUCKET_NS = 100_000_000
SUB_BUCKET_BITS = 5
SUB_BUCKETS = 1 << SUB_BUCKET_BITS
NO_NR = -1
MAX_PENDING = 65_536  # syscall enters / runnable tasks remembered per session
MAX_SESSIONS = 256  # sessions whose pairing state is kept (least recently used dropped)
RUNNABLE_MASK = 0xFF  # prev_state bits of sched_switch; none set = still runnable ("R", "R+")
ERRNO_MAX = 4096
KERNEL_ERRNOS = {
    512: "ERESTARTSYS",
    513: "ERESTARTNOINTR",
    514: "ERESTARTNOHAND",
    515: "ENOIOCTLCMD",
    516: "ERESTART_RESTARTBLOCK",
}

# event classes
PLAIN, ENTER, EXIT, FGRAPH_EXIT, SWITCH, WAKEUP, LOST = range(7)


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


def errno_of(ret: Any) -> str | None:
    if not isinstance(ret, int) or not -ERRNO_MAX < ret < 0:
        return None
    return errno_mod.errorcode.get(-ret) or KERNEL_ERRNOS.get(-ret) or f"E{-ret}"


def classify(name: str) -> tuple[int, str, str]:
    """(class, family, syscall) of an event name."""
    sub, _, event = name.partition(":")
    if sub == "syscalls" and event.startswith(("sys_enter_", "sys_exit_")):
        enter = event.startswith("sys_enter_")
        return (ENTER if enter else EXIT), "s", event[10 if enter else 9 :]
    if sub == "raw_syscalls" and event in ("sys_enter", "sys_exit"):
        return (ENTER if event == "sys_enter" else EXIT), "r", ""
    if name == "ftrace:funcgraph_exit":
        return FGRAPH_EXIT, "", ""
    if name == "sched:sched_switch":
        return SWITCH, "", ""
    if name in ("sched:sched_wakeup", "sched:sched_wakeup_new"):
        return WAKEUP, "", ""
    if name == "lost":
        return LOST, "", ""
    return PLAIN, "", ""


PAIRED_EXITS = (EXIT, FGRAPH_EXIT)


@dataclass(slots=True)
class _State:
    """One session: aggregates of the current transaction and the pairing state."""

    time: dict[int, dict[str, int]] = field(default_factory=dict)
    """bucket -> name -> count"""
    tasks: dict[tuple[str, int, int | None, str | None], list[int]] = field(default_factory=dict)
    latency: dict[tuple[str, int, int], int] = field(default_factory=dict)
    sched: dict[int, list[Any]] = field(default_factory=dict)
    enters: dict[tuple[int, str], tuple[object, int]] = field(default_factory=dict)
    cpu_last: dict[int, int] = field(default_factory=dict)
    runnable: dict[int, int] = field(default_factory=dict)
    new: bool = False

    def clear_aggregates(self) -> None:
        self.time, self.tasks, self.latency, self.sched = {}, {}, {}, {}
        self.new = False

    def task(self, tid: int, comm: Any) -> list[Any]:
        row = self.sched.get(tid)
        if row is None:
            row = self.sched[tid] = ["", 0, 0, 0, 0, 0, 0]
        if comm:
            row[0] = str(comm)
        return row

    def pair(self, cls: int, family: str, key: object, tid: int, ts: int) -> int | None:
        """Remember an enter (returns None) or return the duration of an exit."""
        if cls == ENTER:
            if len(self.enters) >= MAX_PENDING:
                self.enters.clear()
            self.enters[(tid, family)] = (key, ts)
            return None
        start = self.enters.pop((tid, family), None)
        return ts - start[1] if start is not None and start[0] == key else None

    def switch(self, ts: int, cpu: Any, tid: Any, fields: dict[str, Any]) -> None:
        prev = tid if tid is not None else fields.get("prev_pid")
        if prev is None or cpu is None:
            return
        row = self.task(prev, fields.get("prev_comm"))
        last = self.cpu_last.get(cpu)
        if last is not None:
            row[1] += ts - last
        row[2] += 1
        self.cpu_last[cpu] = ts
        state = fields.get("prev_state")
        if prev != 0 and isinstance(state, int) and state & RUNNABLE_MASK == 0:
            row[3] += 1
            self.wake(prev, ts)
        nxt = fields.get("next_pid")
        if nxt is not None:
            nrow = self.task(nxt, fields.get("next_comm"))
            since = self.runnable.pop(nxt, None)
            if since is not None:
                wait = ts - since
                nrow[4] += wait
                nrow[5] += 1
                nrow[6] = max(nrow[6], wait)

    def wake(self, tid: Any, ts: int) -> None:
        if tid is None or tid == 0:
            return
        if len(self.runnable) >= MAX_PENDING:
            self.runnable.clear()
        self.runnable.setdefault(tid, ts)

    def add(self, name: str, nr: int, ev: Sequence[Any], dur: Any, ret: Any, err: Any) -> None:
        names = self.time.setdefault(ev[0] // ROLLUP_BUCKET_NS, {})
        names[name] = names.get(name, 0) + 1
        key = (name, nr, ev[2], ev[4])
        row = self.tasks.get(key)
        if row is None:
            row = self.tasks[key] = [0, 0, 0, 0, 0, 0, 0, 0]
        row[0] += 1
        if err is not None:
            row[1] += 1
        if ret is not None:
            row[2] += 1
        if dur is not None:
            _add_duration(row, self.latency, name, nr, dur, ret is not None)


def _add_duration(
    row: list[int],
    latency: dict[tuple[str, int, int], int],
    name: str,
    nr: int,
    dur: int,
    call: bool,
) -> None:
    if call:
        row[3] += dur
        if dur > row[4]:
            row[4] = dur
    row[5] += 1
    row[6] += dur
    if dur > row[7]:
        row[7] = dur
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
        self._kinds: dict[str, tuple[int, str, str]] = {}
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
        self, session_id: int, first_seq: int, events: Sequence[Sequence[Any]]
    ) -> Sequence[Sequence[Any]]:
        """Aggregate a batch; returns it with promoted columns (a new list if any changed).
        The common path is inlined: it runs for every event the daemon stores."""
        st = self._state(session_id, first_seq)
        if self._ingest_counted(st, events):
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
            if kind[0] != PLAIN:
                promoted = self._special(st, kind, ev, pair=True)
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
            row[0] += 1
            if err is not None:
                row[1] += 1
            if ret is not None:
                row[2] += 1
            if dur is not None:
                _add_duration(row, latency, name, NO_NR, dur, ret is not None)
        return events if out is None else out

    def _ingest_counted(self, st: _State, events: Sequence[Sequence[Any]]) -> bool:
        """The common flood, aggregated per batch with C-level counting: every event plain
        or a `syscalls:sys_enter_*` (whose only state is the pending enter of its thread),
        none with a duration; plain events may carry a return value and errno (a bpf tool's
        promoted `ret`: counted per task as the loop does). False (nothing done) otherwise."""
        kinds = self._kinds
        enters: list[str] = []
        present = {ev[5] for ev in events}
        for name in present:
            kind = kinds.get(name)
            if kind is None:
                kind = kinds[name] = classify(name)
            if kind[0] == ENTER and kind[1] == "s":
                enters.append(name)
            elif kind[0] != PLAIN:
                return False
        ts, _cpu, pids, tids, comms, names, _f, durs, rets, errs = zip(*events, strict=True)
        n = len(events)
        if durs.count(None) != n:
            return False
        results = rets.count(None) != n or errs.count(None) != n
        if results and enters:
            return False
        if enters:
            self._remember_enters(st, enters, ts, tids, names)
        times = st.time
        buckets = map(ROLLUP_BUCKET_NS.__rfloordiv__, ts)
        if len(present) == 1:  # a flood of one event: no (bucket, name) tuple per event
            only = next(iter(present))
            time_counts = [((b, only), c) for b, c in Counter(buckets).items()]
            per_task = Counter(zip(pids, comms, strict=True)).items()
            task_counts = [((only, pid, comm), c) for (pid, comm), c in per_task]
        else:
            time_counts = list(Counter(zip(buckets, names, strict=True)).items())
            task_counts = list(Counter(zip(names, pids, comms, strict=True)).items())
        for (bucket, name), count in time_counts:
            per_name = times.setdefault(bucket, {})
            per_name[name] = per_name.get(name, 0) + count
        tasks = st.tasks
        for (name, pid, comm), count in task_counts:
            key = (name, NO_NR, pid, comm)
            row = tasks.get(key)
            if row is None:
                tasks[key] = [count, 0, 0, 0, 0, 0, 0, 0]
            else:
                row[0] += count
        if results:  # the events with an errno, with a return value, per task (in C)
            keys = zip(names, pids, comms, strict=True)
            flags = zip(
                map(is_not, errs, repeat(None)), map(is_not, rets, repeat(None)), strict=True
            )
            for ((name, pid, comm), (has_err, has_ret)), count in Counter(
                zip(keys, flags, strict=True)
            ).items():
                key = (name, NO_NR, pid, comm)
                tasks[key][1] += count if has_err else 0
                tasks[key][2] += count if has_ret else 0
        return True

    def _remember_enters(
        self,
        st: _State,
        enter_names: list[str],
        ts: Sequence[int],
        tids: Sequence[Any],
        names: Sequence[str],
    ) -> None:
        """The pending enter of each thread after the batch: its last one (no exit in it)."""
        kinds = self._kinds
        if len(enter_names) == 1:
            syscall, enter = kinds[enter_names[0]][2], enter_names[0]
            # the last stamp of each thread, selected and kept in C (a dict keeps the last)
            last = dict(compress(zip(tids, ts, strict=True), map(enter.__eq__, names)))
            last.pop(None, None)
            latest = {(tid, "s"): (syscall, t) for tid, t in last.items()}
        else:
            latest = {
                (tid, "s"): (kinds[name][2], t)
                for tid, t, name in zip(tids, ts, names, strict=True)
                if tid is not None and name in enter_names
            }
        if len(st.enters) + len(latest) > MAX_PENDING:
            st.enters.clear()
        st.enters.update(latest)

    def _special(
        self, st: _State, kind: tuple[int, str, str], ev: Sequence[Any], pair: bool
    ) -> Sequence[Any]:
        cls, family, syscall = kind
        ts, cpu, _pid, tid, _comm, name, fields, dur, ret, err = ev
        if isinstance(fields, str):  # JSON text, as the wire and the table carry it
            # rollups read the fields of raw syscalls (their number), scheduling events and
            # the exits they pair
            wanted = family == "r" or cls in (SWITCH, WAKEUP) or (pair and cls in PAIRED_EXITS)
            fields = orjson.loads(fields) if wanted else {}
        nr = NO_NR
        if family:
            if family == "r":
                nr = int(fields.get("id", NO_NR))
            if pair and tid is not None:
                dur_pair = st.pair(cls, family, nr if family == "r" else syscall, tid, ts)
                if cls == EXIT:
                    ret = fields.get("ret")
                    err = errno_of(ret)
                    dur = dur_pair if dur is None else dur
                    ev = (*ev[:7], dur, ret, err)
                    if dur is None:  # no enter: not a call, so not a failed one (strace -c)
                        err = None
        elif cls == FGRAPH_EXIT and dur is None and pair:
            calltime, rettime = fields.get("calltime"), fields.get("rettime")
            if isinstance(calltime, int) and isinstance(rettime, int):
                dur = rettime - calltime
                ev = (*ev[:7], dur, ret, err)
        elif cls == SWITCH:
            st.switch(ts, cpu, tid, fields)
        elif cls == WAKEUP:
            st.wake(fields.get("pid"), ts)
        elif cls == LOST and pair:
            st.enters.clear()
        st.add(name, nr, ev, dur, ret, err)
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
            kind = self._kinds.get(ev[5]) or classify(ev[5])
            if kind[0] == PLAIN:
                st.add(ev[5], NO_NR, ev, ev[7], ev[8], ev[9])
            else:
                self._special(st, kind, ev, pair=False)
        self._sql.write(conn, session_id, st)
        st.clear_aggregates()
        if len(rows) == limit:
            return int(rows[-1][0])
        conn.execute(self._sql.mark, {"session_id": session_id, "complete": True})
        del self._rebuilds[session_id]
        return None


REBUILD_COLUMNS = (*COLUMNS, EventRow.dur_ns, EventRow.ret, EventRow.errno)
"""seq, then the stored event in WireEvent order"""
