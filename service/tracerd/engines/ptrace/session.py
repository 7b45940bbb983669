"""One ptrace session inside the worker: the tracer thread, its set-up and its end.

`prepare` runs `PtraceSession.open()`: it starts the tracer thread, which attaches
(PTRACE_SEIZE of every thread of the pid; the tracees keep running) or spawns the held-back
stub (engines/launch.py) and seizes it, then reports success or the domain error. `start`
asks the thread to interrupt the tracees and begin syscall tracing (and to release the
stub); `stop` asks it to detach (attached) or to end the command (launched: SIGTERM to its
process group, SIGKILL after the grace period), then joins it.

The tracer thread is also the stub's parent, so the stub's PDEATHSIG and EXITKILL are
tied to it: it stays alive until every launched process is gone.
"""

from __future__ import annotations

import errno
import logging
import threading
from collections.abc import Callable
from typing import Any

from ...errors import AlreadyTraced, NotFound, PermissionDenied, TracerdError
from ...kernel.proc import thread_ids
from ..base import EngineContext, EventSink, Ledger
from ..launch import LaunchedCommand, output_event, process_start_time
from . import tracer as pt
from .reader import STOP_GRACE_S, Tracee, TraceLoop

log = logging.getLogger(__name__)

SETUP_TIMEOUT_S = 10.0
JOIN_TIMEOUT_S = 3 * STOP_GRACE_S + 2.0
OUTPUT_JOIN_S = 1.0


def check_target(pid: int, ctx: EngineContext) -> int:
    """The tgid to attach to; the domain error if it cannot be traced."""
    status = pt.proc_status(pid)
    if not status:
        raise NotFound(f"no process with pid {pid}", {"pid": pid})
    tgid = int(status.get("Tgid", pid))
    if pid in ctx.exclude_pids or tgid in ctx.exclude_pids:
        raise PermissionDenied(
            f"process {pid} belongs to tracerd itself and is never traced", {"pid": pid}
        )
    tracer_pid = int(status.get("TracerPid", "0") or 0)
    if tracer_pid:
        raise AlreadyTraced(pid, tracer_pid)
    return tgid


