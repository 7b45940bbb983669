"""In-memory `EventSink`s for benchmarks, tests and tools: collect or only count.

`ListSink` keeps every batch (with an optional delay per batch, to play a slow consumer);
`CountingSink` keeps counts only (events, loss records and their summed counts).
Neither is used by the daemon: its worker's sink sends batches over the wire.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from ...types import LOST_EVENT_NAME, WireEvent


class NullSink:
    """Accepts everything; subclasses override `emit`."""

    lost_totals: dict[str, int]

    def __init__(self) -> None:
        self.lost_totals = {}

    def emit(self, events: Sequence[WireEvent]) -> None:
        return None

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        return None

    def lost_total(self, source: str, count: int) -> None:
        self.lost_totals[source] = count

    def info(self, values: Mapping[str, Any]) -> None:
        return None

    def ended(
        self, exit_status: Mapping[str, Any] | None, reason: str | None = None, failed: bool = False
    ) -> None:
        return None


class CountingSink(NullSink):
    def __init__(self) -> None:
        super().__init__()
        self.events = 0
        self.lost_records = 0
        self.lost_in_band = 0

    def emit(self, events: Sequence[WireEvent]) -> None:
        lost = [e.fields["count"] for e in events if e.name == LOST_EVENT_NAME]
        self.lost_records += len(lost)
        self.lost_in_band += sum(c for c in lost if c > 0)
        self.events += len(events) - len(lost)


class ListSink(NullSink):
    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__()
        self.events: list[WireEvent] = []
        self.batches: list[int] = []
        self.delay_s = delay_s

    def emit(self, events: Sequence[WireEvent]) -> None:
        self.events.extend(events)
        self.batches.append(len(events))
        if self.delay_s:
            time.sleep(self.delay_s)

    def data(self) -> list[WireEvent]:
        return [e for e in self.events if e.name != LOST_EVENT_NAME]

    def lost(self) -> list[WireEvent]:
        return [e for e in self.events if e.name == LOST_EVENT_NAME]
