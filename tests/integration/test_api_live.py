"""The API against the real kernel, app in-process: auth, errors, catalogue, capabilities."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tracerd.app import create_app
from tracerd.config import Settings

from .conftest import InProcess

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

TRACEFS = Path("/sys/kernel/tracing")
OPEN_ROUTES = {"/v1/health"}
ADMIN_ROUTES = {"/v1/tokens", "/v1/tokens/{id}"}


def concrete(path: str) -> str:
    return (
        path.replace("{id}", "999999")
        .replace("{subsystem}", "sched")
        .replace("{event}", "sched_switch")
        .replace("{kind}", "syscalls")
    )


def api_routes() -> list[tuple[str, str]]:
    paths = create_app(Settings()).openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


ROUTES = api_routes()


def body_for(method: str, path: str) -> dict[str, Any] | None:
    if path == "/v1/sessions" and method == "POST":
        return {"kind": "tracefs", "spec": {"events": ["sched:sched_process_exec"]}, "start": False}
    if path == "/v1/tokens" and method == "POST":
        return {"name": "matrix", "role": "viewer"}
    if path.endswith("/marker"):
        return {"text": "hello"}
    return None


def test_every_route_needs_a_token(daemon: InProcess) -> None:
    assert ROUTES, "no routes found"
    for method, path in ROUTES:
        resp = daemon.client.request(method, concrete(path), json=body_for(method, path))
        if path in OPEN_ROUTES:
            assert resp.status_code == 200, (method, path)
        else:
            assert resp.status_code == 401, (method, path, resp.text)
            assert resp.json()["error"]["code"] == "unauthenticated"
        bad = daemon.client.request(
            method,
            concrete(path),
            json=body_for(method, path),
            headers={"Authorization": "Bearer trd_nope_nope"},
        )
        if path not in OPEN_ROUTES:
            assert bad.status_code == 401, (method, path)


def test_roles_on_every_route(daemon: InProcess) -> None:
    viewer, operator = daemon.token("viewer"), daemon.token("operator")
    for method, path in ROUTES:
        if path in OPEN_ROUTES:
            continue
        body = body_for(method, path)
        as_viewer = daemon.call(method, concrete(path), viewer, json=body)
        as_operator = daemon.call(method, concrete(path), operator, json=body)
        if path in ADMIN_ROUTES:
            assert as_viewer.status_code == 403, (method, path)
            assert as_operator.status_code == 403, (method, path)
            assert as_operator.json()["error"]["code"] == "forbidden"
        elif method == "GET":
            assert as_viewer.status_code not in (401, 403), (method, path, as_viewer.text)
        else:
            assert as_viewer.status_code == 403, (method, path, as_viewer.text)
            assert as_operator.status_code not in (401, 403), (method, path, as_operator.text)
        as_admin = daemon.call(method, concrete(path), json=body)
        assert as_admin.status_code not in (401, 403), (method, path, as_admin.text)


ADMIN_ONLY_SPECS = [
    ("bpf", {"bpftrace": "BEGIN { exit(); }"}),
    (
        "bpf",
        {
            "program": "int f(void *ctx) { return 0; }",
            "attach": [{"type": "tracepoint", "target": "sched:sched_switch", "fn": "f"}],
        },
    ),
    ("ptrace", {"command": ["/bin/true"], "breakpoints": ["main"], "user": "nobody"}),
    ("ptrace", {"command": ["/bin/true"]}),
    ("tracefs", {"events": ["sched:sched_process_exec"], "command": ["/bin/true"]}),
    ("tracefs", {"events": ["sched:sched_process_exec"], "command": ["/bin/true"], "user": "root"}),
]


@pytest.mark.parametrize(("kind", "spec"), ADMIN_ONLY_SPECS)
def test_admin_only_spec_parts(daemon: InProcess, kind: str, spec: dict[str, Any]) -> None:
    operator = daemon.token("operator")
    resp = daemon.call(
        "POST", "/v1/sessions", operator, json={"kind": kind, "spec": spec, "start": False}
    )
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "forbidden"
    as_admin = daemon.call(
        "POST", "/v1/sessions", json={"kind": kind, "spec": spec, "start": False}
    )
    assert as_admin.status_code == 201, as_admin.text


def test_operator_may_launch_as_a_user(daemon: InProcess) -> None:
    operator = daemon.token("operator")
    spec = {"events": ["sched:sched_process_exec"], "command": ["/bin/true"], "user": "nobody"}
    resp = daemon.call(
        "POST", "/v1/sessions", operator, json={"kind": "tracefs", "spec": spec, "start": False}
    )
    assert resp.status_code == 201, resp.text


def test_validation_errors_use_the_envelope(daemon: InProcess) -> None:
    resp = daemon.create("tracefs", {"events": ["sched:sched_switch"], "bogus": 1})
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["code"] == "invalid_spec"
    assert "bogus" in err["message"]
    assert isinstance(err["detail"], list)
    resp = daemon.call("POST", "/v1/sessions", json={"kind": "nope", "spec": {}})
    assert resp.status_code == 422
    assert set(resp.json()) == {"error"}
    assert set(resp.json()["error"]) == {"code", "message", "detail"}


def test_unknown_routes_and_sessions_use_the_envelope(daemon: InProcess) -> None:
    for path in ("/v1/nothing", "/v1/sessions/42", "/v1/sessions/abc"):
        resp = daemon.call("GET", path)
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "not_found"


def _tracer_usable(tracer: str) -> bool:
    """Independently of the daemon: can this tracer run in a fresh instance?"""
    inst = TRACEFS / "instances" / f"tracerd_test_{os.getpid()}"
    inst.mkdir()
    try:
        fd = os.open(inst / "current_tracer", os.O_WRONLY)
        try:
            os.write(fd, tracer.encode())
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            fd = os.open(inst / "current_tracer", os.O_WRONLY)
            os.write(fd, b"nop")
            os.close(fd)
        inst.rmdir()


def test_capabilities_equal_the_kernel(daemon: InProcess) -> None:
    resp = daemon.call("GET", "/v1/capabilities")
    assert resp.status_code == 200
    caps = resp.json()
    tracefs = caps["tracefs"]
    assert tracefs["mounted"]["usable"] is True
    assert tracefs["events"] == len((TRACEFS / "available_events").read_text().splitlines())
    assert tracefs["function"]["usable"] == _tracer_usable("function")
    graph = tracefs["function_graph"]
    listed = "function_graph" in (TRACEFS / "available_tracers").read_text().split()
    in_instance = listed and _tracer_usable("function_graph")
    assert graph["usable"] == (in_instance or (listed and tracefs["function"]["usable"]))
    if not graph["usable"]:
        assert graph["reason"]
    assert tracefs["kprobes"]["usable"] == (TRACEFS / "kprobe_events").exists()
    assert tracefs["uprobes"]["usable"] == (TRACEFS / "uprobe_events").exists()
    for name in ("tracepoint", "raw_tracepoint", "uprobe", "perf_event", "kprobe", "fentry"):
        entry = caps["bpf"][name]
        assert set(entry) >= {"usable", "where", "reason"}
        assert entry["usable"] or entry["reason"]
    assert caps["bpf"]["tracepoint"]["usable"] is True  # this kernel runs BPF tracepoints
    assert caps["ptrace"]["usable"]["usable"] is True
    assert caps["ptrace"]["ptrace_scope"] == int(
        Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip()
        if Path("/proc/sys/kernel/yama/ptrace_scope").exists()
        else "0"
    )
    refreshed = daemon.call("GET", "/v1/capabilities", params={"refresh": "true"}).json()
    assert refreshed["tracefs"]["function"] == tracefs["function"]
    daemon_id = daemon.call("GET", "/v1/health").json()["daemon_id"]
    assert not (TRACEFS / "instances" / f"tracerd_{daemon_id}_probe").exists()


FIELD_RE = re.compile(
    r"field:(?P<decl>[^;]*);\s*offset:(?P<off>\d+);\s*size:(?P<size>\d+);"
    r"\s*signed:(?P<signed>\d+);"
)


@pytest.mark.parametrize(
    "event",
    ["sched/sched_switch", "syscalls/sys_enter_openat", "sched/sched_process_exec", "ftrace/print"],
)
def test_catalogue_fields_equal_the_format_file(daemon: InProcess, event: str) -> None:
    fmt = (TRACEFS / "events" / event / "format").read_text()
    expected = [
        (m["decl"].split()[-1].split("[")[0], int(m["off"]), int(m["size"]), m["signed"] == "1")
        for m in FIELD_RE.finditer(fmt)
    ]
    resp = daemon.call("GET", f"/v1/tracepoints/{event}")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert [(f["name"], f["offset"], f["size"], f["signed"]) for f in got["fields"]] == expected
    assert got["id"] == int((TRACEFS / "events" / event / "id").read_text())
    assert got["print_fmt"] in fmt


def test_catalogue_search(daemon: InProcess) -> None:
    glob = daemon.call("GET", "/v1/tracepoints", params={"q": "sched:sched_process_*"}).json()
    names = {t["name"] for t in glob["tracepoints"]}
    expected = {
        f"sched:{p.name}"
        for p in (TRACEFS / "events/sched").iterdir()
        if p.name.startswith("sched_process_")
    }
    assert names == expected
    sub = daemon.call("GET", "/v1/tracepoints", params={"q": "openat"}).json()
    assert "syscalls:sys_enter_openat" in {t["name"] for t in sub["tracepoints"]}
    assert daemon.call("GET", "/v1/tracepoints/sched/no_such_event").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tracepoints/%2e%2e/%2e%2e",
        "/v1/tracepoints/..%2F..%2Fetc/passwd",
        "/v1/tracepoints/sched/%2e%2e",
        "/v1/tracepoints/%2E%2E/header_page",
        "/v1/tracepoints/sched/sched_switch%00",
        "/v1/tracepoints/.%2Fsched/sched_switch",
    ],
)
def test_traversal_is_rejected(daemon: InProcess, path: str) -> None:
    resp = daemon.call("GET", path)
    assert resp.status_code == 404, (path, resp.text)
    assert resp.json()["error"]["code"] == "not_found"


def test_openapi_file_equals_served_schema(daemon: InProcess) -> None:
    served = daemon.call("GET", "/openapi.json").json()
    on_disk = yaml.safe_load((Path(__file__).parents[2] / "openapi.yaml").read_text())
    assert on_disk == served, "run `make openapi` to refresh openapi.yaml"


def test_processes(daemon: InProcess) -> None:
    mine = daemon.call("GET", "/v1/processes", params={"pid": os.getpid()}).json()["processes"]
    assert [p["pid"] for p in mine] == [os.getpid()]
    assert mine[0]["user"] == "root"
    assert mine[0]["state"] in "RS"
    assert mine[0]["tracer_pid"] == 0
    found = daemon.call("GET", "/v1/processes", params={"q": "pytest"}).json()["processes"]
    assert os.getpid() in {p["pid"] for p in found}


def test_metrics(daemon: InProcess) -> None:
    daemon.call("GET", "/v1/sessions")
    text = daemon.call("GET", "/metrics").text
    assert 'tracerd_requests_total{method="GET",route="/v1/sessions",status="200"}' in text
    assert "tracerd_daemon_rss_bytes" in text
    assert "tracerd_workers" in text


def test_audit_rows_for_writes(daemon: InProcess) -> None:
    from sqlalchemy import select

    from tracerd.storage.tables import AuditRow

    daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}, start=False)
    daemon.call("POST", "/v1/tokens", "trd_x_y", json={"name": "x", "role": "viewer"})
    svc = daemon.client.app.state.services  # type: ignore[attr-defined]
    with svc.db() as db:
        rows = list(db.scalars(select(AuditRow).order_by(AuditRow.id)))
    created = [r for r in rows if r.path == "/v1/sessions" and r.method == "POST"]
    assert created
    assert created[-1].status == 201
    assert created[-1].role == "admin"
    refused = [r for r in rows if r.path == "/v1/tokens" and r.status == 401]
    assert refused
    assert refused[-1].principal == "anonymous"


def test_quotas_buffer_size_and_body(daemon: InProcess) -> None:
    big = daemon.create("tracefs", {"events": ["sched:sched_switch"], "buffer_size_kb": 1 << 30})
    assert big.status_code == 409
    assert big.json()["error"]["code"] == "quota_exceeded"
    huge = daemon.client.post(
        "/v1/sessions",
        content=b"{" + b" " * (5 << 20) + b"}",
        headers={**daemon.headers(), "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "budget_exceeded"
