"""Per-CPU readers of `per_cpu/cpuN/trace_pipe_raw` and the session's `TracefsReader`.

Mechanism: one thread per CPU (`tracefs-cpuN`) only moves raw sub-buffers out of the kernel;
decoding, merging and sending run behind it in one `tracefs-decode` thread (merge.py).
- Whole sub-buffers move with `os.splice` into a pipe (F_SETPIPE_SZ, up to 1 MiB), then one
  `read` of the pipe: one call moves up to 256 pages, so a reader needs the GIL a few times
  per cycle, not once per page (at 2 M events in 0.6 s the kernel fills a 4 KiB page every
  75 us, and the 1408 KiB buffer holds 27 ms of them).
- The GIL: a thread decoding delays every return from a reader's syscall by up to the switch
  interval (5 ms by default; start() lowers it to `SWITCH_INTERVAL_S`) and takes a CPU from
  it. Measured (bench/tracefs_drain.py, 2 vCPUs): decoding concurrently lost 3.5-10 % of
  2 M getppid events in 2 of 3 runs even with splice, a 0.5 ms switch interval and naps in
  the decoder; with decoding deferred while the input is hot (merge.py `EventPump._defer`:
  raw pages wait in the budget, decoding resumes when the rate drops or half the memory
  budget is used) no event was lost in 3 of 3 runs, and the load ran 0.9-1.2x as long as
  under `trace-cmd record`. A decode process would also avoid the GIL but adds a copy of
  every event over a pipe and a process to clean up.
- splice never returns a partially filled page, so when a cycle found no whole page and the
  last partial read is `LIVE_INTERVAL_S` old, the reader `read()`s pages (O_NONBLOCK) until
  EAGAIN: that bounds the latency of a quiet CPU and tells the merge stage the time up to
  which this CPU is complete (`drained_ns`).
- Waiting is `poll()` on the trace fd (woken by `buffer_percent`, the engine's watermark) and
  an eventfd (stop), always with a timeout: the reader is never in a read it cannot leave.
- Memory is bounded by the `RawBudget` (spool.py): past it pages spool to disk; past the spool
  limit the reader stops draining and the kernel counts the loss.
- `stop()` (after the engine wrote tracing_on=0) drains every whole and partial page, closes
  all fds (an open fd blocks rmdir), lets the decode thread flush, joins with a timeout.

Requirements: the instance's `per_cpu/cpuN/trace_pipe_raw` (6.x and Debian's 6.1);
`buffer_subbuf_size_kb` is optional (4096-byte pages without it). Kernel loss is read from
`per_cpu/cpuN/stats` by `read_kernel_loss` (overrun + dropped events + commit overrun).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ...kernel.tracefs import EventRef, Tracefs, online_cpus, subbuf_size
from ...types import WireEvent
from ..base import EventSink, Limits
from .decode import PageDecoder
from .merge import EventPump, SessionClock
from .registry import EventRegistry
from .spool import RawBudget, RawStore

log = logging.getLogger(__name__)

PIPE_BYTES = 1 << 20
LIVE_INTERVAL_S = 0.1
"""longest time a quiet CPU's partial page waits in the kernel"""
BUSY_WAIT_S = 0.002
"""pause after a productive cycle, so that pages accumulate (poll returns earlier on the
buffer_percent watermark)"""
PAUSE_S = 0.05
"""pause while the raw budget is exhausted"""
SWITCH_INTERVAL_S = 0.0005
"""GIL switch interval set by start() (process-wide: the worker runs one session)"""
MAX_CYCLE_BYTES = 64 << 20
ABORT_JOIN_S = 1.0
FINISH_POLL_S = 0.5
_NEVER = -(1 << 63)
_SPLICE_UNSUPPORTED = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


