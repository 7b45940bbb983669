"""The tracer thread's loop: wait for stops, classify, fetch, restart, then render.

Mechanism: one OS thread attaches (PTRACE_SEIZE) or spawns the launched command, and does
every ptrace request and wait (kernel-interfaces 3.9). It waits with
`waitpid(-1, __WALL | __WNOTHREAD)`: only its own tracees and the children it forked are
reported, never the worker's other children. Each stop costs one waitpid, one
PTRACE_GET_SYSCALL_INFO and one restart; tracee memory is read on the stop path only where
the syscall's plan says so (plans.py); rendering happens after the restart, while the
tracee runs. Events go to a list that `flush()` hands to the sink in batches (the engine's
flusher thread calls it on a timer, the loop when a batch is full).

Control requests from other threads (start, stop) wake the loop through a child that
exits on request (waker.py), so the loop never polls; the loop then runs the request
(ptrace requests must come from this thread).

Stops (3.4): syscall stops (SIGTRAP|0x80; op from GET_SYSCALL_INFO; seccomp stops from
PTRACE_EVENT_SECCOMP), fork/vfork/clone events (new tracees, tagged with their tgid),
exec (the thread id may change), group-stops (PTRACE_LISTEN, so SIGSTOP behaves as
untraced), interrupt stops, and signal-delivery-stops (recorded, then re-injected).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ...types import WireEvent
from . import plans
from . import tracer as pt
from .decode import EventBuilder
from .plans import Plan
from .waker import Waker

log = logging.getLogger(__name__)

_WAIT_FLAGS = pt.WALL | pt.WNOTHREAD
_STOP_SIGNALS = frozenset({signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU})
_EXECVE_NRS = frozenset({59, 322})
_RT_SIGRETURN = 15
_RESTART_SYSCALL = 219
_NO_RETURN_NRS = frozenset({60, 231})
"""exit, exit_group"""
STOP_GRACE_S = 2.0
_SYSCALL_STOP_STATUS = pt.SYSCALL_STOP_SIG << 8 | 0x7F
_SECCOMP_STOP_STATUS = pt.EVENT_SECCOMP << 16 | signal.SIGTRAP << 8 | 0x7F
_ARCH = pt.AUDIT_ARCH_X86_64
_PTRACE_SYSCALL = pt.PTRACE_SYSCALL
_PTRACE_CONT = pt.PTRACE_CONT
_ptrace = pt._ptrace
_syscall_info = pt.syscall_info
_monotonic_ns = time.monotonic_ns


class Tracee:
    __slots__ = ("call", "comm", "foreign", "mark", "pid", "prelude", "prev", "quiet", "tid")

    def __init__(
        self, tid: int, pid: int | None, prelude: bool = False, quiet: bool = False
    ) -> None:
        self.tid = tid
        self.pid = pid
        self.comm: str | None = None
        self.call: list[Any] | None = None
        """[nr, args, ts_ns, entry fetched]: a selected syscall in flight"""
        self.mark = 0
        self.prelude = prelude
        """a launched stub that has not exec'd yet: only its execve is shown"""
        self.quiet = quiet
        """traced for breakpoints only (a new thread without follow_forks): no events"""
        self.foreign = False
        """a new process without follow_forks: cleaned of breakpoints and detached"""
        self.prev = 0
        """the syscall number of its previous entry: what a restart_syscall resumes (0, read,
        before any, as strace 6.1 names it for a tracee it just attached)"""


