"""opensnoop's ways in on the host kernel: fentry and kprobes are refused here, so the tool
falls back to its tracepoints and says why (`info.attach`, `info.attach_skipped`), with
the same events for all four open syscalls. The guest tier runs the fentry and kprobe
variants (tests/guest/test_bpf_tools_guest.py), with the same workload and checks."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tracerd.system.caps import probe_bpf_programs

from ..waits import WAIT_TIMEOUT_S
from .bpf_fakes import (
    EngineRun,
    Gated,
    no_programs_of_ours_left,  # noqa: F401 (autouse)
    wait_until,
)

pytestmark = [pytest.mark.root, pytest.mark.bpf]
O_PATH_FLAGS = {
    "open": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
    "creat": os.O_CREAT | os.O_WRONLY | os.O_TRUNC,
    "openat": os.O_RDONLY | os.O_CLOEXEC,
    "openat2": os.O_RDONLY | os.O_NOFOLLOW,
    "missing": os.O_RDONLY | os.O_CLOEXEC,  # os.open() adds O_CLOEXEC
}
# open, creat and openat2 through syscall(2): glibc's open() and creat() call openat
WORKLOAD = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
d = sys.argv[1].encode()
sys.stdin.readline()
fds = [libc.syscall(2, d + b"/a", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600),
       libc.syscall(85, d + b"/b", 0o600),
       os.open(d + b"/a", os.O_RDONLY | os.O_CLOEXEC)]
how = OpenHow(os.O_RDONLY | os.O_NOFOLLOW, 0, 0x04)  # RESOLVE_NO_SYMLINKS
fds.append(libc.syscall(437, -100, d + b"/a", ctypes.byref(how), ctypes.sizeof(how)))
try:
    os.open(d + b"/missing", os.O_RDONLY)
except FileNotFoundError:
    pass
print(*fds)
"""


def probed_caps() -> dict[str, Any]:
    return {"bpf": probe_bpf_programs()}


def run_workload(
    tmp_path: Path, caps: dict[str, Any], timeout_s: float = WAIT_TIMEOUT_S
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workload under opensnoop (pid-filtered): (info, path name -> event fields)."""
    work = tmp_path / "work"
    work.mkdir()
    code = textwrap.dedent(WORKLOAD)
    with (
        Gated([sys.executable, "-c", code, str(work)]) as child,
        EngineRun(tmp_path, {"tool": "opensnoop", "pid": child.pid}, caps=caps) as run,
    ):
        fds = [int(fd) for fd in child.go(timeout_s * 3).split()]

        def seen() -> dict[str, Any]:
            by_path = {Path(e.fields["path"]).name: e for e in run.sink.named("opensnoop")}
            return by_path if {"a", "b", "missing"} <= set(by_path) else {}

        assert wait_until(seen, timeout_s), [e.fields for e in run.sink.named("opensnoop")]
    events = [e for e in run.sink.named("opensnoop") if e.fields["path"].startswith(str(work))]
    assert {e.pid for e in events} == {child.pid}
    assert len(events) == 5, [e.fields for e in events]
    names = ["open", "creat", "openat", "openat2"]
    got = {}
    for i, event in enumerate(e for e in events if e.fields["ret"] >= 0):
        got[names[i]] = event.fields
        assert event.fields["fd"] == fds[i] == event.fields["ret"]
    got["missing"] = next(e.fields for e in events if e.fields["ret"] < 0)
    return run.sink.infos[0], got


def check_fields(got: dict[str, Any], work: Path) -> None:
    for name, fields in got.items():
        assert fields["flags"] == O_PATH_FLAGS[name], (name, fields)
        assert fields["err"] == (2 if name == "missing" else 0)
    assert got["creat"]["path"] == f"{work}/b"
    assert got["missing"]["fd"] == -1
    assert got["missing"]["ret"] == -2
    assert {got[n]["path"] for n in ("open", "openat", "openat2")} == {f"{work}/a"}


def test_opensnoop_uses_tracepoints_here_and_says_why(tmp_path: Path) -> None:
    caps = probed_caps()
    refused = {k: caps["bpf"][k] for k in ("fentry", "kprobe") if not caps["bpf"][k]["usable"]}
    if len(refused) < 2:
        pytest.skip("this kernel attaches fentry or kprobes: the guest tier covers that")
    info, got = run_workload(tmp_path, caps)
    assert info["attach"] == "tracepoint"
    assert info["attach_skipped"] == {
        kind: f"bpf.{kind} is not usable here: {cap['reason']}" for kind, cap in refused.items()
    }
    check_fields(got, tmp_path / "work")


def test_a_variant_that_fails_to_load_falls_back_and_leaves_nothing(tmp_path: Path) -> None:
    """Told usable (a caps dict handed to the engine), refused by this kernel at load or
    attach: each failure is reported and the next way in is taken."""
    caps = probed_caps()
    if any(caps["bpf"][k]["usable"] for k in ("fentry", "kprobe")):
        pytest.skip("this kernel attaches fentry or kprobes: the guest tier covers that")
    for kind in ("fentry", "kprobe"):
        caps["bpf"][kind] = {"usable": True, "where": None, "reason": None}
    info, got = run_workload(tmp_path, caps)  # EngineRun checks: no ledger row, no program
    assert info["attach"] == "tracepoint"
    assert set(info["attach_skipped"]) == {"fentry", "kprobe"}
    assert info["attach_skipped"]["fentry"].startswith("failed to load: ")
    assert "fentry" in info["attach_skipped"]["fentry"]
    assert info["attach_skipped"]["kprobe"].startswith("failed to load: ")
    check_fields(got, tmp_path / "work")
