"""Session limits and pid filters through the daemon; the lifecycle leak test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import InProcess, instances, wait_final, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

EXEC = ["sched:sched_process_exec"]


def final(daemon: InProcess, sid: str) -> dict[str, Any]:
    return wait_final(daemon, sid)


def exec_events(daemon: InProcess, sid: str) -> list[dict[str, Any]]:
    page = daemon.call(
        "GET", f"/v1/sessions/{sid}/events", params={"name": EXEC[0], "limit": 10000}
    ).json()
    return list(page["events"])


def test_duration_stops_the_session(daemon: InProcess) -> None:
    started = time.monotonic()
    sid = daemon.create("tracefs", {"events": EXEC, "duration_s": 1}).json()["id"]
    session = final(daemon, sid)
    assert session["state"] == "stopped"
    assert session["reason"] == "duration_s (1) reached"
    assert time.monotonic() - started < 20
    assert instances() == []


def test_max_events_stops_at_exactly_that_many(daemon: InProcess) -> None:
    sid = daemon.create("tracefs", {"events": EXEC, "max_events": 5}, wait=True).json()["id"]
    for _ in range(12):
        subprocess.run(["/bin/true"], check=True)
    session = final(daemon, sid)
    assert session["reason"] == "max_events (5) reached"
    assert session["counters"]["stored"] == 5
    assert len(exec_events(daemon, sid)) == 5


def test_budget_sample_drops_and_counts(daemon: InProcess) -> None:
    spec = {"events": ["ftrace:print"], "budget": {"max_events_per_s": 50, "on_exceed": "sample"}}
    session = daemon.create("tracefs", spec).json()
    inst = Path("/sys/kernel/tracing/instances") / session["info"]["instance"]
    fd = os.open(inst / "trace_marker", os.O_WRONLY)
    try:
        for i in range(400):
            os.write(fd, b"b%d" % i)
    finally:
        os.close(fd)
    stopped = daemon.call("POST", f"/v1/sessions/{session['id']}/stop?wait=true").json()
    lost = stopped["counters"]["lost"]["budget"]
    assert lost > 0, stopped
    assert stopped["counters"]["events"] + lost == 400, stopped


def test_budget_stop(daemon: InProcess) -> None:
    spec = {"events": ["ftrace:print"], "budget": {"max_events_per_s": 10}}
    session = daemon.create("tracefs", spec).json()
    inst = Path("/sys/kernel/tracing/instances") / session["info"]["instance"]
    fd = os.open(inst / "trace_marker", os.O_WRONLY)
    try:
        for i in range(100):
            os.write(fd, b"x%d" % i)
    finally:
        os.close(fd)
    done = final(daemon, session["id"])
    assert done["reason"].startswith("budget exceeded")


def test_pid_filter_follows_forks_only_when_asked(daemon: InProcess) -> None:
    parent = subprocess.Popen(
        ["sh", "-c", "read x; /bin/true; /bin/true"], stdin=subprocess.PIPE, text=True
    )
    try:
        spec_follow = {"events": EXEC, "pids": [parent.pid], "follow_forks": True}
        spec_alone = {"events": EXEC, "pids": [parent.pid], "follow_forks": False}
        follow = daemon.create("tracefs", spec_follow).json()
        alone = daemon.create("tracefs", spec_alone).json()
        subprocess.run(["/bin/true"], check=True)  # not a child of the parent
        assert parent.stdin is not None
        parent.stdin.write("go\n")
        parent.stdin.close()
        parent.wait(10)
    finally:
        parent.kill()
    for s in (follow, alone):
        daemon.call("POST", f"/v1/sessions/{s['id']}/stop?wait=true")
    followed = exec_events(daemon, follow["id"])
    assert [e["fields"]["filename"] for e in followed] == ["/bin/true", "/bin/true"]
    assert all(e["pid"] != parent.pid for e in followed)
    assert exec_events(daemon, alone["id"]) == []


def test_missing_pid_is_rejected(daemon: InProcess) -> None:
    pid = 4_000_000  # above pid_max on every kernel
    resp = daemon.create("tracefs", {"events": EXEC, "pids": [pid]})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    assert instances() == []


def test_fifty_sessions_leave_nothing_behind(daemon: InProcess) -> None:
    svc = daemon.client.app.state.services  # type: ignore[attr-defined]

    def fds() -> dict[str, str]:
        out = {}
        for fd in os.listdir("/proc/self/fd"):
            try:
                out[fd] = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
        return out

    def snapshot() -> tuple[int, int, int]:
        return len(fds()), len(instances()), len(svc.ledger.rows())

    def settled_threads() -> int:
        time.sleep(0.2)
        return threading.active_count()

    # one round first: lazily created pools (anyio threads, DB connections) exist after it
    first = daemon.create("tracefs", {"events": EXEC}).json()
    daemon.call("DELETE", f"/v1/sessions/{first['id']}")
    before, threads_before = snapshot(), settled_threads()
    for i in range(50):
        s = daemon.create("tracefs", {"events": EXEC}, start=i % 2 == 0).json()
        if i % 3 == 0:
            daemon.call("POST", f"/v1/sessions/{s['id']}/stop?wait=true")
        daemon.call("DELETE", f"/v1/sessions/{s['id']}")
    # readers and workers wind down a moment after the DELETE (longer on a loaded
    # machine); a leak never settles
    with contextlib.suppress(AssertionError):
        wait_for(lambda: len(fds()) <= before[0] + 12 and snapshot()[1:] == (0, 0))
    with contextlib.suppress(AssertionError):
        wait_for(lambda: threading.active_count() <= threads_before + 2)
    after = snapshot()
    assert after[1:] == (0, 0)
    # the database pool may open a few more connections (3 fds each, up to its size of 5):
    # a leak of one fd per session would show as 50
    assert after[0] <= before[0] + 12, (before, after, sorted(fds().values()))
    assert settled_threads() <= threads_before + 2
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []
