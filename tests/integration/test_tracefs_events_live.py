"""tracefs sessions end to end: events recorded, queried, streamed, lost and marked."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ..waits import WAIT_TIMEOUT_S
from .conftest import InProcess, instances, wait_final, wait_for

pytestmark = [pytest.mark.root, pytest.mark.tracefs]

PROGRAM_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int target(int a, const char *s) {
    return a + (int)strlen(s);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    for (int i = 0; i < n; i++) {
        int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) close(fd);
    }
    openat(AT_FDCWD, "/nonexistent/tracerd", O_RDONLY);
    printf("result %d\n", target(42, "hello-uprobe") + target(7, "second call"));
    fflush(stdout);
    return 3;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> str:
    src = tmp_path_factory.mktemp("prog") / "tdprog.c"
    src.write_text(
        PROGRAM_C.replace("#include <unistd.h>", "#include <unistd.h>\n#include <stdlib.h>")
    )
    exe = src.with_suffix("")
    subprocess.run(["gcc", "-O1", "-g", "-o", str(exe), str(src)], check=True)
    return str(exe)


def run_to_end(daemon: InProcess, spec: dict[str, Any]) -> dict[str, Any]:
    created = daemon.create("tracefs", spec)
    assert created.status_code == 201, created.text
    return wait_final(daemon, created.json()["id"])


def all_events(daemon: InProcess, sid: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
        page = daemon.call("GET", f"/v1/sessions/{sid}/events", params=query).json()
        out += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def test_launched_command_is_traced_from_its_exec(daemon: InProcess, program: str) -> None:
    spec = {
        "events": [
            "sched:sched_process_exec",
            "syscalls:sys_enter_openat",
            "sched:sched_process_exit",
        ],
        "command": [program, "5"],
    }
    session = run_to_end(daemon, spec)
    assert session["state"] == "stopped"
    assert session["exit_status"] == {"code": 3, "signal": None}
    assert session["reason"] == "the command exited"
    events = all_events(daemon, session["id"])
    assert [e["seq"] for e in events] == list(range(len(events)))
    pid = session["info"]["command_pid"]
    execs = [e for e in events if e["name"] == "sched:sched_process_exec"]
    assert execs[0]["fields"]["filename"] == program
    assert execs[0]["pid"] == pid
    assert execs[0]["comm"] == "tdprog"
    opens = [
        e for e in events if e["name"] == "syscalls:sys_enter_openat" and e["comm"] == "tdprog"
    ]
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY
    mine = [e for e in opens if e["fields"]["flags"] == flags]
    assert len(mine) == 5
    assert {e["fields"]["dfd"] for e in mine} == {0xFFFFFF9C}  # AT_FDCWD in the u64 field
    out = [e for e in events if e["name"] == "stdout"]
    assert [e["fields"]["text"] for e in out] == ["result 72"]
    # printed after its last openat, before it exited: in time order with the records
    assert out[0]["seq"] > max(e["seq"] for e in mine)
    assert out[0]["ts_ns"] > max(e["ts_ns"] for e in mine)
    assert [e["ts_ns"] for e in events] == sorted(e["ts_ns"] for e in events)
    assert session["counters"]["stored"] == len(events)
    assert instances() == []


def test_same_openat_count_as_the_program_makes(daemon: InProcess, program: str) -> None:
    # a `filename.ustring` filter would miss calls whose string page is not faulted in yet
    # (the kernel's filter copy does not fault): filter on the flags instead
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY
    spec = {
        "events": ["syscalls:sys_enter_openat"],
        "command": [program, "17"],
        "filters": {"syscalls:sys_enter_openat": f"flags == {flags}"},
    }
    session = run_to_end(daemon, spec)
    events = all_events(daemon, session["id"], name="syscalls:sys_enter_openat")
    assert len(events) == 17
    assert {e["fields"]["flags"] for e in events} == {flags}


def test_marker_comes_back_in_order(daemon: InProcess) -> None:
    session = daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}, wait=True).json()
    sid = session["id"]
    subprocess.run(["/bin/true"], check=True)
    assert (
        daemon.call("POST", f"/v1/sessions/{sid}/marker", json={"text": "between"}).status_code
        == 204
    )
    subprocess.run(["/bin/true"], check=True)
    stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
    assert stopped["state"] == "stopped"
    events = all_events(daemon, sid)
    names = [
        (e["name"], e["fields"].get("filename") or e["fields"].get("buf"))
        for e in events
        if e["name"] == "ftrace:print" or e["fields"].get("filename") == "/bin/true"
    ]
    assert names == [
        ("sched:sched_process_exec", "/bin/true"),
        ("ftrace:print", "between\n"),
        ("sched:sched_process_exec", "/bin/true"),
    ]
    ts = [e["ts_ns"] for e in events]
    assert ts == sorted(ts)


def test_two_sessions_see_only_their_own_commands(daemon: InProcess, program: str) -> None:
    spec = {"events": ["sched:sched_process_exec", "syscalls:sys_enter_openat"]}
    a = daemon.create("tracefs", {**spec, "command": [program, "4"]}).json()
    b = daemon.create("tracefs", {**spec, "command": ["/bin/ls", "/"]}).json()
    for s in (a, b):
        wait_for(
            lambda s=s: daemon.call("GET", f"/v1/sessions/{s['id']}").json()["state"] == "stopped",
            30,
        )
    pids_a = {e["pid"] for e in all_events(daemon, a["id"]) if e["pid"] is not None}
    pids_b = {e["pid"] for e in all_events(daemon, b["id"]) if e["pid"] is not None}
    assert pids_a == {a["info"]["command_pid"]}
    assert pids_b == {b["info"]["command_pid"]}


def test_events_filters_and_paging(daemon: InProcess, program: str) -> None:
    session = run_to_end(
        daemon,
        {
            "events": ["sched:sched_process_exec", "syscalls:sys_enter_openat"],
            "command": [program, "3"],
        },
    )
    sid = session["id"]
    every = all_events(daemon, sid)
    execs = all_events(daemon, sid, name="sched:sched_process_exec")
    assert execs == [e for e in every if e["name"] == "sched:sched_process_exec"]
    by_pid = all_events(daemon, sid, pid=session["info"]["command_pid"])
    assert by_pid == [e for e in every if e["pid"] == session["info"]["command_pid"]]
    middle = every[len(every) // 2]["ts_ns"]
    later = all_events(daemon, sid, since_ns=middle)
    assert later == [e for e in every if e["ts_ns"] >= middle]
    bad = daemon.call("GET", f"/v1/sessions/{sid}/events", params={"cursor": "x"})
    assert bad.status_code == 422


def test_stream_live_and_resume_without_gap(daemon: InProcess) -> None:
    session = daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}).json()
    sid = session["id"]
    headers = daemon.headers()
    received: list[dict[str, Any]] = []
    with daemon.client.websocket_connect(f"/v1/sessions/{sid}/stream", headers=headers) as ws:
        first = ws.receive_json()
        assert first == {"type": "state", "state": "running"}
        for _ in range(5):
            subprocess.run(["/bin/true"], check=True)
        while len([e for e in received if e["fields"].get("filename") == "/bin/true"]) < 5:
            msg = ws.receive_json()
            if msg["type"] == "events":
                received += msg["events"]
    for _ in range(3):
        subprocess.run(["/bin/true"], check=True)
    daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true")
    stored = all_events(daemon, sid)
    # resume from the middle of what was seen live: stored first, then the end
    start = received[2]["seq"]
    resumed: list[dict[str, Any]] = []
    with daemon.client.websocket_connect(
        f"/v1/sessions/{sid}/stream?from_seq={start}", headers=headers
    ) as ws:
        while (msg := ws.receive_json())["type"] != "end":
            if msg["type"] == "events":
                resumed += msg["events"]
    assert [e["seq"] for e in resumed] == [e["seq"] for e in stored if e["seq"] >= start]
    assert resumed == [e for e in stored if e["seq"] >= start]


def test_stream_auth_close_codes(daemon: InProcess) -> None:
    from starlette.websockets import WebSocketDisconnect

    session = daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}, start=False).json()
    with daemon.client.websocket_connect(f"/v1/sessions/{session['id']}/stream") as ws:
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4401
    with daemon.client.websocket_connect(f"/v1/sessions/9999/stream?token={daemon.admin}") as ws:
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4404
    with daemon.client.websocket_connect(
        f"/v1/sessions/{session['id']}/stream", subprotocols=[daemon.admin]
    ) as ws:
        assert ws.receive_json()["type"] == "state"


def test_flood_with_a_tiny_buffer_counts_the_loss(daemon: InProcess) -> None:
    session = daemon.create("tracefs", {"events": ["ftrace:print"], "buffer_size_kb": 8}).json()
    sid = session["id"]
    inst = Path("/sys/kernel/tracing/instances") / session["info"]["instance"]
    generated = 20000
    fd = os.open(inst / "trace_marker", os.O_WRONLY)
    try:
        for i in range(generated):
            os.write(fd, b"m%05d" % i)
    finally:
        os.close(fd)
    stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
    stored = stopped["counters"]["stored"]
    lost = stopped["counters"]["lost"]["kernel"]
    assert lost > 0
    assert stored + lost >= generated
    inband = list(all_events(daemon, sid, name="lost"))
    assert inband
    assert all(e["fields"]["source"] == "kernel" for e in inband)


def test_uprobe_with_fetch_args(daemon: InProcess, program: str) -> None:
    spec = {
        "uprobes": [
            {
                "name": "target",
                "path": program,
                "symbol": "target",
                "fetchargs": ["a=%di:s32", "s=+0(%si):string"],
            }
        ],
        "command": [program, "1"],
    }
    session = run_to_end(daemon, spec)
    hits = all_events(daemon, session["id"], name="uprobes:target")
    assert [(h["fields"]["a"], h["fields"]["s"]) for h in hits] == [
        (42, "hello-uprobe"),
        (7, "second call"),
    ]
    assert Path("/sys/kernel/tracing/uprobe_events").read_text().count("tracerd_") == 0
    # the uprobe's format is gone from the kernel: text comes from the formats stored with
    # the session, as trace-cmd report prints the kernel's print fmt (`(ip) a=42 s="..."`)
    text = daemon.call("GET", f"/v1/sessions/{session['id']}/export", params={"format": "text"})
    assert text.status_code == 200, text.text
    probes = [line for line in text.text.splitlines() if " target: " in line]
    assert [line.split(") ", 1)[1] for line in probes] == [
        'a=42 s="hello-uprobe"',
        'a=7 s="second call"',
    ]
    assert not (Path(daemon.settings.state_dir) / "spool" / str(session["id"])).exists()
    listed = daemon.call("GET", "/v1/sessions").json()["sessions"]
    assert all("formats" not in s["info"] for s in listed)  # only GET /sessions/{id} has them


def test_bad_uprobe_symbol_is_400(daemon: InProcess, program: str) -> None:
    spec = {"uprobes": [{"name": "t", "path": program, "symbol": "targte"}], "command": [program]}
    resp = daemon.create("tracefs", spec)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "bad_probe"
    assert "target" in resp.json()["error"]["message"]


def test_system_wide_raw_syscalls_does_not_feed_on_itself(daemon: InProcess) -> None:
    """System-wide: another process's syscalls are recorded, the daemon's and its worker's
    never (they would feed on their own reads), also from a thread the daemon starts while
    the session runs (its thread pool grows): the kernel's notrace list does not know it
    until the next update, the worker's decoder drops it by tgid."""
    resp = daemon.call(
        "POST",
        "/v1/sessions",
        params={"wait": "true"},
        json={
            "kind": "tracefs",
            # read(2) only: the daemon's and the others' reads of /proc/self/stat below,
            # not every syscall of a busy machine (which could reach max_events first)
            "spec": {
                "events": ["raw_syscalls:sys_enter"],
                "filters": {"raw_syscalls:sys_enter": "id == 0"},
                "max_events": 200000,
            },
        },
    )
    assert resp.status_code == 201, resp.text
    session = resp.json()
    sid = session["id"]
    assert session["state"] == "running", session

    def new_daemon_thread() -> None:
        for _ in range(200):
            with open("/proc/self/stat", "rb") as fh:
                fh.read()

    late = threading.Thread(target=new_daemon_thread)
    late.start()
    late.join()
    other = subprocess.run(
        ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do read x < /proc/self/stat; done; echo $$"],
        capture_output=True,
        text=True,
        check=True,
    )
    wait_for(lambda: all_events(daemon, sid, pid=[int(other.stdout)]))
    time.sleep(1.0)  # the daemon's thread's reads, had they been kept, are stored by now
    stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
    worker = next(int(r["name"]) for r in session["resources"] if r["type"] == "worker")
    own = {os.getpid(), worker}
    assert all_events(daemon, sid, pid=list(own)) == []
    assert stopped["state"] == "stopped"
    assert all_events(daemon, sid, pid=[int(other.stdout)]), "the other process's syscalls"


