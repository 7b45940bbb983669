"""StreamHub without a daemon: fake wire batches in, exact seq coverage and bounded bytes out."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from tracerd.columns import COLUMNS_FORMAT, FORMATS, MAX_KEYS, column_events
from tracerd.stream import hub as hub_module
from tracerd.stream.hub import HubLimits, StreamHub, Subscriber, TooManySubscribers
from tracerd.types import LOST_EVENT_NAME

from ...streams import Seen

KIB = 1024


def event(i: int, name: str = "sched:sched_switch", pid: int = 100) -> list[Any]:
    fields = orjson.dumps({"prev_comm": "x" * 20, "n": i})
    return [1_000 + i, i % 2, pid, pid, "comm", name, fields, None, None, None]  # as on the wire


def loss_record(i: int, count: int, source: str = "kernel") -> list[Any]:
    fields = orjson.dumps({"source": source, "count": count})
    return [1_000 + i, 0, None, None, "", LOST_EVENT_NAME, fields, None, None, None]


def drain(hub: StreamHub, sub: Subscriber, seen: Seen, max_messages: int | None = None) -> None:
    n = 0
    while max_messages is None or n < max_messages:
        messages = hub.take(sub)
        if not messages:
            return
        for raw in messages:
            seen.add(raw)
            n += 1


class Feed:
    """A session's batches: seqs handed out in order, as the ingest does."""

    def __init__(self, hub: StreamHub, sid: int = 1) -> None:
        self.hub, self.sid, self.next_seq = hub, sid, 0
        self.kinds: dict[int, str] = {}  # seq -> event name (or lost)
        self.lost_counts: dict[int, int] = {}

    def batch(self, n: int, loss_every: int = 0, name: str = "sched:sched_switch") -> None:
        events = []
        for i in range(n):
            seq = self.next_seq + i
            if loss_every and i % loss_every == loss_every - 1:
                events.append(loss_record(seq, 7))
                self.kinds[seq] = LOST_EVENT_NAME
                self.lost_counts[seq] = 7
            else:
                events.append(event(seq, name))
                self.kinds[seq] = name
        self.hub.publish_events(self.sid, self.next_seq, events)
        self.next_seq += n


