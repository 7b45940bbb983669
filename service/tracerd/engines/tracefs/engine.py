"""tracefs engine: one ftrace instance per session, read per CPU from trace_pipe_raw.

Mechanism: the session owns `instances/tracerd_<daemon>_<session>` with its own ring
buffer; its events, filters, pid filters, clock and buffer size are set there, never at
the top level. Dynamic events (uprobes, kprobes) are defined globally in the session's
own group (`tracerd_<daemon>_<session>`) and enabled only in its instance. A launched
command is held back until the instance is armed, then traced (with its descendants
under `follow_forks`). instance.py arms the instance, session.py holds one session's
state and its end; this module is the Engine interface. The daemon's and workers' threads
are excluded with `set_event_notrace_pid` so a system-wide syscall session never feeds on
its own reads.
The `function`/`function_graph` tracers (tracers.py) run in the instance, or at the
exclusive top level where the kernel allows them only there; a second reader then reads
the top-level buffer, and kallsyms.py names the addresses of tracer and kprobe records.
Requirements: tracefs; uprobes need CONFIG_UPROBE_EVENTS, kprobes CONFIG_KPROBE_EVENTS.
Caveats: kernel-interfaces.md section 5 (filters, control-file writes, rmdir and EBUSY).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from ...errors import NotFound, TracerdError
from ...kernel.tracefs import CLOCK_IDS, Tracefs, read_kernel_loss
from ...specs import TracefsSpec
from ..base import Engine, EngineContext, EngineHandle, EventSink, Ledger, tune_gc, wall_offset_ns
from .decode import PageDecoder
from .instance import InstanceSetup, check_caps, exclude_threads, page_decoder
from .kallsyms import SymbolizingSink, boot_id
from .reader import TracefsReader
from .session import READER_IDLE_TIMEOUT_S, TracefsState, finish_reader

log = logging.getLogger(__name__)

READER_DRAIN_TIMEOUT_S = 10.0


class TracefsEngine:
    kind: ClassVar[str] = "tracefs"

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.fs = Tracefs(self._root())
        self.ledger: Ledger | None = None

    def _root(self) -> Path:
        return self.ctx.tracefs_root

    # -- prepare ------------------------------------------------------------------------

    def prepare(self, spec: TracefsSpec, ledger: Ledger) -> EngineHandle[TracefsState]:
        self.ledger = ledger
        self.fs.require()
        check_caps(self.ctx.caps, spec)
        for pid in spec.pids:
            if not os.path.exists(f"/proc/{pid}"):
                raise NotFound(f"no process {pid}", {"pid": pid})
        events = self.fs.expand(spec.events)
        state = TracefsState(self.fs.instance(self.ctx.resource_name), events)
        handle = EngineHandle(clock=spec.clock, state=state)
        setup = InstanceSetup(
            self.fs, self.ctx.resource_name, self.ctx.caps, self.ctx.exclude_pids, ledger
        )
        try:
            setup.arm(spec, state)
        except BaseException:
            self.stop(handle)
            raise
        with_tracer = not (state.tracer and state.tracer.at_top_level)
        state.decoder = page_decoder(self.fs, state, with_tracer)
        state.system_wide = not spec.command and not spec.pids
        self._skip_own(state, state.decoder, self.ctx.exclude_pids)
        handle.wall_offset_ns = wall_offset_ns(CLOCK_IDS.get(spec.clock, time.CLOCK_MONOTONIC))
        handle.info = {
            "instance": state.instance.name,
            "events": [state.display.get(e.rel, e.full) for e in state.events],
        }
        handle.info["formats"] = {**state.decoder.registry.render_formats(), "boot_id": boot_id()}
        if state.command is not None:
            handle.info["command_pid"] = state.command.pid
        if state.tracer is not None:
            handle.info["tracer"] = {"name": spec.tracer, "where": state.tracer.where}
        return handle

    def exclude(self, handle: EngineHandle[TracefsState], pids: Sequence[int]) -> None:
        """The daemon's thread set changed: exclude its (and the workers') current threads."""
        state = handle.state
        if not state.stopped and state.instance.exists():
            exclude_threads(state, pids)
        for decoder in (state.decoder, state.top_decoder):
            if decoder is not None:
                self._skip_own(state, decoder, pids)

    @staticmethod
    def _skip_own(state: TracefsState, decoder: PageDecoder, pids: Sequence[int]) -> None:
        """A system-wide session drops what the kernel lets through of the daemon's and
        workers' threads (those started after the last `exclude`)."""
        if state.system_wide:
            decoder.skip_processes((*pids, os.getpid()))

    # -- start / stop -------------------------------------------------------------------

    def start(self, handle: EngineHandle[TracefsState], sink: EventSink) -> None:
        state = handle.state
        if state.tracer is not None or any(
            v.startswith("kprobes:") for v in state.display.values()
        ):
            sink = SymbolizingSink(sink)  # kernel addresses -> symbol names
        state.sink = sink
        assert state.decoder is not None
        # each event allocates GC-tracked containers (its WireEvent, its wire row): with
        # CPython's default threshold a young collection runs every few hundred events
        tune_gc()
        state.reader = self._reader(handle, str(state.instance.path), state.decoder, sink)
        state.reader.start()
        if state.tracer is not None and state.tracer.at_top_level:
            decoder = state.top_decoder = page_decoder(self.fs, state)
            self._skip_own(state, decoder, self.ctx.exclude_pids)
            state.top_reader = self._reader(handle, str(self.fs.root), decoder, sink, "top")
            state.top_reader.start()
        if state.command is not None:
            state.watch_command(sink)
        # now that this worker's threads exist, exclude them too (a reader tracing its own
        # reads would feed on itself)
        exclude_threads(state, self.ctx.exclude_pids)
        state.instance.write("tracing_on", "1")
        if state.tracer is not None:
            state.tracer.start()
        if state.command is not None:
            state.command.release()
            error = state.command.exec_error()
            if error is not None:
                raise TracerdError(f"cannot run {state.command.argv[0]}: {error}")

    def _reader(
        self,
        handle: EngineHandle[TracefsState],
        path: str,
        decoder: PageDecoder,
        sink: EventSink,
        spool: str = "",
    ) -> TracefsReader:
        spool_dir = os.path.join(self.ctx.spool_dir, spool) if spool else self.ctx.spool_dir
        if spool:
            os.makedirs(spool_dir, mode=0o700, exist_ok=True)
        limits = self.ctx.limits
        return TracefsReader(
            path, decoder, sink, clock=handle.clock, limits=limits, spool_dir=spool_dir
        )

    def stop(self, handle: EngineHandle[TracefsState]) -> None:
        state = handle.state
        if state.stopped:
            return
        state.stopped = True
        inst = state.instance
        if inst.exists():
            try:
                inst.write("tracing_on", "0")
            except OSError:
                log.warning("cannot turn tracing off in %s", inst.name)
        if state.tracer is not None:
            state.tracer.pause()
        kernel_loss = None
        if state.reader is not None:
            # kernel side first, bounded: drain the buffers, read the loss, release it all
            state.reader.drain_kernel(READER_DRAIN_TIMEOUT_S)
            if inst.exists():
                kernel_loss = read_kernel_loss(str(inst.path))
        if state.top_reader is not None:
            state.top_reader.drain_kernel(READER_DRAIN_TIMEOUT_S)
            kernel_loss = (kernel_loss or 0) + read_kernel_loss(str(self.fs.root))
        if state.tracer is not None:
            state.tracer.release()  # after the readers closed trace_pipe_raw (else EBUSY)
        state.end_command(self.ledger)
        state.remove(self.ledger)
        if state.top_reader is not None and state.sink is not None:
            state.top_reader.finish(READER_IDLE_TIMEOUT_S)
        if state.reader is not None and state.sink is not None:
            # then the backlog, as long as it makes progress (the daemon may store slowly)
            finish_reader(state.reader, state.sink, kernel_loss)

    def marker(self, handle: EngineHandle[TracefsState], text: str) -> bool:
        state = handle.state
        state.instance.marker(text)
        return True

    def read_maps(self, handle: EngineHandle[TracefsState]) -> Mapping[str, Any]:
        return {}


_CHECKED: type[Engine[TracefsSpec, TracefsState]] = TracefsEngine
"""mypy checks the class against the engine contract with this kind's spec and state"""
