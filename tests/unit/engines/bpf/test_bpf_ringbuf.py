"""RingBufferConsumer on a memfd laid out like a BPF ring buffer map (consumer page,
producer page, data area twice: the kernel maps the same pages twice, here they are
written twice), so wrapping records, busy and discarded ones can be built by hand."""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Iterator

import pytest

from tracerd.engines.bpf.decode import (
    BUSY_BIT,
    DISCARD_BIT,
    Decoder,
    Layout,
    compile_decoder,
    record_stride,
)
from tracerd.engines.bpf.plan import FieldSpec as F
from tracerd.engines.bpf.ringbuf import RingBufferConsumer

PAGE = mmap.PAGESIZE
SIZE = 2 * PAGE


class FakeRing:
    def __init__(self) -> None:
        self.fd = os.memfd_create("tracerd-ringbuf-test")
        os.ftruncate(self.fd, 2 * PAGE + 2 * SIZE)
        self.map = mmap.mmap(self.fd, 2 * PAGE + 2 * SIZE)
        self.prod = 0

    def put(self, payload: bytes, flags: int = 0) -> None:
        rec = struct.pack("=II", len(payload) | flags, 0) + payload
        rec += b"\0" * (-len(rec) % 8)
        for i, byte in enumerate(rec):
            pos = (self.prod + i) % SIZE
            self.map[2 * PAGE + pos] = byte
            self.map[2 * PAGE + SIZE + pos] = byte
        self.prod += len(rec)
        struct.pack_into("Q", self.map, PAGE, self.prod)

    def consumer_pos(self) -> int:
        return int(struct.unpack_from("Q", self.map, 0)[0])

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)


@pytest.fixture
def ring() -> Iterator[FakeRing]:
    fake = FakeRing()
    yield fake
    fake.close()


def _setup(ring: FakeRing) -> tuple[RingBufferConsumer, Decoder, Layout, int]:
    decode, layout = compile_decoder("t", (F("v", "u32"), F("w", "u32")), False)
    return RingBufferConsumer(ring.fd, SIZE), decode, layout, record_stride(layout.size)


def test_consumes_committed_records_and_releases_their_space(ring: FakeRing) -> None:
    consumer, decode, layout, stride = _setup(ring)
    for i in range(3):
        ring.put(layout.struct.pack(i, i * 10))
    out: list = []
    assert consumer.consume(decode, stride, out, 1 << 20) == 3 * stride
    assert [e.fields for e in out] == [{"v": i, "w": i * 10} for i in range(3)]
    assert ring.consumer_pos() == 3 * stride
    assert consumer.pending_bytes() == 0
    consumer.close()


def test_wraps_around_the_end_of_the_data_area(ring: FakeRing) -> None:
    consumer, decode, layout, stride = _setup(ring)
    total = 0
    for round_ in range(3):  # 3 x 400 records of 16 bytes: the 8 KiB area wraps twice
        for i in range(400):
            ring.put(layout.struct.pack(round_, i))
        out: list = []
        total += consumer.consume(decode, stride, out, 1 << 20)
        assert [e.fields["w"] for e in out] == list(range(400))
    assert total == ring.prod == 1200 * stride
    consumer.close()


def test_stops_at_a_busy_record_and_skips_discarded_ones(ring: FakeRing) -> None:
    consumer, decode, layout, stride = _setup(ring)
    ring.put(layout.struct.pack(1, 0))
    ring.put(layout.struct.pack(2, 0), DISCARD_BIT)
    ring.put(layout.struct.pack(3, 0))
    ring.put(layout.struct.pack(4, 0), BUSY_BIT)
    ring.put(layout.struct.pack(5, 0))
    out: list = []
    assert consumer.consume(decode, stride, out, 1 << 20) == 3 * stride
    assert [e.fields["v"] for e in out] == [1, 3]
    assert consumer.consume(decode, stride, out, 1 << 20) == 0  # still busy
    consumer.close()


def test_other_sizes_go_to_the_slow_path_and_the_budget_is_kept(ring: FakeRing) -> None:
    consumer, decode, layout, stride = _setup(ring)
    slow: list[bytes] = []
    ring.put(layout.struct.pack(1, 1))
    ring.put(layout.struct.pack(2, 2))
    ring.put(b"twelve bytes")  # 12 bytes, not this layout's 8: the slow path
    for i in range(10):
        ring.put(layout.struct.pack(i, 0))
    out: list = []
    used = consumer.consume(
        decode, stride, out, 4 * stride, lambda data, _out: slow.append(bytes(data))
    )
    assert slow == [b"twelve bytes"]
    assert used < ring.prod
    assert [e.fields["v"] for e in out][:1] == [1]
    rest: list = []
    consumer.consume(decode, stride, rest, 1 << 20, lambda data, _out: slow.append(bytes(data)))
    assert len(out) + len(rest) == 12  # every 8-byte record, before and after the odd one
    consumer.close()


def test_size_must_be_a_power_of_two(ring: FakeRing) -> None:
    with pytest.raises(ValueError, match="power of two"):
        RingBufferConsumer(ring.fd, 3 * PAGE)
