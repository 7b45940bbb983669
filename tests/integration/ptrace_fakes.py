"""Fakes of the ptrace engine's worker side (ledger, sink) and helpers for the live tests."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from tracerd.engines.base import EngineContext
from tracerd.types import WireEvent


class ListLedger:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str, Any]] = {}
        self.crossed: list[str] = []
        self._n = 0

    def record(self, type: str, name: str, data: Mapping[str, Any] | None = None) -> str:
        self._n += 1
        key = str(self._n)
        self.rows[key] = (type, name, dict(data or {}))
        return key

    def cross_off(self, key: str) -> None:
        del self.rows[key]
        self.crossed.append(key)


class ListSink:
    def __init__(self) -> None:
        self.events: list[WireEvent] = []
        self.infos: list[Mapping[str, Any]] = []
        self.end: tuple[Any, Any, bool] | None = None
        self.ended_event = threading.Event()
        self.lock = threading.Lock()

    def emit(self, events: Sequence[WireEvent]) -> None:
        with self.lock:
            self.events.extend(events)

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        pass

    def lost_total(self, source: str, count: int) -> None:
        pass

    def info(self, values: Mapping[str, Any]) -> None:
        self.infos.append(dict(values))

    def ended(
        self, exit_status: Mapping[str, Any] | None, reason: str | None = None, failed: bool = False
    ) -> None:
        self.end = (exit_status, reason, failed)
        self.ended_event.set()

    def named(self, name: str) -> list[WireEvent]:
        """Syscall events of that name (they have `raw_args`)."""
        with self.lock:
            return [e for e in self.events if e.name == name and "raw_args" in e.fields]

    def lifecycle(self, name: str) -> list[WireEvent]:
        """`exit`, `exec`, `signal`, `stdout`, `stderr`, `breakpoint` events."""
        with self.lock:
            return [e for e in self.events if e.name == name and "raw_args" not in e.fields]


def context(session_id: int = 1, exclude: tuple[int, ...] = ()) -> EngineContext:
    return EngineContext(
        session_id=session_id,
        daemon_id="t0",
        daemon_pid=0,
        exclude_pids=exclude,
        caps={},
        state_dir="/tmp",
        spool_dir="/tmp",
    )
