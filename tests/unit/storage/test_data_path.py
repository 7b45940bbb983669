"""The daemon's own data path without root: a fake engine feeds known batches (as a
worker's `events` frames) through SessionIngest into the real EventWriter and SQLite; what
is stored, the loss accounting, backpressure, rollups and the time/name narrowing are
checked against what was fed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite

from tracerd.engines.tracefs.pairing import SyscallPairer
from tracerd.sessions.ingest import SessionIngest
from tracerd.sessions.live import LiveSession
from tracerd.specs import SPEC_BY_KIND
from tracerd.storage import db as storage_db
from tracerd.storage.queries import EventFilter, events_page
from tracerd.storage.rollup_sql import ROLLUP_TABLES
from tracerd.storage.rollups import RollupBuilder
from tracerd.storage.tables import EventBlockRow, EventRow, SessionRow
from tracerd.storage.writer import EventWriter, SessionProgress
from tracerd.stream.hub import StreamHub
from tracerd.types import SessionState, WireEvent
from tracerd.workers import wire

T0 = 5_000_000_000


class FakeEngine:
    """Known batches, in the worker's wire shape: a getppid-like flood, raw syscall pairs,
    sched events and, once, an in-band kernel loss record."""

    def __init__(self, batches: int, size: int) -> None:
        self.batches, self.size = batches, size
        self.produced = 0
        self.kernel_lost = 0

    def event(self, i: int) -> WireEvent:
        ts = T0 + i * 1000
        tid = 100 + (i // 10) % 7  # one thread per run of ten: enters meet their exits
        kind = i % 10
        if kind < 6:
            name, fields = "syscalls:sys_enter_getppid", {"__syscall_nr": 110}
        elif kind == 6:
            name, fields = "raw_syscalls:sys_enter", {"id": 0, "args": [3, 0, 0, 0, 0, 0]}
        elif kind == 7:
            name, fields = "raw_syscalls:sys_exit", {"id": 0, "ret": -11}
        else:
            name, fields = "sched:sched_wakeup", {"comm": "x", "pid": tid, "prio": 120}
        return WireEvent(ts, i % 2, tid, tid, f"comm{tid}", name, fields)

    def frames(self, columns: bool = False) -> Iterator[wire.Frame]:
        """As a tracefs worker sends them: syscall exits paired after the merge; with
        `columns`, in the worker's column form, through pack and unpack as the socket
        carries it (else the older rows form, which the daemon also takes)."""
        pairer = SyscallPairer()
        i = 0
        for b in range(self.batches):
            events = []
            for _ in range(self.size):
                events.append(self.event(i))
                i += 1
            if b == 1:
                events.append(wire_lost("kernel", 17, T0 + i * 1000))
                self.kernel_lost += 17
            self.produced += self.size
            pairer.apply(events)
            if columns:
                yield wire.unpack(wire.pack(wire.events_frame(events))[wire.HEADER.size :])
            else:
                yield {"t": "events", "events": wire.event_rows(events)}


def wire_lost(source: str, count: int, ts: int) -> Any:
    from tracerd.types import lost_event

    return lost_event(source, count, ts)


class Env:
    def __init__(self, tmp_path: Path, kind: str = "tracefs", cap_events: int = 1_000_000) -> None:
        self.dir = tmp_path
        self.url = f"sqlite:///{tmp_path / 'd.db'}"
        storage_db.upgrade(self.url)
        self.engine = storage_db.make_engine(self.url)
        self.db = storage_db.make_sessionmaker(self.engine)
        now = datetime.now(UTC)
        row = SessionRow(
            kind=kind, name="t", state="running", spec={}, created_at=now, clock="mono",
            wall_offset_ns=0, counters={}, resources=[], info={}, daemon_id="d", host_id="h",
            stored_bytes=0,
        )  # fmt: skip
        with self.db.begin() as s:
            s.add(row)
            s.flush()
            self.sid = int(row.id)
        self.live = LiveSession(
            id=self.sid, kind=kind, name="t", spec_json={}, owner=None,
            state=SessionState.RUNNING, created_at=now,
        )  # fmt: skip
        self.live.spec = SPEC_BY_KIND[kind].model_construct()  # no limits
        self.cap_events = cap_events
        self.stops: list[str] = []

    def start(self, spool_bytes: int = 0) -> tuple[EventWriter, SessionIngest]:
        writer = EventWriter(self.engine, asyncio.get_running_loop(), self.cap_events)
        ingest = SessionIngest(
            writer,
            StreamHub(64),
            cast(Any, None),
            cast(Any, None),
            self.request_stop,
            (lambda live: self.dir) if spool_bytes else None,
            spool_bytes,
        )
        return writer, ingest

    def feed(self, frames: list[wire.Frame]) -> SessionProgress:
        """Every frame through ingest and the writer, until all is committed."""

        async def go() -> SessionProgress:
            writer, ingest = self.start()
            writer.start()
            for frame in frames:
                await ingest.on_frame(self.live, frame)
            await writer.wait_committed(self.sid, self.live.next_seq - 1)
            await _close(writer)
            return writer.progress(self.sid)

        return asyncio.run(go())

    def request_stop(self, live: LiveSession, reason: str) -> None:
        self.stops.append(reason)

    def events(self, flt: EventFilter | None = None) -> list[dict[str, Any]]:
        with self.db() as s:
            out, cursor = [], None
            while True:
                page = events_page(s, self.sid, flt or EventFilter(), cursor, 10_000)
                out += page
                if len(page) < 10_000:
                    return out
                cursor = page[-1]["seq"]


async def _close(writer: EventWriter) -> None:
    await asyncio.to_thread(writer.close)


def test_fed_batches_are_stored_in_order_and_accounted(tmp_path: Path) -> None:
    env = Env(tmp_path)
    fake = FakeEngine(batches=6, size=1500)
    frames = list(fake.frames())

    prog = env.feed(frames)
    fed = [ev for f in frames for ev in f["events"]]
    assert env.live.next_seq == len(fed) == fake.produced + 1  # the events and a loss record
    # `stored` counts events, not the loss record: stored + lost = produced + lost, exactly
    assert (prog.stored, prog.lost) == (fake.produced, 0)
    stored = env.events()
    assert [e["seq"] for e in stored] == list(range(len(fed)))
    assert [(e["ts_ns"], e["tid"], e["comm"], e["name"]) for e in stored] == [
        (ev[0], ev[3], ev[4], ev[5]) for ev in fed
    ]
    assert [e["fields"] for e in stored] == [orjson.loads(ev[6]) for ev in fed]
    # loss accounting: stored real events + lost = produced + lost, exactly
    assert env.live.received == fake.produced
    assert env.live.lost_inband["kernel"] == fake.kernel_lost
    # syscall exits got their enter's duration, return value and errno in the worker
    with env.db() as s:
        exits = s.execute(
            select(EventRow.dur_ns, EventRow.ret, EventRow.errno).where(
                EventRow.name == "raw_syscalls:sys_exit"
            )
        ).all()
    assert len(exits) == 900  # one in ten of 9000
    assert set(exits) == {(1000, -11, "EAGAIN")}


def test_map_snapshots_count_in_neither_events_nor_stored(tmp_path: Path) -> None:
    """Map snapshots are records about the session, stored beside its events: `events` and
    `stored` both leave them out, so the two counters agree (issue 16 item 15)."""
    env = Env(tmp_path, kind="bpf")
    fake = FakeEngine(batches=2, size=100)
    frames = list(fake.frames())
    snapshots: list[wire.Frame] = [
        {"t": "maps", "ts_ns": T0 + i, "maps": {"@c": {"k": i}}} for i in range(3)
    ]

    prog = env.feed([frames[0], snapshots[0], frames[1], *snapshots[1:]])
    real = [e for e in env.events() if e["name"] != "lost"]
    assert sum(e["name"] == "maps" for e in real) == 3
    assert env.live.received == len(real) - 3 == fake.produced
    counters = env.live.counters(prog.stored, prog.lost, 0)
    assert counters["events"] == prog.stored == fake.produced


def test_time_and_name_filters_read_through_blocks(tmp_path: Path) -> None:
    env = Env(tmp_path)
    frames = list(FakeEngine(batches=4, size=5000).frames())

    env.feed(frames)
    fed = [ev for f in frames for ev in f["events"]]
    since, until = T0 + 7_777 * 1000, T0 + 12_345 * 1000
    got = env.events(EventFilter(since_ns=since, until_ns=until))
    assert [e["ts_ns"] for e in got] == [ev[0] for ev in fed if since <= ev[0] < until]
    lost = env.events(EventFilter(names=("lost",)))
    assert [e["fields"]["count"] for e in lost] == [17]
    wakeups = env.events(EventFilter(names=("sched:sched_wakeup",), since_ns=since))
    expected = [ev[0] for ev in fed if ev[5] == "sched:sched_wakeup" and ev[0] >= since]
    assert [e["ts_ns"] for e in wakeups] == expected
    assert env.events(EventFilter(names=("no:such",))) == []
    with env.db() as s:
        blocks = s.execute(select(func.count()).select_from(EventBlockRow)).scalar()
    assert blocks == 4  # one a batch (each under 8192 events)


def test_backpressure_holds_the_reader_until_the_writer_drains(tmp_path: Path) -> None:
    env = Env(tmp_path, cap_events=1000)
    frames = list(FakeEngine(batches=3, size=800).frames())

    async def go() -> None:
        writer, ingest = env.start()  # not started yet: nothing drains
        await ingest.on_frame(env.live, frames[0])  # 800 < cap: accepted
        await ingest.on_frame(env.live, frames[1])  # accepted: pending reaches the cap
        blocked = asyncio.ensure_future(ingest.on_frame(env.live, frames[2]))
        await asyncio.sleep(0.2)
        assert not blocked.done()  # the worker's socket would not be read now
        assert writer.pending >= writer.cap_events
        writer.start()
        await asyncio.wait_for(blocked, 30)
        await writer.wait_committed(env.sid, env.live.next_seq - 1)
        assert writer.progress(env.sid).stored == 3 * 800  # not the loss record
        await _close(writer)

    asyncio.run(go())
    assert len(env.events()) == 3 * 800 + 1  # and the loss record


def test_a_bpf_session_behind_the_writer_records_storage_loss_exactly(tmp_path: Path) -> None:
    env = Env(tmp_path, kind="bpf", cap_events=1000)
    fake = FakeEngine(batches=3, size=1200)
    frames = list(fake.frames())

    async def go() -> SessionProgress:
        writer, ingest = env.start()
        for frame in frames:  # the first fills the queue; the others are streamed only
            await ingest.on_frame(env.live, frame)
        writer.start()
        await writer.wait_committed(env.sid, env.live.next_seq - 1)
        await _close(writer)
        return writer.progress(env.sid)

    prog = asyncio.run(go())
    stored = env.events()
    real = [e for e in stored if e["name"] != "lost"]
    assert prog.stored == len(real) == 1200  # the storage loss records are not counted
    assert prog.stored + env.live.lost_inband["storage"] == fake.produced
    storage_lost = sum(
        e["fields"]["count"] for e in stored if e["fields"].get("source") == "storage"
    )
    assert len(real) + storage_lost == fake.produced  # stored + lost = produced
    assert env.live.lost_inband["storage"] == storage_lost == 2 * 1200 + 0
    assert env.live.received == fake.produced


def test_column_frames_store_what_row_frames_store(tmp_path: Path) -> None:
    """The worker's column frames (packed once, unpacked by the writer) and the older row
    frames of the same batches give the same stored events, counters and rollups."""
    stored, counts = [], []
    for columns in (False, True):
        env = Env(tmp_path / str(columns))
        fake = FakeEngine(batches=4, size=1500)
        frames = list(fake.frames(columns))
        assert all(("cols" in f) == columns for f in frames)
        prog = env.feed(frames)
        stored.append(env.events())
        with env.db() as s:
            rollups = [sorted(map(tuple, s.execute(select(t)).all())) for t in ROLLUP_TABLES]
        counts.append(
            (prog.stored, prog.lost, env.live.received, dict(env.live.lost_inband), rollups)
        )
    assert stored[0] == stored[1]
    assert len(stored[0]) == 4 * 1500 + 1  # and the kernel's loss record
    assert counts[0] == counts[1]
    assert counts[1][:3] == (4 * 1500, 0, 4 * 1500)
    assert all(counts[1][4][:3])  # time, task and latency rollups (no switches: no sched)


def test_an_event_batch_builds_rows_only_when_read() -> None:
    from tracerd.types import WireEvent

    events = [WireEvent(T0 + i, 0, 1, 2, "c", "x:y", {"i": i}, None, i, None) for i in range(5)]
    frame = wire.unpack(wire.pack(wire.events_frame(events))[wire.HEADER.size :])
    batch = wire.frame_batch(frame)
    assert (len(batch), batch.lost) == (5, 0)
    assert batch._cols is None  # nothing unpacked yet
    assert batch._rows is None
    assert batch.columns()[5] == ["x:y"] * 5
    assert batch._rows is None
    assert [list(r) for r in batch] == wire.event_rows(events)
    assert batch.body() is frame["cols"]  # spooled as it came: never packed again


@pytest.mark.parametrize("columns", [False, True])
@pytest.mark.parametrize("spool_kib", [64 * 1024, 300])
def test_a_bpf_session_behind_the_writer_spools_its_batches_in_seq_order(
    tmp_path: Path, spool_kib: int, columns: bool
) -> None:
    """Batches the writer cannot take wait in the ingest spool (bounded in bytes) and are
    stored later, in seq order; what the bound refuses is storage loss, exactly."""
    env = Env(tmp_path, kind="bpf", cap_events=1000)
    fake = FakeEngine(batches=6, size=1200)
    frames = list(fake.frames(columns))

    async def go() -> tuple[SessionProgress, int]:
        writer, ingest = env.start(spool_bytes=spool_kib * 1024)
        for frame in frames:  # the writer is not started: all but the first wait or drop
            await ingest.on_frame(env.live, frame)
        # a maps record waits for room, then queues behind what the spool holds
        maps = asyncio.ensure_future(ingest.maps(env.live, T0 + 10**9, {"m": {"1": 2}}))
        await asyncio.sleep(0.05)
        assert not maps.done()
        writer.start()
        await asyncio.wait_for(maps, 30)
        await writer.wait_committed(env.sid, env.live.next_seq - 1)
        spooled = ingest.spools[env.sid].spooled_events
        ingest.release(env.sid)
        await _close(writer)
        return writer.progress(env.sid), spooled

    prog, spooled = asyncio.run(go())
    stored = env.events()
    seqs = [e["seq"] for e in stored]
    assert seqs == sorted(set(seqs))
    assert seqs[-1] == env.live.next_seq - 1
    assert stored[-1]["name"] == "maps"
    storage_lost = env.live.lost_inband["storage"]
    assert prog.stored + storage_lost == fake.produced == env.live.received
    if spool_kib > 1000:
        assert storage_lost == 0
        assert spooled >= 5 * 1200 + 1
        assert seqs == list(range(env.live.next_seq))  # every batch, none dropped
    else:
        assert 0 < storage_lost < 5 * 1200
        assert spooled > 1200
    assert not list(tmp_path.glob("tracerd-ingest-*"))  # anonymous: never on disk by name


def test_a_broken_batch_is_counted_as_storage_loss_and_the_next_one_stored(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)

    async def go() -> None:
        writer, _ingest = env.start()
        writer.start()
        bad = [[None, 0, 1, 1, "c", "brand:new_name", "{}", None, None, None]] * 10
        writer.submit(env.sid, 0, bad)  # ts_ns NOT NULL: the transaction fails
        await writer.wait_committed(env.sid, 9)
        good = [[T0, 0, 1, 1, "c", "brand:new_name", "{}", None, None, None]] * 5
        writer.submit(env.sid, 10, good)  # its name id is made again, committed this time
        await writer.wait_committed(env.sid, 14)
        prog = writer.progress(env.sid)
        assert (prog.stored, prog.lost) == (5, 10)
        await _close(writer)

    asyncio.run(go())
    assert [e["name"] for e in env.events()] == ["brand:new_name"] * 5


def test_loss_and_maps_records_are_neither_stored_events_nor_storage_loss(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path, kind="bpf")
    kernel_loss = wire.event_row(wire_lost("kernel", 40, T0))

    async def go() -> SessionProgress:
        writer, ingest = env.start()
        writer.start()
        good = [[T0 + i, 0, 1, 1, "c", "x:y", "{}", None, None, None] for i in range(6)]
        await ingest.on_frame(env.live, {"t": "events", "events": [*good, kernel_loss]})
        await ingest.on_frame(env.live, {"t": "maps", "ts_ns": T0 + 9, "maps": {"m": {}}})
        await writer.wait_committed(env.sid, env.live.next_seq - 1)
        bad = [[None, 0, 1, 1, "c", "x:y", "{}", None, None, None]] * 3  # ts_ns NOT NULL
        writer.submit(env.sid, env.live.next_seq, [*bad, kernel_loss])
        await writer.wait_committed(env.sid, env.live.next_seq + 3)
        await _close(writer)
        return writer.progress(env.sid)

    prog = asyncio.run(go())
    assert [e["name"] for e in env.events()] == ["x:y"] * 6 + ["lost", "maps"]
    assert (prog.stored, prog.lost) == (6, 3)  # rows 8 + 4; events 6 stored, 3 not
    assert env.live.received == 6
    assert env.live.lost_inband["kernel"] == 40


@pytest.mark.parametrize(
    "mix", ["plain", "enters", "enters-then-exits", "raw", "exits-alone", "results", "result"]
)
def test_per_batch_rollups_equal_the_per_event_loop(mix: str) -> None:
    """Both counted fast paths aggregate exactly what the per-event loop does, for batches
    as the worker sends them (syscall exits paired there)."""
    fake = FakeEngine(batches=1, size=1)
    names = {
        "plain": ["sched:sched_wakeup_new", "irq:irq_handler_entry"],
        "enters": ["syscalls:sys_enter_getppid", "syscalls:sys_enter_read", "x:y"],
        "enters-then-exits": ["syscalls:sys_enter_read", "syscalls:sys_exit_read"],
        "raw": ["raw_syscalls:sys_enter", "raw_syscalls:sys_exit", "x:y"],
        "exits-alone": ["syscalls:sys_exit_read", "raw_syscalls:sys_exit"],
        "results": ["opensnoop", "execsnoop", "sched:sched_wakeup"],  # promoted ret/errno
        "result": ["opensnoop"],
    }[mix]
    pairer = SyscallPairer()
    batches = []
    for b in range(3):
        batch = []
        for i in range(2000):
            name = names[(i // 3) % len(names)]
            fields: dict[str, Any] = dict(fake.event(i).fields)
            ret = err = None
            if name.startswith(("syscalls:sys_exit", "raw_syscalls:sys_exit")):
                fields = {"id": i // 9 % 3, "ret": -2 if i % 5 == 0 else 5}
            elif name == "raw_syscalls:sys_enter":
                fields = {"id": i // 9 % 3, "args": [0] * 6}
            if name.endswith("snoop") and i % 4:  # a result; every other one failed
                ret, err = (-2, "ENOENT") if i % 2 else (3, None)
            ev = fake.event(i)
            ts = T0 + (b * 2000 + i) * 40_000
            batch.append(
                WireEvent(ts, ev.cpu, ev.pid, ev.tid, ev.comm, name, fields, None, ret, err)
            )
        pairer.apply(batch)
        batches.append(wire.event_rows(batch))
    fast, calls, slow = (RollupBuilder(sqlite.dialect()) for _ in range(3))
    calls._ingest_counted = lambda *args: False  # type: ignore[method-assign]
    slow._ingest_counted = lambda *args: False  # type: ignore[method-assign]
    slow._ingest_syscalls = lambda *args: False  # type: ignore[method-assign]
    for builder in (fast, calls, slow):
        seq = 0
        for batch in batches:
            builder.ingest(1, seq, batch)
            seq += len(batch)
    a, c, b = fast._states[1], calls._states[1], slow._states[1]
    assert (a.time, a.tasks, a.latency) == (b.time, b.tasks, b.latency)
    assert (c.time, c.tasks, c.latency) == (b.time, b.tasks, b.latency)
    if mix.startswith("result"):
        assert any(row[1] and row[2] for row in a.tasks.values())  # both were counted
    if mix in ("enters-then-exits", "raw"):  # paired: durations, errors of calls
        assert a.latency
        assert any(row[1] and row[5] for row in a.tasks.values())
    if mix == "exits-alone":  # no enter: a return value, no call, so no error (strace -c)
        assert all(row[2] and not row[1] and not row[5] for row in a.tasks.values())


def test_the_workers_batch_rows_equal_one_row_at_a_time() -> None:
    from tracerd.types import WireEvent

    events = [
        WireEvent(T0, 0, 1, 2, "c", "x:y", {"a": 1, "b": b"\x01\xff", "s": "é"}, None, 3, None),
        WireEvent(T0 + 1, None, None, None, None, "lost", {"count": 2}),
    ]
    assert wire.event_rows(events) == [wire.event_row(e) for e in events]
    assert wire.event_rows(events)[0][6] == '{"a":1,"b":"01ff","s":"é"}'
