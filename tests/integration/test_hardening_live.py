"""Hardening (issue 16): bad input is a 4xx before anything exists, no session wedges,
bodies are read only for the authenticated and only up to the limit, the state is
private, tokens stay out of the log, slow clients cannot starve the daemon."""

from __future__ import annotations

import os
import resource
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from starlette.websockets import WebSocketDisconnect

from tracerd.app import MAX_BODY_BYTES

from .conftest import DaemonProcess, InProcess, fill, instances, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

HUGE = 1 << 63
EXEC = {"events": ["sched:sched_process_exec"]}


def own_instances(client: Any) -> list[str]:
    """This daemon's instances (other daemons on the machine have theirs)."""
    daemon_id = client.get("/v1/health").json()["daemon_id"]
    return [name for name in instances() if name.startswith(f"tracerd_{daemon_id}_")]


def sessions(daemon: InProcess) -> list[dict[str, Any]]:
    return list(daemon.call("GET", "/v1/sessions").json()["sessions"])


def assert_envelope(resp: Any, status: int, code: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code


# -- 8, 11, 12: numbers, ids, query parameters ----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("tracefs", {**EXEC, "max_events": HUGE}),
        ("tracefs", {**EXEC, "pids": [HUGE]}),
        ("tracefs", {**EXEC, "budget": {"max_bytes": HUGE}}),
        ("ptrace", {"pid": HUGE}),
        ("bpf", {"tool": "execsnoop", "pid": HUGE}),
        ("bpf", {"tool": "execsnoop", "args": {"pid": HUGE}}),
        ("bpf", {"tool": "execsnoop", "map_interval_s": 1e-9}),
        ("tracefs", {"tracer": "function_graph", "max_graph_depth": 1 << 40}),
    ],
)
def test_huge_numbers_are_422_and_leave_nothing(
    daemon: InProcess, kind: str, spec: dict[str, Any]
) -> None:
    assert_envelope(daemon.create(kind, spec), 422, "invalid_spec")
    assert sessions(daemon) == []


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_non_finite_durations_are_refused(daemon: InProcess, number: str) -> None:
    body = '{"kind": "tracefs", "spec": {"events": ["sched:sched_process_exec"], '
    body += f'"duration_s": {number}}}}}'
    headers = {**daemon.headers(), "Content-Type": "application/json"}
    resp = daemon.client.post("/v1/sessions", content=body, headers=headers)
    assert_envelope(resp, 422, "invalid_spec")
    assert sessions(daemon) == []


def test_session_ids_are_ascii_digits(daemon: InProcess) -> None:
    session = daemon.create("tracefs", EXEC, start=False).json()
    assert session["id"] == "1"
    for raw in ("%C2%B9", "%EF%BC%91", "%D9%A1"):  # ¹, fullwidth 1, Arabic-Indic 1
        assert_envelope(daemon.call("GET", f"/v1/sessions/{raw}"), 404, "not_found")
        assert_envelope(daemon.call("POST", f"/v1/sessions/{raw}/stop"), 404, "not_found")
        assert_envelope(daemon.call("DELETE", f"/v1/sessions/{raw}"), 404, "not_found")
        assert_envelope(daemon.call("GET", f"/v1/sessions/{raw}/events"), 404, "not_found")
    assert daemon.call("GET", "/v1/sessions/1").json()["state"] == "created"


@pytest.mark.parametrize(
    "query",
    [
        "events?since_ns=9223372036854775808",
        "events?until_ns=99999999999999999999",
        "events?pid=9223372036854775808",
        "events?cursor=9999999999999999999",
        "events?cursor=%D9%A1",
        "report?since_ns=9223372036854775808",
        "report?pid=-9223372036854775809",
        "report/timeline?bucket_ns=9223372036854775808",
        "report/syscalls?until_ns=9223372036854775808",
        "export?since_ns=9223372036854775808",
        "export?format=csv&pid=18446744073709551616",
    ],
)
def test_huge_query_parameters_are_4xx(daemon: InProcess, query: str) -> None:
    sid = daemon.create("tracefs", EXEC, start=False).json()["id"]
    resp = daemon.call("GET", f"/v1/sessions/{sid}/{query}")
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["error"]["code"] == "invalid_spec"


# -- 11, 16: launched commands -------------------------------------------------------------


