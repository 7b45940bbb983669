"""The engine contract: what every engine (tracefs, ptrace, bpf) offers its worker process.

Engines run inside a worker process (workers/main.py), one engine per session. They never
import fastapi, `api/`, `sessions/` or `storage/`. Resources are recorded in the ledger
*before* they are created and crossed off *after* they are destroyed.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from ..kernel.tracefs import DEFAULT_ROOT
from ..specs import AnySpec
from ..types import WireEvent


@dataclass(frozen=True, slots=True)
class Limits:
    """Memory bounds of one session's worker (design.md "Data flow")."""

    raw_memory_bytes: int = 64 << 20
    """raw pages (tracefs) or undecoded records held in memory before spooling"""
    spool_bytes: int = 512 << 20
    """raw pages spooled to disk before the reader stops draining (the kernel counts loss)"""
    batch_events: int = 4096
    """largest batch handed to the sink"""
    batch_interval_s: float = 0.05
    """longest time an event waits in a batch"""
    stop_timeout_s: float = 30.0
    """the daemon's `stop_timeout_s`: how long `stop` may go without a sign of progress"""


@dataclass(frozen=True, slots=True)
class EngineContext:
    """What the daemon tells a worker about its session."""

    session_id: int
    daemon_id: str
    """the daemon's random id; resource names are `tracerd_<daemon_id>_<session_id>`"""
    daemon_pid: int
    exclude_pids: tuple[int, ...]
    """the daemon's and every worker's pids: never traced (their threads are found in /proc)"""
    caps: Mapping[str, Any]
    """the capability probe's result (system/caps.py), shape of GET /v1/capabilities"""
    state_dir: str
    spool_dir: str
    """a directory of this session's own, for spooled raw pages"""
    limits: Limits = field(default_factory=Limits)
    exclude_procs: tuple[tuple[int, int], ...] = ()
    """(pid, start time in clock ticks after boot) of the daemon and the running workers:
    the unreusable form of `exclude_pids`, for engines that can check it"""

    @property
    def resource_name(self) -> str:
        return f"tracerd_{self.daemon_id}_{self.session_id}"

    @property
    def tracefs_root(self) -> Path:
        """Where the capability probe found tracefs (the default mount point if unprobed)."""
        return Path(self.caps.get("tracefs", {}).get("path") or DEFAULT_ROOT)


class Ledger(Protocol):
    """The resource ledger as seen from a worker. Both calls block until the daemon stored them."""

    def record(self, type: str, name: str, data: Mapping[str, Any] | None = None) -> str:
        """Record a resource about to be created; returns its key. Call BEFORE creating it."""
        ...

    def cross_off(self, key: str) -> None:
        """Cross a resource off. Call AFTER it is destroyed."""
        ...


class EventSink(Protocol):
    """Where an engine's events go. `emit` may block (backpressure from the daemon)."""

    def emit(self, events: Sequence[WireEvent]) -> None:
        """A batch of events in order (loss markers from `types.lost_event` included)."""
        ...

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        """A snapshot of BPF maps (periodic; the final one at stop)."""
        ...

    def lost_total(self, source: str, count: int) -> None:
        """The authoritative loss count of a source (e.g. tracefs per-CPU stats at the end)."""
        ...

    def info(self, values: Mapping[str, Any]) -> None:
        """Session information to show (program ids, seccomp program, instance name, ...)."""
        ...

    def ended(
        self, exit_status: Mapping[str, Any] | None, reason: str | None = None, failed: bool = False
    ) -> None:
        """The engine ended on its own (launched command exited, fatal error). The worker
        then runs `stop`. `exit_status` is {"code": int|None, "signal": str|None}."""
        ...


StateT = TypeVar("StateT")


@dataclass(slots=True)
class EngineHandle(Generic[StateT]):
    """What `prepare` returns: the engine's state for one session (`StateT`: its engine's
    own, e.g. `TracefsState`) and what the worker reports of it."""

    state: StateT
    """the engine's own state (readers, tracer, loaded programs)"""
    clock: str = "mono"
    wall_offset_ns: int = 0
    """wall-clock time minus the session clock, in ns"""
    info: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    """[{"type": ..., "name": ...}] as the session shows them"""


SpecT_contra = TypeVar("SpecT_contra", bound=AnySpec, contravariant=True)


class Engine(Protocol[SpecT_contra, StateT]):
    """One session's engine, inside its worker process; `SpecT_contra` is its kind's spec
    model (`specs.TracefsSpec`, ...), `StateT` the state its handles hold (each engine
    module checks its class against this protocol for mypy)."""

    kind: ClassVar[str]

    def __init__(self, ctx: EngineContext) -> None: ...

    def prepare(self, spec: SpecT_contra, ledger: Ledger) -> EngineHandle[StateT]:
        """Set the kernel up (no events flow yet). Raise a `tracerd.errors` error on a
        rejection, after releasing whatever was created."""
        ...

    def start(self, handle: EngineHandle[StateT], sink: EventSink) -> None:
        """Start reading: spawn reader threads, release a held-back command."""
        ...

    def stop(self, handle: EngineHandle[StateT]) -> None:
        """Drain what the kernel still holds, release everything, cross it off.
        Idempotent and bounded in time (seconds)."""
        ...

    def marker(self, handle: EngineHandle[StateT], text: str) -> bool:
        """Write an annotation into the trace; False if the engine has no in-kernel way
        (the worker then emits a `marker` event itself)."""
        ...

    def read_maps(self, handle: EngineHandle[StateT]) -> Mapping[str, Any]:
        """Current map contents (bpf); {} for other kinds."""
        ...

    def exclude(self, handle: EngineHandle[StateT], pids: Sequence[int]) -> None:
        """The daemon's and workers' pids changed: stop tracing their threads (tracefs
        filters by thread id in the kernel; the other kinds never see them and ignore it)."""
        ...


def wall_offset_ns(clock_id: int) -> int:
    """Wall-clock minus `clock_id` time, in ns, sampled now."""
    import time

    before = time.clock_gettime_ns(clock_id)
    wall = time.time_ns()
    after = time.clock_gettime_ns(clock_id)
    return wall - (before + after) // 2


GC_GEN0_THRESHOLD = 50_000
"""allocations between young-generation collections (CPython's default: 700)"""


def tune_gc() -> None:
    """Tune a worker's GC for a decoding loop (the process runs one session only).

    Each event allocates a few GC-tracked containers (an unpacked tuple or a fields dict,
    the WireEvent); with the default threshold a collection runs every few hundred events
    and re-scans the live batch, and full collections walk everything set up before.
    Measured on the bpf per-event path: 0.7-1.1 M events/s -> 2.3-2.7 M/s with both
    changes; on the packet path the decode thread's per-packet cost about halves. Events
    are acyclic, so nothing is lost by collecting less often; what exists after set-up
    (BCC's module, tables, symbol caches, libpcap's program) lives as long as the session:
    frozen.
    """
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GC_GEN0_THRESHOLD), gen1, gen2)
