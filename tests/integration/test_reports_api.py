"""Report routes through the daemon: every kind, filters, errors, roles.

Sessions are filled through the daemon's ingest path (seq, writer, rollups); the reports
must equal what the events say (workloads with known answers)."""

from __future__ import annotations

import pytest

from ..unit.reports.workloads import ptrace_syscalls, sched_stream, tracefs_syscalls
from .conftest import InProcess
from .reports_support import filled_session, report

pytestmark = [pytest.mark.root]  # sessions are filled, never started: no kernel state


def test_summary_and_syscalls_of_a_tracefs_session(daemon: InProcess) -> None:
    events, expected = tracefs_syscalls(3000)
    sid = filled_session(daemon, events)
    summary = report(daemon, sid)
    assert summary["events"] == 3000
    assert summary["scope"]["source"] == "rollups"
    assert summary["state"] == "stopped"
    assert sum(summary["rate"]["counts"]) == 3000
    assert {n["name"] for n in summary["names"]} >= {"syscalls:sys_exit_openat"}
    table = report(daemon, sid, "syscalls")
    got = {r["syscall"]: (r["calls"], r["errors"]) for r in table["rows"]}
    assert got == {k: (v[0], v[1]) for k, v in expected.table.items()}
    assert table["total"]["calls"] == sum(v[0] for v in expected.table.values())
    assert table["rows"][0]["seconds"] >= table["rows"][-1]["seconds"]


def test_filters_select_the_same_events_as_the_events_route(daemon: InProcess) -> None:
    events, _ = tracefs_syscalls(2000)
    sid = filled_session(daemon, events)
    middle = events[1000].ts_ns
    params = {"comm": "t11", "since_ns": middle}
    listed = daemon.call("GET", f"/v1/sessions/{sid}/events", params={**params, "limit": 10000})
    expected = len(listed.json()["events"])
    summary = report(daemon, sid, **params)
    assert summary["scope"]["source"] == "events"
    assert summary["events"] == expected > 0
    top = report(daemon, sid, "top", field="comm", name="syscalls:sys_exit_openat")
    assert {r["value"] for r in top["rows"]} == {"t10", "t11", "t12"}
    one = report(daemon, sid, "syscalls", name="openat", pid=10)
    assert [r["syscall"] for r in one["rows"]] == ["openat"]


def test_latency_timeline_sched(daemon: InProcess) -> None:
    events, expected = ptrace_syscalls(2000)
    sid = filled_session(daemon, events, kind="ptrace", spec={"pid": 1})
    lat = report(daemon, sid, "latency", syscall="read")
    assert lat["count"] == expected.table["read"][0]
    assert lat["max"] == expected.table["read"][3]
    assert lat["percentiles"]["p50"] <= lat["percentiles"]["p99"] <= lat["max"]
    assert sum(b["count"] for b in lat["log2"]) == lat["count"]
    exact = report(daemon, sid, "latency", syscall="read", exact=True)
    assert exact["approximate"] is False
    assert exact["log2"] == lat["log2"]
    timeline = report(daemon, sid, "timeline", bucket_ns=100_000_000)
    assert sum(b["total"] for b in timeline["buckets"]) == len(events)
    sched_sid = filled_session(daemon, sched_stream(3000))
    sched = report(daemon, sched_sid, "sched")
    assert sched["oncpu_ns"] > 0
    assert {t["tid"] for t in sched["tasks"]} >= {21, 22, 23, 24}
    ranged = report(daemon, sched_sid, "sched", since_ns=0)
    assert ranged["scope"]["source"] == "events"
    assert [t["oncpu_ns"] for t in ranged["tasks"]] == [t["oncpu_ns"] for t in sched["tasks"]]


def test_errors_and_roles(daemon: InProcess) -> None:
    events, _ = tracefs_syscalls(100)
    sid = filled_session(daemon, events)
    viewer = daemon.token("viewer")
    for path in ("report", "report/syscalls", "report/sched", "export?format=csv"):
        assert daemon.call("GET", f"/v1/sessions/{sid}/{path}", viewer).status_code == 200
    missing = daemon.call("GET", "/v1/sessions/424242/report")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = daemon.call("GET", f"/v1/sessions/{sid}/report/top", params={"field": "a;b"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "bad_request"
    bad_format = daemon.call("GET", f"/v1/sessions/{sid}/export", params={"format": "xml"})
    assert bad_format.status_code == 422
    assert bad_format.json()["error"]["code"] == "invalid_spec"