class CpuReader:
    """Drains one CPU's `trace_pipe_raw` into its `RawStore` (runs in thread tracefs-cpuN)."""

    def __init__(
        self,
        path: str,
        cpu: int,
        page_size: int,
        store: RawStore,
        clock: SessionClock,
        pump_wake: threading.Event,
    ) -> None:
        self.cpu, self.page_size, self.store = cpu, page_size, store
        self.drained_ns = _NEVER
        self.finished = False
        self.bytes_read = 0
        self.paused_s = 0.0
        self.error: BaseException | None = None
        self._clock, self._pump_wake = clock, pump_wake
        self._stop = False
        self._fd_lock = threading.Lock()
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._pipe: tuple[int, int] | None = None
        self._pipe_bytes = page_size
        try:
            self._pipe = os.pipe2(os.O_CLOEXEC)
            want = max(page_size, min(PIPE_BYTES, _pipe_max()))
            self._pipe_bytes = fcntl.fcntl(self._pipe[1], fcntl.F_SETPIPE_SZ, want)
        except OSError as exc:
            log.debug("cpu%d: no pipe for splice (%s), reading page by page", cpu, exc)
        self._polls = (select.poll(), select.poll())
        self._polls[0].register(self._efd, select.POLLIN)
        self._polls[1].register(self._efd, select.POLLIN)
        self._polls[1].register(self._fd, select.POLLIN)

    def request_stop(self) -> None:
        self._stop = True
        with self._fd_lock:
            if self._efd >= 0:  # closed (and its number free for reuse) once run() ended
                os.eventfd_write(self._efd, 1)

    def run(self) -> None:
        try:
            self._loop()
            self._drain_whole()
            self._read_pages(limit=None)
        except Exception as exc:  # reader loop: log, end, let stop() report it
            self.error = exc
            log.exception("tracefs reader of cpu%d failed", self.cpu)
        finally:
            self._close()
            self.finished = True
            self._pump_wake.set()

    def _loop(self) -> None:
        last_partial, watch, readable = 0.0, True, False
        while not self._stop:
            if self.store.budget.full:
                started = time.monotonic()
                self._wait(PAUSE_S, watch=False)
                self.paused_s += time.monotonic() - started
                continue
            if self._drain_whole():
                self._pump_wake.set()
                readable = self._wait(BUSY_WAIT_S, watch=True)
                continue
            # no whole page: only a partial one (buffer_percent 0 makes poll spin on it)
            watch = watch and not readable
            now = time.monotonic()
            if now - last_partial >= LIVE_INTERVAL_S:
                before = self._clock.now_ns()
                if self._read_pages(limit=64):
                    self._pump_wake.set()
                self.drained_ns = before
                last_partial, watch = now, True
            readable = self._wait(last_partial + LIVE_INTERVAL_S - now, watch=watch)

    def _wait(self, timeout_s: float, watch: bool) -> bool:
        """Sleep until data (watermark), stop or the timeout; True if the trace fd is ready."""
        ready = self._polls[1 if watch else 0].poll(max(0, int(timeout_s * 1000)))
        readable = False
        for fd, _ in ready:
            if fd == self._efd:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self._efd)
            else:
                readable = True
        return readable

    def _drain_whole(self) -> int:
        """Splice whole pages until none is left; returns the bytes moved."""
        if self._pipe is None:
            return self._read_pages(limit=256)
        total = 0
        while total < MAX_CYCLE_BYTES and not (total and self.store.budget.full):
            try:
                n = os.splice(self._fd, self._pipe[1], self._pipe_bytes, flags=os.SPLICE_F_NONBLOCK)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno not in _SPLICE_UNSUPPORTED:
                    raise
                log.info("cpu%d: splice refused (%s), reading page by page", self.cpu, exc)
                self._close_pipe()
                return total + self._read_pages(limit=256)
            if n <= 0:
                break
            self._put(self._read_pipe(n))
            total += n
        return total

    def _read_pipe(self, n: int) -> bytes:
        assert self._pipe is not None
        data = os.read(self._pipe[0], n)
        while len(data) < n:  # a pipe read may stop at a pipe-buffer boundary
            data += os.read(self._pipe[0], n - len(data))
        return data

    def _read_pages(self, limit: int | None) -> int:
        """read() pages, partial ones included, until EAGAIN (or `limit` pages)."""
        pages: list[bytes] = []
        size = self.page_size
        while limit is None or len(pages) < limit:
            try:
                page = os.read(self._fd, size)
            except BlockingIOError:
                break
            if not page:
                break
            pages.append(page if len(page) == size else page + bytes(size - len(page)))
        if pages:
            self._put(b"".join(pages))
        return len(pages) * size

    def _put(self, data: bytes) -> None:
        self.bytes_read += len(data)
        self.store.put(data)

    def _close_pipe(self) -> None:
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def _close(self) -> None:
        self._close_pipe()
        with self._fd_lock:
            for fd in (self._fd, self._efd):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._fd = self._efd = -1


@dataclass(frozen=True, slots=True)
class ReaderStats:
    events: int
    pages: int
    bytes_read: int
    late: int
    """events that arrived behind the merge horizon (emitted out of order)"""
    decode_errors: int
    unknown_events: int
    peak_memory_bytes: int
    peak_spooled_bytes: int
    paused_s: float
    """time the readers did not drain because the raw budget was exhausted"""
    alive: tuple[str, ...]
    """threads still running after stop()'s timeout"""
    dropped_bytes: int = 0
    """raw bytes left undecoded because decoding made no progress (counted as lost through
    `dropped_events_estimate`)"""
    dropped_events_estimate: int = 0


