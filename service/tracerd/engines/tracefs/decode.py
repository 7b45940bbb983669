"""The page decoder's hot loop: one trace_pipe_raw sub-buffer -> `WireEvent`s. Pure, no I/O.

Record headers (kernel-interfaces.md 2.3/2.4): type_len 1..28 data of 4*type_len bytes,
type_len 0 data with explicit length, 29 padding (delta 0: end of page; else skipped, its
delta added as libtraceevent's kbuffer does so timestamps equal `trace-cmd report`'s),
30 TIME_EXTEND, 31 absolute TIME_STAMP (59 bits; the top 5 bits come from the running time).
Page header: `commit` is read unsigned; bit 31 RB_MISSED_EVENTS, bit 30 RB_MISSED_STORED (the
count is the `long` after the data), low 27 bits the length.

Speed (bench/tracefs_decode.py): the page is viewed once as 32-bit words (`memoryview.cast`),
so headers, `common_type` and `common_pid` are list-like index reads with no tuple built; each
record costs one call of its plan's generated maker (parse.build_maker: one `unpack_from`, a
dict display, `tuple.__new__` for the `WireEvent`, whose own `__new__` is 3x slower) and one
dict lookup for the task.

Caveats: assumes `common_type` is the u16 at payload offset 0 and `common_pid` the int at 4
(true of every format file since 4.x). Records with unknown ids are skipped and counted in
`unknown`; records shorter than their format, or running past `commit`, in `errors`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ...kernel.proc import thread_group
from ...types import WireEvent, lost_event
from .registry import (
    COMMIT_LEN_MASK,
    RB_MISSED_EVENTS,
    RB_MISSED_STORED,
    TS_MSB_MASK,
    TS_MSB_SHIFT,
    TYPE_TIME_EXTEND,
    TYPE_TIME_STAMP,
    UNKNOWN_LOST,
    EventRegistry,
    Hook,
    build_maker,
)

_U64 = struct.Struct("<Q").unpack_from
_U32 = struct.Struct("<I").unpack_from
_NO_TASK: tuple[int | None, str | None] = (None, None)
MARKER_EVENTS = frozenset({"ftrace:print", "ftrace:raw_data"})
"""trace_marker and trace_marker_raw writes: kept whoever wrote them"""


class TaskLookup(Protocol):
    """What the decoder needs from tasks.py: a tid -> (pid, comm) cache and its slow path."""

    cache: dict[int, tuple[int | None, str | None]]

    def tick(self) -> None:
        """Called once per page: a chance to expire cached answers."""
        ...

    def lookup(self, tid: int) -> tuple[int | None, str | None]:
        """Resolve a tid missing from `cache` (and store it there)."""
        ...

    def hooks(self) -> Mapping[str, Hook]:
        """Display name -> callback(tid, fields, ts) for events that tell a task's comm/tgid."""
        ...

    def in_time_order(self, events: list[WireEvent], horizon: int) -> list[WireEvent]:
        """`events` (sorted by time, all at or before `horizon`) with each task's comm as of
        its event's time: an exec or rename decoded after events of other CPUs that follow
        it (or before ones that precede it) is applied in timestamp order."""
        ...


@dataclass(frozen=True, slots=True)
class PageInfo:
    ts_ns: int
    """the page header's timestamp (where this page's loss record is placed)"""
    length: int
    """bytes of records (commit with the flags masked)"""
    lost: int | None
    """None: nothing missed before this page; else the count, or UNKNOWN_LOST"""
    records: int
    """data records appended (the loss record not included)"""


