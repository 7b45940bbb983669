"""Fuzzing the served OpenAPI schema (schemathesis) against a real daemon process.

Every operation gets a bounded number of generated requests (valid ones and ones that
break the schema), each sent with an admin or a viewer token, over TCP with a timeout
(tests/fuzzing.py): no answer may be a 500, none may hang, and afterwards nothing the
fuzzing started is left running."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.fuzzing import children, fuzz, prepare, stop_all

from .conftest import DaemonProcess, instances, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs, pytest.mark.timeout(300)]

# about a minute in the suite; bench/fuzz_api.py runs ≥ 10,000 requests
SCALE = float(os.environ.get("TRACERD_FUZZ_SCALE", "1"))


@pytest.fixture
def sleeper() -> Iterator[int]:
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_fuzzed_requests_never_500_nor_hang(
    daemon_process: DaemonProcess, monkeypatch: pytest.MonkeyPatch, sleeper: int
) -> None:
    monkeypatch.setenv("TRACERD_MAX_SESSIONS", "4")
    monkeypatch.setenv("TRACERD_STOP_TIMEOUT_S", "10")
    daemon_process.start()
    with daemon_process.unix() as unix:
        daemon_id = unix.get("/v1/health").json()["daemon_id"]
        viewer, known_ids = prepare(unix)
    tokens = {"admin": daemon_process.admin, "viewer": viewer}
    report = fuzz(daemon_process.url, tokens, known_ids, sleeper, SCALE, progress=print)
    print(report.summary())
    assert not report.failures, "\n".join(report.failures[:20])
    assert report.requests >= 200 * SCALE
    # nothing left running: stop what the fuzzing started, then no session is active, no
    # worker or launched command is left, no instance of this daemon remains
    with daemon_process.unix() as unix:
        states = stop_all(unix)
    assert not states & {"starting", "running", "stopping"}
    assert daemon_process.proc is not None
    wait_for(lambda: children(daemon_process.proc.pid) == [], 30)  # type: ignore[union-attr]
    assert not [i for i in instances() if i.startswith(f"tracerd_{daemon_id}_")]
