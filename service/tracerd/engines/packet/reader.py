"""The capture of a packet session: ring blocks -> a bounded backlog -> decoded events.

Two threads, as tcpdump's kernel ring and its printing loop are two stages. The ring
thread waits on the ring (poll, at most `RETIRE_MS` per block), copies each block the
kernel hands over (one copy of the bytes it used) and gives it back at once, so the
kernel's ring empties as fast as blocks fill; it never decodes. The decode thread turns
the copied blocks into `packet` events and hands them to the sink in batches. Between
them is a backlog bounded in bytes (the worker's `raw_memory_bytes`, as tracefs bounds
its raw pages): while it is full the ring thread stops taking blocks, the kernel's ring
fills and the kernel drops and counts what does not fit. Nothing is dropped in user
space, so every loss is the kernel's.

After every wait the ring thread reads PACKET_STATISTICS: packets the kernel dropped since
the last read become a `lost` record at that point of the stream (source `kernel`, queued
between the blocks it falls between); totals are kept for the session's info and the
pcapng statistics. Timestamps: the kernel stamps packets with CLOCK_REALTIME; events
carry the session clock (CLOCK_MONOTONIC), `wall_ns - wall_offset_ns`, so an export adds
the offset back exactly.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from ...types import LossSource, WireEvent, lost_event
from ..base import EventSink, Limits
from .decode import Decoder
from .ring import PACKET_OUTGOING, Packet, PacketRing

log = logging.getLogger(__name__)
PACKET_EVENT = "packet"
WAIT_MS = 100
RING_NICE = -10
"""the ring thread's nice value (the process's other threads keep theirs)"""
PROGRESS_S = 5.0
"""a stop waits for the backlog while each such period decodes something"""

UserFilter = Callable[[bytes, int], int]


Drops = tuple[int, int]
"""(packets the kernel dropped, when it was noticed on the session clock)"""


class Capture:
    """Reads one ring until stopped."""

    def __init__(
        self,
        ring: PacketRing,
        decoder: Decoder,
        sink: EventSink,
        limits: Limits,
        *,
        wall_offset_ns: int,
        user_filter: UserFilter | None,
        direction: str,
        loopbacks: frozenset[int],
    ) -> None:
        self.ring, self.decoder, self.sink, self.limits = ring, decoder, sink, limits
        self.wall_offset_ns = wall_offset_ns
        self.user_filter = user_filter
        self.only_out = direction == "out"
        self.loopbacks = loopbacks
        self.received = 0
        self.kernel_packets = 0
        self.kernel_drops = 0
        self.peak_backlog_bytes = 0
        self._backlog: deque[bytes | Drops | None] = deque()
        self._backlog_bytes = 0
        self._moved = threading.Condition()
        self._stop = threading.Event()
        self._failed = threading.Event()
        self._ring_thread = threading.Thread(target=self._drain, name="packet-ring", daemon=True)
        self._decode_thread = threading.Thread(
            target=self._decode_all, name="packet-decode", daemon=True
        )

    def start(self) -> None:
        self._decode_thread.start()
        self._ring_thread.start()

    def stop(self, drain_s: float) -> None:
        """Let the kernel retire the open block, take it, decode the backlog, end: as long
        as decoding makes progress (the daemon bounds a stop without progress)."""
        time.sleep(drain_s)
        self._stop.set()
        for thread in (self._ring_thread, self._decode_thread):
            done = -1
            while thread.is_alive() and self.received != done:
                done = self.received
                thread.join(PROGRESS_S)
        self._failed.set()  # whatever still runs ends at its next step

    # -- the ring thread ----------------------------------------------------------------

    def _drain(self) -> None:
        budget = self.limits.raw_memory_bytes
        with contextlib.suppress(OSError):
            # the kernel drops once every block waits for this thread, which needs little
            # CPU but needs it soon: ahead of the decode thread and the daemon's writer
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), RING_NICE)
        try:
            while not self._failed.is_set():
                stopping = self._stop.is_set()
                if self._backlog_bytes < budget and self.ring.wait(0 if stopping else WAIT_MS):
                    for block in self.ring.take():
                        self._put(block)
                        if self._backlog_bytes >= budget:
                            break  # the rest stays in the kernel's ring
                elif self._backlog_bytes >= budget:
                    with self._moved:  # full: wait for the decoder to make room
                        self._moved.wait(WAIT_MS / 1000)
                self._statistics()
                if stopping and self._backlog_bytes < budget and not self.ring.ready():
                    break
        except Exception:
            log.exception("packet capture failed")
            self._fail()
        self._put(None)

    def _put(self, item: bytes | Drops | None) -> None:
        with self._moved:
            self._backlog.append(item)
            if isinstance(item, bytes):
                self._backlog_bytes += len(item)
                self.peak_backlog_bytes = max(self.peak_backlog_bytes, self._backlog_bytes)
            self._moved.notify_all()

    def _statistics(self) -> None:
        packets, drops = self.ring.statistics()
        self.kernel_packets += packets
        if drops:
            self.kernel_drops += drops
            self._put((drops, time.clock_gettime_ns(time.CLOCK_MONOTONIC)))

    def _fail(self) -> None:
        if not self._failed.is_set():
            self._failed.set()
            self.sink.ended(None, "packet capture failed", failed=True)

    # -- the decode thread --------------------------------------------------------------

    def _get(self, timeout_s: float) -> tuple[bool, bytes | Drops | None]:
        with self._moved:
            if not self._backlog:
                self._moved.wait(timeout_s)
            if not self._backlog:
                return False, None
            item = self._backlog.popleft()
            if isinstance(item, bytes):
                self._backlog_bytes -= len(item)
            self._moved.notify_all()
            return True, item

    def _decode_all(self) -> None:
        batch: list[WireEvent] = []
        last_emit = time.monotonic()
        interval = self.limits.batch_interval_s
        try:
            while not self._failed.is_set():
                got, item = self._get(interval)
                if got and item is None:
                    self.sink.emit(batch)
                    return
                if isinstance(item, bytes):
                    self._decode(self.ring.packets(item), batch)
                elif item is not None:
                    batch.append(lost_event(LossSource.KERNEL.value, *item))
                if batch and (
                    len(batch) >= self.limits.batch_events
                    or time.monotonic() - last_emit >= interval
                ):
                    self.sink.emit(batch)
                    batch, last_emit = [], time.monotonic()
        except Exception:
            log.exception("packet decoding failed")
            self._fail()

    def _decode(self, block: list[Packet], out: list[WireEvent]) -> None:
        decode, offset, keep = self.decoder.decode, self.wall_offset_ns, self.user_filter
        b64 = base64.b64encode
        for wall_ns, wirelen, ifindex, pkttype, data in block:
            if pkttype == PACKET_OUTGOING and ifindex in self.loopbacks:
                continue  # a loopback packet is seen going out and coming in: keep one
            if self.only_out and pkttype != PACKET_OUTGOING:
                continue
            if keep is not None:
                snap = keep(data, wirelen)
                if not snap:
                    continue
                data = data[:snap]
            fields = decode(data, wirelen)
            fields["data"] = b64(data).decode()
            self.received += 1
            out.append(WireEvent(wall_ns - offset, None, None, None, None, PACKET_EVENT, fields))
