"""The ptrace engine on real processes, compared with `strace -f` on the same programs."""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracerd.engines.ptrace.engine import PtraceEngine
from tracerd.render.strace import format_summary, render_events, summary_rows
from tracerd.specs import PtraceSpec

from .ptrace_fakes import ListLedger, ListSink, context
from .ptrace_progs import (
    BLOCKED_READ_C,
    FORK_C,
    THREADS_C,
    Call,
    build,
    normalise,
    sequences,
    strace_calls,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.ptrace,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
TIMING = frozenset({"futex"})
"""calls whose number depends on timing (pthread_join waits only if the thread still runs)"""


def run_engine(**spec_fields: object) -> tuple[ListSink, ListLedger]:
    spec = PtraceSpec.model_validate(spec_fields)
    engine = PtraceEngine(context())
    ledger, sink = ListLedger(), ListSink()
    handle = engine.prepare(spec, ledger)
    try:
        engine.start(handle, sink)
        assert sink.ended_event.wait(30), "the command did not end"
    finally:
        engine.stop(handle)
    assert not ledger.rows, "ledger rows left"
    return sink, ledger


def engine_calls(sink: ListSink) -> dict[int, list[Call]]:
    out: dict[int, list[Call]] = defaultdict(list)
    for e in sink.events:
        if "raw_args" in e.fields and e.name not in TIMING:
            out[e.tid or 0].append(normalise(e.name, e.ret, e.errno))
    return dict(out)


def run_strace(tmp: Path, argv: list[str], trace: str | None) -> dict[int, list[Call]]:
    out = tmp / "strace.out"
    cmd = ["strace", "-f", "-qq", "-o", str(out)]
    if trace:
        cmd += ["-e", f"trace={trace}"]
    subprocess.run(
        [*cmd, "--", *argv], env=ENV, check=True, capture_output=True, stdin=subprocess.DEVNULL
    )
    return {
        tid: [c for c in calls if c[0] not in TIMING] for tid, calls in strace_calls(out).items()
    }


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    return tmp_path


@pytest.mark.parametrize("trace", [None, "%file", "openat,close,getppid", "%process"])
def test_threads_match_strace(tmp: Path, trace: str | None) -> None:
    prog = build(tmp, "threads", THREADS_C)
    syscalls = trace.split(",") if trace else []
    sink, _ = run_engine(command=[prog], env=ENV, follow_forks=True, syscalls=syscalls)
    ours = engine_calls(sink)
    theirs = run_strace(tmp, [prog], trace)
    assert len(ours) == 4 or trace == "%process"
    assert sequences(ours) == sequences(theirs)
    exits = sink.lifecycle("exit")
    assert len(exits) == 4
    assert all(e.fields["code"] == 0 for e in exits)
    pids = {e.pid for e in sink.events if e.pid is not None}
    assert len(pids) == 1, "every thread is tagged with the process id"
    assert [e.fields["text"] for e in sink.lifecycle("stdout")] == ["done"]
    assert sink.end is not None
    assert sink.end[0] == {"code": 0, "signal": None}


@pytest.mark.parametrize("seccomp", ["off", "on"])
def test_fork_vfork_exec_signals_match_strace(tmp: Path, seccomp: str) -> None:
    prog = build(tmp, "forker", FORK_C)
    trace = "%process,openat,close,kill"
    sink, _ = run_engine(
        command=[prog], env=ENV, follow_forks=True, syscalls=trace.split(","), seccomp=seccomp
    )
    assert sequences(engine_calls(sink)) == sequences(run_strace(tmp, [prog], trace))
    codes = sorted(e.fields["code"] for e in sink.lifecycle("exit"))
    assert codes == [0, 0, 3]
    signals = [e.fields["text"] for e in sink.lifecycle("signal")]
    assert any(t.startswith("--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER") for t in signals)
    assert any(t.startswith("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED") for t in signals)
    pids = {e.pid for e in sink.events if e.name == "exit" and e.dur_ns is None}
    assert len(pids) == 3, "parent, forked child and vforked child each have their pid"


def test_openat_decoding(tmp: Path) -> None:
    sink, _ = run_engine(
        command=["/bin/cat", "/etc/hostname", "/nonexistent/x"], env=ENV, syscalls=["openat"]
    )
    texts = [e.fields["text"] for e in sink.named("openat")]
    assert 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3' in texts
    missing = [e for e in sink.named("openat") if "/nonexistent/x" in e.fields["text"]]
    assert len(missing) == 1
    event = missing[0]
    assert event.errno == "ENOENT"
    assert event.ret == -2
    assert event.fields["text"].endswith("= -1 ENOENT (No such file or directory)")
    assert event.fields["args"] == ["AT_FDCWD", '"/nonexistent/x"', "O_RDONLY"]
    assert event.dur_ns is not None
    assert event.dur_ns > 0
    assert sink.end is not None
    assert sink.end[0] == {"code": 1, "signal": None}


def test_execve_of_a_launched_command_is_one_line(tmp: Path) -> None:
    """Its own exec event does not split the execve into unfinished/resumed (as strace)."""
    sink, _ = run_engine(command=["/bin/true"], env=ENV, follow_forks=True)
    execve = sink.named("execve")[0]
    assert "resumed" not in execve.fields
    assert render_events([execve], follow=True)[0].startswith('execve("/bin/true", ["/bin/true"]')


def test_launched_command_has_default_signal_dispositions(tmp: Path) -> None:
    """Nothing ignored or blocked (the stub's Python ignores SIGPIPE; a daemon started in a
    script's background inherits ignored SIGINT/SIGQUIT): `yes | head` must behave."""
    sink, _ = run_engine(command=["/bin/cat", "/proc/self/status"], env=ENV, syscalls=["execve"])
    status = dict(
        e.fields["text"].split(":", 1)
        for e in sink.events
        if e.name == "stdout" and ":" in e.fields["text"]
    )
    assert int(status["SigIgn"].strip(), 16) == 0, status["SigIgn"]
    assert int(status["SigBlk"].strip(), 16) == 0, status["SigBlk"]


def test_a_relative_command_is_executed_as_given(tmp: Path) -> None:
    """`./prog` in `cwd` reaches execve as `./prog`, as a shell or strace runs it."""
    (tmp / "prog").write_bytes(Path("/bin/true").read_bytes())
    (tmp / "prog").chmod(0o755)
    sink, _ = run_engine(command=["./prog"], cwd=str(tmp), env=ENV, syscalls=["execve"])
    assert sink.named("execve")[0].fields["args"][:2] == ['"./prog"', '["./prog"]']


def test_rt_sigreturn_shows_the_mask_it_restores(tmp: Path) -> None:
    code = (
        "import os, signal; signal.signal(signal.SIGUSR1, lambda *a: None); "
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGWINCH}); "
        "os.kill(os.getpid(), signal.SIGUSR1)"
    )
    sink, _ = run_engine(
        command=["/usr/bin/python3", "-S", "-c", code], env=ENV, syscalls=["rt_sigreturn"]
    )
    texts = [e.fields["text"] for e in sink.named("rt_sigreturn")]
    assert texts == ["rt_sigreturn({mask=[INT WINCH]}) = 0"], texts


