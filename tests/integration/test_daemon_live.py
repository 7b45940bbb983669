"""`tracerd serve` as a real process: sockets, the state-dir lock, crashes, shutdown."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DaemonProcess, alive, instances, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

EXEC = {"kind": "tracefs", "spec": {"events": ["sched:sched_process_exec"]}}


def test_tcp_needs_a_token_and_the_unix_socket_is_admin(daemon_process: DaemonProcess) -> None:
    daemon_process.start()
    mode = Path(daemon_process.socket).stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE((daemon_process.state_dir / "admin.token").stat().st_mode) == 0o600
    with daemon_process.tcp() as tcp:
        assert tcp.get("/v1/sessions").status_code == 401
    with daemon_process.tcp(daemon_process.admin) as tcp:
        assert tcp.get("/v1/tokens").status_code == 200
    with daemon_process.unix() as unix:
        assert unix.get("/v1/tokens").status_code == 200
        made = unix.post("/v1/tokens", json={"name": "v", "role": "viewer"}).json()
    with daemon_process.tcp(made["token"]) as tcp:
        assert tcp.get("/v1/sessions").status_code == 200
        assert tcp.post("/v1/sessions", json=EXEC).status_code == 403


def test_a_second_daemon_on_the_same_state_dir_is_refused(
    daemon_process: DaemonProcess, short_tmp: Path
) -> None:
    daemon_process.start()
    other = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracerd",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--socket",
            str(short_tmp / "o.sock"),
            "--state-dir",
            str(daemon_process.state_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode != 0
    assert "locked by another daemon" in other.stderr
    with daemon_process.unix() as unix:
        assert unix.get("/v1/health").status_code == 200


def test_sigkill_of_the_daemon_leaves_nothing_and_marks_interrupted(
    daemon_process: DaemonProcess,
) -> None:
    daemon_process.start()
    with daemon_process.unix() as unix:
        session = unix.post("/v1/sessions", json=EXEC).json()
    worker = next(int(r["name"]) for r in session["resources"] if r["type"] == "worker")
    assert instances() == [session["info"]["instance"]]
    daemon_process.signal(signal.SIGKILL)
    daemon_process.wait()
    # the worker notices (PDEATHSIG / EOF), removes its instance and exits
    wait_for(lambda: not alive(worker) and not instances())
    daemon_process.start()
    with daemon_process.unix() as unix:
        again = unix.get(f"/v1/sessions/{session['id']}").json()
    assert again["state"] == "interrupted"
    assert again["resources"] == []
    assert instances() == []


def test_leftovers_of_a_killed_daemon_are_removed_at_the_next_start(
    daemon_process: DaemonProcess,
) -> None:
    """Even when the worker could not clean up (killed too), the next daemon does."""
    daemon_process.start()
    with daemon_process.unix() as unix:
        session = unix.post("/v1/sessions", json=EXEC).json()
    worker = next(int(r["name"]) for r in session["resources"] if r["type"] == "worker")
    import os

    os.kill(worker, signal.SIGSTOP)  # a stuck worker: it cannot clean up
    try:
        daemon_process.signal(signal.SIGKILL)
        daemon_process.wait()
        assert session["info"]["instance"] in instances()  # others' tests may add theirs
    finally:
        os.kill(worker, signal.SIGKILL)  # never a stopped worker left behind
    daemon_process.start()
    assert instances() == []
    with daemon_process.unix() as unix:
        assert unix.get(f"/v1/sessions/{session['id']}").json()["state"] == "interrupted"


def test_sigterm_stops_every_session(daemon_process: DaemonProcess) -> None:
    daemon_process.start()
    with daemon_process.unix() as unix:
        ids = [unix.post("/v1/sessions", json=EXEC).json()["id"] for _ in range(2)]
    assert len(instances()) == 2
    daemon_process.signal(signal.SIGTERM)
    assert daemon_process.wait() == 0
    assert instances() == []
    daemon_process.start()
    with daemon_process.unix() as unix:
        assert [unix.get(f"/v1/sessions/{i}").json()["state"] for i in ids] == ["stopped"] * 2


def test_the_daemon_never_loads_bcc(daemon_process: DaemonProcess) -> None:
    proc = daemon_process.start()
    with daemon_process.unix() as unix:
        caps = unix.get("/v1/capabilities").json()
        assert caps["bpf"]["bcc"]["usable"] is True
        session = unix.post("/v1/sessions", json=EXEC).json()
        unix.delete(f"/v1/sessions/{session['id']}")
    maps = Path(f"/proc/{proc.pid}/maps").read_text()
    assert "libbcc" not in maps
    assert "libclang" not in maps
    assert "LLVM" not in maps
