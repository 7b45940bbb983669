"""SessionManager: sessions' lifecycle, their workers, the ledger; the API's only door.

Every running session has a worker process (workers/). Creating a tracefs or ptrace
session sets the kernel up before answering (a rejection leaves nothing, no row either);
a bpf session answers `starting` and compiles in its worker. Stopping asks the worker to
drain and release, waits until the tail is committed, and closes the worker. A worker
that dies fails its session and the session's ledger is reconciled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Coroutine
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..engines.base import Limits
from ..engines.tracefs.tracers import needs_top_level
from ..errors import InvalidTransition, QuotaExceeded, ResourceBusy, TracerdError, WorkerFailed
from ..kernel.tracefs import Tracefs
from ..specs import AnySpec, PacketSpec, TracefsSpec
from ..storage.writer import EventWriter
from ..stream.hub import StreamHub
from ..types import SessionState
from ..workers.launch import WorkerProcess
from .control import ControlWrites
from .exclusions import excluded_processes, exclusion_loop
from .ingest import SessionIngest
from .ledger import LedgerStore
from .live import LiveSession, session_view, stored_spec
from .state import Action, Request, action_for, check_transition
from .store import SessionStore, row_view

log = logging.getLogger(__name__)

S = SessionState
PREPARE_TIMEOUT_S = 120.0  # a big BPF program compiles in seconds; the guest is 20x slower
SLOW_KINDS = frozenset({"bpf"})
PERSIST_INTERVAL_S = 5.0
SHUTDOWN_GRACE_S = 5.0
DISK_FULL_BYTES = 1 << 20


class SessionManager:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        writer: EventWriter,
        hub: StreamHub,
        ledger: LedgerStore,
        caps: dict[str, Any],
        caps_ready: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.store = SessionStore(sessions, ledger.owner)
        self.writer = writer
        self.hub = hub
        self.ledger = ledger
        self.caps = caps
        self.caps_ready = caps_ready
        self.live: dict[int, LiveSession] = {}
        self.control = ControlWrites(settings.stop_timeout_s)
        self.ingest = SessionIngest(
            writer,
            hub,
            ledger,
            self.control,
            self.request_stop,
            self._spool,
            settings.worker_spool_mb << 20,
        )
        self._unsaved: set[int] = set()
        """sessions whose last state could not be written yet (the persist loop retries)"""
        self._persist_task: asyncio.Task[None] | None = None
        self._exclude_task: asyncio.Task[None] | None = None
        self.workers_started = 0

    # -- start-up and shutdown -------------------------------------------------------------

    def recover(self) -> list[int]:
        """Reconcile the ledger and mark sessions a killed predecessor left `interrupted`.
        Blocking: run before serving requests."""
        affected = self.ledger.reconcile()
        prefix = f"tracerd_{self.ledger.owner.daemon_id}_"
        self.ledger.sweep(prefix)
        interrupted = self.store.interrupt_orphans()
        for live in self.store.created():
            self.live[live.id] = live
        log.info("recovered: interrupted %s, reconciled sessions %s", interrupted, affected)
        return interrupted

    def start_background(self) -> None:
        self._persist_task = asyncio.create_task(self._persist_loop(), name="persist-counters")
        self._exclude_task = asyncio.create_task(exclusion_loop(self), name="exclusions")

    async def shutdown(self) -> None:
        """Stop every session (clean daemon shutdown)."""
        for task in (self._persist_task, self._exclude_task):
            if task is not None:
                task.cancel()
        active = [s for s in self.live.values() if s.active]
        try:
            await asyncio.wait_for(
                asyncio.gather(
                    *(self._stop_now(s, "daemon shutdown") for s in active), return_exceptions=True
                ),
                self.settings.stop_timeout_s + SHUTDOWN_GRACE_S,
            )
        except TimeoutError:
            for live in active:
                if not live.is_final:
                    await self._abandon(live, "the session did not stop in time at shutdown")
        await asyncio.to_thread(self.control.close)  # the writes already queued finish first

    async def _stop_now(self, live: LiveSession, reason: str) -> None:
        self.request_stop(live, reason)
        await live.final.wait()
        if live.stop_task is not None:  # its last step stores the final state
            await asyncio.shield(live.stop_task)

    # -- views -------------------------------------------------------------------------------

    def counters(self, live: LiveSession) -> dict[str, Any]:
        prog = self.writer.progress(live.id)
        sub = 0  # subscriber loss is per subscriber (its `lost` messages), not the session's
        if live.is_final and prog.stored == 0 and live.received:
            # loaded from the database (a previous daemon's session)
            return {"events": live.received, "stored": live.received, "lost": live.lost(0, sub)}
        return live.counters(prog.stored, prog.lost, sub)

    def view(self, live: LiveSession) -> dict[str, Any]:
        return session_view(live, self.counters(live), self.writer.progress(live.id).stored_bytes)

    async def get(self, session_id: int) -> dict[str, Any]:
        live = self.live.get(session_id)
        if live is not None:
            return self.view(live)
        row = await asyncio.to_thread(self.store.load, session_id)
        return row_view(row)

    async def spec_of(self, session_id: int) -> AnySpec:
        """A session's validated spec (who may start it depends on it)."""
        live = self.live.get(session_id)
        if live is not None:
            return live.spec
        row = await asyncio.to_thread(self.store.load, session_id)
        return stored_spec(row.kind, row.spec)

    def live_position(self, session_id: int) -> tuple[int, str] | None:
        """(next seq, state) of a session this daemon runs or ran; None for one it never ran."""
        live = self.live.get(session_id)
        return None if live is None else (live.next_seq, live.state.value)

    def is_streaming(self, session_id: int) -> bool:
        """May the session still produce events (this daemon's, not in a final state)?"""
        live = self.live.get(session_id)
        return live is not None and not live.is_final

    async def wait_committed(self, session_id: int, seq: int) -> None:
        """Until the writer committed the session's events up to `seq`."""
        await self.writer.wait_committed(session_id, seq)

    def print_formats(self, names: list[str]) -> dict[str, str]:
        """The `print fmt` of tracefs event names as the running kernel has them."""
        return Tracefs(self.settings.tracefs).print_formats(names)

    async def list_sessions(
        self, kind: str | None = None, state: str | None = None
    ) -> list[dict[str, Any]]:
        out = []
        for row in await asyncio.to_thread(self.store.rows, kind, state):
            live = self.live.get(row.id)
            if live is not None and (state is None or live.state.value == state):
                out.append(self.view(live))
            elif live is None:
                out.append(row_view(row))
        return out

    # -- create / start ------------------------------------------------------------------

    async def create(
        self,
        kind: str,
        name: str | None,
        spec: AnySpec,
        start: bool,
        wait: bool,
        owner: str | None,
    ) -> dict[str, Any]:
        self._check_spec_quota(spec)
        if start:
            self._check_quota()
        live = await asyncio.to_thread(self.store.insert, kind, name, spec, owner)
        self.live[live.id] = live
        if not start:
            return self.view(live)
        if kind in SLOW_KINDS:
            self._mark_starting(live)  # answered as `starting`; compiling goes on behind
            live.start_task = _background(self._start(live), f"start-{live.id}")
            if wait:
                await asyncio.shield(live.start_task)
                if live.state == S.FAILED:
                    raise _failure(live)
            return self.view(live)
        try:
            await self._start(live)
        except TracerdError:
            await self._discard(live)
            raise
        return self.view(live)

    def _check_spec_quota(self, spec: AnySpec) -> None:
        if not isinstance(spec, TracefsSpec | PacketSpec):
            return
        size = spec.buffer_size_kb if "buffer_size_kb" in spec.model_fields_set else None
        if size is not None and size > self.settings.max_buffer_size_kb:
            raise QuotaExceeded(
                f"buffer_size_kb {size} is over the limit ({self.settings.max_buffer_size_kb})",
                {"buffer_size_kb": size, "max_buffer_size_kb": self.settings.max_buffer_size_kb},
            )

    def _check_quota(self) -> None:
        running = sum(1 for s in self.live.values() if s.active)
        if running >= self.settings.max_sessions:
            raise QuotaExceeded(
                f"{running} sessions are running (max_sessions={self.settings.max_sessions})",
                {"running": running, "max_sessions": self.settings.max_sessions},
            )

    async def _discard(self, live: LiveSession) -> None:
        """Forget a session whose creation failed: no row, nothing in the kernel."""
        await self.control.run(self.ledger.reconcile, live.id)
        await self.writer.delete_session(live.id)
        await asyncio.to_thread(self.store.delete, live.id)
        self.live.pop(live.id, None)
        self.writer.forget(live.id)

    async def start(self, session_id: int) -> dict[str, Any]:
        live = self._live(session_id)
        async with live.lock:
            action_for(live.state, Request.START)
            self._check_quota()
            if live.kind in SLOW_KINDS:
                self._mark_starting(live)  # answered as `starting`; compiling goes on behind
                live.start_task = _background(self._start(live), f"start-{live.id}")
            else:
                await self._start(live)
        return self.view(live)

    def _mark_starting(self, live: LiveSession) -> None:
        self._claim_top_level(live)  # no await between the check and STARTING
        self._transition(live, S.STARTING)
        live.started_at = datetime.now(UTC)
        live.in_start = True

    async def _start(self, live: LiveSession) -> None:
        if live.state != S.STARTING:
            await self.caps_ready.wait()  # the top-level claim needs the probed tracers
            self._mark_starting(live)
        try:
            await self._persist(live)
            await self.caps_ready.wait()
            worker = await self._spawn_worker(live)
            result = await worker.call("prepare", self._prepare_args(live), PREPARE_TIMEOUT_S)
            self._apply_handle(live, result)
            if live.stop_requested is None:
                result = await worker.call("start", {}, PREPARE_TIMEOUT_S)
                self._apply_handle(live, result)
        except Exception as exc:  # any failure of the start flow fails the session
            if not isinstance(exc, TracerdError | TimeoutError):
                log.exception("session %d: starting failed", live.id)
            live.in_start = False
            error = _as_error(exc)
            await self._fail(live, error)
            raise error from exc
        live.in_start = False
        if live.is_final:  # the worker died meanwhile
            return
        self._transition(live, S.RUNNING)
        if live.stop_requested is not None:  # asked while starting (a fast command exited)
            self._begin_stop(live, live.stop_requested)
            return
        self.hub.publish(live.id, {"type": "state", "state": live.state.value}, droppable=False)
        duration = live.spec.duration_s
        if duration:
            live.timers.append(asyncio.create_task(self._stop_after(live, duration)))
        await self._persist(live)

    def _claim_top_level(self, live: LiveSession) -> None:
        """The tracefs top level (function_graph on 6.1) is held by one session at a time."""
        spec = live.spec
        if not needs_top_level(spec, self.caps):
            return
        for other in self.live.values():
            if other is not live and other.active and needs_top_level(other.spec, self.caps):
                raise ResourceBusy(
                    f"the tracefs top level is held by session {other.id}: "
                    f"{spec.tracer} runs only at the top level on this kernel",
                    {"resource": "tracefs top level", "holder": str(other.id)},
                )

    async def _spawn_worker(self, live: LiveSession) -> WorkerProcess:
        key = await self.control.run(self.ledger.record, live.id, "worker", f"worker-{live.id}")

        async def on_frame(frame: dict[str, Any]) -> None:
            await self._handle_frame(live, frame)

        worker = WorkerProcess(on_frame)
        await worker.spawn()
        self.workers_started += 1
        live.worker = worker
        live.resources[str(key)] = {"type": "worker", "name": str(worker.pid)}
        await self.control.run(self.ledger.set_process, key, worker.pid, worker.start_time)
        live.timers.append(asyncio.create_task(self._watch_worker(live, worker, key)))
        return worker

    async def _handle_frame(self, live: LiveSession, frame: dict[str, Any]) -> None:
        """A worker frame is never dropped: on a database error (a ledger write) it is
        handled again with backoff, holding the worker back meanwhile, for up to the stop
        timeout; then the error ends the worker (and so fails or stops the session)."""
        try:
            await self.control.retrying(
                lambda: self.ingest.on_frame(live, frame), f"session {live.id}: {frame['t']} frame"
            )
        except OperationalError as exc:
            live.reason = live.reason or f"the state database failed: {exc.orig or exc}"
            raise

    def _spool(self, live: LiveSession) -> Path:
        """The worker's spill folder (tracefs raw pages beyond its memory budget)."""
        return Path(self.settings.state_dir) / "spool" / str(live.id)

    def _prepare_args(self, live: LiveSession) -> dict[str, Any]:
        spool = self._spool(live)
        spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        limits = Limits(
            raw_memory_bytes=self.settings.worker_raw_memory_mb << 20,
            spool_bytes=self.settings.worker_spool_mb << 20,
            stop_timeout_s=self.settings.stop_timeout_s,
        )
        ctx = {
            "session_id": live.id,
            "daemon_id": self.ledger.owner.daemon_id,
            "daemon_pid": os.getpid(),
            "exclude_pids": self.exclude_pids(),
            "exclude_procs": self.exclude_procs(),
            "caps": self.caps,
            "state_dir": str(self.settings.state_dir),
            "spool_dir": str(spool),
            "limits": asdict(limits),
        }
        return {"kind": live.kind, "spec": live.spec_json, "ctx": ctx}

    def exclude_pids(self) -> list[int]:
        return [pid for pid, _start in self.exclude_procs()]

    def exclude_procs(self) -> list[tuple[int, int]]:
        return excluded_processes(self.live.values())

    def _apply_handle(self, live: LiveSession, result: dict[str, Any] | None) -> None:
        if not result:
            return
        live.clock = str(result.get("clock", live.clock))
        live.wall_offset_ns = int(result.get("wall_offset_ns", live.wall_offset_ns))
        live.info.update(result.get("info") or {})

    async def _watch_worker(self, live: LiveSession, worker: WorkerProcess, key: int) -> None:
        await worker.exited.wait()
        await self.control.run(self.ledger.cross_off, key)
        live.resources.pop(str(key), None)
        # while starting or stopping, the pending worker call fails and that flow ends it
        if live.state == S.RUNNING and live.worker is worker and live.stop_task is None:
            await self._fail(live, WorkerFailed(worker.describe_exit()))

    async def _fail(self, live: LiveSession, exc: BaseException) -> None:
        if live.is_final or live.failing:
            return
        live.failing = True
        live.reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        worker = live.worker
        if worker is not None:
            await worker.close()
        await self.control.run(self.ledger.reconcile, live.id)
        live.resources = {k: r for k, r in live.resources.items() if r["type"] == "worker"}
        self._finish(live, S.FAILED)
        await self._persist(live)

    # -- stop / delete -------------------------------------------------------------------

    def request_stop(self, live: LiveSession, reason: str) -> None:
        """Ask for a stop (from a limit, the engine or a request); never waits. While the
        start flow runs, it is noted and the start flow stops the session at its end."""
        if live.is_final or live.stop_task is not None:
            return
        if live.in_start:
            live.stop_requested = live.stop_requested or reason
            return
        self._begin_stop(live, reason)

    def _begin_stop(self, live: LiveSession, reason: str) -> None:
        """`stopping` at once (a stop request answers with it); the flow runs behind."""
        self._transition(live, S.STOPPING)
        self.hub.publish(live.id, {"type": "state", "state": live.state.value}, droppable=False)
        live.stop_task = asyncio.create_task(self._stop_flow(live, reason), name=f"stop-{live.id}")

    async def stop(self, session_id: int, wait: bool = True) -> dict[str, Any]:
        """Ask for a stop; with `wait`, answer once the session is final."""
        live = self.live.get(session_id)
        if live is None:
            return await self.get(session_id)  # final sessions: no-op
        action = action_for(live.state, Request.STOP)
        if action == Action.STOP_NOW:
            self._finish(live, S.STOPPED)
            await self._persist(live)
        elif action == Action.STOP:
            self.request_stop(live, "stopped by request")
        if wait and live.active:
            await live.final.wait()
        return self.view(live)

    async def _stop_flow(self, live: LiveSession, reason: str) -> None:
        try:
            await self._stop_steps(live, reason)
        except Exception:
            log.exception("session %d: stopping failed", live.id)
            if not live.is_final:
                await self._abandon(live, "stopping failed (see the daemon log)")

    async def _abandon(self, live: LiveSession, reason: str) -> None:
        """Last resort: kill the worker, remove what the ledger lists, mark the session failed."""
        log.error("session %d: %s", live.id, reason)
        if live.worker is not None:
            live.worker.kill()
        try:
            await self.control.run(self.ledger.reconcile, live.id, budget_s=0.0)
        except Exception:
            log.exception("session %d: its ledger could not be reconciled now", live.id)
        else:
            live.resources = {}
        live.reason = live.reason or reason
        if not live.is_final:  # the stop flow may have ended it while the ledger was read
            self._transition(live, S.FAILED)
        live.stopped_at = datetime.now(UTC)
        self.hub.end(live.id)
        live.final.set()
        await self._persist(live)

    async def _stop_steps(self, live: LiveSession, reason: str) -> None:
        """The worker drains and releases; then what it left is removed and the session is
        final. A database fault (locked, full) does not hold the flow past the stop
        timeout: `stopping` is written in one short attempt (the persist loop retries), the
        wait for the writer and the ledger's retries end with the timeout."""
        if live.is_final:
            return
        deadline = time.monotonic() + self.settings.stop_timeout_s

        def left_s() -> float:
            return max(0.0, deadline - time.monotonic())

        await self._persist(live, budget_s=0.0)
        worker = live.worker
        failed: BaseException | None = None
        if worker is not None:
            try:
                # as long as the worker drains and the writer stores, the stop may take
                # its time (a backlog); it fails only after stop_timeout_s without progress
                reply = await worker.call(
                    "stop",
                    {},
                    self.settings.stop_timeout_s,
                    progress=lambda: self.writer.last_commit_at,
                )
                self._apply_handle(live, reply)
            except (TracerdError, TimeoutError) as exc:
                failed = exc
            await self._committed(live, left_s())
            await worker.close()
        self.ingest.release(live.id)
        leftovers = await self.control.run(self.ledger.reconcile, live.id, budget_s=left_s())
        if leftovers:
            # routine: a worker that was closed at the end of its grace period leaves its
            # last entries for the daemon to remove
            log.info("session %d: reconciled resources its worker left", live.id)
        live.resources = {}
        storage = self._storage_failure(live)
        if storage is not None:
            said = live.reason or (reason if reason != "stopped by request" else None)
            live.reason = f"{storage}; {said}" if said else storage
        if failed is not None or live.engine_failed:
            live.reason = live.reason or str(getattr(failed, "message", failed))
            self._finish(live, S.FAILED)
        else:
            if reason != "stopped by request" and not live.reason:
                live.reason = reason
            self._finish(live, S.STOPPED)
        await self._persist(live)

    async def _committed(self, live: LiveSession, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) for the writer to commit the session's events; a
        writer held by a database lock does not hold the stop."""
        try:
            await asyncio.wait_for(
                asyncio.shield(self.writer.wait_committed(live.id, live.next_seq - 1)), timeout_s
            )
        except TimeoutError:
            log.warning("session %d: its last events are not committed yet", live.id)
            self._unsaved.add(live.id)  # its counters are written again once they are

    def _storage_failure(self, live: LiveSession) -> str | None:
        """Why the session's events were not all stored, if they were not."""
        lost = self.writer.progress(live.id).lost
        if not lost:
            return None
        note = f"{lost} events could not be stored"
        with contextlib.suppress(OSError):
            fs = os.statvfs(self.settings.state_dir)
            if fs.f_bfree * fs.f_frsize < DISK_FULL_BYTES:
                note += f" (the file system of {self.settings.state_dir} is full)"
        return note

    async def _stop_after(self, live: LiveSession, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.request_stop(live, f"duration_s ({seconds:g}) reached")

    def _finish(self, live: LiveSession, state: SessionState) -> None:
        self._transition(live, state)
        live.stopped_at = datetime.now(UTC)
        for timer in live.timers:
            if timer is not asyncio.current_task():
                timer.cancel()
        self.hub.publish(live.id, {"type": "state", "state": state.value}, droppable=False)
        self.hub.end(live.id)
        shutil.rmtree(self._spool(live), ignore_errors=True)  # nothing left per session
        live.final.set()

    async def delete(self, session_id: int) -> None:
        live = self.live.get(session_id)
        if live is not None:
            action = action_for(live.state, Request.DELETE)
            if action in (Action.STOP_THEN_DELETE, Action.WAIT_THEN_DELETE):
                await self.stop(session_id)
        else:
            await asyncio.to_thread(self.store.load, session_id)
        self.ingest.release(session_id)  # (abandoned) batches still spooled are not stored
        await self.writer.delete_session(session_id)
        await asyncio.to_thread(self.store.delete, session_id)
        self.live.pop(session_id, None)
        self.writer.forget(session_id)

    # -- requests to a running worker --------------------------------------------------------

    async def marker(self, session_id: int, text: str) -> None:
        live = self._live(session_id)
        if live.state != S.RUNNING or live.worker is None:
            raise InvalidTransition(live.state.value, "mark")
        await live.worker.call("marker", {"text": text}, 10.0)

    async def maps(self, session_id: int) -> dict[str, Any]:
        live = self.live.get(session_id)
        if live is not None and live.state == S.RUNNING and live.worker is not None:
            maps = await live.worker.call("maps", {}, 30.0)
            return {"ts_ns": None, "maps": maps, "live": True}
        if live is not None and live.last_maps is not None:
            return {**live.last_maps, "live": False}
        await asyncio.to_thread(self.store.load, session_id)
        stored = await asyncio.to_thread(self.store.last_maps, session_id)
        return {**(stored or {"ts_ns": None, "maps": {}}), "live": False}

    def _live(self, session_id: int) -> LiveSession:
        live = self.live.get(session_id)
        if live is None:
            self.store.load(session_id)  # NotFound if there is no such session
            raise InvalidTransition("stopped", "change")
        return live

    # -- persistence -------------------------------------------------------------------------

    def _transition(self, live: LiveSession, state: SessionState) -> None:
        check_transition(live.state, state)
        live.state = state

    async def _persist(self, live: LiveSession, budget_s: float | None = None) -> None:
        """Write the session's row (retried for `budget_s`, by default the stop timeout); a
        write that keeps failing is logged and left to the persist loop, so no lifecycle
        step waits on the database for ever."""
        stored_bytes = self.writer.progress(live.id).stored_bytes
        try:
            await self.control.run(
                self.store.save, live, self.counters(live), stored_bytes, budget_s=budget_s
            )
        except SQLAlchemyError as exc:
            log.error("session %d: its state is not stored yet: %s", live.id, exc)
            self._unsaved.add(live.id)
        else:
            self._unsaved.discard(live.id)

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(PERSIST_INTERVAL_S)
            for live in list(self.live.values()):
                if live.active or live.id in self._unsaved:
                    with contextlib.suppress(Exception):
                        await self._persist(live)


def _background(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """A task whose failure is already recorded on its session (no unretrieved exception)."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


def _as_error(exc: BaseException) -> TracerdError:
    if isinstance(exc, TracerdError):
        return exc
    if isinstance(exc, TimeoutError):
        return WorkerFailed(f"the worker did not answer in time ({type(exc).__name__})")
    return WorkerFailed(f"starting failed: {type(exc).__name__}: {exc}")


def _failure(live: LiveSession) -> TracerdError:
    from ..errors import CompileError

    return CompileError(live.reason or "the session failed", {"id": str(live.id)})
