"""The guest tier: tests that need Debian's stock 6.1 kernel (function, function_graph,
kprobes, fentry), run inside the QEMU guest by `scripts/guest/run.sh` (`make guest-tests`).

Outside the guest every test here is skipped (`TRACERD_GUEST=1` marks the guest; the shared
kvm-guest tool's `KVM_GUEST=1` is accepted too). Inside it, a skip is a failure: the tier
exists to run these paths for real, so a capability the probe did not find, or a missing
test binary, fails the run loudly instead of passing it quietly.

Test binaries are built on the host (the guest has no compiler) into build/guest/bin.
The in-process daemon is shared by the tier's tests (starting one probes the capabilities,
about 13 s under TCG); each test deletes the sessions it made.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tracerd.app import create_app

from ..integration import conftest as integration
from ..integration.conftest import (  # noqa: F401 (fixtures)
    DaemonProcess,
    InProcess,
    daemon_process,
    settings_for,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("TRACERD_GUEST_BIN", ROOT / "build/guest/bin"))
TRACEFS = Path("/sys/kernel/tracing")
IN_GUEST = os.environ.get("TRACERD_GUEST") == "1" or os.environ.get("KVM_GUEST") == "1"
# a daemon process imports for about 40 s under TCG (fastapi, pydantic, sqlalchemy)
integration.START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 60.0
"""switching function_graph off takes seconds under TCG (it unpatches ~40,000 functions)"""
_skipped: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.guest)
        if not IN_GUEST:
            item.add_marker(pytest.mark.skip(reason="runs in the guest tier (make guest-tests)"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if IN_GUEST and report.skipped and "tests/guest/" in report.nodeid:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped:
        terminalreporter.section("guest tier: a skip is a failure here", red=True)
        for line in _skipped:
            terminalreporter.line(line, red=True)


@pytest.fixture(scope="session")
def _shared_daemon() -> Iterator[InProcess]:
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="tdg", dir="/tmp"))
    try:
        settings = settings_for(root, stop_timeout_s=STOP_TIMEOUT_S)
        with TestClient(create_app(settings)) as client:
            admin = settings.admin_token_path.read_text().strip()
            yield InProcess(client, settings, admin)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def daemon(_shared_daemon: InProcess) -> Iterator[InProcess]:
    """The tier's in-process daemon; the sessions a test made are deleted after it."""
    before = {s["id"] for s in _shared_daemon.call("GET", "/v1/sessions").json()["sessions"]}
    yield _shared_daemon
    for session in _shared_daemon.call("GET", "/v1/sessions").json()["sessions"]:
        if session["id"] not in before:
            _shared_daemon.call("DELETE", f"/v1/sessions/{session['id']}")


@pytest.fixture
def tracee() -> Path:
    """The known workload (tests/guest/progs/tracee.c), built on the host."""
    path = BIN_DIR / "tracee"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: scripts/guest/run.sh builds it on the host")
    return path


def top(file: str) -> str:
    return (TRACEFS / file).read_text()


def top_write(file: str, text: str) -> None:
    fd = os.open(TRACEFS / file, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def current_clock() -> str:
    text = top("trace_clock")
    return text[text.index("[") + 1 : text.index("]")]


@pytest.fixture
def clean_top_level() -> Iterator[None]:
    """The top level as a fresh boot has it before and after the test (also on failure)."""
    defaults = {
        "current_tracer": "nop",
        "set_graph_function": "",
        "set_ftrace_filter": "",
        "set_ftrace_pid": "",
        "set_ftrace_notrace_pid": "",
        "max_graph_depth": "0",
        "trace_clock": "local",
        "tracing_on": "1",
    }
    for file, value in defaults.items():
        top_write(file, value)
    yield
    for file, value in defaults.items():
        with contextlib.suppress(OSError):
            top_write(file, value)


def events_of(app: Any, session_id: str, name: str | None = None) -> list[dict[str, Any]]:
    """Every stored event of a session (all pages), optionally of one name."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if name:
            params["name"] = name
        if cursor:
            params["cursor"] = cursor
        page = app.call("GET", f"/v1/sessions/{session_id}/events", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        out += body["events"]
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def run_to_end(app: InProcess, spec: dict[str, Any], timeout_s: float = 120.0) -> dict[str, Any]:
    """Create a session that launches a command; wait until it stopped by itself."""
    resp = app.create("tracefs", spec)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]

    def final() -> dict[str, Any] | None:
        session: dict[str, Any] = app.call("GET", f"/v1/sessions/{sid}").json()
        return session if session["state"] in ("stopped", "failed") else None

    session: dict[str, Any] = wait_for(final, timeout_s=timeout_s, interval_s=0.2)
    assert session["state"] == "stopped", session
    assert session["exit_status"] == {"code": 0, "signal": None}, session
    return session
