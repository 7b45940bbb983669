"""The syscalls report of a real ptrace session against `strace -c -w -f` on the same
deterministic program: the same syscalls, calls and errors exactly; times are wall-clock
and noisy, so only their shape is compared (the 20 ms sleep leads both tables)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import InProcess, wait_for
from .reports_support import build, chrome_events, report, strace_table

pytestmark = [
    pytest.mark.root,
    pytest.mark.ptrace,
    pytest.mark.skipif(
        importlib.util.find_spec("tracerd.engines.ptrace.tracer") is None,
        reason="the ptrace engine is not merged in this tree",
    ),
    pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed"),
]


def test_syscalls_report_agrees_with_strace(daemon: InProcess, tmp_path: Path) -> None:
    binary = build(tmp_path)
    theirs = strace_table(binary, tmp_path)
    resp = daemon.create("ptrace", {"command": [str(binary)], "follow_forks": True})
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]

    def stopped() -> dict[str, Any] | None:
        session = daemon.call("GET", f"/v1/sessions/{sid}").json()
        return session if session["state"] in ("stopped", "failed") else None

    session = wait_for(stopped, timeout_s=60)
    assert session["state"] == "stopped", session["reason"]
    ours = report(daemon, sid, "syscalls")
    got = {r["syscall"]: (r["calls"], r["errors"] or 0) for r in ours["rows"]}
    assert got == {name: (calls, errors) for name, (calls, errors, _s) in theirs.items()}
    assert got["openat"][1] >= 20
    # which call took longest in all is timing, not the program's (two runs under ptrace on
    # a busy machine: 40 traced openats can outlast the 20 ms sleep), so: rows by seconds,
    # and the sleep's own row and event at least as long as it slept
    (sleeper,) = [name for name in theirs if name.endswith("nanosleep")]  # glibc: clock_
    seconds = [row["seconds"] for row in ours["rows"]]
    assert seconds == sorted(seconds, reverse=True)
    assert next(row for row in ours["rows"] if row["syscall"] == sleeper)["seconds"] >= 0.02
    trace = chrome_events(
        daemon.call("GET", f"/v1/sessions/{sid}/export", params={"format": "chrome"}).content
    )
    complete = [e for e in trace if e["ph"] == "X"]
    assert len(complete) >= ours["total"]["calls"]
    sleep = next(e for e in complete if e["name"] == sleeper)
    assert sleep["dur"] >= 20_000  # µs
