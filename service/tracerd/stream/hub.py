"""StreamHub: fan-out of live session messages to WebSocket subscribers.

A batch is encoded to JSON once (per distinct subscriber filter) and the same text is
queued for every subscriber (as `str`, what the WebSocket send takes: a message costs each
subscriber one join and the server's UTF-8 encode, no decode); each subscriber's queue is
bounded in bytes of memory (and all queues together by a hub-wide total). Publishing never
waits. When a subscriber's queue is full an `events` frame is dropped for that subscriber
only: the seqs it covered become the subscriber's pending loss, which reaches it as a
`lost` message (source `subscriber`, `seq` the first missing seq, `last_seq` the last,
`count` the events missing) before anything queued after the drop, `end` included. In-band
loss records of other sources (`kernel`, `bpf`, `storage`) that had to be dropped are
folded into one `lost` message per source with their summed `count`. So for every
subscriber: seqs of delivered events + the seqs covered by `lost` messages = every seq of
the session (filtered subscribers: every matching one).

`state` and `end` messages are never dropped (they are few and small); `maps` snapshots are
dropped when the queue is full (the next snapshot supersedes them).

Subscribers of the opt-in `columns` format (stream/columns.py) get their batches as
`columns` frames instead, encoded once per filter as well (as column texts, which merge
column by column); everything else is the same.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..columns import COLUMNS_FORMAT, EVENTS_FORMAT, ColumnRun, KeyTable, columns_message
from ..errors import QuotaExceeded
from ..fields import load_fields
from ..types import EV_CPU, EV_FIELDS, EV_NAME, EV_PID, EV_TID, EV_TS_NS, LOST_EVENT_NAME

Message = dict[str, Any]
FilterKey = tuple[frozenset[str] | None, frozenset[int] | None, str]

SUBSCRIBER_SOURCE = "subscriber"
EVENTS_OPEN = '{"type":"events","events":['
EVENTS_CLOSE = "]}"
EVENT_KINDS = (EVENTS_FORMAT, COLUMNS_FORMAT)  # the frames of events (by format)
MERGE_BYTES = 256 * 1024  # adjacent `events` frames merge into one message up to this size


class TooManySubscribers(QuotaExceeded):
    """A subscriber cap is reached (the stream closes with 4429)."""


def encode_events(events: Iterable[tuple[int, Sequence[Any]]]) -> bytes:
    """(seq, wire event) pairs (no loss records) -> the JSON array of their event objects."""
    frag = orjson.Fragment
    doc = orjson.dumps(
        [
            {
                "seq": seq,
                "ts_ns": ts_ns,
                "cpu": cpu,
                "pid": pid,
                "tid": tid,
                "comm": comm,
                "name": name,
                # the fields' JSON text goes in as is (never parsed and re-encoded)
                "fields": frag(fields),
            }
            for seq, (ts_ns, cpu, pid, tid, comm, name, fields, _dur, _ret, _err) in events
        ]
    )
    return doc


def lost_message(
    seq: int | None,
    source: Any,
    count: Any,
    cpu: Any = None,
    ts_ns: Any = None,
    last_seq: int | None = None,
) -> Message:
    message: Message = {
        "type": "lost",
        "seq": seq,
        "source": source,
        "count": count,
        "cpu": cpu,
        "ts_ns": ts_ns,
    }
    if last_seq is not None:
        message["last_seq"] = last_seq
    return message


@dataclass(slots=True)
class Frame:
    """One queued unit: `events` frames hold their event objects' JSON text (`data`: the
    array without its brackets, so frames merge by joining), `columns` frames their column
    texts (`run`), every other kind the whole message's JSON."""

    kind: str
    data: str | None  # None: not encoded (no subscriber had room for it)
    size: int  # the memory `data` holds
    first_seq: int | None = None
    last_seq: int | None = None
    count: int = 0  # events in an `events` frame; the lost count of a `lost` frame
    source: str | None = None  # of a `lost` frame
    ts_ns: int | None = None
    droppable: bool = True
    run: ColumnRun | None = None  # a `columns` frame's events

    @property
    def encoded(self) -> bool:
        return self.data is not None or self.run is not None


def control_frame(message: Message, droppable: bool) -> Frame:
    data = orjson.dumps(message).decode()
    return Frame(str(message["type"]), data, sys.getsizeof(data), droppable=droppable)


