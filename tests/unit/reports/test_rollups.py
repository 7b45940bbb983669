"""Rollups kept by the writer: promotion of tracefs syscall exits, histogram slots, and
rollups rebuilt after the oldest events of a session are pruned."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from tracerd.storage.rollups import REBUILD_COLUMNS, SUB_BUCKETS, slot_bounds, slot_of
from tracerd.storage.tables import EventRow, RollupSessionRow, RollupTaskRow
from tracerd.syscalls import errno_of

from .store import Store, ev
from .workloads import tracefs_syscalls, with_loss


def test_slots_cover_every_value_once_and_nest_in_powers_of_two() -> None:
    previous_high = -1
    for slot in range(0, 40 * SUB_BUCKETS):
        low, high = slot_bounds(slot)
        assert low == previous_high + 1
        assert slot_of(low) == slot == slot_of(high)
        assert low.bit_length() == high.bit_length()  # log2 buckets are exact sums of slots
        assert high - low + 1 <= max(1, low // SUB_BUCKETS)  # relative width <= 1/32
        previous_high = high


def test_errno_names() -> None:
    assert errno_of(-2) == "ENOENT"
    assert errno_of(-512) == "ERESTARTSYS"
    assert errno_of(3) is None
    assert errno_of(-5000) is None
    assert errno_of(None) is None


def stored(store: Store, sid: int) -> list[tuple[object, ...]]:
    query = select(EventRow.name, EventRow.tid, EventRow.dur_ns, EventRow.ret, EventRow.errno)
    with store.db() as db:
        return [
            tuple(r)
            for r in db.execute(query.where(EventRow.session_id == sid).order_by(EventRow.seq))
        ]


def test_tracefs_exits_get_ret_errno_and_paired_duration(store: Store) -> None:
    sid = store.session("tracefs")
    events = [
        ev(0, "syscalls:sys_enter_openat", {"filename": 1}, tid=5),
        ev(10, "syscalls:sys_enter_openat", {"filename": 2}, tid=6),
        ev(25, "syscalls:sys_exit_openat", {"ret": -2}, tid=5),
        ev(40, "syscalls:sys_exit_openat", {"ret": 4}, tid=6),
        ev(50, "syscalls:sys_exit_read", {"ret": 8}, tid=6),  # no enter: ret, no duration
        ev(60, "raw_syscalls:sys_enter", {"id": 0}, tid=5),
        ev(75, "raw_syscalls:sys_exit", {"id": 0, "ret": 8}, tid=5),
    ]
    store.ingest(sid, events)
    rows = stored(store, sid)
    assert rows[2] == ("syscalls:sys_exit_openat", 5, 25, -2, "ENOENT")
    assert rows[3] == ("syscalls:sys_exit_openat", 6, 30, 4, None)
    assert rows[4] == ("syscalls:sys_exit_read", 6, None, 8, None)
    assert rows[6] == ("raw_syscalls:sys_exit", 5, 15, 8, None)
    assert rows[0][2:] == (None, None, None)  # enters are unchanged


def test_pairs_never_span_a_loss(store: Store) -> None:
    sid = store.session("tracefs")
    events = [
        ev(0, "syscalls:sys_enter_read", tid=5),
        ev(20, "syscalls:sys_exit_read", {"ret": 1}, tid=5),
        ev(30, "syscalls:sys_enter_read", tid=5),
        ev(90, "syscalls:sys_exit_read", {"ret": 1}, tid=5),
    ]
    store.ingest(sid, with_loss(events, 3))
    durations = [r[2] for r in stored(store, sid) if r[0] == "syscalls:sys_exit_read"]
    assert durations == [20, None]


def test_pairing_is_the_same_across_batches(store: Store) -> None:
    events, _ = tracefs_syscalls(3000)
    one, many = store.session("tracefs"), store.session("tracefs")
    store.ingest(one, events, batch=len(events))
    store.ingest(many, events, batch=7)
    assert [r[2:] for r in stored(store, one)] == [r[2:] for r in stored(store, many)]


def rollup_totals(store: Store, sid: int) -> list[tuple[object, ...]]:
    r = RollupTaskRow
    query = (
        select(r.name, r.nr, r.pid, r.comm, r.count, r.errors, r.calls, r.call_ns, r.call_max_ns)
        .where(r.session_id == sid)
        .order_by(r.name, r.nr, r.pid, r.comm)
    )
    with store.db() as db:
        return [tuple(row) for row in db.execute(query)]


def test_pruning_the_oldest_events_rebuilds_the_rollups(store: Store) -> None:
    events, _ = tracefs_syscalls(4000, raw=True)
    sid = store.session("tracefs")
    store.ingest(sid, events)
    cut = 1500
    # what rollups of the remaining events must be: the same events, re-ingested as stored
    with store.db() as db:
        complete = db.get(RollupSessionRow, sid)
        assert complete is not None
        assert complete.complete
    store.call(store.writer.delete_session, sid, cut)
    with store.db() as db:
        left = db.execute(select(func.count()).where(EventRow.session_id == sid)).scalar()
        assert left == len(events) - cut
        assert db.get(RollupSessionRow, sid).complete  # type: ignore[union-attr]
    totals = rollup_totals(store, sid)
    assert sum(int(t[4]) for t in totals) == len(events) - cut  # type: ignore[call-overload]
    # the reference: a session holding only the kept events, with their stored columns
    ref = store.session("tracefs")
    with store.db() as db:
        kept = db.execute(
            select(*REBUILD_COLUMNS[1:]).where(EventRow.session_id == sid).order_by(EventRow.seq)
        ).all()
    store.ingest(ref, [(*k[:6], orjson.loads(k[6]), *k[7:]) for k in kept])
    assert totals == rollup_totals(store, ref)  # stored durations are kept, not re-paired
