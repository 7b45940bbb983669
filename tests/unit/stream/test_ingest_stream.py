"""SessionIngest -> StreamHub without a daemon: what a subscriber sees of a bpf session whose
writer is behind (its batches streamed only, a `storage` loss record stored in their place)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from tracerd.sessions.ingest import SessionIngest
from tracerd.sessions.live import LiveSession
from tracerd.specs import SPEC_BY_KIND
from tracerd.stream.hub import StreamHub
from tracerd.types import SessionState

from ...streams import Seen
from .test_hub import drain, event


class BehindWriter:
    """An EventWriter whose queue is full: every bpf batch goes the stream-only way."""

    cap_events = 10

    def __init__(self) -> None:
        self.pending = self.cap_events
        self.submitted: list[tuple[int, list[list[Any]]]] = []

    def submit(self, session_id: int, first_seq: int, rows: list[list[Any]]) -> None:
        self.submitted.append((first_seq, rows))

    async def wait_for_space(self) -> None:
        return None


def live_session(kind: str) -> LiveSession:
    live = LiveSession(
        id=1, kind=kind, name="t", spec_json={}, owner=None,
        state=SessionState.RUNNING, created_at=datetime.now(UTC),
    )  # fmt: skip
    live.spec = SPEC_BY_KIND[kind].model_construct()  # no limits
    return live


def test_storage_loss_of_a_streamed_only_batch_reaches_subscribers() -> None:
    hub = StreamHub()
    sub = hub.subscribe(1)
    writer = BehindWriter()
    ingest = SessionIngest(
        cast(Any, writer), hub, cast(Any, None), cast(Any, None), lambda live, why: None
    )
    live = live_session("bpf")

    async def feed() -> None:
        for b in range(3):
            await ingest.on_frame(
                live, {"t": "events", "events": [event(b * 5 + i) for i in range(5)]}
            )

    asyncio.run(feed())
    seen = Seen()
    drain(hub, sub, seen)
    # three batches of 5 events, each followed by its `storage` loss record: seqs 0..17
    assert live.next_seq == 18
    assert seen.events == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16]
    assert [(m["seq"], m["source"], m["count"]) for m in seen.lost] == [
        (5, "storage", 5),
        (11, "storage", 5),
        (17, "storage", 5),
    ]
    assert sorted(seen.events + seen.covered) == list(range(live.next_seq))
    assert [first for first, _ in writer.submitted] == [5, 11, 17]  # only the loss records