@dataclass(slots=True)
class PendingLoss:
    """What a subscriber missed since its last delivered frame (one contiguous seq range)."""

    first_seq: int | None = None
    last_seq: int | None = None
    events: int = 0
    ts_ns: int | None = None
    sources: dict[str, tuple[int, int]] = field(default_factory=dict)  # source -> (seq, count)

    def add(self, frame: Frame) -> None:
        if frame.first_seq is not None:
            if self.first_seq is None:
                self.first_seq = frame.first_seq
            self.last_seq = frame.last_seq
        if frame.ts_ns is not None:
            self.ts_ns = frame.ts_ns
        if frame.kind in EVENT_KINDS:
            self.events += frame.count
        elif frame.kind == "lost" and frame.source is not None:
            seq, count = self.sources.get(frame.source, (frame.first_seq or 0, 0))
            self.sources[frame.source] = (seq, count + frame.count)

    def frames(self) -> list[Frame]:
        out = []
        if self.first_seq is not None:
            sub = lost_message(
                self.first_seq,
                SUBSCRIBER_SOURCE,
                self.events,
                ts_ns=self.ts_ns,
                last_seq=self.last_seq,
            )
            out.append(control_frame(sub, droppable=False))
        for source, (seq, count) in self.sources.items():
            out.append(control_frame(lost_message(seq, source, count), droppable=False))
        return out


@dataclass(eq=False)
class Subscriber:
    session_id: int
    names: frozenset[str] | None
    pids: frozenset[int] | None
    principal: str
    max_bytes: int
    format: str = EVENTS_FORMAT
    frames: deque[Frame] = field(default_factory=deque)
    queued_bytes: int = 0
    pending: PendingLoss | None = None
    lost_events: int = 0  # events this subscriber missed (all its `lost` subscriber counts)
    close_code: int | None = None  # set by the hub: close the stream with this code
    close_reason: str = ""
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    id: int = field(default_factory=itertools.count().__next__)

    @property
    def filter_key(self) -> FilterKey:
        return self.names, self.pids, self.format

    def accepts(self, ev: Sequence[Any]) -> bool:
        if self.names is not None and ev[EV_NAME] not in self.names:
            return False
        return self.pids is None or ev[EV_PID] in self.pids or ev[EV_TID] in self.pids

    def take(self, max_bytes: int = MERGE_BYTES) -> tuple[list[str], int]:
        """Queued frames -> messages to send (adjacent `events` frames merged up to
        `max_bytes`, as are adjacent `columns` frames of one key generation), and the bytes
        they held in the queue."""
        out: list[str] = []
        taken = 0
        run: list[str] = []
        columns: list[ColumnRun] = []
        count = run_bytes = 0
        while self.frames:
            frame = self.frames[0]
            if frame.run is not None:
                if columns and (
                    run_bytes + frame.size > max_bytes
                    or frame.run.generation != columns[0].generation
                ):
                    break
                columns.append(frame.run)
                count += frame.count
                run_bytes += frame.size
            elif frame.kind == "events":
                assert frame.data is not None  # only encoded frames are queued
                if run and run_bytes + frame.size > max_bytes:
                    break
                run.append(frame.data)
                run_bytes += frame.size
            else:
                assert frame.data is not None
                if run or columns:
                    break
                out.append(frame.data)
                self.frames.popleft()
                taken += frame.size
                if frame.kind == "end":
                    break
                continue
            self.frames.popleft()
            taken += frame.size
        if run:  # one copy: the frames' event objects, comma-joined
            parts = [EVENTS_OPEN]
            for data in run:
                parts += (data, ",")
            parts[-1] = EVENTS_CLOSE
            out.append("".join(parts))
        if columns:
            out.append(columns_message(count, columns))
        self.queued_bytes -= taken
        return out, taken


@dataclass(frozen=True, slots=True)
class HubLimits:
    queue_bytes: int = 8 * 1024 * 1024  # per subscriber
    total_bytes: int = 256 * 1024 * 1024  # all subscribers' queues together
    per_session: int = 64
    per_principal: int = 64
    total: int = 256