class PageDecoder:
    """Decodes the pages of one session with an `EventRegistry` and an optional `TaskLookup`."""

    def __init__(self, registry: EventRegistry, tasks: TaskLookup | None = None) -> None:
        self.registry = registry
        self.tasks = tasks
        self.errors = 0
        self.unknown = 0
        self.skip_pids: frozenset[int] = frozenset()
        self._skip_tids: dict[int, bool] = {}
        """tgids whose records are dropped (the daemon and workers, system-wide: see
        `skip_processes`)"""
        self.skipped = 0
        self._ts_offset = registry.layout.ts_offset
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the id -> plan table (after `registry.add`)."""
        tasks = self.tasks
        hooks = tasks.hooks() if tasks is not None else {}
        resolve = self._resolve
        self._makers = {
            eid: build_maker(p, hooks.get(p.name), resolve)
            for eid, p in self.registry.plans.items()
        }
        # kept from skipped processes: records the kernel makes for the other task they name
        # (the wakee, the next task), and trace_marker writes, which no pid list filters
        # (the session's own markers are written by its worker: POST .../marker)
        self._keep_ids = frozenset(
            eid
            for eid, p in self.registry.plans.items()
            if p.name in hooks or p.name in MARKER_EVENTS
        )

    def skip_processes(self, pids: Iterable[int]) -> None:
        """Drop the records of these processes' threads. `set_event_notrace_pid` lists
        the threads that existed when it was written; a thread the daemon starts later
        (its thread pool grows and shrinks) is traced until the next update, so the
        decoder drops what the kernel let through, by tgid. Scheduler records that the
        kernel keeps for the other task they name are kept, and markers (MARKER_EVENTS:
        the kernel's list never applied to them, and the worker writes the API's)."""
        self.skip_pids = frozenset(pids)
        self._skip_tids = {}

    def _is_skipped(self, tid: int) -> bool:
        """Confirm (once per tid) from /proc that the thread belongs to a skipped process:
        the task cache may know the tid from the kernel's global `saved_tgids`, where a pid
        reused after the pid space wrapped still has the tgid of the thread that had it."""
        known = self._skip_tids.get(tid)
        if known is None:
            tgid = thread_group(tid)
            known = tgid is None or tgid in self.skip_pids  # gone: trust what the cache said
            if len(self._skip_tids) >= 65536:
                self._skip_tids.clear()
            self._skip_tids[tid] = known
        return known

    def _resolve(self, tid: int) -> tuple[int | None, str | None]:
        if self.tasks is None:
            return _NO_TASK
        return self.tasks.cache.get(tid) or self.tasks.lookup(tid)

    def page_ts(self, buf: Any, base: int = 0) -> int:
        ts: int = _U64(buf, base + self._ts_offset)[0]
        return ts

    def page_header(self, buf: Any, base: int = 0) -> tuple[int, int, int | None]:
        """(timestamp, length, lost) of the page at `buf[base:]`."""
        lay = self.registry.layout
        ts: int = _U64(buf, base + lay.ts_offset)[0]
        unpack_long = _U64 if lay.long_size == 8 else _U32
        commit: int = unpack_long(buf, base + lay.commit_offset)[0]
        length = commit & COMMIT_LEN_MASK
        lost: int | None = None
        if commit & RB_MISSED_EVENTS:
            lost = UNKNOWN_LOST
            if commit & RB_MISSED_STORED:
                lost = unpack_long(buf, base + lay.data_offset + length)[0]
        return ts, length, lost

    def decode(
        self,
        buf: Any,
        cpu: int,
        out: list[WireEvent],
        base: int = 0,
        words: memoryview | None = None,
    ) -> PageInfo:
        """Decode the page at `buf[base:]`, appending to `out` a loss record first when the
        kernel flagged missed events, then one event per data record. `words` is
        `memoryview(buf).cast("I")` if the caller has it (the pages of one chunk share it)."""
        if self.tasks is not None:
            self.tasks.tick()
        page_ts, length, lost = self.page_header(buf, base)
        if lost is not None:
            out.append(lost_event("kernel", lost, page_ts, cpu))
        if words is None:
            words = memoryview(buf).cast("I")
        start = base + self.registry.layout.data_offset
        n = self._records(buf, words, cpu, out, page_ts, start, start + length)
        return PageInfo(page_ts, length, lost, n)

    def _records(
        self,
        buf: Any,
        words: memoryview,
        cpu: int,
        out: list[WireEvent],
        ts: int,
        pos: int,
        end: int,
    ) -> int:
        makers_get = self._makers.get
        tasks = self.tasks
        cache: dict[int, tuple[int | None, str | None]] = tasks.cache if tasks else {}
        cache_get = cache.get
        lookup = tasks.lookup if tasks is not None else _no_task
        skip, keep = self.skip_pids, self._keep_ids
        append = out.append
        n = 0
        while pos < end:
            w = words[pos >> 2]
            tl = w & 31
            if tl == 0:
                rlen = words[(pos >> 2) + 1]
                poff, plen = pos + 8, rlen - 4
                pos += 4 + rlen
            elif tl <= 28:
                poff, plen = pos + 4, tl << 2
                pos = poff + plen
            elif tl == TYPE_TIME_EXTEND:
                ts += (words[(pos >> 2) + 1] << 27) + (w >> 5)
                pos += 8
                continue
            elif tl == TYPE_TIME_STAMP:
                ts = _absolute_ts(ts, (words[(pos >> 2) + 1] << 27) + (w >> 5))
                pos += 8
                continue
            elif w >> 5:  # padding inside the data: a discarded record
                ts += w >> 5
                pos += 4 + words[(pos >> 2) + 1]
                continue
            else:  # padding with delta 0: the rest of the page is empty
                break
            ts += w >> 5
            if pos > end:
                self.errors += 1
                break
            q = poff >> 2
            eid = words[q] & 0xFFFF
            make = makers_get(eid)
            if make is None:
                self.unknown += 1
                continue
            tid = words[q + 1]
            if tid > 0x7FFFFFFF:
                tid -= 1 << 32
            task = cache_get(tid) or lookup(tid)
            if skip and task[0] in skip and eid not in keep and self._is_skipped(tid):
                self.skipped += 1
                continue
            ev = make(buf, poff, plen, ts, cpu, tid, task)
            if ev is None:
                self.errors += 1
                continue
            append(ev)
            n += 1
        return n


def _no_task(tid: int) -> tuple[int | None, str | None]:
    return _NO_TASK


def _absolute_ts(previous: int, value: int) -> int:
    """A TIME_STAMP record stores 59 bits; the top bits come from the running time."""
    msb = previous & TS_MSB_MASK
    if not msb:
        return value
    ts = value | msb
    return ts + (1 << TS_MSB_SHIFT) if ts < previous else ts
