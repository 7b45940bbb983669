"""Exports through the daemon: each format against the stored events, gzip both ways, and
streaming in bounded memory."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import tracemalloc
from typing import Any

import pytest

from tracerd.types import WireEvent

from ..unit.reports.store import ev
from ..unit.reports.workloads import ptrace_syscalls, sched_stream, tracefs_syscalls
from .conftest import InProcess
from .reports_support import chrome_events, filled_session

pytestmark = [pytest.mark.root]  # sessions are filled, never started: no kernel state


def export(daemon: InProcess, sid: str, fmt: str, **params: Any) -> bytes:
    resp = daemon.call("GET", f"/v1/sessions/{sid}/export", params={"format": fmt, **params})
    assert resp.status_code == 200, resp.text
    return resp.content


def stored_events(daemon: InProcess, sid: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        # (limit=10000, the route's maximum, never gives a next_cursor: it asks 10001 rows
        # of a query capped at 10000)
        params: dict[str, Any] = {"limit": 5000, **({"cursor": cursor} if cursor else {})}
        page = daemon.call("GET", f"/v1/sessions/{sid}/events", params=params).json()
        out += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def test_jsonl_and_csv_hold_exactly_the_stored_events(daemon: InProcess) -> None:
    events, _ = tracefs_syscalls(12_000)  # more than one export chunk
    sid = filled_session(daemon, events)
    stored = stored_events(daemon, sid)
    lines = export(daemon, sid, "jsonl").decode().splitlines()
    assert [json.loads(line) for line in lines] == stored
    rows = list(csv.DictReader(io.StringIO(export(daemon, sid, "csv").decode())))
    assert len(rows) == len(stored)
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in stored]
    assert [json.loads(r["fields"]) for r in rows] == [e["fields"] for e in stored]
    exits = [r for r in rows if r["name"] == "syscalls:sys_exit_openat" and r["dur_ns"]]
    assert exits
    assert all(int(r["ret"]) in (3, -2) for r in exits)
    filtered = export(daemon, sid, "jsonl", comm="t10").decode().splitlines()
    assert len(filtered) == sum(1 for e in stored if e["comm"] == "t10")


def test_chrome_trace_events_match_the_stored_durations(daemon: InProcess) -> None:
    events, _ = tracefs_syscalls(3000)
    sid = filled_session(daemon, [*events, *sched_stream(500)])
    trace = chrome_events(export(daemon, sid, "chrome"))
    for e in trace:
        assert e["ph"] in ("X", "i", "M"), e
        assert isinstance(e["pid"], int)
        assert isinstance(e["tid"], int)
        if e["ph"] != "M":
            assert e["ts"] >= 0
    complete = [e for e in trace if e["ph"] == "X" and e["cat"] == "tracefs"]
    exits = [e for e in events if e.name.startswith("syscalls:sys_exit_")]
    assert len(complete) == len(exits)  # every exit of this workload follows its enter
    base = min(e.ts_ns for e in events)
    assert all(isinstance(e["ts"], int) and isinstance(e["dur"], int) for e in complete)
    by_end = {e["args"]["start_ns"] + e["args"]["dur_ns"]: e for e in complete}
    paired = 0
    for exit_ev in exits:
        x = by_end.get(exit_ev.ts_ns)
        if x is not None:
            paired += 1
            assert x["name"] == exit_ev.name.removeprefix("syscalls:sys_exit_")
            assert x["args"]["exit"] == exit_ev.fields
            assert x["args"]["enter"]["__syscall_nr"] == exit_ev.fields["__syscall_nr"]
            start = exit_ev.ts_ns - x["args"]["dur_ns"] - base
            assert (x["ts"], x["ts"] + x["dur"]) == (start // 1000, (exit_ev.ts_ns - base) // 1000)
    assert paired == len(complete)
    per_thread: dict[int, list[tuple[float, float]]] = {}
    for x in complete:
        per_thread.setdefault(x["tid"], []).append((x["ts"], x["ts"] + x["dur"]))
    for spans in per_thread.values():  # one syscall at a time per thread
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace if e["ph"] == "M"}
    assert names[(10, 11)] == "t11"
    cpu_slices = [e for e in trace if e["ph"] == "X" and e["cat"] == "sched"]
    assert cpu_slices
    for cpu in {e["tid"] for e in cpu_slices}:  # what ran on a CPU: back to back, no overlap
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in cpu_slices if e["tid"] == cpu)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert {"CPU 0", "CPU 1"} <= set(names.values())


def test_chrome_and_text_of_a_ptrace_session(daemon: InProcess) -> None:
    events, expected = ptrace_syscalls(500)
    sid = filled_session(daemon, events, kind="ptrace", spec={"pid": 1})
    trace = chrome_events(export(daemon, sid, "chrome"))
    complete = [e for e in trace if e["ph"] == "X"]
    assert len(complete) == sum(v[0] for v in expected.table.values()) + 1  # + exit_group
    first = complete[0]
    assert first["args"]["dur_ns"] == events[0].dur_ns  # exact; ts and dur in integer µs
    base = min(e.ts_ns for e in events)
    end_ns = first["args"]["start_ns"] + first["args"]["dur_ns"]
    assert first["ts"] == (first["args"]["start_ns"] - base) // 1000
    assert first["ts"] + first["dur"] == (end_ns - base) // 1000
    assert first["args"]["text"] == events[0].fields["text"]
    text = export(daemon, sid, "text").decode().splitlines()
    assert len(text) == len(events)  # one line per event (the renderer's or the fallback's)
    first = events[0]
    assert text[0].count(f"{first.name}(") == 1
    assert f"= {first.ret}" in text[0]
    assert text[-1].endswith("+++ exited with 0 +++")


def test_text_of_a_tracefs_session_is_ftrace_like(daemon: InProcess) -> None:
    sid = filled_session(
        daemon,
        [
            ev(
                1_500,
                "syscalls:sys_enter_openat",
                {"__syscall_nr": 257, "dfd": -100},
                cpu=1,
                tid=42,
                comm="cat",
            ),
            ev(9_000, "lost", {"source": "kernel", "count": 5}, cpu=1, pid=None, comm=None),
        ],
    )
    first, lost = export(daemon, sid, "text").decode().splitlines()
    assert first.split()[:4] == ["cat-42", "[001]", first.split()[2], "sys_enter_openat:"]
    assert first.split()[2].endswith(":")
    assert lost == "CPU:1 [LOST 5 EVENTS]"


def test_gzip_round_trips_both_ways(daemon: InProcess) -> None:
    events, _ = tracefs_syscalls(2000)
    sid = filled_session(daemon, events)
    headers = {**daemon.headers(), "Accept-Encoding": "identity"}
    plain = daemon.client.get(
        f"/v1/sessions/{sid}/export", params={"format": "jsonl"}, headers=headers
    )
    assert "content-encoding" not in plain.headers
    as_file = daemon.call(
        "GET", f"/v1/sessions/{sid}/export", params={"format": "jsonl", "gzip": True}
    )
    assert as_file.headers["content-type"] == "application/gzip"
    assert "session-" in as_file.headers["content-disposition"]
    assert gzip.decompress(as_file.content) == plain.content
    encoded = daemon.call("GET", f"/v1/sessions/{sid}/export", params={"format": "jsonl"})
    assert encoded.headers["content-encoding"] == "gzip"  # httpx asked for it, and decoded it
    assert encoded.content == plain.content


def big_events(n: int, payload: int) -> list[WireEvent]:
    blob = "x" * payload
    return [ev(i * 1000, "bpf:out", {"i": i, "blob": blob}, pid=7, comm="big") for i in range(n)]


@pytest.mark.slow
def test_export_streams_in_bounded_memory(daemon: InProcess) -> None:
    n, payload = 40_000, 2048
    sid = filled_session(daemon, big_events(n, payload), kind="bpf", spec={"tool": "execsnoop"})
    size = 0
    lines = 0
    tracemalloc.start()
    try:
        with daemon.client.stream(
            "GET",
            f"/v1/sessions/{sid}/export",
            params={"format": "jsonl"},
            headers=daemon.headers(),
        ) as resp:
            assert resp.status_code == 200
            for chunk in resp.iter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == n
    assert size > n * payload  # ~80 MB went through
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte export"