class StreamHub:
    def __init__(self, limits: HubLimits | None = None) -> None:
        self.limits = limits or HubLimits()
        self._subs: dict[int, set[Subscriber]] = {}
        self._keys: dict[int, KeyTable] = {}  # sessions with `columns` subscribers
        self._count = 0
        self._event_bytes = 200  # encoded bytes per event, as last measured
        self.queued_bytes = 0  # over all subscribers (a frame shared by n counts n times)
        self.lost_events_total = 0  # subscriber loss, all subscribers (for metrics)

    # -- subscribers ----------------------------------------------------------------------

    def subscribe(
        self,
        session_id: int,
        names: Sequence[str] | None = None,
        pids: Sequence[int] | None = None,
        principal: str = "",
        format: str = EVENTS_FORMAT,
    ) -> Subscriber:
        self._check_caps(session_id, principal)
        sub = Subscriber(
            session_id,
            frozenset(names) if names else None,
            frozenset(pids) if pids else None,
            principal,
            self.limits.queue_bytes,
            format,
        )
        self._subs.setdefault(session_id, set()).add(sub)
        self._count += 1
        return sub

    def _check_caps(self, session_id: int, principal: str) -> None:
        lim = self.limits
        every = self.subscribers()
        if len(every) >= lim.total:
            raise TooManySubscribers(f"the daemon already has {lim.total} stream subscribers")
        if len(self._subs.get(session_id, ())) >= lim.per_session:
            raise TooManySubscribers(f"session {session_id} already has {lim.per_session} streams")
        if sum(1 for s in every if s.principal == principal) >= lim.per_principal:
            raise TooManySubscribers(f"this token already has {lim.per_principal} open streams")

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.session_id)
        if subs is not None and sub in subs:
            subs.discard(sub)
            self._count -= 1
            if not subs:
                del self._subs[sub.session_id]
                self._keys.pop(sub.session_id, None)
            self.queued_bytes -= sub.queued_bytes
            sub.queued_bytes = 0
            sub.frames.clear()

    def subscribers(self, session_id: int | None = None) -> tuple[Subscriber, ...]:
        if session_id is not None:
            return tuple(self._subs.get(session_id, ()))
        return tuple(s for subs in self._subs.values() for s in subs)

    def subscriber_count(self, session_id: int) -> int:
        return len(self._subs.get(session_id, ()))

    def has_subscribers(self, session_id: int) -> bool:
        return bool(self._subs.get(session_id))

    def close_principal(self, principal: str, code: int, reason: str) -> int:
        """Close every stream opened by `principal` (a revoked token): returns how many."""
        closing = [s for s in self.subscribers() if s.principal == principal]
        for sub in closing:
            sub.close_code, sub.close_reason = code, reason
            sub.wake.set()
        return len(closing)

    def take(self, sub: Subscriber) -> list[str]:
        """The next messages to send to `sub` (see `Subscriber.take`). A loss still pending
        when the queue runs empty is queued then, not only before the next frame."""
        out, nbytes = sub.take()
        self.queued_bytes -= nbytes
        if sub.pending is not None and not sub.frames:
            self._flush(sub)
        return out

    # -- publishing -----------------------------------------------------------------------

    def publish_events(
        self, session_id: int, first_seq: int, events: Sequence[Sequence[Any]]
    ) -> None:
        subs = self._subs.get(session_id)
        if not subs:
            return
        by_filter: dict[FilterKey, list[Subscriber]] = {}
        for sub in tuple(subs):
            by_filter.setdefault(sub.filter_key, []).append(sub)
        estimate = len(events) * self._event_bytes
        for group in by_filter.values():
            # a batch no subscriber of the group has room for is not encoded at all
            encode = any(self._room(sub, estimate) for sub in group)
            keys = None
            if group[0].format == COLUMNS_FORMAT:
                keys = self._keys.get(session_id) or self._keys.setdefault(session_id, KeyTable())
            for frame in batch_frames(first_seq, events, group[0], encode, keys):
                if frame.kind in EVENT_KINDS and frame.count and encode:
                    self._event_bytes = max(1, frame.size // frame.count)
                for sub in group:
                    self._offer(sub, frame)

    def publish(self, session_id: int, message: Message, droppable: bool = True) -> None:
        subs = self._subs.get(session_id)
        if not subs:
            return
        frame = control_frame(message, droppable)
        for sub in tuple(subs):
            self._offer(sub, frame)

    def end(self, session_id: int) -> None:
        self.publish(session_id, {"type": "end"}, droppable=False)

    def _room(self, sub: Subscriber, size: int) -> bool:
        if sub.queued_bytes == 0:  # a frame larger than the whole queue is queued alone
            return True
        if sub.queued_bytes + size > sub.max_bytes:
            return False
        # past the hub-wide total only the subscribers holding more than their share lose
        # (a stuck subscriber never costs the others their events)
        return (
            self.queued_bytes + size <= self.limits.total_bytes
            or (sub.queued_bytes + size) * self._count <= self.limits.total_bytes
        )

    def _offer(self, sub: Subscriber, frame: Frame) -> None:
        if frame.droppable and (not frame.encoded or not self._room(sub, frame.size)):
            if frame.first_seq is not None:  # a `maps` snapshot is superseded by the next
                if sub.pending is None:
                    sub.pending = PendingLoss()
                sub.pending.add(frame)
            return
        if sub.pending is not None:
            self._flush(sub)
        self._put(sub, frame)

    def _flush(self, sub: Subscriber) -> None:
        assert sub.pending is not None
        for lost in sub.pending.frames():
            self._put(sub, lost)
        sub.lost_events += sub.pending.events
        self.lost_events_total += sub.pending.events
        sub.pending = None

    def _put(self, sub: Subscriber, frame: Frame) -> None:
        sub.frames.append(frame)
        sub.queued_bytes += frame.size
        self.queued_bytes += frame.size
        sub.wake.set()


def batch_frames(
    first_seq: int,
    events: Sequence[Sequence[Any]],
    sub: Subscriber,
    encode: bool = True,
    keys: KeyTable | None = None,
) -> list[Frame]:
    """Wire events -> frames for subscribers with `sub`'s filter: runs of events split by
    in-band loss records (each a `lost` frame with its own seq); `columns` frames with
    `keys` (the session's key table), else `events` frames. Without `encode`, event frames
    carry only their seqs and counts (to be dropped)."""
    out: list[Frame] = []
    for start, stop, loss in split_at_losses([ev[EV_NAME] for ev in events]):
        _add_run(out, first_seq, events, start, stop, sub, encode, keys)
        if loss is not None:
            out.append(loss_frame(first_seq + loss, events[loss]))
    return out


def split_at_losses(names: Sequence[str]) -> Iterator[tuple[int, int, int | None]]:
    """Events (by name) -> (start, stop, index of the in-band loss record after the run or
    None at the end): the runs of ordinary events between loss records, in order."""
    start = 0
    for i, name in enumerate(names):
        if name == LOST_EVENT_NAME:
            yield start, i, i
            start = i + 1
    yield start, len(names), None


def loss_frame(seq: int, ev: Sequence[Any]) -> Frame:
    """An in-band loss record -> its `lost` frame."""
    fields = load_fields(ev[EV_FIELDS])
    count = int(fields.get("count") or 0)
    source = str(fields.get("source"))
    frame = control_frame(
        lost_message(seq, source, count, ev[EV_CPU], ev[EV_TS_NS]), droppable=True
    )
    frame.first_seq = frame.last_seq = seq
    frame.count, frame.source, frame.ts_ns = count, source, ev[EV_TS_NS]
    return frame


def _add_run(
    out: list[Frame],
    first_seq: int,
    events: Sequence[Sequence[Any]],
    start: int,
    stop: int,
    sub: Subscriber,
    encode: bool,
    keys: KeyTable | None = None,
) -> None:
    if start >= stop:
        return
    run = events[start:stop]
    a, b = first_seq + start, first_seq + stop - 1
    if keys is not None:
        _add_column_run(out, run, a, sub, encode, keys)
        return
    pairs: Sequence[tuple[int, Sequence[Any]]]
    if sub.names is None and sub.pids is None:
        pairs = tuple(enumerate(run, a)) if encode else ()
        count = len(run)
    else:
        pairs = [(seq, ev) for seq, ev in enumerate(run, a) if sub.accepts(ev)]
        count = len(pairs)
        if not count:
            return
    data = str(memoryview(encode_events(pairs))[1:-1], "utf-8") if encode else None
    size = sys.getsizeof(data) if data is not None else 0
    out.append(Frame("events", data, size, a, b, count, ts_ns=run[-1][0]))


def _add_column_run(
    out: list[Frame],
    run: Sequence[Sequence[Any]],
    a: int,
    sub: Subscriber,
    encode: bool,
    keys: KeyTable,
) -> None:
    """`_add_run` for a `columns` subscriber: the run as a ColumnRun."""
    b, ts_ns = a + len(run) - 1, run[-1][0]
    seqs: Sequence[int] = range(a, b + 1)
    if sub.names is not None or sub.pids is not None:
        pairs = [(seq, ev) for seq, ev in enumerate(run, a) if sub.accepts(ev)]
        if not pairs:
            return
        seqs, run = [p[0] for p in pairs], [p[1] for p in pairs]
    columns = keys.run(seqs, run) if encode else None
    size = columns.size if columns is not None else 0
    out.append(Frame(COLUMNS_FORMAT, None, size, a, b, len(seqs), ts_ns=ts_ns, run=columns))
