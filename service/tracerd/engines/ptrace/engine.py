"""The `ptrace` engine: strace-like syscall tracing of a pid or a launched command.

Mechanism: a tracer thread in the session's worker process (never in the daemon) seizes
every thread of a pid (PTRACE_SEIZE, then PTRACE_INTERRUPT at start) or launches the
command through the held-back stub (engines/launch.py) and seizes it before it execs, so
nothing after exec is missed. Syscalls are read with PTRACE_GET_SYSCALL_INFO and decoded
as strace does (plans.py, structs.py, flags.py) against the running kernel's syscall
prototypes (syscalls.py); one event per syscall at its exit (design.md).

Requirements: Linux >= 5.3 on x86-64, CAP_SYS_PTRACE; seccomp acceleration needs
CONFIG_SECCOMP_FILTER; breakpoints on attached pids need tracefs uprobe events.

seccomp (`seccomp: auto|on|off`, launched commands only): a cBPF filter (seccomp.py,
shown in the session info) stops the command only on traced syscalls. `auto` turns it on
when there is a syscall filter and follow_forks is set; `on` without follow_forks is
refused, because a child nobody traces would see its filtered syscalls fail with ENOSYS.
For the same reason a seccomp-accelerated command cannot outlive its tracer: stopping the
session ends every launched command (SIGTERM to its process group, SIGKILL after a grace
period), as `strace --seccomp-bpf` does. PTRACE_O_EXITKILL and the stub's PDEATHSIG also
kill it if the worker dies. Installing the filter sets no_new_privs: set-user-ID programs
run by such a command do not gain privileges. Attached pids are never EXITKILLed: when
the worker dies the kernel detaches them and they run on.

Stop: attached tracees are interrupted and detached (pending signals re-injected; a
process in group-stop stays stopped as it would untraced); a call still blocked is emitted
with `ret` null and text `= ?`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import BadRequest
from ...specs import PtraceSpec
from ..base import Engine, EngineContext, EngineHandle, EventSink, Ledger, wall_offset_ns
from ..launch import LaunchedCommand
from . import seccomp
from . import tracer as pt
from .decode import EventBuilder
from .plans import FdOptions, build_plans
from .reader import TraceLoop
from .session import PtraceSession
from .syscalls import kernel_table

if TYPE_CHECKING:
    from .breakpoints import Breakpoints

__all__ = ["PtraceEngine"]


def traced_paths(given: list[str]) -> frozenset[str]:
    """strace -P: each path as given, plus the realpath of an absolute one that exists
    where that differs (strace adds it too; the CLI resolves relative ones in the caller's
    directory and sends both)."""
    out = set(given)
    for path in given:
        if os.path.isabs(path):
            with contextlib.suppress(OSError):
                out.add(os.path.realpath(path, strict=True))
    return frozenset(out)


def wants_seccomp(spec: PtraceSpec) -> bool:
    """The seccomp decision for a spec (BadRequest for `on` without follow_forks)."""
    if spec.command is None or spec.seccomp == "off":
        return False
    if spec.seccomp == "on":
        if not spec.follow_forks:
            raise BadRequest(
                "seccomp needs follow_forks: untraced children would see ENOSYS",
                {"seccomp": "on", "follow_forks": False},
            )
        return True
    return bool(spec.syscalls) and bool(spec.follow_forks)


class PtraceEngine:
    kind: ClassVar[str] = "ptrace"

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    def prepare(self, spec: PtraceSpec, ledger: Ledger) -> EngineHandle[PtraceSession]:
        """Validate, then attach to the pid or spawn the held-back command (no events yet)."""
        table = kernel_table()
        selected = table.select(spec.syscalls)
        use_seccomp = wants_seccomp(spec)
        offset = wall_offset_ns(1)
        info: dict[str, Any] = {}
        resources: list[dict[str, Any]] = []
        program: bytes | None = None
        if use_seccomp:
            insns = seccomp.build(selected if selected is not None else table.by_nr)
            program = seccomp.assemble(insns)
            info["seccomp_program"] = seccomp.disassemble(insns)
        paths = traced_paths(spec.paths)
        plans = build_plans(table, spec.string_limit, FdOptions(spec.fd_paths, paths))
        loop = TraceLoop(
            plans,
            selected,
            EventBuilder(plans, spec.string_limit, paths),
            seccomp=use_seccomp,
            batch_events=self.ctx.limits.batch_events,
            follow_forks=spec.follow_forks,
        )
        options = pt.O_TRACESYSGOOD | pt.O_TRACEEXEC
        if spec.follow_forks or (spec.breakpoints and spec.command is not None):
            # int3s are inherited: new threads and children must be traced to survive them
            options |= pt.O_TRACEFORK | pt.O_TRACEVFORK | pt.O_TRACECLONE
        if use_seccomp:
            options |= pt.O_TRACESECCOMP
        breakpoints = self._breakpoints(spec, ledger, resources)
        if spec.command is not None:
            command = LaunchedCommand(
                spec.command,
                cwd=spec.cwd,
                env=spec.env,
                user=spec.user,
                seccomp_program=program,
            )
            session = PtraceSession(self.ctx, loop, options, lambda s: s.launch(command, ledger))
        elif spec.pid is not None:
            pid = spec.pid
            session = PtraceSession(self.ctx, loop, options, lambda s: s.attach(pid, ledger))
        else:  # the spec's validator already asks for one of them
            raise BadRequest("give exactly one of pid and command")
        session.ledger = ledger
        if breakpoints is not None:
            breakpoints.install(session)
        session.open()
        info["seccomp"] = use_seccomp
        if spec.command is None:
            resources.append({"type": "ptrace_attach", "name": str(spec.pid)})
        else:
            resources.append({"type": "launched_command", "name": spec.command[0]})
            if session.launched is not None:
                info["command_pid"] = session.launched.pid
        return EngineHandle(
            session, clock="mono", wall_offset_ns=offset, info=info, resources=resources
        )

    def _breakpoints(
        self, spec: PtraceSpec, ledger: Ledger, resources: list[dict[str, Any]]
    ) -> Breakpoints | None:
        if not spec.breakpoints:
            return None
        from .breakpoints import Breakpoints

        return Breakpoints(self.ctx, spec.breakpoints, ledger, resources, attached=spec.pid)

    def start(self, handle: EngineHandle[PtraceSession], sink: EventSink) -> None:
        """Interrupt the tracees and trace syscalls; release a launched command."""
        if "seccomp_program" in handle.info:
            sink.info({"seccomp_program": handle.info["seccomp_program"]})
        handle.state.start(sink)

    def stop(self, handle: EngineHandle[PtraceSession]) -> None:
        """Detach from attached tracees / end a launched command; idempotent, bounded."""
        handle.state.stop()

    def exclude(self, handle: EngineHandle[PtraceSession], pids: Sequence[int]) -> None:
        """Nothing to do: this kind never sees the daemon's or the workers' threads."""

    def marker(self, handle: EngineHandle[PtraceSession], text: str) -> bool:
        return False

    def read_maps(self, handle: EngineHandle[PtraceSession]) -> Mapping[str, Any]:
        return {}


_CHECKED: type[Engine[PtraceSpec, PtraceSession]] = PtraceEngine
"""mypy checks the class against the engine contract with this kind's spec and state"""