def _strace_summary(text: str) -> dict[str, tuple[int, int]]:
    out = {}
    for line in text.splitlines()[2:]:
        parts = line.split()
        if not parts or parts[0].startswith("-") or parts[-1] == "total":
            continue
        errors = int(parts[4]) if len(parts) == 6 else 0
        out[parts[-1]] = (int(parts[3]), errors)
    return out


@pytest.mark.parametrize("trace", [None, "%file"])
def test_summary_matches_strace_c(tmp: Path, trace: str | None) -> None:
    prog = build(tmp, "threads", THREADS_C)
    sink, _ = run_engine(
        command=[prog], env=ENV, follow_forks=True, syscalls=trace.split(",") if trace else []
    )
    ours = {r.name: (r.calls, r.errors) for r in summary_rows(sink.events) if r.name not in TIMING}
    out = tmp / "c.out"
    cmd = ["strace", "-f", "-c", "-w", "-o", str(out)] + (["-e", f"trace={trace}"] if trace else [])
    subprocess.run([*cmd, prog], env=ENV, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    theirs = {k: v for k, v in _strace_summary(out.read_text()).items() if k not in TIMING}
    assert ours == theirs
    table = format_summary(summary_rows(sink.events))
    assert table.splitlines()[0] == "% time     seconds  usecs/call     calls    errors syscall"
    assert table.splitlines()[-1].startswith("100.00 ")


PY_PROG = """
import os, threading
def work(n):
    try:
        open(f"/nonexistent/py-{n}")
    except OSError:
        pass
    with open("/etc/hostname") as f:
        f.read()
for n in range(2):
    t = threading.Thread(target=work, args=(n,))
    t.start()
    t.join()
pid = os.fork()
if pid == 0:
    os._exit(5)
os.waitpid(pid, 0)
"""


def test_python_program_matches_strace(tmp: Path) -> None:
    script = tmp / "prog.py"
    script.write_text(PY_PROG)
    argv = ["/usr/bin/python3", "-I", "-S", "-B", str(script)]
    subprocess.run(argv, check=True, env=ENV)  # warm the page cache
    trace = "openat,close,read,clone3,clone,wait4,exit_group"
    sink, _ = run_engine(command=argv, env=ENV, follow_forks=True, syscalls=trace.split(","))
    theirs = run_strace(tmp, argv, trace)
    assert sequences(engine_calls(sink)) == sequences(theirs)
    assert sorted(e.fields["code"] for e in sink.lifecycle("exit")) == [0, 0, 0, 5]


def test_interrupted_call_has_unfinished_and_resumed_halves(tmp: Path) -> None:
    prog = build(tmp, "blocked", BLOCKED_READ_C)
    sink, _ = run_engine(
        command=[prog], env=ENV, follow_forks=True, syscalls=["read", "getppid", "write"]
    )
    reads = [e for e in sink.named("read") if e.fields["raw_args"][2] == 1]
    assert len(reads) == 1
    fields = reads[0].fields
    assert fields["resumed"] is True
    assert fields["entry_text"] == "read(3, "
    assert fields["resumed_text"] == '<... read resumed>"x", 1) = 1'
    assert fields["text"] == 'read(3, "x", 1) = 1'
    assert fields["duration_ns"] > 0
    lines = render_events(sink.events, follow=True)
    unfinished = lines.index(f"[pid {reads[0].tid:5d}] read(3,  <unfinished ...>")
    getppid = next(i for i, line in enumerate(lines) if "getppid()" in line)
    resumed = next(i for i, line in enumerate(lines) if "<... read resumed>" in line)
    assert unfinished < getppid < resumed