def test_a_multiline_script_runs_and_its_output_comes_back(daemon: InProcess) -> None:
    script = "import os\nprint('ppid', os.getppid() > 0, sep='\\t')\nprint('two')"
    resp = daemon.create(
        "tracefs",
        {**EXEC, "command": [sys.executable, "-I", "-c", script], "env": {"X": "a\nb\tc"}},
    )
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    final = wait_for(
        lambda: (s := daemon.call("GET", f"/v1/sessions/{sid}").json())["state"] == "stopped" and s
    )
    assert final["exit_status"] == {"code": 0, "signal": None}
    events = daemon.call("GET", f"/v1/sessions/{sid}/events?name=stdout").json()["events"]
    assert [e["fields"]["text"] for e in events] == ["ppid\tTrue", "two"]
    assert own_instances(daemon.client) == []


def test_an_executable_the_user_may_not_run_is_refused(daemon: InProcess, tmp_path: Path) -> None:
    prog = tmp_path / "rootonly"
    prog.write_text("#!/bin/sh\necho hi\n")
    prog.chmod(0o700)
    os.chmod(tmp_path, 0o755)
    resp = daemon.create("tracefs", {**EXEC, "command": [str(prog)], "user": "nobody"})
    assert_envelope(resp, 400, "bad_request")
    assert "not executable by the user" in resp.json()["error"]["message"]
    assert sessions(daemon) == []
    assert own_instances(daemon.client) == []


def test_a_huge_argv_is_a_clear_4xx(daemon: InProcess) -> None:
    resp = daemon.create("ptrace", {"command": ["echo", *["x" * 100_000] * 24]})
    assert_envelope(resp, 422, "invalid_spec")
    assert sessions(daemon) == []


def test_env_names_with_equals_are_refused(daemon: InProcess) -> None:
    resp = daemon.create("ptrace", {"command": ["true"], "env": {"A=B": "c"}})
    assert_envelope(resp, 422, "invalid_spec")
    assert sessions(daemon) == []


# -- 2, 12: uprobes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "probe",
    [
        {"name": "p", "path": "/etc/passwd", "offset": 0},
        {"name": "p", "path": "/bin/true", "offset": HUGE - 1},
        {"name": "p", "path": "/bin/true", "offset": 4},  # the ELF header: not code
    ],
)
def test_uprobes_outside_code_are_refused(daemon: InProcess, probe: dict[str, Any]) -> None:
    assert_envelope(daemon.create("tracefs", {"uprobes": [probe]}), 400, "bad_probe")
    assert sessions(daemon) == []
    assert own_instances(daemon.client) == []


@pytest.mark.parametrize(
    "probe",
    [
        {"name": "p", "path": "/bin/true", "offset": 4096},
        {"name": "p", "path": "/usr/bin/python3", "symbol": "main", "offset": 1},
    ],
)
def test_uprobes_off_a_function_entry_are_admin_only(
    daemon: InProcess, probe: dict[str, Any]
) -> None:
    operator = daemon.token("operator")
    resp = daemon.call(
        "POST", "/v1/sessions", operator, json={"kind": "tracefs", "spec": {"uprobes": [probe]}}
    )
    assert_envelope(resp, 403, "forbidden")
    assert sessions(daemon) == []


# -- 13: stop answers at once ---------------------------------------------------------------


def test_stop_answers_stopping_at_once_and_wait_waits(daemon: InProcess) -> None:
    first = daemon.create("tracefs", EXEC).json()
    answer = daemon.call("POST", f"/v1/sessions/{first['id']}/stop").json()
    assert answer["state"] == "stopping"
    wait_for(lambda: daemon.call("GET", f"/v1/sessions/{first['id']}").json()["state"] == "stopped")
    second = daemon.create("tracefs", EXEC).json()
    assert daemon.call("POST", f"/v1/sessions/{second['id']}/stop?wait=true").json()["state"] == (
        "stopped"
    )
    assert own_instances(daemon.client) == []


# -- 9, 14: database faults ------------------------------------------------------------------


