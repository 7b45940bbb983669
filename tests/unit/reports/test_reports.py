"""Reports against known answers, and rollups against the events: every report computed
from rollups equals the same report computed over the events (a time range that covers
the whole session forces the events path)."""

from __future__ import annotations

from typing import Any

import pytest

from tracerd.reports.latency import latency
from tracerd.reports.sched import sched
from tracerd.reports.summary import summary
from tracerd.reports.syscalls import syscalls
from tracerd.reports.timeline import timeline
from tracerd.reports.top import top
from tracerd.storage.queries import EventFilter

from .store import T0, Store, ev
from .workloads import Expected, ptrace_syscalls, sched_stream, tracefs_syscalls

WHOLE = EventFilter(since_ns=0)  # a time range: computed over the events


def without_source(report: Any) -> dict[str, Any]:
    data: dict[str, Any] = report.model_dump()
    assert data["scope"].pop("source") in ("rollups", "events", "maps")
    data["scope"].pop("since_ns")
    return data


def check_table(report: Any, expected: Expected) -> None:
    got = {r.syscall: r for r in report.rows}
    assert set(got) == set(expected.table)
    for name, (calls, errors, total_ns, max_ns) in expected.table.items():
        row = got[name]
        assert (row.calls, row.errors) == (calls, errors), name
        assert row.seconds == pytest.approx(total_ns / 1e9)
        assert row.max_seconds == pytest.approx(max_ns / 1e9)
        assert row.usecs_per_call == (total_ns // calls) // 1000
    assert report.total.calls == sum(v[0] for v in expected.table.values())
    assert report.total.errors == sum(v[1] for v in expected.table.values())
    seconds = [r.seconds for r in report.rows]
    assert seconds == sorted(seconds, reverse=True)
    assert sum(r.percent_time for r in report.rows) == pytest.approx(100.0)


@pytest.mark.parametrize("raw", [False, True])
def test_tracefs_syscalls_table(store: Store, raw: bool) -> None:
    """strace -c's calls and errors: exits without an enter count as neither (from the
    rollups as from the events)."""
    events, expected = tracefs_syscalls(5000, raw=raw, unpaired=True)
    sid = store.session("tracefs")
    store.ingest(sid, events)
    info = store.info(sid)
    with store.db() as db:
        fast = syscalls(db, info, EventFilter())
        slow = syscalls(db, info, WHOLE)
    assert fast.scope.source == "rollups"
    assert slow.scope.source == "events"
    check_table(fast, expected)
    assert without_source(fast) == without_source(slow)


def test_ptrace_syscalls_table_skips_calls_that_never_returned(store: Store) -> None:
    events, expected = ptrace_syscalls(3000)
    sid = store.session("ptrace")
    store.ingest(sid, events)
    info = store.info(sid)
    with store.db() as db:
        fast = syscalls(db, info, EventFilter())
        slow = syscalls(db, info, WHOLE)
        one = syscalls(db, info, EventFilter(names=("openat",), pids=(200,)))
    check_table(fast, expected)  # no exit_group, signal or exit rows
    assert without_source(fast) == without_source(slow)
    assert [r.syscall for r in one.rows] == ["openat"]
    assert one.rows[0].calls < expected.table["openat"][0]


def test_bpf_syscalls_from_the_last_map_snapshot(store: Store) -> None:
    sid = store.session("bpf", {"tool": "syscount", "args": {"latency": True}})

    def snapshot(ts: int, reads: int, opens: int) -> Any:
        entries = [
            {
                "key": {"syscall": "read", "nr": 0},
                "value": {"count": reads, "total_ns": reads * 1000},
            },
            {
                "key": {"syscall": "openat", "nr": 257},
                "value": {"count": opens, "total_ns": opens * 5000},
            },
        ]
        return ev(
            ts,
            "maps",
            {"maps": {"counts": {"type": "map", "entries": entries}}},
            cpu=None,
            pid=None,
            comm=None,
        )

    store.ingest(sid, [snapshot(100, 10, 1), snapshot(200, 30, 4)])
    info = store.info(sid)
    with store.db() as db:
        whole = syscalls(db, info, EventFilter())
        later = syscalls(db, info, EventFilter(since_ns=T0 + 150))
    assert [(r.syscall, r.calls, r.seconds) for r in whole.rows] == [
        ("read", 30, 30e-6),
        ("openat", 4, 20e-6),
    ]
    assert whole.total.errors is None  # syscount does not count errors
    assert [(r.syscall, r.calls) for r in later.rows] == [("read", 20), ("openat", 3)]


def test_summary(store: Store) -> None:
    events, _ = tracefs_syscalls(2000)
    sid = store.session("tracefs")
    store.ingest(sid, events)
    store.ingest(
        sid,
        [
            ev(
                events[-1].ts_ns - T0 + 1,
                "lost",
                {"source": "kernel", "count": 9},
                pid=None,
                comm=None,
            )
        ],
    )
    info = store.info(sid)
    with store.db() as db:
        fast = summary(db, info, EventFilter())
        slow = summary(db, info, WHOLE)
    assert fast.events == 2000
    assert fast.lost == {"kernel": 9}
    assert sum(n.count for n in fast.names) == 2000
    assert {c.comm for c in fast.top_comms} == {"t10", "t11", "t12"}
    assert sum(fast.rate.counts) == 2000
    assert fast.first_ts_ns == events[0].ts_ns
    assert without_source(fast) == without_source(slow)


def test_latency_from_rollups_agrees_with_exact(store: Store) -> None:
    events, _ = ptrace_syscalls(4000)
    sid = store.session("ptrace")
    store.ingest(sid, events)
    info = store.info(sid)
    with store.db() as db:
        fast = latency(db, info, EventFilter(names=("read",)))
        exact = latency(db, info, EventFilter(names=("read",)), exact=True)
        by_syscall = latency(db, info, EventFilter(), syscall="read", exact=True)
    assert fast.approximate
    assert not exact.approximate
    assert fast.count == exact.count == by_syscall.count > 0
    assert fast.log2 == exact.log2  # slots never straddle a power of two
    assert fast.max == exact.max
    assert fast.mean == pytest.approx(exact.mean)
    for key in ("p50", "p90", "p99"):
        assert getattr(fast.percentiles, key) == pytest.approx(
            getattr(exact.percentiles, key), rel=1 / 32
        )
    assert sum(b.count for b in exact.linear) == exact.count
    assert sum(b.count for b in fast.linear) == fast.count


def test_latency_of_a_json_field_and_its_percentiles(store: Store) -> None:
    sid = store.session("bpf")
    values = list(range(1, 101))
    store.ingest(sid, [ev(i, "biosnoop", {"lat_us": v}) for i, v in enumerate(values)])
    with store.db() as db:
        report = latency(db, store.info(sid), EventFilter(), field="lat_us", width=10)
    assert report.count == 100
    assert (report.min, report.max, report.mean) == (1, 100, 50.5)
    assert (report.percentiles.p50, report.percentiles.p90, report.percentiles.p99) == (50, 90, 99)
    assert [b.count for b in report.linear] == [9] + [10] * 9 + [1]
    assert [b.count for b in report.log2] == [0, 1, 2, 4, 8, 16, 32, 37]


def test_timeline_and_top(store: Store) -> None:
    events, _ = tracefs_syscalls(3000)
    sid = store.session("tracefs")
    store.ingest(sid, events)
    info = store.info(sid)
    with store.db() as db:
        fast = timeline(db, info, EventFilter(), bucket_ns=200_000_000)
        slow = timeline(db, info, WHOLE, bucket_ns=200_000_000)
        fine = timeline(db, info, EventFilter(), bucket_ns=1_000_000)
        comms = top(db, info, EventFilter(), "comm")
        comms_slow = top(db, info, WHOLE, "comm")
        rets = top(db, info, EventFilter(names=("syscalls:sys_exit_openat",)), "ret")
    assert sum(b.total for b in fast.buckets) == 3000
    assert without_source(fast) == without_source(slow)
    assert fine.scope.source == "events"
    assert sum(b.total for b in fine.buckets) == 3000
    assert without_source(comms) == without_source(comms_slow)
    assert comms.total == 3000
    assert {r.value for r in rets.rows} == {3, -2}


def test_sched_from_rollups_equals_window_functions(store: Store) -> None:
    sid = store.session("tracefs")
    store.ingest(sid, sched_stream(4000), batch=333)
    info = store.info(sid)
    with store.db() as db:
        fast = sched(db, info, EventFilter())
        slow = sched(db, info, WHOLE)
    assert fast.oncpu_ns > 0
    assert fast.wait_ns > 0
    strip = {"comm"}  # rollups keep the comm from the records' fields
    assert [t.model_dump(exclude=strip) for t in fast.tasks] == [
        t.model_dump(exclude=strip) for t in slow.tasks
    ]
