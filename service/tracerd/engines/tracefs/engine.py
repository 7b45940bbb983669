"""tracefs engine: one ftrace instance per session, read per CPU from trace_pipe_raw.

Mechanism: the session owns `instances/tracerd_<daemon>_<session>` with its own ring
buffer; its events, filters, pid filters, clock and buffer size are set there, never at
the top level. Dynamic events (uprobes, kprobes) are defined globally in the session's
own group (`tracerd_<daemon>_<session>`) and enabled only in its instance. A launched
command is held back until the instance is armed, then traced (with its descendants
under `follow_forks`); session.py holds one session's state. The daemon's and workers'
threads are excluded with `set_event_notrace_pid` so a system-wide syscall session never
feeds on its own reads.
The `function`/`function_graph` tracers (tracers.py) run in the instance, or at the
exclusive top level where the kernel allows them only there; a second reader then reads
the top-level buffer, and kallsyms.py names the addresses of tracer and kprobe records.
Requirements: tracefs; uprobes need CONFIG_UPROBE_EVENTS, kprobes CONFIG_KPROBE_EVENTS.
Caveats: kernel-interfaces.md section 5 (filters, control-file writes, rmdir and EBUSY).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...errors import CapabilityMissing, KernelRejected, NotFound, TracerdError
from ...kernel.proc import thread_ids
from ...kernel.tracefs import CLOCK_IDS, Instance, Tracefs, read_file, read_kernel_loss
from ...specs import TracefsSpec
from ..base import EngineContext, EngineHandle, EventSink, Ledger, wall_offset_ns
from ..launch import LaunchedCommand, output_event
from .decode import PageDecoder
from .dynamic import DynamicEvents
from .kallsyms import SymbolizingSink, boot_id
from .reader import TracefsReader, load_registry
from .registry import dynamic_event_kinds
from .session import TracefsState
from .tasks import TaskResolver
from .tracers import TracerSetup

log = logging.getLogger(__name__)

BUFFER_PERCENT = 25
READER_DRAIN_TIMEOUT_S = 10.0
READER_IDLE_TIMEOUT_S = 20.0


class TracefsEngine:
    kind: ClassVar[str] = "tracefs"

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.fs = Tracefs(self._root())
        self.ledger: Ledger | None = None

    def _root(self) -> Any:
        return self.ctx.tracefs_root

    # -- prepare ------------------------------------------------------------------------

    def prepare(self, spec: TracefsSpec, ledger: Ledger) -> EngineHandle:
        self.ledger = ledger
        self.fs.require()
        self._check_caps(spec)
        for pid in spec.pids:
            if not os.path.exists(f"/proc/{pid}"):
                raise NotFound(f"no process {pid}", {"pid": pid})
        events = self.fs.expand(spec.events)
        state = TracefsState(self.fs.instance(self.ctx.resource_name), events)
        handle = EngineHandle(clock=spec.clock, state=state)
        try:
            self._arm(spec, state, ledger)
        except BaseException:
            self.stop(handle)
            raise
        state.decoder = self._decoder(state, not (state.tracer and state.tracer.at_top_level))
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

    def _decoder(self, state: TracefsState, with_tracer: bool = True) -> PageDecoder:
        """Decode plans for every enabled event (and the tracer's records, in the buffer
        they land in), from this boot's format files."""
        kinds = None
        if state.dynamic is not None:
            kinds = dynamic_event_kinds(read_file(self.fs.root / "dynamic_events"))
        names = [e.full for e in state.events]
        if with_tracer and state.tracer is not None:
            names += state.tracer.event_names
        registry = load_registry(str(self.fs.root), names, kinds)
        return PageDecoder(registry, TaskResolver(tracefs_root=str(self.fs.root)))

    def _check_caps(self, spec: TracefsSpec) -> None:
        tracefs_caps = self.ctx.caps.get("tracefs", {})
        needs = []
        if spec.kprobes:
            needs.append("kprobes")
        if spec.uprobes:
            needs.append("uprobes")
        if spec.tracer != "nop":
            needs.append(spec.tracer)
        for cap in needs:
            feature = tracefs_caps.get(cap, {})
            if not feature.get("usable", False):
                raise CapabilityMissing(cap, feature.get("reason"))

    def _arm(self, spec: TracefsSpec, state: TracefsState, ledger: Ledger) -> None:
        inst = state.instance
        state.instance_key = ledger.record("tracefs_instance", inst.name)
        inst.create()
        inst.write("tracing_on", "0")
        self._set_buffers(spec, inst)
        if spec.tracer != "nop":
            state.tracer = TracerSetup(self.fs, inst, spec, self.ctx.caps, ledger)
            state.tracer.configure()
        if spec.uprobes or spec.kprobes:
            state.dynamic = DynamicEvents(self.fs, self.ctx.resource_name, ledger)
            for ref, display in state.dynamic.define(spec.uprobes, spec.kprobes):
                state.events.append(ref)
                state.display[ref.rel] = display
        self._exclude_threads(state, self.ctx.exclude_pids)
        for ref in state.events:
            inst.set_event_enabled(ref, True)
        self._set_filters(spec, state)
        inst.set_option("record-tgid", True)
        if spec.command:
            self._launch(spec, state, ledger)
        elif spec.pids:
            self._set_pid_filter(inst, spec.pids, spec.follow_forks, state.tracer)
        else:
            # not event-fork here: it would also exclude every later child of the daemon and
            # its workers (e.g. another session's launched command) from a system-wide view
            inst.set_option("event-fork", False)
        if state.tracer is not None:
            state.tracer.enable()  # last: no reader may hold trace_pipe_raw yet (EBUSY)

    def _set_buffers(self, spec: TracefsSpec, inst: Instance) -> None:
        try:
            inst.write("trace_clock", spec.clock)
            if spec.buffer_size_kb is not None:
                inst.write("buffer_size_kb", str(spec.buffer_size_kb))
        except OSError as exc:
            raise KernelRejected(f"cannot set clock/buffer size: {exc.strerror}") from exc
        # readers poll with a timeout and read partial pages: a watermark saves wake-ups
        inst.write("buffer_percent", str(BUFFER_PERCENT))

    def _exclude_threads(self, state: TracefsState, pids: Sequence[int]) -> None:
        """Every thread of the daemon, the workers and this worker: never traced."""
        tids: set[int] = set()
        for pid in (*pids, os.getpid()):
            tids.update(thread_ids(pid))
        state.instance.set_pids("set_event_notrace_pid", sorted(tids))
        if state.tracer is not None:  # set_ftrace_* refuse writes without function tracing
            state.tracer.exclude(sorted(tids))

    def exclude(self, handle: EngineHandle, pids: Sequence[int]) -> None:
        """The daemon's thread set changed: exclude its (and the workers') current threads."""
        state: TracefsState = handle.state
        if not state.stopped and state.instance.exists():
            self._exclude_threads(state, pids)

    def _set_filters(self, spec: TracefsSpec, state: TracefsState) -> None:
        if not spec.filters:
            return
        by_name = {e.full: e for e in state.events}
        by_name.update({state.display[e.rel]: e for e in state.events if e.rel in state.display})
        for name, expression in spec.filters.items():
            refs = [by_name[name]] if name in by_name else self.fs.expand([name])
            for ref in refs:
                if ref not in state.events:
                    raise KernelRejected(
                        f"filter for {name}, which the session does not enable", {"event": name}
                    )
                state.instance.set_filter(ref, expression)

    def _set_pid_filter(
        self, inst: Instance, pids: list[int], follow: bool, tracer: TracerSetup | None
    ) -> None:
        inst.set_option("event-fork", follow)
        try:
            inst.set_pids("set_event_pid", pids)
            if tracer is not None:
                tracer.set_pids(pids, follow)
        except OSError as exc:
            raise KernelRejected(
                f"the kernel refused pids {pids}: {exc.strerror}", {"pids": pids}
            ) from exc

    def _launch(self, spec: TracefsSpec, state: TracefsState, ledger: Ledger) -> None:
        assert spec.command is not None
        command = LaunchedCommand(spec.command, cwd=spec.cwd, env=spec.env, user=spec.user)
        state.command = command
        state.command_key = command.spawn_recorded(ledger)
        self._set_pid_filter(state.instance, [command.pid], spec.follow_forks, state.tracer)

    # -- start / stop -------------------------------------------------------------------

    def start(self, handle: EngineHandle, sink: EventSink) -> None:
        state: TracefsState = handle.state
        if state.tracer is not None or any(
            v.startswith("kprobes:") for v in state.display.values()
        ):
            sink = SymbolizingSink(sink)  # kernel addresses -> symbol names
        state.sink = sink
        assert state.decoder is not None
        state.reader = self._reader(handle, str(state.instance.path), state.decoder, sink)
        state.reader.start()
        if state.tracer is not None and state.tracer.at_top_level:
            decoder = self._decoder(state)
            state.top_reader = self._reader(handle, str(self.fs.root), decoder, sink, "top")
            state.top_reader.start()
        if state.command is not None:
            self._watch_command(state, sink)
        # now that this worker's threads exist, exclude them too (a reader tracing its own
        # reads would feed on itself)
        self._exclude_threads(state, self.ctx.exclude_pids)
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
        handle: EngineHandle,
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

    def _watch_command(self, state: TracefsState, sink: EventSink) -> None:
        command = state.command
        assert command is not None
        pid = command.pid

        reader = state.reader

        def output(stream: str, text: str, ts_ns: int) -> None:
            # stamped on the session clock and merged with the records in time order
            if reader is not None and reader.clock.name != "mono":
                ts_ns += reader.clock.now_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            event = output_event(stream, text, ts_ns, pid)
            if reader is None or not reader.inject([event]):
                sink.emit([event])

        command.watch_output(output)
        threading.Thread(
            target=self._wait_command, args=(state, sink), name=f"command-{pid}", daemon=True
        ).start()

    def _wait_command(self, state: TracefsState, sink: EventSink) -> None:
        command = state.command
        assert command is not None
        status = command.wait()
        command.join_output()
        if not state.stopped:
            sink.ended(status, "the command exited")

    def stop(self, handle: EngineHandle) -> None:
        state: TracefsState | None = handle.state
        if state is None or state.stopped:
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
        self._end_command(state)
        self._remove(state)
        if state.top_reader is not None and state.sink is not None:
            state.top_reader.finish(READER_IDLE_TIMEOUT_S)
        if state.reader is not None and state.sink is not None:
            # then the backlog, as long as it makes progress (the daemon may store slowly)
            self._finish_reader(state.reader, state.sink, kernel_loss)

    @staticmethod
    def _finish_reader(reader: TracefsReader, sink: EventSink, kernel_loss: int | None) -> None:
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

    def _end_command(self, state: TracefsState) -> None:
        if state.command is None:
            return
        state.command.terminate()
        if state.command_key is not None and self.ledger is not None:
            self.ledger.cross_off(state.command_key)
            state.command_key = None

    def _remove(self, state: TracefsState) -> None:
        ledger = self.ledger
        if state.instance.exists():
            state.instance.remove()
        if state.instance_key is not None and ledger is not None:
            ledger.cross_off(state.instance_key)
            state.instance_key = None
        if state.dynamic is not None:
            state.dynamic.remove_all()

    def marker(self, handle: EngineHandle, text: str) -> bool:
        state: TracefsState = handle.state
        state.instance.marker(text)
        return True

    def read_maps(self, handle: EngineHandle) -> Mapping[str, Any]:
        return {}
