"""The session's own tracefs instance, set up for its spec (the engine's `prepare`).

In order: the instance (recorded first), its clock and buffer size, the tracer, the
dynamic events of the session's group, the excluded threads, the events and their filters,
`record-tgid`, then the launched command or the pid filter, and the tracer enabled last
(no reader may hold trace_pipe_raw yet: EBUSY). All kernel I/O goes through
`kernel.tracefs`; kernel-interfaces.md section 5 has the caveats.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import CapabilityMissing, KernelRejected
from ...kernel.proc import thread_ids
from ...kernel.tracefs import Instance, Tracefs, read_file
from ...specs import TracefsSpec
from ..base import Ledger
from ..launch import LaunchedCommand
from .decode import PageDecoder
from .dynamic import DynamicEvents
from .reader import load_registry
from .registry import dynamic_event_kinds
from .session import TracefsState
from .tasks import TaskResolver
from .tracers import TracerSetup

BUFFER_PERCENT = 25


def check_caps(caps: Mapping[str, Any], spec: TracefsSpec) -> None:
    """CapabilityMissing for a probe kind or tracer the capability probe found unusable."""
    tracefs_caps = caps.get("tracefs", {})
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


class InstanceSetup:
    """Arms one session's instance; the engine releases what it created on a failure."""

    def __init__(
        self,
        fs: Tracefs,
        resource_name: str,
        caps: Mapping[str, Any],
        exclude_pids: Sequence[int],
        ledger: Ledger,
    ) -> None:
        self.fs = fs
        self.resource_name = resource_name
        self.caps = caps
        self.exclude_pids = exclude_pids
        self.ledger = ledger

    def arm(self, spec: TracefsSpec, state: TracefsState) -> None:
        inst = state.instance
        state.instance_key = self.ledger.record("tracefs_instance", inst.name)
        inst.create()
        inst.write("tracing_on", "0")
        _set_buffers(spec, inst)
        if spec.tracer != "nop":
            state.tracer = TracerSetup(self.fs, inst, spec, self.caps, self.ledger)
            state.tracer.configure()
        if spec.uprobes or spec.kprobes:
            state.dynamic = DynamicEvents(self.fs, self.resource_name, self.ledger)
            for ref, display in state.dynamic.define(spec.uprobes, spec.kprobes):
                state.events.append(ref)
                state.display[ref.rel] = display
        exclude_threads(state, self.exclude_pids)
        for ref in state.events:
            inst.set_event_enabled(ref, True)
        self._set_filters(spec, state)
        inst.set_option("record-tgid", True)
        if spec.command:
            self._launch(spec.command, spec, state)
        elif spec.pids:
            _set_pid_filter(inst, spec.pids, spec.follow_forks, state.tracer)
        else:
            # not event-fork here: it would also exclude every later child of the daemon and
            # its workers (e.g. another session's launched command) from a system-wide view
            inst.set_option("event-fork", False)
        if state.tracer is not None:
            state.tracer.enable()  # last: no reader may hold trace_pipe_raw yet (EBUSY)

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

    def _launch(self, argv: list[str], spec: TracefsSpec, state: TracefsState) -> None:
        command = LaunchedCommand(argv, cwd=spec.cwd, env=spec.env, user=spec.user)
        state.command = command
        state.command_key = command.spawn_recorded(self.ledger)
        _set_pid_filter(state.instance, [command.pid], spec.follow_forks, state.tracer)


def _set_buffers(spec: TracefsSpec, inst: Instance) -> None:
    try:
        inst.write("trace_clock", spec.clock)
        if spec.buffer_size_kb is not None:
            inst.write("buffer_size_kb", str(spec.buffer_size_kb))
    except OSError as exc:
        raise KernelRejected(f"cannot set clock/buffer size: {exc.strerror}") from exc
    # readers poll with a timeout and read partial pages: a watermark saves wake-ups
    inst.write("buffer_percent", str(BUFFER_PERCENT))


def _set_pid_filter(
    inst: Instance, pids: list[int], follow: bool, tracer: TracerSetup | None
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


def exclude_threads(state: TracefsState, pids: Sequence[int]) -> None:
    """Every thread of the daemon, the workers and this worker: never traced."""
    tids: set[int] = set()
    for pid in (*pids, os.getpid()):
        tids.update(thread_ids(pid))
    state.instance.set_pids("set_event_notrace_pid", sorted(tids))
    if state.tracer is not None:  # set_ftrace_* refuse writes without function tracing
        state.tracer.exclude(sorted(tids))


def page_decoder(fs: Tracefs, state: TracefsState, with_tracer: bool = True) -> PageDecoder:
    """Decode plans for every enabled event (and the tracer's records, in the buffer they
    land in), from this boot's format files."""
    kinds = None
    if state.dynamic is not None:
        kinds = dynamic_event_kinds(read_file(fs.root / "dynamic_events"))
    names = [e.full for e in state.events]
    if with_tracer and state.tracer is not None:
        names += state.tracer.event_names
    registry = load_registry(str(fs.root), names, kinds)
    return PageDecoder(registry, TaskResolver(tracefs_root=str(fs.root)))
