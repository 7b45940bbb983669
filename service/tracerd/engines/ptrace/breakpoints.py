"""Breakpoints on symbols: int3 in launched commands, uprobes on attached pids.

Launched commands (gdb's mechanism): at the exec stop the binary is mapped, so its symbols
get an int3 (0xCC) at once; symbols of libraries get theirs when the program reaches its
entry point (AT_ENTRY, a temporary breakpoint), by which time ld.so has mapped the
DT_NEEDED libraries (libraries dlopen()ed later are not covered). A hit is a SIGTRAP
signal-delivery-stop with rip one past the int3: the `breakpoint` event records the symbol
and the first six integer arguments (rdi, rsi, rdx, rcx, r8, r9), then the original byte is
put back, rip rewound, the thread single-stepped with the other threads of its process held
(PTRACE_INTERRUPT; their stops are handled afterwards), and the int3 re-inserted. Children
forked by a traced process inherit the int3s; a child that is not followed has them removed
before it is detached.

Attached pids never get an int3 (a killed worker would leave it behind): a uprobe event in
the session's own group and tracefs instance does the job (uprobes.py); the kernel
single-steps out of line and drops the breakpoint with the process.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from ...errors import BadRequest
from ...kernel import elf
from ...types import WireEvent
from ..base import EngineContext, Ledger
from . import tracer as pt

if TYPE_CHECKING:
    from .reader import Tracee, TraceLoop
    from .session import PtraceSession

log = logging.getLogger(__name__)

INT3 = b"\xcc"
ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
ENTRY = "<entry>"


def breakpoint_event(
    ts_ns: int, pid: int | None, tid: int, comm: str | None, symbol: str, addr: int, args: list[int]
) -> WireEvent:
    shown = ", ".join(hex(a) for a in args)
    fields = {
        "symbol": symbol,
        "address": hex(addr),
        "args": args,
        "text": f"breakpoint {symbol}({shown})",
    }
    return WireEvent(ts_ns, None, pid, tid, comm, "breakpoint", fields)


class Int3Breakpoints:
    """Software breakpoints in launched commands; all calls come from the tracer thread."""

    def __init__(self, symbols: list[str], loop: TraceLoop) -> None:
        self.symbols = symbols
        self.loop = loop
        self.table: dict[int, dict[int, tuple[str, bytes]]] = {}
        """tgid -> {address: (symbol, original byte)}"""
        self.missing: dict[int, list[str]] = {}
        self.hits = 0

    def hook(self) -> None:
        self.loop.on_exec = self.on_exec
        self.loop.on_trap = self.on_trap
        self.loop.on_fork = self.on_fork
        self.loop.on_foreign = self.on_foreign

    def _insert(self, t: Tracee, symbol: str, addr: int) -> None:
        try:
            old = pt.write_memory_word(t.tid, addr, INT3)
        except pt.PtraceError as exc:
            log.warning("cannot insert a breakpoint on %s at %#x: %s", symbol, addr, exc)
            return
        self.table.setdefault(t.pid or t.tid, {})[addr] = (symbol, old)

    def on_exec(self, t: Tracee) -> None:
        tgid = t.pid or t.tid
        self.table[tgid] = {}
        try:
            exe = os.readlink(f"/proc/{t.tid}/exe")
        except OSError:
            return
        found = elf.resolve(t.tid, self.symbols, [exe])
        for loc in found:
            if loc.address is not None:
                self._insert(t, loc.symbol, loc.address)
        done = {loc.symbol for loc in found if loc.address is not None}
        self.missing[tgid] = [s for s in self.symbols if s not in done]
        entry = elf.entry_point(t.tid)
        if self.missing[tgid] and entry is not None:
            self._insert(t, ENTRY, entry)

    def on_fork(self, parent: Tracee, child: Tracee) -> None:
        if child.pid != parent.pid and parent.pid in self.table:
            self.table[child.pid or child.tid] = dict(self.table[parent.pid or parent.tid])

    def on_foreign(self, t: Tracee) -> None:
        for addr, (_symbol, old) in self.table.pop(t.pid or t.tid, {}).items():
            try:
                pt.write_memory_word(t.tid, addr, old)
            except pt.PtraceError as exc:
                log.warning("cannot remove a breakpoint from %d: %s", t.tid, exc)

    def on_trap(self, t: Tracee) -> bool:
        table = self.table.get(t.pid or t.tid)
        if not table:
            return False
        regs = pt.get_regs(t.tid)
        addr = regs.rip - 1
        hit = table.get(addr)
        if hit is None:
            return False
        symbol, old = hit
        if symbol == ENTRY:
            pt.write_memory_word(t.tid, addr, old)
            del table[addr]
            regs.rip = addr
            pt.set_regs(t.tid, regs)
            self._insert_libraries(t)
            pt.restart(self.loop._restart_request(t), t.tid)
            return True
        self.hits += 1
        args = [getattr(regs, r) for r in ARG_REGS]
        comm = self.loop.renderer._comm(t)
        self.loop.add_event(
            breakpoint_event(time.monotonic_ns(), t.pid, t.tid, comm, symbol, addr, args)
        )
        self._step_over(t, regs, addr, old)
        return True

    def _insert_libraries(self, t: Tracee) -> None:
        tgid = t.pid or t.tid
        for loc in elf.resolve(t.tid, self.missing.pop(tgid, [])):
            if loc.address is not None:
                self._insert(t, loc.symbol, loc.address)

    def _step_over(self, t: Tracee, regs: Any, addr: int, old: bytes) -> None:
        held = self._hold_others(t)
        pt.write_memory_word(t.tid, addr, old)
        regs.rip = addr
        pt.set_regs(t.tid, regs)
        pending_sig = 0
        pt.restart(pt.PTRACE_SINGLESTEP, t.tid)
        _pid, status = os.waitpid(t.tid, pt.WALL)
        if os.WIFSTOPPED(status):
            sig = os.WSTOPSIG(status)
            if sig != 5 and status >> 16 == 0:
                pending_sig = sig  # a signal arrived instead of the step: deliver it after
            pt.write_memory_word(t.tid, addr, INT3)
            pt.restart(self.loop._restart_request(t), t.tid, pending_sig)
        else:
            self.loop.deferred.append((t.tid, status))
        self.loop.deferred.extend(held)

    def _hold_others(self, t: Tracee) -> list[tuple[int, int]]:
        """Stop the other threads of t's process; their stops, to handle afterwards."""
        others = [o.tid for o in self.loop.tracees.values() if o.pid == t.pid and o is not t]
        held = []
        for tid in others:
            try:
                pt.interrupt(tid)
            except pt.PtraceError:
                continue
            held.append(os.waitpid(tid, pt.WALL))
        return held


class Breakpoints:
    """The engine's breakpoint set-up: int3 for launched commands, uprobes for pids."""

    def __init__(
        self,
        ctx: EngineContext,
        symbols: list[str],
        ledger: Ledger,
        resources: list[dict[str, Any]],
        attached: int | None,
    ) -> None:
        self.ctx = ctx
        self.symbols = symbols
        self.ledger = ledger
        self.resources = resources
        """the session's resources as its handle shows them"""
        self.attached = attached

    def install(self, session: PtraceSession) -> None:
        if self.attached is None:
            Int3Breakpoints(self.symbols, session.loop).hook()
            return
        from .uprobes import UprobeBreakpoints

        locations = elf.resolve(self.attached, self.symbols)
        missing = sorted(set(self.symbols) - {loc.symbol for loc in locations})
        if missing:
            raise BadRequest(
                f"symbols not found in pid {self.attached}: {', '.join(missing)}",
                {"symbols": missing},
            )
        uprobes = UprobeBreakpoints(self.ctx, self.ledger, self.attached, locations)
        uprobes.create()
        session.uprobes = uprobes
        self.resources.append({"type": "tracefs_instance", "name": uprobes.instance})
