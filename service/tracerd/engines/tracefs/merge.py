"""The decode-and-merge stage: raw per-CPU pages -> events in timestamp order -> sink batches.

Mechanism: one thread (`tracefs-decode`) takes pages from the per-CPU `RawStore`s, always the
page with the smallest header timestamp next (so comm/tgid hooks run in near time order),
decodes them into per-CPU pending lists, and releases every event whose timestamp is at or
below the horizon H = min over CPUs of what that CPU can still produce:
- a CPU with undecoded pages: the time of its last decoded record;
- a CPU whose pages are all decoded: max(last record, `drained_ns` - `REORDER_DELAY_NS`), where
  `drained_ns` is the session-clock time at which its reader last found the kernel buffer
  empty (an idle CPU thus advances to "now"); the delay covers records being committed while
  the reader looked.
Released events are sorted by timestamp (Timsort merges the per-CPU runs in C), their
syscall exits paired with their enters (pairing.py), and handed to the `EventSink` in
batches of at most `Limits.batch_events`, at least every `Limits.batch_interval_s`. A
record that still arrives behind H is emitted at once and counted in `late`.

Caveats: for clocks without a user-space equivalent (local, global, perf, x86-tsc, counter)
"now" is estimated from the records seen (`SessionClock`): idle CPUs then lag a little more.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import threading
import time
from collections.abc import Mapping
from operator import itemgetter
from typing import Protocol

from ...kernel.tracefs import CLOCK_IDS
from ...types import WireEvent
from ..base import EventSink, Limits
from .decode import PageDecoder
from .pairing import SyscallPairer
from .spool import RawStore

log = logging.getLogger(__name__)

REORDER_DELAY_NS = 10_000_000
HOT_BYTES_PER_S = 8 << 20
"""raw input rate above which decoding yields to the readers (about what it decodes)"""
HOT_NAP_S = 0.001
"""pause after each page decoded while the input is hot: the GIL is free for the readers"""
RATE_WINDOW_S = 0.01
MAX_DECODED_EVENTS = 131_072
"""decoded events a CPU may hold waiting for the horizon (~45 MiB of getppid events); past
that its pages stay raw (compact, spooled by the RawStore) until another CPU's progress
releases them. The CPU that holds the horizon back is never over it: its events are
released"""
DECODE_NICE = 5
"""the decode thread's nice increment: the readers and the traced load come first"""
_TS = itemgetter(0)
_NEVER = -(1 << 63)
_ALWAYS = 1 << 63


class CpuProgress(Protocol):
    """What a CPU's reader tells the merge stage."""

    drained_ns: int
    """session-clock time before the reader's last read that found the buffer empty"""
    finished: bool
    """the reader drained the buffer for the last time and closed its fd"""


