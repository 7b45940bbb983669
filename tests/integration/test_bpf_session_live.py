"""bpf sessions through the daemon: compile off the request path, maps, programs released."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from .conftest import InProcess, wait_for

pytestmark = [pytest.mark.root, pytest.mark.bpf]


def loaded_ids() -> set[int]:
    import json

    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    ).stdout
    return {int(p["id"]) for p in json.loads(out)}


def session(daemon: InProcess, sid: str) -> dict[str, Any]:
    return dict(daemon.call("GET", f"/v1/sessions/{sid}").json())


def test_tool_session_starts_streams_and_releases(daemon: InProcess) -> None:
    resp = daemon.call(
        "POST",
        "/v1/sessions",
        params={"wait": "true"},
        json={"kind": "bpf", "spec": {"tool": "opensnoop", "comm": "cat"}},
    )
    assert resp.status_code == 201, resp.text
    running = resp.json()
    assert running["state"] == "running"
    ids = set(running["info"]["prog_ids"])
    assert ids
    assert ids <= loaded_ids()
    subprocess.run(["cat", "/etc/hostname"], check=True, capture_output=True)
    stopped = daemon.call("POST", f"/v1/sessions/{running['id']}/stop?wait=true").json()
    assert stopped["state"] == "stopped"
    assert not ids & loaded_ids()
    events = daemon.call(
        "GET", f"/v1/sessions/{running['id']}/events", params={"name": "opensnoop"}
    ).json()["events"]
    assert "/etc/hostname" in {e["fields"]["path"] for e in events}
    assert {e["comm"] for e in events} == {"cat"}


def test_compile_error_with_wait_is_400_and_loads_nothing(daemon: InProcess) -> None:
    before = loaded_ids()
    spec = {
        "program": "int trd_broken(void *ctx) { return undefined_symbol; }",
        "attach": [
            {"type": "tracepoint", "target": "sched:sched_process_exec", "fn": "trd_broken"}
        ],
    }
    resp = daemon.call(
        "POST", "/v1/sessions", params={"wait": "true"}, json={"kind": "bpf", "spec": spec}
    )
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "compile_error"
    assert "undefined_symbol" in err["message"]
    assert loaded_ids() <= before


def test_compile_error_without_wait_ends_failed(daemon: InProcess) -> None:
    spec = {
        "program": "int trd_broken2(void *ctx) { return nope; }",
        "attach": [
            {"type": "tracepoint", "target": "sched:sched_process_exec", "fn": "trd_broken2"}
        ],
    }
    created = daemon.call("POST", "/v1/sessions", json={"kind": "bpf", "spec": spec})
    assert created.status_code == 201
    assert created.json()["state"] == "starting"
    failed = wait_for(
        lambda: (s := session(daemon, created.json()["id"]))["state"] == "failed" and s, 60
    )
    assert "nope" in failed["reason"]


def test_maps_live_then_final(daemon: InProcess) -> None:
    resp = daemon.call(
        "POST",
        "/v1/sessions",
        params={"wait": "true"},
        json={"kind": "bpf", "spec": {"tool": "syscount", "comm": "true"}},
    )
    sid = resp.json()["id"]
    for _ in range(3):
        subprocess.run(["true"], check=True)
    live = daemon.call("GET", f"/v1/sessions/{sid}/maps").json()
    assert live["live"] is True
    assert live["maps"]
    daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true")
    final = daemon.call("GET", f"/v1/sessions/{sid}/maps").json()
    assert final["live"] is False
    assert (
        final["maps"]
        == daemon.client.app.state.services.manager.store.last_maps(  # type: ignore[attr-defined]
            int(sid)
        )["maps"]
    )
    entries = next(iter(final["maps"].values()))["entries"]
    assert entries


def test_catalogue_lists_tools(daemon: InProcess) -> None:
    tools = daemon.call("GET", "/v1/bpf/tools").json()["tools"]
    names = {t["name"] for t in tools}
    assert {
        "execsnoop",
        "opensnoop",
        "exitsnoop",
        "syscount",
        "runqlat",
        "biolatency",
        "tcplife",
        "tcpstates",
        "profile",
        "bashreadline",
        "mallocstacks",
    } <= names
    unknown = daemon.call(
        "POST",
        "/v1/sessions",
        params={"wait": "true"},
        json={"kind": "bpf", "spec": {"tool": "nosuchtool"}},
    )
    assert unknown.status_code in (400, 404)
