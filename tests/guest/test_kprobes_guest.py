"""kprobe and kretprobe dynamic events of the tracefs engine, with fetch args, on 6.1: a
known number of openat(2) calls of a known file, decoded through the daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import TRACEFS, InProcess, events_of, run_to_end

pytestmark = [pytest.mark.root, pytest.mark.tracefs, pytest.mark.needs_kprobes]
OPENS = 5
AT_FDCWD = -100
TARGET = "/etc/hostname"
PROBES = [
    {
        "name": "open",
        "symbol": "do_sys_openat2",
        "fetchargs": ["dfd=%di:s32", "filename=+0(%si):string", "task=$comm"],
    },
    {
        "name": "open_ret",
        "symbol": "do_sys_openat2",
        "return": True,
        "fetchargs": ["ret=$retval:s64"],
    },
]


def _opens(daemon: InProcess, tracee: Path, **extra: Any) -> tuple[dict[str, Any], list[Any]]:
    spec = {"kprobes": PROBES, "command": [str(tracee), "open", TARGET, str(OPENS)], **extra}
    session = run_to_end(daemon, spec)
    pid = session["info"]["command_pid"]
    mine = [e for e in events_of(daemon, session["id"]) if e["tid"] == pid]
    return session, [e for e in mine if e["name"].startswith("kprobes:")]


def test_kprobe_and_kretprobe_with_fetch_args(daemon: InProcess, tracee: Path) -> None:
    session, events = _opens(daemon, tracee)
    assert set(session["info"]["events"]) == {"kprobes:open", "kprobes:open_ret"}
    entries = [e for e in events if e["name"] == "kprobes:open"]
    returns = [e for e in events if e["name"] == "kprobes:open_ret"]
    assert len(entries) == len(returns) > OPENS  # the loader's opens come first
    mine = [e for e in entries if e["fields"]["filename"] == TARGET]
    assert len(mine) == OPENS
    for event in mine:
        assert event["fields"]["dfd"] == AT_FDCWD
        assert event["fields"]["probe_sym"] == "do_sys_openat2"
        assert event["fields"]["task"] == "tracee"  # the kernel's comm at the probe
    # each entry is followed by its return in the task's own order
    pairs = list(zip(entries, returns, strict=True))
    for entry, ret in pairs:
        assert entry["seq"] < ret["seq"]
        assert ret["fields"]["func_sym"] == "do_sys_openat2"
    fds = [r["fields"]["ret"] for e, r in pairs if e["fields"]["filename"] == TARGET]
    assert len(fds) == OPENS
    assert len(set(fds)) == 1  # each one closed before the next
    assert fds[0] >= 3
    assert not (TRACEFS / "kprobe_events").read_text().strip()


def test_kprobe_filter_in_the_kernel(daemon: InProcess, tracee: Path) -> None:
    filters = {"kprobes:open": 'filename ~ "*hostname"'}
    _, events = _opens(daemon, tracee, filters=filters)
    entries = [e for e in events if e["name"] == "kprobes:open"]
    assert [e["fields"]["filename"] for e in entries] == [TARGET] * OPENS


def test_a_probe_the_kernel_refuses_is_400_with_its_error_log(daemon: InProcess) -> None:
    spec = {"kprobes": [{"name": "nowhere", "symbol": "tracerd_no_such_function"}]}
    resp = daemon.create("tracefs", spec)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["code"] == "bad_probe"
    assert "tracerd_no_such_function" in err["message"]
    assert "Invalid probed address or symbol" in err["message"] or "ENOENT" in err["message"]
    assert not (TRACEFS / "kprobe_events").read_text().strip()
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []
