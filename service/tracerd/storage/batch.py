"""EventBatch: a batch of wire events as the columns the writer inserts.

Workers pack a batch's columns once (msgpack, workers/wire.py carries the bytes); the
daemon's event loop reads only the count and the number of loss records, the spool keeps
the bytes as they came, and the writer thread unpacks the columns. Rows are built only for
those who read events one by one (stream subscribers, limits, loss records).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

import msgpack
import orjson

from ..fields import json_default
from ..types import EV_FIELDS, EV_NAME, LOST_EVENT_NAME

COLUMNS = 10
"""WireEvent's fields: ts_ns, cpu, pid, tid, comm, name, fields, dur_ns, ret, errno"""


def event_columns(events: Sequence[Any]) -> list[Sequence[Any]]:
    """WireEvents as the batch's 10 columns, fields as JSON text (transposed in C; one
    orjson call per event is the only Python step)."""
    cols: list[Sequence[Any]] = list(zip(*events, strict=True))
    dumps, default = orjson.dumps, json_default
    cols[EV_FIELDS] = [dumps(f, default=default).decode() for f in cols[EV_FIELDS]]
    return cols


class EventBatch(Sequence[Sequence[Any]]):
    """A batch of wire events (WireEvent order, fields as JSON text), held as the columns
    the writer inserts, or as the packed bytes they came in until someone needs them.

    As a Sequence it is the batch's rows (tuples), built once on first use: stream
    subscribers, limits and loss records read rows; the common flood never builds them.
    `len()` and `lost` (how many rows are in-band loss records) need neither. Safe to read
    from the event loop and the writer thread: unpacking or building twice gives equal
    values, and assignments are atomic.
    """

    __slots__ = ("_body", "_cols", "_rows", "lost", "n")

    def __init__(
        self,
        n: int,
        lost: int,
        *,
        body: bytes | None = None,
        cols: Sequence[Sequence[Any]] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
    ) -> None:
        if body is None and cols is None and rows is None:
            raise ValueError("an EventBatch needs its bytes, columns or rows")
        self.n, self.lost = n, lost
        self._body, self._cols, self._rows = body, cols, rows

    @classmethod
    def of_rows(cls, rows: Sequence[Sequence[Any]]) -> EventBatch:
        if isinstance(rows, EventBatch):
            return rows
        lost = sum(1 for ev in rows if ev[EV_NAME] == LOST_EVENT_NAME)
        return cls(len(rows), lost, rows=rows)

    @classmethod
    def of_events(cls, events: Sequence[Any]) -> EventBatch:
        """WireEvents (fields as dicts) as a worker sends them."""
        cols = event_columns(events)
        return cls(len(events), cols[EV_NAME].count(LOST_EVENT_NAME), cols=cols)

    def columns(self) -> Sequence[Sequence[Any]]:
        cols = self._cols
        if cols is None:
            if self._body is not None:
                cols = msgpack.unpackb(self._body, raw=False)
                if len(cols) != COLUMNS or any(len(c) != self.n for c in cols):
                    raise ValueError("malformed event columns")
            else:
                assert self._rows is not None
                cols = list(zip(*self._rows, strict=True))
            self._cols = cols
        return cols

    def body(self) -> bytes:
        """The columns packed (as they came, if they came packed)."""
        if self._body is None:
            self._body = msgpack.packb(self.columns(), use_bin_type=True)
        return self._body

    def rows(self) -> Sequence[Sequence[Any]]:
        rows = self._rows
        if rows is None:
            rows = self._rows = list(zip(*self.columns(), strict=True))
        return rows

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, index: int) -> Sequence[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Sequence[Any]]: ...

    def __getitem__(self, index: int | slice) -> Sequence[Any] | Sequence[Sequence[Any]]:
        return self.rows()[index]

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return iter(self.rows())
