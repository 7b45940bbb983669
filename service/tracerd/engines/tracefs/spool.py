"""Raw sub-buffers waiting for decode: in memory up to a budget, then spooled to disk.

Mechanism: each CPU has a `RawStore`, a FIFO of chunks (whole sub-buffers as the reader got
them from splice/read). All stores of a session share one `RawBudget`: while the bytes held in
memory stay under `Limits.raw_memory_bytes` a chunk is kept as `bytes`; beyond that it is
appended to the CPU's spool file (`<spool_dir>/cpuN.raw`, like trace-cmd's per-CPU temp files)
and read back with `pread` when its turn comes. Past `Limits.spool_bytes` of spooled data the
reader stops draining until the decode thread reads spooled data back (`RawBudget.full`),
so the kernel counts the loss (overrun or dropped events) rather than this process growing
without bound.

Threads: `put` runs in the CPU's reader thread, `get` in the decode thread; one lock per
store, one for the budget. A spool file is truncated whenever its store empties.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque


class RawBudget:
    """Bytes held in memory and on disk by all the stores of one session."""

    def __init__(self, memory_bytes: int, spool_bytes: int, can_spool: bool = True) -> None:
        self.memory_limit = memory_bytes
        self.spool_limit = spool_bytes if can_spool else 0
        self.memory = 0
        self.spooled = 0
        self.peak_memory = 0
        self.peak_spooled = 0
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        """True when the reader must stop draining the kernel: the spool is used up, or,
        without a spool, memory is. (Memory rarely fills to the byte: a chunk that does not
        fit is spooled and leaves the rest unused, so memory cannot be the test.)"""
        if self.spool_limit:
            return self.spooled >= self.spool_limit
        return self.memory >= self.memory_limit

    def take_memory(self, n: int, force: bool = False) -> bool:
        with self._lock:
            if self.memory + n > self.memory_limit and not force:
                return False
            self.memory += n
            self.peak_memory = max(self.peak_memory, self.memory)
            return True

    def add_spooled(self, n: int) -> None:
        with self._lock:
            self.spooled += n
            self.peak_spooled = max(self.peak_spooled, self.spooled)

    def release(self, memory: int, spooled: int) -> None:
        with self._lock:
            self.memory -= memory
            self.spooled -= spooled


class RawStore:
    """The FIFO of one CPU's raw chunks; entries are `bytes` or a (offset, length) spool ref."""

    def __init__(self, cpu: int, budget: RawBudget, spool_dir: str | None) -> None:
        self.cpu = cpu
        self.budget = budget
        self.bytes_in = 0
        self._path = os.path.join(spool_dir, f"cpu{cpu}.raw") if spool_dir else None
        self._fd: int | None = None
        self._end = 0
        self._items: deque[bytes | tuple[int, int]] = deque()
        self._spooled_items = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, chunk: bytes) -> None:
        """Queue a chunk (reader thread). Spools it when the memory budget is used up."""
        self.bytes_in += len(chunk)
        if self.budget.take_memory(len(chunk), force=self._path is None):
            with self._lock:
                self._items.append(chunk)
            return
        with self._lock:
            if self._fd is None:
                assert self._path is not None
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            offset = self._end
            os.pwrite(self._fd, chunk, offset)
            self._end += len(chunk)
            self._items.append((offset, len(chunk)))
            self._spooled_items += 1
        self.budget.add_spooled(len(chunk))

    def get(self) -> bytes | None:
        """The oldest chunk, or None (decode thread)."""
        with self._lock:
            if not self._items:
                return None
            item = self._items.popleft()
            if isinstance(item, bytes):
                self.budget.release(len(item), 0)
                return item
            offset, length = item
            assert self._fd is not None
            data = os.pread(self._fd, length, offset)
            self._spooled_items -= 1
            if not self._spooled_items:
                os.ftruncate(self._fd, 0)
                self._end = 0
        self.budget.release(0, length)
        return data

    def close(self) -> None:
        """Drop what is left and remove the spool file."""
        with self._lock:
            for item in self._items:
                if isinstance(item, bytes):
                    self.budget.release(len(item), 0)
                else:
                    self.budget.release(0, item[1])
            self._items.clear()
            self._spooled_items = 0
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                if self._path is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self._path)
