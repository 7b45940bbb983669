"""StreamHub: fan-out of live session messages to WebSocket subscribers.

Each subscriber has a bounded queue of messages; publishing never waits. When a queue is
full the batch is dropped for that subscriber only and counted: the subscriber then gets
an in-band `lost` message (source "subscriber") before its next delivered batch, and the
session's `lost.subscriber` counter grows.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..types import LOST_EVENT_NAME
from ..workers.wire import load_fields

Message = dict[str, Any]


def event_dict(seq: int, ev: Sequence[Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "ts_ns": ev[0],
        "cpu": ev[1],
        "pid": ev[2],
        "tid": ev[3],
        "comm": ev[4],
        "name": ev[5],
        # the fields' JSON text goes into the message as is (never parsed and re-encoded)
        "fields": orjson.Fragment(ev[6]),
    }


def batch_messages(first_seq: int, events: Sequence[Sequence[Any]]) -> list[Message]:
    """Wire batches -> stream messages: `events` batches split by in-band `lost` records."""
    out: list[Message] = []
    run: list[dict[str, Any]] = []
    for i, ev in enumerate(events):
        seq = first_seq + i
        if ev[5] == LOST_EVENT_NAME:
            if run:
                out.append({"type": "events", "events": run})
                run = []
            fields = load_fields(ev[6])
            out.append(
                {
                    "type": "lost",
                    "seq": seq,
                    "source": fields.get("source"),
                    "count": fields.get("count"),
                    "cpu": ev[1],
                    "ts_ns": ev[0],
                }
            )
        else:
            run.append(event_dict(seq, ev))
    if run:
        out.append({"type": "events", "events": run})
    return out


@dataclass(eq=False)
class Subscriber:
    session_id: int
    names: frozenset[str] | None
    pids: frozenset[int] | None
    queue: asyncio.Queue[Message]
    dropped: int = 0
    dropped_pending: int = 0
    id: int = field(default_factory=itertools.count().__next__)

    def accepts(self, event: dict[str, Any]) -> bool:
        if self.names is not None and event["name"] not in self.names:
            return False
        return self.pids is None or event["pid"] in self.pids or event["tid"] in self.pids

    def filter(self, message: Message) -> Message | None:
        if message["type"] != "events" or (self.names is None and self.pids is None):
            return message
        kept = [e for e in message["events"] if self.accepts(e)]
        return {"type": "events", "events": kept} if kept else None


class StreamHub:
    def __init__(self, queue_messages: int) -> None:
        self.queue_messages = queue_messages
        self._subs: dict[int, set[Subscriber]] = {}
        self.dropped_by_session: dict[int, int] = {}

    def subscribe(
        self, session_id: int, names: Sequence[str] | None = None, pids: Sequence[int] | None = None
    ) -> Subscriber:
        sub = Subscriber(
            session_id,
            frozenset(names) if names else None,
            frozenset(pids) if pids else None,
            asyncio.Queue(self.queue_messages),
        )
        self._subs.setdefault(session_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.session_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.session_id]

    def subscriber_count(self, session_id: int) -> int:
        return len(self._subs.get(session_id, ()))

    def has_subscribers(self, session_id: int) -> bool:
        return bool(self._subs.get(session_id))

    def publish_events(
        self, session_id: int, first_seq: int, events: Sequence[Sequence[Any]]
    ) -> None:
        if not self.has_subscribers(session_id):
            return
        for message in batch_messages(first_seq, events):
            self.publish(session_id, message)

    def publish(self, session_id: int, message: Message, droppable: bool = True) -> None:
        for sub in tuple(self._subs.get(session_id, ())):
            filtered = sub.filter(message)
            if filtered is not None:
                self._offer(sub, filtered, droppable)

    def _offer(self, sub: Subscriber, message: Message, droppable: bool) -> None:
        if sub.dropped_pending and sub.queue.qsize() < sub.queue.maxsize - 1:
            sub.queue.put_nowait(
                {
                    "type": "lost",
                    "seq": None,
                    "source": "subscriber",
                    "count": sub.dropped_pending,
                    "cpu": None,
                    "ts_ns": None,
                }
            )
            sub.dropped_pending = 0
        if sub.queue.full():
            if droppable:
                n = len(message.get("events", ())) or 1
                sub.dropped += n
                sub.dropped_pending += n
                self.dropped_by_session[sub.session_id] = (
                    self.dropped_by_session.get(sub.session_id, 0) + n
                )
                return
            # state/end messages must arrive: make room by dropping the oldest batch
            old = sub.queue.get_nowait()
            n = len(old.get("events", ())) or 1
            sub.dropped += n
            self.dropped_by_session[sub.session_id] = (
                self.dropped_by_session.get(sub.session_id, 0) + n
            )
        sub.queue.put_nowait(message)

    def end(self, session_id: int) -> None:
        self.publish(session_id, {"type": "end"}, droppable=False)