class TraceLoop:
    """One session's tracer state; `run()` is the body of the tracer thread."""

    def __init__(
        self,
        plans: dict[int, Plan],
        selected: frozenset[int] | None,
        renderer: EventBuilder,
        *,
        seccomp: bool,
        batch_events: int,
        follow_forks: bool = True,
    ) -> None:
        self.follow_forks = follow_forks
        self.plans = plans
        self.selected = selected
        self.renderer = renderer
        self.seccomp = seccomp
        self.batch_events = batch_events
        self.tracees: dict[int, Tracee] = {}
        self.waker = Waker()
        self.started = False
        self.stopping = False
        self.stop_deadline = 0.0
        self.launched: Any = None
        """LaunchedCommand or None"""
        self.exit_status: dict[str, Any] | None = None
        self.requests: list[str] = []
        self._killer: threading.Timer | None = None
        self.deferred: list[tuple[int, int]] = []
        """wait statuses collected out of order (breakpoint step-over), handled first"""
        self.pending: list[WireEvent] = []
        self.unannounced: dict[int, Tracee] = {}
        """tracees in a call whose entry no other event has followed yet: the first event of
        another tracee prints their `<unfinished ...>` entry first, as strace does"""
        self.emitted = 0
        self.stops = 0
        self.lock = threading.Lock()
        self.sink_emit: Callable[[list[WireEvent]], None] | None = None
        self.on_exec: Callable[[Tracee], None] | None = None
        self.on_trap: Callable[[Tracee], bool] | None = None
        """breakpoints: True when a SIGTRAP was ours (consumed)"""
        self.on_fork: Callable[[Tracee, Tracee], None] | None = None
        self.on_foreign: Callable[[Tracee], None] | None = None
        """breakpoints: remove them from a process about to be detached"""

    # -- requests from other threads ------------------------------------------------------

    def request(self, what: str) -> None:
        with self.lock:
            self.requests.append(what)
        self.waker.wake()

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
            if batch and self.sink_emit is not None:
                self.sink_emit(batch)
            elif batch:
                self.pending = batch

    def add_event(self, event: WireEvent) -> None:
        """An event of the trace loop: it splits calls of other tracees in progress (their
        entry half goes first, as strace prints it)."""
        if self.unannounced:
            self._announce(event.tid)
        with self.lock:
            self.pending.append(event)
        self.emitted += 1

    def _announce(self, tid: int | None) -> None:
        for other in [t for t in self.unannounced.values() if t.tid != tid]:
            del self.unannounced[other.tid]
            if other.call is not None:
                entry = self.renderer.unfinished(other, other.call)
                with self.lock:
                    self.pending.append(entry)
                self.emitted += 1
                other.call.append(True)  # announced: its final event prints only the rest

    def add_side_event(self, event: WireEvent) -> None:
        """An event from another thread (command output, uprobe hits): queued, but it splits
        no call (strace prints no such line between a call's entry and exit)."""
        with self.lock:
            self.pending.append(event)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        self.waker.arm()
        waitpid = os.waitpid
        tracees = self.tracees
        fast = self._fast_syscall_stop
        while tracees or not self.started:
            if self.deferred:
                wpid, status = self.deferred.pop(0)
            else:
                try:
                    wpid, status = waitpid(-1, _WAIT_FLAGS)
                except ChildProcessError:
                    break
            self.stops += 1
            t = tracees.get(wpid)
            # hot path: a syscall stop of a known tracee while tracing (status 0x857f)
            if (
                t is not None
                and (status & 0xFFFF == _SYSCALL_STOP_STATUS or status == _SECCOMP_STOP_STATUS)
                and fast(t)
            ):
                continue
            if wpid == self.waker.pid:
                self._on_wake()
                continue
            if t is None:
                if not os.WIFSTOPPED(status):
                    continue  # a non-tracee child of this thread (e.g. a reaped helper)
                t = self._adopt(wpid)
            try:
                if os.WIFSTOPPED(status):
                    self._on_stop(t, status)
                else:
                    self._on_exit(t, status)
            except pt.PtraceError as exc:
                if exc.errno != 3:  # ESRCH: the tracee was killed meanwhile
                    raise
            if len(self.pending) >= self.batch_events:
                self.flush()
        if self._killer is not None:
            self._killer.cancel()
            self._killer.join()
        self.waker.wake()
        self._reap_waker()
        self.flush()

    def _fast_syscall_stop(self, t: Tracee) -> bool:
        """Entry/exit/seccomp stop of an ordinary tracee; False to take the slow path."""
        if self.stopping or t.foreign or t.quiet or not self.started:
            return False
        now = _monotonic_ns()
        tid = t.tid
        op, arch, vals = _syscall_info(tid)
        call = t.call
        if op == 2:  # exit
            if call is not None:
                t.call = None
                self.unannounced.pop(tid, None)
                plan = self.plans.get(call[0])
                fetched = self._fetch_exit(tid, call, vals) if plan and plan.exit else {}
                _ptrace(_PTRACE_CONT if self.seccomp else _PTRACE_SYSCALL, tid, None, 0)
                self.renderer.syscall(t, call, vals[0], bool(vals[1]), fetched, now, self)
                if len(self.pending) >= self.batch_events:
                    self.flush()
                return True
        elif op and not t.prelude:
            nr = vals[0]
            selected = self.selected
            if call is not None and op == 3 and call[0] == nr:
                pass  # the seccomp stop right after the entry stop of the same call
            elif arch == _ARCH and (selected is None or nr in selected):
                self._enter(t, nr, vals[1:], now)
                t.prev = nr
                _ptrace(_PTRACE_SYSCALL, tid, None, 0)
                return True
            else:
                t.call = None
                t.prev = nr
        else:
            return False
        _ptrace(
            _PTRACE_SYSCALL if t.call is not None or not self.seccomp else _PTRACE_CONT,
            tid,
            None,
            0,
        )
        return True

    def _enter(self, t: Tracee, nr: int, args: Any, now: int) -> None:
        """A selected call's entry: fetch what it reads, then track it until its exit
        (under -P only if it touches a traced path)."""
        plan = self.plans.get(nr)
        fetched = self._entry_fetch(t.tid, nr, plan, args)
        if nr == _RESTART_SYSCALL:  # strace: `restart_syscall(<... resuming interrupted read ...>)`
            fetched = {plans.RESUMED_NR_KEY: t.prev}
        renderer = self.renderer
        if renderer.paths and not renderer.touches(t.tid, plan, fetched):
            t.call = None
            return
        t.call = [nr, args, now, fetched]
        t.mark = self.emitted
        if nr in _NO_RETURN_NRS:
            self._no_return(t, now)
        else:
            self.unannounced[t.tid] = t

    def _no_return(self, t: Tracee, now: int) -> None:
        """exit/exit_group: printed at entry with `= ?`, as strace prints them."""
        call, t.call = t.call, None
        if call is not None:
            self.renderer.syscall(t, call, None, False, {}, now, self)

    def _reap_waker(self) -> None:
        if self.waker.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.waker.pid, 0)
            self.waker.pid = 0

    def _on_wake(self) -> None:
        with self.lock:
            requests, self.requests = self.requests, []
        for what in requests:
            if what == "start" and not self.started:
                self.started = True
                for tid in list(self.tracees):
                    self._interrupt(tid)
                if self.launched is not None:
                    self.launched.release()
            elif what == "stop" and not self.stopping:
                self._begin_stop()
        if self.tracees or not self.started:
            self.waker.arm()
        else:
            self.waker.pid = 0

    def _interrupt(self, tid: int) -> None:
        try:
            pt.interrupt(tid)
        except pt.PtraceError as exc:
            log.debug("interrupt %d: %s", tid, exc)

    def _begin_stop(self) -> None:
        self.stopping = True
        self.started = True
        self.stop_deadline = time.monotonic() + STOP_GRACE_S
        if self.launched is not None and self.launched.exit_status is None:
            self.launched.signal_group(signal.SIGTERM)
            self._killer = threading.Timer(STOP_GRACE_S, self._kill_launched)
            self._killer.name = "ptrace-kill"
            self._killer.start()
            return
        for tid in list(self.tracees):
            self._interrupt(tid)

    def _kill_launched(self) -> None:
        if self.tracees and self.launched is not None:
            self.launched.signal_group(signal.SIGKILL)
            for tid in list(self.tracees):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(tid, signal.SIGKILL)

    def _adopt(self, tid: int) -> Tracee:
        """A stop from a tracee not seen yet (a new child may stop before its parent's event)."""
        status = pt.proc_status(tid)
        pid = int(status.get("Tgid", tid))
        owner = pid if pid != tid else int(status.get("PPid", 0))
        parent = next((o for o in self.tracees.values() if o.pid == owner), None)
        return self._register(tid, pid, parent, vfork=False)

    def _register(self, tid: int, pid: int | None, parent: Tracee | None, vfork: bool) -> Tracee:
        new = self.tracees.get(tid)
        if new is not None:
            return new
        new = self.tracees[tid] = Tracee(tid, pid)
        if parent is not None:
            if not self.follow_forks:
                new.quiet = True
                new.foreign = pid != parent.pid and not vfork
            elif parent.quiet:
                new.quiet = True
            if self.on_fork is not None:
                self.on_fork(parent, new)
        return new

    def _restart_request(self, t: Tracee) -> int:
        # seccomp: only traced calls stop (also in the stub, whose execve the filter traces
        # when it is selected); without it every call of the stub stops until its exec
        if not self.started or t.quiet or (self.seccomp and t.call is None):
            return pt.PTRACE_CONT
        return pt.PTRACE_SYSCALL

    def _on_stop(self, t: Tracee, status: int) -> None:
        sig = (status >> 8) & 0xFF
        if t.foreign:
            self._detach_foreign(t, sig, status >> 16)
            return
        if sig == pt.SYSCALL_STOP_SIG:
            self._on_syscall_stop(t)
            return
        event = status >> 16
        if event == pt.EVENT_SECCOMP:
            self._on_syscall_stop(t)
        elif event == pt.EVENT_STOP:
            self._on_event_stop(t, sig)
        elif event:
            self._on_ptrace_event(t, event)
        else:
            self._on_signal(t, sig)

    def _detach_foreign(self, t: Tracee, sig: int, event: int) -> None:
        if self.on_foreign is not None:
            self.on_foreign(t)
        deliver = sig if event == 0 and sig != pt.SYSCALL_STOP_SIG else 0
        pt.restart(pt.PTRACE_DETACH, t.tid, deliver)
        del self.tracees[t.tid]

    def _detach_if_stopping(self, t: Tracee, sig: int = 0) -> bool:
        if not self.stopping or self.launched is not None:
            return False
        self._detach_blocked(t)
        try:
            pt.restart(pt.PTRACE_DETACH, t.tid, sig)
        except pt.PtraceError as exc:
            log.warning("detach %d: %s", t.tid, exc)
        del self.tracees[t.tid]
        return True

    def _on_syscall_stop(self, t: Tracee) -> None:
        now = time.monotonic_ns()
        op, arch, vals = pt.syscall_info(t.tid)
        if self._detach_if_stopping(t):
            return
        if op == pt.OP_EXIT:
            call = t.call
            if call is not None:
                t.call = None
                self.unannounced.pop(t.tid, None)
                fetched = self._fetch_exit(t.tid, call, vals)
                pt.restart(self._restart_request(t), t.tid)
                self.renderer.syscall(t, call, vals[0], bool(vals[1]), fetched, now, self)
                return
        elif op != pt.OP_NONE and self.started:
            nr = vals[0]
            selected = self.selected
            if t.call is not None and t.call[0] == nr and op == pt.OP_SECCOMP:
                pass  # the seccomp stop after the entry stop of the same call
            elif (
                arch == pt.AUDIT_ARCH_X86_64
                and (selected is None or nr in selected)
                and (not t.prelude or nr in _EXECVE_NRS)
            ):
                self._enter(t, nr, vals[1:], now)
            else:
                t.call = None
            t.prev = nr
        pt.restart(self._restart_request(t), t.tid)

    def _entry_fetch(
        self, tid: int, nr: int, plan: Plan | None, args: Any
    ) -> dict[int, object] | None:
        """What a call's entry reads from the tracee (right after its syscall_info)."""
        if nr == _RT_SIGRETURN:  # the mask it restores, from the signal frame
            where = pt.stack_pointer() + plans.SIGRETURN_MASK_OFFSET
            return {plans.SIGRETURN_MASK_KEY: pt.read_memory(tid, where, 8)}
        return self._fetch(tid, plan.entry, args, 0) if plan and plan.entry else None

    def _fetch(self, tid: int, fetches: Any, args: Any, ret: int) -> dict[int, object]:
        return self.renderer.fetch(tid, fetches, args, ret)

    def _fetch_exit(self, tid: int, call: list[Any], vals: tuple[int, ...]) -> dict[int, object]:
        plan = self.plans.get(call[0])
        if plan is None or not plan.exit or vals[1]:
            return {}
        return self.renderer.fetch(tid, plan.exit, call[1], vals[0])

    def _on_event_stop(self, t: Tracee, sig: int) -> None:
        if sig in _STOP_SIGNALS:
            if self._detach_if_stopping(t):
                return
            if not t.quiet:
                self.renderer.group_stop(t, sig, self)
            pt.restart(pt.PTRACE_LISTEN, t.tid)
            return
        if self._detach_if_stopping(t):
            return
        # interrupt stop, or the first stop of a new tracee
        pt.restart(self._restart_request(t), t.tid)

    def _on_ptrace_event(self, t: Tracee, event: int) -> None:
        if event in (pt.EVENT_FORK, pt.EVENT_VFORK, pt.EVENT_CLONE):
            child = pt.event_msg(t.tid)
            pid = child if event != pt.EVENT_CLONE else pt.tgid(child)
            self._register(child, pid, t, vfork=event == pt.EVENT_VFORK)
        elif event == pt.EVENT_EXEC:
            former = pt.event_msg(t.tid)
            if former != t.tid and former in self.tracees:
                self._superseded(t, self.tracees.pop(former))
            t.prelude = False
            t.comm = pt.comm(t.tid)
            uninterrupted = t.mark == self.emitted
            if not t.quiet:
                self.renderer.exec(t, self)
            if uninterrupted:  # its own exec event does not split the execve (as in strace)
                t.mark = self.emitted
            if self.on_exec is not None:
                self.on_exec(t)
        if not self._detach_if_stopping(t):
            pt.restart(self._restart_request(t), t.tid)

    def _superseded(self, leader: Tracee, thread: Tracee) -> None:
        """A non-leader thread exec'd: it takes over the leader's tid (ptrace reports the exec
        under it). As strace: the leader's blocked call ends with `= ?`, the thread's execve
        entry is cut (`<pid changed to N ...>` when nothing came between), then
        `+++ superseded by execve in pid THREAD +++`; the execve resumes under the leader's
        tid."""
        self._finish_blocked(leader)  # (its line cuts the execve: `<unfinished ...>`)
        uninterrupted = self.unannounced.pop(thread.tid, None) is not None
        if uninterrupted and thread.call is not None and not leader.quiet:
            tail = f"<pid changed to {leader.tid} ...>"
            self.add_side_event(self.renderer.unfinished(thread, thread.call, tail))
            self.emitted += 1
            thread.call.append(True)
        leader.call, leader.mark = thread.call, thread.mark
        if not leader.quiet:
            self.renderer.superseded(leader, thread.tid, self)

    def _on_signal(self, t: Tracee, sig: int) -> None:
        if sig == signal.SIGTRAP and self.on_trap is not None and self.on_trap(t):
            return
        if self._detach_if_stopping(t, sig):
            return
        if not t.prelude and not t.quiet:
            self.renderer.signal(t, sig, pt.siginfo(t.tid), self)
        pt.restart(self._restart_request(t), t.tid, sig)

    def _detach_blocked(self, t: Tracee) -> None:
        """A call still blocked when an attached tracee is detached: strace ends its entry
        with `<detached ...>` (the call goes on, untraced)."""
        self.unannounced.pop(t.tid, None)
        call, t.call = t.call, None
        if call is not None and not t.quiet:
            announced = len(call) > 4
            self.add_event(self.renderer.unfinished(t, call, "<detached ...>", announced))

    def _finish_blocked(self, t: Tracee) -> None:
        self.unannounced.pop(t.tid, None)
        if t.call is not None:
            call, t.call = t.call, None
            self.renderer.syscall(t, call, None, False, {}, time.monotonic_ns(), self)

    def _on_exit(self, t: Tracee, status: int) -> None:
        del self.tracees[t.tid]
        self._finish_blocked(t)
        if not t.prelude and not t.quiet:
            self.renderer.exit(t, status, self)
        launched = self.launched
        if launched is not None and t.tid == launched.pid:
            self.exit_status = launched.reaped(status)
        elif launched is None and t.tid == t.pid:
            from ..launch import exit_status_from_wait

            self.exit_status = exit_status_from_wait(status)
