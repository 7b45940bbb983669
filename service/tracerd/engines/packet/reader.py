"""The capture thread of a packet session: ring blocks -> decoded events -> the sink.

One thread waits on the ring (poll, at most `RETIRE_MS` per block), decodes each block's
packets into `packet` events and hands them to the sink in batches. After every wait it
reads PACKET_STATISTICS: packets the kernel dropped since the last read (no free block:
the reader or the daemon fell behind) become a `lost` record at that point of the stream
(source `kernel`); totals are kept for the session's info and the pcapng statistics.
Timestamps: the kernel stamps packets with CLOCK_REALTIME; events carry the session clock
(CLOCK_MONOTONIC), `wall_ns - wall_offset_ns`, so an export adds the offset back exactly.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable

from ...types import LossSource, WireEvent, lost_event
from ..base import EventSink, Limits
from .decode import Decoder
from .ring import PACKET_OUTGOING, Packet, PacketRing

log = logging.getLogger(__name__)
PACKET_EVENT = "packet"
WAIT_MS = 100

UserFilter = Callable[[bytes, int], int]


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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="packet-capture", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_s: float) -> None:
        """Let the kernel retire the open block, drain it, and end the thread."""
        time.sleep(drain_s)
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        batch: list[WireEvent] = []
        last_emit = time.monotonic()
        try:
            while True:
                stopping = self._stop.is_set()
                if self.ring.wait(0 if stopping else WAIT_MS):
                    for block in self.ring.blocks():
                        self._decode(block, batch)
                        if len(batch) >= self.limits.batch_events:
                            self.sink.emit(batch)
                            batch, last_emit = [], time.monotonic()
                self._statistics(batch)
                if batch and (
                    stopping or time.monotonic() - last_emit >= self.limits.batch_interval_s
                ):
                    self.sink.emit(batch)
                    batch, last_emit = [], time.monotonic()
                if stopping:
                    return
        except Exception:
            log.exception("packet capture failed")
            self.sink.ended(None, "packet capture failed", failed=True)

    def _statistics(self, batch: list[WireEvent]) -> None:
        packets, drops = self.ring.statistics()
        self.kernel_packets += packets
        if drops:
            self.kernel_drops += drops
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            batch.append(lost_event(LossSource.KERNEL.value, drops, now))

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
