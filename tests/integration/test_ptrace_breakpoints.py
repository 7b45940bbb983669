"""Breakpoints: int3 in launched commands, uprobes on attached pids (real processes)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tracerd.engines.ptrace import tracer as pt
from tracerd.engines.ptrace.engine import PtraceEngine
from tracerd.specs import PtraceSpec

from ..waits import WAIT_TIMEOUT_S
from .ptrace_fakes import ListLedger, ListSink, context
from .ptrace_progs import LOOP_C, build, loop_process

pytestmark = [
    pytest.mark.root,
    pytest.mark.ptrace,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]
TRACEFS = Path("/sys/kernel/tracing")


def run_launched(argv: list[str], **fields: object) -> ListSink:
    engine = PtraceEngine(context())
    sink, ledger = ListSink(), ListLedger()
    handle = engine.prepare(PtraceSpec(command=argv, **fields), ledger)  # type: ignore[arg-type]
    try:
        engine.start(handle, sink)
        assert sink.ended_event.wait(30)
    finally:
        engine.stop(handle)
    assert not ledger.rows
    return sink


@pytest.mark.parametrize("follow_forks", [False, True])
def test_int3_breakpoint_records_arguments(tmp_path: Path, follow_forks: bool) -> None:
    prog = build(tmp_path, "loop", LOOP_C)
    plain = subprocess.run([prog, "5"], capture_output=True, text=True, check=True).stdout
    sink = run_launched(
        [prog, "5"],
        breakpoints=["target", "usleep"],
        syscalls=["openat"],
        follow_forks=follow_forks,
    )
    hits = sink.lifecycle("breakpoint")
    targets = [e.fields["args"] for e in hits if e.fields["symbol"] == "target"]
    assert targets == [[i, 2, 3, 4, 5, 6] for i in range(5)]
    assert len([e for e in hits if e.fields["symbol"] == "usleep"]) == 5
    assert hits[0].fields["text"] == "breakpoint target(0x0, 0x2, 0x3, 0x4, 0x5, 0x6)"
    assert "\n".join(e.fields["text"] for e in sink.lifecycle("stdout")) + "\n" == plain
    assert sink.end is not None
    assert sink.end[0] == {"code": 0, "signal": None}


def test_int3_breakpoint_in_threads_and_children(tmp_path: Path) -> None:
    source = LOOP_C.replace(
        "int main(int argc, char **argv) {",
        "#include <sys/wait.h>\nint main(int argc, char **argv) {\n"
        "    if (fork() == 0) _exit(target(100, 0, 0, 0, 0, 0) != 100);\n"
        "    wait(NULL);",
    )
    prog = build(tmp_path, "forkloop", source)
    for follow in (False, True):
        sink = run_launched([prog, "2"], breakpoints=["target"], follow_forks=follow)
        firsts = sorted(e.fields["args"][0] for e in sink.lifecycle("breakpoint"))
        assert firsts == ([0, 1, 100] if follow else [0, 1])
        assert sink.end is not None
        assert sink.end[0] == {"code": 0, "signal": None}


def test_uprobe_breakpoint_on_attached_pid(tmp_path: Path) -> None:
    prog = build(tmp_path, "loop", LOOP_C)
    engine = PtraceEngine(context(session_id=77))
    sink, ledger = ListSink(), ListLedger()
    # ~10 s of calls: on a loaded machine the attach and the uprobe come before the hits
    with loop_process(prog, 500) as proc:
        time.sleep(0.05)
        handle = engine.prepare(PtraceSpec(pid=proc.pid, breakpoints=["target"]), ledger)
        instance = TRACEFS / "instances" / "tracerd_t0_77"
        try:
            assert instance.is_dir()
            kinds = sorted(row[0] for row in ledger.rows.values())
            assert kinds == ["dynamic_event", "ptrace_attach", "tracefs_instance"]
            engine.start(handle, sink)
            deadline = time.monotonic() + WAIT_TIMEOUT_S
            while len(sink.lifecycle("breakpoint")) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            engine.stop(handle)
        assert not instance.exists()
        assert "tracerd_t0_77" not in (TRACEFS / "uprobe_events").read_text()
        assert not ledger.rows
        hits = sink.lifecycle("breakpoint")
        assert len(hits) >= 3
        first = hits[0].fields["args"][0]
        assert [h.fields["args"] for h in hits[:3]] == [
            [first + i, 2, 3, 4, 5, 6] for i in range(3)
        ]
        assert {h.tid for h in hits} == {proc.pid}
        assert pt.state_letter(proc.pid) != "t"
        proc.wait(60)
        assert proc.returncode == 0
