"""One tracefs session's state in its worker: the instance, its events, the readers, the
launched command and the ledger keys of what was created (the engine drives it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...kernel.tracefs import EventRef, Instance
from ..base import EventSink
from ..launch import LaunchedCommand
from .decode import PageDecoder
from .dynamic import DynamicEvents
from .reader import TracefsReader
from .tracers import TracerSetup


@dataclass(eq=False)
class TracefsState:
    instance: Instance
    events: list[EventRef]
    display: dict[str, str] = field(default_factory=dict)
    """`sys/event` path -> name shown in events (dynamic events: uprobes:<name>)"""
    instance_key: str | None = None
    dynamic: DynamicEvents | None = None
    command: LaunchedCommand | None = None
    command_key: str | None = None
    decoder: PageDecoder | None = None
    reader: TracefsReader | None = None
    tracer: TracerSetup | None = None
    top_reader: TracefsReader | None = None
    """reads the top-level buffer, where a top-level tracer's records land"""
    sink: EventSink | None = None
    stopped: bool = False
