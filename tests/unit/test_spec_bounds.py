"""Every number a spec takes is bounded; argv and env values take any byte but NUL."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tracerd.api.schemas import SessionCreate
from tracerd.errors import BadRequest
from tracerd.sessions.live import recorded_spec, stored_spec
from tracerd.specs import ARG_MAX_BYTES, BpfSpec, PtraceSpec, TracefsSpec

HUGE = 1 << 63
CREATE: TypeAdapter[Any] = TypeAdapter(SessionCreate)

TRACEFS = {"events": ["sched:sched_switch"]}
PTRACE = {"command": ["true"]}
BPF = {"tool": "execsnoop"}


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("tracefs", {**TRACEFS, "max_events": HUGE}),
        ("tracefs", {**TRACEFS, "pids": [HUGE]}),
        ("tracefs", {**TRACEFS, "pids": [-1]}),
        ("tracefs", {**TRACEFS, "budget": {"max_bytes": HUGE}}),
        ("tracefs", {**TRACEFS, "budget": {"max_events_per_s": HUGE}}),
        ("tracefs", {**TRACEFS, "buffer_size_kb": HUGE}),
        ("tracefs", {**TRACEFS, "tracer": "function_graph", "max_graph_depth": 1 << 40}),
        ("tracefs", {"uprobes": [{"name": "p", "path": "/bin/true", "offset": HUGE}]}),
        ("tracefs", {**TRACEFS, "duration_s": math.inf}),
        ("tracefs", {**TRACEFS, "duration_s": math.nan}),
        ("tracefs", {**TRACEFS, "duration_s": 1e300}),
        ("ptrace", {"pid": HUGE}),
        ("ptrace", {"pid": (1 << 22) + 1}),
        ("ptrace", {**PTRACE, "max_events": -(1 << 70)}),
        ("bpf", {**BPF, "pid": HUGE}),
        ("bpf", {**BPF, "args": {"min_us": HUGE}}),
        ("bpf", {**BPF, "args": {"deep": [[-(1 << 64)]]}}),
        ("bpf", {**BPF, "args": {"x": math.inf}}),
        ("bpf", {**BPF, "map_interval_s": 1e-9}),
        ("bpf", {**BPF, "map_interval_s": math.inf}),
    ],
)
def test_out_of_range_numbers_are_refused(kind: str, spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CREATE.validate_python({"kind": kind, "spec": spec})


def test_the_bounds_still_take_ordinary_values() -> None:
    TracefsSpec.model_validate({**TRACEFS, "max_events": 10, "pids": [1], "duration_s": 2.5})
    BpfSpec.model_validate({**BPF, "args": {"min_us": 10, "x": 1.5}, "map_interval_s": 0.1})
    PtraceSpec.model_validate({"pid": 4194304})


@pytest.mark.parametrize(
    "argv",
    [
        ["python3", "-c", "import os\nos.getppid()"],
        ["sh", "-c", "echo a\techo b\r\n\x1b[0m\x7f"],
    ],
)
def test_argv_takes_every_byte_but_nul(argv: list[str]) -> None:
    spec = PtraceSpec.model_validate({"command": argv, "env": {"MULTI": "line\none\ttab"}})
    assert spec.command == argv


@pytest.mark.parametrize(
    "launch",
    [
        {"command": ["echo", "a\x00b"]},
        {"command": ["true"], "env": {"A=B": "c"}},
        {"command": ["true"], "env": {"": "c"}},
        {"command": ["true"], "env": {"A": "nul\x00"}},
        {"command": ["echo", "x" * (ARG_MAX_BYTES + 1)]},
        {"command": ["echo", "é" * (ARG_MAX_BYTES // 2 + 1)]},  # bytes, not characters
        {"command": ["echo", *["x" * 100_000] * 24]},  # 2.4 MB of argv
    ],
)
def test_argv_and_env_limits(launch: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PtraceSpec.model_validate(launch)


def test_a_stored_spec_that_no_longer_validates_is_a_bad_request() -> None:
    """A row stored by an older tracerd with looser rules: starting it answers 400, not 500."""
    assert stored_spec("tracefs", TRACEFS).events == ["sched:sched_switch"]
    with pytest.raises(BadRequest, match="stored tracefs spec is not valid any more") as raised:
        stored_spec("tracefs", {**TRACEFS, "max_events": HUGE})
    assert raised.value.detail["errors"][0]["loc"] == ("max_events",)


def test_a_recording_with_such_a_spec_stays_readable() -> None:
    """Reports and exports read such a row as it is (its other fields at their defaults)."""
    spec = recorded_spec("tracefs", {**TRACEFS, "max_events": HUGE, "gone_option": 1})
    assert spec.events == ["sched:sched_switch"]
    assert spec.max_events == HUGE
    assert spec.clock == recorded_spec("tracefs", TRACEFS).clock
