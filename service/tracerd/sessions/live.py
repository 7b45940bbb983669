"""LiveSession: the manager's in-memory object for one session, and its API view."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from ..errors import BadRequest
from ..specs import SPEC_BY_KIND, AnySpec, load_spec
from ..storage.tables import SessionRow
from ..types import FINAL_STATES, LossSource, SessionState
from ..workers.launch import WorkerProcess


def empty_lost() -> dict[str, int]:
    return {s.value: 0 for s in LossSource}


@dataclass(eq=False)
class LiveSession:
    id: int
    kind: str
    name: str | None
    spec_json: dict[str, Any]
    """the spec as the client gave it (`specs.spec_json`): what the row stores and the view shows"""
    owner: str | None
    state: SessionState
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    reason: str | None = None
    exit_status: dict[str, Any] | None = None
    clock: str = "mono"
    wall_offset_ns: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """ledger key -> {"type", "name"} of what the session holds now"""
    worker: WorkerProcess | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    final: asyncio.Event = field(default_factory=asyncio.Event)
    next_seq: int = 0
    received: int = 0
    lost_inband: dict[str, int] = field(default_factory=empty_lost)
    lost_totals: dict[str, int] = field(default_factory=dict)
    """authoritative totals reported by the engine (e.g. tracefs per-CPU stats)"""
    dropped_over_max: int = 0
    stop_requested: str | None = None
    """why a stop was asked for while the start flow ran (it stops the session at its end)"""
    in_start: bool = False
    """the start flow (prepare + start in the worker) is running"""
    failing: bool = False
    engine_failed: bool = False
    """the engine reported a fatal error: the session ends `failed`"""
    stop_task: asyncio.Task[None] | None = None
    start_task: asyncio.Task[None] | None = None
    timers: list[asyncio.Task[None]] = field(default_factory=list)
    last_maps: dict[str, Any] | None = None
    budget_window_s: int = 0
    budget_window_events: int = 0
    budget_window_bytes: int = 0

    @cached_property
    def spec(self) -> AnySpec:
        """The validated spec; read from `spec_json` only for a session loaded from the database
        (a created one is given the API's)."""
        return stored_spec(self.kind, self.spec_json)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def active(self) -> bool:
        return self.state in (SessionState.STARTING, SessionState.RUNNING, SessionState.STOPPING)

    @classmethod
    def from_row(cls, row: SessionRow) -> LiveSession:
        live = cls(
            id=row.id,
            kind=row.kind,
            name=row.name,
            spec_json=row.spec,
            owner=row.owner,
            state=SessionState(row.state),
            created_at=row.created_at,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            reason=row.reason,
            exit_status=row.exit_status,
            clock=row.clock,
            wall_offset_ns=row.wall_offset_ns,
            info=dict(row.info or {}),
        )
        counters = row.counters or {}
        live.received = int(counters.get("events", 0))
        live.lost_totals = {k: int(v) for k, v in (counters.get("lost") or {}).items()}
        live.resources = {str(i): r for i, r in enumerate(row.resources or [])}
        return live

    def lost(self, storage: int, subscriber: int) -> dict[str, int]:
        out = dict(self.lost_inband)
        out.update(self.lost_totals)
        out[LossSource.STORAGE.value] = max(out.get(LossSource.STORAGE.value, 0), storage)
        out[LossSource.SUBSCRIBER.value] = max(out.get(LossSource.SUBSCRIBER.value, 0), subscriber)
        return out

    def counters(self, stored: int, storage_lost: int, subscriber_lost: int) -> dict[str, Any]:
        return {
            "events": self.received,
            "stored": stored,
            "lost": self.lost(storage_lost, subscriber_lost),
        }

    def apply_to_row(self, row: SessionRow, counters: dict[str, Any], stored_bytes: int) -> None:
        row.state = self.state.value
        row.started_at, row.stopped_at = self.started_at, self.stopped_at
        row.reason, row.exit_status = self.reason, self.exit_status
        row.clock, row.wall_offset_ns = self.clock, self.wall_offset_ns
        row.info, row.counters = self.info, counters
        row.resources = list(self.resources.values())
        row.stored_bytes = stored_bytes


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def session_view(live: LiveSession, counters: dict[str, Any], stored_bytes: int) -> dict[str, Any]:
    return {
        "id": str(live.id),
        "kind": live.kind,
        "name": live.name,
        "owner": live.owner,
        "state": live.state.value,
        "spec": live.spec_json,
        "created_at": iso(live.created_at),
        "started_at": iso(live.started_at),
        "stopped_at": iso(live.stopped_at),
        "reason": live.reason,
        "exit_status": live.exit_status,
        "clock": live.clock,
        "wall_offset_ns": live.wall_offset_ns,
        "counters": counters,
        "resources": list(live.resources.values()),
        "info": live.info,
        "stored_bytes": stored_bytes,
    }


def stored_spec(kind: str, data: Mapping[str, Any]) -> AnySpec:
    """A stored row's spec, validated; one that no longer validates (stored by an older
    tracerd with looser rules) is a BadRequest, not a 500."""
    try:
        return load_spec(kind, data)
    except ValidationError as exc:
        raise BadRequest(
            f"the stored {kind} spec is not valid any more: {exc.errors()[0]['msg']}",
            detail={
                "errors": exc.errors(include_url=False, include_context=False, include_input=False)
            },
        ) from None


def recorded_spec(kind: str, data: Mapping[str, Any]) -> AnySpec:
    """A stored row's spec for reading what was recorded (reports, exports): one that no
    longer validates (stored by an older tracerd with looser rules) is taken as it is, its
    missing fields at their defaults, so the recording stays readable. Starting a session
    uses `stored_spec`, which refuses it."""
    try:
        return load_spec(kind, data)
    except ValidationError:
        cls = SPEC_BY_KIND[kind]
        return cls.model_construct(**{k: v for k, v in data.items() if k in cls.model_fields})
