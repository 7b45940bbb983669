"""The ptrace engine attached to running pids: detach, group-stops, errors, worker death."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracerd.engines.ptrace import tracer as pt
from tracerd.engines.ptrace.engine import PtraceEngine
from tracerd.errors import AlreadyTraced, BadRequest, NotFound, PermissionDenied
from tracerd.kernel.proc import thread_ids
from tracerd.render.strace import StraceRenderer
from tracerd.specs import PtraceSpec

from ..waits import WAIT_TIMEOUT_S
from .ptrace_fakes import ListLedger, ListSink, context
from .ptrace_progs import GETPPID_C, LOOP_C, build, loop_process

pytestmark = [
    pytest.mark.root,
    pytest.mark.ptrace,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]
RUN_BLOCKERS = ("t", "T", None)
"""states a process that runs normally never shows (D and R and S are all fine)"""
SERVICE = str(Path(__file__).resolve().parents[2] / "service")


def wait_until(predicate: object, timeout_s: float = WAIT_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def in_loop(pid: int, prog: str) -> bool:
    """`pid` runs `prog` and sleeps in clock_nanosleep (230): its usleep, which only the
    loop calls (past exec and the loader's opens)."""
    try:
        return os.readlink(f"/proc/{pid}/exe") == prog and Path(
            f"/proc/{pid}/syscall"
        ).read_text().startswith("230 ")
    except OSError:
        return False


@contextlib.contextmanager
def running_loop(tmp_path: Path, rounds: int) -> Iterator[subprocess.Popen[str]]:
    """A program opening /etc/hostname every 20 ms `rounds` times, yielded once in its loop
    (a tracer attached earlier sees the loader's opens first); killed if still running."""
    prog = build(tmp_path, "loop", LOOP_C)
    with loop_process(prog, rounds) as proc:
        assert wait_until(lambda: in_loop(proc.pid, prog))
        yield proc


@pytest.fixture
def looper(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A loop of ~6 s, for tests that wait for its end."""
    with running_loop(tmp_path, 300) as proc:
        yield proc


@pytest.fixture
def long_looper(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A loop of ~10 min, for tests that only need a live process: on a loaded machine a
    6 s loop could end before they are done with it."""
    with running_loop(tmp_path, 30000) as proc:
        yield proc


def test_attach_detach_mid_run(looper: subprocess.Popen[str]) -> None:
    engine = PtraceEngine(context())
    ledger, sink = ListLedger(), ListSink()
    spec = PtraceSpec(pid=looper.pid, syscalls=["openat", "close"])
    handle = engine.prepare(spec, ledger)
    try:
        assert pt.proc_status(looper.pid)["TracerPid"] != "0"
        assert [row[0] for row in ledger.rows.values()] == ["ptrace_attach"]
        engine.start(handle, sink)
        assert wait_until(lambda: len(sink.named("openat")) >= 3)
    finally:
        engine.stop(handle)
    assert not ledger.rows
    status = pt.proc_status(looper.pid)
    assert status["TracerPid"] == "0"
    assert pt.state_letter(looper.pid) != "t"
    opens = sink.named("openat")
    assert opens[0].fields["text"] == 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3'
    assert {e.pid for e in opens} == {looper.pid}
    looper.wait(20)
    assert looper.returncode == 0
    assert looper.stdout is not None
    assert looper.stdout.read().startswith("sum ")


def test_group_stop_behaves_as_untraced(long_looper: subprocess.Popen[str]) -> None:
    engine = PtraceEngine(context())
    sink = ListSink()
    handle = engine.prepare(PtraceSpec(pid=long_looper.pid, syscalls=["openat"]), ListLedger())
    try:
        engine.start(handle, sink)
        assert wait_until(lambda: sink.named("openat"))
        os.kill(long_looper.pid, signal.SIGSTOP)
        assert wait_until(lambda: any(e.fields.get("stopped") for e in sink.lifecycle("signal")))
        count = len(sink.named("openat"))
        time.sleep(0.2)
        assert len(sink.named("openat")) <= count + 1, "a stopped process makes no syscalls"
        os.kill(long_looper.pid, signal.SIGCONT)
        assert wait_until(lambda: len(sink.named("openat")) > count + 2)
    finally:
        engine.stop(handle)
    assert pt.state_letter(long_looper.pid) not in RUN_BLOCKERS
    texts = [e.fields["text"] for e in sink.lifecycle("signal")]
    assert "--- stopped by SIGSTOP ---" in texts
    assert any(t.startswith("--- SIGCONT {si_signo=SIGCONT, si_code=SI_USER") for t in texts)


def test_errors(long_looper: subprocess.Popen[str], tmp_path: Path) -> None:
    engine = PtraceEngine(context(exclude=(long_looper.pid,)))
    with pytest.raises(PermissionDenied, match="tracerd itself"):
        engine.prepare(PtraceSpec(pid=long_looper.pid), ListLedger())
    engine = PtraceEngine(context())
    with pytest.raises(BadRequest, match="did you mean openat"):
        engine.prepare(PtraceSpec(pid=long_looper.pid, syscalls=["opnat"]), ListLedger())
    dead = subprocess.Popen(["true"])
    dead.wait()
    with pytest.raises(NotFound):
        engine.prepare(PtraceSpec(pid=dead.pid), ListLedger())
    strace = subprocess.Popen(
        ["strace", "-qq", "-o", "/dev/null", "-p", str(long_looper.pid)], stderr=subprocess.DEVNULL
    )
    try:
        assert wait_until(
            lambda: pt.proc_status(long_looper.pid).get("TracerPid") == str(strace.pid)
        )
        ledger = ListLedger()
        with pytest.raises(AlreadyTraced) as info:
            engine.prepare(PtraceSpec(pid=long_looper.pid), ledger)
        assert info.value.detail == {"pid": long_looper.pid, "tracer_pid": strace.pid}
        assert not ledger.rows
    finally:
        strace.send_signal(signal.SIGINT)
        strace.wait(10)
    assert wait_until(lambda: pt.state_letter(long_looper.pid) not in RUN_BLOCKERS)


_WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from ptrace_fakes import ListLedger, ListSink, context
    from tracerd.engines.ptrace.engine import PtraceEngine
    from tracerd.specs import PtraceSpec
    engine = PtraceEngine(context())
    a = engine.prepare(PtraceSpec(pid={pid}, syscalls=["openat"]), ListLedger())
    b = engine.prepare(PtraceSpec(command=["sleep", "60"], syscalls=["nanosleep"],
                                  follow_forks=True), ListLedger())
    sink = ListSink()
    engine.start(a, sink)
    engine.start(b, sink)
    print(b.state.launched.pid, flush=True)
    time.sleep(60)
    """
)


def test_worker_sigkill(tmp_path: Path) -> None:
    with running_loop(tmp_path, 600) as looper:  # ~12 s: the worker's imports come first
        worker_sigkill(looper)


def worker_sigkill(looper: subprocess.Popen[str]) -> None:
    code = _WORKER.format(tests=str(Path(__file__).parent), pid=looper.pid)
    worker = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SERVICE},
    )
    assert worker.stdout is not None
    launched = int(worker.stdout.readline())
    assert wait_until(lambda: pt.proc_status(looper.pid).get("TracerPid") not in (None, "0"))
    worker.kill()
    worker.wait()
    worker.stdout.close()
    assert wait_until(lambda: pt.proc_status(looper.pid).get("TracerPid") == "0")
    assert pt.state_letter(looper.pid) not in RUN_BLOCKERS
    assert wait_until(lambda: pt.state_letter(launched) in (None, "Z"))
    looper.wait(60)
    assert looper.returncode == 0


def test_stop_ends_launched_command() -> None:
    engine = PtraceEngine(context())
    sink, ledger = ListSink(), ListLedger()
    spec = PtraceSpec(command=["sleep", "60"], syscalls=["clock_nanosleep"], follow_forks=True)
    handle = engine.prepare(spec, ledger)
    engine.start(handle, sink)
    pid = handle.state.launched.pid
    # blocked in clock_nanosleep (230): /proc/PID/syscall names the call a task sleeps in
    assert wait_until(lambda: Path(f"/proc/{pid}/syscall").read_text().split()[0] == "230")
    engine.stop(handle)
    assert pt.state_letter(pid) is None
    assert not ledger.rows
    blocked = sink.named("clock_nanosleep")
    assert len(blocked) == 1
    assert blocked[0].errno == "ERESTART_RESTARTBLOCK"  # SIGTERM interrupted it
    assert blocked[0].fields["text"].endswith("= ? ERESTART_RESTARTBLOCK (Interrupted by signal)")
    assert [e.fields["text"] for e in sink.lifecycle("exit")] == ["+++ killed by SIGTERM +++"]


def test_call_blocked_at_detach_ends_with_question_mark() -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        syscall_file = Path(f"/proc/{sleeper.pid}/syscall")
        assert wait_until(lambda: syscall_file.read_text().split()[0] == "230")
        engine = PtraceEngine(context())
        sink = ListSink()
        handle = engine.prepare(
            PtraceSpec(pid=sleeper.pid, syscalls=["restart_syscall"]), ListLedger()
        )
        engine.start(handle, sink)
        # the tracer has seen the call begin (the tracee's first stop after the attach)
        assert wait_until(lambda: getattr(handle.state.loop.tracees.get(sleeper.pid), "call", None))
        engine.stop(handle)
        # strace: `restart_syscall(<... resuming interrupted read ...> <detached ...>` (6.1
        # names `read` for a call it did not see begin)
        blocked = [e for e in sink.events if e.name == "restart_syscall"]
        assert len(blocked) == 1
        assert blocked[0].ret is None
        assert blocked[0].fields["unfinished"] is True
        assert blocked[0].fields["text"] == "restart_syscall(<... resuming interrupted read ...>"
        assert blocked[0].fields["tail"] == "<detached ...>"
        assert StraceRenderer().feed(blocked[0]) == [
            "restart_syscall(<... resuming interrupted read ...> <detached ...>"
        ]
        assert pt.state_letter(sleeper.pid) == "S"
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stop_before_start(looper: subprocess.Popen[str]) -> None:
    engine = PtraceEngine(context())
    ledger = ListLedger()
    attached = engine.prepare(PtraceSpec(pid=looper.pid), ledger)
    launched = engine.prepare(PtraceSpec(command=["sleep", "60"]), ledger)
    pid = launched.state.launched.pid
    engine.stop(attached)
    engine.stop(launched)
    engine.stop(launched)  # idempotent
    assert not ledger.rows
    assert pt.proc_status(looper.pid)["TracerPid"] == "0"
    assert pt.state_letter(looper.pid) not in RUN_BLOCKERS
    assert pt.state_letter(pid) is None


def child_processes() -> list[tuple[int, str | None]]:
    """This process's child processes with their state letters."""
    out = []
    for tid in thread_ids(os.getpid()):
        try:  # a thread may end meanwhile
            children = Path(f"/proc/self/task/{tid}/children").read_text().split()
        except FileNotFoundError:
            continue
        out += [(int(child), pt.state_letter(int(child))) for child in children]
    return out


def test_no_leaks_over_many_sessions(long_looper: subprocess.Popen[str]) -> None:
    import threading

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    engine = PtraceEngine(context())
    for _ in range(2):  # warm-up: caches, lazily created objects
        h = engine.prepare(PtraceSpec(command=["true"]), ListLedger())
        engine.start(h, ListSink())
        engine.stop(h)
    threads, files = threading.active_count(), fds()
    for i in range(20):
        sink = ListSink()
        if i % 2:
            h = engine.prepare(PtraceSpec(command=["true"], syscalls=["openat"]), ListLedger())
        else:
            h = engine.prepare(PtraceSpec(pid=long_looper.pid, syscalls=["openat"]), ListLedger())
        engine.start(h, sink)
        engine.stop(h)
    assert wait_until(lambda: threading.active_count() == threads), threading.enumerate()
    assert not [p for p in child_processes() if p[1] == "Z"], "zombie children"
    assert fds() == files
    assert pt.state_letter(long_looper.pid) not in RUN_BLOCKERS


def test_seccomp_skips_untraced_stops(tmp_path: Path) -> None:
    prog = build(tmp_path, "getppid", GETPPID_C)
    stops = {}
    counts = {}
    for mode in ("off", "on"):
        engine = PtraceEngine(context())
        sink = ListSink()
        spec = PtraceSpec(
            command=[prog, "2000"], syscalls=["getpid"], follow_forks=True, seccomp=mode
        )
        handle = engine.prepare(spec, ListLedger())
        engine.start(handle, sink)
        assert sink.ended_event.wait(30)
        engine.stop(handle)
        stops[mode] = handle.state.loop.stops
        counts[mode] = [e.fields["text"] for e in sink.named("getpid")]
        if mode == "on":
            assert "ret      #0x7ff00000" in sink.infos[0]["seccomp_program"]
    assert len(counts["on"]) == len(counts["off"]) == 10
    assert stops["off"] > 4000
    assert stops["on"] < 100


def test_attached_follow_forks_traces_new_children() -> None:
    shell = subprocess.Popen(["/bin/sh", "-c", "while :; do /bin/true; sleep 0.02; done"])
    try:
        time.sleep(0.05)
        engine = PtraceEngine(context())
        sink = ListSink()
        spec = PtraceSpec(pid=shell.pid, follow_forks=True, syscalls=["execve", "wait4"])
        handle = engine.prepare(spec, ListLedger())
        try:
            engine.start(handle, sink)
            assert wait_until(lambda: len(sink.named("execve")) >= 4)
        finally:
            engine.stop(handle)
        execs = sink.named("execve")
        assert {e.pid for e in execs} - {shell.pid}, "children are tagged with their own pid"
        assert any('"/bin/true"' in e.fields["text"] for e in execs)
        assert {e.pid for e in sink.named("wait4")} == {shell.pid}
        assert pt.proc_status(shell.pid)["TracerPid"] == "0"
        time.sleep(0.1)
        assert shell.poll() is None
        assert pt.state_letter(shell.pid) not in ("t", "T", None)
        for child in Path(f"/proc/{shell.pid}/task/{shell.pid}/children").read_text().split():
            assert pt.proc_status(int(child)).get("TracerPid", "0") == "0"
    finally:
        shell.kill()
        shell.wait()
