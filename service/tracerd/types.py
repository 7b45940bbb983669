"""Shared values of the daemon and its workers; imports nothing from the package."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

SessionId = int


class SessionState(StrEnum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


FINAL_STATES = frozenset({SessionState.STOPPED, SessionState.FAILED, SessionState.INTERRUPTED})


class LossSource(StrEnum):
    KERNEL = "kernel"
    BPF = "bpf"
    STORAGE = "storage"
    SUBSCRIBER = "subscriber"
    BUDGET = "budget"


LOST_EVENT_NAME = "lost"


class WireEvent(NamedTuple):
    """One event as engines produce it and the wire carries it (before `seq` is stamped).

    `dur_ns`, `ret` and `errno` are copies of values also present in `fields`, promoted
    to columns so reports can query them. A loss marker is an event named "lost" with
    fields {"source": ..., "count": ...} (see `lost_event`).
    """

    ts_ns: int
    cpu: int | None
    pid: int | None
    tid: int | None
    comm: str | None
    name: str
    fields: dict[str, Any]
    dur_ns: int | None = None
    ret: int | None = None
    errno: str | None = None


def lost_event(source: str, count: int, ts_ns: int, cpu: int | None = None) -> WireEvent:
    """An in-band loss record: `count` events from `source` are missing at this point."""
    return WireEvent(
        ts_ns, cpu, None, None, None, LOST_EVENT_NAME, {"source": source, "count": count}
    )