def test_a_locked_database_while_stopping_does_not_wedge_the_session(
    daemon: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = daemon.client.app.state.services.manager  # type: ignore[attr-defined]
    session = daemon.create("tracefs", {**EXEC, "command": ["sleep", "30"]}).json()
    real_reconcile, real_save = manager.ledger.reconcile, manager.store.save
    failures = {"reconcile": 0, "save": 0}

    def locked(name: str, real: Any) -> Any:
        def call(*args: Any) -> Any:
            if failures[name] < 3:
                failures[name] += 1
                raise OperationalError("UPDATE", {}, Exception("database is locked"))
            return real(*args)

        return call

    monkeypatch.setattr(manager.ledger, "reconcile", locked("reconcile", real_reconcile))
    monkeypatch.setattr(manager.store, "save", locked("save", real_save))
    stopped = daemon.call("POST", f"/v1/sessions/{session['id']}/stop?wait=true").json()
    assert stopped["state"] == "stopped", stopped
    assert failures["reconcile"] == 3  # retried within the stop
    assert failures["save"] >= 2  # `stopping` once (the persist loop retries), then retried
    assert own_instances(daemon.client) == []
    stored = daemon.call("GET", f"/v1/sessions/{session['id']}").json()
    assert stored["state"] == "stopped"


def test_a_database_that_stays_locked_fails_the_session_in_time(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from tracerd.app import create_app

    from .conftest import settings_for

    settings = settings_for(short_tmp, stop_timeout_s=2.0)
    with TestClient(create_app(settings)) as client:
        admin = {"Authorization": f"Bearer {settings.admin_token_path.read_text().strip()}"}
        manager = client.app.state.services.manager  # type: ignore[attr-defined]
        resp = client.post(
            "/v1/sessions?wait=true", json={"kind": "tracefs", "spec": EXEC}, headers=admin
        )
        sid = resp.json()["id"]

        def locked(*_args: Any) -> Any:
            raise OperationalError("DELETE", {}, Exception("database is locked"))

        monkeypatch.setattr(manager.ledger, "reconcile", locked)
        began = time.monotonic()
        answer = client.post(f"/v1/sessions/{sid}/stop?wait=true", headers=admin).json()
        assert answer["state"] in ("stopped", "failed")
        assert time.monotonic() - began < 3 * settings.stop_timeout_s + 15
        monkeypatch.undo()
        manager.ledger.reconcile(int(sid))  # what the next start would do
        assert own_instances(client) == []


# -- 15: small API items --------------------------------------------------------------------


def test_method_not_allowed_says_what_is(daemon: InProcess) -> None:
    resp = daemon.call("PUT", "/v1/health")
    assert_envelope(resp, 405)
    assert resp.headers["allow"] == "GET"


def test_unmatched_websocket_closes_with_4404(daemon: InProcess) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        daemon.client.websocket_connect("/v1/no/such/stream", headers=daemon.headers()) as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 4404


def test_tokens_record_their_last_use(daemon: InProcess) -> None:
    viewer = daemon.token("viewer")
    daemon.call("GET", "/v1/sessions", viewer)

    def used() -> bool:  # written off the request, on a thread of its own
        tokens = daemon.call("GET", "/v1/tokens").json()["tokens"]
        return next(t for t in tokens if viewer.split("_")[1] == t["id"])["last_used_at"]

    assert wait_for(used)


def test_metrics_without_a_token_is_a_json_401(daemon: InProcess) -> None:
    resp = daemon.client.get("/metrics")
    assert_envelope(resp, 401, "unauthenticated")


def test_the_schema_documents_the_errors_answered(daemon: InProcess) -> None:
    paths = daemon.call("GET", "/openapi.json").json()["paths"]
    envelope = {"$ref": "#/components/schemas/ErrorOut"}
    assert (
        paths["/v1/tokens"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
        == envelope
    )  # a bad role name
    metrics = paths["/metrics"]["get"]["responses"]
    assert metrics["401"]["content"]["application/json"]["schema"] == envelope
    bad_role = daemon.call("POST", "/v1/tokens", json={"name": "n", "role": "root"})
    assert bad_role.status_code in (400, 422), bad_role.text


def test_audit_rows_that_cannot_be_stored_are_logged_and_counted(
    daemon: InProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    svc = daemon.client.app.state.services  # type: ignore[attr-defined]
    tries = []

    def full(*args: Any) -> None:
        tries.append(args)
        raise OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(svc, "audit", full)
    created = daemon.call("POST", "/v1/tokens", json={"name": "n", "role": "viewer"})
    assert created.status_code == 201, created.text  # the request is not failed by it
    assert len(tries) > 1  # retried
    monkeypatch.undo()
    metrics = daemon.call("GET", "/metrics").text
    assert "tracerd_audit_failures_total 1.0" in metrics
    assert any("audit row not stored" in r.getMessage() for r in caplog.records)


def test_an_ordinary_stop_logs_no_warning(
    daemon: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        sid = daemon.create("tracefs", {**EXEC, "command": ["true"]}).json()["id"]
        stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
        assert stopped["state"] == "stopped", stopped
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w for w in warnings if w.startswith("session")] == []


# -- 3: private state --------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_db_upgrade_creates_a_private_state_dir(short_tmp: Path) -> None:
    state = short_tmp / "fresh"
    subprocess.run(
        [sys.executable, "-m", "tracerd", "db", "upgrade", "--state-dir", str(state)],
        check=True,
        capture_output=True,
    )
    assert mode(state) == 0o700
    assert mode(state / "tracerd.db") == 0o600


def test_the_daemon_tightens_a_loose_state_dir(daemon_process: DaemonProcess) -> None:
    state = daemon_process.state_dir
    subprocess.run(
        [sys.executable, "-m", "tracerd", "db", "upgrade", "--state-dir", str(state)],
        check=True,
        capture_output=True,
    )
    os.chmod(state, 0o755)
    os.chmod(state / "tracerd.db", 0o644)
    (state / "spool").mkdir(mode=0o755)
    os.chmod(state / "spool", 0o755)
    daemon_process.start()
    with daemon_process.unix() as unix:
        assert unix.post("/v1/tokens", json={"name": "n", "role": "viewer"}).status_code == 201
    assert mode(state) == 0o700
    assert mode(state / "spool") == 0o700
    for path in state.iterdir():
        if path.is_file():
            assert mode(path) & 0o077 == 0, path


# -- 1: bodies ----------------------------------------------------------------------------------


def raw_request(url: str, head: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head.encode())
    return sock


def read_status(sock: socket.socket) -> tuple[int, bytes]:
    """The status and the body (by Content-Length) of the answer."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split()[1]), body


CHUNKED = (
    "POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n{auth}\r\n"
)


def test_an_unauthenticated_chunked_body_is_refused_before_it_is_read(
    daemon_process: DaemonProcess,
) -> None:
    daemon_process.start()
    with raw_request(daemon_process.url, CHUNKED.format(auth="")) as sock:
        chunk = b"x" * (1 << 20)
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")  # 1 MiB, more to come
        status, body = read_status(sock)  # answered without the rest of the body
    assert status == 401
    assert b"unauthenticated" in body


def test_a_chunked_body_over_the_limit_is_413_as_it_arrives(
    daemon_process: DaemonProcess,
) -> None:
    daemon_process.start()
    auth = f"Authorization: Bearer {daemon_process.admin}\r\n"
    with raw_request(daemon_process.url, CHUNKED.format(auth=auth)) as sock:
        chunk = b"x" * (1 << 20)
        for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        status, body = read_status(sock)  # no terminating chunk was sent
    assert status == 413
    assert b'"code": "budget_exceeded"' in body


# -- 4: tokens never in the log -------------------------------------------------------------


def test_tokens_stay_out_of_the_log(
    daemon_process: DaemonProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from websockets.sync.client import connect

    monkeypatch.setenv("TRACERD_LOG_LEVEL", "debug")
    daemon_process.start()
    admin = daemon_process.admin
    secret = admin.split("_", 2)[2]
    with daemon_process.tcp(admin) as tcp:
        sid = tcp.post("/v1/sessions", json={"kind": "tracefs", "spec": EXEC}).json()["id"]
        ws_url = daemon_process.url.replace("http", "ws") + f"/v1/sessions/{sid}/stream"
        with connect(f"{ws_url}?token={admin}") as ws:
            ws.recv(timeout=10)
        with connect(ws_url, subprotocols=[admin]) as ws:  # type: ignore[list-item]
            ws.recv(timeout=10)
        with connect(ws_url, additional_headers={"Authorization": f"Bearer {admin}"}) as ws:
            ws.recv(timeout=10)
        tcp.post(f"/v1/sessions/{sid}/stop?wait=true")
    log = (daemon_process.root / "daemon.log").read_text(errors="replace")
    assert "WebSocket" in log  # the access lines are there, without the token
    assert secret not in log


# -- 7: slow clients -----------------------------------------------------------------------


def half_sent(url: str, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        out.append(raw_request(url, "GET /v1/health HTTP/1.1\r\nHost: t\r\nX-Slow: "))
    return out


def health_answers(url: str) -> bool:
    head = "GET /v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    with raw_request(url, head) as sock:
        return read_status(sock)[0] == 200


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_slowloris_does_not_starve_health_under_a_low_fd_limit(
    daemon_process: DaemonProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERD_MAX_CONNECTIONS", "200")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 4096, "the test needs a hard fd limit above 4096"
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # what the daemon inherits
    try:
        daemon_process.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert daemon_process.proc is not None
    pid = daemon_process.proc.pid
    held = half_sent(daemon_process.url, 600)
    try:
        assert health_answers(daemon_process.url)
        assert fd_count(pid) < 200 + 150
    finally:
        for sock in held:
            sock.close()


def test_headers_must_arrive_in_time(
    daemon_process: DaemonProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACERD_HEADER_TIMEOUT_S", "1")
    daemon_process.start()
    (slow,) = half_sent(daemon_process.url, 1)
    slow.settimeout(10)
    began = time.monotonic()
    assert slow.recv(100) == b""  # closed by the daemon
    assert time.monotonic() - began < 8
    slow.close()
    assert health_answers(daemon_process.url)


# -- 8: a failing worker call fails the session -------------------------------------------


def test_an_unexpected_error_while_starting_fails_the_session(
    daemon: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracerd.workers.launch import WorkerProcess

    real_call = WorkerProcess.call

    async def overflowing(self: WorkerProcess, op: str, *args: Any, **kw: Any) -> Any:
        if op == "prepare":
            raise OverflowError("int too big to convert")
        return await real_call(self, op, *args, **kw)

    monkeypatch.setattr(WorkerProcess, "call", overflowing)
    resp = daemon.create("bpf", {"tool": "execsnoop"})
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    failed = wait_for(
        lambda: (s := daemon.call("GET", f"/v1/sessions/{sid}").json())["state"] == "failed" and s
    )
    assert "OverflowError" in failed["reason"]
    assert daemon.call("POST", f"/v1/sessions/{sid}/stop").json()["state"] == "failed"
    assert daemon.call("DELETE", f"/v1/sessions/{sid}").status_code == 204
    tracefs = daemon.create("tracefs", EXEC)
    assert_envelope(tracefs, 500, "worker_failed")
    assert sessions(daemon) == []


# -- 14: a full disk ---------------------------------------------------------------------------


def test_a_full_disk_is_said_and_the_daemon_keeps_answering(
    small_disk: Path, short_tmp: Path
) -> None:
    from fastapi.testclient import TestClient

    from tracerd.app import create_app
    from tracerd.config import Settings

    settings = Settings(
        state_dir=small_disk / "state",
        socket=str(short_tmp / "s.sock"),
        listen="127.0.0.1:0",
        stop_timeout_s=3.0,
    )
    with TestClient(create_app(settings)) as client:
        admin = {"Authorization": f"Bearer {settings.admin_token_path.read_text().strip()}"}
        running = client.post("/v1/sessions", json={"kind": "tracefs", "spec": EXEC}, headers=admin)
        assert running.status_code == 201, running.text
        filler = fill(small_disk)
        try:
            token = client.post("/v1/tokens", json={"name": "n", "role": "viewer"}, headers=admin)
            assert_envelope(token, 503, "storage_unavailable")
            assert "full" in token.json()["error"]["message"]
            assert client.get("/v1/health").status_code == 200
            sid = running.json()["id"]
            subprocess.run(["sh", "-c", "for i in $(seq 50); do /bin/true; done"], check=True)
            stopped = client.post(f"/v1/sessions/{sid}/stop?wait=true", headers=admin).json()
            assert stopped["state"] in ("stopped", "failed")
            if stopped["counters"]["lost"]["storage"]:
                assert "could not be stored" in stopped["reason"]
                assert "is full" in stopped["reason"]
        finally:
            filler.unlink()
        assert client.get(f"/v1/sessions/{sid}", headers=admin).json()["state"] in (
            "stopped",
            "failed",
        )
        assert own_instances(client) == []
