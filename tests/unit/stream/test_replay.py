"""`from_seq` replay messages, encoded by the database, against the ORM's events paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tracerd.api.stream import stored_messages
from tracerd.columns import COLUMNS_FORMAT, EVENTS_FORMAT, column_events
from tracerd.storage import replay
from tracerd.storage.queries import EventFilter
from tracerd.storage.replay import Escaped
from tracerd.stream.hub import EVENTS_CLOSE, EVENTS_OPEN, encode_events
from tracerd.types import LOST_EVENT_NAME
from tracerd.workers import wire

from ..storage.test_data_path import T0, Env, FakeEngine

ODD_COMMS = ['q"uote', "back\\slash", "tab\there", "ünï", "ctl\x01"]


def odd_frame(first: int) -> wire.Frame:
    """Events whose comm and fields need JSON escaping, a null cpu and a `maps` record."""
    events = [
        [T0 + first + i, None if i == 0 else 1, 7, 8, comm, "sched:sched_process_exec",
         wire.dump_fields({"filename": comm + '"/x', "n": i}), None, None, None]
        for i, comm in enumerate(ODD_COMMS)
    ]  # fmt: skip
    events.append([T0, None, None, None, None, "maps", wire.dump_fields({"maps": {}})] + [None] * 3)
    return {"t": "events", "events": events}


def replayed(
    env: Env, flt: EventFilter, first: int, page: int = 1000, fmt: str = EVENTS_FORMAT
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    last = env.live.next_seq - 1
    with env.engine.connect() as conn:
        escaped = Escaped.read(conn)
        for start in range(first, last + 1, page):
            stop = min(start + page - 1, last)
            out += map(orjson.loads, stored_messages(conn, env.sid, flt, start, stop, escaped, fmt))
    return out


@pytest.mark.parametrize(
    "flt",
    [EventFilter(), EventFilter(pids=[101, 7]), EventFilter(names=["raw_syscalls:sys_exit"])],
)
@pytest.mark.parametrize("first", [0, 1234])
def test_replay_equals_the_stored_events_with_loss_in_place(
    tmp_path: Path, flt: EventFilter, first: int
) -> None:
    env = Env(tmp_path)
    fake = FakeEngine(batches=3, size=1500)
    frames = list(fake.frames())
    env.feed([*frames[:2], odd_frame(3000), frames[2]])
    stored = env.events()
    want: list[dict[str, Any]] = []
    for ev in stored:
        if ev["seq"] < first:
            continue
        if ev["name"] == "lost":  # loss records come whatever the filter
            want.append({"type": "lost", "seq": ev["seq"], "source": "kernel", "count": 17})
        elif (not flt.pids or ev["pid"] in flt.pids) and (not flt.names or ev["name"] in flt.names):
            want.append(ev)
    got: list[dict[str, Any]] = []
    for msg in replayed(env, flt, first):
        if msg["type"] == "events":
            assert len(msg["events"]) <= 1000
            got += msg["events"]
        else:
            assert msg["type"] == "lost"
            got.append({k: msg[k] for k in ("type", "seq", "source", "count")})
    assert got == want
    assert any(e.get("comm") in ODD_COMMS for e in got) == (flt.names == ())


@pytest.mark.parametrize("flt", [EventFilter(), EventFilter(pids=[101, 7])])
def test_replay_text_is_the_live_text(tmp_path: Path, flt: EventFilter) -> None:
    """Each replayed `events` message is byte for byte what the live hub sends for the same
    events, and what the other databases' path (raw rows through orjson) gives."""
    env = Env(tmp_path)
    frames = [*FakeEngine(batches=2, size=1500).frames(), odd_frame(3000)]
    env.feed(frames)
    wire_events = [ev for frame in frames for ev in frame["events"]]  # seq = index
    last = env.live.next_seq - 1
    assert last == len(wire_events) - 1
    checked = 0
    with env.engine.connect() as conn:
        escaped = Escaped.read(conn)
        for start in range(0, last + 1, 700):
            stop = min(start + 699, last)
            for text in stored_messages(conn, env.sid, flt, start, stop, escaped):
                msg = orjson.loads(text)
                if msg["type"] != "events":
                    continue
                seqs = [e["seq"] for e in msg["events"]]
                live = encode_events((seq, wire_events[seq]) for seq in seqs)
                assert text == EVENTS_OPEN + live[1:-1].decode() + EVENTS_CLOSE
                a, b = seqs[0], seqs[-1]
                assert text == replay.rows_message(conn, replay._range_query(env.sid, flt, a, b))
                checked += len(seqs)
    plain = [ev for ev in wire_events if ev[5] != LOST_EVENT_NAME]
    want = [ev for ev in plain if not flt.pids or ev[2] in flt.pids or ev[3] in flt.pids]
    assert checked == len(want) > 0


@pytest.mark.parametrize(
    "flt", [EventFilter(), EventFilter(pids=[101, 7]), EventFilter(names=["maps", "x:y"])]
)
def test_replay_columns_carry_the_events_of_the_events_format(
    tmp_path: Path, flt: EventFilter
) -> None:
    """`?format=columns` replay: the same events (escaped comms, null cpu, `maps` records
    included) and the same `lost` messages as the `events` format; SQLite's columns equal
    those the other databases' path (raw rows through the hub's encoder) gives."""
    env = Env(tmp_path)
    env.feed([*FakeEngine(batches=2, size=1500).frames(), odd_frame(3000)])
    want = replayed(env, flt, 0, page=700)
    got = replayed(env, flt, 0, page=700, fmt=COLUMNS_FORMAT)
    assert [m for m in got if m["type"] == "lost"] == [m for m in want if m["type"] == "lost"]
    want_events = [e for m in want if m["type"] == "events" for e in m["events"]]
    got_events = [e for m in got if m["type"] == "columns" for e in column_events(m)]
    assert got_events == want_events
    assert any(e["comm"] in ODD_COMMS for e in got_events) == (flt.names == ())
    with env.engine.connect() as conn:
        escaped = Escaped.read(conn)
        last = env.live.next_seq - 1
        text = replay.stored_columns(conn, env.sid, flt, 0, last, escaped)
        rows = replay.rows_columns(conn, replay._range_query(env.sid, flt, 0, last))
    assert text is not None
    assert rows is not None
    assert column_events(orjson.loads(text)) == column_events(orjson.loads(rows))