class SessionClock:
    """'Now' on the trace clock: clock_gettime for mono/mono_raw/boot/tai, else estimated as
    monotonic time plus the largest (record - monotonic) difference observed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._id = CLOCK_IDS.get(name)
        self._offset: int | None = None

    def now_ns(self) -> int:
        if self._id is not None:
            return time.clock_gettime_ns(self._id)
        if self._offset is None:
            return _NEVER
        return time.monotonic_ns() + self._offset

    def observe(self, ts_ns: int) -> None:
        if self._id is None:
            offset = ts_ns - time.monotonic_ns()
            if self._offset is None or offset > self._offset:
                self._offset = offset


class _Chunk:
    """A chunk of whole pages being decoded."""

    __slots__ = ("buf", "end", "pos", "words")

    def __init__(self, buf: bytes, words: memoryview, end: int) -> None:
        self.buf, self.words, self.pos, self.end = buf, words, 0, end


SIDE = -1
"""pending key of events from outside the ring buffer (`EventPump.inject`)"""


class EventPump:
    """Decodes and merges the pages of all CPUs of one session into sink batches; events
    from outside the buffer (a launched command's output lines, stamped on the session
    clock) are merged in time order with them (`inject`)."""

    def __init__(
        self,
        decoder: PageDecoder,
        stores: Mapping[int, RawStore],
        progress: Mapping[int, CpuProgress],
        sink: EventSink,
        page_size: int,
        limits: Limits,
        clock: SessionClock,
    ) -> None:
        self.decoder = decoder
        self.sink = sink
        self.page_size = page_size
        self.limits = limits
        self.clock = clock
        self.events = 0
        self.late = 0
        self.pages = 0
        self.held = False
        """the last decode round left pages raw: their CPU held MAX_DECODED_EVENTS"""
        self.abort = False
        self.wake = threading.Event()
        self._stores = stores
        self._progress = progress
        self._cur: dict[int, _Chunk] = {}
        self._pending: dict[int, list[WireEvent]] = {cpu: [] for cpu in stores}
        self._pending[SIDE] = []
        self._side: list[WireEvent] = []
        self._side_lock = threading.Lock()
        self._closed = False
        self._last_ts: dict[int, int] = dict.fromkeys(stores, _NEVER)
        self._out: list[WireEvent] = []
        self._pairer = SyscallPairer()
        self._emitted_ts = _NEVER
        self._last_emit = time.monotonic()
        self.hot_s = 0.0
        self._hot = False
        self._rate_t = time.monotonic()
        self._rate_bytes = 0

    def run(self) -> None:
        """The thread's body: until every reader finished and every page is out."""
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), DECODE_NICE)
        try:
            while not self.abort:
                finished = self._all_finished()
                decoded = self._decode_some()
                self._release(final=False)
                if not decoded:
                    if finished and not self.held:
                        break
                    self.wake.wait(self.limits.batch_interval_s)
                    self.wake.clear()
            self._release(final=True)
        except Exception:  # a decoder bug must not leave the session hanging: log, end
            log.exception("tracefs decode thread failed")
            self._release(final=True)

    def inject(self, events: list[WireEvent]) -> bool:
        """Merge `events` (session-clock times) with the records; False once the pump has
        released its last batch (the caller then emits them itself)."""
        with self._side_lock:
            if self._closed:
                return False
            self._side.extend(events)
        self.wake.set()
        return True

    def _take_side(self, final: bool) -> None:
        with self._side_lock:
            side, self._side = self._side, []
            self._closed = self._closed or final
        if side:
            pend = self._pending[SIDE]
            pend.extend(side)
            pend.sort(key=_TS)

    def _head(self, cpu: int) -> _Chunk | None:
        """The CPU's current chunk with pages left, or None."""
        cur = self._cur.get(cpu)
        if cur is not None and cur.pos < cur.end:
            return cur
        while (chunk := self._stores[cpu].get()) is not None:
            usable = len(chunk) - len(chunk) % self.page_size
            if usable:
                cur = _Chunk(chunk, memoryview(chunk)[:usable].cast("I"), usable)
                self._cur[cpu] = cur
                return cur
        self._cur.pop(cpu, None)
        return None

    def _decode_some(self, max_pages: int = 64) -> int:
        """Decode up to `max_pages` pages, the oldest page of any CPU first (of the CPUs
        holding fewer than MAX_DECODED_EVENTS decoded events)."""
        done = 0
        page_ts = self.decoder.page_ts
        while done < max_pages:
            if self._defer():
                self.hot_s += HOT_NAP_S
                time.sleep(HOT_NAP_S)
                return done or 1  # "progress": keep the loop awake while input is hot
            best, best_ts = -1, _ALWAYS
            self.held = False
            for cpu in self._stores:
                if len(self._pending[cpu]) >= MAX_DECODED_EVENTS:
                    self.held = True  # waits for the horizon, as raw pages
                    continue
                head = self._head(cpu)
                if head is not None:
                    ts = page_ts(head.buf, head.pos)
                    if ts < best_ts:
                        best, best_ts = cpu, ts
            if best < 0:
                break
            cur = self._cur[best]
            pend = self._pending[best]
            before = len(pend)
            self.decoder.decode(cur.buf, best, pend, cur.pos, cur.words)
            cur.pos += self.page_size
            if len(pend) > before:
                self._last_ts[best] = pend[-1][0]
                self.clock.observe(pend[-1][0])
            done += 1
        self.pages += done
        return done

    def _hot_input(self) -> bool:
        """True while the kernel fills pages faster than we decode (measured per window)."""
        now = time.monotonic()
        if now - self._rate_t >= RATE_WINDOW_S:
            total = sum(s.bytes_in for s in self._stores.values())
            rate = (total - self._rate_bytes) / (now - self._rate_t)
            self._hot = rate > HOT_BYTES_PER_S and not self._all_finished()
            self._rate_t, self._rate_bytes = now, total
        return self._hot

    def _defer(self) -> bool:
        """Readers first: while the input is hot and raw pages fit in half the memory budget,
        do not decode at all (a decoding thread takes the GIL and a CPU from the readers,
        and the ring buffer overflows: bench/tracefs_drain.py). Past half the budget decode
        with a nap after each page, so readers get the GIL within a page's decode time."""
        if not self._hot_input():
            return False
        budget = next(iter(self._stores.values())).budget
        if budget.memory < budget.memory_limit // 2:
            return True
        time.sleep(HOT_NAP_S)
        self.hot_s += HOT_NAP_S
        return False

    def _all_finished(self) -> bool:
        return all(p.finished for p in self._progress.values())

    def _horizon(self, cpu: int) -> int:
        prog = self._progress[cpu]
        drained = prog.drained_ns  # read before looking at the store (the reader writes after)
        finished = prog.finished
        if self._cur.get(cpu) is not None or len(self._stores[cpu]):
            return self._last_ts[cpu]
        if finished:
            return _ALWAYS
        return max(self._last_ts[cpu], drained - REORDER_DELAY_NS)

    def _release(self, final: bool) -> None:
        self._take_side(final)
        horizon = _ALWAYS if final else min(self._horizon(c) for c in self._stores)
        ready: list[WireEvent] = []
        sources = 0
        for pend in self._pending.values():
            if not pend:
                continue
            cut = (
                len(pend) if pend[-1][0] <= horizon else bisect.bisect_right(pend, horizon, key=_TS)
            )
            if cut:
                sources += 1
                ready.extend(pend[:cut] if cut < len(pend) else pend)
                del pend[:cut]
        if sources > 1:
            ready.sort(key=_TS)
        if ready and self.decoder.tasks is not None:
            ready = self.decoder.tasks.in_time_order(ready, ready[-1][0])
        if ready:
            if ready[0][0] < self._emitted_ts:
                self.late += bisect.bisect_left(ready, self._emitted_ts, key=_TS)
            self._emitted_ts = max(self._emitted_ts, ready[-1][0])
            self._out.extend(ready)
        self._emit(final)

    def _emit(self, final: bool) -> None:
        out, size = self._out, self.limits.batch_events
        now = time.monotonic()
        if not out or (
            len(out) < size and not final and now - self._last_emit < self.limits.batch_interval_s
        ):
            return
        self._pairer.apply(out)  # syscall exits get ret, errno, dur_ns (pairing.py)
        for i in range(0, len(out), size):
            batch = out[i : i + size]
            self.sink.emit(batch)
            self.events += len(batch)
        out.clear()
        self._last_emit = now
