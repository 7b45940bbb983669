"""Frames from a session's worker: events stamped with `seq`, to the writer and the hub.

This runs on the event loop, one frame at a time per worker. `seq` is stamped here once,
in arrival order (the worker already merged per-CPU streams by timestamp). While the
writer's queue is over its cap this awaits, so the worker's socket is not read and the
backpressure travels back to the kernel buffers. Limits (`max_events`, budget) are
applied here; reaching one asks the manager to stop the session.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..specs import Budget
from ..storage.writer import EventWriter
from ..stream.hub import StreamHub
from ..types import EV_FIELDS, EV_NAME, LOST_EVENT_NAME, LossSource, lost_event
from ..workers import wire
from .control import ControlWrites
from .ledger import LedgerStore
from .live import LiveSession
from .spool import BatchSpool

log = logging.getLogger(__name__)

MAPS_EVENT_NAME = "maps"
STREAM_FIRST_KINDS = frozenset({"bpf"})
"""kinds whose batches are streamed (and stored as a loss record) when the writer is behind,
instead of holding their worker back"""
StopRequest = Callable[[LiveSession, str], None]
SpoolDir = Callable[[LiveSession], Path]
DEFAULT_SPOOL_BYTES = 256 << 20


class SessionIngest:
    def __init__(
        self,
        writer: EventWriter,
        hub: StreamHub,
        ledger: LedgerStore,
        control: ControlWrites,
        request_stop: StopRequest,
        spool_dir: SpoolDir | None = None,
        spool_bytes: int = DEFAULT_SPOOL_BYTES,
    ) -> None:
        self.writer = writer
        self.hub = hub
        self.ledger = ledger
        self.control = control
        """ledger writes go on its threads (not behind event work), one attempt each: the
        frame's handler retries the whole frame"""
        self.request_stop = request_stop
        self.spool_dir = spool_dir
        self.spool_bytes = spool_bytes
        self.spools: dict[int, BatchSpool] = {}
        """sessions of STREAM_FIRST_KINDS whose batches waited for the writer"""

    async def on_frame(self, live: LiveSession, frame: wire.Frame) -> None:
        kind = frame["t"]
        if kind == "events":
            await self.events(live, wire.frame_batch(frame))
        elif kind == "maps":
            await self.maps(live, int(frame["ts_ns"]), frame["maps"])
        elif kind == "info":
            live.info.update(frame["values"])
        elif kind == "lost_total":
            live.lost_totals[str(frame["source"])] = int(frame["count"])
        elif kind == "ended":
            self.ended(live, frame)
        elif kind == "ledger":
            await self.ledger_frame(live, frame)
        else:
            log.warning("session %d: unknown frame %r", live.id, kind)

    def ended(self, live: LiveSession, frame: wire.Frame) -> None:
        if frame.get("exit_status") is not None:
            live.exit_status = frame["exit_status"]
        reason = frame.get("reason")
        if frame.get("failed"):
            live.reason = reason or "the engine failed"
            live.engine_failed = True
        self.request_stop(live, reason or "the command exited")

    async def events(self, live: LiveSession, rows: Sequence[Sequence[Any]]) -> None:
        """A batch (an EventBatch, or rows in WireEvent order): nothing here is per event
        unless the session has limits or the batch holds loss records; rows are built only
        for stream subscribers."""
        events = wire.EventBatch.of_rows(rows)
        if not events or live.is_final:
            return
        events = self._apply_limits(live, events)
        if not events:
            return
        if live.kind in STREAM_FIRST_KINDS and (
            self._spooling(live.id) or self.writer.pending >= self.writer.cap_events
        ):
            self._stream_first(live, events)
            return
        await self.writer.wait_for_space()
        self._append(live, events)

    def _stream_first(self, live: LiveSession, events: wire.EventBatch) -> None:
        """The writer is behind: stream the batch live and spool it until the writer has
        room (a BPF ring buffer cannot wait: holding its reader back would only move the
        loss into the kernel, and the live view would lose it too). With the spool full (or
        none), a `storage` loss record is stored in its place."""
        first = live.next_seq
        live.next_seq += len(events)
        self._count(live, events)
        self.hub.publish_events(live.id, first, events)
        spool = self._spool(live)
        if spool is not None and spool.put(first, events):
            spool.drain_into(self.writer, live.id)
            return
        dropped = len(events) - events.lost
        last_ts = events.columns()[0][-1]
        record = wire.event_row(lost_event(LossSource.STORAGE.value, dropped, last_ts))
        live.lost_inband[LossSource.STORAGE.value] += dropped
        self._submit(live.id, live.next_seq, [record])  # one row past the cap
        self.hub.publish_events(live.id, live.next_seq, [record])  # its seq reaches streams
        live.next_seq += 1

    def _spooling(self, session_id: int) -> bool:
        spool = self.spools.get(session_id)
        return spool is not None and spool.pending

    def _spool(self, live: LiveSession) -> BatchSpool | None:
        spool = self.spools.get(live.id)
        if spool is None and self.spool_dir is not None and self.spool_bytes > 0:
            try:
                spool = self.spools[live.id] = BatchSpool(
                    str(self.spool_dir(live)), self.spool_bytes
                )
            except OSError:
                log.exception("session %d: no ingest spool", live.id)
        return spool

    def _submit(self, session_id: int, first: int, events: Sequence[Sequence[Any]]) -> None:
        """To the writer, behind what the session's spool holds (seq order)."""
        spool = self.spools.get(session_id)
        if spool is not None and spool.pending:
            spool.put(first, events, force=True)
            spool.drain_into(self.writer, session_id)
        else:
            self.writer.submit(session_id, first, events)

    def release(self, session_id: int) -> None:
        """The session's events are all committed: its spool goes."""
        spool = self.spools.pop(session_id, None)
        if spool is not None:
            spool.close()

    def _append(self, live: LiveSession, events: wire.EventBatch) -> None:
        first = live.next_seq
        live.next_seq += len(events)
        self._count(live, events)
        self._submit(live.id, first, events)
        self.hub.publish_events(live.id, first, events)

    @staticmethod
    def _count(live: LiveSession, events: wire.EventBatch) -> None:
        if not events.lost:  # the common batch: no row read
            live.received += len(events)
            return
        for ev in events:
            if ev[EV_NAME] == LOST_EVENT_NAME:
                lost = wire.load_fields(ev[EV_FIELDS])
                source = str(lost.get("source", "kernel"))
                live.lost_inband[source] = live.lost_inband.get(source, 0) + int(
                    lost.get("count", 0)
                )
            else:
                live.received += 1

    def _apply_limits(self, live: LiveSession, events: wire.EventBatch) -> wire.EventBatch:
        max_events = live.spec.max_events
        if max_events is not None:
            room = max_events - live.received
            if room <= 0:
                live.dropped_over_max += len(events)
                return wire.EventBatch.of_rows([])
            real = len(events) - events.lost
            if real >= room:
                events = wire.EventBatch.of_rows(_first_real(events, room))
                self.request_stop(live, f"max_events ({max_events}) reached")
        budget = live.spec.budget
        if budget is not None:
            events = wire.EventBatch.of_rows(self._apply_budget(live, budget, events))
        return events

    def _apply_budget(
        self, live: LiveSession, budget: Budget, events: wire.EventBatch
    ) -> Sequence[Sequence[Any]]:
        now_s = int(time.monotonic())
        if now_s != live.budget_window_s:
            live.budget_window_s, live.budget_window_events = now_s, 0
        limit = budget.max_events_per_s
        max_bytes = budget.max_bytes
        stored_bytes = self.writer.progress(live.id).stored_bytes
        if max_bytes is not None and stored_bytes >= max_bytes:
            self.request_stop(live, f"budget exceeded: stored {stored_bytes} bytes")
            return []
        if limit is None or live.budget_window_events + len(events) <= limit:
            live.budget_window_events += len(events)
            return events
        room = max(0, limit - live.budget_window_events)
        live.budget_window_events = limit
        if budget.on_exceed == "stop":
            self.request_stop(live, f"budget exceeded: more than {limit} events/s")
            return events[:room]
        dropped = len(events) - room
        kept = list(events[:room])
        ts = events[room][0] if room < len(events) else events[-1][0]
        kept.append(wire.event_row(lost_event(LossSource.BUDGET.value, dropped, ts)))
        return kept

    async def maps(self, live: LiveSession, ts_ns: int, maps: dict[str, Any]) -> None:
        live.last_maps = {"ts_ns": ts_ns, "maps": maps}
        self.hub.publish(live.id, {"type": "maps", "ts_ns": ts_ns, "maps": maps})
        await self.writer.wait_for_space()
        first = live.next_seq
        live.next_seq += 1
        self._submit(
            live.id,
            first,
            [
                [
                    ts_ns,
                    None,
                    None,
                    None,
                    None,
                    MAPS_EVENT_NAME,
                    wire.dump_fields({"maps": maps}),
                    None,
                    None,
                    None,
                ]
            ],
        )

    async def ledger_frame(self, live: LiveSession, frame: wire.Frame) -> None:
        worker = live.worker
        if frame["op"] == "record":
            data = dict(frame.get("data") or {})
            pid = data.get("pid")
            key = await self.control.run(
                self.ledger.record,
                live.id,
                str(frame["type"]),
                str(frame["name"]),
                data,
                int(pid) if pid is not None else None,
                data.get("start_time"),
                budget_s=0.0,
            )
            live.resources[str(key)] = {"type": frame["type"], "name": frame["name"]}
            answer: wire.Frame = {"t": "ledger_ack", "id": frame["id"], "key": str(key)}
        else:
            key = int(frame["key"])
            await self.control.run(self.ledger.cross_off, key, budget_s=0.0)
            live.resources.pop(str(key), None)
            answer = {"t": "ledger_ack", "id": frame["id"], "key": str(key)}
        if worker is not None:
            await worker.send(answer)


def _first_real(events: Sequence[Sequence[Any]], n: int) -> list[Sequence[Any]]:
    """The prefix of `events` holding `n` real (non-loss) events."""
    out: list[Sequence[Any]] = []
    for ev in events:
        if n <= 0:
            break
        out.append(ev)
        if ev[EV_NAME] != LOST_EVENT_NAME:
            n -= 1
    return out
