"""The bpf engine's event tools on the real kernel: each sees the action it is made for,
with the right values (checked against what the test did and against /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tracerd.engines.base import Limits

from ..waits import WAIT_TIMEOUT_S
from .bpf_fakes import (
    EngineRun,
    Gated,
    build_c,
    no_programs_of_ours_left,  # noqa: F401 (autouse)
    our_programs,
    wait_until,
)

pytestmark = [pytest.mark.root, pytest.mark.bpf]
SETTLE_S = 0.3


def _settle(run: EngineRun, predicate: object, timeout_s: float = WAIT_TIMEOUT_S) -> None:
    """Wait until the poller delivered what the predicate looks for."""
    assert wait_until(predicate, timeout_s), f"not seen; {len(run.sink.events)} events"


def test_execsnoop_argv_ppid_and_ret(tmp_path: Path) -> None:
    token = f"tracerd-{uuid.uuid4().hex[:8]}"
    with EngineRun(tmp_path, {"tool": "execsnoop"}) as run:
        assert run.sink.infos
        assert run.sink.infos[0]["prog_ids"] == run.prog_ids
        ours = {p["id"] for p in our_programs()}
        assert set(run.prog_ids) <= ours
        ok = subprocess.run(["/bin/echo", token, "second arg"], capture_output=True, check=True)
        assert ok.returncode == 0
        missing = tmp_path / f"nope-{token}"
        with pytest.raises(FileNotFoundError):
            subprocess.run([str(missing), token])

        def seen() -> bool:
            return sum(token in e.fields["args"] for e in run.sink.named("execsnoop")) >= 2

        _settle(run, seen)
    events = [e for e in run.sink.named("execsnoop") if token in e.fields["args"]]
    good = next(e for e in events if e.fields["ret"] == 0)
    assert good.fields["args"] == ["/bin/echo", token, "second arg"]
    assert good.fields["ppid"] == os.getpid()
    assert good.fields["pcomm"] == "echo" == good.comm
    assert good.fields["pid"] == good.pid
    assert good.errno is None
    bad = next(e for e in events if e.fields["ret"] != 0)
    assert bad.fields["ret"] == -2
    assert bad.errno == "ENOENT"
    assert bad.ret == -2
    assert bad.fields["args"] == [str(missing), token]
    assert run.ledger.of_type("bpf_program"), "programs are recorded in the ledger"
    assert all(row[2]["prog_id"] in run.prog_ids for row in run.ledger.of_type("bpf_program"))
    assert run.sink.lost == {"bpf": 0}


def test_opensnoop_paths_flags_errors_and_pid_filter(tmp_path: Path) -> None:
    target = tmp_path / "known-file"
    target.write_text("x")
    missing = tmp_path / "missing-file"
    code = textwrap.dedent(f"""
        import os, sys
        sys.stdin.readline()
        fd = os.open({str(target)!r}, os.O_RDONLY | os.O_CLOEXEC); print(fd)
        try:
            os.open({str(missing)!r}, os.O_WRONLY)
        except FileNotFoundError:
            pass
    """)
    with (
        Gated([sys.executable, "-c", code]) as child,
        EngineRun(tmp_path, {"tool": "opensnoop", "pid": child.pid}) as run,
    ):
        fd = int(child.go().strip())
        open(target).close()  # this process is excluded (and not the filtered pid)
        _settle(
            run,
            lambda: (
                len([e for e in run.sink.named("opensnoop") if e.fields["path"] == str(missing)])
                == 1
            ),
        )
    events = run.sink.named("opensnoop")
    assert {e.pid for e in events} == {child.pid}
    ok = next(e for e in events if e.fields["path"] == str(target))
    assert ok.fields["fd"] == fd == ok.fields["ret"]
    assert ok.fields["err"] == 0
    assert ok.fields["flags"] == os.O_RDONLY | os.O_CLOEXEC
    bad = next(e for e in events if e.fields["path"] == str(missing))
    assert bad.fields["fd"] == -1
    assert bad.fields["err"] == 2
    assert bad.errno == "ENOENT"
    assert bad.fields["flags"] & os.O_ACCMODE == os.O_WRONLY


def test_exclusion_keeps_the_worker_out(tmp_path: Path) -> None:
    """The worker (this process) is never traced; a child doing the same is."""
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.write_text("")
    theirs.write_text("")
    with EngineRun(tmp_path, {"tool": "opensnoop"}) as run:
        for _ in range(20):
            open(mine).close()
        subprocess.run(["cat", str(theirs)], check=True)
        _settle(
            run, lambda: any(e.fields["path"] == str(theirs) for e in run.sink.named("opensnoop"))
        )
        time.sleep(SETTLE_S)
    paths = [e.fields["path"] for e in run.sink.named("opensnoop")]
    assert str(mine) not in paths
    assert os.getpid() not in {e.pid for e in run.sink.events}


def test_exitsnoop_code_signal_age_ppid(tmp_path: Path) -> None:
    with EngineRun(tmp_path, {"tool": "exitsnoop"}) as run:
        started = time.monotonic()
        exiter = subprocess.Popen(["sh", "-c", "sleep 0.4; exit 7"])
        exiter.wait()
        lived = time.monotonic() - started
        victim = subprocess.Popen(["sleep", "30"])
        time.sleep(0.1)
        victim.kill()
        victim.wait()
        _settle(
            run, lambda: {exiter.pid, victim.pid} <= {e.pid for e in run.sink.named("exitsnoop")}
        )
    by_pid = {e.pid: e for e in run.sink.named("exitsnoop")}
    ex = by_pid[exiter.pid].fields
    assert ex["exit_code"] == 7
    assert ex["signal"] is None
    assert ex["ppid"] == os.getpid()
    assert 0.4 <= ex["age_s"] <= lived + 0.05
    assert ex["pcomm"] == "sh"
    assert ex["tid"] == exiter.pid
    vi = by_pid[victim.pid].fields
    assert vi["signal"] == "SIGKILL"
    assert vi["exit_code"] is None
    assert vi["status"] == 9


TCP_CHILD = textwrap.dedent("""
    import socket, sys, threading
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
    print(srv.getsockname()[1], flush=True)
    sys.stdin.readline()
    def serve():
        conn, _ = srv.accept()
        got = 0
        while got < 30000:
            got += len(conn.recv(65536))
        conn.sendall(b"y" * 5000)
        conn.close()
    t = threading.Thread(target=serve); t.start()
    cli = socket.create_connection(("127.0.0.1", srv.getsockname()[1]))
    print(cli.getsockname()[1], flush=True)
    cli.sendall(b"x" * 30000)
    got = 0
    while got < 5000:
        got += len(cli.recv(65536))
    t.join(); cli.close(); srv.close()
