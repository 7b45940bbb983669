"""Merge order, batching and horizon of the decode pump; the raw store's spool (no kernel)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracerd.engines.base import Limits
from tracerd.engines.tracefs import merge
from tracerd.engines.tracefs.decode import PageDecoder
from tracerd.engines.tracefs.merge import REORDER_DELAY_NS, EventPump, SessionClock
from tracerd.engines.tracefs.sinks import ListSink
from tracerd.engines.tracefs.spool import RawBudget, RawStore
from tracerd.types import WireEvent

from .test_decode_synthetic import page, registry, small


class Progress:
    def __init__(self, drained_ns: int = 0, finished: bool = True) -> None:
        self.drained_ns, self.finished = drained_ns, finished


def cpu_pages(start: int, step: int, values: range) -> bytes:
    """Two pages of `small` records at start, start+step, ... (deltas of `step`)."""
    half = len(values) // 2
    first = b"".join(small(v, delta=step) for v in values[:half])
    second = b"".join(small(v, delta=step) for v in values[half:])
    return page(first, ts=start - step) + page(second, ts=start - step + half * step)


def pump(
    data: dict[int, bytes], progress: dict[int, Progress], limits: Limits
) -> tuple[EventPump, ListSink]:
    budget = RawBudget(1 << 30, 0, can_spool=False)
    stores = {cpu: RawStore(cpu, budget, None) for cpu in data}
    for cpu, raw in data.items():
        stores[cpu].put(raw)
    sink = ListSink()
    p = EventPump(
        PageDecoder(registry()), stores, progress, sink, 4096, limits, SessionClock("mono")
    )
    return p, sink


def test_cpus_merge_by_timestamp_in_bounded_batches() -> None:
    data = {0: cpu_pages(1000, 10, range(0, 200)), 1: cpu_pages(1005, 10, range(1000, 1200))}
    p, sink = pump(data, {0: Progress(), 1: Progress()}, Limits(batch_events=64))
    p.run()
    events = sink.events
    assert len(events) == 400
    assert [e.ts_ns for e in events] == sorted(e.ts_ns for e in events)
    assert [e.fields["v"] for e in events[:4]] == [0, 1000, 1, 1001]
    assert max(sink.batches) <= 64
    assert p.late == 0


def test_horizon_holds_back_what_an_idle_cpu_could_still_precede() -> None:
    data = {0: cpu_pages(1000, 10, range(0, 100))}
    idle = Progress(drained_ns=1500 + REORDER_DELAY_NS, finished=False)
    p, sink = pump({**data, 1: b""}, {0: Progress(), 1: idle}, Limits(batch_interval_s=0))
    p._decode_some()
    p._release(final=False)
    out = [e.ts_ns for e in sink.events]
    assert out == list(range(1000, 1501, 10))  # only up to "drained - delay" = 1500
    p._release(final=True)
    assert len(sink.events) == 100


def test_a_cpu_held_by_the_horizon_keeps_its_pages_raw_past_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decoded events waiting for another CPU's horizon are bounded: past the bound the
    CPU's pages stay raw; they are decoded once the horizon moves, and none is lost."""
    monkeypatch.setattr(merge, "MAX_DECODED_EVENTS", 40)
    data = {0: cpu_pages(1000, 10, range(0, 100)), 1: b""}
    idle = Progress(drained_ns=0, finished=False)  # holds the horizon before every record
    p, sink = pump(data, {0: Progress(), 1: idle}, Limits(batch_interval_s=0))
    assert p._decode_some() == 1  # one page of 50 records, then the bound stops it
    assert p._decode_some() == 0
    assert p.held
    p._release(final=False)
    assert sink.events == []
    assert len(p._stores[0]) + (p._cur.get(0) is not None) > 0  # the second page, raw
    idle.drained_ns, idle.finished = 10_000 + REORDER_DELAY_NS, True
    p.run()  # the horizon moved: the rest is decoded and released
    assert [e.fields["v"] for e in sink.events] == list(range(100))


def test_store_spools_past_the_memory_budget(tmp_path: Path) -> None:
    budget = RawBudget(memory_bytes=8192, spool_bytes=1 << 20)
    store = RawStore(3, budget, str(tmp_path))
    chunks = [bytes([i]) * 4096 for i in range(6)]
    for c in chunks:
        store.put(c)
    assert budget.memory == 8192
    assert budget.spooled == 4 * 4096
    assert (tmp_path / "cpu3.raw").stat().st_size == 4 * 4096
    assert [store.get() for _ in range(6)] == chunks
    assert store.get() is None
    assert (budget.memory, budget.spooled) == (0, 0)
    assert (tmp_path / "cpu3.raw").stat().st_size == 0  # truncated once empty
    store.close()
    assert os.listdir(tmp_path) == []


def test_budget_full_when_the_spool_is_used_up(tmp_path: Path) -> None:
    budget = RawBudget(memory_bytes=12288, spool_bytes=16384)
    store = RawStore(0, budget, str(tmp_path))
    store.put(bytes(8192))
    store.put(bytes(8192))  # does not fit in memory (4096 left unused): spooled
    assert not budget.full
    store.put(bytes(8192))
    assert budget.memory == 8192  # memory short of its limit, yet nothing more fits
    assert budget.full
    store.get()  # from memory: the spool is still used up
    assert budget.full
    store.get()  # from the spool
    assert not budget.full
    store.close()
    no_spool = RawBudget(memory_bytes=4096, spool_bytes=1 << 20, can_spool=False)
    RawStore(0, no_spool, None).put(bytes(8192))
    assert no_spool.full


def test_injected_output_lines_merge_in_time_order() -> None:
    """A launched command's output lines (session-clock times) come out between the
    records around them, not when their thread happened to hand them over."""
    data = {0: cpu_pages(1000, 10, range(0, 100))}
    p, sink = pump(data, {0: Progress()}, Limits(batch_interval_s=0))
    line = WireEvent(1255, None, 5, 5, None, "stdout", {"text": "hello"})
    last = WireEvent(99_999, None, 5, 5, None, "stderr", {"text": "bye"})
    assert p.inject([last, line])
    p.run()
    names = [(e.ts_ns, e.name) for e in sink.events]
    at = names.index((1255, "stdout"))
    assert names[at - 1][0] <= 1255 <= names[at + 1][0]
    assert names[-1] == (99_999, "stderr")
    assert [t for t, _ in names] == sorted(t for t, _ in names)
    assert p.late == 0
    assert not p.inject([line])  # the pump is done: the caller emits it itself