def test_stream_messages_are_json(daemon: InProcess) -> None:
    session = daemon.create("tracefs", {"events": ["sched:sched_process_exec"]}).json()
    answers: list[int] = []
    stop = threading.Timer(
        0.5,
        lambda: answers.append(
            daemon.call("POST", f"/v1/sessions/{session['id']}/stop?wait=true").status_code
        ),
    )
    with daemon.client.websocket_connect(
        f"/v1/sessions/{session['id']}/stream", headers=daemon.headers()
    ) as ws:
        stop.start()
        kinds = []
        while True:
            raw = ws.receive_text()
            msg = json.loads(raw)
            kinds.append(msg["type"])
            if msg["type"] == "end":
                break
    # the stop's answer can come after the stream's `end`: its thread must be done before
    # the test client closes (a request in flight then fails in that thread)
    stop.join(WAIT_TIMEOUT_S)
    assert answers == [200]
    assert kinds[0] == "state"
    assert kinds[-2:] == ["state", "end"]


def test_comm_of_a_launched_command_without_exec_events(daemon: InProcess, program: str) -> None:
    # no sched_process_exec in the session: the comm must still be the command's, not the
    # exec stub's (which the first records of the pid could suggest)
    session = run_to_end(
        daemon, {"events": ["syscalls:sys_enter_openat"], "command": [program, "2"]}
    )
    events = all_events(daemon, session["id"], name="syscalls:sys_enter_openat")
    assert events
    assert {e["comm"] for e in events} == {"tdprog"}
    assert {e["pid"] for e in events} == {session["info"]["command_pid"]}
