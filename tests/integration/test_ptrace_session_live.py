"""ptrace sessions through the daemon: launched and attached, errors, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tracerd.engines.ptrace import tracer as pt

from .conftest import DaemonProcess, InProcess, alive, process_state, wait_final, wait_for

pytestmark = [pytest.mark.root, pytest.mark.ptrace]


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sh", "-c", "while :; do sleep 0.1; done"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def final(daemon: InProcess, sid: str) -> dict[str, Any]:
    return wait_final(daemon, sid)


def test_launched_command_lines_like_strace(daemon: InProcess) -> None:
    spec = {
        "command": ["cat", "/etc/hostname"],
        "syscalls": ["openat", "read"],
        "follow_forks": True,
    }
    created = daemon.create("ptrace", spec)
    assert created.status_code == 201, created.text
    session = final(daemon, created.json()["id"])
    assert session["exit_status"] == {"code": 0, "signal": None}
    assert "seccomp_program" in session["info"]  # auto: launched, filtered, following forks
    events = daemon.call(
        "GET", f"/v1/sessions/{session['id']}/events", params={"name": "openat"}
    ).json()["events"]
    texts = [e["fields"]["text"] for e in events]
    assert 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3' in texts
    hostname = next(e for e in events if "/etc/hostname" in e["fields"]["text"])
    assert hostname["fields"]["ret"] == 3
    assert hostname["fields"]["errno"] is None
    assert hostname["fields"]["duration_ns"] > 0


def test_attach_and_stop_leave_the_process_running(
    daemon: InProcess, sleeper: subprocess.Popen[bytes]
) -> None:
    created = daemon.create("ptrace", {"pid": sleeper.pid, "follow_forks": True})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    procs = daemon.call("GET", "/v1/processes", params={"pid": sleeper.pid}).json()["processes"]
    assert procs[0]["tracer_pid"] != 0

    def names() -> set[str]:
        events = daemon.call("GET", f"/v1/sessions/{sid}/events").json()["events"]
        return {e["name"] for e in events}

    # the shell forks a sleep and waits for it every 0.1 s: traced once stored
    wait_for(lambda: names() & {"wait4", "clone", "clone3"})
    stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
    assert stopped["state"] == "stopped"
    time.sleep(0.3)  # (a stop after the detach would show by now: none may)
    assert process_state(sleeper.pid) in ("S", "R")
    procs = daemon.call("GET", "/v1/processes", params={"pid": sleeper.pid}).json()["processes"]
    assert procs[0]["tracer_pid"] == 0


def test_attach_errors(daemon: InProcess, sleeper: subprocess.Popen[bytes]) -> None:
    missing = daemon.create("ptrace", {"pid": 4_000_000})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    own = daemon.create("ptrace", {"pid": os.getpid()})
    assert own.status_code == 409
    assert own.json()["error"]["code"] == "permission_denied"
    bad = daemon.create("ptrace", {"pid": sleeper.pid, "syscalls": ["opnat"]})
    assert bad.status_code == 400
    assert "openat" in bad.json()["error"]["message"]
    strace = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-p", str(sleeper.pid)])
    try:
        wait_for(
            lambda: (
                daemon.call("GET", "/v1/processes", params={"pid": sleeper.pid}).json()[
                    "processes"
                ][0]["tracer_pid"]
                == strace.pid
            )
        )
        busy = daemon.create("ptrace", {"pid": sleeper.pid})
        assert busy.status_code == 409
        err = busy.json()["error"]
        assert err["code"] == "already_traced"
        assert err["detail"]["tracer_pid"] == strace.pid
    finally:
        strace.send_signal(signal.SIGINT)
        strace.wait(10)
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []


def test_daemon_sigkill_leaves_attached_running_and_kills_launched(
    daemon_process: DaemonProcess, sleeper: subprocess.Popen[bytes]
) -> None:
    daemon_process.start()
    with daemon_process.unix() as unix:
        attached = unix.post(
            "/v1/sessions", json={"kind": "ptrace", "spec": {"pid": sleeper.pid}}
        ).json()
        launched = unix.post(
            "/v1/sessions", json={"kind": "ptrace", "spec": {"command": ["sleep", "60"]}}
        ).json()
    assert attached["state"] == "running", attached
    child = launched["info"]["command_pid"]
    daemon_process.signal(signal.SIGKILL)
    daemon_process.wait()
    wait_for(lambda: not alive(child))
    # the tracer (the daemon's worker) dies after the daemon: the kernel detaches its
    # tracees as it exits
    wait_for(lambda: pt.proc_status(sleeper.pid).get("TracerPid") == "0")
    assert alive(sleeper.pid)
    assert process_state(sleeper.pid) in ("S", "R")
