"""Nothing of a BPF session stays in the kernel when its worker or its daemon is SIGKILLed:
the engine runs in a real child process here, which is then killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from .bpf_fakes import (
    build_c,
    no_programs_of_ours_left,  # noqa: F401 (autouse)
    prog_ids_loaded,
    wait_until,
)

pytestmark = [pytest.mark.root, pytest.mark.bpf]
REPO = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent("""
    import json, os, sys, time
    sys.path[:0] = [{service!r}, {repo!r}]
    from tests.integration.bpf_fakes import FakeLedger, ListSink, make_ctx
    from tracerd.engines.bpf.engine import BpfEngine
    from tracerd.specs import BpfSpec

    engine = BpfEngine(make_ctx({tmp!r}))
    ledger = FakeLedger()
    handle = engine.prepare(BpfSpec.model_validate_json(sys.argv[1]), ledger)
    engine.start(handle, ListSink())
    print(json.dumps({{"pid": os.getpid(), "info": handle.info,
                       "ledger": [row for row in ledger.live()]}}), flush=True)
    time.sleep(600)
""")

DAEMON = textwrap.dedent("""
    import ctypes, signal, subprocess, sys, time
    def pdeathsig():
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    worker = subprocess.Popen(sys.argv[1:], preexec_fn=pdeathsig)
    time.sleep(600)
""")


def _write(tmp_path: Path) -> Path:
    worker = tmp_path / "worker.py"
    worker.write_text(
        WORKER.format(service=str(REPO / "service"), repo=str(REPO), tmp=str(tmp_path))
    )
    return worker


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _uprobe_leftovers(marker: str) -> list[str]:
    path = Path("/sys/kernel/tracing/uprobe_events")
    return [line for line in path.read_text().splitlines() if marker in line]


def _started(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the worker died before it started"
    started: dict[str, Any] = json.loads(line)
    return started


def _run_and_kill(tmp_path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Start the engine in a worker process, check it is loaded, SIGKILL the worker."""
    worker = _write(tmp_path)
    with subprocess.Popen(
        [sys.executable, str(worker), json.dumps(spec)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            started = _started(proc)
            ids = started["info"]["prog_ids"]
            assert ids
            assert prog_ids_loaded(ids) == ids
            assert started["ledger"], "resources are in the ledger while running"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert wait_until(lambda: not prog_ids_loaded(ids)), prog_ids_loaded(ids)
    return started


@pytest.mark.parametrize(
    "spec",
    [
        {"tool": "opensnoop"},
        {"tool": "runqlat"},
        {"bpftrace": "tracepoint:syscalls:sys_enter_getppid { @n = count(); }"},
    ],
    ids=["opensnoop", "runqlat", "bpftrace"],
)
def test_worker_sigkill_unloads_everything(tmp_path: Path, spec: dict[str, Any]) -> None:
    started = _run_and_kill(tmp_path, spec)
    child = started["info"].get("bpftrace_pid")
    if child is not None:
        assert wait_until(lambda: _gone(child)), "bpftrace outlived its worker"


def test_worker_sigkill_with_a_uprobe(tmp_path: Path) -> None:
    binary = build_c(
        tmp_path,
        "rl",
        "char *readline(const char *p) { return 0; }\n"
        "int main(void) { return readline(0) != 0; }\n",
    )
    started = _run_and_kill(tmp_path, {"tool": "bashreadline", "args": {"binary": binary}})
    assert {row[0] for row in started["ledger"]} == {"bpf_program", "bpf_tracefs_probe"}
    # BCC attached through the perf uprobe PMU: no tracefs definition to leave behind
    assert _uprobe_leftovers(f"bcc_{started['pid']}") == []
    assert _uprobe_leftovers("rl") == []


def test_daemon_sigkill_takes_the_worker_and_its_programs(tmp_path: Path) -> None:
    worker = _write(tmp_path)
    daemon = tmp_path / "daemon.py"
    daemon.write_text(DAEMON)
    spec = {"tool": "execsnoop"}
    with subprocess.Popen(
        [sys.executable, str(daemon), sys.executable, str(worker), json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            started = _started(proc)
            ids = started["info"]["prog_ids"]
            assert prog_ids_loaded(ids) == ids
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert wait_until(lambda: _gone(started["pid"])), "the worker outlived its daemon"
    assert wait_until(lambda: not prog_ids_loaded(ids))
