"""The `tracerd` CLI against a real daemon over its unix socket and over TCP."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from .conftest import DaemonProcess, instances

pytestmark = [pytest.mark.root, pytest.mark.tracefs]


def cli(daemon: DaemonProcess, *args: str, check: bool = True, **kw: Any) -> Any:
    env = {**os.environ, "TRACERD_SOCKET": daemon.socket}
    proc = subprocess.run(
        [sys.executable, "-m", "tracerd", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        **kw,
    )
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


@pytest.fixture
def running(daemon_process: DaemonProcess) -> DaemonProcess:
    daemon_process.start()
    return daemon_process


def test_status_caps_tokens(running: DaemonProcess) -> None:
    assert "0 active of 0 sessions" in cli(running, "status").stdout
    caps = cli(running, "caps").stdout
    assert "tracefs.function" in caps
    assert "bpf.tracepoint" in caps
    token = cli(running, "token", "create", "--role", "viewer", "--name", "cli").stdout.strip()
    assert token.startswith("trd_")
    listing = cli(running, "token", "list").stdout
    assert "cli" in listing
    assert "viewer" in listing
    over_tcp = cli(running, "status", "--url", running.url, "--token", token)
    assert "tracerd" in over_tcp.stdout
    denied = cli(running, "token", "list", "--url", running.url, "--token", token, check=False)
    assert denied.returncode == 1
    assert "403 forbidden" in denied.stderr
    token_id = token.split("_")[1]
    cli(running, "token", "revoke", token_id)
    refused = cli(running, "status", "--url", running.url, "--token", token, check=False)
    assert "401" in refused.stderr


def test_record_prints_ftrace_lines_and_keeps_the_session(running: DaemonProcess) -> None:
    proc = cli(
        running,
        "record",
        "-e",
        "sched:sched_process_exec",
        "-e",
        "syscalls:sys_enter_openat",
        "-f",
        "flags == 0",
        "-c",
        "--",
        "sh",
        "-c",
        "cat /etc/hostname > /dev/null; echo done",
    )
    lines = proc.stdout.splitlines()
    execs = [line for line in lines if "sched_process_exec:" in line]
    assert any("filename=/usr/bin/cat" in line for line in execs), proc.stdout
    assert "done" in proc.stdout  # the command's own output comes through
    assert "stopped" in proc.stderr
    assert "the command exited" in proc.stderr
    ls = cli(running, "sessions", "ls").stdout
    assert "tracefs" in ls
    assert "stopped" in ls
    sid = ls.splitlines()[1].split()[0]
    shown = cli(running, "sessions", "show", sid).stdout
    assert '"state": "stopped"' in shown
    replay = cli(running, "stream", sid).stdout
    assert [x for x in replay.splitlines() if "sched_process_exec:" in x] == execs
    cli(running, "sessions", "rm", sid)
    assert cli(running, "sessions", "ls").stdout.count("\n") == 1
    assert instances() == []


def test_cli_errors_are_one_line(running: DaemonProcess) -> None:
    bad = cli(running, "record", "-e", "sched:nope", "--", "true", check=False)
    assert bad.returncode == 1
    assert "unknown event sched:nope" in bad.stderr
    assert "[400 unknown_event]" in bad.stderr
    gone = cli(running, "sessions", "show", "999", check=False)
    assert "[404 not_found]" in gone.stderr
