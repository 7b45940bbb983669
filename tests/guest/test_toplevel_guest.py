"""The tracefs top level as an exclusive resource (function_graph on 6.1): one session holds
it (409 resource_busy naming the holder for another), a tracer someone else set there is
never taken over, and what a session changed comes back at stop and after a SIGKILLed
daemon's recovery."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    DaemonProcess,
    InProcess,
    current_clock,
    top,
    top_write,
    wait_for,
)
from .test_tracers_guest import GETPID_PATH, NULL_READ

pytestmark = [pytest.mark.root, pytest.mark.tracefs, pytest.mark.needs_function_graph]

GRAPH = {
    "tracer": "function_graph",
    "graph_functions": ["__do_sys_getpid"],
    "functions": GETPID_PATH,
    "pids": [1],
}


def test_a_second_top_level_session_is_409_naming_the_holder(
    daemon: InProcess, clean_top_level: None
) -> None:
    first = daemon.create("tracefs", GRAPH)
    assert first.status_code == 201, first.text
    holder = first.json()["id"]
    second = daemon.create("tracefs", GRAPH)
    assert second.status_code == 409, second.text
    err = second.json()["error"]
    assert err["code"] == "resource_busy"
    assert err["detail"]["holder"] == holder
    assert f"session {holder}" in err["message"]
    # the function tracer runs in an instance: not exclusive
    beside = daemon.create("tracefs", {"tracer": "function", "functions": [NULL_READ]})
    assert beside.status_code == 201, beside.text
    assert beside.json()["info"]["tracer"]["where"] == "instance"
    # a created session cannot start while the top level is held, and stays created
    later = daemon.create("tracefs", GRAPH, start=False).json()
    refused = daemon.call("POST", f"/v1/sessions/{later['id']}/start")
    assert refused.status_code == 409
    assert refused.json()["error"]["detail"]["holder"] == holder
    assert daemon.call("GET", f"/v1/sessions/{later['id']}").json()["state"] == "created"
    assert daemon.call("POST", f"/v1/sessions/{holder}/stop?wait=true").json()["state"] == "stopped"
    started = daemon.call("POST", f"/v1/sessions/{later['id']}/start")
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "running"
    assert top("current_tracer").strip() == "function_graph"
    for sid in (later["id"], beside.json()["id"]):
        assert (
            daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()["state"] == "stopped"
        )
    assert top("current_tracer").strip() == "nop"


def test_a_tracer_someone_else_set_is_not_taken_over(
    daemon: InProcess, clean_top_level: None
) -> None:
    top_write("set_ftrace_filter", NULL_READ)
    top_write("current_tracer", "function")
    resp = daemon.create("tracefs", GRAPH)
    assert resp.status_code == 409, resp.text
    err = resp.json()["error"]
    assert err["code"] == "resource_busy"
    assert err["detail"]["current_tracer"] == "function"
    assert top("current_tracer").strip() == "function"
    assert top("set_ftrace_filter").split() == [NULL_READ]
    assert current_clock() == "local"
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []


def _session(client: Any, sid: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/sessions/{sid}").json())


def test_recovery_after_sigkill_restores_the_top_level(
    daemon_process: DaemonProcess, clean_top_level: None
) -> None:
    top_write("trace_clock", "global")
    top_write("max_graph_depth", "3")
    daemon_process.start()
    with daemon_process.unix() as client:
        resp = client.post("/v1/sessions", json={"kind": "tracefs", "spec": GRAPH})
        assert resp.status_code == 201, resp.text
        sid = resp.json()["id"]
        worker = next(int(r["name"]) for r in resp.json()["resources"] if r["type"] == "worker")
    assert top("current_tracer").strip() == "function_graph"
    assert current_clock() == "mono"
    # the worker cannot clean up (stopped, then killed), the daemon dies without a word
    os.kill(worker, signal.SIGSTOP)
    daemon_process.signal(signal.SIGKILL)
    daemon_process.wait()
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{worker}") or _zombie(worker), timeout_s=30)
    assert top("current_tracer").strip() == "function_graph"  # left behind...
    daemon_process.start()  # ...until the next daemon reconciles its ledger
    assert top("current_tracer").strip() == "nop"
    assert current_clock() == "global"
    assert top("max_graph_depth").strip() == "3"
    assert "all functions enabled" in top("set_graph_function")
    assert "all functions enabled" in top("set_ftrace_filter")
    assert top("set_ftrace_pid").strip() == "no pid"
    assert top("tracing_on").strip() == "1"
    with daemon_process.unix() as client:
        session = _session(client, sid)
        assert session["state"] == "interrupted"
        # and the top level is free again
        again = client.post("/v1/sessions", json={"kind": "tracefs", "spec": GRAPH})
        assert again.status_code == 201, again.text
        stopped = client.post(f"/v1/sessions/{again.json()['id']}/stop?wait=true").json()
        assert stopped["state"] == "stopped"
    assert top("current_tracer").strip() == "nop"


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"
