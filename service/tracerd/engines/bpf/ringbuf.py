"""RingBufferConsumer: drain a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) through mmap.

Mechanism (the kernel's ABI, as libbpf's ring_buffer__consume reads it): page 0 of the
map is the consumer position (ours to write), page 1 the producer position (kernel
written), then the data area mapped twice in a row, so a record that wraps around is
still contiguous. Each record is an 8-byte header (u32 length with BUSY bit 31 while
reserved and DISCARD bit 30, u32 page offset) then the data, padded to 8 bytes. Records
between the consumer and producer positions are complete once their BUSY bit is clear.

Why not BCC's ring_buffer_consume: it calls a ctypes callback per record (~2 µs each
here, more next to a busy thread); reading the mapping directly lets `parse` decode a run
of fixed-size records with one `iter_unpack`, ~1 µs per event all included.

Memory ordering: positions are read and written as aligned native 8-byte values (one
load/store: struct's native `Q` copies with a fixed-size memcpy); on x86-64 (TSO) loads
are not reordered with loads nor stores with stores, which is what the kernel's
smp_load_acquire/smp_store_release pair requires of us. Other architectures would need
acquire/release accesses: the engine refuses the mmap path there (see `supported`).
"""

from __future__ import annotations

import mmap
import platform
import struct
from collections.abc import Callable

from ...types import WireEvent
from .decode import BUSY_BIT, DISCARD_BIT, RINGBUF_HDR_BYTES, Decoder

_POS = struct.Struct("Q")  # native: aligned single load/store
_HDR = struct.Struct("=I")
SlowPath = Callable[[memoryview, list[WireEvent]], None]


def supported() -> bool:
    return platform.machine() in ("x86_64", "AMD64")


class RingBufferConsumer:
    """One ring buffer map, mapped for reading."""

    def __init__(self, map_fd: int, data_bytes: int) -> None:
        if data_bytes <= 0 or data_bytes & (data_bytes - 1):
            raise ValueError(f"ring buffer size {data_bytes} is not a power of two")
        page = mmap.PAGESIZE
        self._size = data_bytes
        self._mask = data_bytes - 1
        self._base = page
        self._cons_map = mmap.mmap(
            map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0
        )
        self._data_map = mmap.mmap(
            map_fd, page + 2 * data_bytes, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
        )
        self._view = memoryview(self._data_map)
        self._cons = int(_POS.unpack_from(self._cons_map, 0)[0])

    def pending_bytes(self) -> int:
        return int(_POS.unpack_from(self._data_map, 0)[0]) - self._cons

    def consume(
        self,
        decode: Decoder,
        stride: int,
        out: list[WireEvent],
        max_bytes: int,
        slow: SlowPath | None = None,
    ) -> int:
        """Decode committed records into `out` (at most about `max_bytes` of them) and
        release their space to the kernel. Returns the bytes consumed."""
        prod = int(_POS.unpack_from(self._data_map, 0)[0])
        start = cons = self._cons
        end = min(prod, cons + max_bytes)
        view, base, mask = self._view, self._base, self._mask
        while cons < end:
            run = (end - cons) // stride
            if run:
                off = base + (cons & mask)
                used = decode(view[off : off + run * stride], out)
                cons += used
                if used == run * stride:
                    continue
            off = base + (cons & mask)
            length = _HDR.unpack_from(view, off)[0]
            if length & BUSY_BIT:
                break  # reserved, not yet committed: everything after it waits too
            size = length & ~(BUSY_BIT | DISCARD_BIT)
            rec = RINGBUF_HDR_BYTES + ((size + 7) & ~7)
            if length & DISCARD_BIT:
                pass
            elif rec == stride and decode(view[off : off + stride], out) == stride:
                pass  # a regular record cut by `end`
            elif slow is not None:
                slow(view[off + RINGBUF_HDR_BYTES : off + RINGBUF_HDR_BYTES + size], out)
            cons += rec
        if cons != start:
            self._cons = cons
            _POS.pack_into(self._cons_map, 0, cons)
        return cons - start

    def close(self) -> None:
        self._view.release()
        self._data_map.close()
        self._cons_map.close()
