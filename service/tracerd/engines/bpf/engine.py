"""BpfEngine: `kind: "bpf"` sessions — catalogue tools, custom BCC programs, bpftrace
scripts — run inside the session's worker process (BCC is never imported by the daemon).

Mechanism: `prepare` builds the program (codegen: catalogue tool or wrapped custom C),
compiles, loads and attaches it (loader; ~0.2–0.6 s, off the request path) or launches
bpftrace (bpftrace); `start` runs the poller; `stop` detaches, drains, sends the final
maps and loss total, unloads. Filters: `pid` and `comm` are applied in the kernel, and so
is the exclusion of the daemon and the workers (`ctx.exclude_pids`, this worker's pid,
and the bpftrace child's): a tgid check at the top of every program we generate or wrap.

Why nothing stays loaded: BCC 0.26 attaches tracepoints, raw tracepoints, uprobes (perf
`uprobe` PMU) and perf events through fds held by this process, and bpftrace's programs
are held by the bpftrace child, which gets SIGKILL when the worker dies (PDEATHSIG).
After `stop`, a worker SIGKILL or a daemon SIGKILL (the worker has PDEATHSIG too) the
kernel closes those fds and unloads the programs. The exception is BCC's fallback to
tracefs `uprobe_events`/`kprobe_events` definitions (no perf PMU, or kretprobes with
maxactive): those outlive the process, so a `bpf_tracefs_probe` ledger row (`_bcc_<pid>`)
is written before any uprobe/kprobe attach and the daemon's reconcile removes leftovers.

Ledger rows: `bpf_program` (name = function, data.prog_id as `bpftool prog show` shows it)
written after loading and before attaching, `bpf_tracefs_probe`, `bpftrace_child` (pid +
start time, before bpftrace runs); all crossed off once released.

Map contents (read_maps, sink.maps): `{"type": "hist", "unit", "buckets": [{low, high,
count}]}` (keyed: `"entries": [{"key", "buckets"}]`), `{"type": "map", "entries": [{"key",
"value"}]}`, `{"type": "stacks", "entries": [...], "folded": ["comm;f1;f2 N", ...]}`,
`{"type": "value", "value": ...}` (bpftrace scalars and stats).
Custom programs: the exclusion check is injected at the top of each attached function
(codegen); where a definition is not found, `info.notes` says so.

Requirements: root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN), BCC from the distribution
(python3-bpfcc) and kernel headers of any version (no struct layout is taken from them),
ring buffers (Linux 5.8+), /sys/kernel/btf/vmlinux for tools that read task_struct or
tcp_sock fields, bpftrace for scripts. Overhead: compiling takes 0.2-0.6 s (in `prepare`);
about 1 µs of worker CPU per event on the per-event path; in-kernel aggregation costs the
traced program what BCC's own tools cost. Measured (bench/bpf_events.py, 2-vCPU VM):
1.1 M events/s end to end on a getppid flood with 32-byte records (2.5 M/s draining a full
ring), 1.15 M opensnoop events per worker CPU-second, 2.5x bpftrace's printf rate on the
same openat flood; syscount slows a getppid flood 1.88x where BCC's syscount does 2.05x.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ...errors import CapabilityMissing, TracerdError
from ...kernel.btf import offsets
from ...specs import BpfSpec
from ..base import Engine, EngineContext, EngineHandle, EventSink, Ledger, wall_offset_ns
from ..launch import process_start_time
from .codegen import Filters, plan_for_spec
from .plan import SESSION_CLOCK, ProgramPlan
from .tools.meta import get_tool
from .variants import bpf_capability, choose_attach

if TYPE_CHECKING:
    from .bpftrace import Options

log = logging.getLogger(__name__)


class Session(Protocol):
    """What the engine asks of its session: a BccSession (session.py) or a BpftraceSession
    (bpftrace.py), each imported only when used (bcc stays out of the daemon)."""

    def start(self, sink: EventSink) -> None: ...

    def stop(self) -> None: ...

    def read_maps(self) -> Mapping[str, Any]: ...

    def info(self) -> dict[str, Any]: ...

    def resources(self) -> list[dict[str, Any]]: ...


PROBED_AS = {"kretprobe": "kprobe", "uretprobe": "uprobe"}
"""attach types the capability probe answers for through another"""


class BpfEngine:
    """The `bpf` engine of one session's worker."""

    kind: ClassVar[str] = "bpf"

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def _exclude_procs(self) -> tuple[tuple[int, int | None], ...]:
        """(pid, start time) of the daemon, the running workers and this worker; a pid the
        daemon sent without its start time is looked up (None if it has ended)."""
        known: dict[int, int | None] = dict(self._ctx.exclude_procs)
        for pid in (*self._ctx.exclude_pids, self._ctx.daemon_pid, os.getpid()):
            if pid not in known:
                known[pid] = process_start_time(pid)
        return tuple(sorted(known.items()))

    def prepare(self, spec: BpfSpec, ledger: Ledger) -> EngineHandle[Session]:
        """Compile, load and attach (or launch bpftrace); raise CompileError & co on failure,
        with nothing left loaded."""
        session: Session
        if spec.bpftrace is not None:
            from .bpftrace import BpftraceSession

            session = BpftraceSession(
                self._ctx.session_id,
                spec.bpftrace,
                ledger,
                self._ctx.spool_dir,
                exclude=self._exclude_procs(),
                pid=spec.pid,
                comm=spec.comm,
                map_interval_s=spec.map_interval_s,
                options=_bpftrace_options(spec),
                stop_timeout_s=self._ctx.limits.stop_timeout_s,
            )
            session.launch()
        else:
            self._check_caps(spec)
            session = self._load_first(self._plans(spec), ledger)
        return EngineHandle(
            clock=SESSION_CLOCK,
            wall_offset_ns=wall_offset_ns(time.CLOCK_MONOTONIC),
            info=session.info(),
            resources=session.resources(),
            state=session,
        )

    def _check_caps(self, spec: BpfSpec) -> None:
        """Refuse attach types the capability probe found unusable, with its reason."""
        for attach in spec.attach:
            cap = bpf_capability(self._ctx.caps, PROBED_AS.get(attach.type, attach.type))
            if cap is not None and cap.get("usable") is False:
                raise CapabilityMissing(f"bpf.{attach.type}", cap.get("reason"))

    def _plans(self, spec: BpfSpec) -> list[ProgramPlan]:
        """The plans to try, best first: a tool's variants the kernel allows (variants.py),
        then its own attachments; a custom program's one plan."""
        procs = self._exclude_procs()
        filters = Filters(
            tuple(p for p, _s in procs),
            spec.pid,
            spec.comm,
            starts=tuple((p, s) for p, s in procs if s is not None),
            start_check=_start_check(),
        )
        memory = self._ctx.limits.raw_memory_bytes
        if spec.tool is None:
            return [plan_for_spec(spec, filters, memory, offsets)]
        choice = choose_attach(get_tool(spec.tool), self._ctx.caps)
        last = choice.order[-1]
        return [
            replace(
                plan_for_spec(spec, filters, memory, offsets, None if way == last else way),
                attach_skipped=choice.skipped,
            )
            for way in choice.order
        ]

    def _load_first(self, plans: list[ProgramPlan], ledger: Ledger) -> Session:
        """Load the first plan that compiles, loads and attaches; a failed variant is told
        in `info.attach_skipped` (nothing of it stays loaded), the last plan's error raised."""
        from .session import BccSession

        skipped = list(plans[0].attach_skipped)
        for i, plan in enumerate(plans):
            session = BccSession(
                self._ctx.session_id,
                replace(plan, attach_skipped=tuple(skipped)),
                ledger,
                self._ctx.limits,
            )
            try:
                session.load()
                return session
            except TracerdError as e:
                if i == len(plans) - 1:
                    raise
                log.warning(
                    "%s through %s failed, falling back: %s", plan.name, plan.attach_mode, e
                )
                skipped.append((plan.attach_mode or "?", f"failed to load: {e.message}"))
        raise AssertionError("no plan to load")

    def start(self, handle: EngineHandle[Session], sink: EventSink) -> None:
        """Start the poller (or the bpftrace reader) and publish the program ids."""
        handle.state.start(sink)
        sink.info(handle.info)

    def stop(self, handle: EngineHandle[Session]) -> None:
        """Detach, drain, final maps and loss total, unload. Idempotent, bounded."""
        handle.state.stop()

    def exclude(self, handle: EngineHandle[Session], pids: Sequence[int]) -> None:
        """Nothing to do: this kind never sees the daemon's or the workers' threads."""

    def marker(self, handle: EngineHandle[Session], text: str) -> bool:
        return False

    def read_maps(self, handle: EngineHandle[Session]) -> Mapping[str, Any]:
        """Current map contents (the final ones after stop)."""
        return handle.state.read_maps()


def _bpftrace_options(spec: BpfSpec) -> Options:
    from .bpftrace import Options

    o = spec.bpftrace_options
    if o is None:
        return Options()
    return Options(
        format=o.format,
        cwd=o.cwd,
        params=tuple(o.params),
        target_pid=o.target_pid,
        command=o.command,
        helper_errors=o.helper_errors,
        verbose=o.verbose,
        env=dict(o.env),
    )


def _start_check() -> tuple[int, int, int] | None:
    """Offsets of task_struct.group_leader and .start_boottime and ns per clock tick, for
    programs to check an excluded process's start time (None without BTF: pid alone)."""
    try:
        found = offsets(("task_struct.group_leader", "task_struct.start_boottime"))
    except CapabilityMissing:
        return None
    tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    return (
        found["task_struct.group_leader"].offset,
        found["task_struct.start_boottime"].offset,
        tick,
    )


_CHECKED: type[Engine[BpfSpec, Session]] = BpfEngine
"""mypy checks the class against the engine contract with this kind's spec and state"""
