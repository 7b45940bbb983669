"""Fuzzing the served OpenAPI schema (schemathesis) against a real daemon over TCP.

Shared by the suite's fuzz test (tests/integration/test_fuzz_api.py, bounded) and the long
runner (bench/fuzz_api.py, ≥ 10,000 requests). Every operation gets generated requests,
valid ones and ones that break the schema, each sent with an admin or a viewer token and a
timeout; a path id is now and then one of a few real sessions. Launched commands are
pointed at `true` and ptrace pids at a sleeper of the caller's (the generator must not run
arbitrary programs as root or seize other processes). A 500 (any 5xx but 503) or a request
without an answer within the timeout is a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

REQUEST_TIMEOUT_S = 30.0
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 5}
"""per operation and scale 1: about 350 requests"""


@dataclass
class FuzzReport:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    hangs: int = 0
    server_errors: int = 0
    slowest_s: float = 0.0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.hangs

    def summary(self) -> str:
        return (
            f"fuzz: {self.requests} requests in {self.seconds:.0f} s, "
            f"statuses {dict(sorted(self.statuses.items()))}, 500s {self.server_errors}, "
            f"hangs {self.hangs}, slowest {self.slowest_s:.1f} s"
        )


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


def prepare(unix: httpx.Client) -> tuple[str, list[str]]:
    """A viewer token and sessions the generated requests may hit (stopped with events,
    running, created and stopped): (viewer token, session ids)."""
    viewer = unix.post("/v1/tokens", json={"name": "fuzz", "role": "viewer"}).json()["token"]
    known_ids = []
    for stop in (True, True, False):
        spec = {"events": ["sched:sched_process_exec"], "command": ["true"]}
        created = unix.post("/v1/sessions", json={"kind": "tracefs", "spec": spec})
        known_ids.append(created.json()["id"])
        if stop:
            unix.post(f"/v1/sessions/{known_ids[-1]}/stop?wait=true")
    running = unix.post(
        "/v1/sessions", json={"kind": "tracefs", "spec": {"events": ["sched:sched_process_exec"]}}
    )
    known_ids.append(running.json()["id"])
    return str(viewer), known_ids


def fuzz(
    url: str,
    tokens: dict[str, str],
    known_ids: list[str],
    sleeper: int,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
    each_batch: Callable[[str], AbstractContextManager[object]] = contextlib.nullcontext,
    seed: int | None = None,
) -> FuzzReport:
    """Every operation of the schema served at `url`, positive and negative requests; each
    operation's batch of one mode runs inside `each_batch(method)` (e.g. a lock held for
    the batches that may create kernel objects). A `seed` makes the generated requests
    reproducible (runs with different seeds send different ones)."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    http = requests.Session()
    report = FuzzReport()
    began = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.method.upper() != "GET")  # reads first, then writes
    for operation, mode in itertools.product(operations, EXAMPLES):

        @settings(
            max_examples=max(1, int(EXAMPLES[mode] * scale)),
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
            if case.body is not None and case.operation.path == "/v1/sessions":
                case.body = tame(case.body, sleeper)
            if known is not None and "id" in (case.path_parameters or {}):
                assert case.path_parameters is not None
                if case.operation.path.startswith("/v1/sessions/"):
                    case.path_parameters["id"] = known  # a real session, not a 404
            sent = time.monotonic()
            try:
                resp = case.call(
                    session=http,
                    headers={"Authorization": f"Bearer {tokens[role]}"},
                    timeout=REQUEST_TIMEOUT_S,
                )
            except requests.Timeout:
                report.hangs += 1
                report.failures.append(f"hang: {case.method} {case.formatted_path} ({role})")
                return
            report.slowest_s = max(report.slowest_s, time.monotonic() - sent)
            report.statuses[resp.status_code] += 1
            if resp.status_code >= 500 and resp.status_code != 503:
                report.server_errors += 1
                report.failures.append(
                    f"{resp.status_code}: {case.method} {case.formatted_path} {case.query} "
                    f"{str(case.body)[:300]} -> {resp.text[:300]}"
                )

        if seed is not None:
            run = hypothesis_seed(seed)(run)
        began_op = time.monotonic()
        with (
            each_batch(operation.method.upper()),
            contextlib.suppress(Unsatisfiable),
        ):  # Unsatisfiable: nothing in
            run()  # the operation can break the schema
        if progress is not None:
            progress(
                f"  {operation.method} {operation.path} {mode.value}: "
                f"{time.monotonic() - began_op:.1f} s, {report.requests} requests so far"
            )
    report.seconds = time.monotonic() - began
    return report


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    out.append(int(entry))
    return out


def stop_all(unix: httpx.Client) -> set[str]:
    """Stop every session; the states they end in."""
    for session in unix.get("/v1/sessions").json()["sessions"]:
        unix.post(f"/v1/sessions/{session['id']}/stop?wait=true")
    return {s["state"] for s in unix.get("/v1/sessions").json()["sessions"]}