class TracefsReader:
    """All readers of one tracefs instance plus the decode thread that feeds the sink."""

    def __init__(
        self,
        instance_dir: str,
        decoder: PageDecoder,
        sink: EventSink,
        *,
        cpus: Sequence[int] | None = None,
        clock: str = "mono",
        limits: Limits | None = None,
        spool_dir: str | None = None,
        switch_interval_s: float | None = SWITCH_INTERVAL_S,
    ) -> None:
        self.instance_dir = instance_dir
        self.limits = limits or Limits()
        self.cpus = tuple(cpus) if cpus is not None else online_cpus(instance_dir)
        self.page_size = subbuf_size(instance_dir)
        self.clock = SessionClock(clock)
        self.budget = RawBudget(
            self.limits.raw_memory_bytes, self.limits.spool_bytes, can_spool=spool_dir is not None
        )
        self._stores = {c: RawStore(c, self.budget, spool_dir) for c in self.cpus}
        self._switch = switch_interval_s
        self._readers: dict[int, CpuReader] = {}
        self._threads: list[threading.Thread] = []
        self._pump = EventPump(
            decoder, self._stores, self._readers, sink, self.page_size, self.limits, self.clock
        )
        self._stats: ReaderStats | None = None

    def start(self) -> None:
        """Open every CPU's trace_pipe_raw (OSError if one cannot be), start the threads."""
        try:
            for cpu in self.cpus:
                path = f"{self.instance_dir}/per_cpu/cpu{cpu}/trace_pipe_raw"
                self._readers[cpu] = CpuReader(
                    path, cpu, self.page_size, self._stores[cpu], self.clock, self._pump.wake
                )
        except OSError:
            for r in self._readers.values():
                r._close()
            raise
        if self._switch is not None and sys.getswitchinterval() > self._switch:
            sys.setswitchinterval(self._switch)
        for cpu, r in self._readers.items():
            self._spawn(r.run, f"tracefs-cpu{cpu}")
        self._spawn(self._pump.run, "tracefs-decode")

    def inject(self, events: list[WireEvent]) -> bool:
        """Events from outside the buffer, merged in time order (see EventPump.inject)."""
        return self._pump.inject(events)

    def _spawn(self, target: object, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def stop(self, timeout_s: float = 10.0) -> ReaderStats:
        """`drain_kernel` then `finish`: everything out, every fd closed. Idempotent."""
        self.drain_kernel(timeout_s)
        return self.finish(timeout_s)

    def drain_kernel(self, timeout_s: float = 10.0) -> None:
        """Move what the kernel buffers still hold (tracing must be off) into the raw store
        and close the trace fds, so the instance can go. Bounded by `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        for r in self._readers.values():
            r.request_stop()
        for t in self._threads:
            if t.name != "tracefs-decode":
                t.join(max(0.0, deadline - time.monotonic()))
        self._pump.wake.set()

    def finish(self, idle_timeout_s: float = 10.0) -> ReaderStats:
        """Wait until every raw page is decoded and sent. This takes as long as the backlog
        needs (the sink may be slow: it is the daemon's writer); it gives up only when no
        event went out for `idle_timeout_s`, and then counts what it drops as lost."""
        if self._stats is not None:
            return self._stats
        decode = [t for t in self._threads if t.name == "tracefs-decode"]
        seen, idle_since = -1, time.monotonic()
        while any(t.is_alive() for t in decode):
            for t in decode:
                t.join(FINISH_POLL_S)
            if self._pump.events != seen:
                seen, idle_since = self._pump.events, time.monotonic()
            elif time.monotonic() - idle_since > idle_timeout_s:
                break
        dropped_bytes = dropped_events = 0
        if any(t.is_alive() for t in decode):
            dropped_bytes = self.budget.memory + self.budget.spooled
            per_page = self._pump.events / max(1, self._pump.pages)
            dropped_events = round(dropped_bytes / self.page_size * per_page)
            self._pump.abort = True
            log.warning(
                "tracefs decode made no progress for %.1f s: dropping %d raw bytes "
                "(about %d events, counted as lost)",
                idle_timeout_s,
                dropped_bytes,
                dropped_events,
            )
            for t in decode:
                t.join(ABORT_JOIN_S)
        for s in self._stores.values():
            s.close()
        alive = tuple(t.name for t in self._threads if t.is_alive())
        if alive:
            log.warning("tracefs threads still running: %s", alive)
        self._stats = dataclasses.replace(
            self.stats(alive), dropped_bytes=dropped_bytes, dropped_events_estimate=dropped_events
        )
        return self._stats

    def stats(self, alive: tuple[str, ...] = ()) -> ReaderStats:
        p, d = self._pump, self._pump.decoder
        return ReaderStats(
            events=p.events,
            pages=p.pages,
            bytes_read=sum(r.bytes_read for r in self._readers.values()),
            late=p.late,
            decode_errors=d.errors,
            unknown_events=d.unknown,
            peak_memory_bytes=self.budget.peak_memory,
            peak_spooled_bytes=self.budget.peak_spooled,
            paused_s=sum(r.paused_s for r in self._readers.values()),
            alive=alive,
        )


def load_registry(
    tracefs_root: str,
    events: Iterable[str],
    dynamic_kinds: dict[tuple[str, str], str] | None = None,
) -> EventRegistry:
    """Registry of `events` ("system:event" names, no globs) plus ftrace:print (markers),
    from the global format files. `dynamic_kinds` as `parse.dynamic_event_kinds` returns."""
    fs = Tracefs(Path(tracefs_root))
    reg = EventRegistry.build(fs.header_page(), ())
    kinds = dynamic_kinds or {}
    for name in {*events, "ftrace:print"}:
        system, _, event = name.partition(":")
        reg.add_text(fs.format_text(EventRef(system, event)), system, kinds.get((system, event)))
    return reg


def _pipe_max() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return PIPE_BYTES
