"""tid -> (pid, comm) resolution for tracefs events (design.md "An event", tracefs).

Mechanism: `tid` is the record's `common_pid`. The decoder asks `cache` first (one dict
lookup per record) and calls `lookup()` on a miss:
- `comm`: the session's own map, kept up to date by `hooks()` as records are decoded
  (sched_process_exec/fork/exit, sched_switch, sched_wakeup*, task_newtask, task_rename),
  then the kernel's `saved_cmdlines`, then `/proc/<tid>/comm`;
- `pid` (tgid): exec and task_newtask records, then `saved_tgids` (filled by the kernel when
  the instance has `options/record-tgid` = 1), then `/proc/<tid>/status`, else None.

Requirements: read access to the top-level tracefs `saved_cmdlines`/`saved_tgids` (global, not
per instance) and /proc. The engine should set `options/record-tgid` = 1 in its instance.

Bounds: every map holds at most `max_entries` tids (cleared when full: entries are then
resolved again); the saved_* files are parsed at most every `SAVED_REFRESH_S` (they are
rewritten by the kernel, thousands of lines), and only on a miss.
Time order: pages are decoded one CPU page at a time, so an exec (or task_rename) on one CPU
can be decoded after later events of that task on another (which then got the old comm), or
before earlier ones (which got the new). Each exec/rename is kept as (ts, old, new) per task
and `in_time_order` gives every released event (the merge stage hands them over sorted) the
comm as of its own timestamp. Only the last change older than what was released is kept.

Caveats: tid 0 is the idle task (`<idle>`, pid 0) as trace-cmd shows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ...kernel.proc import thread_group
from ...kernel.tracefs import DEFAULT_ROOT, Tracefs
from ...types import WireEvent

log = logging.getLogger(__name__)

TASK_COMM_LEN = 16
MAX_ENTRIES = 65536
SAVED_REFRESH_S = 0.5
CACHE_TTL_S = 1.0
CLONE_THREAD = 0x00010000
IDLE: tuple[int | None, str | None] = (0, "<idle>")

Task = tuple[int | None, str | None]


class TaskResolver:
    """The decoder's `TaskLookup` (decode.py) for one session."""

    def __init__(
        self,
        tracefs_root: str = str(DEFAULT_ROOT),
        proc_root: str = "/proc",
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.cache: dict[int, Task] = {0: IDLE}
        self._tracefs = tracefs_root
        self._proc = proc_root
        self._max = max_entries
        self._comm: dict[int, str] = {}
        self._tgid: dict[int, int] = {}
        self._saved_comm: dict[int, str] = {}
        self._saved_tgid: dict[int, int] = {}
        self._saved_at = -SAVED_REFRESH_S
        self._cleared_at = time.monotonic()
        self._changes: dict[int, list[tuple[int, str | None, str]]] = {}
        """tid -> (ts, comm before, comm after) of its exec/rename records, by time"""

    def tick(self) -> None:
        """Forget resolved answers every CACHE_TTL_S (called once per page): a comm read
        from saved_cmdlines or /proc goes stale when the task execs or renames itself and
        the session records no exec event (a launched command is first seen as the stub).
        What the session's own records taught (`hooks`) is kept and consulted first."""
        now = time.monotonic()
        if now - self._cleared_at >= CACHE_TTL_S:
            self._cleared_at = now
            self.cache.clear()
            self.cache[0] = IDLE

    def lookup(self, tid: int) -> Task:
        """Resolve a tid missing from `cache`, and cache the answer (also a negative one)."""
        if tid <= 0:
            return IDLE
        comm = self._comm.get(tid) or self._saved("comm", tid) or self._proc_comm(tid)
        pid = self._tgid.get(tid) or self._saved("tgid", tid) or self._proc_tgid(tid)
        task = (pid, comm)
        self._put(self.cache, tid, task)
        return task

    def set_comm(self, tid: int, comm: str, tgid: int | None = None) -> None:
        """What a record says about a task: its comm (and tgid when the record tells)."""
        if tid <= 0 or not comm:
            return
        comm = comm[: TASK_COMM_LEN - 1]
        self._put(self._comm, tid, comm)
        if tgid is not None:
            self._put(self._tgid, tid, tgid)
        old = self.cache.get(tid)
        pid = tgid if tgid is not None else (old[0] if old else None)
        if old is None or old != (pid, comm):
            self._put(self.cache, tid, (pid, comm) if pid is not None else self.lookup(tid))

    def hooks(self) -> Mapping[str, Callable[[int, dict[str, Any], int], None]]:
        """Display name -> callback(tid, fields, ts), called as records are decoded."""
        return {
            "sched:sched_process_exec": self._on_exec,
            "sched:sched_process_fork": self._on_fork,
            "sched:sched_process_exit": self._pair("pid", "comm"),
            "sched:sched_switch": self._on_switch,
            "sched:sched_wakeup": self._pair("pid", "comm"),
            "sched:sched_wakeup_new": self._pair("pid", "comm"),
            "sched:sched_waking": self._pair("pid", "comm"),
            "task:task_newtask": self._on_newtask,
            "task:task_rename": self._on_rename,
        }

    def _on_exec(self, tid: int, f: dict[str, Any], ts: int) -> None:
        # after exec the task leads its thread group (de_thread): pid == tgid
        name = str(f.get("filename", "")).rsplit("/", 1)[-1][: TASK_COMM_LEN - 1]
        pid = f.get("pid")
        pid = pid if isinstance(pid, int) else tid
        self._changed(pid, ts, name)
        self.set_comm(pid, name, pid)

    def _on_rename(self, tid: int, f: dict[str, Any], ts: int) -> None:
        pid, comm = f.get("pid"), f.get("newcomm")
        if isinstance(pid, int) and isinstance(comm, str) and comm:
            self._changed(pid, ts, comm[: TASK_COMM_LEN - 1])
        self._pair_set(f, "pid", "newcomm")

    def _changed(self, tid: int, ts: int, comm: str) -> None:
        if tid <= 0:
            return
        before = (self.cache.get(tid) or self.lookup(tid))[1]
        changes = self._changes.get(tid)
        if changes is None:
            if len(self._changes) >= self._max:
                self._changes.clear()
            changes = self._changes[tid] = []
        changes.append((ts, before, comm))
        changes.sort(key=lambda c: c[0])

    def in_time_order(self, events: list[WireEvent], horizon: int) -> list[WireEvent]:
        """See the module docstring: each event's comm as of its time."""
        changes = self._changes
        if not changes:
            return events
        out = events
        for i, ev in enumerate(events):
            timeline = changes.get(ev.tid) if ev.tid is not None else None
            if timeline is None:
                continue
            comm = _comm_at(timeline, ev.ts_ns)
            if comm is not None and comm != ev.comm:
                if out is events:
                    out = list(events)
                out[i] = ev._replace(comm=comm)
        for tid in list(changes):  # keep the last change at or before the horizon
            timeline = changes[tid]
            done = sum(1 for c in timeline if c[0] <= horizon)
            if done > 1:
                del timeline[: done - 1]
        return out

    def _on_fork(self, tid: int, f: dict[str, Any], ts: int) -> None:
        self._pair_set(f, "parent_pid", "parent_comm")
        self._pair_set(f, "child_pid", "child_comm")

    def _on_switch(self, tid: int, f: dict[str, Any], ts: int) -> None:
        self._pair_set(f, "prev_pid", "prev_comm")
        self._pair_set(f, "next_pid", "next_comm")

    def _on_newtask(self, tid: int, f: dict[str, Any], ts: int) -> None:
        pid, comm, flags = f.get("pid"), f.get("comm"), f.get("clone_flags", 0)
        if not isinstance(pid, int) or not isinstance(comm, str):
            return
        creator = self.cache.get(tid) or self.lookup(tid)
        tgid = creator[0] if isinstance(flags, int) and flags & CLONE_THREAD else pid
        self.set_comm(pid, comm, tgid)

    def _pair(self, pid_key: str, comm_key: str) -> Callable[[int, dict[str, Any], int], None]:
        return lambda tid, f, ts: self._pair_set(f, pid_key, comm_key)

    def _pair_set(self, f: dict[str, Any], pid_key: str, comm_key: str) -> None:
        pid, comm = f.get(pid_key), f.get(comm_key)
        if isinstance(pid, int) and isinstance(comm, str) and self._comm.get(pid) != comm:
            self.set_comm(pid, comm)

    def _put(self, d: dict[int, Any], key: int, value: Any) -> None:
        if len(d) >= self._max and key not in d:
            d.clear()
            if d is self.cache:
                d[0] = IDLE
        d[key] = value

    def _saved(self, kind: str, tid: int) -> Any:
        table = self._saved_comm if kind == "comm" else self._saved_tgid
        value = table.get(tid)
        now = time.monotonic()
        if value is None and now - self._saved_at >= SAVED_REFRESH_S:
            self._saved_at = now
            self._saved_comm = _read_pairs(self._tracefs, "saved_cmdlines", str)
            self._saved_tgid = _read_pairs(self._tracefs, "saved_tgids", int)
            table = self._saved_comm if kind == "comm" else self._saved_tgid
            value = table.get(tid)
        return value if value not in ("<...>", 0) else None

    def _proc_comm(self, tid: int) -> str | None:
        try:
            with open(f"{self._proc}/{tid}/comm", "rb") as fh:
                return fh.read().rstrip(b"\n").decode("utf-8", "backslashreplace") or None
        except OSError:
            return None

    def _proc_tgid(self, tid: int) -> int | None:
        return thread_group(tid, self._proc)


def _comm_at(timeline: list[tuple[int, str | None, str]], ts: int) -> str | None:
    """The comm at `ts` from a task's (ts, before, after) changes, sorted by time."""
    if ts < timeline[0][0]:
        return timeline[0][1]
    comm = timeline[0][2]
    for when, _before, after in timeline:
        if when > ts:
            break
        comm = after
    return comm


def _read_pairs(root: str, file: str, conv: Callable[[str], Any]) -> dict[int, Any]:
    """`saved_cmdlines` ("pid comm") or `saved_tgids` ("pid tgid") as a dict."""
    out: dict[int, Any] = {}
    try:
        for line in Tracefs(Path(root)).lines(file):
            pid, _, rest = line.rstrip("\n").partition(" ")
            if pid.isdigit() and rest:
                out[int(pid)] = conv(rest)
    except (OSError, ValueError) as exc:
        log.debug("cannot read %s/%s: %s", root, file, exc)
    return out
