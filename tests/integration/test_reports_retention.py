"""Retention through the daemon: by age, per session, in total; a running session is never
touched; rollups follow the pruning; free pages go back with incremental_vacuum."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tracerd.app import create_app
from tracerd.sessions.retention import Stored, plan
from tracerd.storage.tables import EventRow, SessionRow

from ..unit.reports.store import ev
from .conftest import InProcess, settings_for
from .reports_support import filled_session, report, services

pytestmark = [pytest.mark.root]


def events(n: int, comm: str = "app") -> list[Any]:
    return [ev(i * 1000, "openat", {"ret": 3}, pid=5, comm=comm, dur=100, ret=3) for i in range(n)]


def retained_daemon(root: Path, **limits: Any) -> Iterator[InProcess]:
    settings = settings_for(root, retention_interval_s=3600, **limits)
    with TestClient(create_app(settings)) as client:
        yield InProcess(client, settings, settings.admin_token_path.read_text().strip())


@pytest.fixture
def capped(short_tmp: Path) -> Iterator[InProcess]:
    yield from retained_daemon(
        short_tmp, retention_max_events_per_session=1000, retention_max_events_total=2500
    )


@pytest.fixture
def aged(short_tmp: Path) -> Iterator[InProcess]:
    yield from retained_daemon(short_tmp, retention_max_age_s=3600)


def run_retention(daemon: InProcess) -> Any:
    svc = services(daemon)
    return daemon.client.portal.call(svc.retention.run_once)  # type: ignore[union-attr]


def stored_seqs(daemon: InProcess, sid: str) -> list[int]:
    with services(daemon).db() as db:
        query = select(EventRow.seq).where(EventRow.session_id == int(sid)).order_by(EventRow.seq)
        return [int(s) for s in db.scalars(query)]


def backdate(daemon: InProcess, sid: str, hours: float) -> None:
    svc = services(daemon)
    with svc.db.begin() as db:
        row = db.get(SessionRow, int(sid))
        row.stopped_at = datetime.now(UTC) - timedelta(hours=hours)
    svc.manager.live.pop(int(sid), None)  # as after a restart: the row is the truth


def test_plan_is_oldest_first_and_exact() -> None:
    now = datetime.now(UTC)

    def at(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    sessions = [
        Stored(1, "stopped", 1000, at(5)),
        Stored(2, "failed", 3000, at(4)),
        Stored(3, "stopped", 800, at(3)),
        Stored(4, "running", 5000, at(0)),
    ]
    settings = settings_for(Path("/nonexistent"), retention_max_events_per_session=2000)
    assert plan(sessions, settings, now).trim == {2: 1000}
    settings = settings_for(Path("/nonexistent"), retention_max_events_total=6000)
    total = plan(sessions, settings, now)  # 9800 held: 3800 too many, oldest first
    assert (total.whole, total.trim) == ([1], {2: 2800})
    settings = settings_for(Path("/nonexistent"), retention_max_events_total=5000)
    total = plan(sessions, settings, now)
    assert (total.whole, total.trim) == ([1, 2, 3], {})  # 4800 too many: all three
    settings = settings_for(Path("/nonexistent"), retention_max_events_total=8000)
    assert (plan(sessions, settings, now).whole, plan(sessions, settings, now).trim) == (
        [1],
        {2: 800},
    )
    settings = settings_for(Path("/nonexistent"), retention_max_age_s=3.5 * 3600)
    assert plan(sessions, settings, now).whole == [1, 2]
    settings = settings_for(Path("/nonexistent"), retention_max_events_total=1)
    assert 4 not in plan(sessions, settings, now).whole  # never a running session


def test_per_session_and_total_caps(capped: InProcess) -> None:
    oldest = filled_session(capped, events(1500, "a"), kind="ptrace", spec={"pid": 1})
    middle = filled_session(capped, events(900, "b"), kind="ptrace", spec={"pid": 1})
    newest = filled_session(capped, events(600, "c"), kind="ptrace", spec={"pid": 1})
    running = capped.create("tracefs", {"events": ["sched:sched_process_exec"]}).json()
    assert running["state"] == "running"
    # stored: 1500 -> 1000 (per session), then total 1000 + 900 + 600 = 2500: nothing more
    run_retention(capped)
    assert stored_seqs(capped, oldest) == list(range(500, 1500))
    assert len(stored_seqs(capped, middle)) == 900
    session = capped.call("GET", f"/v1/sessions/{oldest}").json()
    assert session["counters"]["stored"] == 1000
    summary = report(capped, oldest)
    assert summary["scope"]["source"] == "rollups"  # rebuilt from what is left
    assert summary["events"] == 1000
    assert report(capped, oldest, "syscalls")["total"]["calls"] == 1000
    # a fourth session: 3100 stored, 600 too many -> the oldest session loses 600 more
    fourth = filled_session(capped, events(600, "d"), kind="ptrace", spec={"pid": 1})
    run_retention(capped)
    assert stored_seqs(capped, oldest) == list(range(1100, 1500))
    assert [len(stored_seqs(capped, s)) for s in (middle, newest, fourth)] == [900, 600, 600]
    assert capped.call("GET", f"/v1/sessions/{running['id']}").json()["state"] == "running"
    metrics = capped.call("GET", "/metrics").text
    assert "tracerd_retention_pruned_events_total 1100.0" in metrics
    capped.call("DELETE", f"/v1/sessions/{running['id']}")


def test_age_deletes_whole_sessions_and_vacuum_returns_the_space(aged: InProcess) -> None:
    old = filled_session(aged, events(20_000), kind="ptrace", spec={"pid": 1})
    young = filled_session(aged, events(100), kind="ptrace", spec={"pid": 1})
    backdate(aged, old, hours=2)
    svc = services(aged)
    run_retention(aged)
    assert aged.call("GET", f"/v1/sessions/{old}").status_code == 404
    assert len(stored_seqs(aged, young)) == 100
    with svc.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar() == 0
    with svc.db() as db:
        left = db.execute(select(func.count()).select_from(EventRow)).scalar()
    assert left == 100
    assert "tracerd_retention_vacuumed_pages_total" in aged.call("GET", "/metrics").text