""")


def _tcp_exchange(
    tmp_path: Path, tool: str, exclude_start_shift: int | None = None
) -> tuple[EngineRun, int, int, int]:
    """With `exclude_start_shift`, the child's (pid, start time + shift) is excluded."""
    from tracerd.engines.launch import process_start_time

    with subprocess.Popen(
        [sys.executable, "-c", TCP_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdin is not None
            port = int(proc.stdout.readline())
            exclude: tuple[tuple[int, int], ...] = ()
            if exclude_start_shift is not None:
                start = process_start_time(proc.pid)
                assert start is not None
                exclude = ((proc.pid, start + exclude_start_shift),)
            spec = {"tool": tool, "pid": proc.pid}
            with EngineRun(tmp_path, spec, exclude_procs=exclude) as run:
                proc.stdin.write("go\n")
                proc.stdin.flush()
                cport = int(proc.stdout.readline())
                proc.wait(timeout=30)
                want = 2 if tool == "tcplife" and exclude_start_shift != 0 else 0
                want = 4 if tool == "tcpstates" else want
                _settle(run, lambda: len(run.sink.named(tool)) >= want)
                time.sleep(SETTLE_S)
        finally:
            if proc.poll() is None:
                proc.kill()
    return run, proc.pid, port, cport


def test_tcplife_loopback_bytes_and_owner(tmp_path: Path) -> None:
    run, pid, port, cport = _tcp_exchange(tmp_path, "tcplife")
    events = {e.fields["lport"]: e for e in run.sink.named("tcplife")}
    client, server = events[cport].fields, events[port].fields
    assert client["rport"] == port
    assert server["rport"] == cport
    assert client["laddr"] == client["raddr"] == "127.0.0.1"
    assert client["family"] == 4
    # The kernel's counters (tcp_sock.bytes_acked/bytes_received, as BCC's tcplife reads
    # them) also count the SYN and FIN sequence numbers: payload + up to 2.
    assert 30000 <= client["tx_bytes"] <= 30002
    assert 5000 <= client["rx_bytes"] <= 5002
    assert 5000 <= server["tx_bytes"] <= 5002
    assert 30000 <= server["rx_bytes"] <= 30002
    assert client["tx_kb"] == 29
    assert server["rx_kb"] == 29
    assert client["pid"] == server["pid"] == pid == events[cport].pid
    assert client["ms"] >= 0
    assert events[cport].dur_ns is not None


@pytest.mark.parametrize("same_process", [True, False])
def test_tcplife_owner_exclusion_is_by_pid_and_start_time(
    tmp_path: Path, same_process: bool
) -> None:
    """The socket's owner, remembered at connect/close and checked at CLOSE, is excluded as
    (pid, start time): a process with an excluded pid but another start time is traced."""
    run, pid, _port, cport = _tcp_exchange(tmp_path, "tcplife", 0 if same_process else -1)
    owned = [e for e in run.sink.named("tcplife") if e.fields["pid"] == pid]
    if same_process:
        assert owned == []
    else:
        assert cport in {e.fields["lport"] for e in owned}


def test_tcpstates_transitions(tmp_path: Path) -> None:
    run, _pid, port, cport = _tcp_exchange(tmp_path, "tcpstates")
    events = run.sink.named("tcpstates")
    skaddr = next(e.fields["skaddr"] for e in events if e.fields["lport"] == cport)
    # connect() enters SYN_SENT before it picks the local port (lport 0 there, as in BCC)
    client = [e.fields for e in events if e.fields["skaddr"] == skaddr]
    states = [(f["oldstate"], f["newstate"]) for f in client]
    assert states[0] == ("CLOSE", "SYN_SENT")
    assert ("SYN_SENT", "ESTABLISHED") in states
    assert states[-1][1] == "CLOSE"
    assert all(f["rport"] == port for f in client)
    assert all(f["ms"] >= 0 for f in client)
    assert int(client[0]["skaddr"], 16) > 0


READLINE_C = r"""
#include <stdio.h>
#include <string.h>
__attribute__((noinline)) char *readline(const char *prompt) {
    static char buf[64];
    static int n;
    snprintf(buf, sizeof(buf), "tracerd-line-%d", ++n);
    return buf;
}
int main(void) {
    char go[8];
    if (!fgets(go, sizeof(go), stdin)) return 1;
    for (int i = 0; i < 3; i++) puts(readline("> "));
    return 0;
}
"""


def test_bashreadline_on_a_built_binary(tmp_path: Path) -> None:
    binary = build_c(tmp_path, "rl", READLINE_C)
    with (
        Gated([binary]) as child,
        EngineRun(tmp_path, {"tool": "bashreadline", "args": {"binary": binary}}) as run,
    ):
        assert child.go().split() == ["tracerd-line-1", "tracerd-line-2", "tracerd-line-3"]
        _settle(run, lambda: len(run.sink.named("bashreadline")) >= 3)
    lines = [(e.pid, e.fields["command"]) for e in run.sink.named("bashreadline")]
    assert lines == [(child.pid, f"tracerd-line-{i}") for i in (1, 2, 3)]
    assert any(row[0] == "bpf_tracefs_probe" for row in run.ledger.rows.values())


def test_every_lost_sample_is_counted(tmp_path: Path) -> None:
    """A one-page ring buffer filled before the poller starts: delivered + lost == done."""
    calls = 3000
    code = textwrap.dedent(f"""
        import os, sys
        sys.stdin.readline()
        for _ in range({calls}):
            try:
                os.open("/nonexistent/tracerd-loss", os.O_RDONLY)
            except OSError:
                pass
    """)
    limits = Limits(raw_memory_bytes=4096)
    with (
        Gated([sys.executable, "-c", code]) as child,
        EngineRun(
            tmp_path, {"tool": "opensnoop", "pid": child.pid}, start=False, limits=limits
        ) as run,
    ):
        child.go()
        run.start()
        _settle(run, lambda: run.sink.lost_events())
    delivered = [
        e for e in run.sink.named("opensnoop") if e.fields["path"] == "/nonexistent/tracerd-loss"
    ]
    lost = sum(e.fields["count"] for e in run.sink.lost_events())
    assert lost > 0
    assert run.sink.lost["bpf"] == lost
    assert len(delivered) + lost == calls


def test_comm_filter_is_applied_in_the_kernel(tmp_path: Path) -> None:
    name = f"trd{uuid.uuid4().hex[:8]}"
    cat = tmp_path / name
    cat.write_bytes(Path("/bin/cat").read_bytes())
    cat.chmod(0o755)
    target = tmp_path / "file"
    target.write_text("x")
    with EngineRun(tmp_path, {"tool": "opensnoop", "comm": name}) as run:
        subprocess.run(["cat", str(target)], check=True, capture_output=True)
        subprocess.run([str(cat), str(target)], check=True, capture_output=True)
        _settle(
            run, lambda: any(e.fields["path"] == str(target) for e in run.sink.named("opensnoop"))
        )
        time.sleep(SETTLE_S)
    events = run.sink.named("opensnoop")
    assert {e.comm for e in events} == {name}
    assert [e.fields["path"] for e in events].count(str(target)) == 1
