"""One tracefs session's state in its worker: the instance, its events, the readers, the
launched command and the ledger keys of what was created; and its end (the engine drives
it: `instance.py` arms it, `engine.py` starts and stops it)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ...kernel.tracefs import EventRef, Instance
from ..base import EventSink, Ledger
from ..launch import LaunchedCommand, output_event
from .decode import PageDecoder
from .dynamic import DynamicEvents
from .reader import TracefsReader
from .tracers import TracerSetup

READER_IDLE_TIMEOUT_S = 20.0


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
    top_decoder: PageDecoder | None = None
    system_wide: bool = False
    """no command and no pid filter: the decoders drop the daemon's and workers' records"""
    reader: TracefsReader | None = None
    tracer: TracerSetup | None = None
    top_reader: TracefsReader | None = None
    """reads the top-level buffer, where a top-level tracer's records land"""
    sink: EventSink | None = None
    stopped: bool = False

    def watch_command(self, sink: EventSink) -> None:
        """The launched command's output as events, and `ended` when it exits."""
        command = self.command
        assert command is not None
        pid = command.pid

        reader = self.reader

        def output(stream: str, text: str, ts_ns: int) -> None:
            # stamped on the session clock and merged with the records in time order
            if reader is not None and reader.clock.name != "mono":
                ts_ns += reader.clock.now_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            event = output_event(stream, text, ts_ns, pid)
            if reader is None or not reader.inject([event]):
                sink.emit([event])

        command.watch_output(output)
        threading.Thread(
            target=self._wait_command, args=(sink,), name=f"command-{pid}", daemon=True
        ).start()

    def _wait_command(self, sink: EventSink) -> None:
        command = self.command
        assert command is not None
        status = command.wait()
        command.join_output()
        if not self.stopped:
            sink.ended(status, "the command exited")

    def end_command(self, ledger: Ledger | None) -> None:
        if self.command is None:
            return
        self.command.terminate()
        if self.command_key is not None and ledger is not None:
            ledger.cross_off(self.command_key)
            self.command_key = None

    def remove(self, ledger: Ledger | None) -> None:
        """The instance and the dynamic events, each crossed off after."""
        if self.instance.exists():
            self.instance.remove()
        if self.instance_key is not None and ledger is not None:
            ledger.cross_off(self.instance_key)
            self.instance_key = None
        if self.dynamic is not None:
            self.dynamic.remove_all()


def finish_reader(reader: TracefsReader, sink: EventSink, kernel_loss: int | None) -> None:
    """Hand over the backlog as long as it makes progress, then the loss totals and the
    reader's counts."""
    stats = reader.finish(READER_IDLE_TIMEOUT_S)
    if kernel_loss is not None:
        sink.lost_total("kernel", kernel_loss)
    if stats.dropped_events_estimate:
        sink.lost_total("storage", stats.dropped_events_estimate)
    counts = {
        "pages": stats.pages,
        "events": stats.events,
        "late": stats.late,
        "decode_errors": stats.decode_errors,
        "unknown_events": stats.unknown_events,
        "peak_spooled_bytes": stats.peak_spooled_bytes,
        "paused_s": round(stats.paused_s, 3),
    }
    sink.info({"reader": counts})
