"""Shared values of the daemon and its workers; imports nothing from the package."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, NamedTuple

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


# Column indexes of an event kept as a plain tuple or list in `WireEvent` order (the wire's
# rows, `zip(*rows)` columns, the daemon's batches): the hot loops index these (an index
# is cheaper than a NamedTuple attribute in CPython) and name the index with these.
# `tests/unit/test_types.py` checks them against `WireEvent._fields`.
EV_TS_NS: Final = 0
EV_CPU: Final = 1
EV_PID: Final = 2
EV_TID: Final = 3
EV_COMM: Final = 4
EV_NAME: Final = 5
EV_FIELDS: Final = 6
"""a dict in a `WireEvent`, JSON text in a wire row and in the table"""
EV_DUR_NS: Final = 7
EV_RET: Final = 8
EV_ERRNO: Final = 9
EV_WIDTH: Final = 10


def lost_event(source: str, count: int, ts_ns: int, cpu: int | None = None) -> WireEvent:
    """An in-band loss record: `count` events from `source` are missing at this point."""
    return WireEvent(
        ts_ns, cpu, None, None, None, LOST_EVENT_NAME, {"source": source, "count": count}
    )