class PtraceSession:
    def __init__(
        self,
        ctx: EngineContext,
        loop: TraceLoop,
        options: int,
        setup: Callable[[PtraceSession], None],
    ) -> None:
        self.ctx = ctx
        self.loop = loop
        self.options = options
        self._setup = setup
        self.ledger_keys: list[str] = []
        self.ledger: Ledger | None = None
        self.launched: LaunchedCommand | None = None
        self.sink: EventSink | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self.failure: str | None = None
        self.thread: threading.Thread | None = None
        self.flusher: threading.Thread | None = None
        self.stopped = False
        self.uprobes: Any = None
        """UprobeBreakpoints of an attached pid, or None"""

    # -- in the tracer thread ----------------------------------------------------------------

    def attach(self, pid: int, ledger: Ledger) -> None:
        tgid = check_target(pid, self.ctx)
        self.ledger_keys.append(
            ledger.record(
                "ptrace_attach", str(tgid), {"pid": tgid, "start_time": process_start_time(tgid)}
            )
        )
        seen: set[int] = set()
        while new := [t for t in thread_ids(tgid) if t not in seen]:
            for tid in new:
                seen.add(tid)
                try:
                    pt.seize(tid, self.options)
                except pt.PtraceError as exc:
                    if exc.errno == errno.ESRCH and self.loop.tracees:
                        continue  # a thread that exited meanwhile
                    raise self._attach_error(pid, exc) from None
                self.loop.tracees[tid] = Tracee(tid, tgid)
        if not self.loop.tracees:
            raise NotFound(f"no process with pid {pid}", {"pid": pid})

    def _attach_error(self, pid: int, exc: pt.PtraceError) -> TracerdError:
        tracer_pid = int(pt.proc_status(pid).get("TracerPid", "0") or 0)
        if tracer_pid:
            return AlreadyTraced(pid, tracer_pid)
        if exc.errno == errno.ESRCH:
            return NotFound(f"no process with pid {pid}", {"pid": pid})
        return PermissionDenied(f"cannot trace pid {pid}: {exc.strerror}", {"pid": pid})

    def launch(self, command: LaunchedCommand, ledger: Ledger) -> None:
        self.ledger_keys.append(command.spawn_recorded(ledger))
        pid = command.pid
        self.launched = command
        self.loop.launched = command
        pt.seize(pid, self.options | pt.O_EXITKILL)
        self.loop.tracees[pid] = Tracee(pid, pid, prelude=True)
        command.watch_output(self._on_output)

    def _on_output(self, stream: str, text: str, ts_ns: int) -> None:
        pid = self.launched.pid if self.launched else None
        self.loop.add_side_event(output_event(stream, text, ts_ns, pid))

    def _main(self) -> None:
        try:
            self._setup(self)
        except BaseException as exc:  # handed to prepare(), which raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self.loop.run()
        except Exception as exc:
            log.exception("ptrace loop failed")
            self.failure = f"tracer failed: {exc}"
        finally:
            self._end()

    def _end(self) -> None:
        if self.launched is not None:
            if self.launched.exit_status is None:
                self.launched.signal_group(9)
            # the output pipes close with the last writer: take all output before `ended`
            self.launched.join_output(OUTPUT_JOIN_S)
        self._done.set()
        self.loop.flush()
        if self.sink is not None and not self.stopped:
            reason = self.failure or self._exec_failure()
            self.sink.ended(self.loop.exit_status, reason, failed=reason is not None)

    def _exec_failure(self) -> str | None:
        cmd = self.launched
        if cmd is None or cmd.exit_status is None or cmd.exit_status.get("code") != 127:
            return None
        error = cmd.exec_error()
        return f"cannot execute {cmd.argv[0]}: {error}" if error else None

    # -- in the worker's main thread -----------------------------------------------------------

    def open(self) -> None:
        self.thread = threading.Thread(target=self._main, name=f"ptrace-{self.ctx.session_id}")
        self.thread.start()
        if not self._ready.wait(SETUP_TIMEOUT_S):
            raise PermissionDenied("the tracer did not start in time")
        if self._error is not None:
            # the tracer thread is gone: the kernel detached whatever it had seized
            self.thread.join(JOIN_TIMEOUT_S)
            if self.launched is not None:
                self.launched.terminate(grace_s=1.0)  # reaps the stub
            if self.uprobes is not None:
                self.uprobes.remove()
            if self.ledger is not None:
                for key in reversed(self.ledger_keys):
                    self.ledger.cross_off(key)
                self.ledger_keys.clear()
            raise self._error

    def start(self, sink: EventSink) -> None:
        self.sink = sink
        self.loop.sink_emit = lambda batch: sink.emit(batch)
        self.flusher = threading.Thread(
            target=self._flush_loop, name=f"ptrace-flush-{self.ctx.session_id}", daemon=True
        )
        self.flusher.start()
        if self.uprobes is not None:
            self.uprobes.start(self.loop.add_side_event)
        self.loop.request("start")

    def _flush_loop(self) -> None:
        interval = self.ctx.limits.batch_interval_s
        while not self._done.wait(interval):
            try:
                self.loop.flush()
            except Exception:
                log.exception("flushing ptrace events failed")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.thread is not None and self.thread.is_alive():
            self.loop.request("stop")
            self.thread.join(JOIN_TIMEOUT_S)
            if self.thread.is_alive():
                log.error("ptrace thread still alive after %.1f s", JOIN_TIMEOUT_S)
        self._done.set()
        if self.uprobes is not None:
            self.uprobes.stop()
        if self.flusher is not None:
            self.flusher.join(1.0)
        self._close_command()  # joins the output threads: their last lines go in the flush
        self.loop.flush()
        if self.ledger is not None and not (self.thread and self.thread.is_alive()):
            for key in reversed(self.ledger_keys):
                self.ledger.cross_off(key)
            self.ledger_keys.clear()

    def _close_command(self) -> None:
        if self.launched is not None:
            self.launched.close()
