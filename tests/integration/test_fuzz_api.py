"""Fuzzing the served OpenAPI schema (schemathesis) against a real daemon process.

Every operation gets a bounded number of generated requests (valid ones and ones that
break the schema), each sent with an admin or a viewer token, over TCP with a timeout:
no answer may be a 500, none may hang, and afterwards nothing the fuzzing started is
left running. Launched commands are pointed at `true` and ptrace pids at a sleeper of
the test's own (the generator must not run arbitrary programs as root or seize other processes)."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import DaemonProcess, instances, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs, pytest.mark.timeout(300)]

# valid requests, and requests that break the schema (each must be a 4xx); about a minute
# in the suite, TRACERD_FUZZ_SCALE=25 for a long run (~10,000 requests)
SCALE = float(os.environ.get("TRACERD_FUZZ_SCALE", "1"))
EXAMPLES = {
    GenerationMode.POSITIVE: max(1, int(8 * SCALE)),
    GenerationMode.NEGATIVE: max(1, int(5 * SCALE)),
}
REQUEST_TIMEOUT_S = 30.0


@pytest.fixture
def sleeper() -> Iterator[int]:
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def tame(body: Any, pid: int) -> Any:
    """A generated session spec, with its command `true` and its ptrace pid the sleeper."""
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        return body
    spec = dict(body["spec"])
    command = spec.get("command")
    if isinstance(command, list) and command:
        spec["command"] = ["true", *command[1:]]
    if body.get("kind") == "ptrace" and spec.get("pid") is not None:
        spec["pid"] = pid
    spec.pop("cwd", None)
    return {**body, "spec": spec}


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    out.append(int(entry))
    return out


def test_fuzzed_requests_never_500_nor_hang(
    daemon_process: DaemonProcess, monkeypatch: pytest.MonkeyPatch, sleeper: int
) -> None:
    monkeypatch.setenv("TRACERD_MAX_SESSIONS", "4")
    monkeypatch.setenv("TRACERD_STOP_TIMEOUT_S", "10")
    daemon_process.start()
    with daemon_process.unix() as unix:
        viewer = unix.post("/v1/tokens", json={"name": "fuzz", "role": "viewer"}).json()["token"]
        daemon_id = unix.get("/v1/health").json()["daemon_id"]
        # sessions the generated requests may hit: stopped with events, running, created
        known_ids = []
        for start in (True, True, False):
            spec = {"events": ["sched:sched_process_exec"], "command": ["true"]}
            created = unix.post("/v1/sessions", json={"kind": "tracefs", "spec": spec})
            known_ids.append(created.json()["id"])
            if start:
                unix.post(f"/v1/sessions/{known_ids[-1]}/stop?wait=true")
        running = unix.post(
            "/v1/sessions",
            json={"kind": "tracefs", "spec": {"events": ["sched:sched_process_exec"]}},
        )
        known_ids.append(running.json()["id"])
    schema = schemathesis.openapi.from_url(f"{daemon_process.url}/openapi.json")
    tokens = {"admin": daemon_process.admin, "viewer": viewer}
    http = requests.Session()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    slowest = 0.0

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in itertools.product(operations, EXAMPLES):

        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            case=operation.as_strategy(generation_mode=mode),
            role=st.sampled_from(sorted(tokens)),
            known=st.sampled_from([None, *known_ids]),
        )
        def run(case: schemathesis.Case, role: str, known: str | None) -> None:
            nonlocal slowest
            if case.body is not None and case.operation.path == "/v1/sessions":
                case.body = tame(case.body, sleeper)
            if known is not None and "id" in (case.path_parameters or {}):
                assert case.path_parameters is not None
                if case.operation.path.startswith("/v1/sessions/"):
                    case.path_parameters["id"] = known  # a real session, not a 404
            began = time.monotonic()
            try:
                resp = case.call(
                    session=http,
                    headers={"Authorization": f"Bearer {tokens[role]}"},
                    timeout=REQUEST_TIMEOUT_S,
                )
            except requests.Timeout:
                failures.append(f"hang: {case.method} {case.formatted_path} ({role})")
                return
            slowest = max(slowest, time.monotonic() - began)
            statuses[resp.status_code] += 1
            if resp.status_code >= 500 and resp.status_code != 503:
                failures.append(
                    f"{resp.status_code}: {case.method} {case.formatted_path} {case.query} "
                    f"{str(case.body)[:300]} -> {resp.text[:300]}"
                )

        began_op = time.monotonic()
        try:
            run()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # nothing in it can break the schema
        print(
            f"  {operation.method} {operation.path} {mode.value}: "
            f"{time.monotonic() - began_op:.1f} s"
        )

    total = sum(statuses.values())
    print(
        f"fuzz: {total} requests, statuses {dict(sorted(statuses.items()))}, "
        f"slowest {slowest:.1f} s"
    )
    assert not failures, "\n".join(failures[:20])
    assert total >= 200 * SCALE
    # nothing left running: stop what the fuzzing started, then no session is active, no
    # worker or launched command is left, no instance of this daemon remains
    with daemon_process.unix() as unix:
        for session in unix.get("/v1/sessions").json()["sessions"]:
            unix.post(f"/v1/sessions/{session['id']}/stop?wait=true")
        states = {s["state"] for s in unix.get("/v1/sessions").json()["sessions"]}
    assert not states & {"starting", "running", "stopping"}
    assert daemon_process.proc is not None
    wait_for(lambda: children(daemon_process.proc.pid) == [], 30)  # type: ignore[union-attr]
    assert not [i for i in instances() if i.startswith(f"tracerd_{daemon_id}_")]
