"""BatchSpool: a session's batches the writer cannot take yet, on disk, in arrival order.

A BPF ring buffer cannot wait for the writer (holding its reader back only moves the loss
into the kernel), so while the writer's queue is full the batches of such a session are
appended here (their first `seq`, then the columns as the worker packed them: nothing is
packed again) and a task hands them to the writer as it frees space. Bounded in bytes:
past the bound a batch is not kept (the caller records `storage` loss in its place). The
file is anonymous (unlinked at creation): nothing is left behind, even if the daemon dies.
"""

from __future__ import annotations

import asyncio
import struct
import tempfile
from collections.abc import Sequence
from typing import IO, Any

from ..storage.batch import EventBatch
from ..storage.writer import EventWriter

_HEAD = struct.Struct("<IqII")
"""bytes of the packed columns, first seq, events, loss records among them"""


class BatchSpool:
    def __init__(self, directory: str | None, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        # open as long as the spool lives (closed by close())
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            dir=directory, prefix="tracerd-ingest-"
        )
        self._write_at = 0
        self._read_at = 0
        self._task: asyncio.Task[None] | None = None
        self.spooled_events = 0
        """events that went through the spool (for the bench and tests)"""

    @property
    def pending(self) -> bool:
        """Batches wait here: later ones must queue behind them (seq order)."""
        return self._read_at < self._write_at

    def put(self, first_seq: int, events: Sequence[Sequence[Any]], force: bool = False) -> bool:
        """Append a batch; False (nothing kept) if it would pass the bound, unless `force`
        (a one-row loss record must follow what is spooled)."""
        batch = EventBatch.of_rows(events)
        body = batch.body()
        if not force and self._write_at + _HEAD.size + len(body) > self.max_bytes:
            return False
        self._file.seek(self._write_at)
        self._file.write(_HEAD.pack(len(body), first_seq, len(batch), batch.lost))
        self._file.write(body)
        self._write_at += _HEAD.size + len(body)
        self.spooled_events += len(batch)
        return True

    def _next(self) -> tuple[int, EventBatch]:
        self._file.seek(self._read_at)
        size, first_seq, n, lost = _HEAD.unpack(self._file.read(_HEAD.size))
        body = self._file.read(size)
        self._read_at += _HEAD.size + size
        if self._read_at == self._write_at:  # drained: the file starts over
            self._read_at = self._write_at = 0
            self._file.truncate(0)
        return first_seq, EventBatch(n, lost, body=body)

    def drain_into(self, writer: EventWriter, session_id: int) -> None:
        """Start handing the spooled batches to the writer (once; it ends when empty)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(writer, session_id))

    async def _drain(self, writer: EventWriter, session_id: int) -> None:
        while self.pending:
            await writer.wait_for_space()
            first_seq, events = self._next()
            writer.submit(session_id, first_seq, events)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._file.close()
