"""The events' zone map (`event_blocks`): per run of up to BLOCK_EVENTS consecutive events
of a session, the seq span and the timestamp span, written by the EventWriter in the
transaction of the events. A time filter becomes a seq range on the primary key (the
blocks whose timestamps overlap it), so no index on `ts_ns` is kept up at ingest.

Correct whatever the order of timestamps (each block keeps its min and max); tight when
they rise with `seq`, as the workers' merged streams make them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select

from .tables import EventBlockRow, EventRow

BLOCK_EVENTS = 8192


class BlockBuilder:
    """Blocks of the current transaction (the writer thread only)."""

    def __init__(self) -> None:
        self._rows: list[dict[str, int]] = []

    def add(self, session_id: int, first_seq: int, stamps: Sequence[int]) -> None:
        for start in range(0, len(stamps), BLOCK_EVENTS):
            part = stamps[start : start + BLOCK_EVENTS]
            self._rows.append(
                {
                    "session_id": session_id,
                    "first_seq": first_seq + start,
                    "last_seq": first_seq + start + len(part) - 1,
                    "min_ts": min(part),
                    "max_ts": max(part),
                }
            )

    def write(self, conn: Connection) -> None:
        if self._rows:
            conn.execute(insert(EventBlockRow), self._rows)
            self._rows = []

    def discard(self) -> None:
        self._rows = []


def seq_bounds(
    session_id: int, since_ns: int | None, until_ns: int | None
) -> list[ColumnElement[bool]]:
    """Conditions on `events.seq` that keep every event of the session with
    since_ns <= ts_ns < until_ns (add them to the ts conditions, they do not replace them).
    A session without blocks is not narrowed."""
    b = EventBlockRow
    scope = b.session_id == session_id
    out: list[ColumnElement[bool]] = []
    if since_ns is not None:
        first = select(func.min(b.first_seq)).where(scope, b.max_ts >= since_ns)
        past_end = select(func.max(b.last_seq) + 1).where(scope)
        out.append(
            EventRow.seq >= func.coalesce(first.scalar_subquery(), past_end.scalar_subquery(), -1)
        )
    if until_ns is not None:
        last = select(func.max(b.last_seq)).where(scope, b.min_ts < until_ns)
        before_start = select(func.min(b.first_seq) - 1).where(scope)
        out.append(
            EventRow.seq
            <= func.coalesce(last.scalar_subquery(), before_start.scalar_subquery(), 2**62)
        )
    return out


def ts_span(conn: Any, session_id: int) -> tuple[int | None, int | None]:
    """The first and last timestamps of a session's stored events (from its blocks)."""
    b = EventBlockRow
    row = conn.execute(
        select(func.min(b.min_ts), func.max(b.max_ts)).where(b.session_id == session_id)
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)
