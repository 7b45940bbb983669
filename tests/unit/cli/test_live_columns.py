"""The CLI's stream reader: a `columns` message reaches the printers as the `events`
message of the same events (what the hub sends an `events` subscriber)."""

from __future__ import annotations

from typing import Any

import orjson

from tracerd.cli.live import FollowResult, _handle
from tracerd.stream.hub import StreamHub


def test_a_columns_message_is_printed_as_its_events() -> None:
    hub = StreamHub()
    plain, cols = hub.subscribe(1), hub.subscribe(1, format="columns")
    fields = orjson.dumps({"n": 1, "s": 'q"x'}).decode()
    batch = [
        [10, 0, 7, 8, "sh", "sched:sched_switch", fields, None, None, None],
        [11, None, None, None, None, "maps", "{}", None, None, None],
    ]
    hub.publish_events(1, 5, batch)
    printed: list[dict[str, Any]] = []
    result = FollowResult()
    for raw in hub.take(cols):
        assert not _handle(orjson.loads(raw), printed.append, result)
    assert printed == [orjson.loads(raw) for raw in hub.take(plain)]
    assert result.events == 2
