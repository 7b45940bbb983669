"""BpfReader: a BCC session's poller thread. Drains the output buffer in batches, reports
losses in-band, and takes periodic map snapshots.

Mechanism: never woken by the kernel (records are submitted with BPF_RB_NO_WAKEUP, perf
buffers opened with a huge wakeup_events): the thread drains in batches of up to
`Limits.batch_events` and sleeps POLL_INTERVAL_S whenever the buffer is empty, so a quiet
session costs 200 wake-ups per second, events wait at most a few ms, and a flood is
drained back to back (the poller then uses the CPU the flood demands, no more).
Cross-CPU wake-ups cost ~90 µs on our VMs: a wake-up per event would slow the traced
program tens of times.
Losses: `lost()` is cumulative (ring-buffer reservation failures counted by the program,
plus perf-buffer lost records); each increase becomes a `lost` event after the batch it
was noticed with. At stop (programs already detached) the thread drains to empty, checks
the count a last time and exits; `lost_total` is then the session's total.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...types import WireEvent, lost_event
from ..base import EventSink, Limits
from .decode import Decoder
from .ringbuf import RingBufferConsumer, SlowPath
from .tools.hooks import EventHook

log = logging.getLogger(__name__)
POLL_INTERVAL_S = 0.005
LOST_CHECK_S = 0.1
TICK_S = 1.0
"""period of the session's housekeeping (symbolizing new stacks while processes live)"""
JOIN_TIMEOUT_S = 10.0
ERROR_LOG_LIMIT = 5


@dataclass(slots=True)
class RingSource:
    consumer: RingBufferConsumer
    decode: Decoder
    stride: int
    slow: SlowPath | None = None


@dataclass(slots=True)
class PerfSource:
    consume: Callable[[], None]
    pending: list[WireEvent]
    """filled by the perf callbacks during `consume`"""


class BpfReader:
    """The poller of one session (thread `bpf-<session>`)."""

    def __init__(
        self,
        session_id: int,
        sink: EventSink,
        limits: Limits,
        *,
        ring: RingSource | None = None,
        perf: PerfSource | None = None,
        lost: Callable[[], int] = lambda: 0,
        snapshot: Callable[[], Mapping[str, Any]] | None = None,
        map_interval_s: float | None = None,
        hook: EventHook | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self._sink, self._limits = sink, limits
        self._ring, self._perf, self._lost = ring, perf, lost
        self._snapshot, self._interval = snapshot, map_interval_s
        self._hook, self._tick = hook, tick
        self._stop = threading.Event()
        self._errors = 0
        self.events = 0
        self.lost_total = 0
        self._thread = threading.Thread(target=self._run, name=f"bpf-{session_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Drain what the buffer still holds (programs must be detached first), then join."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.error(
                    "bpf reader %s still running after %.0f s", self._thread.name, JOIN_TIMEOUT_S
                )

    def _run(self) -> None:
        next_lost = next_maps = next_tick = time.monotonic()
        if self._interval:
            next_maps += self._interval
        while True:
            stopping = self._stop.is_set()
            got = self._step(self._drain)
            now = time.monotonic()
            if now >= next_lost or (stopping and not got):
                self._step(self._check_lost)
                next_lost = now + LOST_CHECK_S
            if self._tick is not None and now >= next_tick and not stopping:
                self._step(self._run_tick)
                next_tick = now + TICK_S
            if self._interval and now >= next_maps and not stopping:
                self._step(self._emit_maps)
                next_maps = now + self._interval
            if stopping and not got:
                return
            if not stopping and not self._more():
                self._stop.wait(POLL_INTERVAL_S)

    def _step(self, fn: Callable[[], int]) -> int:
        try:
            return fn()
        except Exception:  # reader loop: log (rate-limited), keep going
            self._errors += 1
            if self._errors <= ERROR_LOG_LIMIT:
                log.exception("bpf reader step %s failed", fn.__name__)
            time.sleep(POLL_INTERVAL_S)
            return 0

    def _more(self) -> bool:
        """Records are still waiting (a flood): drain again at once instead of sleeping."""
        ring = self._ring
        return ring is not None and ring.consumer.pending_bytes() >= ring.stride

    def _drain(self) -> int:
        out: list[WireEvent] = []
        ring = self._ring
        if ring is not None:
            ring.consumer.consume(
                ring.decode, ring.stride, out, self._limits.batch_events * ring.stride, ring.slow
            )
        if self._perf is not None:
            self._perf.consume()
            out.extend(self._perf.pending)
            self._perf.pending.clear()
        if not out:
            return 0
        if self._hook is not None:
            out = [self._hook(ev) for ev in out]
        self.events += len(out)
        self._sink.emit(out)
        return len(out)

    def _check_lost(self) -> int:
        total = self._lost()
        if total > self.lost_total:
            self._sink.emit(
                [
                    lost_event(
                        "bpf", total - self.lost_total, time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                    )
                ]
            )
            self.lost_total = total
        return 0

    def _run_tick(self) -> int:
        assert self._tick is not None
        self._tick()
        return 0

    def _emit_maps(self) -> int:
        assert self._snapshot is not None
        maps = self._snapshot()
        if maps:
            self._sink.maps(time.clock_gettime_ns(time.CLOCK_MONOTONIC), maps)
        return 0
