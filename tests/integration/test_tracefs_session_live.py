"""tracefs sessions through the daemon: the instance's lifecycle, failures, cleanup."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from .conftest import InProcess, instances, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

TRACEFS = Path("/sys/kernel/tracing")
EXEC = {"events": ["sched:sched_process_exec"]}


def test_instance_lives_exactly_as_long_as_the_session(daemon: InProcess) -> None:
    resp = daemon.create("tracefs", EXEC)
    assert resp.status_code == 201, resp.text
    session = resp.json()
    assert session["state"] == "running"
    name = session["info"]["instance"]
    daemon_id = daemon.client.get("/v1/health").json()["daemon_id"]
    assert name == f"tracerd_{daemon_id}_{session['id']}"
    assert instances() == [name]
    inst = TRACEFS / "instances" / name
    assert (inst / "events/sched/sched_process_exec/enable").read_text().strip() == "1"
    assert (inst / "trace_clock").read_text().count("[mono]") == 1
    notrace = {int(p) for p in (inst / "set_event_notrace_pid").read_text().split()}
    assert os.getpid() in notrace  # the (in-process) daemon never traces itself
    assert {"type": "tracefs_instance", "name": name} in session["resources"]
    stopped = daemon.call("POST", f"/v1/sessions/{session['id']}/stop?wait=true").json()
    assert stopped["state"] == "stopped"
    assert stopped["resources"] == []
    assert instances() == []
    assert (
        daemon.call("POST", f"/v1/sessions/{session['id']}/stop?wait=true").json()["state"]
        == "stopped"
    )
    again = daemon.call("POST", f"/v1/sessions/{session['id']}/start")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_delete_of_a_running_session_removes_everything(daemon: InProcess) -> None:
    session = daemon.create("tracefs", EXEC).json()
    assert instances()
    assert daemon.call("DELETE", f"/v1/sessions/{session['id']}").status_code == 204
    assert instances() == []
    assert daemon.call("GET", f"/v1/sessions/{session['id']}").status_code == 404


def test_created_session_starts_later(daemon: InProcess) -> None:
    session = daemon.create("tracefs", EXEC, start=False).json()
    assert session["state"] == "created"
    assert instances() == []
    started = daemon.call("POST", f"/v1/sessions/{session['id']}/start").json()
    assert started["state"] == "running"
    assert instances()
    daemon.call("DELETE", f"/v1/sessions/{session['id']}")
    assert instances() == []


def test_unknown_event_is_400_with_close_matches(daemon: InProcess) -> None:
    resp = daemon.create("tracefs", {"events": ["sched:sched_proces_exec"]})
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "unknown_event"
    assert "sched:sched_process_exec" in err["detail"]["close_matches"]
    assert instances() == []
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []


def test_rejected_filter_returns_the_kernel_text_and_leaves_nothing(daemon: InProcess) -> None:
    spec = {**EXEC, "filters": {"sched:sched_process_exec": "prev_comm == bash"}}
    resp = daemon.create("tracefs", spec)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["code"] == "kernel_rejected"
    assert "Field not found" in err["message"]
    assert instances() == []
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []
    ledger = daemon.client.app.state.services.ledger.rows()  # type: ignore[attr-defined]
    assert ledger == []


def test_glob_events_expand(daemon: InProcess) -> None:
    session = daemon.create("tracefs", {"events": ["sched:sched_process_*"]}).json()
    expected = sorted(
        f"sched:{p.name}"
        for p in (TRACEFS / "events/sched").iterdir()
        if p.name.startswith("sched_process_")
    )
    assert sorted(session["info"]["events"]) == expected
    daemon.call("DELETE", f"/v1/sessions/{session['id']}")


def test_killed_worker_fails_its_session_and_leaves_nothing(daemon: InProcess) -> None:
    session = daemon.create("tracefs", EXEC).json()
    worker = next(int(r["name"]) for r in session["resources"] if r["type"] == "worker")
    os.kill(worker, signal.SIGKILL)
    failed = wait_for(
        lambda: (
            (s := daemon.call("GET", f"/v1/sessions/{session['id']}").json())["state"] == "failed"
            and s
        )
    )
    assert "SIGKILL" in failed["reason"]
    assert instances() == []
    assert daemon.client.app.state.services.ledger.rows() == []  # type: ignore[attr-defined]


def test_quota_of_concurrent_sessions(short_tmp: Path) -> None:
    from fastapi.testclient import TestClient

    from tracerd.app import create_app

    from .conftest import settings_for

    settings = settings_for(short_tmp, max_sessions=1)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {settings.admin_token_path.read_text().strip()}"}
        body = {"kind": "tracefs", "spec": EXEC}
        first = client.post("/v1/sessions", json=body, headers=headers)
        assert first.status_code == 201
        second = client.post("/v1/sessions", json=body, headers=headers)
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "quota_exceeded"
    assert instances() == []
