"""reader.py's two stages without a kernel: a ring that hands over prepared blocks (and
counts drops once), a sink that is slow to take batches. Every packet comes out once, in
order, the kernel's loss sits between the blocks it fell between, and the backlog never
holds more than its budget and one block."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import dpkt

from tracerd.engines.base import Limits
from tracerd.engines.packet.decode import Decoder
from tracerd.engines.packet.reader import Capture
from tracerd.engines.packet.ring import parse_block
from tracerd.types import WireEvent

from .test_ring import block


def udp_frame(sport: int) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=9, ulen=11, data=b"abc")
    ip = dpkt.ip.IP(src=b"\x0a\0\0\x02", dst=b"\x0a\0\0\x01", p=17, ttl=64, data=udp)
    ip.len = len(bytes(ip))
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x800, data=ip))


class FakeRing:
    """Blocks of 50 packets each (ports numbered on), handed over a few at a time; the
    kernel reports 7 drops after the first few blocks."""

    cooked = False

    def __init__(self, blocks: int) -> None:
        self.pending = [
            block([(udp_frame(1000 + b * 50 + i), 1, 0, 0) for i in range(50)])
            for b in range(blocks)
        ]
        self.taken = 0
        self.reported_drops = False

    def wait(self, timeout_ms: int) -> bool:
        if not self.pending:
            time.sleep(timeout_ms / 1000 / 10)
        return bool(self.pending)

    def ready(self) -> bool:
        return bool(self.pending)

    def take(self) -> Iterator[bytes]:
        for _ in range(3):
            if self.pending:
                self.taken += 1
                yield self.pending.pop(0)

    def packets(self, data: bytes) -> list[Any]:
        return parse_block(data, cooked=False, snaplen=262144)

    def statistics(self) -> tuple[int, int]:
        if self.taken >= 4 and not self.reported_drops:
            self.reported_drops = True
            return 157, 7
        return 0, 0


class SlowSink:
    def __init__(self) -> None:
        self.events: list[WireEvent] = []
        self.lock = threading.Lock()

    def emit(self, events: Sequence[WireEvent]) -> None:
        time.sleep(0.01)  # the daemon behind: the backlog grows
        with self.lock:
            self.events.extend(events)

    def ended(self, *args: Any, **kw: Any) -> None:
        raise AssertionError("the capture failed")


def test_every_packet_once_in_order_with_the_loss_in_place() -> None:
    ring, sink = FakeRing(40), SlowSink()
    size = len(ring.pending[0])
    budget = 3 * size
    limits = Limits(raw_memory_bytes=budget, batch_events=64, batch_interval_s=0.01)
    capture = Capture(
        ring,  # type: ignore[arg-type]
        Decoder(),
        sink,  # type: ignore[arg-type]
        limits,
        wall_offset_ns=1000,
        user_filter=None,
        direction="inout",
        loopbacks=frozenset(),
    )
    capture.start()
    deadline = time.monotonic() + 20
    while ring.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    capture.stop(0.0)

    names = [e.name for e in sink.events]
    ports = [e.fields["sport"] for e in sink.events if e.name == "packet"]
    assert ports == list(range(1000, 1000 + 40 * 50))
    assert capture.received == 40 * 50
    assert names.count("lost") == 1
    lost_at = names.index("lost")
    assert lost_at % 50 == 0  # between two blocks
    assert 4 * 50 <= lost_at <= 7 * 50  # after the 4th block taken, when it was noticed
    assert sink.events[lost_at].fields == {"source": "kernel", "count": 7}
    assert (capture.kernel_packets, capture.kernel_drops) == (157, 7)
    assert budget <= capture.peak_backlog_bytes < budget + size  # the sink held it back
    assert sink.events[0].ts_ns == 7_000_000_500 - 1000