def assert_exact(feed: Feed, seen: Seen, names: set[str] | None = None) -> None:
    """Delivered events + lost ranges = every (matching) seq, each once; subscriber counts
    equal the events missing, other sources keep their counts."""
    wanted = {
        s for s, k in feed.kinds.items() if names is None or k in names or k == LOST_EVENT_NAME
    }
    assert len(seen.events) == len(set(seen.events))
    assert seen.events == sorted(seen.events)
    assert set(seen.events).isdisjoint(seen.covered)
    assert wanted <= set(seen.events) | set(seen.covered)
    for msg in seen.lost:
        if msg["source"] == "subscriber":
            span = range(msg["seq"], msg["last_seq"] + 1)
            missing = [s for s in span if feed.kinds[s] != LOST_EVENT_NAME and s in wanted]
            assert msg["count"] == len(missing), msg
    kernel = sum(m["count"] for m in seen.lost if m["source"] == "kernel")
    assert kernel == sum(feed.lost_counts.values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_fast_subscriber_gets_every_seq_once_and_no_loss(fmt: str) -> None:
    hub = StreamHub()
    sub = hub.subscribe(1, format=fmt)
    feed, seen = Feed(hub), Seen()
    for _ in range(20):
        feed.batch(100, loss_every=37)
        drain(hub, sub, seen)
    hub.end(1)
    drain(hub, sub, seen)
    assert_exact(feed, seen)
    assert not any(m["source"] == "subscriber" for m in seen.lost)
    assert seen.types[-1] == "end"
    assert hub.queued_bytes == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_full_queue_drops_whole_frames_and_announces_them_with_real_seqs(fmt: str) -> None:
    hub = StreamHub(HubLimits(queue_bytes=64 * KIB))
    sub = hub.subscribe(1, format=fmt)
    feed, seen = Feed(hub), Seen()
    for _ in range(50):
        feed.batch(200)  # never drained: most are dropped
    assert sub.queued_bytes <= 64 * KIB
    hub.end(1)
    drain(hub, sub, seen)
    assert_exact(feed, seen)
    sub_lost = [m for m in seen.lost if m["source"] == "subscriber"]
    assert len(sub_lost) == 1
    assert sub_lost[0]["seq"] is not None
    assert sub_lost[0]["last_seq"] == feed.next_seq - 1
    assert seen.types[-2:] == ["lost", "end"]  # a pending loss comes before `end`
    assert sub.lost_events == sub_lost[0]["count"] == hub.lost_events_total


@pytest.mark.parametrize("fmt", FORMATS)
def test_dropped_kernel_loss_records_keep_their_counts(fmt: str) -> None:
    hub = StreamHub(HubLimits(queue_bytes=64 * KIB))
    sub = hub.subscribe(1, format=fmt)
    feed, seen = Feed(hub), Seen()
    for _ in range(30):
        feed.batch(300, loss_every=50)
    hub.publish(1, {"type": "state", "state": "stopping"}, droppable=False)
    hub.end(1)
    drain(hub, sub, seen)
    assert_exact(feed, seen)
    assert seen.types[-3:] == ["lost", "state", "end"]
    assert sub.lost_events == sum(m["count"] for m in seen.lost if m["source"] == "subscriber")


def test_state_and_end_are_never_dropped_and_a_loss_precedes_them() -> None:
    hub = StreamHub(HubLimits(queue_bytes=64 * KIB))
    sub = hub.subscribe(1)
    feed, seen = Feed(hub), Seen()
    feed.batch(2000)
    feed.batch(2000)  # dropped: the queue holds the first
    hub.publish(1, {"type": "state", "state": "stopped"}, droppable=False)
    hub.end(1)
    drain(hub, sub, seen)
    assert seen.types == ["events", "lost", "state", "end"]
    assert_exact(feed, seen)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_loss_is_announced_when_the_queue_runs_empty(fmt: str) -> None:
    hub = StreamHub(HubLimits(queue_bytes=64 * KIB))
    sub = hub.subscribe(1, format=fmt)
    feed, seen = Feed(hub), Seen()
    feed.batch(2000)
    feed.batch(50)  # dropped
    drain(hub, sub, seen)  # nothing else published: the loss still arrives
    assert seen.types == [fmt, "lost"]
    assert_exact(feed, seen)


@pytest.mark.parametrize("fmt", FORMATS)
def test_slow_and_fast_subscribers_each_get_exact_coverage_and_bounded_queues(fmt: str) -> None:
    rng = random.Random(7)
    hub = StreamHub(HubLimits(queue_bytes=96 * KIB, total_bytes=400 * KIB))
    speeds = [1, 2, 5, 50, 1000]  # messages taken per published batch
    subs = [hub.subscribe(1, format=fmt) for _ in speeds]
    named = hub.subscribe(1, names=["a"], format=fmt)
    seen = [Seen() for _ in subs]
    seen_named = Seen()
    feed = Feed(hub)
    for _ in range(400):
        feed.batch(rng.randint(1, 400), loss_every=rng.choice([0, 0, 13]), name=rng.choice("ab"))
        for sub, s, speed in zip(subs, seen, speeds, strict=True):
            drain(hub, sub, s, speed)
            assert sub.queued_bytes <= sub.max_bytes + 400 * 120  # one frame may exceed
        drain(hub, named, seen_named, 3)
        assert hub.queued_bytes <= hub.limits.total_bytes + 6 * 400 * 120
    hub.end(1)
    for sub, s in zip(subs, seen, strict=True):
        drain(hub, sub, s)
        assert_exact(feed, s)
        assert s.types[-1] == "end"
    drain(hub, named, seen_named)
    assert_exact(feed, seen_named, names={"a"})
    assert any(m["source"] == "subscriber" for m in seen[0].lost)
    assert not any(m["source"] == "subscriber" for m in seen[-1].lost)


def test_frames_are_encoded_once_and_shared() -> None:
    hub = StreamHub()
    a, b = hub.subscribe(1), hub.subscribe(1)
    Feed(hub).batch(10)
    assert a.frames[0].data is b.frames[0].data


def test_adjacent_batches_merge_into_one_valid_message() -> None:
    hub = StreamHub()
    sub = hub.subscribe(1)
    feed, seen = Feed(hub), Seen()
    for _ in range(5):
        feed.batch(10)
    messages = hub.take(sub)
    assert len(messages) == 1
    for raw in messages:
        seen.add(raw)
    assert seen.events == list(range(50))
    event0 = orjson.loads(messages[0])["events"][0]
    assert event0 == {
        "seq": 0,
        "ts_ns": 1000,
        "cpu": 0,
        "pid": 100,
        "tid": 100,
        "comm": "comm",
        "name": "sched:sched_switch",
        "fields": {"prev_comm": "x" * 20, "n": 0},
    }


def test_pid_filter() -> None:
    hub = StreamHub()
    sub = hub.subscribe(1, pids=[7])
    hub.publish_events(1, 0, [event(0, pid=7), event(1, pid=8), event(2, pid=7)])
    seen = Seen()
    drain(hub, sub, seen)
    assert seen.events == [0, 2]


def test_subscriber_caps() -> None:
    hub = StreamHub(HubLimits(per_session=2, per_principal=3, total=4))
    hub.subscribe(1, principal="t1")
    hub.subscribe(1, principal="t1")
    with pytest.raises(TooManySubscribers, match="session 1"):
        hub.subscribe(1, principal="t2")
    hub.subscribe(2, principal="t1")
    with pytest.raises(TooManySubscribers, match="token"):
        hub.subscribe(3, principal="t1")
    last = hub.subscribe(3, principal="t2")
    with pytest.raises(TooManySubscribers, match="4 stream"):
        hub.subscribe(4, principal="t3")
    hub.unsubscribe(last)
    hub.subscribe(4, principal="t3")


def test_closing_a_principal_marks_only_its_streams() -> None:
    hub = StreamHub()
    mine, other = hub.subscribe(1, principal="t1"), hub.subscribe(1, principal="t2")
    assert hub.close_principal("t1", 4401, "revoked") == 1
    assert (mine.close_code, other.close_code) == (4401, None)
    assert mine.wake.is_set()


def test_unsubscribe_releases_the_queued_bytes() -> None:
    hub = StreamHub()
    sub = hub.subscribe(1)
    Feed(hub).batch(500)
    assert hub.queued_bytes > 0
    hub.unsubscribe(sub)
    assert hub.queued_bytes == 0
    assert not hub.has_subscribers(1)


def test_a_batch_no_subscriber_has_room_for_is_not_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = StreamHub(HubLimits(queue_bytes=64 * KIB))
    sub = hub.subscribe(1)
    feed, seen = Feed(hub), Seen()
    feed.batch(2000)  # fills the queue
    encoded: list[int] = []
    real = hub_module.encode_events
    monkeypatch.setattr(hub_module, "encode_events", lambda p: encoded.append(1) or real(p))
    feed.batch(2000)
    feed.batch(2000)
    assert encoded == []
    hub.end(1)
    drain(hub, sub, seen)
    assert_exact(feed, seen)
    assert sub.lost_events == 4000


def take_all(hub: StreamHub, sub: Subscriber) -> list[str]:
    out: list[str] = []
    while messages := hub.take(sub):
        out += messages
    return out


def test_columns_carry_the_events_of_the_events_format() -> None:
    """A `columns` subscriber gets the same events (seq, values, comm and name texts, fields)
    as an `events` one, loss records as the same `lost` messages, with filters too."""
    hub = StreamHub()
    plain, cols = hub.subscribe(1), hub.subscribe(1, format=COLUMNS_FORMAT)
    named = hub.subscribe(1, names=["b"], pids=[100], format=COLUMNS_FORMAT)
    named_plain = hub.subscribe(1, names=["b"], pids=[100])
    feed = Feed(hub)
    for i in range(6):
        feed.batch(40 + i, loss_every=17, name="ab"[i % 2])
    hub.publish_events(1, feed.next_seq, [[5, None, None, None, None, "b", b"{}"] + [None] * 3])
    for want_sub, got_sub in ((plain, cols), (named_plain, named)):
        want, got = take_all(hub, want_sub), take_all(hub, got_sub)
        want_events = [
            e for m in map(orjson.loads, want) if m["type"] == "events" for e in m["events"]
        ]
        got_events = [
            e for m in map(orjson.loads, got) if m["type"] == "columns" for e in column_events(m)
        ]
        assert got_events == want_events
        assert want_events
        assert [m for m in want if '"lost"' in m] == [m for m in got if '"lost"' in m]
        assert (got_events[-1]["comm"] is None) == (want_sub is plain)  # (pid filter)


def test_columns_merge_within_a_key_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = StreamHub()
    sub = hub.subscribe(1, format=COLUMNS_FORMAT)
    feed, seen = Feed(hub), Seen()
    for _ in range(5):
        feed.batch(10)
    assert [orjson.loads(m)["count"] for m in hub.take(sub)] == [50]
    monkeypatch.setattr("tracerd.columns.MAX_KEYS", 0)  # each batch a new generation
    for i in range(3):
        hub.publish_events(1, feed.next_seq, [event(feed.next_seq, name=f"n{i}")])
        feed.next_seq += 1
    messages = take_all(hub, sub)
    assert len(messages) == 3
    for raw in messages:
        seen.add(raw)
        msg = orjson.loads(raw)
        assert [e["name"] for e in column_events(msg)] == [f"n{len(seen.types) - 1}"]
    assert seen.events == [50, 51, 52]
    assert MAX_KEYS > 0
